"""A table's header row and what its columns name: one rule for the crawl and ``sgs validate``.

Why one: the crawl (list pages, attached files) and the pre-publication check each searched a different
number of rows for the header and wanted a different number of recognised cells, so ``sgs validate`` could
pass a file whose table the crawl would not read, or the reverse. Here the header is the first of a table's
first ``HEADER_SEARCH_ROWS`` rows (a title row or two, a blank row, above it is common) that names at least
``MIN_HEADER_FIELDS`` fields of the registry. Two, not three: a list page printing only 当事人 and 文书号 is
a real list, and a title row ("2026年第3号公示") names none.

Headers are matched by ``core.standard.match_header`` (the one matching of labels); a unit a header states
travels with its column (``cell_value``).
"""
from __future__ import annotations

from collections.abc import Iterable

from core.normalize import with_unit
from core.standard import AMOUNT_UNIT, HeaderMatch, match_header, normalise_label

HEADER_SEARCH_ROWS = 5  # rows of a table searched for the header
MIN_HEADER_FIELDS = 2  # recognised cells that make a row the header
# Columns that are layout, not data — a row number, a link to the detail page: never worth a warning.
LAYOUT_COLUMNS = frozenset({"序号", "编号序号", "操作", "详情", "查看", "查看详情", "详细信息"})

Columns = dict[int, HeaderMatch]


def header_row(rows: Iterable[Iterable[tuple[int, str]]], labels: dict[str, str]) -> tuple[int, Columns] | None:
    """(index, columns) of a table's header row, given each row's (column index, text) cells; None when none of
    the first ``HEADER_SEARCH_ROWS`` rows names at least ``MIN_HEADER_FIELDS`` fields."""
    for i, cells in enumerate(rows):
        if i >= HEADER_SEARCH_ROWS:
            break
        columns = header_columns(cells, labels)
        if len(columns) >= MIN_HEADER_FIELDS:
            return i, columns
    return None


def plain_header_row(rows: list[list[str]], labels: dict[str, str]) -> tuple[int, Columns] | None:
    """``header_row`` of a plain table (a sheet, a CSV, a document's table): cell i is column i."""
    return header_row((enumerate(row) for row in rows), labels)


def header_columns(cells: Iterable[tuple[int, str]], labels: dict[str, str]) -> Columns:
    """Column index → field (code and stated unit) for a header row's (index, text) cells; the first column
    naming a code wins."""
    out: Columns = {}
    seen: set[str] = set()
    for col, text in cells:
        match = match_header(text, labels)
        if match and match.code not in seen:
            out[col] = match
            seen.add(match.code)
    return out


def unrecognised_columns(headers: Iterable[str], labels: dict[str, str]) -> list[tuple[int, str]]:
    """(column index, header) of the non-empty headers that name no field: their columns are ignored, and a
    person should hear so (a crawl warns once per source, ``sgs validate`` lists them first). Layout columns
    (``LAYOUT_COLUMNS``: 序号, 操作, …) are not data and are not listed."""
    return [(j, h.strip()) for j, h in enumerate(headers)
            if h and h.strip() and normalise_label(h) not in LAYOUT_COLUMNS and match_header(h, labels) is None]


def cell_value(text: str, match: HeaderMatch) -> str:
    """A cell as the record keeps it: a bare number under a header stating another unit than the standard's
    (``罚款金额(元)``) gets that unit, so normalisation converts it; under 万元 it is already right."""
    return with_unit(text, match.unit) if match.unit and match.unit != AMOUNT_UNIT else text

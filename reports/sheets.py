"""The one spreadsheet writer: every .xlsx (and .csv) file sgs writes goes through here — the assessment
workbook (``reports/workbook.py``), the dashboard's 整改清单 download (``dashboard/views/_finding.py``) and
any export to come — so a value read from a crawled page, an attachment or an imported ledger is written as
data, never as code (docs/reports.md, "Spreadsheets hold data, never code").

- .xlsx (XlsxWriter): text is always a text cell (``write_string``; the workbook options turn off XlsxWriter's
  guessing of formulas, links and numbers from strings), numbers are numbers and dates are dates. No cell
  is ever a formula. Text that a spreadsheet would read as a formula if a person typed it (it begins with
  ``= + - @``, tab or CR) also carries Excel's quote-prefix mark, which is what Excel stores when a person
  types ``'=1+1``: the text is unchanged, and editing the cell keeps it text instead of turning it into a
  formula.
- .csv: CSV has no types, so the reader decides; such text gets OWASP's single-quote prefix and every field
  is quoted.

Every string is masked on the way in (``core.privacy.mask_text``): no ID or mobile number reaches a
written file unmasked.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from core.privacy import mask_text
from metrics.results import is_missing

# XlsxWriter would otherwise turn a string beginning with "=" into a formula (strings_to_formulas is on by
# default for write()), "http://…" into a link and "1e5" into a number; sgs writes only what it was given.
OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
           "remove_timezone": True, "nan_inf_to_errors": True}
# The first characters that make a spreadsheet read typed or imported text as a formula (OWASP, CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# (header, width, format): "score" two decimals, "int" integer, "time" date and time, "date" a day, None general,
# "key" an identifier sgs minted (a finding's or an archived page's hash): written as is, never masked — it names
# nobody, and a hash's digits can happen to look like a mobile number (masking would break the reference)
Column = tuple[str, float, str | None]
NUMBER_FORMATS = {"score": "0.00", "int": "0", "time": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}
HEAD = {"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True, "valign": "vcenter"}
KEY_HEADERS = ("问题编号", "存档编号")  # a DataFrame's columns holding identifiers sgs minted ("key")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula if it were typed or imported from CSV."""
    return text.startswith(FORMULA_START)


def cell_value(value: Any, key: bool = False) -> Any:
    """What a cell holds: numbers stay numbers, missing values (None, NaN, NaT, NA) become empty cells,
    strings are masked (unless ``key``: an identifier sgs minted); numpy scalars become Python numbers."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value if key else mask_text(value)
    if hasattr(value, "item") and not isinstance(value, datetime):  # numpy scalars → int/float
        return value.item()
    if isinstance(value, Decimal):
        return float(value)
    return value


class Book:
    """An .xlsx file being written: sheets of typed columns, a header row, widths, filter, frozen header.

    A file (``Path``) is streamed to disk row by row (``constant_memory``: a province's hundred thousand
    findings cost little memory); a buffer (a dashboard download) is built in memory."""

    def __init__(self, target: Path | BinaryIO):
        if isinstance(target, Path):
            self.wb = xlsxwriter.Workbook(str(target), {**OPTIONS, "constant_memory": True})
        else:
            self.wb = xlsxwriter.Workbook(target, {**OPTIONS, "in_memory": True})
        self.head = self.wb.add_format(HEAD)
        self.formats: dict[str | None, Any] = {None: None, "key": None}
        self.formats.update((key, self.wb.add_format({"num_format": f})) for key, f in NUMBER_FORMATS.items())
        self.quoted = self.wb.add_format({"quote_prefix": True})  # written only if some text needs it
        self.names: set[str] = set()

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def sheet(self, name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
        """One sheet: header, frozen first row, filter over the data, widths; returns the rows written."""
        ws = self.wb.add_worksheet(self._unique(name))
        for i, (_, width, fmt) in enumerate(columns):
            ws.set_column(i, i, width, self.formats[fmt])
        for i, column in enumerate(columns):
            ws.write_string(0, i, column[0], self.head)
        ws.freeze_panes(1, 0)
        formats = [self.formats[c[2]] for c in columns]
        scores = [c[2] == "score" for c in columns]
        keys = [c[2] == "key" for c in columns]
        n = 0
        for n, values in enumerate(rows, 1):
            for i, value in enumerate(values):
                self._write(ws, n, i, cell_value(value, keys[i]), formats[i], scores[i])
        ws.autofilter(0, 0, max(n, 1), len(columns) - 1)
        return n

    def frame(self, name: str, df: pd.DataFrame) -> int:
        """A DataFrame as one sheet: its columns typed by dtype, widths from the header and the values."""
        return self.sheet(name, frame_columns(df), df.itertuples(index=False, name=None))

    def _write(self, ws: Worksheet, row: int, col: int, v: Any, fmt: Any, score: bool) -> None:
        """One cell by its Python type; the typed writers skip write()'s dispatch (most cells are text)."""
        if v is None:
            return
        if isinstance(v, str):
            if looks_like_formula(v):
                ws.write_string(row, col, v, self.quoted)
            else:
                ws.write_string(row, col, v)
        elif isinstance(v, bool):
            ws.write_boolean(row, col, v)
        elif isinstance(v, datetime):
            ws.write_datetime(row, col, v, fmt or self.formats["time"])
        elif isinstance(v, date):
            ws.write_datetime(row, col, v, fmt or self.formats["date"])
        elif isinstance(v, (int, float)):
            ws.write_number(row, col, round(v, 2) if score else v, fmt)  # no float noise in scores
        else:  # anything else is shown as its text, still a text cell
            self._write(ws, row, col, cell_value(str(v)), fmt, score)

    def _unique(self, name: str) -> str:
        base = _SHEET_BAD.sub("_", name).strip("'")[:31] or "sheet"
        candidate, k = base, 1
        while candidate.lower() in self.names:
            k += 1
            candidate = f"{base[:31 - len(str(k)) - 1]}_{k}"
        self.names.add(candidate.lower())
        return candidate

    def close(self) -> None:
        self.wb.close()


def frame_columns(df: pd.DataFrame, sample: int = 200) -> list[Column]:
    """Columns for a DataFrame: integers "int", timestamps "time", other numbers general, text general;
    the width fits the header and the first ``sample`` values (CJK characters count twice), within 6–60."""
    columns: list[Column] = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s):
            fmt = None
        elif pd.api.types.is_integer_dtype(s):
            fmt = "int"
        elif pd.api.types.is_datetime64_any_dtype(s):
            fmt = "time"
        else:
            fmt = "key" if name in KEY_HEADERS else None
        shown = [str(name), *(str(v) for v in s.head(sample) if not is_missing(v))]
        width = 16 if fmt == "time" else max(_display_width(t) for t in shown) + 2
        columns.append((str(name), float(min(max(width, 6), 60)), fmt))
    return columns


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def xlsx_bytes(df: pd.DataFrame, sheet: str) -> bytes:
    """A DataFrame as an .xlsx file's bytes (a dashboard download)."""
    out = BytesIO()
    with Book(out) as book:
        book.frame(sheet, df)
    return out.getvalue()


def csv_text(value: Any) -> str:
    """A CSV field: masked text with OWASP's single quote before a leading = + - @ tab or CR (a CSV has no
    text type, so the program opening it decides); numbers as written; missing values empty."""
    v = cell_value(value)
    if v is None:
        return ""
    if isinstance(v, str):
        return "'" + v if looks_like_formula(v) else v
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (date, int, float)):
        return str(v) if not isinstance(v, bool) else ("TRUE" if v else "FALSE")
    return csv_text(str(v))


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Rows as CSV, every field quoted (OWASP) and made safe by ``csv_text``; returns the rows written.
    Open ``out`` with ``newline=""`` and ``encoding="utf-8-sig"`` (Excel reads the BOM as UTF-8)."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([csv_text(h) for h in header])
    n = 0
    for n, row in enumerate(rows, 1):
        writer.writerow([csv_text(v) for v in row])
    return n

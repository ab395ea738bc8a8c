"""What every import of a file shares: reading it, finding its header, checking every row, refusing it whole.

The imports (``sgs ledger import``, ``sgs catalogue import``, ``sgs departments import``) follow one contract
(docs/corrections.md, "Inputs beyond the crawl"): the file is read by the one bounded reader
(``core.attachments``: a hostile or damaged file is refused, never parsed unbounded); a title row or two above
the header is skipped; **every** row is checked before anything is written, and a file with any bad row is
refused with every bad row's number, column and reason in Chinese (exit 2), the database unchanged; importing
the same file again changes nothing and says 无变化. Row numbers count the lines under the header (the header
not counted, a blank line counted but skipped), as the ledger import always did.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.attachments import read_file
from core.errors import InputError
from core.privacy import mask_text
from core.standard import normalise_label
from core.tables import HEADER_SEARCH_ROWS

MAX_LISTED = 50  # problems listed in the message; the count says how many more
UNCHANGED = "无变化"


class ImportRefused(InputError, ValueError):
    """The file was refused whole; the message lists the rows and reasons (the database is unchanged)."""


@dataclass(frozen=True)
class Problem:
    row: int  # the line under the header (1-based)
    column: str | None  # the header text as the file spells it (None: the row as a whole)
    reason: str

    def line(self) -> str:
        where = f"“{self.column}”列" if self.column else ""
        return f"第{self.row}行{where}：{mask_text(self.reason)}"


@dataclass
class Table:
    """A file's header and data rows: ``columns`` maps an import's column to its index in the header."""

    path: Path
    header: list[str]
    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]  # (row number, cells), blank rows left out
    problems: list[Problem] = field(default_factory=list)

    def cell(self, row: list[str], column: str) -> str:
        """A column's text in a row, trimmed ('' when the file has no such column or cell)."""
        at = self.columns.get(column)
        return row[at].strip() if at is not None and at < len(row) else ""

    def fail(self, n: int, column: str | None, reason: str) -> None:
        """Note a problem of row ``n`` in ``column`` (an import's column name, shown as the file's header)."""
        at = self.columns.get(column) if column else None
        self.problems.append(Problem(n, self.header[at] if at is not None else column, reason))


def key(text: str) -> str:
    """A header's lookup key: normalised like the crawl's labels, ASCII upper-cased (CF_WSH = cf_wsh)."""
    k = normalise_label(text)
    return k.upper() if k.isascii() else k


def columns_of(header: list[str], lookup: Mapping[str, str]) -> dict[str, int]:
    """Import column → its index in a header row (the first header naming a column wins)."""
    columns: dict[str, int] = {}
    for i, head in enumerate(header):
        col = lookup.get(key(head))
        if col and col not in columns:
            columns[col] = i
    return columns


def read_table(path: Path, what: str, lookup: Mapping[str, str], required: tuple[str, ...],
               names: Mapping[str, str], error: Callable[[str], InputError] = ImportRefused) -> Table:
    """The file's header (the first of its first rows naming every required column) and its data rows.

    ``what`` names the kind of file in messages (“事项目录” → “事项目录文件 X …”); ``names`` gives each column's Chinese name for a
    missing column; ``error`` is the import's own error class. An unreadable, hostile or empty file, or one
    without the required columns, is refused here."""
    if not path.is_file():
        raise error(f"{what}文件 {path} 不存在")
    try:
        rows = read_file(path)
    except ValueError as exc:
        raise error(f"{what}{exc}") from None
    if not any(any(c.strip() for c in r) for r in rows):
        raise error(f"{what}文件 {path} 是空的")
    found = [(i, columns_of(r, lookup)) for i, r in enumerate(rows[:HEADER_SEARCH_ROWS])]
    at, columns = next(((i, c) for i, c in found if all(r in c for r in required)),
                       max(found, key=lambda f: len(f[1])))
    missing = [names[c] for c in required if c not in columns]
    if missing:
        head = "、".join(h for h in rows[at] if h.strip()) or "空"
        raise error(f"{what}文件 {path} 缺少列：{'、'.join(missing)}（表头为：{head}）")
    data = [(n, r) for n, r in enumerate(rows[at + 1:], 1) if any(c.strip() for c in r)]
    return Table(path, rows[at], columns, data)


def refuse_if_bad(table: Table, what: str, error: Callable[[str], InputError] = ImportRefused) -> None:
    """Raise ``error`` listing every problem noted on the table (all rows checked first): nothing imported."""
    problems = sorted(table.problems, key=lambda p: p.row)
    if not problems:
        return
    n_rows = len({p.row for p in problems})
    raise error("\n".join((f"{what}文件 {table.path} 有 {len(problems)} 处错误（涉及 {n_rows} 行），整个文件未导入，"
                           "数据库未改变；请改正以下各行后重新导入：", *problem_lines(problems))))


def problem_lines(problems: list[Problem]) -> list[str]:
    """The problems as indented lines, at most ``MAX_LISTED`` of them and a count of the rest."""
    lines = [f"  {p.line()}" for p in sorted(problems, key=lambda p: p.row)[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  ……另有 {len(problems) - MAX_LISTED} 处错误未列出")
    return lines


def duplicates(table: Table, column: str, values: Iterator[tuple[int, str]] | list[tuple[int, str]],
               label: str) -> None:
    """Note every row repeating an earlier row's value of ``column`` (a key must be unique in the file)."""
    first: dict[str, int] = {}
    for n, value in values:
        if value and value in first:
            table.fail(n, column, f"{label}“{value}”与第{first[value]}行重复")
        first.setdefault(value, n)

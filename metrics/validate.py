"""The pre-publication checker (``sgs validate``): a department's own CSV/XLSX, checked before it publishes.

It runs the very rule modules that score the crawled records — those that need nothing beyond the record
itself (``Rule.needs == ()``) — on a DuckDB relation built from the file, so a department and the assessor
can never disagree about what a rule means. The file's cells go through the crawler's header matching
(``core.tables``: the header row found as the crawl finds it, names, codes, synonyms and names in real use, whatever their width,
spaces, brackets or colons; a unit in the header travels with the column) and normalisation
(``core.normalize``: dates to ISO, 元 and 大写金额 to 万元, full-width folded, 处罚类别 lists with ``;``),
exactly as a crawled page's would.

Every sheet of a workbook whose first rows hold a header is read — the crawl's own rule for a table
(``core.tables.header_row``: within the first five rows, at least two recognised cells), so a file passes here
exactly when the crawl would read the same table; a sheet without one is skipped and named. Rows are numbered as the spreadsheet numbers them (the header on row
1 puts the first record on row 2), so a clerk finds them; blank rows count but are not checked. Beyond the
rules, a file is checked for what only a file can show: a 文书号 given on two rows. The report lists the
columns that map to no field first (they were ignored), then a summary per field and rule, then the problems.

A plain CSV (most files) takes a fast path, ``metrics.validate_sql``: DuckDB reads it and ``core.normalize_sql``
normalises it in SQL, no row in Python; any other file, or a CSV the two readers could read apart, takes the
general path here. The report is the same either way (tests/test_validate_speed_paths.py).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from core.normalize import normalise_record
from core.tables import HEADER_SEARCH_ROWS, cell_value, plain_header_row, unrecognised_columns
from core import codes, privacy, standard
from metrics.checks import Check, Context, record_checks
from metrics.checks._sql import lit
from metrics.scheme import load_scheme
from metrics import validate_sql
from core.workdays import Calendar, default_calendar
from core.errors import InputError
from core import vocab

if TYPE_CHECKING:
    import pyarrow as pa

SOURCE = "validate_records"
FAST_TABLE = "validate_file_records"  # a plain CSV's records as metrics.validate_sql reads them
DUPLICATE_RULE = "duplicate_record"  # the scoring rule of the same meaning (one 文书号, one publication)


class FileProblem(InputError, ValueError):
    """The file cannot be read at all (exit 2); the message names the file and the reason."""


@dataclass(frozen=True)
class Problem:
    row: int  # the spreadsheet's own row number (header on row 1 → first record on row 2)
    field: str  # standard code
    rule: str  # rule id
    message: str
    sheet: str | None = None  # the workbook sheet; None for a CSV

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self, with_sheet: bool) -> str:
        """"第 5 行", or "工作表“二月”第 5 行" when the file has several checked sheets."""
        return f"{_sheet_words(self.sheet) if with_sheet else ''}第 {self.row} 行"


@dataclass(frozen=True)
class Column:
    """A column whose header names no field: ignored, and reported so a person can rename it."""

    sheet: str | None
    column: str  # the spreadsheet's column letter ("C")
    header: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SheetHeader:
    """Where a checked sheet's header is (1-based row), so the report can say how rows are numbered."""

    sheet: str | None
    row: int


@dataclass
class Report:
    """What ``sgs validate`` says about one file: columns ignored, then problems (with a summary)."""

    kind: str
    problems: list[Problem]
    unrecognised: list[Column] = field(default_factory=list)
    headers: list[SheetHeader] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # the codes some checked sheet has a column for

    def summary(self) -> list[dict[str, Any]]:
        """Per field and rule, how many rows have the problem — the clerk's first read, most rows first; a
        field the file has no column for says so (``has_column``), since then every row misses it."""
        rows: dict[tuple[str, str], set[Any]] = defaultdict(set)
        for p in self.problems:
            rows[(p.field, p.rule)].add((p.sheet, p.row))
        names = rule_names()
        out = [{"field": f, "name": standard.field_name(self.kind, f) or f, "rule": r,
                "rule_name": names.get(r, r), "rows": len(v), "has_column": f in self.columns}
               for (f, r), v in rows.items()]
        return sorted(out, key=lambda d: (-d["rows"], d["field"], d["rule"]))

    def as_dict(self) -> dict[str, Any]:
        return {"header_rows": [asdict(h) for h in self.headers],
                "unrecognised_columns": [c.as_dict() for c in self.unrecognised],
                "skipped_sheets": self.skipped_sheets,
                "summary": self.summary(),
                "problems": [p.as_dict() for p in self.problems]}


def _sheet_words(sheet: str | None) -> str:
    return f"工作表“{sheet}”" if sheet is not None else ""


def checks_before_publication() -> tuple[Check, ...]:
    """The rules a department's file can be judged by: those needing nothing beyond the record."""
    return record_checks()


def rule_names() -> dict[str, str]:
    """id → Chinese name of the rules a report can name: those run here, and the file's duplicate 文书号."""
    from metrics.checks import duplicate_record

    return {**{c.rule.id: c.rule.name for c in record_checks()}, DUPLICATE_RULE: duplicate_record.RULE.name}


# --- reading the file ----------------------------------------------------------------------------

@dataclass
class _Records:
    """The file's records as rows of standard codes, and where each came from (sheet, spreadsheet row)."""

    rows: list[dict[str, str | None]] = field(default_factory=list)
    origin: list[tuple[str | None, int]] = field(default_factory=list)


def read_sheets_of(path: Path) -> list[tuple[str | None, list[list[str]]]]:
    """Every sheet (or the CSV) as text cells; FileProblem when the file cannot be read. The reader (lxml, the
    bounded worker) is imported here: a plain CSV never needs it."""
    from core.attachments import read_sheets

    try:
        return read_sheets(path)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names a column."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def read_records(path: Path, kind: str) -> tuple[_Records, Report]:
    """The records of every sheet with a header, normalised like crawled records, and the report's frame
    (header rows, unrecognised columns, skipped sheets); FileProblem when no sheet has a header."""
    labels = standard.synonym_map(kind)
    records, report = _Records(), Report(kind, [])
    for name, rows in read_sheets_of(path):
        found = plain_header_row(rows, labels)
        if found is None:
            if name is not None and any(any(c.strip() for c in r) for r in rows):
                report.skipped_sheets.append(name)
            continue
        at, columns = found
        report.headers.append(SheetHeader(name, at + 1))
        report.columns |= {m.code for m in columns.values()}
        report.unrecognised += [Column(name, column_letter(j), h) for j, h in unrecognised_columns(rows[at], labels)]
        for n, row in enumerate(rows[at + 1:], start=at + 2):
            raw = {m.code: cell_value(row[j], m) for j, m in columns.items() if j < len(row) and row[j].strip()}
            if raw:  # a blank row: counted, not checked
                records.rows.append(normalise_record(kind, raw))
                records.origin.append((name, n))
    if not report.headers:
        example = standard.load(kind).fields[0]
        raise FileProblem(
            f"文件 {path} 前 {HEADER_SEARCH_ROWS} 行中没有可识别的表头：表头应为《双公示数据标准》的字段名或代码"
            f"（如“{example.name}”或 {example.code}），并确认 --kind {kind}（{vocab.KIND_NAMES[kind]}）是否正确。")
    return records, report


def to_arrow(records: _Records, kind: str) -> pa.Table:
    """The records as a record table (every code a VARCHAR column); ``record_key`` is the record's index."""
    import pyarrow as pa  # only here: the CSV fast path never loads it

    std_codes = [*standard.load(kind).codes, "FBRQ"]
    columns = {"record_key": pa.array([str(i) for i in range(len(records.rows))], pa.string())}
    for code in std_codes:
        columns[code] = pa.array([r.get(code) for r in records.rows], pa.string())
    return pa.table(columns)


def duplicate_numbers(records: _Records, kind: str) -> list[Problem]:
    """A 文书号 on two or more rows of the file: every such row named, each told which others share it."""
    wsh = standard.load(kind).prefixed("WSH")
    rows: dict[str, list[tuple[str | None, int]]] = defaultdict(list)
    for rec, origin in zip(records.rows, records.origin):
        if value := rec.get(wsh):
            rows[value].append(origin)
    return duplicate_problems(wsh, rows.items())


def duplicate_problems(wsh: str, groups: Iterable[tuple[str, list[tuple[str | None, int]]]]) -> list[Problem]:
    """The problems of each 文书号 and the rows (sheet, row, in file order) that give it."""
    out = []
    for number, where in groups:
        if len(where) < 2:
            continue
        several = len({s for s, _ in where}) > 1
        named = [f"{_sheet_words(s) if several else ''}第 {n} 行" for s, n in where]
        text = "、".join(named[:-1]) + f"与{named[-1]}文书号相同（{number}）：一个文书号只应公示一次"
        out += [Problem(n, wsh, DUPLICATE_RULE, text, s) for s, n in where]
    return out


# --- checking ------------------------------------------------------------------------------------

def helper_columns(kind: str, alias: str) -> str:
    """``metrics.scoring.helper_columns``, written here so that checking a file does not load scoring's
    pandas (a fifth of a second); tests/test_validate_speed_paths.py holds the two equal."""
    return ", ".join(f"{expr} AS {name}" for name, expr in validate_sql.helpers(kind, alias).items())


def check_table(con: duckdb.DuckDBPyConnection, table: pa.Table, kind: str, *, as_of: date | None = None,
                calendar: Calendar | None = None) -> list[tuple[int, str, str, str]]:
    """Run the pre-publication rules over an Arrow record table: (record_key, field, rule, message) rows."""
    con.register("_validate_arrow", table)
    return check_relation(con, "_validate_arrow", kind, as_of=as_of, calendar=calendar)


def check_relation(con: duckdb.DuckDBPyConnection, relation: str, kind: str, *, as_of: date | None = None,
                   calendar: Calendar | None = None, ready: bool = False) -> list[tuple[int, str, str, str]]:
    """Run the pre-publication rules over a relation with ``record_key`` (an integer's text) and every code of
    the kind (``ready``: ``SOURCE`` itself, with the record table's other columns, ``validate_sql.rules_source``):
    (record_key, field, rule, message) rows."""
    codes.register_macros(con)
    privacy.register_macros(con)
    if not ready:  # a table, not a view: the rules' some 35 SELECTs then bind a table (planning a view cost more)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {SOURCE} AS
                        SELECT r.*, {helper_columns(kind, 'r')}
                        FROM (SELECT *, NULL::VARCHAR AS dept_id, 'site' AS channel, NULL::VARCHAR AS url,
                                     NULL::VARCHAR AS fetch_id, NULL::VARCHAR AS detail_status,
                                     NULL::TIMESTAMP AS first_seen FROM {relation}) r""")
    scheme = load_scheme()
    ctx = Context(kind, SOURCE, as_of or date.today(), scheme.max_workdays, calendar or default_calendar(), None,
                  scheme.rule_params)
    selects = []
    for check in checks_before_publication():
        if check.prepare:
            check.prepare(con, ctx)
        sql = check.findings_sql(ctx) if check.findings_sql else None
        if sql:
            selects.append(f"SELECT CAST(record_key AS INTEGER) AS record, field, {lit(check.rule.id)} AS rule, "
                           f"message FROM ({sql})")
    if not selects:
        return []
    return con.execute(f"SELECT * FROM ({' UNION ALL '.join(selects)})").fetchall()


def check_file(path: str | Path, kind: str, *, as_of: date | None = None) -> Report:
    """Read and check one file: the report with its problems in file order (sheet, row, field, rule).

    A plain CSV is read and normalised by DuckDB (``metrics.validate_sql``); any other file, or a CSV that
    reader would read differently from Python's csv module, by the general path — the same report either way."""
    if kind not in vocab.KINDS:
        raise FileProblem(f"未知的类型 {kind!r}：应为 xk（行政许可）或 cf（行政处罚）。")
    path = Path(path)
    # one thread: the work is a few dozen short statements, and a second thread cost about 15 % more CPU for
    # the same wall time on 100,000 rows (docs/scoring.md, the pre-publication checker)
    con = duckdb.connect(config={"threads": 1})
    try:
        fast = validate_sql.load(con, path, kind, FAST_TABLE)
        if fast is not None:
            try:
                return _check_loaded(con, fast, kind, as_of)
            finally:
                fast.close()
        records, report = read_records(path, kind)
        found = check_table(con, to_arrow(records, kind), kind, as_of=as_of)
    finally:
        con.close()
    problems = [Problem(records.origin[i][1], f, rule, message, records.origin[i][0]) for i, f, rule, message in found]
    problems += duplicate_numbers(records, kind)
    return _ordered(report, problems)


def _check_loaded(con: duckdb.DuckDBPyConnection, fast: validate_sql.Loaded, kind: str, as_of: date | None) -> Report:
    """The report of a CSV the fast path read into ``FAST_TABLE`` (record_key: the spreadsheet row)."""
    report = Report(kind, [], headers=[SheetHeader(None, fast.at + 1)], columns={m.code for m in fast.columns.values()})
    labels = standard.synonym_map(kind)
    report.unrecognised = [Column(None, column_letter(j), h) for j, h in unrecognised_columns(fast.header, labels)]
    validate_sql.rules_source(con, kind, fast, SOURCE)
    problems = [Problem(row, f, rule, message) for row, f, rule, message in check_relation(con, SOURCE, kind,
                                                                                          as_of=as_of, ready=True)]
    wsh = standard.load(kind).prefixed("WSH")
    groups = con.execute(f'SELECT "{wsh}", list(_row ORDER BY _row) FROM {FAST_TABLE} WHERE "{wsh}" IS NOT NULL '
                         "GROUP BY ALL HAVING count(*) > 1").fetchall()
    problems += duplicate_problems(wsh, ((number, [(None, n) for n in rows]) for number, rows in groups))
    return _ordered(report, problems)


def _ordered(report: Report, problems: list[Problem]) -> Report:
    order = {h.sheet: n for n, h in enumerate(report.headers)}
    report.problems = sorted(problems, key=lambda p: (order[p.sheet], p.row, p.field, p.rule, p.message))
    return report


def validate_file(path: str | Path, kind: str, *, as_of: date | None = None) -> list[Problem]:
    """The problems of one file (``check_file``'s report without its frame); FileProblem when unreadable."""
    return check_file(path, kind, as_of=as_of).problems


# --- the report as text --------------------------------------------------------------------------

def text_lines(report: Report) -> list[str]:
    """The report as a clerk reads it: ignored columns, how rows are numbered, the summary, then one line per
    problem (``第 N 行<TAB>field<TAB>rule<TAB>message``)."""
    lines = _unrecognised_lines(report)
    lines += [f"{_sheet_words(s)}没有可识别的表头，未检查。" for s in report.skipped_sheets]
    if not report.problems:
        return lines
    rows = len({(p.sheet, p.row) for p in report.problems})
    lines.append(f"行号为表格中的行号（{_header_words(report.headers)}）。")
    lines.append(f"问题汇总（按字段；共 {len(report.problems)} 个问题，涉及 {rows} 行）：")
    lines += [f"  {s['field']} {s['name']}\t{s['rule_name']}（{s['rule']}）\t{s['rows']} 行"
              + ("" if s["has_column"] else "（文件中没有这一列）") for s in report.summary()]
    lines.append("问题明细：")
    several = len(report.headers) > 1
    lines += [f"{p.where(several)}\t{p.field}\t{p.rule}\t{p.message}" for p in report.problems]
    return lines


def _unrecognised_lines(report: Report) -> list[str]:
    if not report.unrecognised:
        return []
    by_sheet: dict[str | None, list[Column]] = defaultdict(list)
    for c in report.unrecognised:
        by_sheet[c.sheet].append(c)
    lines = [f"未识别的列（共 {len(report.unrecognised)} 列，已忽略，未检查）："]
    several = len(report.headers) > 1
    for sheet, cols in by_sheet.items():
        lines.append(f"  {_sheet_words(sheet) if several else ''}" + "、".join(f"{c.column} 列“{c.header}”" for c in cols))
    example = standard.load(report.kind).get(standard.load(report.kind).prefixed("XDR_LB"))
    lines.append(f"  如其中有标准字段，请将表头改为《双公示数据标准》的字段名或字段代码（如“{example.name}”或 "
                 f"{example.code}）；金额列的单位只能是“元”或“万元”，如“罚款金额（元）”。")
    return lines


def _header_words(headers: list[SheetHeader]) -> str:
    """"表头为第 1 行", or per sheet when the file has several."""
    if len(headers) == 1:
        return f"表头为第 {headers[0].row} 行"
    return "，".join(f"{_sheet_words(h.sheet)}表头为第 {h.row} 行" for h in headers)

"""The pre-publication checker (``sgs validate``): a department's own CSV/XLSX, checked before it publishes.

It runs the very rule modules that score the crawled records — those that need nothing beyond the record
itself (``Rule.needs == ()``) — on a DuckDB relation built from the file, so a department and the assessor
can never disagree about what a rule means. The file's cells go through the crawler's normalisation
(``crawlers.normalize``: dates to ISO, 元 to 万元, full-width folded), exactly as a crawled page's would.

Headers may be the standard's Chinese names, its codes, or their synonyms (``metrics.standard.synonym_map``),
in any order; the header row is the first of the first ten rows where at least three cells are recognised.
Rows are numbered from 1 for the first data row after the header (blank rows count but are not checked).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from crawlers.attachments import read_file
from crawlers.normalize import normalise_record
from metrics import codes, privacy, standard
from metrics.checks import Check, Context, all_checks
from metrics.checks._sql import lit
from metrics.scheme import load_scheme
from metrics.scoring import helper_columns
from metrics.workdays import Calendar, default_calendar

MIN_HEADERS = 3  # recognised cells that make a row the header
SOURCE = "validate_records"


class FileProblem(ValueError):
    """The file cannot be read at all (exit 2); the message names the file and the reason."""


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based data row
    field: str  # standard code
    rule: str  # rule id
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def checks_before_publication() -> tuple[Check, ...]:
    """The rules a department's file can be judged by: those needing nothing beyond the record."""
    return tuple(c for c in all_checks() if not c.rule.needs)


# --- reading the file ----------------------------------------------------------------------------

def read_rows(path: Path) -> list[list[str | None]]:
    """Every row of the file's first sheet as text cells (blank → None); FileProblem when it cannot be read."""
    try:
        rows = read_file(path)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None
    return [[c if c.strip() else None for c in row] for row in rows]


def header_codes(rows: list[list[str | None]], kind: str, path: Path) -> tuple[int, list[str | None]]:
    """(index of the header row, standard code per column or None)."""
    names = standard.synonym_map(kind)
    for i, row in enumerate(rows[:10]):
        found = [names.get(standard.normalise_label(c or "")) for c in row]
        if sum(c is not None for c in found) >= MIN_HEADERS:
            return i, found
    example = standard.load(kind).fields[0]
    raise FileProblem(
        f"文件 {path} 前 10 行中没有可识别的表头：表头应为《双公示数据标准》的字段名或代码"
        f"（如“{example.name}”或 {example.code}），并确认 --kind {kind}（{standard.KIND_NAMES[kind]}）是否正确。")


def to_arrow(rows: list[list[str | None]], kind: str, path: Path) -> pa.Table:
    """The file's data rows as a record table (every code a VARCHAR column), normalised like crawled records."""
    at, columns = header_codes(rows, kind, path)
    std_codes = [*standard.load(kind).codes, "FBRQ"]
    out: dict[str, list] = {c: [] for c in ("record_key", *std_codes)}
    for n, row in enumerate(rows[at + 1:], start=1):
        raw = {code: row[j] for j, code in enumerate(columns) if code and j < len(row) and row[j] is not None}
        if not raw:
            continue  # a blank row: counted, not checked
        fields = normalise_record(kind, raw)
        out["record_key"].append(str(n))
        for code in std_codes:
            out[code].append(fields.get(code))
    return pa.table({k: pa.array(v, pa.string()) for k, v in out.items()})


# --- checking ------------------------------------------------------------------------------------

def check_table(con: duckdb.DuckDBPyConnection, table: pa.Table, kind: str, *, as_of: date | None = None,
                calendar: Calendar | None = None) -> list[Problem]:
    """Run the pre-publication rules over an Arrow record table; problems ordered by row, field, rule."""
    codes.register_macros(con)
    privacy.register_macros(con)
    con.register("_validate_arrow", table)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {SOURCE} AS
                    SELECT r.*, {helper_columns(kind, 'r')}
                    FROM (SELECT *, NULL::VARCHAR AS dept_id, 'site' AS channel, NULL::VARCHAR AS url,
                                 NULL::VARCHAR AS fetch_id, NULL::VARCHAR AS detail_status,
                                 NULL::TIMESTAMP AS first_seen FROM _validate_arrow) r""")
    scheme = load_scheme()
    ctx = Context(kind, SOURCE, as_of or date.today(), scheme.max_workdays, calendar or default_calendar(), None,
                  scheme.rule_params)
    selects = []
    for check in checks_before_publication():
        if check.prepare:
            check.prepare(con, ctx)
        sql = check.findings_sql(ctx)
        if sql:
            selects.append(f"SELECT CAST(record_key AS INTEGER) AS row, field, {lit(check.rule.id)} AS rule, "
                           f"message FROM ({sql})")
    if not selects:
        return []
    rows = con.execute(f"SELECT * FROM ({' UNION ALL '.join(selects)}) ORDER BY row, field, rule, message").fetchall()
    return [Problem(*r) for r in rows]


def validate_file(path: str | Path, kind: str, *, as_of: date | None = None) -> list[Problem]:
    """Read and check one file; FileProblem when it cannot be read."""
    if kind not in standard.KINDS:
        raise FileProblem(f"未知的类型 {kind!r}：应为 xk（行政许可）或 cf（行政处罚）。")
    path = Path(path)
    table = to_arrow(read_rows(path), kind, path)
    con = duckdb.connect()
    try:
        return check_table(con, table, kind, as_of=as_of)
    finally:
        con.close()

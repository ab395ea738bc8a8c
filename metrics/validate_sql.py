"""``sgs validate``'s fast path: a plain CSV read by DuckDB's reader and normalised in SQL, never a row in Python.

Why: the general path (core.attachments.read_sheets → a Python list per row → ``normalise_record`` per
value) spent ≈12 of 14 s on a 100,000-row file, twice what a clerk's pandas script takes. Here the file's
header is found by the same rule as everywhere (``core.tables.plain_header_row``, on the first lines read by
Python's csv module with the same sniffed dialect), then DuckDB reads the records, and
``core.normalize_sql`` normalises them column by column (the few values SQL cannot read exactly go to the
Python normaliser once per distinct value). The records table is what the general path builds, row numbers
included, so the rules and the report cannot tell the two apart (tests/test_validate_speed_paths.py).

A CSV takes this path only when DuckDB's reader and Python's csv module are sure to read it the same way:
UTF-8 or GB18030, a sniffed dialect with the double quote as its quote character and no escape character,
no blank line (the csv module counts it as a row, DuckDB skips it), no space beside a quote (DuckDB drops
it), no bare carriage return, no NUL, every row as wide as the header, no cell over the csv module's field
limit. Anything else — and every reader error — falls back to the general path, which then gives today's
results or today's message, so a bad file stays bad input with the same words.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core import normalize_sql, standard
from core.normalize import normalise_record
from core.tables import Columns, cell_value, plain_header_row

MAX_CSV_BYTES = 2 << 30  # a plain CSV is streamed by DuckDB, so the general path's 64 MB is not its limit
MEMORY_LIMIT = "600MB"  # DuckDB's own, spilling to a temporary folder beyond it
_CHUNK = 8 << 20
_HEAD_CHARS = 64 << 10
_LONE_CR = re.compile(rb"\r[^\n]")  # one literal-led pattern each: an alternation made re scan 25× slower
_BLANK_FIRST = re.compile(rb"\r?\n")
_NOT_SPACE = normalize_sql._WS_CLASS.replace("[", "[^", 1)  # a cell holding something


@dataclass
class Loaded:
    """What the fast path read: the header row (0-based), its cells and columns, and the temporary folder."""

    at: int
    header: list[str]
    columns: Columns
    folder: Path

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def load(con: duckdb.DuckDBPyConnection, path: Path, kind: str, table: str) -> Loaded | None:
    """Read a plain CSV into ``table`` (``_row``: the spreadsheet row, then every code of the kind, normalised);
    None when the file is not for this path (not a plain CSV, or no header) — the general path decides then."""
    if path.suffix.lower() != ".csv" or not path.is_file() or path.stat().st_size > MAX_CSV_BYTES:
        return None
    folder = Path(tempfile.mkdtemp(prefix="sgs-validate-"))
    try:
        loaded = _load(con, path, kind, table, folder)
    except duckdb.Error:
        loaded = None
    if loaded is None:
        shutil.rmtree(folder, ignore_errors=True)
    return loaded


def _load(con: duckdb.DuckDBPyConnection, path: Path, kind: str, table: str, folder: Path) -> Loaded | None:
    utf8 = _as_utf8(path, folder)
    if utf8 is None:
        return None
    source, head, doubled = utf8
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(head[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    if (dialect.quotechar != '"' or dialect.escapechar or dialect.skipinitialspace
            or (doubled and not dialect.doublequote)):
        return None
    lines = head.split("\n")[:-1]  # whole lines only
    rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
    found = plain_header_row(rows, standard.synonym_map(kind))
    if found is None:
        return None
    at, columns = found
    if at + 1 > len(lines) or [next(csv.reader([line.rstrip("\r")], dialect), []) for line in lines[:at + 1]] \
            != rows[:at + 1]:
        return None  # a line break inside a cell above the records: DuckDB's skip counts lines
    con.execute(f"SET temp_directory = {normalize_sql.lit(str(folder))}")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    _read(con, source, dialect.delimiter, at, len(rows[at]), columns)
    if con.execute("SELECT coalesce(bool_or(_long), false) FROM _validate_raw").fetchall()[0][0]:
        return None  # a cell over the csv module's limit: the general path names its line
    _normalise(con, kind, columns, at, table)
    return Loaded(at, rows[at], columns, folder)


def _as_utf8(path: Path, folder: Path) -> tuple[Path, str, bool] | None:
    """The file as UTF-8 (itself, or a GB18030 file re-encoded into ``folder``), its first characters, and
    whether it holds a doubled quote; None when it is neither encoding or holds what the readers read apart."""
    for encoding in ("utf-8-sig", "gb18030"):
        out = folder / "utf8.csv" if encoding == "gb18030" else None
        scanned = _scan(path, encoding, out)
        if scanned is not None:
            head, odd, doubled = scanned
            return (None if odd else (out or path, head, doubled))
    return None


def _scan(path: Path, encoding: str, out: Path | None) -> tuple[str, bool, bool] | None:
    """Decode the whole file in chunks (bounded memory): its head, whether anything odd is in it, whether a
    doubled quote is; None when it is not ``encoding``. With ``out``, the UTF-8 text is written there."""
    decoder = codecs.getincrementaldecoder(encoding)()
    head, odd, doubled, tail, first = "", False, False, b"", True
    sink = out.open("wb") if out else None
    try:
        with path.open("rb") as fh:
            while True:
                chunk = fh.read(_CHUNK)
                text = decoder.decode(chunk, final=not chunk)
                if len(head) < _HEAD_CHARS:
                    head += text[:_HEAD_CHARS - len(head)]
                data = text.encode("utf-8") if sink else chunk
                if sink:
                    sink.write(data)
                if first:
                    odd, first = bool(_BLANK_FIRST.match(data.removeprefix(codecs.BOM_UTF8))), False
                window = tail + data  # a match may span two chunks; the last byte waits for its successor
                odd = odd or _odd(window[:-1] if chunk else window) or (not chunk and window.endswith(b"\r"))
                doubled = doubled or b'""' in window
                tail = window[-3:]
                if not chunk:
                    break
    except UnicodeDecodeError:
        return None
    finally:
        if sink:
            sink.close()
    return head, odd, doubled


def _odd(data: bytes) -> bool:
    """What DuckDB's reader and the csv module read apart: a blank line, a bare CR, a space beside a quote, NUL."""
    return (b"\n\n" in data or b"\n\r\n" in data or b"\x00" in data or bool(_LONE_CR.search(data))
            or (b'"' in data and any(p in data for p in (b' "', b'\t"', b'" ', b'"\t'))))


def _read(con: duckdb.DuckDBPyConnection, source: Path, delimiter: str, at: int, width: int, columns: Columns) -> None:
    """``_validate_raw``: the mapped columns as read, whether a row holds anything, and whether a cell is too long."""
    names = {f"c{j}": "VARCHAR" for j in range(width)}
    types = "{" + ", ".join(f"'{k}': '{v}'" for k, v in names.items()) + "}"
    mapped = ", ".join(f'c{j} AS "{m.code}"' for j, m in columns.items())
    filled = f"regexp_matches(concat_ws('', {', '.join(f'c{j}' for j in columns)}), {normalize_sql.lit(_NOT_SPACE)})"
    longest = f"greatest({', '.join(f'coalesce(strlen(c{j}), 0)' for j in range(width))}, 0)"  # bytes ≥ characters
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _validate_raw AS
        SELECT {mapped}, coalesce({filled}, false) AS _filled, {longest} > {csv.field_size_limit()} AS _long
        FROM read_csv({normalize_sql.lit(str(source))}, header = false, auto_detect = false, columns = {types},
                      delim = {normalize_sql.lit(delimiter)}, quote = '"', escape = '"', skip = {at + 1},
                      strict_mode = true)""")


def _normalise(con: duckdb.DuckDBPyConnection, kind: str, columns: Columns, at: int, table: str) -> None:
    """``table`` from ``_validate_raw``: each mapped column normalised in SQL, the values SQL cannot read
    exactly through ``normalise_record`` once per distinct value (joined back)."""
    steps, finals, joins = [], [f"r._rowid + {at + 2} AS _row"], []
    for code, match in {m.code: m for m in columns.values()}.items():
        unit = match.unit if match.unit and match.unit != standard.AMOUNT_UNIT else None
        raw, s = f'r."{code}"', _steps(kind, code, unit)
        steps.append(s)
        expr = normalize_sql.normalised(s, kind, code, f'"{code}"', unit)
        if _python_values(con, kind, code, match, unit):
            joins.append(f'LEFT JOIN (SELECT raw, val FROM _validate_py WHERE code = \'{code}\') "py_{code}" '
                         f'ON "py_{code}".raw = {raw}')
            test = normalize_sql.needs_python(s, kind, code, f'"{code}"', unit)
            expr = f'CASE WHEN {raw} IS NULL THEN NULL WHEN {test} THEN "py_{code}".val ELSE {expr} END'
        expr = f"CASE WHEN {s.unless} THEN {raw} ELSE {expr} END"
        finals.append(f'{expr.replace(chr(34) + code + "~", "r." + chr(34) + code + "~")} AS "{code}"')
    mapped = {m.code for m in columns.values()}
    finals += [f'NULL::VARCHAR AS "{c}"' for c in (*standard.load(kind).codes, "FBRQ") if c not in mapped]
    source = "(SELECT rowid AS _rowid, * FROM _validate_raw WHERE _filled)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {normalize_sql.layered(source, steps, finals, ' '.join(joins))}")
    con.execute("DROP TABLE _validate_raw")


def _steps(kind: str, code: str, unit: str | None) -> normalize_sql.Steps:
    """A column's steps, its first layer whether a value is already in its normal form (then it skips the rest)."""
    s = normalize_sql.Steps(code)
    s.unless = f"coalesce({s.bind(normalize_sql.already_normal(kind, code, chr(34) + code + chr(34), unit))}, false)"
    return s


def _python_values(con: duckdb.DuckDBPyConnection, kind: str, code: str, match: object, unit: str | None) -> bool:
    """Normalise in Python the distinct values of ``code`` SQL cannot read exactly, into ``_validate_py``;
    whether there were any."""
    s = _steps(kind, code, unit)
    test = normalize_sql.needs_python(s, kind, code, f'"{code}"', unit)
    if test == "false":
        return False
    query = normalize_sql.layered(f'(SELECT "{code}" FROM _validate_raw WHERE "{code}" IS NOT NULL)', [s],
                                  [f'DISTINCT r."{code}"'], f"WHERE {test}")
    values = [v for (v,) in con.execute(query).fetchall()]
    if not values:
        return False
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _validate_py (code VARCHAR, raw VARCHAR, val VARCHAR)")
    normalised = [normalise_record(kind, {code: cell_value(v, match)})[code] for v in values]  # type: ignore[arg-type]
    con.execute("INSERT INTO _validate_py SELECT $code, unnest($raw), unnest($val)",
                {"code": code, "raw": values, "val": normalised})
    return True

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
from core.standard import HeaderMatch
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
    # the reader straight into a table: its rowid is then the file's order (a projection over the reader in a
    # bigger query was not kept in order at 100,000 rows), and the row number comes from it
    con.execute(f"CREATE OR REPLACE TEMP TABLE _validate_raw AS "
                f"{_reader(source, dialect.delimiter, at, len(rows[at]), columns)[1:-1]}")
    if con.execute("SELECT coalesce(bool_or(_long), false) FROM _validate_raw").fetchall()[0][0]:
        return None  # a cell over the csv module's limit: the general path names its line
    _normalise(con, kind, columns, at, table, "(SELECT rowid AS _rowid, * FROM _validate_raw)")
    con.execute("DROP TABLE _validate_raw")
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
                seam = tail + data[:3]  # a match across two chunks; a chunk's last byte waits for its successor
                end = len(data) - 1 if chunk else len(data)
                odd = odd or _odd(seam, len(seam) - (1 if chunk else 0)) or _odd(data, end) \
                    or (not chunk and seam.endswith(b"\r"))
                doubled = doubled or b'""' in seam or data.find(b'""') >= 0
                tail = data[-3:] if data else tail
                if not chunk:
                    break
    except UnicodeDecodeError:
        return None
    finally:
        if sink:
            sink.close()
    return head, odd, doubled


def _odd(data: bytes, end: int) -> bool:
    """What DuckDB's reader and the csv module read apart, in ``data[:end]`` (searched in place, not copied):
    a blank line, a bare CR, a space beside a quote, NUL."""
    def has(p: bytes) -> bool:
        return data.find(p, 0, end) >= 0

    return (has(b"\n\n") or has(b"\n\r\n") or has(b"\x00") or _LONE_CR.search(data, 0, end) is not None
            or (has(b'"') and any(has(p) for p in (b' "', b'\t"', b'" ', b'"\t'))))


def _reader(source: Path, delimiter: str, at: int, width: int, columns: Columns) -> str:
    """The records as DuckDB reads them: the mapped columns by code, whether a row holds anything
    (``_filled``), whether a cell may be over the csv module's limit (``_long``, by bytes)."""
    types = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width)) + "}"
    mapped = ", ".join(f'c{j} AS "{m.code}"' for j, m in columns.items())
    filled = f"regexp_matches(concat_ws('', {', '.join(f'c{j}' for j in columns)}), {normalize_sql.lit(_NOT_SPACE)})"
    longest = f"greatest({', '.join(f'coalesce(strlen(c{j}), 0)' for j in range(width))}, 0)"  # bytes ≥ characters
    return (f"(SELECT {mapped}, coalesce({filled}, false) AS _filled, {longest} > {csv.field_size_limit()} AS _long "
            f"FROM read_csv({normalize_sql.lit(str(source))}, header = false, auto_detect = false, columns = {types}, "
            f"delim = {normalize_sql.lit(delimiter)}, quote = '\"', escape = '\"', skip = {at + 1}, strict_mode = true))")


FEW_DISTINCT = 20  # a column with fewer distinct values than one in this many rows is normalised per value


def _normalise(con: duckdb.DuckDBPyConnection, kind: str, columns: Columns, at: int, table: str, source: str) -> None:
    """``{table}_data`` in one pass over ``source`` (``_rowid``: the record's index in the file), each mapped
    column normalised in SQL — a column of few distinct values (dates, categories, the agency) once per
    distinct value and joined back; the values SQL cannot read exactly are kept as read and flagged
    (``code~py``), then normalised by ``normalise_record`` once per distinct value and written back.
    ``table``: the view of the records (``_row``, every code of the kind) that the rules read."""
    finals, steps, flagged, joins = [f"_rowid + {at + 2} AS _row", "_filled"], [], {}, []
    by_code = {m.code: m for m in columns.values()}
    counts = con.execute(f"SELECT count(*), {', '.join(f'approx_count_distinct({chr(34)}{c}{chr(34)})' for c in by_code)} "
                         f"FROM {source}").fetchall()[0]
    for (code, match), distinct in zip(by_code.items(), counts[1:]):
        if distinct * FEW_DISTINCT < counts[0]:
            _per_value(con, kind, code, match, source)
            joins.append(f'LEFT JOIN "_validate_map_{code}" ON "_validate_map_{code}"."{code}~raw" = r."{code}"')
            finals.append(f'"_validate_map_{code}"."{code}" AS "{code}"')
            continue
        s, column = _column(kind, code, match)
        steps.append(s)
        finals += column
        if len(column) == 2:
            flagged[code] = match
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_data AS "
                f"{normalize_sql.layered(source, steps, finals, ' '.join(joins))}")
    for code, match in flagged.items():
        _python_values(con, kind, code, match, f"{table}_data")
    missing = [c for c in (*standard.load(kind).codes, "FBRQ") if c not in by_code]
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {table} AS
        SELECT _row, {', '.join(f'"{c}"' for c in by_code)}
               {''.join(f', NULL::VARCHAR AS "{c}"' for c in missing)}
        FROM {table}_data WHERE _filled""")


def _column(kind: str, code: str, match: HeaderMatch) -> tuple[normalize_sql.Steps, list[str]]:
    """A column's steps and final expressions over ``r``: its flag for Python (when it may need one), its value."""
    unit = match.unit if match.unit and match.unit != standard.AMOUNT_UNIT else None
    s = _steps(kind, code, unit)
    expr, test = normalize_sql.normalised(s, kind, code, f'"{code}"', unit), \
        normalize_sql.needs_python(s, kind, code, f'"{code}"', unit)
    out = []
    if test != "false":
        out.append(f'{test} AS "{code}~py"')
        expr = f'CASE WHEN r."{code}" IS NULL THEN NULL WHEN {test} THEN r."{code}" ELSE {expr} END'
    return s, [*out, f'CASE WHEN {s.unless} THEN r."{code}" ELSE {expr} END AS "{code}"']


def _per_value(con: duckdb.DuckDBPyConnection, kind: str, code: str, match: HeaderMatch, source: str) -> None:
    """``_validate_map_<code>``: each distinct value of the column (``code~raw``) and its normal form."""
    s, column = _column(kind, code, match)
    values = f'(SELECT DISTINCT "{code}" FROM {source} WHERE "{code}" IS NOT NULL)'
    con.execute(f'CREATE OR REPLACE TEMP TABLE "_validate_map_{code}" AS '
                f'{normalize_sql.layered(values, [s], [f"r.{chr(34)}{code}{chr(34)} AS {chr(34)}{code}~raw{chr(34)}", *column])}')
    if len(column) == 2:
        _python_values(con, kind, code, match, f'"_validate_map_{code}"')


def _steps(kind: str, code: str, unit: str | None) -> normalize_sql.Steps:
    """A column's steps, its first layer whether a value is already in its normal form (then it skips the rest)."""
    s = normalize_sql.Steps(code)
    s.unless = f"coalesce({s.bind(normalize_sql.already_normal(kind, code, chr(34) + code + chr(34), unit))}, false)"
    return s


def _python_values(con: duckdb.DuckDBPyConnection, kind: str, code: str, match: HeaderMatch, data: str) -> None:
    """The distinct flagged values of ``code`` in ``data`` through ``normalise_record``, written back."""
    values = [v for (v,) in con.execute(f'SELECT DISTINCT "{code}" FROM {data} WHERE "{code}~py"').fetchall()]
    if not values:
        return
    normalised = [normalise_record(kind, {code: cell_value(v, match)})[code] for v in values]
    con.execute(f"""UPDATE {data} SET "{code}" = py.val
                    FROM (SELECT unnest($raw) AS raw, unnest($val) AS val) py
                    WHERE {data}."{code}~py" AND {data}."{code}" = py.raw""", {"raw": values, "val": normalised})

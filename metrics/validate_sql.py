"""``sgs validate``'s fast path: a plain CSV read by DuckDB's reader and normalised in SQL, never a row in Python.

Why: the general path (core.attachments.read_sheets → a Python list per row → ``normalise_record`` per
value) spent ≈12 of 14 s on a 100,000-row file, twice what a clerk's pandas script takes. Here the file's
header is found by the same rule as everywhere (``core.tables.plain_header_row``, on the first lines read by
Python's csv module with the same sniffed dialect), then DuckDB reads the records into one table, and each
column is normalised there in place: one test per value (or per distinct value) finds those not already in
their normal form — most files have few — and only those go through ``core.normalize_sql`` (and the few SQL
cannot read exactly through the Python normaliser), once per distinct value, written back by UPDATE. The
records are what the general path builds, row numbers included, so the rules and the report cannot tell the
two apart (tests/test_validate_speed_paths.py).

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
from metrics.checks._sql import as_date, stated_date
from core.normalize import normalise_record
from core.standard import HeaderMatch
from core.tables import Columns, cell_value, plain_header_row

MAX_CSV_BYTES = 2 << 30  # a plain CSV is streamed by DuckDB, so the general path's 64 MB is not its limit
MEMORY_LIMIT = "600MB"  # DuckDB's own, spilling to a temporary folder beyond it
_CHUNK = 8 << 20
_HEAD_CHARS = 64 << 10
_LONE_CR = re.compile(rb"\r[^\n]")  # one literal-led pattern each: an alternation made re scan 25× slower
_BLANK = re.compile(rb"\n\r?\n")  # a blank line (one search, three times faster than two bytes.find)
_BLANK_FIRST = re.compile(rb"\r?\n")
_SAMPLE = 4096  # rows whose distinct values decide how a column is tested
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
    """UTF-8 first, as the general path: the file's own bytes, with DuckDB's reader checking the encoding of
    every cell as it reads (decoding the whole file in Python cost a tenth of a second); a file that is not
    UTF-8 is read as GB18030, re-encoded into ``folder``."""
    head = _utf8_head(path)
    if head is not None:
        odd, doubled = _scan_bytes(path)
        if odd:
            return None
        try:
            return _read(con, path, head, doubled, kind, table, folder)
        except duckdb.Error as exc:  # the reader refused the file: as UTF-8, or at all
            if "unicode" not in str(exc).lower():
                return None
    scanned = _scan(path, "gb18030", folder / "utf8.csv")
    if scanned is None or scanned[1]:
        return None
    return _read(con, folder / "utf8.csv", scanned[0], scanned[2], kind, table, folder)


def _read(con: duckdb.DuckDBPyConnection, source: Path, head: str, doubled: bool, kind: str, table: str,
          folder: Path) -> Loaded | None:
    """The header found on ``head`` as everywhere, then the records read by DuckDB into ``_validate_raw`` and
    normalised there (``_normalise``); None when this path cannot read the file as the general path would."""
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
    # the reader straight into a table, by one thread: its rowid is then the file's order, and the row number
    # comes from it (UPDATE keeps it). With two threads DuckDB kept the order of some projections over the
    # reader and not of others (this one: not, at 100,000 rows); one thread also costs less CPU.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _validate_raw AS "
                f"{_reader(source, dialect.delimiter, at, len(rows[at]), columns, kind)}")
    _normalise(con, kind, columns, at, table, "_validate_raw")
    return Loaded(at, rows[at], columns, folder)


def _utf8_head(path: Path) -> str | None:
    """The file's first characters when its first bytes are UTF-8 (a BOM dropped); None when they are not."""
    with path.open("rb") as fh:
        start = fh.read(_HEAD_CHARS * 4)
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(start, final=len(start) < _HEAD_CHARS * 4)
    except UnicodeDecodeError:
        return None


def _scan_bytes(path: Path) -> tuple[bool, bool]:
    """Whether the file holds anything the two readers read apart (``_odd``), and whether a doubled quote;
    in chunks (bounded memory) and not decoded: every pattern is ASCII. One buffer is read into again and
    again (a new 8 MB ``bytes`` per chunk cost its page faults), and a doubled quote is looked for only in a
    chunk with a quote (a two-byte search is ten times slower than looking for one byte): 0.04 s of 0.08."""
    odd, doubled, tail, first = False, False, b"", True
    buffer = bytearray(_CHUNK)
    with path.open("rb") as fh:
        while not odd:
            n = fh.readinto(buffer)
            chunk = buffer if n == _CHUNK else buffer[:n]
            if first:
                odd, first = bool(_BLANK_FIRST.match(bytes(chunk[:5]).removeprefix(codecs.BOM_UTF8))), False
            seam = tail + bytes(chunk[:3])  # a match across two chunks; a chunk's last byte waits for its successor
            odd = odd or _odd(seam, len(seam) - (1 if n else 0)) or _odd(chunk, n - 1) \
                or (not n and tail.endswith(b"\r"))
            doubled = doubled or b'""' in seam or (chunk.find(b'"', 0, n) >= 0 and chunk.find(b'""', 0, n) >= 0)
            tail = (tail + bytes(chunk[max(0, n - 3):n]))[-3:]  # the stream's last bytes, whatever the chunk's size
            if not n:
                break
    return odd, doubled


def _scan(path: Path, encoding: str, out: Path) -> tuple[str, bool, bool] | None:
    """Decode the whole file in chunks (bounded memory) and write it to ``out`` as UTF-8: its head, whether
    anything odd is in it, whether a doubled quote is; None when it is not ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    head, odd, doubled, tail, first = "", False, False, b"", True
    try:
        with path.open("rb") as fh, out.open("wb") as sink:
            while True:
                chunk = fh.read(_CHUNK)
                text = decoder.decode(chunk, final=not chunk)
                if len(head) < _HEAD_CHARS:
                    head += text[:_HEAD_CHARS - len(head)]
                data = text.encode("utf-8")
                sink.write(data)
                if first:
                    odd, first = bool(_BLANK_FIRST.match(data)), False
                seam = tail + data[:3]
                end = len(data) - 1 if chunk else len(data)
                odd = odd or _odd(seam, len(seam) - (1 if chunk else 0)) or _odd(data, end) \
                    or (not chunk and seam.endswith(b"\r"))
                doubled = doubled or b'""' in seam or data.find(b'""') >= 0
                tail = (tail + data[-3:])[-3:]
                if not chunk:
                    break
    except UnicodeDecodeError:
        return None
    return head, odd, doubled


def _odd(data: bytes | bytearray, end: int) -> bool:
    """What DuckDB's reader and the csv module read apart, in ``data[:end]`` (searched in place, not copied):
    a blank line, a bare CR, a space beside a quote, NUL."""
    def has(p: bytes) -> bool:
        return data.find(p, 0, end) >= 0

    return (has(b"\x00") or _BLANK.search(data, 0, end) is not None or _LONE_CR.search(data, 0, end) is not None
            or (has(b'"') and any(has(p) for p in (b' "', b'\t"', b'" ', b'"\t'))))


def _reader(source: Path, delimiter: str, at: int, width: int, columns: Columns, kind: str) -> str:
    """The records as DuckDB reads them: the mapped columns by code, the others kept (so that the reader checks
    their encoding too), whether a row holds anything (``_filled``: a first mapped cell that starts with a
    character is enough, the rest is tested only otherwise), and the columns ``rules_source`` computes once per
    row (``computed_columns``: NULL here — adding them later by ALTER TABLEs cost 0.002 s each). The columns
    that stay constant (``constant_columns``) are not here but in the rules' view: the reader then writes 14
    columns fewer per row. A row longer than the csv module's field limit is a reader error (the general path
    then names a cell over it, or reads it)."""
    types = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width)) + "}"
    mapped = ", ".join(f'c{j} AS "{columns[j].code}"' if j in columns else f'c{j} AS "~c{j}"' for j in range(width))
    cells = [f"c{j}" for j in columns]
    spaces = ", ".join(str(ord(c)) for c in normalize_sql.WHITESPACE)
    filled = (f"CASE WHEN ascii({cells[0]}) NOT IN (0, {spaces}) THEN true ELSE coalesce(regexp_matches("
              f"concat_ws('', {', '.join(cells)}), {normalize_sql.lit(_NOT_SPACE)}), false) END")
    extra = "".join(f', CAST(NULL AS {type_}) AS "{name}"' for name, type_ in computed_columns())
    return (f"SELECT {mapped}, {filled} AS _filled{extra} "
            f"FROM read_csv({normalize_sql.lit(str(source))}, header = false, auto_detect = false, columns = {types}, "
            f"delim = {normalize_sql.lit(delimiter)}, quote = '\"', escape = '\"', skip = {at + 1}, strict_mode = true, "
            f"max_line_size = {csv.field_size_limit()}, parallel = false)")


FEW_DISTINCT = 20  # a column with fewer distinct values than one in this many rows is tested per distinct value


def _normalise(con: duckdb.DuckDBPyConnection, kind: str, columns: Columns, at: int, table: str, raw: str) -> None:
    """Normalise the mapped columns of table ``raw`` in place, then ``table``: the view of its records that the
    rules read (``_row``: the spreadsheet row, from the rowid; every code of the kind; blank rows left out).

    Per column, the values not already in their normal form (``normalize_sql.already_normal``: one regular
    expression) are gathered, distinct — a column of few distinct values (dates, categories, the agency) is
    tested once per distinct value — then normalised once per value (``_per_value``: SQL, and the values SQL
    cannot read exactly in Python) and written back."""
    by_code = {m.code: m for m in columns.values()}
    sample = con.execute(f"SELECT count(*), {', '.join(f'approx_count_distinct({chr(34)}{c}{chr(34)})' for c in by_code)} "
                         f"FROM (SELECT * FROM {raw} LIMIT {_SAMPLE})").fetchall()[0]
    for (code, match), distinct in zip(by_code.items(), sample[1:]):
        unit = match.unit if match.unit and match.unit != standard.AMOUNT_UNIT else None
        normal = f"coalesce({normalize_sql.already_normal(kind, code, chr(34) + code + chr(34), unit)}, false)"
        if distinct * FEW_DISTINCT < sample[0]:
            # OFFSET 0: DuckDB would push the test below the DISTINCT, back onto every row (a MATERIALIZED
            # common table expression did not stop it)
            values = (f'SELECT * FROM (SELECT DISTINCT "{code}" FROM {raw} WHERE "{code}" IS NOT NULL OFFSET 0) '
                      f'WHERE NOT {normal}')
        else:
            values = f'SELECT DISTINCT "{code}" FROM {raw} WHERE "{code}" IS NOT NULL AND NOT {normal}'
        fix = f'"_validate_fix_{code}"'
        if not con.execute(f"CREATE OR REPLACE TEMP TABLE {fix} AS {values}").fetchall()[0][0]:
            continue
        _per_value(con, kind, code, match, fix)
        con.execute(f'UPDATE {raw} SET "{code}" = m."{code}" FROM "_validate_map_{code}" m '
                    f'WHERE {raw}."{code}" = m."{code}~raw"')
    missing = [c for c in (*standard.load(kind).codes, "FBRQ") if c not in by_code]
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {table} AS
        SELECT rowid + {at + 2} AS _row, {', '.join(f'"{c}"' for c in by_code)}
               {''.join(f', NULL::VARCHAR AS "{c}"' for c in missing)}
        FROM {raw} WHERE _filled""")


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


# What a stored record has beyond its fields (core.store.RECORD_META_COLUMNS, as the rules read them): a
# department's file has none of it, so each is NULL — but a site record's channel
META = (("dept_id", "VARCHAR", "NULL"), ("channel", "VARCHAR", "'site'"), ("url", "VARCHAR", "NULL"),
        ("fetch_id", "VARCHAR", "NULL"), ("detail_status", "VARCHAR", "NULL"), ("first_seen", "TIMESTAMP", "NULL"))


def helpers(kind: str, alias: str) -> dict[str, str]:
    """The helper columns the rules read (``metrics.checks.Context``), by name: ``metrics.scoring``'s."""
    jdrq = standard.load(kind).prefixed("JDRQ")
    return {"_jdrq": as_date(f"{alias}.{jdrq}"), "_fbrq": as_date(f"{alias}.FBRQ"), "_stated": stated_date(alias),
            "_seen": f"CAST({alias}.first_seen AS DATE)"}


def computed_columns() -> list[tuple[str, str]]:
    """The columns of the read table that ``rules_source`` computes from the file's values: (name, type)."""
    return [("record_key", "VARCHAR"), ("_jdrq", "DATE"), ("_fbrq", "DATE"), ("_stated", "DATE"), ("_seen", "DATE")]


def constant_columns(kind: str, have: set[str]) -> list[tuple[str, str, str]]:
    """The columns a record table has beyond a file's that are the same on every row (the kind's codes the file
    lacks, ``META``): (name, type, value), given by the rules' view, never written per row."""
    return [*((c, "VARCHAR", "NULL") for c in (*standard.load(kind).codes, "FBRQ") if c not in have), *META]


def rules_source(con: duckdb.DuckDBPyConnection, kind: str, loaded: Loaded, source: str) -> None:
    """``source``: the view of the records the rules read, made over ``_validate_raw`` itself, not a copy, with
    the columns a record table has beyond the file's: the constant ones (``constant_columns``) as constants of
    the view, the others (``computed_columns``) computed by one UPDATE from the normalised values (a helper
    reading a constant column reads its constant). A copy of 100,000 rows cost a tenth of a second; a view
    computing the helper columns cost as much in planning the rules' SELECTs; constants in the view cost
    nothing measurable there, where the reader wrote them once per row (docs/scoring.md)."""
    constants = constant_columns(kind, {m.code for m in loaded.columns.values()})
    values = {name: f"CAST({value} AS {type_})" for name, type_, value in constants}
    sets = ", ".join(f"{name} = {_with_constants(expr, values)}"
                     for name, expr in helpers(kind, "_validate_raw").items())
    con.execute(f"UPDATE _validate_raw SET record_key = CAST(rowid + {loaded.at + 2} AS VARCHAR), {sets}")
    fixed = "".join(f', {value} AS "{name}"' for name, value in values.items())
    con.execute(f"CREATE OR REPLACE TEMP VIEW {source} AS SELECT * EXCLUDE (_filled){fixed} "
                "FROM _validate_raw WHERE _filled")


def _with_constants(expr: str, values: dict[str, str]) -> str:
    """``expr`` (over ``_validate_raw``) with each constant column it reads replaced by its value."""
    return re.sub(r'_validate_raw\.("?)(\w+)\1', lambda m: values.get(m.group(2), m.group(0)), expr)

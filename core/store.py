"""The working DuckDB database: connection, migrations, bulk upserts, and the read-only snapshots.

Concurrency (see ARCHITECTURE.md): only pipeline commands (crawl, score) open the working database, and
only one at a time. After each run they *publish* an immutable copy under ``published/`` and swap the
``CURRENT`` pointer atomically. Readers (dashboard, reports) open the current snapshot read-only and
never touch the working file, so a crawl never waits for the dashboard and the dashboard never fails
because a crawl runs.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core import standard
from core.cityconfig import City
from core.clustered import checkpoint, cluster
from core.settings import Paths
from core.errors import SgsError
from core import vocab

ROW_HASH = "row_hash"  # hash of the stored record (hash_records), kept apart from the meta columns upsert writes
RECORD_META_COLUMNS = {
    "record_key": "VARCHAR PRIMARY KEY",  # sha1 of channel, department, 文书号 and 相对人名称
    "dept_id": "VARCHAR",
    "source_id": "VARCHAR",
    "channel": "VARCHAR",  # site | portal
    "url": "VARCHAR",  # the page (detail page or API page) the record was read from
    "fetch_id": "VARCHAR",  # → fetches: the archived response
    # NULL: read in full (its detail page, or a list row without one); else why its detail page was not read:
    # 'dead' (404/410), 'failed' (no usable answer, or a file that cannot be read), 'unread' (a PDF or image).
    # The record then holds only its list row, and completeness rules do not call the page's fields missing.
    "detail_status": "VARCHAR",
    "std_version": "VARCHAR",
    "FBRQ": "VARCHAR",  # publication date the page states (ISO when parseable)
    "first_seen": "TIMESTAMP",
    "last_seen": "TIMESTAMP",
}
KEEP_SNAPSHOTS = 3


class StoreError(SgsError, RuntimeError):
    """A storage problem explained for the person running the command."""


def record_table(kind: str) -> str:
    if kind not in vocab.KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    return f"{kind}_records"


def connect(paths: Paths) -> duckdb.DuckDBPyConnection:
    """Open the working database for writing, creating and migrating it as needed."""
    paths.root.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(paths.db))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"数据库 {paths.db} 正被另一个 sgs 进程写入（抓取或评分正在运行），请等其结束后再试。"
            ) from exc
        raise StoreError(f"无法打开数据库 {paths.db}：{exc}") from exc
    migrate(con)
    prune_temporaries(paths)  # holding the write lock: what a killed publish left is garbage
    return con


def migrations() -> dict[int, str]:
    """The migration files ``schema/NNN_*.sql`` by version; versions must run 1, 2, … without gaps."""
    folder = resources.files("core").joinpath("schema")
    found: dict[int, str] = {}
    for p in folder.iterdir():
        if p.name.endswith(".sql") and p.name[:3].isdigit():
            version = int(p.name[:3])
            if version in found:
                raise StoreError(f"迁移文件 schema/{version:03d}_*.sql 重复")
            found[version] = p.read_text("utf-8")
    if sorted(found) != list(range(1, len(found) + 1)):
        raise StoreError(f"迁移文件编号不连续：{sorted(found)}")
    return found


def schema_version() -> int:
    """The version the code expects: the number of migration files."""
    return len(migrations())


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Apply every migration the database has not seen and add any record column the registry gained.

    All in one transaction: a failure leaves the database as it was, and a new database (every crawl in
    the crawl bench) pays one commit instead of one per file."""
    con.execute("BEGIN")
    try:
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
        current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
        for version, sql in sorted(migrations().items()):
            if version > current:
                con.execute(sql)
                con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
        for kind in vocab.KINDS:
            _ensure_record_table(con, kind)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise



def _ensure_record_table(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    table = record_table(kind)
    cols = {**RECORD_META_COLUMNS, **{code: "VARCHAR" for code in standard.load(kind).codes}, ROW_HASH: "UBIGINT"}
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    for col, typ in cols.items():
        if col not in have:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {col} {typ.replace(' PRIMARY KEY', '')}")


def record_columns(kind: str) -> list[str]:
    return [*RECORD_META_COLUMNS, *standard.load(kind).codes]


def upsert_records(con: duckdb.DuckDBPyConnection, kind: str, rows: list[dict[str, Any]], seen_at: datetime) -> int:
    """Insert or refresh records in one set-based statement; first_seen is kept, last_seen moves.

    ``rows`` hold the record's standard codes plus the meta columns (record_key, dept_id, …); missing
    keys are NULL. Within one batch the last row for a key wins. Text is stored without surrounding
    whitespace — a contract the rules over stored records rely on: they match 文书号 as stored, with no
    trim() over millions of rows (metrics.checks._sql, docs/bench-score.md).
    """
    if not rows:
        return 0
    rows = list({r["record_key"]: r for r in rows}.values())  # last row for a key wins
    cols = record_columns(kind)
    data = {c: [v.strip() if isinstance(v := r.get(c), str) else v for r in rows] for c in cols}
    data["first_seen"] = data["last_seen"] = [seen_at] * len(rows)
    arrow = pa.table({c: pa.array(v, type=pa.timestamp("us") if c in ("first_seen", "last_seen") else pa.string())
                      for c, v in data.items()})
    table = record_table(kind)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("record_key", "first_seen"))
    con.register("_batch", arrow)
    try:
        con.execute(
            f"""INSERT INTO {table} ({', '.join(cols)})
                SELECT {', '.join(cols)} FROM _batch
                ON CONFLICT (record_key) DO UPDATE SET {updates}, {ROW_HASH} = NULL"""
        )
    finally:
        con.unregister("_batch")
    hash_records(con, kind)
    return len(rows)


def resight_records(con: duckdb.DuckDBPyConnection, kind: str, fetch_ids: list[str], seen_at: datetime) -> int:
    """Move last_seen to ``seen_at`` for every record last stored from one of ``fetch_ids``, in one statement.

    The crawl's path for a page whose content is unchanged (a 304, or the same bytes): reading it again would
    store exactly the rows already there, so only the sighting moves. Nothing else is written: row_hash leaves
    last_seen out, so it stays valid (``hash_records``). Returns the number of records re-sighted."""
    if not fetch_ids:
        return 0
    row = con.execute(f"UPDATE {record_table(kind)} SET last_seen = ? WHERE fetch_id IN (SELECT unnest(?))",
                      [seen_at, fetch_ids]).fetchone()
    return int(row[0]) if row else 0


def hash_records(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Fill ``row_hash`` where it is NULL: a 64-bit hash of every column of the record but last_seen.

    Incremental scoring (metrics.incremental) fingerprints a department from these stored hashes instead of
    hashing ~45 columns of every record at every scoring (docs/bench-score.md). ``upsert_records`` clears
    the hash of every row it writes and fills it here (first_seen is kept on conflict, so the hash is taken
    from the stored row); any other writer of a record table must set ``row_hash = NULL`` on the rows it
    changes, and scoring fills those too. One scan of one column when nothing is missing."""
    table = record_table(kind)
    cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND "
                                      "schema_name = 'main' AND database_name = current_database() "
                                      "ORDER BY column_index", {"t": table}).fetchall()
            if r[0] not in ("last_seen", ROW_HASH)]
    con.execute(f"UPDATE {table} SET {ROW_HASH} = hash({', '.join(cols)}) WHERE {ROW_HASH} IS NULL")


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Append rows to a table through Arrow (never row by row)."""
    if not rows:
        return
    cols = list(rows[0])
    arrow = pa.Table.from_pylist(rows)
    con.register("_rows", arrow)
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _rows")
    finally:
        con.unregister("_rows")


# --- published snapshots -------------------------------------------------------------------------

def publish(con: duckdb.DuckDBPyConnection, paths: Paths, *,
            finish_copy: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> Path:
    """Copy the working database to a new immutable snapshot and point ``CURRENT`` at it atomically.

    ``finish_copy`` runs on the copy before it becomes current (the crawl marks itself done there, so the
    working database says 'done' only once the snapshot saying so is published). The copy is written under
    a temporary name; temporaries a killed publish left behind (a full-size copy each) are removed first.
    A publish that cannot write (no space, a read-only folder) removes its own temporary and raises
    StoreError: the working database is intact, and the next run publishes."""
    tmp = paths.published / f".sgs-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.duckdb.tmp"
    name = tmp.name[1:-len(".tmp")]
    try:
        paths.published.mkdir(parents=True, exist_ok=True)
        prune_temporaries(paths)
        _IN_PROGRESS.add(tmp)
        _snapshot_to(con, tmp)
        if finish_copy is not None:
            snap = duckdb.connect(str(tmp))
            try:
                finish_copy(snap)
            finally:
                snap.close()
        final = paths.published / name
        os.replace(tmp, final)
        pointer_tmp = paths.published / ".CURRENT.tmp"
        pointer_tmp.write_text(name, encoding="utf-8")
        os.replace(pointer_tmp, paths.published / "CURRENT")
    except (OSError, duckdb.IOException) as exc:
        _remove_temporary(tmp)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(f"无法发布数据快照到 {paths.published}（{reason}）：请检查该文件夹的写入权限和磁盘空间；"
                         f"数据已保存在工作数据库 {paths.db} 中，问题解决后再次运行即发布。") from exc
    finally:
        _IN_PROGRESS.discard(tmp)
    _prune(paths.published, keep=name)
    return final


# temporaries this process is writing (a second connection in the same process may be publishing); other
# processes cannot be: publishing needs the working database, whose write lock the caller holds
_IN_PROGRESS: set[Path] = set()
TEMPORARIES = (".sgs-*.duckdb.tmp", ".sgs-*.duckdb.tmp.wal", ".CURRENT.tmp")


def prune_temporaries(paths: Paths) -> list[Path]:
    """Remove what a publish killed half-way left in ``published/``: its temporary copy (as large as the
    database), that copy's write-ahead log, a half-written pointer. Call only with the working database
    open (``connect`` and ``publish`` do): DuckDB's write lock then means no other process is publishing,
    and this process's own publishes in progress are skipped. ``CURRENT`` and the snapshots it may name
    are never temporaries. Returns what was removed."""
    if not paths.published.is_dir():
        return []
    busy = {*_IN_PROGRESS, *(Path(f"{t}.wal") for t in _IN_PROGRESS)}
    if _IN_PROGRESS:
        busy.add(paths.published / ".CURRENT.tmp")
    removed = []
    for pattern in TEMPORARIES:
        for leftover in paths.published.glob(pattern):
            if leftover not in busy and leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed


def _remove_temporary(tmp: Path) -> None:
    for leftover in (tmp, Path(f"{tmp}.wal")):
        try:
            leftover.unlink(missing_ok=True)
        except OSError:
            pass  # the next start prunes it


def _snapshot_to(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write a consistent copy of ``con``'s database file to ``target``.

    After a CHECKPOINT with nothing left in the write-ahead log the file alone is the whole database, and a
    byte copy is the snapshot: ~1 ms for a demo city and seconds for a province, where ``COPY FROM DATABASE``
    rebuilt every table (~50 ms a crawl, most of a bench crawl's fixed cost, docs/bench-crawl.md). When the
    log is not empty, or another write transaction refuses the checkpoint, the tables are copied instead
    (in ``con``'s own transaction: what was committed, never another transaction's rows). The findings are
    put in department order first (``core.clustered``).
    """
    checkpointed = checkpoint(con) and (not cluster(con) or checkpoint(con))  # rewritten: checkpoint again
    db_name, path = con.execute("SELECT database_name, path FROM duckdb_databases() "
                                "WHERE database_name = current_database()").fetchall()[0]
    wal = Path(f"{path}.wal")
    if checkpointed and path and not (wal.exists() and wal.stat().st_size):
        shutil.copyfile(path, target)
        return
    con.execute(f"ATTACH '{target}' AS _snap")
    try:
        con.execute(f'COPY FROM DATABASE "{db_name}" TO _snap')
    finally:
        con.execute("DETACH _snap")


def _prune(folder: Path, keep: str) -> None:
    """Keep the newest snapshots; older ones go (a reader holding one open keeps its inode on POSIX)."""
    snaps = sorted((p for p in folder.glob("sgs-*.duckdb") if p.name != keep), key=lambda p: p.stat().st_mtime)
    for old in snaps[: max(0, len(snaps) - (KEEP_SNAPSHOTS - 1))]:
        old.unlink(missing_ok=True)


def current_snapshot(paths: Paths) -> Path | None:
    pointer = paths.published / "CURRENT"
    if not pointer.exists():
        return None
    snap = paths.published / pointer.read_text(encoding="utf-8").strip()
    return snap if snap.exists() else None


def open_snapshot(paths: Paths, name: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open a published snapshot read-only: ``name`` when given, else the current one.

    Readers never open the working database. A reader that caches by snapshot name passes the name, so
    what it caches is exactly what that name holds, even if a newer snapshot is published meanwhile.
    """
    snap = paths.published / name if name else current_snapshot(paths)
    if snap is None or not snap.exists():
        raise StoreError(f"{paths.published} 下还没有发布的数据：请先运行 sgs crawl 和 sgs score（或 sgs demo）。")
    con = duckdb.connect(str(snap), read_only=True)
    evidence_views(con)
    return con


def evidence_views(con: duckdb.DuckDBPyConnection) -> None:
    """A snapshot published before schema 6 (``006_evidence.sql``) reads as one after it: temporary views
    (the snapshot's file is untouched) give every score ``standing = 'ranked'`` and no 未能核验 records,
    every finding no second piece of evidence, and an empty ``unverified`` table. One small query when the
    snapshot is current; such a snapshot is replaced by the next publish anyway."""
    if con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0] >= 6:
        return
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f"""CREATE TEMP VIEW scores AS SELECT *, 0 AS n_unverified, 'ranked' AS standing
                    FROM "{db}".main.scores""")
    con.execute(f'CREATE TEMP VIEW findings AS SELECT *, NULL::VARCHAR AS ref_fetch_id FROM "{db}".main.findings')
    con.execute("""CREATE TEMP VIEW unverified AS SELECT * FROM (VALUES (NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR,
                   NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR,
                   NULL::VARCHAR)) t(period, dept_id, kind, record_key, channel, rule_id, reason, url, fetch_id, wsh)
                   WHERE false""")


# --- configuration -------------------------------------------------------------------------------

def save_city(con: duckdb.DuckDBPyConnection, city: City) -> None:
    """Replace departments, catalogue and sources with the configuration's (one transaction).

    Imports win (docs/configuration.md, "Imports win"): only rows of ``origin = 'config'`` are replaced, so a
    department registered by ``sgs departments import`` keeps its imported row, and a department whose
    catalogue was imported or entered on the dashboard keeps that catalogue instead of the file's."""
    depts = [{k: getattr(d, k) for k in ("id", "name", "county", "credit_code", "website", "column_url",
                                         "liaison", "liaison_phone")} for d in city.departments]
    for d in depts:
        d["dept_id"] = d.pop("id")
    items = [{"dept_id": d.id, "item_code": i.code, "kind": i.kind, "name": i.name, "basis": i.basis}
             for d in city.departments for i in d.catalogue]
    sources = [{"source_id": s.id, "dept_id": s.dept, "channel": s.channel, "kind": s.kind,
                "start_url": s.start_url, "profile": s.to_json()} for s in city.sources]
    con.execute("BEGIN")
    try:
        for table in ("departments", "catalogue_items"):
            con.execute(f"DELETE FROM {table} WHERE origin = 'config'")
        con.execute("DELETE FROM sources")
        insert_rows(con, "departments", _not_kept(con, "departments", depts))
        insert_rows(con, "catalogue_items", _not_kept(con, "catalogue_items", items))
        insert_rows(con, "sources", sources)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _not_kept(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The configuration's rows of departments that have no row of another origin left in ``table``."""
    kept = {r[0] for r in con.execute(f"SELECT DISTINCT dept_id FROM {table}").fetchall()}
    return [r for r in rows if r["dept_id"] not in kept]

"""Storage: migrations, upserts keeping first-seen, and readers that never block or break a writer."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime

import duckdb
import pytest

from core import clustered, store
from core.settings import REPO_ROOT, resolve_paths


def test_migrations_are_idempotent_and_versioned(tmp_path):
    paths = resolve_paths(tmp_path / "w.duckdb")
    store.connect(paths).close()
    con = store.connect(paths)
    assert con.execute("SELECT max(version), count(*) FROM schema_version").fetchone() == (store.schema_version(), store.schema_version())
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'cf_records'").fetchall()}
    assert {"CF_WSH", "CF_JDRQ", "CF_XDR_SHXYM", "first_seen", "last_seen", "fetch_id"} <= cols
    con.close()


def test_upsert_keeps_first_seen_and_moves_last_seen(tmp_path):
    paths = resolve_paths(tmp_path / "w.duckdb")
    con = store.connect(paths)
    store.upsert_records(con, "cf", [{"record_key": "k", "CF_WSH": "A"}, {"record_key": "k", "CF_WSH": "B"}],
                         datetime(2026, 7, 1))
    store.upsert_records(con, "cf", [{"record_key": "k", "CF_WSH": "C"}], datetime(2026, 8, 1))
    assert con.execute("SELECT CF_WSH, first_seen, last_seen FROM cf_records").fetchall() == [
        ("C", datetime(2026, 7, 1), datetime(2026, 8, 1))]
    con.close()


def test_upsert_stores_text_trimmed(tmp_path):
    """The duplicate and portal rules join 文书号 as stored, relying on this."""
    con = store.connect(resolve_paths(tmp_path / "w.duckdb"))
    store.upsert_records(con, "cf", [{"record_key": "k", "CF_WSH": " 长环罚〔2026〕1号\u3000", "CF_XDR_MC": "\t某公司 ",
                                      "CF_NR_FK": None}], datetime(2026, 7, 1))
    assert con.execute("SELECT CF_WSH, CF_XDR_MC, CF_NR_FK FROM cf_records").fetchall() == [
        ("长环罚〔2026〕1号", "某公司", None)]
    con.close()


def test_database_location_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SGS_DB", str(tmp_path / "x" / "a.duckdb"))
    paths = resolve_paths()
    assert paths.db == tmp_path / "x" / "a.duckdb" and paths.archive == tmp_path / "x" / "archive"
    assert resolve_paths(tmp_path / "b.duckdb").db == tmp_path / "b.duckdb"


def test_reader_without_snapshot_gets_a_clear_error(tmp_path):
    with pytest.raises(store.StoreError, match="sgs demo"):
        store.open_snapshot(resolve_paths(tmp_path / "w.duckdb"))


def test_readers_and_a_writer_in_another_process_never_block_each_other(tmp_path):
    """A 'crawl' holds the working database in another process; the dashboard's reads still work,
    a second writer gets a clear message, and a new publish is seen by the next read."""
    paths = resolve_paths(tmp_path / "w.duckdb")
    con = store.connect(paths)
    store.upsert_records(con, "xk", [{"record_key": "1", "XK_WSH": "A"}], datetime(2026, 7, 1))
    store.publish(con, paths)
    con.close()

    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from datetime import datetime
        from core import store
        from core.settings import resolve_paths
        paths = resolve_paths({str(paths.db)!r})
        con = store.connect(paths)
        print("locked", flush=True)
        sys.stdin.readline()
        store.upsert_records(con, "xk", [{{"record_key": "2", "XK_WSH": "B"}}], datetime(2026, 8, 1))
        store.publish(con, paths)
        con.close()
        print("done", flush=True)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO_ROOT))
    try:
        assert writer.stdout.readline().strip() == "locked"
        reader = store.open_snapshot(paths)  # the dashboard reads while the crawl holds the lock
        assert reader.execute("SELECT count(*) FROM xk_records").fetchone()[0] == 1
        reader.close()
        with pytest.raises(store.StoreError, match="另一个 sgs 进程"):
            store.connect(paths)
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "done"
    finally:
        writer.wait(timeout=30)
    reader = store.open_snapshot(paths)
    assert reader.execute("SELECT count(*) FROM xk_records").fetchone()[0] == 2
    reader.close()


def test_snapshot_holds_committed_data_only(tmp_path):
    """The snapshot is a copy of the checkpointed file: what was committed, never another transaction's
    uncommitted rows, and readable on its own."""
    paths = resolve_paths(tmp_path / "w.duckdb")
    con = store.connect(paths)
    store.upsert_records(con, "cf", [{"record_key": "a", "CF_WSH": "A"}], datetime(2026, 7, 1))
    other = con.cursor()
    other.execute("BEGIN")
    other.execute("INSERT INTO cf_records (record_key, CF_WSH) VALUES ('b', 'B')")
    store.upsert_records(con, "cf", [{"record_key": "c", "CF_WSH": "C"}], datetime(2026, 7, 1))
    snap = store.publish(con, paths)
    other.execute("ROLLBACK")
    con.close()
    with duckdb.connect(str(snap), read_only=True) as reader:
        assert reader.execute("SELECT record_key FROM cf_records ORDER BY 1").fetchall() == [("a",), ("c",)]
        assert reader.execute("SELECT max(version) FROM schema_version").fetchall() == [(store.schema_version(),)]



def test_published_findings_are_ordered_by_period_and_department(tmp_path):
    """Scoring appends findings rule by rule; publishing puts them in (period, department) order — the same
    rows under the same table definition — so that a department's findings are a row group or two for the
    dashboard's lists. A table already in that order is left as it is (a crawl's publish costs no rewrite)."""
    paths = resolve_paths(tmp_path / "w.duckdb")
    con = store.connect(paths)
    con.execute("""INSERT INTO findings (finding_id, period, dept_id, kind, rule_id, indicator, severity, message)
                   SELECT 'f' || i, ['2026Q3', '2026-07', '2026Q2'][i % 3 + 1], 'd' || (i * 7919 % 101), 'xk',
                          'r' || (i % 5), 'accuracy', 'low', 'm' || i FROM range(400000) t(i)""")
    con.execute("CREATE TABLE expected AS SELECT * FROM findings")
    ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'findings'").fetchall()
    ordered = "SELECT count(*) FROM (SELECT (period, dept_id) < lag((period, dept_id)) OVER (ORDER BY rowid) AS back " \
              "FROM findings) WHERE back"
    assert con.execute(ordered).fetchall()[0][0] > 100_000  # a department's rows everywhere
    first = store.publish(con, paths)
    assert con.execute(ordered).fetchall() == [(0,)]
    assert not clustered.cluster(con)  # in order now: the next publish copies it as it is
    con.execute("DELETE FROM findings")
    con.execute("""INSERT INTO findings (finding_id, period, dept_id, kind, rule_id, indicator, severity, message)
                   SELECT 'f' || i, '2026Q3', 'd' || (i // 200000), 'xk', 'r', 'accuracy', 'low', 'm'
                   FROM range(600000) t(i)""")  # three departments of five row groups, in order
    assert not clustered.cluster(con)
    con.close()
    with duckdb.connect(str(first), read_only=True) as reader:
        assert reader.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'findings'").fetchall() == ddl
        assert reader.execute(ordered).fetchall() == [(0,)]
        for a, b in (("findings", "expected"), ("expected", "findings")):
            assert reader.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchall() == [(0,)]
        assert reader.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_%' ESCAPE '\\'"
                              ).fetchall() == [(0,)]

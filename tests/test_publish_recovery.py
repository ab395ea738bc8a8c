"""Publishing under hostile conditions: killed half-way, refused by the filesystem, a database held by another
process. Real processes (kill -9), real files, real DuckDB; the crawl of tests/test_crawl_http.py's site."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest
import tomli_w
from typer.testing import CliRunner

from core import store
from sgs.cli import app
from core.settings import REPO_ROOT, Paths
from tests.test_crawl_http import build_site, crawl, demo_city
from tests.test_crawl_http import paths as paths  # noqa: F401  (fixtures)
from tests.test_crawl_http import site as site  # noqa: F401

runner = CliRunner()
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

# a child that publishes once, then is killed while its second publish has its full-size copy on disk
KILLED_PUBLISH = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core import store
    from core.settings import Paths
    paths = Paths(Path(sys.argv[1]))
    con = store.connect(paths)
    con.execute("CREATE TABLE big AS SELECT range AS i, repeat('x', 200) AS s FROM range(100000)")
    store.publish(con, paths)
    con.execute("INSERT INTO big SELECT range, 'y' FROM range(10)")
    def copied(snap):
        print("copied", flush=True)
        time.sleep(600)
    store.publish(con, paths, finish_copy=copied)
""")


def _temporaries(paths: Paths) -> list[Path]:
    return [p for pattern in store.TEMPORARIES for p in paths.published.glob(pattern)]


def _count_big(paths: Paths) -> int:
    con = store.open_snapshot(paths)
    try:
        return con.execute("SELECT count(*) FROM big").fetchone()[0]
    finally:
        con.close()


def test_a_publish_killed_half_way_leaves_no_temporary_copy(tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, str(paths.db)], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "copied", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    left = _temporaries(paths)
    assert left and max(p.stat().st_size for p in left) >= paths.db.stat().st_size // 2  # the full-size copy
    first = store.current_snapshot(paths)
    assert first is not None and _count_big(paths) == 100000  # CURRENT still names the first snapshot

    con = store.connect(paths)  # the next start
    try:
        assert _temporaries(paths) == []
        assert store.current_snapshot(paths) == first
        (paths.published / ".sgs-20260101T000000-abcdef.duckdb.tmp").write_bytes(b"\0" * 4096)  # left meanwhile
        second = store.publish(con, paths)
    finally:
        con.close()
    assert _temporaries(paths) == []
    assert store.current_snapshot(paths) == second != first
    assert _count_big(paths) == 100010


def test_a_crawl_is_done_only_once_published_and_a_rerun_publishes(site, paths):  # noqa: F811
    """published/ is a file (a real filesystem condition, even for root): the publish fails, the records are
    kept, the crawl stays 'running'; once the folder can be made, the rerun resumes that crawl and publishes."""
    build_site(site)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.published.write_text("not a folder", encoding="utf-8")
    with pytest.raises(store.StoreError, match="无法发布数据快照"):
        crawl(demo_city(site), paths)
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        crawls = con.execute("SELECT crawl_id, status FROM crawls").fetchall()
        assert [s for _, s in crawls] == ["running"]
        assert con.execute("SELECT count(*) FROM cf_records").fetchone()[0] == 7
    finally:
        con.close()

    paths.published.unlink()
    summary = crawl(demo_city(site), paths)
    assert summary.resumed and summary.crawl_id == crawls[0][0] and summary.status == "done"
    assert summary.snapshot == store.current_snapshot(paths)
    for con in (store.open_snapshot(paths), duckdb.connect(str(paths.db), read_only=True)):
        try:
            assert con.execute("SELECT crawl_id, status FROM crawls").fetchall() == [(summary.crawl_id, "done")]
            assert con.execute("SELECT count(*) FROM cf_records").fetchone()[0] == 7
        finally:
            con.close()


def _write_city(city, path: Path) -> Path:
    doc = {"city": {"name": city.name},
           "departments": [{k: v for k, v in asdict(d).items() if v not in ("", (), [])} for d in city.departments],
           "sources": [{k: v for k, v in asdict(s).items() if v is not None and v != {}} for s in city.sources]}
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def test_sgs_crawl_says_the_publish_failed_and_exits_1(site, paths, tmp_path):  # noqa: F811
    build_site(site)
    config = _write_city(demo_city(site), tmp_path / "city.toml")
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.published.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["crawl", "--quiet", "--config", str(config), "--db", str(paths.db)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "无法发布数据快照" in result.output and str(paths.published) in result.output
    assert "Traceback" not in result.output


HOLD_LOCK = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"


def test_a_locked_database_is_the_same_message_for_ledger_import_score_and_crawl(tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    con = store.connect(paths)
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级')")
    con.close()
    ledger = tmp_path / "台账.csv"
    ledger.write_text("决定书文号,决定日期\n长环罚〔2026〕1号,2026-09-25\n", encoding="utf-8")
    config = tmp_path / "city.toml"
    config.write_text('[[sources]]\nid = "p"\nchannel = "portal"\nkind = "cf"\nstart_url = "http://127.0.0.1:9/api"\n',
                      encoding="utf-8")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(paths.db)], env=ENV, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        outputs = {}
        for name, args in {"ledger": ["ledger", "import", str(ledger), "--dept", "d1", "--kind", "cf"],
                           "score": ["score", "--period", "2026Q3"],
                           "crawl": ["crawl", "--quiet", "--config", str(config)]}.items():
            result = runner.invoke(app, [*args, "--db", str(paths.db)])
            assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (name, result.output)
            assert "Traceback" not in result.output
            outputs[name] = result.output.strip()
    finally:
        holder.stdin.close()
        holder.wait()
    assert len(set(outputs.values())) == 1 and "正被另一个 sgs 进程写入" in outputs["ledger"], outputs

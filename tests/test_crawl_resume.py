"""Kill -9 in the middle of a real ``sgs crawl`` process, rerun: the same records as an uninterrupted
crawl, and no page the first run had committed is requested again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from democity import DemoServer, build, write_city
from core.settings import REPO_ROOT

KILL_AFTER = 400  # requests served (of about 620 for the whole demo; writes are committed every 0.5 s)


def _crawl_cmd(config, db) -> list[str]:
    return [sys.executable, "-m", "sgs.cli", "crawl", "--quiet", "--config", str(config), "--db", str(db)]


def _records(db) -> set[tuple]:
    """Every stored record without the columns that depend on the run (time, port, archive id)."""
    con = duckdb.connect(str(db), read_only=True)
    out = set()
    for kind in ("xk", "cf"):
        cur = con.execute(f"SELECT * EXCLUDE (url, fetch_id, first_seen, last_seen, row_hash) FROM {kind}_records")
        out |= {(kind, *row) for row in cur.fetchall()}
    con.close()
    return out


def _committed(db) -> set[str]:
    """The requests the killed run had committed, as the server counts them (path?query [POST form])."""
    con = duckdb.connect(str(db))  # read-write: replays the WAL the killed process left
    rows = con.execute("SELECT url, form FROM fetches WHERE role IS NOT NULL").fetchall()
    con.close()
    out = set()
    for url, form in rows:
        path = url.split("/", 3)[3]
        out.add("/" + path + (f" POST {form}" if form else ""))
    return out


def test_killed_crawl_resumes_without_refetching(demo_run, tmp_path):
    city = build(2026)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with DemoServer(city) as server:
        config = write_city(city, server.base_url, tmp_path)
        db = tmp_path / "sgs.duckdb"
        proc = subprocess.Popen(_crawl_cmd(config, db), cwd=REPO_ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.served() < KILL_AFTER and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the crawl ended before it could be killed: " + proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = dict(server.requests)
        committed = _committed(db)
        assert 0 < len(committed) < sum(first.values())  # killed in the middle, with pages already stored

        rerun = subprocess.run(_crawl_cmd(config, db), cwd=REPO_ROOT, env=env, capture_output=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr.decode()
        second = {k: n - first.get(k, 0) for k, n in server.requests.items() if n > first.get(k, 0)}

    refetched = {k for k in second if k in committed}
    assert refetched == set(), f"pages fetched again after resuming: {sorted(refetched)[:5]}"
    assert _records(db) == _records(demo_run.paths.db)  # the uninterrupted crawl of the same city
    con = duckdb.connect(str(db), read_only=True)
    crawls = con.execute("SELECT status, count(*) FROM crawls GROUP BY ALL").fetchall()
    dup_events = con.execute("SELECT count(*) - count(DISTINCT (source_id, problem, url)) FROM availability"
                             ).fetchone()[0]
    n_problems = con.execute("SELECT count(*) FROM availability").fetchone()[0]
    con.close()
    assert crawls == [("done", 1)]  # the same crawl, resumed and finished
    assert dup_events == 0 and n_problems == len(demo_run.manifest["availability"])

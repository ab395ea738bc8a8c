"""Shared fixtures: the demo city served on 127.0.0.1, crawled and scored once per test session."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from democity import QUARTERS as DEMO_QUARTERS

from core.settings import Paths, resolve_paths

QUARTERS = tuple(q.label for q in DEMO_QUARTERS)  # the demo city's decisions span these


@pytest.fixture(scope="session", autouse=True)
def test_scrypt_cost():
    """Users files written by the tests hash at scrypt N=2^14 (~50 ms) instead of OWASP's N=2^17 (0.3–2 s on a
    busy CI core), through ``dashboard.auth.SCRYPT_COST``, which only code can change (no environment variable
    or file). tests/test_login_guard.py tests the production cost and the rehash to it."""
    from dashboard import auth

    saved = dict(auth.SCRYPT_COST)
    auth.SCRYPT_COST.update(n=2 ** 14)
    yield
    auth.SCRYPT_COST.update(saved)


@dataclass
class DemoRun:
    paths: Paths
    base_url: str
    config: Path
    manifest: dict
    summary: object
    scores: dict[str, list[dict]]


@pytest.fixture(scope="session")
def demo_server():
    from democity import DemoServer, build

    city = build(2026)
    with DemoServer(city) as server:
        yield city, server


@pytest.fixture(scope="session")
def demo_run(demo_server, tmp_path_factory) -> DemoRun:
    """The whole pipeline on the demo city: its season of crawls (democity.staged) into a fresh database, score
    both quarters, publish."""
    from democity import write_city
    from democity.staged import run_staged_crawls
    from democity.ledgers import load_ledgers
    from core import store
    from core.periods import parse_period
    from metrics.scoring import score_period
    from core.cityconfig import load_city

    city, server = demo_server
    root = tmp_path_factory.mktemp("demo")
    paths = resolve_paths(root / "sgs.duckdb")
    config = write_city(city, server.base_url, root)
    summary = run_staged_crawls(load_city(config), server, paths)
    con = store.connect(paths)
    try:
        load_ledgers(con, root)  # the departments' ledgers, written beside city.toml
        scores = {q: score_period(con, parse_period(q)) for q in QUARTERS}
        store.publish(con, paths)
    finally:
        con.close()
    manifest = json.loads((root / "ground_truth.json").read_text("utf-8"))
    return DemoRun(paths, server.base_url, config, manifest, summary, scores)


@pytest.fixture(scope="module")
def demo_dashboard(demo_run, tmp_path_factory):
    """The demo's database with the demo's users file (written as ``sgs demo`` writes it), as the dashboard's
    environment (SGS_DB, SGS_USERS): ``(paths, [(dept_id, name), …])``."""
    from dashboard_city import snapshot_frame
    from sgs.demo import _write_demo_users

    paths = demo_run.paths
    users_dir = tmp_path_factory.mktemp("demo-users")
    depts = [(d["dept_id"], d["name"]) for d in snapshot_frame(paths, "SELECT dept_id, name FROM departments "
                                                                      "ORDER BY dept_id").to_dict("records")]
    _write_demo_users(resolve_paths(users_dir / "sgs.duckdb"), depts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SGS_DB", str(paths.db))
        mp.setenv("SGS_USERS", str(users_dir / "users.toml"))
        mp.delenv("SGS_OPEN_DEMO", raising=False)
        yield paths, depts


@pytest.fixture(autouse=True)
def main_module_kept():
    """An AppTest run leaves its script as ``sys.modules["__main__"]`` (Streamlit runs a page as __main__), and a
    process spawned later re-runs the parent's __main__ file first (multiprocessing's spawn): the province
    crawl's spawned fetch process then ran a test's page script and died. Each test starts with pytest's own."""
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture()
def fresh_caches():
    """Streamlit's caches outlive an AppTest run; each test starts from the snapshot, not a memory.
    AppTest modules use it with ``pytestmark = pytest.mark.usefixtures("fresh_caches")``."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


# --- two test processes (pytest-xdist, `-n 2 --dist loadfile` in pyproject.toml) -----------------------------
@pytest.fixture(scope="module")
def one_ray_at_a_time():
    """Held by a module that starts a Ray on loopback (test_cluster, test_nation) while its Ray runs: the suite's
    two processes never run two Rays at once (test_cluster's killer picks Ray workers by process title, and
    two Rays on two cores would starve each other's timeouts)."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "sgs-tests-ray.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

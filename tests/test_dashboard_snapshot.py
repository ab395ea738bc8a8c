"""The published snapshot kept open for the dashboard's process (``dashboard.queries.shared``): one connection
reused across queries and reruns, moved to the new file by a publish (the old one closed, the new data shown);
a record found by its key still refused outside the viewer's scope; the start-up warmup (``dashboard.warmup``)
runs and keeps nothing personal."""
from __future__ import annotations

import gc

import pytest
from streamlit.runtime.caching import cache_data_api

from dashboard import auth, warmup
from dashboard.queries import catalogue, department, evidence, findings, overview, shared
from dashboard_city import app, city_for_app, login, republish, run, snapshot_frame
from core.settings import Paths
from metrics import corrections

pytestmark = pytest.mark.usefixtures("fresh_caches")

SCJ = auth.Viewer("scj", "scj", "department", "d_scj")
BOSS = auth.Viewer("boss", "boss", "leader")


@pytest.fixture()
def city(tmp_path):
    with city_for_app(tmp_path / "city") as paths:
        yield paths
    shared.close_snapshots()


def _open_in(paths: Paths) -> dict:
    return {p.name: e for p, e in shared._OPEN.items() if p.parent == paths.published}


def test_one_connection_serves_every_query_and_rerun(city: Paths) -> None:
    snap = shared.snapshot_name()
    shared.periods(snap)
    entry = _open_in(city)[snap]
    department.departments(snap, BOSS)
    at = login(app(), "boss")
    run(at)  # a rerun of the same session
    assert not at.exception
    assert _open_in(city) == {snap: entry}  # the same connection, not one per query or run
    assert entry.running == 0  # every query's cursor was given back


def test_a_publish_moves_to_the_new_snapshot(city: Paths) -> None:
    old = shared.snapshot_name()
    assert department.department_labels(old, BOSS)["d_scj"].startswith("市市场监督管理局")
    old_entry = _open_in(city)[old]
    republish(city, "UPDATE departments SET name = '市场监管（新名）' WHERE dept_id = 'd_scj'")
    new = shared.snapshot_name()
    assert new != old
    assert department.department_labels(new, BOSS)["d_scj"].startswith("市场监管（新名）")
    assert list(_open_in(city)) == [new]
    assert old_entry.retired
    with pytest.raises(Exception, match="closed"):
        old_entry.con.execute("SELECT 1")


def test_a_record_by_key_is_refused_outside_the_scope(city: Paths) -> None:
    snap = shared.snapshot_name()
    theirs = snapshot_frame(city, "SELECT record_key FROM cf_records WHERE dept_id = 'd_jtj' LIMIT 1")["record_key"][0]
    own = snapshot_frame(city, "SELECT record_key FROM cf_records WHERE dept_id = 'd_scj' LIMIT 1")["record_key"][0]
    assert evidence.record_fields(snap, SCJ, "cf", theirs).empty  # another department's record, by its key
    assert evidence.site_masked(snap, SCJ, "cf", theirs, ("CF_WSH",)) == set()
    assert not evidence.record_fields(snap, SCJ, "cf", own).empty
    assert not evidence.record_fields(snap, BOSS, "cf", theirs).empty  # a leader sees every department


def test_warmup_opens_the_snapshot_and_keeps_nothing_personal(city: Paths, monkeypatch) -> None:
    asked = []
    frame = shared._frame
    monkeypatch.setattr(shared, "_frame", lambda snap, sql, *a: asked.append(sql) or frame(snap, sql, *a))
    try:
        assert warmup.run() >= 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert shared.snapshot_name() in _open_in(city)
    assert asked and all("count(*)" in sql and "record_key IN ('')" in sql for sql in asked)  # no row read
    assert not cache_data_api._data_caches.get_stats()  # no page's cache filled


def test_warmup_without_a_snapshot(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SGS_DB", str(tmp_path / "none" / "sgs.duckdb"))
    try:
        assert warmup.run() >= 0
    finally:
        gc.unfreeze()


def test_prefill_caches_the_city_wide_figures_of_each_new_snapshot(city: Paths) -> None:
    """``sgs serve`` computes a new snapshot's city-wide figures in the background once: a leader's first
    visit then reads them from the cache (shown here with the snapshot's file moved away), a department's own
    figures are not among them, and a publish's next snapshot is prefilled in turn."""
    snap = shared.snapshot_name()
    assert warmup.prefill_in_background(snap) is None  # not serving (AppTest): nothing runs behind the pages
    try:
        _prefilled_from_the_cache(city, snap)
    finally:
        warmup.stop_prefilling()  # as the server does when it stops: later tests' pages run no background work
    republish(city, "UPDATE departments SET name = '市场监管（再改）' WHERE dept_id = 'd_scj'")
    assert warmup.prefill_in_background(shared.snapshot_name()) is None  # stopped: a new snapshot waits


def _prefilled_from_the_cache(city: Paths, snap: str) -> None:
    thread = warmup.start_prefilling()
    assert thread is not None
    thread.join(timeout=120)
    assert warmup.prefill_in_background(snap) is None  # once per snapshot
    period = shared.periods(snap)[0]
    shared.close_snapshots()
    away = city.published / f"{snap}.away"
    (city.published / snap).rename(away)
    try:
        assert not overview.problem_counts(snap, BOSS, period).empty
        assert not overview.department_ranking(snap, BOSS, period).empty
        assert overview.headline(snap, BOSS, period, corrections.version(city))
        catalogue.catalogue(snap, BOSS, period)  # served (this city has no 事项目录: empty) without the file
        assert findings.period_counts(snap, BOSS, period)["n"].sum() > 0
        with pytest.raises(Exception):  # a department's figures were not computed: this one needs the file
            catalogue.catalogue(snap, SCJ, period)
    finally:
        away.rename(city.published / snap)
    republish(city, "UPDATE departments SET name = '市场监管（新名）' WHERE dept_id = 'd_scj'")
    new = shared.snapshot_name()
    assert new != snap
    again = warmup.prefill_in_background(new)
    assert again is not None
    again.join(timeout=120)

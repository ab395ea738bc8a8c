"""A province without Ray: ``sgs run --cities`` (each city's daily run, one bad city named while the others
finish) and the dashboard's 全省排名 page on the store ``sgs score --cities … --out`` writes, for a province
leader, a province assessor, a city's credit office (its city only: refused others in the queries and on the
page) and a department (refused the page).

Two demo cities (seeds 11, 12) served on loopback as tests/test_cluster.py serves them, one whose sites are
dead (nothing listens on 127.0.0.1:9) and one whose city.toml is broken; cities run in turn in this process
(the same task functions Ray runs)."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from core import store
from core.settings import resolve_paths
from dashboard.auth import Viewer, write_users
from metrics.rollup import read_kind, read_rollup
from sgs.cli import app
from tests.dashboard_city import app as app_test, run

SEEDS = (11, 12)
DEAD, BROKEN = "city13", "坏配置市"
PERIOD = "2026Q3"
AS_OF = "2026-10-10"  # the run scores 2026-10, 2026Q4, 2026-09 and 2026Q3 (the demo's decisions are in Q2–Q3)
USERS = [  # username, role, city, dept
    ("prov-leader", "leader", None, None),
    ("prov-assessor", "assessor", None, None),
    ("c12-office", "assessor", "city12", None),
    ("c12-dept", "department", None, "sj-scjg"),
]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The province run once by ``sgs run --cities`` (its output kept), then scored again by ``sgs score
    --cities`` for 2026Q2 and 2026Q3 into the store the dashboard reads."""
    from democity import DemoServer, build, write_city

    root = tmp_path_factory.mktemp("province")
    cities = root / "cities"
    with ExitStack() as stack:
        for seed in SEEDS:
            city = build(seed)
            write_city(city, stack.enter_context(DemoServer(city)).base_url, cities / f"city{seed}")
        write_city(build(13), "http://127.0.0.1:9", cities / DEAD)
        (cities / BROKEN).mkdir()
        (cities / BROKEN / "city.toml").write_text("[city\nname = 1\n", "utf-8")
        ran = CliRunner().invoke(app, ["run", "--cities", str(cities), "--out", str(root / "run-store"),
                                       "--as-of", AS_OF])
    for period in ("2026Q2", PERIOD):
        scored = CliRunner().invoke(app, ["score", "--cities", str(cities), "--out", str(root / "store"),
                                          "--period", period])
        assert scored.exit_code == 0, scored.output
    dash = root / "dashboard"  # the province dashboard's own folder: users and access log, no snapshot
    write_users(dash / "users.toml", [{"username": u, "name": f"{u} 用户", "role": r, "city": c, "dept_id": d,
                                       "password": f"{u}-pw"} for u, r, c, d in USERS])
    return root, ran


@pytest.fixture
def dashboard(province, monkeypatch):
    root, _ = province
    monkeypatch.setenv("SGS_DB", str(root / "dashboard" / "sgs.duckdb"))
    monkeypatch.setenv("SGS_USERS", str(root / "dashboard" / "users.toml"))
    monkeypatch.setenv("SGS_PROVINCE", str(root / "store"))
    monkeypatch.setenv("SGS_CITIES", str(root / "cities"))  # a finding's detail: its city's snapshot and archive
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    return root / "store"


def login(username: str, city: str | None = None):
    """Log in (the start page moves on to 全省排名); ``city``: then open the page's address ``?city=…``."""
    at = app_test()
    run(at)
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(f"{username}-pw")
    at.button[0].click()
    run(at)
    if city is not None:
        at.query_params["city"] = city
        run(at)
    return at


def viewer(username: str) -> Viewer:
    _, role, city, dept = next(u for u in USERS if u[0] == username)
    return Viewer(username, username, role, dept, city)


def frame(at, key: str) -> pd.DataFrame:
    tables = at.get_by_key(key).dataframe
    assert len(tables) == 1
    return tables[0].value


# --- sgs run --cities ----------------------------------------------------------------------------

def test_run_names_the_bad_cities_and_finishes_the_others(province):
    root, ran = province
    assert ran.exit_code == 1, ran.output
    lines = ran.output.splitlines()
    problems = lines[lines.index(next(x for x in lines if x.startswith("错误："))):]
    assert problems[0] == "错误：2 个城市未能全部完成（其余城市已完成并汇总）："
    named = {line.split("：", 1)[0] for line in problems[1:]}
    assert named == {DEAD, BROKEN}  # both ways: the bad cities named, no good one
    assert any(line.startswith(f"{DEAD}：35 个来源无法抓取") and "没有可评分的记录" in line for line in problems)
    assert any(line.startswith(f"{BROKEN}：配置文件") and "不是有效的 TOML" in line for line in problems)
    for seed in SEEDS:  # each good city: crawled, scored, published, digests written, partitions exported
        folder = root / "cities" / f"city{seed}"
        assert f"city{seed}：" in ran.output and "评分 2026-09、2026Q3" in ran.output
        assert store.current_snapshot(resolve_paths(folder / "sgs.duckdb")) is not None
        assert (folder / "digests" / AS_OF).is_dir()
    rolled = read_rollup(root / "run-store", PERIOD)
    assert sorted(rolled.cities["city"]) == [f"city{s}" for s in SEEDS]
    assert "2026Q3  全省城市排名" in ran.output


def test_province_run_is_one_at_a_time(province):
    from sgs.run import RunLocked, hold_lock

    root, _ = province
    with hold_lock(root / "cities" / ".province.run.lock"):
        again = CliRunner().invoke(app, ["run", "--cities", str(root / "cities"), "--out", str(root / "x")])
    assert again.exit_code == 1 and "另一个 sgs run 正在运行" in again.output
    assert not (root / "x").exists()
    assert RunLocked


VOLATILE = {"first_seen", "last_seen", "fetch_id", "crawl_id", "row_hash"}  # per crawl (row_hash: of them all)


def _records(db: Path, table: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
                if c not in VOLATILE]
        frame = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").df()
    finally:
        con.close()
    text = frame.select_dtypes(include=["object", "str"]).columns  # two demo servers: only their ports differ
    return frame.assign(**{c: frame[c].str.replace(r"http://127\.0\.0\.1:\d+", "", regex=True) for c in text})


def _wait_unlocked(path: Path, seconds: float = 30) -> None:
    """The killed run's fetch child (forked by the crawl) ends when its socket closes; until then it still
    holds the inherited lock (as tests/test_run.py waits for a city's)."""
    import time

    from sgs.run import RunLocked, hold_lock

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with hold_lock(path):
                return
        except RunLocked:
            time.sleep(0.1)
    raise AssertionError("the province's run lock was never released")


def test_a_killed_province_run_resumes(province, tmp_path):
    """``sgs run --cities`` SIGKILLed while its city is being crawled, then started again: the lock is free,
    the city resumes and finishes, and its records equal the same city's uninterrupted run (the fixture's)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from core.settings import REPO_ROOT
    from democity import DemoServer, build, write_city

    root, _ = province
    cities = tmp_path / "cities"
    command = ["run", "--cities", str(cities), "--out", str(tmp_path / "store"), "--as-of", AS_OF, "--quiet"]
    city = build(SEEDS[0])
    with DemoServer(city) as server:
        write_city(city, server.base_url, cities / "city11")
        proc = subprocess.Popen([sys.executable, "-m", "sgs.cli", *command], cwd=REPO_ROOT,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while not any(p.stat().st_size > 0 for p in (cities / "city11").glob("archive/**/*.warc.gz")):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        assert not (tmp_path / "store" / "rollup").exists()  # killed before the roll-up
        _wait_unlocked(cities / ".province.run.lock")
        again = CliRunner().invoke(app, command)
    assert again.exit_code == 0, again.output
    assert read_rollup(tmp_path / "store", PERIOD).cities["city"].tolist() == ["city11"]
    for table in ("xk_records", "cf_records"):
        pd.testing.assert_frame_equal(_records(cities / "city11" / "sgs.duckdb", table),
                                      _records(root / "cities" / "city11" / "sgs.duckdb", table))


def test_run_needs_cities_and_store(tmp_path):
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--cities" in result.output
    result = CliRunner().invoke(app, ["run", "--cities", str(tmp_path), "--out", str(tmp_path / "s"),
                                      "--config", "city.toml"])
    assert result.exit_code == 2 and "--config" in result.output


# --- the query layer: scope enforced where the data is read -----------------------------------------

def test_queries_keep_a_city_user_to_its_city(dashboard):
    from dashboard.queries import province

    where, version = str(dashboard), province.stamp(str(dashboard))
    office, leader = viewer("c12-office"), viewer("prov-leader")
    assert province.cities(where, version, office, PERIOD)["city"].tolist() == ["city12"]
    assert sorted(province.cities(where, version, leader, PERIOD)["city"]) == ["city11", "city12"]
    assert not province.counties(where, version, office, PERIOD, "city12").empty
    for call in (lambda: province.counties(where, version, office, PERIOD, "city11"),
                 lambda: province.departments(where, version, office, PERIOD, "city11"),
                 lambda: province.findings(where, version, office, PERIOD, "city11", "sj-scjg"),
                 lambda: province.findings_total(where, version, office, PERIOD, "city11", "sj-scjg")):
        with pytest.raises(province.CityRefused, match="本账号只能查看city12的数据，无权查看city11"):
            call()
    with pytest.raises(province.CityRefused, match="本账号只能查看city12的数据，无权查看city11"):
        province.city_snapshot(office, "city11")  # a finding's detail: the city's own snapshot and archive
    assert Path(province.city_snapshot(office, "city12")).parent == dashboard.parent / "cities" / "city12" / "published"
    assert province.city_snapshot(leader, "../cities/city12") is None  # only a city's own folder, by its name
    with pytest.raises(province.CityRefused, match="部门账号无权查看全省数据"):
        province.cities(where, version, viewer("c12-dept"), PERIOD)


# --- the page ------------------------------------------------------------------------------------

def _ranking_equals_rollup(shown: pd.DataFrame, rolled: pd.DataFrame, label: str, name: str) -> None:
    """Every rolled-up row shown, nothing else: rank, name, total, grade and change exactly."""
    mine = [(int(r["排名"]), r[label], r["总分"], r["等级"], None if pd.isna(r["较上期"]) else round(r["较上期"], 9))
            for r in shown.to_dict("records")]
    theirs = [(int(r["rank"]), r[name], r["total"], r["grade"],
               None if pd.isna(r["prev_total"]) else round(r["total"] - r["prev_total"], 9))
              for r in rolled.to_dict("records")]
    assert mine == theirs


def test_leader_sees_every_city_as_rolled_up_and_drills_down(dashboard):
    at = login("prov-leader")  # a province's dashboard: the leader starts on 全省排名
    assert at.title[0].value == "全省排名"
    rolled = read_rollup(dashboard, PERIOD)
    assert rolled.cities["prev_total"].notna().all()  # 2026Q2 was scored: the changes are real numbers
    cities = frame(at, "province_cities")
    _ranking_equals_rollup(cities, rolled.cities, "城市", "city")
    at.selectbox(key="province_city").set_value("city11")
    run(at)
    counties = rolled.counties[rolled.counties["city"] == "city11"].sort_values(["city_rank", "county"])
    _ranking_equals_rollup(frame(at, "province_counties"), counties, "县区", "county")
    county = counties["county"].iloc[0]
    at.selectbox(key="province_county").set_value(county)
    run(at)
    scores = read_kind(dashboard, "scores", PERIOD, ["city11"])
    scores = scores[scores["county"] == county]
    depts = frame(at, "province_departments")
    assert sorted(zip(depts["部门"].map(str), depts["总分"])) == sorted(
        zip(_names(dashboard, "city11", scores["dept_id"]), scores["total"]))


def _names(where: Path, city: str, dept_ids) -> list[str]:
    names = read_kind(where, "departments", PERIOD, [city])
    named = dict(zip(names["dept_id"], names["name"]))
    return [named[d] for d in dept_ids]


def test_findings_are_the_cities_own_as_the_findings_page_shows_them(dashboard, monkeypatch):
    """The drill-down's findings list = what the city's own 问题清单 shows for that department (same columns,
    same masking, same 序号), read from its partitions."""
    from dashboard.queries import findings as city_findings
    from dashboard.queries import shared
    from dashboard.views import _finding

    at = login("prov-assessor")
    at.selectbox(key="province_city").set_value("city12")
    run(at)
    findings = read_kind(dashboard, "findings", PERIOD, ["city12"])
    dept = findings["dept_id"].value_counts().index[0]  # the department with the most findings
    at.selectbox(key="province_dept").set_value(dept)
    run(at)
    shown = frame(at, "province_findings")
    monkeypatch.setenv("SGS_DB", str(dashboard.parent / "cities" / "city12" / "sgs.duckdb"))
    own = city_findings.findings(shared.snapshot_name(), viewer("prov-assessor"), PERIOD, dept_id=dept)
    expected = _finding.findings_table(own, with_department=True)
    assert list(shown.columns) == list(expected.columns)
    same = ["序号", "部门", "问题类型", "文书号/页面", "相对人名称", "期限", "状态", "最新处理", "指标", "类型", "字段", "问题", "问题值",
            "证据页面", "存档", "规则", "问题编号"]
    mine = shown[same].astype(str).reset_index(drop=True)
    theirs = expected[same].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)
    assert len(shown) == min(len(findings[findings["dept_id"] == dept]), shared.PAGE_SIZE)
    text = shown.astype(str).to_string()
    import re
    assert not re.search(r"\d{17}[\dXx]", text)  # no ID number shown unmasked


def test_a_click_opens_the_finding_with_its_citys_archived_page(dashboard, monkeypatch):
    """A row clicked in the department's findings opens that finding in detail as the city's own 问题清单 does:
    its record's fields (the failing one marked), message, URL and the archived page as fetched, read from
    the city's own archive — and no 查看原值 here. Without the cities' folders: the message and how to get
    the rest."""
    from crawlers.archive import read_record
    from dashboard.sanitize import page_text

    at = login("prov-assessor")
    at.selectbox(key="province_city").set_value("city12")
    run(at)
    findings = read_kind(dashboard, "findings", PERIOD, ["city12"])
    on_records = findings[findings["record_key"].notna() & findings["field"].notna()]
    dept = on_records["dept_id"].value_counts().index[0]
    at.selectbox(key="province_dept").set_value(dept)
    run(at)
    shown = frame(at, "province_findings")
    row = next(i for i, r in enumerate(shown.to_dict("records")) if r["字段"] != "—" and isinstance(r["存档"], str))
    at.session_state["province_findings_pick"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    run(at)  # as a click on the row does (Streamlit's selection state)
    assert at.selectbox(key="province_finding").value == shown["问题编号"].iloc[row]
    chosen = findings[findings["finding_id"] == shown["问题编号"].iloc[row]].iloc[0]
    fields = at.get_by_key("finding_record").dataframe[0].value
    assert fields.loc[fields["标记"] != "", "字段"].tolist() == [chosen["field"]]
    warc, offset = shown["存档"].iloc[row].split("#")
    headers, body = read_record(resolve_paths(dashboard.parent / "cities" / "city12" / "sgs.duckdb"), warc, int(offset))
    text = at.get_by_key("archived_text").code[0].value
    assert [line[2:] for line in text.splitlines()] == page_text(body, headers.get_header("Content-Type")).splitlines()
    assert not at.error
    with pytest.raises(KeyError):
        at.get_by_key("reveal")  # originals stay with the city's assessors
    monkeypatch.delenv("SGS_CITIES")
    run(at)
    assert any("未指定城市文件夹" in i.value for i in at.info)
    with pytest.raises(KeyError):
        at.get_by_key("archived_text")


def test_city_office_sees_its_city_only(dashboard):
    at = login("c12-office")
    assert frame(at, "province_cities")["城市"].tolist() == ["city12"]
    assert any("只显示本市的数据" in c.value for c in at.caption)
    assert not frame(at, "province_counties").empty
    assert not at.error


def test_province_report_is_offered_to_the_province_only(dashboard):
    """全省排名's download: the report of the period (its ranking the roll-up's) for a province's leader; a
    city's office gets no button, and the query refuses it the report (it ranks every city)."""
    import io

    import docx as python_docx

    from dashboard.queries import province

    labels = [b.proto.label for b in login("prov-leader").get("download_button")]
    assert labels == ["下载全省评估报告（Word）"]
    assert not login("c12-office").get("download_button")
    with pytest.raises(province.CityRefused, match="只有全省的领导和评估人员可以下载"):
        province.report(str(dashboard), viewer("c12-office"), PERIOD)
    doc = python_docx.Document(io.BytesIO(province.report(str(dashboard), viewer("prov-assessor"), PERIOD)))
    shown = [[c.text for c in row.cells[:3]] for row in doc.tables[0].rows[1:]]
    rolled = read_rollup(dashboard, PERIOD).cities
    assert shown == [[str(r.rank), r.city, f"{r.total:.2f}"] for r in rolled.itertuples()]


def test_city_office_is_refused_another_city_by_address(dashboard):
    at = login("c12-office", city="city11")
    assert [e.value for e in at.error] == ["本账号只能查看city12的数据，无权查看city11。"]
    with pytest.raises(KeyError):  # nothing of city11 shown
        at.get_by_key("province_counties")
    at = login("prov-leader", city="city11")  # the same address for a province leader opens city11
    assert not at.error and at.selectbox(key="province_city").value == "city11"


def test_department_is_refused_the_page(dashboard):
    at = login("c12-dept")
    at.switch_page("dashboard/views/province.py")
    run(at)
    assert [e.value for e in at.error] == ["部门账号无权查看本页面。"]


def test_city_dashboard_without_a_store_hides_the_page(dashboard, monkeypatch):
    monkeypatch.delenv("SGS_PROVINCE")
    at = login("prov-leader")
    assert "全省排名" not in [t.value for t in at.title]
    at.switch_page("dashboard/views/province.py")
    run(at)
    assert any("没有配置全省数据存储" in i.value for i in at.info)

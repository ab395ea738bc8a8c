"""The dashboard against a real published snapshot, driven through Streamlit's AppTest (no browser).

Until the demo city exists, ``dashboard_db`` builds a small but realistic database with the store's own
functions (two counties, four departments, two periods, findings with their records and archived fetches)
and publishes it; only ``SGS_DB`` points the app at it. Swap the fixture for the demo's and the tests stay.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics.privacy import mask_text
from metrics import store
from sgs.settings import Paths, resolve_paths

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "streamlit_app.py")
DEPT_PAGE = "dashboard/views/department.py"
RAW_ID = "140402199003151234"
MASKED_ID = "140402********1234"
RAW_PHONE = "13912345678"
COMPUTED_AT = datetime(2026, 10, 8, 9, 30)

DEPARTMENTS = [
    ("d_fgw", "市发展和改革委员会", "市本级"),
    ("d_scj", "市市场监督管理局", "市本级"),
    ("d_hbj", "潞州区生态环境局", "潞州区"),
    ("d_jtj", "潞州区交通运输局", "潞州区"),
]
# period -> dept -> (n_records, timeliness, completeness, accuracy, total, grade, rank, county_rank)
SCORES = {
    "2026Q3": {
        "d_fgw": (40, 100.0, 95.0, 97.5, 97.3, "优秀", 1, 1),
        "d_scj": (120, 80.0, 75.0, 70.0, 75.0, "良好", 2, 2),
        "d_hbj": (30, 76.7, 73.3, 75.0, 75.0, "良好", 2, 1),
        "d_jtj": (12, 50.0, 58.3, 50.0, 52.8, "不合格", 4, 2),
    },
    "2026Q2": {
        "d_fgw": (35, 88.6, 91.4, 94.3, 91.4, "优秀", 2, 1),
        "d_scj": (110, 90.9, 95.5, 98.2, 94.9, "优秀", 1, 1),
        "d_hbj": (25, 60.0, 64.0, 68.0, 64.0, "合格", 3, 1),
        "d_jtj": (10, 60.0, 60.0, 50.0, 56.7, "不合格", 4, 2),
    },
}


def _records_and_fetches() -> tuple[list[dict], list[dict], list[dict]]:
    """Three published decisions of 市市场监督管理局 and one of 潞州区交通运输局, each with its fetch."""
    fetches, cf, xk = [], [], []
    for i, (kind, dept, wsh, name) in enumerate([
        ("cf", "d_scj", "长市监罚〔2026〕15号", "张某某"),
        ("cf", "d_scj", "长市监罚〔2026〕16号", "长治市惠民超市有限公司"),
        ("xk", "d_scj", "长市监许〔2026〕301号", "长治市好味餐饮有限公司"),
        ("cf", "d_jtj", "潞交罚〔2026〕3号", "李某某"),
    ], start=1):
        url = f"http://127.0.0.1:8765/{dept}/{kind}/{i}.html"
        fetches.append({"fetch_id": f"urn:uuid:f{i}", "url": url, "fetched_at": datetime(2026, 10, 7, 8, i),
                        "status": 200, "warc_file": "2026/10/07/crawl-1.warc.gz", "warc_offset": 1000 * i,
                        "sha256": f"{i:064d}"})
        row = {"record_key": f"rk{i}", "dept_id": dept, "source_id": f"{dept}-{kind}", "channel": "site",
               "url": url, "fetch_id": f"urn:uuid:f{i}", "std_version": "2019", "FBRQ": "2026-08-01"}
        if kind == "cf":
            cf.append({**row, "CF_WSH": wsh, "CF_XDR_MC": name, "CF_XDR_ZJHM": RAW_ID, "CF_JDRQ": "2026-07-20"})
        else:
            xk.append({**row, "XK_WSH": wsh, "XK_XDR_MC": name, "XK_JDRQ": "2026-07-02"})
    return fetches, cf, xk


def _finding(period: str, dept: str, n: int, kind: str, indicator: str, field: str | None, value: str | None,
             message: str) -> dict:
    return {"period": period, "dept_id": dept, "kind": kind, "record_key": f"rk{n}", "channel": "site",
            "rule_id": f"{indicator}_rule", "indicator": indicator, "severity": "error", "field": field,
            "value": value, "message": message, "url": f"http://127.0.0.1:8765/{dept}/{kind}/{n}.html",
            "fetch_id": f"urn:uuid:f{n}", "status": "open"}


FINDINGS = [
    _finding("2026Q3", "d_scj", 1, "cf", "accuracy", "CF_XDR_ZJHM", RAW_ID, "证件号码校验位错误"),
    _finding("2026Q3", "d_scj", 1, "cf", "timeliness", "FBRQ", "2026-08-01", "决定后超过7个工作日才公示"),
    _finding("2026Q3", "d_scj", 2, "cf", "completeness", "CF_XDR_SHXYM", None,
             f"缺少统一社会信用代码（联系电话 {RAW_PHONE}）"),
    _finding("2026Q3", "d_scj", 3, "xk", "accuracy", "XK_XDR_LB", "公司", "行政相对人类别不在规定取值内"),
    _finding("2026Q2", "d_scj", 3, "xk", "timeliness", "FBRQ", "2026-06-30", "决定后超过7个工作日才公示"),
    _finding("2026Q3", "d_jtj", 4, "cf", "completeness", "CF_YJ", None, "缺少处罚依据"),
]


def build_city(paths: Paths) -> None:
    """Write the small city into a working database with the store's own functions and publish it."""
    con = store.connect(paths)
    try:
        store.insert_rows(con, "departments", [
            {"dept_id": d, "name": n, "county": c, "website": f"http://127.0.0.1:8765/{d}/"}
            for d, n, c in DEPARTMENTS])
        fetches, cf, xk = _records_and_fetches()
        store.insert_rows(con, "fetches", fetches)
        store.upsert_records(con, "cf", cf, datetime(2026, 10, 7, 8, 0))
        store.upsert_records(con, "xk", xk, datetime(2026, 10, 7, 8, 0))
        store.insert_rows(con, "findings", FINDINGS)
        store.insert_rows(con, "scores", [
            {"period": p, "dept_id": d, "county": dict((x, c) for x, _, c in DEPARTMENTS)[d], "n_records": v[0],
             "timeliness": v[1], "completeness": v[2], "accuracy": v[3], "total": v[4], "grade": v[5],
             "rank": v[6], "county_rank": v[7], "scheme_version": "default-1", "computed_at": COMPUTED_AT}
            for p, by_dept in SCORES.items() for d, v in by_dept.items()])
        store.insert_rows(con, "county_scores", [
            {"period": "2026Q3", "county": "市本级", "n_departments": 2, "n_records": 160, "timeliness": 90.0,
             "completeness": 85.0, "accuracy": 83.8, "total": 86.2, "grade": "优秀", "rank": 1,
             "scheme_version": "default-1", "computed_at": COMPUTED_AT},
            {"period": "2026Q3", "county": "潞州区", "n_departments": 2, "n_records": 42, "timeliness": 63.3,
             "completeness": 65.8, "accuracy": 62.5, "total": 63.9, "grade": "合格", "rank": 2,
             "scheme_version": "default-1", "computed_at": COMPUTED_AT},
        ])
        store.publish(con, paths)
    finally:
        con.close()


@pytest.fixture(scope="module")
def dashboard_db(tmp_path_factory: pytest.TempPathFactory):
    """A published snapshot of a small two-county city; ``SGS_DB`` points at its working database."""
    paths = resolve_paths(tmp_path_factory.mktemp("city") / "sgs.duckdb")
    build_city(paths)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SGS_DB", str(paths.db))
        yield paths


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Streamlit's caches outlive an AppTest run; each test starts from the snapshot, not a memory."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _snapshot_frame(paths: Paths, sql: str, params: list) -> pd.DataFrame:
    """Expected values straight from the published snapshot (read-only, as the app reads it)."""
    con = store.open_snapshot(paths)
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def _table(at: AppTest, key: str) -> pd.DataFrame:
    """The one dataframe inside the container the page names ``key``."""
    tables = at.get_by_key(key).dataframe
    assert len(tables) == 1
    return tables[0].value


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def test_app_runs_on_latest_period(dashboard_db: Paths) -> None:
    at = _run(_app())
    assert at.sidebar.selectbox[0].value == "2026Q3"
    assert at.sidebar.selectbox[0].options == ["2026Q3", "2026Q2"]
    assert any("2026-10-08 09:30" in c.value for c in at.sidebar.caption)
    labels = {m.label: m.value for m in at.metric}
    assert labels["部门数"] == "4"
    assert labels["记录数"] == "202"
    assert labels["问题数"] == "5"
    assert not at.html  # crawled content is never rendered as HTML


@pytest.mark.parametrize("period", ["2026Q3", "2026Q2"])
def test_ranking_matches_scores(dashboard_db: Paths, period: str) -> None:
    at = _run(_app())
    at.sidebar.selectbox[0].set_value(period)
    _run(at)
    shown = _table(at, "dept_ranking")
    expected = _snapshot_frame(dashboard_db, """
        SELECT s.rank, d.name, s.county, s.total, s.grade FROM scores s JOIN departments d USING (dept_id)
        WHERE s.period = ? ORDER BY s.rank, s.total DESC, s.dept_id""", [period])
    assert list(shown.columns) == ["排名", "部门", "县区", "记录数", "及时性", "完整性", "准确性", "总分", "等级"]
    assert shown["部门"].tolist() == expected["name"].tolist()
    assert shown["排名"].tolist() == expected["rank"].tolist()
    assert shown["总分"].tolist() == pytest.approx(expected["total"].tolist())
    assert shown["等级"].tolist() == expected["grade"].tolist()


def test_county_ranking_and_chart(dashboard_db: Paths) -> None:
    at = _run(_app())
    county = _table(at, "county_ranking")
    assert county["县区"].tolist() == ["市本级", "潞州区"]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    traces = json.loads(charts[0].proto.spec)["data"]
    by_grade = {t["name"]: list(t["x"]) for t in traces}
    assert by_grade == {"优秀": ["市发展和改革委员会"], "良好": ["潞州区生态环境局", "市市场监督管理局"],
                        "不合格": ["潞州区交通运输局"]}


def _findings_count(paths: Paths, period: str, dept: str, indicator: str | None = None) -> int:
    return int(_snapshot_frame(paths, "SELECT count(*) AS n FROM findings WHERE period = ? AND dept_id = ? "
                               "AND (? IS NULL OR indicator = ?)", [period, dept, indicator, indicator])["n"][0])


def _department_page(at: AppTest, dept: str | None = None) -> AppTest:
    _run(at)
    at.switch_page(DEPT_PAGE)
    _run(at)
    if dept is not None:
        at.selectbox(key="_dept_select").set_value(dept)
        _run(at)
    return at


def test_department_remediation_list(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    labels = {m.label: m.value for m in at.metric}
    assert labels["总分"] == "75.0" and labels["等级"] == "良好" and labels["全市排名"] == "2 / 4"
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q3", "d_scj") == 4
    assert rows["序号"].tolist() == [1, 2, 3, 4]
    assert set(rows["类型"]) == {"许可", "处罚"}
    assert "长市监罚〔2026〕15号" in rows["文书号"].tolist()
    assert "CF_XDR_ZJHM 证件号码" in rows["字段"].tolist()
    assert rows["证据页面"].str.startswith("http://127.0.0.1:8765/d_scj/").all()
    assert rows["存档"].str.fullmatch(r"2026/10/07/crawl-1\.warc\.gz#\d+").all()
    assert rows["抓取时间"].notna().all()


def test_personal_data_is_masked(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    rows = _table(at, "remediation")
    text = rows.astype(str).to_string()
    assert MASKED_ID in rows["问题值"].tolist()
    assert RAW_ID not in text and RAW_PHONE not in text
    assert any("139****5678" in m for m in rows["问题"])


def test_indicator_filter(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    at.radio(key="indicator").set_value("accuracy")
    _run(at)
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q3", "d_scj", "accuracy") == 2
    assert set(rows["指标"]) == {"准确性"}


def test_period_kept_across_pages(dashboard_db: Paths) -> None:
    at = _run(_app())
    at.sidebar.selectbox[0].set_value("2026Q2")
    at = _department_page(at, "d_scj")
    assert at.sidebar.selectbox[0].value == "2026Q2"
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q2", "d_scj") == 1


def test_department_from_query_param(dashboard_db: Paths) -> None:
    at = _app()
    at.query_params["dept"] = "d_jtj"
    at = _department_page(at)
    assert at.selectbox(key="_dept_select").value == "d_jtj"
    assert len(_table(at, "remediation")) == _findings_count(dashboard_db, "2026Q3", "d_jtj") == 1


def test_new_publish_shows_on_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches are keyed by snapshot name: a publish is visible on the next rerun, without clearing them."""
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths)
    monkeypatch.setenv("SGS_DB", str(paths.db))
    at = _run(_app())
    assert _table(at, "dept_ranking")["总分"].iloc[0] == pytest.approx(97.3)
    con = store.connect(paths)
    try:
        con.execute("UPDATE scores SET total = 99.0 WHERE period = '2026Q3' AND dept_id = 'd_fgw'")
        store.publish(con, paths)
    finally:
        con.close()
    _run(at)
    assert _table(at, "dept_ranking")["总分"].iloc[0] == pytest.approx(99.0)


def test_no_snapshot_shows_friendly_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGS_DB", str(tmp_path / "empty" / "sgs.duckdb"))
    at = _run(_app())
    assert any("sgs demo" in i.value for i in at.info)
    assert not at.dataframe

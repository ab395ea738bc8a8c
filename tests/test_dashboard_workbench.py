"""The assessor's workbench (decisions with who/when/why, history, status filters), the evidence view (the
archived page as text: nothing from a hostile page runs or loads), reveal and its access log, the Excel
download, and the contract tables (deductions, source_runs, availability, prev_*) once rows exist."""
from __future__ import annotations

from datetime import datetime
from io import BytesIO

import openpyxl
import pytest
import streamlit as st

from metrics import corrections
from dashboard import auth, workbench
from dashboard.queries import findings, shared
from dashboard.sanitize import page_source, page_text
from dashboard.views import _finding
from dashboard_city import (EVIL_HOST, HOSTILE_TITLE, MASKED_ID, RAW_ID, RAW_PHONE, app, build_city, detail_page,
                            login, run, snapshot_frame, table, write_test_users)
from core import store
from core.settings import Paths, resolve_paths

DEPT_PAGE = "dashboard/views/department.py"
FINDINGS_PAGE = "dashboard/views/findings.py"
JUDGE = auth.Viewer("judge", "judge", "assessor")
ID_FINDING = "fid-2026Q3-d_scj-1-accuracy"  # dashboard_city: 张某某's ID number fails its check character


def _contract_rows(con) -> None:
    """What the scoring and crawler branches write: deductions, prev_*, source runs, availability."""
    store.insert_rows(con, "deductions", [
        {"period": "2026Q3", "dept_id": "d_scj", "indicator": "timeliness", "rule_id": "late_publication",
         "n_findings": 24, "n_records": 120, "points": 8.0, "how": "24/120 条超期 × 40 分", "scheme_version": "x"},
        {"period": "2026Q3", "dept_id": "d_scj", "indicator": "accuracy", "rule_id": "id_number_invalid",
         "n_findings": 36, "n_records": 120, "points": 17.0, "how": "36/120 条 × 30 分（封顶）", "scheme_version": "x"},
    ])
    con.execute("UPDATE scores SET prev_total = 90.0, prev_rank = 1 WHERE period = '2026Q3' AND dept_id = 'd_scj'")
    store.insert_rows(con, "scores", [
        {"period": m, "dept_id": d, "county": c, "n_records": 10, "total": t, "grade": "良好", "rank": 1,
         "county_rank": 1, "scheme_version": "x", "computed_at": datetime(2026, 10, 8)}
        for m, d, c, t in [("2026-07", "d_scj", "市本级", 80.0), ("2026-07", "d_jtj", "潞州区", 60.0),
                           ("2026-08", "d_scj", "市本级", 90.0), ("2026-08", "d_jtj", "潞州区", 50.0)]])
    store.insert_rows(con, "source_runs", [
        {"crawl_id": "crawl-1", "source_id": "d_scj-cf", "started_at": datetime(2026, 10, 7, 8), "finished_at":
         datetime(2026, 10, 7, 8, 5), "pages": 12, "records": 3, "errors": 1, "status": "degraded",
         "message": "HTTP 404：第 3 页"},
        {"crawl_id": "crawl-0", "source_id": "d_scj-cf", "started_at": datetime(2026, 9, 7, 8), "finished_at":
         datetime(2026, 9, 7, 8, 5), "pages": 10, "records": 3, "errors": 0, "status": "ok", "message": None},
    ])
    store.insert_rows(con, "availability", [
        {"event_id": "e1", "crawl_id": "crawl-1", "source_id": "d_scj-cf", "dept_id": "d_scj", "channel": "site",
         "kind": "cf", "problem": "dead_link", "url": "http://127.0.0.1:8765/d_scj/cf/3.html", "fetch_id": None,
         "detail": "HTTP 404", "observed_at": datetime(2026, 10, 7, 8, 3)},
        {"event_id": "e2", "crawl_id": "crawl-1", "source_id": "d_jtj-cf", "dept_id": "d_jtj", "channel": "site",
         "kind": "cf", "problem": "unreachable", "url": "http://127.0.0.1:8765/d_jtj/cf/", "fetch_id": None,
         "detail": "连接超时", "observed_at": datetime(2026, 10, 7, 8, 4)},
    ])


@pytest.fixture()
def city(tmp_path, monkeypatch):
    """A fresh city per test (decisions and reveals accumulate in its workbench store)."""
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths, extra=_contract_rows)
    monkeypatch.setenv("SGS_DB", str(paths.db))
    monkeypatch.setenv("SGS_USERS", str(write_test_users(paths.root / "users.toml")))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    st.cache_data.clear()
    yield paths
    st.cache_data.clear()


# --- the store ------------------------------------------------------------------------------------

def test_decisions_keep_full_history(city: Paths) -> None:
    with pytest.raises(corrections.WorkbenchError, match="理由"):
        corrections.record_decision(city, "f1", "waive", "judge", "  ")
    with pytest.raises(corrections.WorkbenchError):
        corrections.record_decision(city, "f1", "delete", "judge")
    corrections.record_decision(city, "f1", "confirm", "judge")
    with pytest.raises(corrections.WorkbenchError, match="不能执行"):  # a confirmed finding is not confirmed twice
        corrections.record_decision(city, "f1", "confirm", "judge", status="confirmed")
    corrections.record_decision(city, "f1", "waive", "judge2", "系统迁移期间的历史数据", status="confirmed")
    corrections.record_decision(city, "f2", "confirm", "judge")
    assert corrections.latest(city).set_index("finding_id")["status"].to_dict() == {"f1": "waived", "f2": "confirmed"}
    hist = corrections.history(city, "f1")
    assert hist["action"].tolist() == ["confirm", "waive"]
    assert hist["username"].tolist() == ["judge", "judge2"]
    assert hist["reason"].tolist()[1] == "系统迁移期间的历史数据"
    assert all(datetime.fromisoformat(t) for t in hist["at"])
    corrections.record_decision(city, "f1", "reopen", "judge", status="waived")
    assert corrections.latest(city).set_index("finding_id")["status"]["f1"] == "open"
    assert corrections.version(city) == 4
    assert workbench.store_path(city).parent == city.root  # beside the working database, not in a snapshot


def test_assessor_decides_in_the_app(city: Paths) -> None:
    at = login(app(), "judge")
    at.switch_page(FINDINGS_PAGE)
    run(at)
    rows = table(at, "findings")
    assert len(rows) == 5 and set(rows["状态"]) == {"待处理"}
    at.selectbox(key="wb_dept").set_value("d_scj")  # a finding of the department that then reads its list
    run(at)
    first = at.selectbox(key="wb_finding").value
    at.radio(key="wb_action").set_value("waive")
    at.button[[b.label for b in at.button].index("提交")].click()
    run(at)
    assert any("理由" in e.value for e in at.error)  # a waiver needs a reason
    at.radio(key="wb_action").set_value("waive")
    at.text_input(key="wb_reason").input("该记录已于系统外更正")
    at.button[[b.label for b in at.button].index("提交")].click()
    run(at)
    assert at.selectbox(key="wb_finding").value == first
    assert table(at, "findings")["状态"].tolist().count("已豁免") == 1
    hist = table(at, "history")
    assert hist["处理人"].tolist() == ["judge 用户"] and hist["理由"].tolist() == ["该记录已于系统外更正"]
    at.selectbox(key="wb_status").set_value("waived")
    run(at)
    assert len(table(at, "findings")) == 1
    at.selectbox(key="wb_dept").set_value("all")
    # the department sees the decision in its own list
    dept = login(app(), "scj")
    dept.selectbox(key="status").set_value("waived")
    run(dept)
    assert table(dept, "remediation")["状态"].tolist() == ["已豁免"]


def test_leader_reads_findings_but_cannot_decide(city: Paths) -> None:
    at = login(app(), "boss")
    at.switch_page(FINDINGS_PAGE)
    run(at)
    # by department name (DuckDB's order: 市… before 潞…, though d_jtj sorts before d_scj), then 序号
    assert table(at, "findings")[["部门", "序号"]].values.tolist() == [
        ["市市场监督管理局", 1], ["市市场监督管理局", 2], ["市市场监督管理局", 3], ["市市场监督管理局", 4],
        ["潞州区交通运输局", 1]]
    assert "提交" not in [b.label for b in at.button]
    at.text_input(key="wb_search").input("潞交罚")
    run(at)
    assert table(at, "findings")["部门"].tolist() == ["潞州区交通运输局"]


# --- evidence ---------------------------------------------------------------------------------------

def test_hostile_page_is_shown_as_text_only() -> None:
    body = detail_page("长市监罚〔2026〕15号", "张某某", hostile=True)
    text = page_text(body, "text/html; charset=utf-8")
    assert "长市监罚〔2026〕15号" in text and "证件号码 | " + MASKED_ID in text
    for bad in (HOSTILE_TITLE, EVIL_HOST, "<", "document.", "color: red", RAW_ID, RAW_PHONE):
        assert bad not in text
    source = page_source(body, "text/html")
    assert "<script>" in source and RAW_ID not in source and RAW_PHONE not in source  # markup as text, masked


def test_page_text_reads_json_and_gb18030() -> None:
    assert "139****5678" in page_text('{"电话": "13912345678"}'.encode(), "application/json")
    gbk = "<html><body><p>行政处罚</p></body></html>".encode("gb18030")
    assert page_text(gbk, "text/html") == "行政处罚"


def test_finding_detail_marks_field_and_shows_archived_text(city: Paths) -> None:
    at = login(app(), "scj")
    at.selectbox(key="finding").set_value(ID_FINDING)  # the finding on CF_XDR_ZJHM
    run(at)
    record = table(at, "finding_record")
    marked = record[record["标记"] != ""]
    assert marked["字段"].tolist() == ["CF_XDR_ZJHM"] and marked["值"].tolist() == [MASKED_ID]
    archived = at.get_by_key("archived_text").code[0].value
    assert "长市监罚〔2026〕15号" in archived and "▶ 证件号码 | " + MASKED_ID in archived
    for bad in (HOSTILE_TITLE, EVIL_HOST, "<script", "onerror", RAW_ID, RAW_PHONE):
        assert bad not in archived
    assert not at.html  # nothing is ever passed to the page as HTML
    assert all(RAW_ID not in c.value and RAW_PHONE not in c.value for c in at.code)
    assert not [b for b in at.button if b.key == "reveal_button"]  # departments cannot reveal


def test_a_value_the_site_masked_has_no_original_to_reveal(city: Paths) -> None:
    """查看原值 is offered only where the archived page held the value unmasked; otherwise the page says so."""
    con = store.connect(city)
    try:
        con.execute("UPDATE cf_records SET CF_XDR_ZJHM = '140402********1234' WHERE CF_XDR_ZJHM = ?", [RAW_ID])
        store.publish(con, city)
    finally:
        con.close()
    st.cache_data.clear()
    at = login(app(), "judge")
    at.switch_page(DEPT_PAGE)
    run(at)
    at.selectbox(key="_dept_select").set_value("d_scj")
    run(at)
    at.selectbox(key="finding").set_value(ID_FINDING)
    run(at)
    assert not [b for b in at.button if b.key == "reveal_button"] or "CF_XDR_ZJHM" not in at.selectbox(
        key="reveal_field").options
    assert any("证件号码" in c.value and "网站公示时已脱敏" in c.value for c in at.caption)


def test_assessor_reveals_one_value_and_leader_reads_the_log(city: Paths) -> None:
    at = login(app(), "judge")
    at.switch_page(DEPT_PAGE)
    run(at)
    at.selectbox(key="_dept_select").set_value("d_scj")
    run(at)
    at.selectbox(key="finding").set_value(ID_FINDING)  # the finding on CF_XDR_ZJHM
    run(at)
    assert not any(RAW_ID in c.value for c in at.code)
    at.selectbox(key="reveal_field").set_value("CF_XDR_ZJHM")
    at.button(key="reveal_button").click()
    run(at)
    assert any(c.value == RAW_ID for c in at.code)
    run(at)  # the value is shown for that click only
    assert not any(c.value == RAW_ID for c in at.code)
    leader = login(app(), "boss")
    leader.switch_page("dashboard/views/access_log.py")
    run(leader)
    log = table(leader, "reveal_log")
    assert log[["查看人", "字段", "部门"]].values.tolist() == [["judge", "CF_XDR_ZJHM", "d_scj"]]


def test_excel_download_opens_and_is_masked(city: Paths) -> None:
    snap = shared.snapshot_name()
    df = findings.findings(snap, auth.Viewer("scj", "scj", "department", "d_scj"), "2026Q3", limit=None)
    data = _finding.excel(_finding.findings_table(df), "整改清单")
    sheet = openpyxl.load_workbook(BytesIO(data))["整改清单"]
    rows = list(sheet.values)
    assert rows[0][:6] == ("序号", "问题类型", "文书号/页面", "相对人名称", "期限", "状态") and len(rows) == 1 + 4
    flat = " ".join(str(v) for r in rows for v in r)
    assert MASKED_ID in flat and RAW_ID not in flat and RAW_PHONE not in flat
    at = login(app(), "scj")
    assert "Excel" in at.get("download_button")[0].proto.label


def test_person_names_masked_when_configured(city: Paths, monkeypatch) -> None:
    monkeypatch.setenv("SGS_USERS", str(write_test_users(city.root / "masked.toml", mask_person_names=True)))
    at = login(app(), "scj")
    names = table(at, "remediation")["相对人名称"].tolist()
    assert "张**" in names and "张某某" not in names
    assert "长治市惠民超市有限公司" in names  # organisations keep their names


# --- contract tables ---------------------------------------------------------------------------------

def test_deductions_explain_the_score(city: Paths) -> None:
    at = login(app(), "scj")
    rows = table(at, "deductions")
    expected = snapshot_frame(city, "SELECT sum(points) AS p FROM deductions WHERE period = '2026Q3' AND dept_id = 'd_scj'")
    assert rows["扣分"].sum() == pytest.approx(expected["p"][0]) == pytest.approx(100 - 75.0)
    assert rows["问题类型"].tolist() == ["身份证号码校验错误", "公示不及时"]
    labels = {m.label: m for m in at.metric}
    assert labels["总分"].value == "75.0" and labels["总分"].delta == "-15.0"  # prev_total from scoring
    other = login(app(), "jtj")
    assert any("暂无扣分明细" in i.value for i in other.info)


def test_sources_page_shows_runs_and_availability(city: Paths) -> None:
    at = login(app(), "boss")
    at.switch_page("dashboard/views/sources.py")
    run(at)
    status = table(at, "source_status").set_index("来源")
    assert status.loc["d_scj-cf", "状态"] == "部分失败" and status.loc["d_scj-cf", "错误数"] == 1
    assert status.loc["d_scj-cf", "可用性问题"] == 1
    assert len(table(at, "source_runs")) == 2
    assert set(table(at, "availability")["问题"]) == {"链接失效", "无法访问"}
    dept = login(app(), "scj")
    dept.switch_page("dashboard/views/sources.py")
    run(dept)
    assert table(dept, "availability")["问题"].tolist() == ["链接失效"]


def test_trend_by_month(city: Paths) -> None:
    import json

    at = login(app(), "boss")
    traces = json.loads(at.get_by_key("trend_chart").get("plotly_chart")[0].proto.spec)["data"]
    def values(v):  # plotly ships numbers as typed binary arrays
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist() if isinstance(v, dict) else list(v)

    lines = {t["name"]: (list(t["x"]), values(t["y"])) for t in traces}
    assert lines["全市"] == (["2026-07", "2026-08"], [70.0, 70.0])
    assert lines["潞州区"] == (["2026-07", "2026-08"], [60.0, 50.0])


def test_reads_and_decisions_work_while_the_pipeline_holds_the_database(city: Paths) -> None:
    """A crawl or scoring run holds the working database's write lock; the dashboard neither waits nor fails."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from core import store; from core.settings import resolve_paths; "
                               f"con = store.connect(resolve_paths({str(city.db)!r})); print('locked', flush=True); "
                               "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        at = login(app(), "judge")
        assert len(table(at, "dept_ranking")) == 4
        at.switch_page(FINDINGS_PAGE)
        run(at)
        at.radio(key="wb_action").set_value("confirm")
        at.button[[b.label for b in at.button].index("提交")].click()
        run(at)
        assert table(at, "findings")["状态"].tolist().count("已确认") == 1
    finally:
        holder.kill()
        holder.wait()


def test_sub_scores_state_their_scale_and_empty_fields_show_a_dash(city: Paths) -> None:
    """总览's rankings and 部门自查's figures say once, visibly, that sub-scores are 得分率 (the documents'
    convention); a record field the finding is about and that is empty reads —, never None."""
    from dashboard.views._common import SCALE_NOTE

    at = login(app(), "boss")
    assert [c.value for c in at.caption].count(SCALE_NOTE) == 2  # the department and the county ranking
    assert "得分率" in SCALE_NOTE and "满分 100" in SCALE_NOTE
    dept = login(app(), "scj")
    assert [c.value for c in dept.caption].count(SCALE_NOTE) == 1
    dept.selectbox(key="finding").set_value("fid-2026Q3-d_scj-2-completeness")  # 统一社会信用代码 missing
    run(dept)
    fields = table(dept, "finding_record").set_index("字段")
    assert fields.loc["CF_XDR_SHXYM", "值"] == "—" and fields.loc["CF_XDR_SHXYM", "标记"] != ""
    assert "None" not in fields.astype(str).to_string()

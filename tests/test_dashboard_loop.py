"""The dashboard side of the correction loop (issue 14), on the small dashboard city through AppTest: a department
answers its findings (several at once: 报告已整改, 提出异议 with an attachment checked by content), another
department can neither see nor act on them, the assessor works the 待审队列 (异议成立 / 异议不成立, the actions
offered being exactly what ``corrections.ACTIONS`` allows), both read the whole history, the counts and the
remediation deadline on 部门自查, and the stale-score banner that the real ``sgs score`` (重新计分) clears."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
import streamlit as st

from core import store
from core.settings import Paths, resolve_paths
from core.workdays import default_calendar
from dashboard import auth
from dashboard.queries import department, findings, shared
from dashboard_city import app, build_city, login, run, snapshot_frame, table, write_test_users
from metrics import corrections

DEPT_PAGE = "dashboard/views/department.py"
FINDINGS_PAGE = "dashboard/views/findings.py"
SCJ = auth.Viewer("scj", "scj 用户", "department", "d_scj")
JTJ = auth.Viewer("jtj", "jtj 用户", "department", "d_jtj")
JUDGE = auth.Viewer("judge", "judge 用户", "assessor")
# dashboard_city's findings of 市市场监督管理局 in 2026Q3
F_ID, F_LATE, F_MISSING, F_CLASS = ("fid-2026Q3-d_scj-1-accuracy", "fid-2026Q3-d_scj-1-timeliness",
                                    "fid-2026Q3-d_scj-2-completeness", "fid-2026Q3-d_scj-3-accuracy")
F_JTJ = "fid-2026Q3-d_jtj-4-completeness"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _use(paths: Paths, monkeypatch) -> Paths:
    monkeypatch.setenv("SGS_DB", str(paths.db))
    monkeypatch.setenv("SGS_USERS", str(write_test_users(paths.root / "users.toml")))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    st.cache_data.clear()
    return paths


@pytest.fixture()
def city(tmp_path, monkeypatch):
    """A fresh dashboard city per test (steps accumulate in its correction store)."""
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths)
    yield _use(paths, monkeypatch)
    st.cache_data.clear()


def _statuses(at) -> dict[str, str]:
    rows = table(at, "remediation")
    return dict(zip(rows["问题编号"], rows["状态"]))


def _progress(at) -> dict[str, str]:
    return {m.label: m.value for m in at.get_by_key("progress").metric}


def _submit(at, key: str) -> None:
    at.button(key=f"{key}_submit").click()
    run(at)


# --- a department answers ------------------------------------------------------------------------------

def test_department_reports_two_fixed_and_objects_to_one_with_a_pdf(city: Paths) -> None:
    at = login(app(), "scj")
    assert _progress(at) == {"待处理": "4", "已报整改": "0", "异议待审": "0", "逾期未整改": "0", "已豁免": "0",
                             "已整改": "0"}
    assert any("尚未印发" in c.value for c in at.caption)  # no deadline before the period is issued
    assert set(at.multiselect(key="answer_pick").options) == {"1. 长市监罚〔2026〕15号 · timeliness_rule · 待处理",
                                                              "2. 长市监罚〔2026〕16号 · completeness_rule · 待处理",
                                                              "3. 长市监罚〔2026〕15号 · accuracy_rule · 待处理",
                                                              "4. 长市监许〔2026〕301号 · accuracy_rule · 待处理"}
    # a note is required
    at.multiselect(key="answer_pick").set_value([F_ID, F_LATE])
    run(at)
    assert at.radio(key="answer_action").options == ["报告已整改", "提出异议"]
    at.radio(key="answer_action").set_value("report_fixed")
    run(at)
    _submit(at, "answer")
    assert [e.value for e in at.error] == ["“报告已整改”必须填写整改说明。"]
    assert set(_statuses(at).values()) == {"待处理"}  # nothing recorded
    # two at once, with the corrected page's URL
    at.multiselect(key="answer_pick").set_value([F_ID, F_LATE])
    at.radio(key="answer_action").set_value("report_fixed")
    run(at)
    at.text_area(key="answer_reason").input("已在网站更正证件号码并补充公示日期")
    at.text_input(key="answer_url").input("https://scj.example.gov.cn/cf/15.html")
    _submit(at, "answer")
    assert [s.value for s in at.success] == ["已记录“报告已整改”：2 项问题。"]
    assert _statuses(at) == {F_ID: "已报整改（待复核）", F_LATE: "已报整改（待复核）", F_MISSING: "待处理",
                             F_CLASS: "待处理"}
    assert at.multiselect(key="answer_pick").value == []  # the form is emptied
    # an objection with a fake PDF is refused (type by content), then with a real one it is recorded
    at.multiselect(key="answer_pick").set_value([F_CLASS])
    run(at)
    at.radio(key="answer_action").set_value("object")
    run(at)
    at.text_area(key="answer_reason").input("“公司”是登记机关核定的类别")
    at.file_uploader[0].upload("营业执照.pdf", b"<html>not a pdf</html>", "application/pdf")
    _submit(at, "answer")
    assert [e.value for e in at.error] == ["附件 营业执照.pdf 不是 PDF、PNG 或 JPEG 文件（按文件内容判断），请转换后再上传。"]
    assert _statuses(at)[F_CLASS] == "待处理"
    at.file_uploader[0].set_value(("营业执照.pdf", PDF, "application/pdf"))
    _submit(at, "answer")
    assert [s.value for s in at.success] == ["已记录“提出异议”：1 项问题。"]
    assert _statuses(at)[F_CLASS] == "异议待审"
    assert _progress(at) == {"待处理": "1", "已报整改": "2", "异议待审": "1", "逾期未整改": "0", "已豁免": "0",
                             "已整改": "0"}
    assert list(at.multiselect(key="answer_pick").options) == ["2. 长市监罚〔2026〕16号 · completeness_rule · 待处理"]
    # the history of the objection: who (by name), what, why, the attachment as a download
    at.selectbox(key="finding").set_value(F_CLASS)
    run(at)
    hist = table(at, "history")
    assert hist[["处理人", "角色", "操作", "处理后状态", "理由", "附件"]].values.tolist() == [
        ["scj 用户", "部门", "提出异议", "异议待审", "“公司”是登记机关核定的类别", "营业执照.pdf"]]
    assert "None" not in hist.to_string() and hist["时间"][0].startswith(date.today().isoformat())
    assert [b.proto.label for b in at.get("download_button") if "attachment" in (b.key or "")] == ["下载附件"]
    steps = corrections.history(city, [F_ID, F_LATE, F_CLASS])
    assert steps[["finding_id", "action", "username", "role", "url"]].fillna("").values.tolist() == [
        [F_ID, "report_fixed", "scj", "department", "https://scj.example.gov.cn/cf/15.html"],
        [F_LATE, "report_fixed", "scj", "department", "https://scj.example.gov.cn/cf/15.html"],
        [F_CLASS, "object", "scj", "department", ""]]
    assert corrections.read_attachment(city, steps["attachment"].iloc[2]) == (PDF, "application/pdf")


def test_another_department_can_neither_see_nor_act(city: Paths) -> None:
    snap = shared.snapshot_name()
    findings.act(snap, SCJ, "2026Q3", [F_CLASS], "object", reason="类别正确")
    assert findings.targets(snap, JTJ, "2026Q3", [F_ID, F_CLASS]) == []
    with pytest.raises(corrections.WorkbenchError, match="不属于本部门"):
        findings.act(snap, JTJ, "2026Q3", [F_ID], "report_fixed", reason="已改")
    with pytest.raises(corrections.WorkbenchError, match="只能处理本部门的问题"):  # the store refuses too
        corrections.record(city, [corrections.Finding(F_ID, "2026Q3", "d_scj", "open")], "report_fixed",
                           username="jtj", role="department", scope="d_jtj", reason="已改")
    assert findings.findings(snap, JTJ, "2026Q3", status=findings.QUEUE_STATUSES).empty
    assert findings.findings(snap, SCJ, "2026Q3", status=findings.QUEUE_STATUSES)["finding_id"].tolist() == [F_CLASS]
    assert findings.answers(JTJ, [F_CLASS]).empty and findings.answers(SCJ, [F_CLASS]).index.tolist() == [F_CLASS]
    assert department.status_counts(snap, JTJ, "2026Q3", "d_scj") == {}  # a department id from a URL widens nothing
    assert department.status_counts(snap, JTJ, "2026Q3", None) == {"open": 1}
    with pytest.raises(corrections.WorkbenchError, match="不能执行"):  # a department cannot decide
        findings.act(snap, SCJ, "2026Q3", [F_CLASS], "accept_objection", reason="成立")
    at = login(app(), "jtj")
    assert list(at.multiselect(key="answer_pick").options) == ["1. 潞交罚〔2026〕3号 · completeness_rule · 待处理"]
    assert set(_statuses(at)) == {F_JTJ}


# --- the assessor's queue ------------------------------------------------------------------------------

def test_assessor_accepts_one_objection_and_rejects_another(city: Paths) -> None:
    snap = shared.snapshot_name()
    findings.act(snap, SCJ, "2026Q3", [F_ID], "object", reason="证件号码系当事人提供",
                 attachment=corrections.Attachment(PNG, "身份证复印件.png"))
    findings.act(snap, SCJ, "2026Q3", [F_CLASS], "object", reason="类别正确",
                 attachment=corrections.Attachment(PDF, "说明.pdf"))
    findings.act(snap, SCJ, "2026Q3", [F_MISSING], "report_fixed", reason="已补充信用代码",
                 url="https://scj.example.gov.cn/cf/16.html")
    at = login(app(), "judge")
    at.switch_page(FINDINGS_PAGE)
    run(at)
    queue = table(at, "queue")
    # drawn: what to decide on (fits 1440 px beside the sidebar); who, when, the page and the attachment one
    # click away, and in full for the answer picked below
    assert list(at.get_by_key("queue").dataframe[0].proto.column_order) == ["序号", "部门", "问题类型", "文书号",
                                                                           "状态", "部门说明"]
    assert queue[["文书号", "状态", "部门说明", "提交人", "整改后页面", "附件"]].values.tolist() == [
        ["长市监罚〔2026〕16号", "已报整改（待复核）", "已补充信用代码", "scj 用户", "https://scj.example.gov.cn/cf/16.html", ""],
        ["长市监罚〔2026〕15号", "异议待审", "证件号码系当事人提供", "scj 用户", "", "身份证复印件.png"],
        ["长市监许〔2026〕301号", "异议待审", "类别正确", "scj 用户", "", "说明.pdf"]]
    # the attachment: an image is shown as an image, a PDF offered as a download; never HTML
    at.selectbox(key="queue_view").set_value(F_ID)
    run(at)
    assert len(at.get_by_key("queue_answer").image) == 1
    at.selectbox(key="queue_view").set_value(F_CLASS)
    run(at)
    answer = at.get_by_key("queue_answer")
    assert not answer.image and [b.proto.label for b in answer.get("download_button")] == ["下载附件"]
    assert not at.html
    # exactly the actions ACTIONS allows, for one status and for several at once
    at.multiselect(key="queue_pick").set_value([F_ID, F_CLASS])
    run(at)
    assert at.radio(key="queue_action").options == ["豁免", "重新打开", "异议成立", "异议不成立"]
    at.radio(key="queue_action").set_value("accept_objection")
    run(at)
    at.multiselect(key="queue_pick").set_value([F_ID, F_MISSING])  # 异议成立 no longer applies: not kept
    run(at)
    assert at.radio(key="queue_action").options == ["豁免", "重新打开"]
    assert at.radio(key="queue_action").value == "waive"
    at.multiselect(key="queue_pick").set_value([F_MISSING])
    run(at)
    assert at.radio(key="queue_action").options == ["确认", "豁免", "重新打开"]
    # 异议成立 → waived; 异议不成立 → confirmed, the reason goes back to the department
    at.multiselect(key="queue_pick").set_value([F_ID])
    run(at)
    at.radio(key="queue_action").set_value("accept_objection")
    run(at)
    at.text_area(key="queue_reason").input("当事人提供的证件号码有误，非部门责任")
    _submit(at, "queue")
    at.multiselect(key="queue_pick").set_value([F_CLASS])
    run(at)
    at.radio(key="queue_action").set_value("reject_objection")
    run(at)
    _submit(at, "queue")
    assert [e.value for e in at.error] == ["“异议不成立”必须填写不予采纳的理由（将反馈给部门）。"]
    at.text_area(key="queue_reason").input("“公司”不是规定的相对人类别代码")
    _submit(at, "queue")
    assert [s.value for s in at.success] == ["已记录“异议不成立”：1 项问题。"]
    assert table(at, "queue")["文书号"].tolist() == ["长市监罚〔2026〕16号"]  # the rectification waits for the crawl
    assert corrections.latest(city).set_index("finding_id")["status"].to_dict() == {
        F_ID: "waived", F_CLASS: "confirmed", F_MISSING: "fixed"}
    # the department reads the answer in the finding's history
    dept = login(app(), "scj")
    dept.selectbox(key="finding").set_value(F_CLASS)
    run(dept)
    hist = table(dept, "history")
    assert hist[["处理人", "角色", "操作", "处理后状态", "理由"]].values.tolist() == [
        ["scj 用户", "部门", "提出异议", "异议待审", "类别正确"],
        ["judge 用户", "评估人员", "异议不成立", "已确认", "“公司”不是规定的相对人类别代码"]]
    assert _statuses(dept)[F_CLASS] == "已确认" and _statuses(dept)[F_ID] == "已豁免"
    latest = table(dept, "remediation").set_index("问题编号")["最新处理"]
    assert latest[F_CLASS].endswith("异议不成立（judge 用户）：“公司”不是规定的相对人类别代码")
    # a rejected objection is open to the department's next answer; a waived finding is not
    offered = dept.multiselect(key="answer_pick").options
    assert "4. 长市监许〔2026〕301号 · accuracy_rule · 已确认" in offered
    assert not any(o.startswith("3. ") for o in offered)


def test_history_shows_verification_and_the_export_the_latest_step(city: Paths) -> None:
    from io import BytesIO

    import openpyxl

    from dashboard.views import _finding

    snap = shared.snapshot_name()
    findings.act(snap, SCJ, "2026Q3", [F_ID], "report_fixed", reason="已更正")
    corrections.record(city, findings.targets(snap, SCJ, "2026Q3", [F_ID]), "verify_failed", username="sgs",
                       role="system", reason="2026-12-03 复核：证件号码仍未更正", fetch_id="f-new", ref_fetch_id="f-old")
    at = login(app(), "scj")
    at.selectbox(key="finding").set_value(F_ID)
    run(at)
    hist = table(at, "history")
    assert hist[["处理人", "角色", "操作", "处理后状态"]].values.tolist() == [
        ["scj 用户", "部门", "报告已整改", "已报整改（待复核）"], ["sgs", "系统复核", "复核：未整改", "待处理"]]
    assert any(t.value.endswith("复核：未整改：2026-12-03 复核：证件号码仍未更正") for t in at.text)
    # the 整改清单 workbook carries each finding's status and latest step
    df = findings.findings(snap, SCJ, "2026Q3", limit=None, wb_version=corrections.version(city))
    sheet = openpyxl.load_workbook(BytesIO(_finding.excel(_finding.findings_table(df), "整改清单")))["整改清单"]
    rows = list(sheet.values)
    head = list(rows[0])
    by_id = {r[head.index("问题编号")]: r for r in rows[1:]}
    assert by_id[F_ID][head.index("状态")] == "待处理"
    assert by_id[F_ID][head.index("最新处理")].endswith("复核：未整改（sgs）：2026-12-03 复核：证件号码仍未更正")
    assert by_id[F_CLASS][head.index("最新处理")] in ("", None)


# --- the deadline and 逾期未整改 ----------------------------------------------------------------------

def _issued(deadline: date):
    def add(con) -> None:
        store.insert_rows(con, "issued_versions", [
            {"period": "2026Q3", "version": 1, "issued_on": deadline - timedelta(days=20),
             "issued_at": datetime.now(), "issued_by": "judge", "note": None, "deadline": deadline,
             "file": "issued/2026Q3/v1.duckdb", "decisions": 0}])
    return add


def test_overdue_counts_unresolved_findings_after_the_deadline(tmp_path, monkeypatch) -> None:
    paths = _use(resolve_paths(tmp_path / "sgs.duckdb"), monkeypatch)
    build_city(paths, extra=_issued(date.today() - timedelta(days=3)))
    findings.act(shared.snapshot_name(), SCJ, "2026Q3", [F_ID], "report_fixed", reason="已改")
    findings.act(shared.snapshot_name(), SCJ, "2026Q3", [F_CLASS], "object", reason="类别正确")
    at = login(app(), "scj")
    assert _progress(at) == {"待处理": "2", "已报整改": "1", "异议待审": "1", "逾期未整改": "2", "已豁免": "0",
                             "已整改": "0"}
    assert any(c.value == f"整改期限：{date.today() - timedelta(days=3):%Y-%m-%d}，已过期。" for c in at.caption)


def _weekends_only_next_year(folder, monkeypatch) -> None:
    """A schedule for next year (weekends off, no holidays), so that a deadline 20 days out can be counted in
    working days whatever today is: chinesecalendar knows years only up to the one it was released for."""
    year = date.today().year + 1
    folder.mkdir()
    (folder / f"{year}.toml").write_text(f'year = {year}\nsource = "测试：只有周末休息"\nholidays = []\nworkdays = []\n',
                                         encoding="utf-8")
    monkeypatch.setenv("SGS_CALENDARS", str(folder))  # the deployment's own schedules, as an office sets them


def test_deadline_shows_working_days_left(tmp_path, monkeypatch) -> None:
    paths = _use(resolve_paths(tmp_path / "sgs.duckdb"), monkeypatch)
    _weekends_only_next_year(tmp_path / "calendars", monkeypatch)
    until = date.today() + timedelta(days=20)
    build_city(paths, extra=_issued(until))
    at = login(app(), "scj")
    calendar = default_calendar()
    left = sum(calendar.is_workday(date.today() + timedelta(days=i)) for i in range(1, 21))
    assert 0 < left < 20
    assert any(c.value == f"整改期限：{until:%Y-%m-%d}，还剩 {left} 个工作日。" for c in at.caption)
    assert _progress(at)["逾期未整改"] == "0"


def test_deadline_in_a_year_without_schedule_counts_calendar_days(tmp_path, monkeypatch) -> None:
    """A deadline in a year whose holidays are not published yet: the days left are said in calendar days, and
    so (never a bare date, never a guess in working days)."""
    paths = _use(resolve_paths(tmp_path / "sgs.duckdb"), monkeypatch)
    until = date.today() + timedelta(days=800)  # two years out: no calendar knows that year's holidays yet
    build_city(paths, extra=_issued(until))
    at = login(app(), "scj")
    assert any(c.value == f"整改期限：{until:%Y-%m-%d}，还剩 800 天（{until.year} 年节假日安排尚未载入，暂按自然日计）。"
               for c in at.caption), [c.value for c in at.caption]


def test_overdue_rule() -> None:
    today = date(2026, 12, 10)
    assert corrections.is_overdue("open", date(2026, 12, 9), today) and corrections.is_overdue("confirmed", date(2026, 12, 9), today)
    assert not corrections.is_overdue("open", date(2026, 12, 10), today)  # the deadline day itself is still in time
    assert not corrections.is_overdue("open", None, today)  # not issued: no deadline runs
    for answered in ("fixed", "objected", "waived", "closed"):
        assert not corrections.is_overdue(answered, date(2026, 12, 1), today)


# --- stale scores and 重新计分 ---------------------------------------------------------------------------

@pytest.fixture()
def scored_city(tmp_path, monkeypatch):
    """The dashboard city scored by the real ``sgs score`` (its findings then carry scoring's own ids)."""
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths)
    subprocess.run([sys.executable, "-m", "sgs.cli", "score", "--period", "2026Q3", "--db", str(paths.db)],
                   check=True, capture_output=True)
    yield _use(paths, monkeypatch)
    st.cache_data.clear()


def _id_number_points(paths: Paths) -> float:
    return float(snapshot_frame(paths, "SELECT points FROM deductions WHERE period = '2026Q3' AND dept_id = 'd_scj' "
                                       "AND rule_id = 'id_number_invalid'")["points"][0])


def test_stale_banner_until_the_rescore_applies_a_waiver(scored_city: Paths) -> None:
    paths = scored_city
    snap = shared.snapshot_name()
    ids = snapshot_frame(paths, "SELECT finding_id FROM findings WHERE period = '2026Q3' AND dept_id = 'd_scj' "
                                "AND rule_id = 'id_number_invalid' ORDER BY finding_id")["finding_id"].tolist()
    assert len(ids) == 2
    before = _id_number_points(paths)
    total_before = float(snapshot_frame(paths, "SELECT total FROM scores WHERE period = '2026Q3' AND dept_id = 'd_scj'")
                         ["total"][0])
    at = login(app(), "judge")
    assert not _has(at, "stale")
    findings.act(snap, JUDGE, "2026Q3", [ids[0]], "waive", reason="误报：证件号码为境外证件")
    findings.act(snap, SCJ, "2026Q3", [ids[1]], "report_fixed", reason="已改")  # changes no deduction
    assert shared.stale_decisions(snap, JUDGE, "2026Q3", corrections.version(paths)) == 1
    assert shared.stale_decisions(snap, JTJ, "2026Q3", corrections.version(paths)) == 0  # not its finding
    run(at)
    assert [w.value for w in at.get_by_key("stale").warning] == [
        "本期得分尚未反映 1 项最新处理决定（豁免或撤销豁免）。点击“重新计分”使其生效。"]
    dept = login(app(), "scj")  # the department sees the banner, without the button
    assert [w.value for w in dept.get_by_key("stale").warning] == [
        "本期得分尚未反映 1 项最新处理决定（豁免或撤销豁免）。评估人员重新计分后生效。"]
    assert not [b for b in dept.button if b.key == "rescore"]
    at.switch_page(FINDINGS_PAGE)
    run(at)
    assert _has(at, "stale")
    at.button(key="rescore").click()
    run(at)
    assert [s.value for s in at.success] == ["已重新计分：2026Q3 的得分、等级和排名已按最新处理决定更新。"]
    assert not _has(at, "stale")
    assert shared.snapshot_name() != snap  # a new snapshot was published
    assert _id_number_points(paths) == pytest.approx(before / 2, abs=0.01)
    # 部门自查 shows the new score: the waived finding's deduction is gone
    dept = login(app(), "scj")
    assert not _has(dept, "stale")
    rows = table(dept, "deductions").set_index("问题类型")
    assert rows.loc["身份证号码校验错误", "问题数"] == 1
    assert rows.loc["身份证号码校验错误", "扣分"] == pytest.approx(before / 2, abs=0.01)
    total = {m.label: m.value for m in dept.metric}["总分"]
    assert float(total) == pytest.approx(total_before + before / 2, abs=0.06)


def test_rescore_refused_while_the_database_is_busy(scored_city: Paths) -> None:
    paths = scored_city
    findings.act(shared.snapshot_name(), JUDGE, "2026Q3",
                 snapshot_frame(paths, "SELECT finding_id FROM findings WHERE period = '2026Q3' "
                                       "ORDER BY finding_id LIMIT 1")["finding_id"].tolist(), "waive", reason="误报")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from core import store; from core.settings import resolve_paths; "
                               f"con = store.connect(resolve_paths({str(paths.db)!r})); print('locked', flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        at = login(app(), "judge")
        at.button(key="rescore").click()
        run(at)
    finally:
        holder.kill()
        holder.wait()
    assert [e.value for e in at.error] == [
        f"重新计分未完成：数据库 {paths.db.resolve()} 正被另一个 sgs 进程写入（抓取或评分正在运行），请等其结束后再试。"]
    assert _has(at, "stale")  # nothing changed: the banner stays


def _has(at, key: str) -> bool:
    try:
        at.get_by_key(key)
    except KeyError:
        return False
    return True


# --- in a real browser: a department objects with an image, the assessor sees it as an image -------------

def test_objection_with_an_image_in_chromium(tmp_path) -> None:
    """``sgs serve`` driven by headless Chromium (as tests/test_browser.py does): the department picks a finding,
    objects with a PNG uploaded through the file input, and the assessor's queue shows it as an image (served by
    Streamlit's media endpoint, never as HTML)."""
    from playwright.sync_api import expect, sync_playwright

    from test_browser import CHROMIUM, _require_chromium, _serve, logged_in, pick_option

    _require_chromium()
    paths = resolve_paths(tmp_path / "city" / "sgs.duckdb")
    build_city(paths)
    png = tmp_path / "证明.png"
    png.write_bytes(PNG)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with _serve(paths, write_test_users(paths.root / "users.toml"), tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = logged_in(browser, base, "scj")
            expect(page.get_by_text("答复整改清单")).to_be_visible(timeout=30_000)
            pick_option(page, "选择问题（可多选）", "长市监许〔2026〕301号 · accuracy_rule · 待处理")
            page.keyboard.press("Escape")
            page.get_by_text("提出异议", exact=True).click()
            page.get_by_label("异议理由（必填）").fill("“公司”是登记机关核定的类别")
            page.locator("input[type=file]").set_input_files(str(png))
            expect(page.get_by_text("证明.png")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="提交：提出异议（1 项）").click()
            expect(page.get_by_text("已记录“提出异议”：1 项问题。")).to_be_visible(timeout=30_000)
            page.screenshot(path=shots / "1-department-objected.png", full_page=True)
            judge = logged_in(browser, base, "judge")
            expect(judge.get_by_role("heading", name="部门排名")).to_be_visible(timeout=30_000)  # the start page
            judge.get_by_role("link", name="问题清单").click()  # drawn: a click in its redirect would be lost
            expect(judge.get_by_text("待审队列").first).to_be_visible(timeout=30_000)
            image = judge.locator('[data-testid="stImage"] img')
            expect(image).to_have_count(1, timeout=30_000)
            assert "/media/" in (image.get_attribute("src") or "")
            judge.screenshot(path=shots / "2-assessor-queue.png", full_page=True)
        finally:
            browser.close()
    assert corrections.latest(paths).set_index("finding_id")["status"].to_dict() == {F_CLASS: "objected"}

"""Issued versions on the demo city (a copy of ``conftest.demo_run``'s database): issue version 1, waive a
finding through the correction store, rescore, issue version 2. Version 1's file and documents stay as they
were; version 2 shows the lower deduction, the change and its reason; every document states its version and
lists the waived finding apart; 逾期未整改 is counted from the first version's deadline; refusals."""
from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest
from docx import Document
from typer.testing import CliRunner

from conftest import QUARTERS
from core import store
from core.settings import Paths, resolve_paths
from metrics import corrections, results, versions
from metrics.explain import explain
from sgs.cli import app
from test_reports import docx_texts, sheet_texts

runner = CliRunner()
PERIOD = QUARTERS[-1]
DEPT = "sj-scjg"
V1_DAY, V2_DAY = date(2026, 10, 12), date(2026, 12, 7)
DUE = date(2026, 11, 2)  # 15 working days after V1_DAY; version 2 keeps it
REASON = "误报：该记录已在信用网站按时公示"
ASSESSOR = "评估员甲"


@dataclass
class Issued:
    paths: Paths
    finding: dict  # the waived finding (finding_id, dept_id, rule_id, wsh)
    v1_hash: str  # version 1's file right after it was issued
    out: dict[str, Path]  # v1 (right after issue), v1_again, v2, live: each folder of documents
    stale: object  # the CLI result of issuing before rescoring
    unchanged: object  # the CLI result of issuing version 1 twice


def _cli(*args: str):
    return runner.invoke(app, [*args])


def _report(paths: Paths, out: Path, *extra: str) -> Path:
    result = _cli("report", "--period", PERIOD, "--out", str(out), "--db", str(paths.db), *extra)
    assert result.exit_code == 0, result.stderr
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def issued(demo_run, tmp_path_factory) -> Issued:
    root = tmp_path_factory.mktemp("versions")
    shutil.copyfile(demo_run.paths.db, root / "sgs.duckdb")
    paths = resolve_paths(root / "sgs.duckdb")
    db = ("--db", str(paths.db))
    con = store.connect(paths)
    try:
        store.publish(con, paths)
    finally:
        con.close()
    out = {"draft": _report(paths, root / "draft", "--date", V1_DAY.isoformat())}  # before the first issue
    first = _cli("issue", "--period", PERIOD, "--date", V1_DAY.isoformat(), "--by", ASSESSOR, *db)
    assert first.exit_code == 0, first.stderr
    unchanged = _cli("issue", "--period", PERIOD, *db)
    out["v1"] = _report(paths, root / "v1", "--version", "1")
    v1_hash = _sha(versions.version_file(paths, PERIOD, 1))
    con = store.open_snapshot(paths)
    try:
        fid, dept, rule, kind, key = con.execute(
            "SELECT finding_id, dept_id, rule_id, kind, record_key FROM findings WHERE period = ? AND dept_id = ? "
            "AND record_key IS NOT NULL ORDER BY finding_id LIMIT 1", [PERIOD, DEPT]).fetchall()[0]
        wsh = con.execute(f"SELECT {kind.upper()}_WSH FROM {kind}_records WHERE record_key = ?", [key]).fetchall()[0][0]
    finally:
        con.close()
    corrections.record(paths, [corrections.Finding(fid, PERIOD, dept, "open")], "waive", username=ASSESSOR,
                       role="assessor", reason=REASON)
    stale = _cli("issue", "--period", PERIOD, *db)
    assert _cli("score", "--period", PERIOD, *db).exit_code == 0
    second = _cli("issue", "--period", PERIOD, "--date", V2_DAY.isoformat(), "--by", ASSESSOR, "--note", "采纳豁免", *db)
    assert second.exit_code == 0, second.stderr
    out["v2"] = _report(paths, root / "v2", "--version", "2")
    out["v1_again"] = _report(paths, root / "v1-again", "--version", "1")
    out["live"] = _report(paths, root / "live", "--date", V2_DAY.isoformat())
    return Issued(paths, {"finding_id": fid, "dept_id": dept, "rule_id": rule, "wsh": wsh}, v1_hash, out, stale,
                  unchanged)


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]


def _text(path: Path) -> str:
    return "\n".join(docx_texts(path))


# --- version 1 stays as issued -------------------------------------------------------------------------

def test_version_rows_and_deadline(issued) -> None:
    con = store.open_snapshot(issued.paths)
    try:
        rows = versions.issued(con, PERIOD)
        assert [(r["version"], r["issued_on"], r["deadline"], r["issued_by"]) for r in rows] == [
            (1, V1_DAY, DUE, ASSESSOR), (2, V2_DAY, DUE, ASSESSOR)]
        assert rows[1]["note"] == "采纳豁免" and rows[0]["note"] is None
        assert versions.deadline(con, PERIOD) == DUE
    finally:
        con.close()


def test_version_one_file_and_documents_are_unchanged(issued) -> None:
    assert _sha(versions.version_file(issued.paths, PERIOD, 1)) == issued.v1_hash
    before, after = issued.out["v1"], issued.out["v1_again"]
    assert sorted(p.name for p in before.iterdir()) == sorted(p.name for p in after.iterdir())
    for f in before.iterdir():
        reader = docx_texts if f.suffix == ".docx" else sheet_texts
        assert reader(f) == reader(after / f.name), f.name


def test_version_one_is_what_was_scored_when_it_was_issued(issued) -> None:
    """The frozen file gives the documents the live results gave that day, word for word, but the version
    line (so the previous period's figures, the evidence and the cut-off travelled with it)."""
    line = "版本 1（2026-10-12 签发）"
    v1, draft = issued.out["v1"], issued.out["draft"]
    assert sorted(p.name.replace("-版本1", "") for p in v1.iterdir()) == sorted(p.name for p in draft.iterdir())
    for f in v1.iterdir():
        twin = draft / f.name.replace("-版本1", "")
        if f.suffix == ".docx":
            texts = docx_texts(f)
            assert texts.count(line) == 1 and [t for t in texts if t != line] == docx_texts(twin), f.name
        else:
            texts = sheet_texts(f)
            assert [t for t in texts if t not in ("版本", line)] == sheet_texts(twin)


def test_version_one_still_deducts_the_finding(issued) -> None:
    con = versions.open_version(issued.paths, PERIOD, 1)
    try:
        e = explain(con, PERIOD, DEPT)
    finally:
        con.close()
    listed = {f["finding_id"] for d in e["deductions"] for f in d["findings"]}
    assert issued.finding["finding_id"] in listed and e["waived"] == [] and e["balanced"]


# --- version 2: the lower deduction, the change and its reason -----------------------------------------------

def _explained(paths: Paths, n: int) -> dict:
    con = versions.open_version(paths, PERIOD, n)
    try:
        return explain(con, PERIOD, DEPT)
    finally:
        con.close()


def test_version_two_deducts_less_and_lists_the_waiver_apart(issued) -> None:
    v1, v2 = _explained(issued.paths, 1), _explained(issued.paths, 2)
    assert v2["points"] < v1["points"] and v2["total"] > v1["total"] and v2["balanced"]
    listed = {f["finding_id"] for d in v2["deductions"] for f in d["findings"]}
    assert issued.finding["finding_id"] not in listed
    [waived] = v2["waived"]
    assert (waived["finding_id"], waived["reason"], waived["decided_by"], waived["wsh"]) == (
        issued.finding["finding_id"], REASON, ASSESSOR, issued.finding["wsh"])
    n1 = sum(len(d["findings"]) for d in v1["deductions"])
    assert sum(len(d["findings"]) for d in v2["deductions"]) == n1 - 1


def test_changes_name_the_department_and_the_finding_with_its_reason(issued) -> None:
    rows = versions.changes(issued.paths, PERIOD, 2)
    found = rows[rows["what"] == "问题"]
    assert found[["finding_id", "before", "after", "decided_by"]].values.tolist() == [
        [issued.finding["finding_id"], "待处理", "已豁免", ASSESSOR]]
    assert found["reason"].iloc[0] == f"豁免：{REASON}"
    scored = rows[rows["what"] == "得分"]
    assert DEPT in set(scored["dept_id"])
    moved = scored[scored["reason"].str.contains("问题的处理结果变化")]
    assert moved["dept_id"].tolist() == [DEPT]  # only its total changed; others at most moved in rank
    assert versions.changes(issued.paths, PERIOD, 1).empty


def test_results_count_waived_apart(issued) -> None:
    con1, con2 = (versions.open_version(issued.paths, PERIOD, n) for n in (1, 2))
    try:
        p1, p2 = results.problem_counts(con1, PERIOD), results.problem_counts(con2, PERIOD)
        assert int(p2["n_findings"].sum()) == int(p1["n_findings"].sum()) - 1
        assert results.headline(con2, PERIOD)["n_waived"] == 1 and results.headline(con1, PERIOD)["n_waived"] == 0
        assert results.waived_total(con2, PERIOD) == 1 and results.waived_total(con2, PERIOD, "nobody") == 0
    finally:
        con1.close()
        con2.close()


# --- what the documents say ----------------------------------------------------------------------------------

def test_notices_state_their_version_and_the_waiver(issued) -> None:
    v1 = _text(_one(issued.out["v1"], f"*整改通知书-{DEPT}-*.docx"))
    notice2 = _one(issued.out["v2"], f"*整改通知书-{DEPT}-*.docx")
    v2 = _text(notice2)
    assert "版本 1（2026-10-12 签发）" in v1 and "版本 2" not in v1
    assert "已豁免" not in v1 and "版本变更说明" not in v1
    assert "版本 2（2026-12-07 签发）" in v2 and "版本变更说明" in v2 and f"豁免：{REASON}" in v2
    assert "于2026年11月02日前（整改期限自版本1签发之日起计算" in v2
    doc = Document(str(notice2))
    waived = next(t for t in doc.tables if t.rows[0].cells[4].text == "豁免理由")
    assert [[c.text for c in r.cells][2:6:2] + [r.cells[5].text] for r in waived.rows[1:]] == [
        [issued.finding["wsh"], REASON, ASSESSOR]]
    other = _text(_one(issued.out["v2"], "*整改通知书-dc-cg-*.docx"))
    assert "版本 2（2026-12-07 签发）" in other and "没有变化" in other and "已豁免" not in other


def test_report_states_version_changes_and_the_waiver(issued) -> None:
    v1 = _text(_one(issued.out["v1"], "*评估报告.docx"))
    v2 = _text(_one(issued.out["v2"], "*评估报告.docx"))
    assert "版本 1（2026-10-12 签发）" in v1 and "版本变更说明" not in v1 and "已豁免" not in v1
    assert "版本 2（2026-12-07 签发）" in v2 and "版本变更说明" in v2 and "签发说明：采纳豁免" in v2
    assert "另有1个问题经认定已豁免" in v2 and f"理由：{REASON}；决定人：{ASSESSOR}" in v2


def test_workbooks_state_their_version_and_list_the_waiver(issued) -> None:
    v1 = openpyxl.load_workbook(_one(issued.out["v1"], "*工作簿.xlsx"))
    v2 = openpyxl.load_workbook(_one(issued.out["v2"], "*工作簿.xlsx"))
    about1, about2 = (dict(b["说明"].iter_rows(min_row=2, values_only=True)) for b in (v1, v2))
    assert about1["版本"] == "版本 1（2026-10-12 签发）" and about2["版本"] == "版本 2（2026-12-07 签发）"
    assert (about1["已豁免问题数"], about2["已豁免问题数"]) == (0, 1)
    assert "版本变更说明" not in v1.sheetnames and "版本变更说明" in v2.sheetnames
    assert v1["已豁免"].max_row == 1
    header = [c.value for c in v2["已豁免"][1]]
    rows = [dict(zip(header, r)) for r in v2["已豁免"].iter_rows(min_row=2, values_only=True)]
    assert [(r["问题编号"], r["文书号"], r["豁免理由"], r["决定人"]) for r in rows] == [
        (issued.finding["finding_id"], issued.finding["wsh"], REASON, ASSESSOR)]
    listed = {r[14] for r in v2["问题清单"].iter_rows(min_row=2, values_only=True)}
    assert issued.finding["finding_id"] not in listed


def test_live_documents_of_an_issued_period_say_they_are_a_draft(issued) -> None:
    text = _text(_one(issued.out["live"], "*评估报告.docx"))
    assert "修订稿，未签发" in text and "版本 2（2026-12-07 签发）" in text
    assert not any(p.name.startswith(f"{PERIOD}-版本") for p in issued.out["live"].iterdir())


def test_dashboard_downloads_take_a_version(issued, monkeypatch, fresh_caches) -> None:
    from dashboard.auth import Viewer
    from dashboard.queries import documents, shared

    monkeypatch.setenv("SGS_DB", str(issued.paths.db))
    leader = Viewer("leader", "领导", "leader")
    snap = shared.snapshot_name()
    assert [v["version"] for v in documents.issued_versions(snap, leader, PERIOD)] == [1, 2]
    for n in (1, 2):
        doc = Document(io.BytesIO(documents.report_document(snap, leader, PERIOD, "report", "2026-12-08", n)))
        assert any(p.text.startswith(f"版本 {n}（") for p in doc.paragraphs)
    mine = documents.notice_document(snap, Viewer("d", "科员", "department", DEPT), PERIOD, DEPT, "2026-12-08", 1)
    assert mine is not None and "版本 1（2026-10-12 签发）" in "\n".join(
        p.text for p in Document(io.BytesIO(mine)).paragraphs)
    assert documents.notice_document(snap, Viewer("d", "科员", "department", "dc-cg"), PERIOD, DEPT, "2026-12-08", 2) is None
    # the pages offer the versions: the latest issued one by default, the live results as 修订稿
    from dashboard.auth import write_users
    from dashboard_city import app, login, run

    users = issued.paths.root / "version-users.toml"
    write_users(users, [{"username": "boss", "name": "领导", "role": "leader", "dept_id": None, "password": "boss-pw"}])
    monkeypatch.setenv("SGS_USERS", str(users))
    at = login(app(), "boss", "boss-pw")
    at.sidebar.selectbox[0].set_value(PERIOD)
    run(at)
    choice = at.selectbox(key="documents_version")
    assert choice.value == 2 and choice.options == ["最新评分结果（修订稿，未签发）", "版本 1（2026-10-12 签发）",
                                                    f"版本 2（{choice.options[2][5:15]} 签发）"]


# --- refusals ------------------------------------------------------------------------------------------------

def test_refusals(issued, tmp_path) -> None:
    db = ("--db", str(issued.paths.db))
    assert issued.unchanged.exit_code == 2 and "没有变化" in issued.unchanged.stderr
    assert issued.stale.exit_code == 2 and "请先运行 sgs score" in issued.stale.stderr
    unscored = _cli("issue", "--period", "2025Q1", *db)
    assert unscored.exit_code == 2 and "还没有评分" in unscored.stderr
    unknown = _cli("report", "--period", PERIOD, "--version", "9", "--out", str(tmp_path / "o"), *db)
    assert unknown.exit_code == 2 and "没有版本 9" in unknown.stderr and "已签发的版本为 1、2" in unknown.stderr
    dated = _cli("report", "--period", PERIOD, "--version", "1", "--date", "2026-12-01", "--out", str(tmp_path / "o"), *db)
    assert dated.exit_code == 2 and "--date" in dated.stderr
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in (issued.paths.root / "issued" / PERIOD).iterdir()) == ["v1.duckdb", "v2.duckdb"]


def test_a_snapshot_before_schema_7_reads_as_never_issued(issued, tmp_path) -> None:
    old = resolve_paths(tmp_path / "sgs.duckdb")
    shutil.copyfile(store.current_snapshot(issued.paths), old.db)
    con = duckdb.connect(str(old.db))
    try:
        con.execute("DROP TABLE issued_versions")
        con.execute("DELETE FROM schema_version WHERE version >= 7")
    finally:
        con.close()
    con = duckdb.connect(str(old.db), read_only=True)
    try:
        assert versions.issued(con, PERIOD) == [] and versions.deadline(con, PERIOD) is None
        assert versions.overdue(con, old, PERIOD, date(2030, 1, 1)) == {}
        from reports.build import report_bytes

        text = "\n".join(p.text for p in Document(io.BytesIO(report_bytes(con, PERIOD, V2_DAY))).paragraphs)
        assert "版本" not in text.split("一、总体情况")[0]
    finally:
        con.close()


# --- 逾期未整改 (last: it records a department's step) ------------------------------------------------------------

def test_overdue_counts_from_the_first_deadline_and_follows_current_status(issued) -> None:
    con = store.open_snapshot(issued.paths)
    try:
        open_now = dict(con.execute("SELECT dept_id, count(*) FROM findings WHERE period = ? "
                                    "AND status IN ('open', 'confirmed') GROUP BY dept_id", [PERIOD]).fetchall())
        assert versions.overdue(con, issued.paths, PERIOD, DUE) == {}  # on the deadline day: not yet overdue
        late = versions.overdue(con, issued.paths, PERIOD, DUE + timedelta(days=1))
        assert late == open_now and late[DEPT] > 1
        assert versions.overdue(con, issued.paths, QUARTERS[0], date(2030, 1, 1)) == {}  # never issued
        fid = con.execute("SELECT finding_id FROM findings WHERE period = ? AND dept_id = ? AND status = 'open' "
                          "ORDER BY finding_id LIMIT 1", [PERIOD, DEPT]).fetchall()[0][0]
    finally:
        con.close()
    corrections.record(issued.paths, [corrections.Finding(fid, PERIOD, DEPT, "open")], "report_fixed",
                       username="科员", role="department", reason="已更正页面", scope=DEPT)
    con = store.open_snapshot(issued.paths)
    try:
        after = versions.overdue(con, issued.paths, PERIOD, DUE + timedelta(days=1))
    finally:
        con.close()
    assert after == {**late, DEPT: late[DEPT] - 1}
    notice = _text(_one(issued.out["v2"], f"*整改通知书-{DEPT}-*.docx"))
    assert f"截至2026年12月07日，你单位有{late[DEPT]}个问题已过整改期限（2026年11月02日）仍未报告整改或提出异议" in notice
    report = _text(_one(issued.out["v2"], "*评估报告.docx"))
    assert f"{len(late)}个部门共有{sum(late.values())}个问题已过整改期限" in report
    assert "逾期未整改" not in _text(_one(issued.out["v1"], f"*整改通知书-{DEPT}-*.docx"))

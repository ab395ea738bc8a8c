"""The correction loop's store (metrics.corrections) and how scoring applies it: who may take which step from
which status, attachments checked by content, several findings at once all or none, an older store migrated,
and a waived finding that deducts nothing after rescoring while a fixed one still does."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from contextlib import closing

import pytest

from core.settings import Paths
from metrics import corrections
from metrics.corrections import Attachment, Finding, WorkbenchError
from metrics.scoring import score_period
from tests.test_checks import AS_OF, PERIOD
from tests.test_scoring import EXPECTED, assert_balanced, city  # noqa: F401  (the hand-computed city)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _finding(fid: str = "f1", dept: str = "d1", status: str = "open") -> Finding:
    return Finding(fid, "2026Q3", dept, status)


def test_roles_and_statuses_decide_each_step(tmp_path) -> None:
    paths = Paths(tmp_path / "sgs.duckdb")
    with pytest.raises(WorkbenchError, match="当前角色不能执行"):
        corrections.record(paths, [_finding()], "waive", username="clerk", role="department", reason="x", scope="d1")
    with pytest.raises(WorkbenchError, match="只能处理本部门"):
        corrections.record(paths, [_finding(dept="d2")], "report_fixed", username="clerk", role="department",
                           reason="已更正", scope="d1")
    with pytest.raises(WorkbenchError, match="整改说明"):
        corrections.record(paths, [_finding()], "report_fixed", username="clerk", role="department", scope="d1")
    with pytest.raises(WorkbenchError, match="异议待审.*不能执行"):  # an objection waits for the assessor
        corrections.record(paths, [_finding(status="objected")], "report_fixed", username="clerk",
                           role="department", reason="已更正", scope="d1")
    with pytest.raises(WorkbenchError, match="http"):
        corrections.record(paths, [_finding()], "report_fixed", username="clerk", role="department",
                           reason="已更正", scope="d1", url="javascript:alert(1)")
    assert corrections.version(paths) == 0  # nothing refused was written
    n = corrections.record(paths, [_finding("f1"), _finding("f2")], "report_fixed", username="clerk",
                           role="department", reason="已在网站更正", scope="d1", url="https://example.gov.cn/a")
    assert n == 2
    current = corrections.latest(paths).set_index("finding_id")
    assert current["status"].to_dict() == {"f1": "fixed", "f2": "fixed"}
    corrections.record(paths, [_finding("f1", status="fixed")], "verified", username="sgs 复核", role="system",
                       reason="2026-12-03 复核：该记录已于网站更正", fetch_id="new", ref_fetch_id="old")
    hist = corrections.history(paths, "f1")
    assert hist["action"].tolist() == ["report_fixed", "verified"]
    assert hist["role"].tolist() == ["department", "system"]
    assert hist.iloc[1][["fetch_id", "ref_fetch_id"]].tolist() == ["new", "old"]
    assert corrections.latest(paths, "2026Q3").set_index("finding_id")["status"]["f1"] == "closed"
    assert corrections.latest(paths, "2026Q2").empty


def test_several_at_once_are_all_or_none(tmp_path) -> None:
    paths = Paths(tmp_path / "sgs.duckdb")
    with pytest.raises(WorkbenchError, match="已豁免"):
        corrections.record(paths, [_finding("f1"), _finding("f2", status="waived")], "object", username="clerk",
                           role="department", reason="非本部门决定", scope="d1")
    assert corrections.version(paths) == 0


def test_attachments_are_checked_by_content(tmp_path) -> None:
    paths = Paths(tmp_path / "sgs.duckdb")
    html = Attachment(b"<html><script>alert(1)</script></html>", "证明.pdf")
    with pytest.raises(WorkbenchError, match="证明.pdf 不是 PDF、PNG 或 JPEG"):
        corrections.record(paths, [_finding()], "object", username="clerk", role="department",
                           reason="非本部门决定", scope="d1", attachment=html)
    with pytest.raises(WorkbenchError, match="超过 10 MB"):
        corrections.check_attachment(PDF + b"0" * corrections.ATTACHMENT_MAX_BYTES, "大.pdf")
    assert not corrections.attachments_dir(paths).exists()
    corrections.record(paths, [_finding()], "object", username="clerk", role="department", reason="非本部门决定",
                       scope="d1", attachment=Attachment(PDF, "证明.png"))  # the name is not what decides
    stored = corrections.history(paths, "f1").iloc[0]
    assert stored["attachment"].endswith(".pdf") and stored["attachment_name"] == "证明.png"
    assert corrections.read_attachment(paths, stored["attachment"]) == (PDF, "application/pdf")
    with pytest.raises(WorkbenchError, match="附件编号无效"):
        corrections.read_attachment(paths, "../sgs.duckdb")


def test_a_store_written_before_the_loop_is_migrated(tmp_path) -> None:
    paths = Paths(tmp_path / "sgs.duckdb")
    with closing(sqlite3.connect(corrections.store_path(paths))) as con, con:
        con.execute("CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, finding_id TEXT NOT NULL, "
                    "action TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, username TEXT NOT NULL, at TEXT NOT NULL)")
        con.execute("INSERT INTO decisions (finding_id, action, status, reason, username, at) "
                    "VALUES ('old', 'waive', 'waived', '误报', 'judge', '2026-10-01T09:00:00')")
    assert corrections.latest(paths)["status"].tolist() == ["waived"]
    corrections.record_decision(paths, "old", "reopen", "judge", status="waived", period="2026Q3", dept_id="d1")
    assert corrections.history(paths, "old")["action"].tolist() == ["waive", "reopen"]


def _late_finding(con) -> tuple[str, str]:
    return con.execute("SELECT finding_id, rule_id FROM findings WHERE period = '2026Q3' AND dept_id = 'd1' "
                       "AND record_key = 'd1b' AND rule_id = 'late_publication'").fetchall()[0]


def test_a_waived_finding_deducts_nothing_after_rescoring(city) -> None:  # noqa: F811
    paths = Paths(Path(city.execute("SELECT path FROM duckdb_databases() "
                                                "WHERE database_name = current_database()").fetchall()[0][0]))
    score_period(city, PERIOD, as_of=AS_OF)
    finding_id, _ = _late_finding(city)
    corrections.record_decision(paths, finding_id, "waive", "judge", "该记录系系统迁移导入，发布日期不实",
                                period="2026Q3", dept_id="d1")
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, as_of=AS_OF)}
    # d1 lost 2/4 × 30 for late publication; with d1b waived: 1/4 × 30 = 7.50 → 100 − 13.00
    assert rows["d1"]["total"] == pytest.approx(87.0)
    assert rows["d1"]["timeliness"] == pytest.approx(75.0)
    assert {d: r["total"] for d, r in rows.items() if d != "d1"} == {d: e[5] for d, e in EXPECTED.items() if d != "d1"}
    status = city.execute("SELECT status FROM findings WHERE finding_id = ?", [finding_id]).fetchall()[0][0]
    assert status == "waived"  # still listed, shown apart
    assert_balanced(city)
    # a department's 已整改 report leaves the deduction: the problem existed in the period
    other = city.execute("SELECT finding_id FROM findings WHERE period = '2026Q3' AND record_key = 'd1c' "
                         "AND rule_id = 'late_publication'").fetchall()[0][0]
    corrections.record(paths, [Finding(other, "2026Q3", "d1", "open")], "report_fixed", username="clerk",
                       role="department", reason="已更正发布日期", scope="d1")
    assert {r["dept_id"]: r["total"] for r in score_period(city, PERIOD, as_of=AS_OF)}["d1"] == pytest.approx(87.0)
    # reopened: it deducts again
    corrections.record_decision(paths, finding_id, "reopen", "judge", status="waived", period="2026Q3", dept_id="d1")
    assert {r["dept_id"]: r["total"] for r in score_period(city, PERIOD, as_of=AS_OF)}["d1"] == pytest.approx(79.5)

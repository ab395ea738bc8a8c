"""The objection and credit-repair rules (长治（九）（十）) on a real DuckDB file and its real workbench store:
each with a passing, a failing and (where the evidence can leave it open) an unverifiable case, scored through
metrics.scoring.score_period exactly as production runs it."""
from __future__ import annotations

from contextlib import closing
from datetime import datetime
from pathlib import Path

from core.settings import SCHEMES_DIR, Paths
from metrics import objections, repairs
from test_checks import AS_OF, PERIOD, add, con, score, wsh  # noqa: F401
from test_rules_department import column

DEPTS = {"d1": "市生态环境局", "d2": "潞州区市场监督管理局"}
EARLY = datetime(2026, 9, 5, 10, 0)  # last seen before the outcome or take-down was due


def paths_of(con) -> Paths:
    return Paths(Path(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
                      .fetchall()[0][0]))


def objection(con, key: str, received: str, *, answered: str | None = None, outcome: str = "keep") -> str:
    """Store an objection to record ``key``'s 文书号 (d1, penalty) and, when given, the answer dated ``answered``."""
    paths = paths_of(con)
    item = objections.Objection("d1", "cf", wsh("cf", key), "长治市某某商贸有限公司", "error", received)
    objections.add(paths, [item], DEPTS, username="judge")
    oid = objections.Objection("d1", "cf", item.wsh, item.subject, "error", received).objection_id
    if answered:
        with closing(objections.open_store(paths)) as db, db:
            db.execute("INSERT INTO objection_answers (objection_id, answer, outcome, username, role, at) "
                       "VALUES (?, '经核实', ?, 'scj', 'department', ?)", (oid, outcome, f"{answered}T10:00:00"))
    return oid


def fetch(con, fetch_id: str, key: str, when: datetime, sha: str) -> None:
    con.execute("INSERT INTO fetches (fetch_id, crawl_id, url, fetched_at, status, sha256, warc_file, warc_offset) "
                "VALUES (?, 'c0', ?, ?, 200, ?, 'a.warc.gz', 0)", [fetch_id, f"http://127.0.0.1/{key}", when, sha])


def dept_rows(con, rule_id: str) -> set[tuple]:
    return {tuple(r) for r in con.execute("SELECT dept_id, value, fetch_id FROM findings WHERE rule_id = ? "
                                          "AND period = ?", [rule_id, PERIOD.label]).fetchall()}


def unverified(con, rule_id: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT reason FROM unverified WHERE rule_id = ? AND period = ? ORDER BY reason",
                                      [rule_id, PERIOD.label]).fetchall()]


def test_no_objections_no_repairs_nothing_fires(con):
    add(con, "cf", "1")
    score(con)
    for rule in ("objection_unanswered", "objection_outcome_not_applied", "repair_still_shown",
                 "repair_grant_invalid"):
        assert dept_rows(con, rule) == set() and unverified(con, rule) == []


def test_objection_unanswered(con):
    add(con, "cf", "1")
    late = objection(con, "1", "2026-09-01")                          # due 09-08, never answered
    slow = objection(con, "2", "2026-09-01", answered="2026-09-10")   # answered after 09-08
    objection(con, "3", "2026-09-01", answered="2026-09-08")          # answered on the deadline: passes
    objection(con, "4", "2026-09-29")                                 # due 10-12 (after National Day): not this period
    score(con)
    assert dept_rows(con, "objection_unanswered") == {("d1", late, None), ("d1", slow, None)}
    messages = dict(con.execute("SELECT value, message FROM findings WHERE rule_id = 'objection_unanswered'").fetchall())
    assert "应于2026-09-08前书面答复" in messages[late] and f"至{AS_OF}未答复" in messages[late]
    assert "于2026-09-10才答复（逾期）" in messages[slow]
    assert unverified(con, "objection_unanswered") == []


def test_objection_outcome_not_applied(con):
    column(con, "d1", "cf", crawl="walk", started=datetime(2026, 9, 20, 8, 0))
    add(con, "cf", "1")                                   # 撤下 answered 09-01 (due 09-10), still seen 09-29: fails
    add(con, "cf", "2")                                   # 修改, page unchanged after the due day: fails
    add(con, "cf", "3")                                   # 修改, page changed: passes
    add(con, "cf", "4")                                   # 修改, page not fetched again: unverified
    add(con, "cf", "5", seen=EARLY, portal=False, source_id="d1-cf")  # 撤下, gone from a complete walk: passes
    add(con, "cf", "6", seen=EARLY, portal=False)         # 撤下, gone but no complete walk since: unverified
    gone = objection(con, "1", "2026-08-20", answered="2026-09-01", outcome="withdraw")
    same = objection(con, "2", "2026-08-20", answered="2026-09-01", outcome="amend")
    objection(con, "3", "2026-08-20", answered="2026-09-01", outcome="amend")
    objection(con, "4", "2026-08-20", answered="2026-09-01", outcome="amend")
    objection(con, "5", "2026-08-20", answered="2026-09-01", outcome="withdraw")
    objection(con, "6", "2026-08-20", answered="2026-09-01", outcome="withdraw")
    for key, after in (("2", "same"), ("3", "new"), ("4", None)):
        fetch(con, f"b{key}", key, datetime(2026, 8, 25), "same")
        if after:
            fetch(con, f"a{key}", key, datetime(2026, 9, 25), after)
    fetch(con, "a1", "1", datetime(2026, 9, 29), "x")
    score(con)
    assert dept_rows(con, "objection_outcome_not_applied") == {("d1", gone, "a1"), ("d1", same, "a2")}
    reasons = unverified(con, "objection_outcome_not_applied")
    assert len(reasons) == 2
    assert any("此后尚未重新采集该页面" in r for r in reasons)
    assert any("此后尚无该栏目的完整采集" in r for r in reasons)


REPAIRS = """相对人名称,统一社会信用代码,文书号,修复日期
甲公司,C1,{w11},2026-09-01
乙公司,C2,{w12},2026-09-01
丙公司,C3,{w13},2026-09-01
"""


def test_repair_still_shown(con, tmp_path):
    column(con, "d1", "cf", crawl="walk", started=datetime(2026, 9, 20, 8, 0))
    add(con, "cf", "1")
    add(con, "cf", "11", CF_XDR_MC="甲公司", CF_XDR_SHXYM="C1")                               # still seen 09-29: fails
    add(con, "cf", "12", CF_XDR_MC="乙公司", seen=EARLY, portal=False, source_id="d1-cf")     # gone, walked: passes
    add(con, "cf", "13", CF_XDR_MC="丙公司", seen=EARLY, portal=False)                        # gone, no walk: unverified
    path = tmp_path / "repairs.csv"
    path.write_text(REPAIRS.format(w11=wsh("cf", "11"), w12=wsh("cf", "12"), w13=wsh("cf", "13")), encoding="utf-8")
    assert repairs.import_file(con, path) == (3, 3)
    score(con)
    assert dept_rows(con, "repair_still_shown") == {("d1", wsh("cf", "11"), "f-11")}
    message = con.execute("SELECT message FROM findings WHERE rule_id = 'repair_still_shown'").fetchall()[0][0]
    assert message == "信用修复于2026-09-01获准，应于2026-09-10前撤下，本部门网站于2026-09-29仍在公示"
    assert unverified(con, "repair_still_shown") == [
        f"信用修复于2026-09-01获准（应于2026-09-10前撤下），此后尚无该栏目的完整采集，无法核验{wsh('cf', '13')}是否已撤下"]


GRANTS = """相对人名称,统一社会信用代码,文书号,修复日期
甲公司,C1,{w21},2026-09-30
乙公司,C2,{w22},2026-08-01
丙公司,C3,{w23},2026-08-01
丁公司,C4,{w24},2025-12-01
丁公司,C4,{w25},2026-08-15
戊公司,C5,长环罚〔2026〕999号,2026-09-10
己公司,C6,{w26},2026-09-30
"""


def credit_office_scheme(tmp_path) -> Path:
    text = (SCHEMES_DIR / "2026.toml").read_text(encoding="utf-8").replace('credit_office = ""', 'credit_office = "d2"')
    path = tmp_path / "2026.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repair_grant_invalid(con, tmp_path):
    dated = {"CF_JDRQ": "2026-01-05", "FBRQ": "2026-01-08"}
    add(con, "cf", "21", CF_XDR_MC="甲公司", CF_XDR_SHXYM="C1")                           # 09-25 decision: too early
    add(con, "cf", "22", CF_XDR_MC="乙公司", CF_XDR_SHXYM="C2", **dated)                  # published 01-08: passes
    add(con, "cf", "23", CF_XDR_MC="丙公司", CF_XDR_SHXYM="C3", CF_CFLB="吊销许可证件", **dated)  # serious
    add(con, "cf", "24", CF_XDR_MC="丁公司", CF_XDR_SHXYM="C4", CF_JDRQ="2025-06-01", FBRQ="2025-06-03")
    add(con, "cf", "25", CF_XDR_MC="丁公司", CF_XDR_SHXYM="C4", dept="d2", CF_JDRQ="2026-03-02", FBRQ="2026-03-04")
    add(con, "cf", "26", CF_XDR_MC="己公司", CF_XDR_SHXYM="C6", CF_JDRQ="2026-01-05", FBRQ=None, portal=False)  # first seen only
    path = tmp_path / "grants.csv"
    path.write_text(GRANTS.format(**{f"w{k}": wsh("cf", str(k)) for k in range(21, 27)}), encoding="utf-8")
    repairs.import_file(con, path)
    score(con)  # the shipped scheme names no credit office: nothing scored, nothing left open
    assert dept_rows(con, "repair_grant_invalid") == set() and unverified(con, "repair_grant_invalid") == []
    score(con, scheme_path=credit_office_scheme(tmp_path))
    found = dict(con.execute("SELECT value, message FROM findings WHERE rule_id = 'repair_grant_invalid' "
                             "AND dept_id = 'd2'").fetchall())
    assert set(found) == {wsh("cf", "21"), wsh("cf", "23"), wsh("cf", "25")}
    assert "未满最短公示期3个月" in found[wsh("cf", "21")]
    assert "严重失信" in found[wsh("cf", "23")]
    assert "于2025-12-01信用修复后一年内（2026-03-02）再次受到行政处罚" in found[wsh("cf", "25")]
    reasons = unverified(con, "repair_grant_invalid")
    assert len(reasons) == 2
    assert any("未采集到文书号为长环罚〔2026〕999号" in r for r in reasons)
    assert any("页面未标明公示日期，首次采集于2026-09-29" in r for r in reasons)
    # the same check as the 信用异议 page lists it when no credit office is scored
    rows = repairs.credit_office_rows(con, 3, "DATE '2026-07-01'", "DATE '2026-09-30'")
    assert {r["wsh"] for r in rows if r["verdict"] == "invalid"} == set(found)

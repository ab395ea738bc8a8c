"""Department-level rules (findings without a record key): columns, catalogues, availability, ledgers, the
portal's forbidden records and 超期公示 across the 2017, 2019, 2023 and 2026 period rules."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from core import store
from metrics.checks._policy import load_policy
from core.periods import parse_period
from metrics.scoring import score_period
from test_checks import AS_OF, BASE, SEEN, add, con, score, wsh  # noqa: F401

NOW = datetime(2026, 11, 20, 9, 0)  # the crawl that judges 2026Q3 after the fact


def column(con, dept: str = "d1", kind: str = "cf", crawl: str = "c1", started: datetime = NOW,
           status: str = "ok") -> str:
    """A configured site column walked by crawl ``crawl`` (a source run of ``status``: ``ok`` is a complete
    walk) with one archived list page; returns that page's fetch_id."""
    con.execute("INSERT INTO crawls (crawl_id, started_at, status) SELECT ?, ?, 'done' "
                "WHERE NOT EXISTS (SELECT 1 FROM crawls WHERE crawl_id = ?)", [crawl, started, crawl])
    source = f"{dept}-{kind}"
    con.execute("INSERT INTO sources SELECT ?, ?, 'site', ?, ?, '{}' "
                "WHERE NOT EXISTS (SELECT 1 FROM sources WHERE source_id = ?)",
                [source, dept, kind, f"http://127.0.0.1/{dept}/{kind}/", source])
    fetch = f"list-{dept}-{kind}-{crawl}"
    con.execute("INSERT INTO fetches (fetch_id, crawl_id, source_id, url, fetched_at, status, warc_file, warc_offset, "
                "role) VALUES (?, ?, ?, ?, ?, 200, 'a.warc.gz', 0, 'list')",
                [fetch, crawl, source, f"http://127.0.0.1/{dept}/{kind}/", started])
    con.execute("INSERT INTO source_runs (crawl_id, source_id, started_at, finished_at, status) VALUES (?, ?, ?, ?, ?)",
                [crawl, source, started, started + timedelta(minutes=5), status])
    return fetch


def dept_findings(con, rule_id: str) -> set[tuple]:
    return {tuple(r) for r in con.execute(
        "SELECT dept_id, kind, field, value, fetch_id FROM findings WHERE rule_id = ? AND record_key IS NULL",
        [rule_id]).fetchall()}


def ledger_rows(con, dept: str, kind: str, rows: list[tuple]) -> None:
    """(wsh, jdrq, procedure, status, revoked_on) rows as one imported ledger."""
    lid = f"L-{dept}-{kind}"
    con.execute("INSERT INTO ledger_files VALUES (?, ?, ?, 'ledger.csv', 'x', ?, now())", [lid, dept, kind, len(rows)])
    for n, (w, jdrq, proc, status, revoked) in enumerate(rows, 1):
        con.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)",
                    [lid, n, dept, kind, w, jdrq, proc, status, revoked])


def test_catalogue_missing_and_column_not_set(con):
    fetch = column(con, "d1", "cf")
    column(con, "d2", "cf")
    con.execute("""INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) VALUES ('d2', 'c1', 'cf', '违反大气污染防治法', NULL),
                   ('d2', 'x1', 'xk', '食品经营许可', NULL), ('d1', 'x1', 'xk', '排污许可', NULL)""")
    add(con, "cf", "1")
    add(con, "cf", "2", dept="d2")
    score(con)
    # d1 has a penalty column but no penalty catalogue; d2 catalogues both kinds
    assert dept_findings(con, "catalogue_missing") == {("d1", "cf", "CATALOGUE", None, fetch)}
    # d1 has licensing powers (a catalogue item) and no licensing column; so has d2
    assert {(d, k) for d, k, *_ in dept_findings(con, "column_not_set")} == {("d1", "xk"), ("d2", "xk")}
    con.execute("INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) VALUES ('d1', 'c1', 'cf', '违反大气污染防治法', NULL)")
    add(con, "xk", "3")  # d1 now publishes licences too
    score(con)
    assert dept_findings(con, "catalogue_missing") == set()
    assert {(d, k) for d, k, *_ in dept_findings(con, "column_not_set")} == {("d2", "xk")}


@pytest.mark.parametrize("problem, rule_id", [("unreachable", "site_unreachable"), ("column_missing", "column_missing"),
                                              ("dead_link", "dead_link"), ("blocked", "site_blocked"),
                                              ("bad_attachment", "bad_attachment")])
def test_availability_problems(con, problem, rule_id):
    add(con, "cf", "1")
    column(con, "d1", "cf", "c-in-q2", datetime(2026, 6, 1))  # judges 2026Q2 only
    column(con, "d1", "cf", "c-after", NOW)  # first crawl after 2026Q3: judges it
    column(con, "d1", "cf", "c-later", datetime(2026, 12, 1))  # a later one does not
    for crawl, url in (("c-in-q2", "u-q2"), ("c-after", "u-q3"), ("c-after", "u-q3"), ("c-later", "u-late")):
        con.execute("INSERT INTO availability VALUES (uuid(), ?, 'd1-cf', 'd1', 'site', 'cf', ?, ?, ?, 'HTTP 404', now())",
                    [crawl, problem, url, f"fail-{url}"])
    con.execute("INSERT INTO availability VALUES (uuid(), 'c-after', 'd1-cf', 'd1', 'site', 'cf', 'runaway_paging', "
                "'u-other', NULL, '翻页不止', now())")
    score(con)
    assert dept_findings(con, rule_id) == {("d1", "cf", "URL", "u-q3", "fail-u-q3")}


def test_bad_attachment_passes_fails_and_claims_nothing_unjudged(con):
    """附件过大或损坏: a department whose judging crawl read every file passes (d2); one whose file was refused
    fails, the archived file as evidence (d1). Unverifiable — no crawl in or after the period, only one
    before it — claims nothing."""
    add(con, "cf", "1")
    add(con, "cf", "2", dept="d2")
    column(con, "d1", "cf", "c-after", NOW)
    column(con, "d2", "cf", "c-after", NOW)
    con.execute("INSERT INTO availability VALUES (uuid(), 'c-after', 'd1-cf', 'd1', 'site', 'cf', 'bad_attachment', "
                "'http://127.0.0.1/d1/cf/files/20260601.xlsx', 'file-1', 'XLSX 附件：工作表“附件”的数据区域…', now())")
    score(con)
    assert dept_findings(con, "bad_attachment") == {
        ("d1", "cf", "URL", "http://127.0.0.1/d1/cf/files/20260601.xlsx", "file-1")}
    message = con.execute("SELECT message FROM findings WHERE rule_id = 'bad_attachment'").fetchone()[0]
    assert message.startswith("附件过大或损坏：XLSX 附件：工作表“附件”")
    con.execute("DELETE FROM crawls WHERE crawl_id = 'c-after'")
    column(con, "d1", "cf", "c-before", datetime(2026, 6, 1))  # judges 2026Q2, not 2026Q3
    con.execute("INSERT INTO availability VALUES (uuid(), 'c-before', 'd1-cf', 'd1', 'site', 'cf', 'bad_attachment', "
                "'http://127.0.0.1/d1/cf/files/x.xlsx', 'file-2', 'XLSX 附件：无法读取', now())")
    score(con)
    assert dept_findings(con, "bad_attachment") == set()


def test_column_stale(con):
    """Q3 ends 09-30; 20 working days before it is 09-02 (no holidays in September 2026)."""
    fetch = column(con, "d1", "cf")
    column(con, "d2", "cf")
    add(con, "cf", "1", CF_JDRQ="2026-08-27", FBRQ="2026-09-01", portal=False)  # d1 last update 09-01
    add(con, "cf", "2", dept="d2", CF_JDRQ="2026-08-28", FBRQ="2026-09-02", portal=False)  # d2: 09-02
    ledger_rows(con, "d1", "cf", [("长环罚〔2026〕90号", "2026-09-10", None, "有效", None)])
    ledger_rows(con, "d2", "cf", [("长环罚〔2026〕91号", "2026-09-10", None, "有效", None)])
    score(con)
    assert dept_findings(con, "column_stale") == {("d1", "cf", "FBRQ", "2026-09-01", fetch)}
    message = con.execute("SELECT message FROM findings WHERE rule_id = 'column_stale'").fetchall()[0][0]
    assert "2026-09-01" in message and "20个工作日" in message


def unverified(con, rule_id: str) -> set[tuple]:
    return {tuple(r) for r in con.execute(
        "SELECT dept_id, kind, record_key, reason FROM unverified WHERE rule_id = ?", [rule_id]).fetchall()}


def test_column_stale_only_on_evidence(con):
    """Stale-looking columns the evidence cannot judge are 未能核验, not findings: d1's column was last walked
    completely before the quarter ended (the run after it was degraded); d2's shows a record first seen
    after the quarter that states no date and was never proven absent (it may have been published before)."""
    column(con, "d1", "cf", "c0", datetime(2026, 9, 20, 9, 0))
    column(con, "d1", "cf", "c1", NOW, status="degraded")
    column(con, "d2", "cf")
    add(con, "cf", "1", CF_JDRQ="2026-08-27", FBRQ="2026-09-01", portal=False)
    add(con, "cf", "2", dept="d2", CF_JDRQ="2026-08-28", FBRQ="2026-09-01", portal=False)
    store.upsert_records(con, "cf", [{**BASE["cf"], "CF_WSH": wsh("cf", "3"), "FBRQ": None, "record_key": "3",
                                      "dept_id": "d2", "source_id": "d2-cf", "channel": "site"}], NOW)
    for dept, n in (("d1", 90), ("d2", 91)):
        ledger_rows(con, dept, "cf", [(f"长环罚〔2026〕{n}号", "2026-09-10", None, "有效", None)])
    score(con)
    assert dept_findings(con, "column_stale") == set()
    reasons = {d: r for d, _, _, r in unverified(con, "column_stale")}
    assert set(reasons) == {"d1", "d2"}
    assert "没有该栏目的完整采集" in reasons["d1"] and "未标明发布日期的记录" in reasons["d2"]
    # the department-level rows are not records; record 3 itself (undated, first seen after its deadline, no
    # earlier complete crawl that missed it) is the one record whose timeliness is unverified
    assert {(d, k) for d, _, k, _ in unverified(con, "late_publication")} == {("d2", "3")}
    assert dict(con.execute("SELECT dept_id, n_unverified FROM scores").fetchall()) == {"d1": 0, "d2": 1}


def test_column_stale_needs_decisions(con):
    """An old last update is no finding when the department made no decision since (portal or ledger)."""
    column(con, "d1", "cf")
    add(con, "cf", "1", CF_JDRQ="2026-07-01", FBRQ="2026-07-02")  # its portal twin is dated 07-01 too
    score(con)
    assert dept_findings(con, "column_stale") == set()


def test_ledger_unpublished(con):
    fetch = column(con, "d1", "cf")
    add(con, "cf", "1")
    ledger_rows(con, "d1", "cf", [
        (wsh("cf", "1"), "2026-09-25", None, "有效", None),  # published
        ("长环罚〔2026〕77号", "2026-09-20", None, "有效", None),  # never published
        ("长环罚〔2026〕78号", "2026-09-21", None, "撤销", "2026-09-22"),  # revoked: not expected online
        ("长环罚〔2026〕79号", "2026-05-21", None, "有效", None),  # another period
    ])
    score(con)
    assert dept_findings(con, "ledger_unpublished") == {("d1", "cf", "CF_WSH", "长环罚〔2026〕77号", fetch)}


def test_revoked_online(con):
    add(con, "cf", "1", seen=NOW)  # seen 11-20, after the revocation
    add(con, "cf", "2", seen=NOW)
    ledger_rows(con, "d1", "cf", [(wsh("cf", "1"), "2026-09-25", None, "撤销", "2026-09-28"),
                                  (wsh("cf", "2"), "2026-09-25", None, "有效", None)])
    score(con)
    got = {(d, v, f) for d, _, _, v, f in dept_findings(con, "revoked_online")}
    assert got == {("d1", wsh("cf", "1"), "f-1")}
    add(con, "cf", "9", CF_JDRQ="2026-05-06", FBRQ="2026-05-07")  # something to assess in Q2
    score_period(con, parse_period("2026Q2"), as_of=AS_OF)  # revoked after Q2 ended
    assert con.execute("SELECT count(*) FROM findings WHERE rule_id = 'revoked_online' AND period = '2026Q2'"
                       ).fetchall()[0][0] == 0


def portal_penalty(con, key: str, **fields) -> None:
    record = {**BASE["cf"], "CF_WSH": wsh("cf", key), **fields}
    store.upsert_records(con, "cf", [{**record, "record_key": f"p-{key}", "channel": "portal", "dept_id": "d1",
                                      "url": f"http://127.0.0.1/portal/{key}", "fetch_id": f"pf-{key}"}], SEEN)


def test_portal_forbidden_and_portal_missing_exemption(con):
    person = {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_FRDB": None, "CF_XDR_ZJLX": "身份证",
              "CF_XDR_ZJHM": "140402********1234"}
    add(con, "cf", "1")  # company, on the portal: right
    add(con, "cf", "2", portal=False, **person)
    portal_penalty(con, "2", **person)  # a natural person on the portal
    add(con, "cf", "3", portal=False, CF_WSH="长环简罚〔2026〕3号")
    portal_penalty(con, "3", CF_WSH="长环简罚〔2026〕3号")  # 简易程序 by its 文书号
    add(con, "cf", "4", portal=False, CF_NR="当场处罚，罚款200元")  # 简易程序 by its content, kept off: right
    add(con, "cf", "5", portal=False)
    portal_penalty(con, "5")
    ledger_rows(con, "d1", "cf", [(wsh("cf", "5"), "2026-09-25", "简易程序", "有效", None)])  # 简易 by the ledger
    score(con)
    got = {v for _, _, _, v, _ in dept_findings(con, "portal_forbidden")}
    assert got == {wsh("cf", "2"), "长环简罚〔2026〕3号", wsh("cf", "5")}
    assert con.execute("SELECT count(*) FROM findings WHERE rule_id = 'portal_missing'").fetchall()[0][0] == 0


def test_unmasked_number_on_the_portal(con):
    add(con, "cf", "1", portal=False)
    portal_penalty(con, "1", CF_SY="当事人手机13812345678")
    score(con)
    assert dept_findings(con, "unmasked_personal") == {("d1", "cf", "CF_SY", "当事人手机138****5678", "pf-1")}


# --- 超期公示 across the dated period rules ---------------------------------------------------------

@pytest.mark.parametrize("jdrq, severity, months", [
    ("2018-03-01", "general", 12), ("2018-03-01", "serious", 36),  # 2017 rule
    ("2020-03-01", "general", 12), ("2020-03-01", "serious", 36),  # 2019 rule (max)
    ("2024-03-01", "general", 36), ("2024-03-01", "light", 36),  # 2023 rule: max 3 years for all
    ("2026-05-01", "light", 3), ("2026-05-01", "general", 12), ("2026-05-01", "serious", 36),  # 2026 rule
    ("2016-01-01", "general", 12),  # before every rule: the first
])
def test_period_rules_by_decision_date(jdrq, severity, months):
    assert load_policy().max_months(date.fromisoformat(jdrq), severity) == months


# (decision date, 处罚类别, 文书号, 公示截止期, overdue in 2026Q3?) — seen online on 2026-11-20
OVERDUE = [
    ("2023-04-30", "罚款", "长环罚〔2023〕1号", None, True),  # 2019 rule (the day before 2023's): 1 year
    ("2024-06-01", "罚款", "长环罚〔2024〕2号", "2025-06-01", True),  # its own 公示截止期 passed
    ("2019-06-30", "吊销许可证件", "长环罚〔2019〕3号", None, True),  # 2017 rule, serious: 3 years → 2022
    ("2026-04-10", "警告", "长环简罚〔2026〕4号", None, True),  # 2026 rule, 简易程序: 3 months → 07-10
    ("2026-04-10", "罚款", "长环罚〔2026〕5号", None, False),  # 2026 rule, general: 1 year
    ("2023-10-01", "罚款", "长环罚〔2023〕7号", None, False),  # 2023 rule: 3 years → 2026-10-01 (2019's: overdue)
    ("2026-07-15", "警告", "长环简罚〔2026〕6号", None, False),  # 3 months → 10-15: after Q3 ended
]


def test_overdue_publication(con):
    for i, (jdrq, cflb, number, until, _) in enumerate(OVERDUE):
        add(con, "cf", f"o{i}", CF_JDRQ=jdrq, FBRQ=jdrq, CF_CFLB=cflb, CF_WSH=number, CF_GSJZQ=until,
            CF_NR_FK=None if cflb != "罚款" else "2", portal=False, seen=NOW)
    score(con)
    got = {v for _, _, _, v, _ in dept_findings(con, "overdue_publication")}
    assert got == {number for _, _, number, _, overdue in OVERDUE if overdue}
    message = con.execute("SELECT message FROM findings WHERE rule_id = 'overdue_publication' AND value LIKE '%2019%'"
                          ).fetchall()[0][0]
    assert "严重" in message and "2022-06-30" in message
    score_period(con, parse_period("2026Q2"), as_of=AS_OF)  # the 简易 one ended 07-10: not yet in Q2
    q2 = {r[0] for r in con.execute("SELECT value FROM findings WHERE rule_id = 'overdue_publication' "
                                    "AND period = '2026Q2'").fetchall()}
    assert q2 == {"长环罚〔2023〕1号", "长环罚〔2024〕2号", "长环罚〔2019〕3号"}

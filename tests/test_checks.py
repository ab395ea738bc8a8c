"""Every rule on a passing and a failing record, in a real DuckDB file made by core.store.connect.

Records are built from a clean base (which must raise no finding at all) with a few fields overridden, and
scored through metrics.scoring.score_period, so each rule is exercised exactly as production runs it.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime

import pytest

from core import codes, store
from metrics.checks import all_checks, all_rules
from core.periods import parse_period
from metrics.checks import rules_catalogue
from metrics.scoring import score_period
from core.workdays import CalendarError
from core.settings import SCHEMES_DIR, Paths

PERIOD = parse_period("2026Q3")
AS_OF = date(2026, 11, 30)
SEEN = datetime(2026, 9, 29, 10, 0)
LATER = datetime(2026, 10, 20, 10, 0)


def make_uscc(head: str = "91140400", org8: str = "MA0K3L7Q") -> str:
    """A valid credit code: 8-character head, GB 11714 body with its check, then the GB 32100 check."""
    body = head + org8 + codes.org_check_char(org8)
    return body + codes.uscc_check_char(body)


def make_ric(first17: str = "14040219900307123") -> str:
    return first17 + codes.ric_check_char(first17)


BASE = {
    "cf": {
        "CF_XDR_MC": "长治市某某商贸有限公司", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": make_uscc(),
        "CF_FRDB": "王五", "CF_WFXW": "违反大气污染防治法", "CF_SY": "露天焚烧废弃物", "CF_YJ": "《大气污染防治法》第一百一十九条",
        "CF_CFLB": "罚款", "CF_NR": "罚款2万元", "CF_NR_FK": "2", "CF_JDRQ": "2026-09-25", "CF_YXQ": "2027-09-25",
        "CF_CFJG": "长治市生态环境局", "CF_CFJGDM": make_uscc("11140400", "0123456A"),
        "CF_SJLY": "长治市生态环境局", "CF_SJLYDM": make_uscc("11140400", "0123456A"), "FBRQ": "2026-09-28",
    },
    "xk": {
        "XK_XDR_MC": "长治市某某餐饮店", "XK_XDR_LB": "个体工商户", "XK_XDR_SHXYM": make_uscc("92140402", "L3NUQ8XY"),
        "XK_XKWS": "食品经营许可决定书", "XK_XKLB": "普通", "XK_NR": "准予食品经营许可", "XK_JDRQ": "2026-09-25",
        "XK_YXQZ": "2026-09-25", "XK_YXQZI": "2031-09-24", "XK_XKJG": "长治市市场监督管理局",
        "XK_XKJGDM": make_uscc("11140400", "MB1959X2"), "XK_ZT": "1", "XK_LYDW": "长治市市场监督管理局",
        "XK_LYDWDM": make_uscc("11140400", "MB1959X2"), "FBRQ": "2026-09-28",
    },
}


def wsh(kind: str, key: str) -> str:
    """A well-formed 文书号 for a test record key (a number derived from a non-numeric key)."""
    number = key if key.isdigit() else str(int(hashlib.md5(key.encode()).hexdigest()[:8], 16) % 1000000)
    return f"长环罚〔2026〕{number}号" if kind == "cf" else f"长市监许〔2026〕{number}号"


@pytest.fixture
def con(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("""INSERT INTO departments (dept_id, name, county) VALUES
                   ('d1', '市生态环境局', '市本级'), ('d2', '潞州区市场监督管理局', '潞州区')""")
    yield con
    con.close()


def add(con, kind: str, key: str, *, portal: bool = True, seen: datetime = SEEN, dept: str = "d1", **fields) -> None:
    """Store one site record (base + overrides; None clears a field) and, unless told, its portal twin."""
    record = {**BASE[kind], f"{kind.upper()}_WSH": wsh(kind, key), **fields}
    meta = {"dept_id": dept, "url": f"http://127.0.0.1/{key}", "fetch_id": f"f-{key}", "std_version": "2019"}
    store.upsert_records(con, kind, [{**record, **meta, "record_key": key, "channel": "site"}], seen)
    if portal:
        # pushed to the portal on the day of the decision: a site-side lateness is not also a portal one
        twin = {**record, **meta, "record_key": f"portal-{key}", "channel": "portal", "dept_id": None,
                "FBRQ": record.get(f"{kind.upper()}_JDRQ")}
        store.upsert_records(con, kind, [twin], seen)


def findings(con, rule_id: str | None = None) -> set[tuple]:
    rows = con.execute("SELECT record_key, rule_id, field, value FROM findings WHERE rule_id = coalesce(?, rule_id)",
                       [rule_id]).fetchall()
    return {tuple(r) for r in rows}


def score(con, **kw):
    return score_period(con, PERIOD, as_of=AS_OF, **kw)


def test_rules_are_discovered_with_their_contract_ids():
    ids = {r.id for r in all_rules()}
    assert ids == {"late_publication", "required_missing", "conditional_missing", "portal_missing",
                   "credit_code_invalid", "credit_code_placeholder", "id_number_invalid", "enum_invalid",
                   "date_order", "date_invalid",
                   # issue 4: the complete rule set
                   "portal_late", "column_stale", "catalogue_missing", "catalogue_unmatched", "column_not_set",
                   "ledger_unpublished", "site_unreachable", "column_missing", "dead_link", "site_blocked",
                   "bad_attachment",  # issue 12: a file over a reading limit or damaged
                   "fine_implausible", "wsh_format", "duplicate_record", "agency_code_mismatch",
                   "portal_inconsistent", "overdue_publication", "portal_forbidden", "unmasked_personal",
                   "revoked_online",
                   # issue 14: subjects' objections and credit repair (长治（九）（十）)
                   "objection_unanswered", "objection_outcome_not_applied", "repair_still_shown",
                   "repair_grant_invalid",
                   "manual_inspection"}  # issue 14: findings of 书面检查/实地核查 recorded by hand
    assert all(c.rule.name and c.rule.clause for c in all_checks())
    assert {r["id"]: r["indicator"] for r in rules_catalogue()}["portal_missing"] == "completeness"


@pytest.mark.parametrize("kind", ["cf", "xk"])
def test_clean_records_raise_no_finding(con, kind):
    add(con, kind, "1")
    rows = score(con)
    assert findings(con) == set()
    assert rows[0]["total"] == 100.0 and rows[0]["grade"] == "优秀"


# (rule, kind, passing overrides, failing overrides, expected field of the failing record)
CASES = [
    # the policy's example: decided Friday 2026-09-25 (中秋), the 7th working day is Monday 10-12
    ("late_publication", "cf", {"FBRQ": "2026-10-12", "seen": LATER}, {"FBRQ": "2026-10-13", "seen": LATER}, "FBRQ"),
    # across the Spring Festival 2026 (02-15..02-23 off, Saturdays 02-14 and 02-28 worked): 7th day is 03-02
    ("late_publication", "xk", {"XK_JDRQ": "2026-02-13", "FBRQ": "2026-03-02", "seen": LATER},
     {"XK_JDRQ": "2026-02-13", "FBRQ": "2026-03-03", "seen": LATER}, "FBRQ"),
    ("required_missing", "cf", {"CF_WFXW": "违法排污"}, {"CF_WFXW": None}, "CF_WFXW"),
    ("required_missing", "xk", {}, {"XK_XKWS": "   "}, "XK_XKWS"),
    ("conditional_missing", "cf", {"CF_XDR_LB": "个体工商户", "CF_FRDB": None}, {"CF_FRDB": None}, "CF_FRDB"),
    ("conditional_missing", "cf", {"CF_CFLB": "警告", "CF_NR_FK": None}, {"CF_CFLB": "警告; 罚款", "CF_NR_FK": None},
     "CF_NR_FK"),
    ("conditional_missing", "xk", {"XK_XDR_LB": "01", "XK_XDR_ZJLX": "身份证", "XK_XDR_ZJHM": make_ric()},
     {"XK_XDR_LB": "01", "XK_XDR_ZJLX": "身份证"}, "XK_XDR_ZJHM"),
    ("credit_code_invalid", "cf", {"CF_XDR_SHXYM": make_uscc("N2140400", "H1234567")},
     {"CF_XDR_SHXYM": make_uscc()[:17] + ("0" if make_uscc()[17] != "0" else "1")}, "CF_XDR_SHXYM"),
    ("credit_code_invalid", "xk", {"XK_XKJGDM": make_uscc("Y1140400", "MA0K3L7Q")}, {"XK_XKJGDM": "1114040001234"},
     "XK_XKJGDM"),
    ("credit_code_placeholder", "cf", {}, {"CF_XDR_SHXYM": codes.USCC_PLACEHOLDER}, "CF_XDR_SHXYM"),
    ("id_number_invalid", "cf",
     {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_FRDB": None, "CF_XDR_ZJLX": "身份证",
      "CF_XDR_ZJHM": "140402********1234"},
     {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_FRDB": None, "CF_XDR_ZJLX": "居民身份证",
      "CF_XDR_ZJHM": make_ric()[:17] + ("0" if make_ric()[17] != "0" else "1")}, "CF_XDR_ZJHM"),
    ("id_number_invalid", "xk",
     {"XK_XDR_LB": "自然人", "XK_XDR_SHXYM": None, "XK_XDR_ZJLX": "护照号", "XK_XDR_ZJHM": "E12345678"},
     {"XK_XDR_LB": "自然人", "XK_XDR_SHXYM": None, "XK_XDR_ZJHM": "140402199002301234"}, "XK_XDR_ZJHM"),
    ("enum_invalid", "cf", {"CF_CFLB": "警告;其他-责令改正", "CF_NR_FK": None}, {"CF_CFLB": "罚款;罚金"}, "CF_CFLB"),
    ("enum_invalid", "xk", {"XK_ZT": "有效", "XK_XDR_LB": "04"}, {"XK_ZT": "3"}, "XK_ZT"),
    ("enum_invalid", "xk", {"XK_XKLB": "其他-备案"}, {"XK_XKLB": "其他-"}, "XK_XKLB"),
    ("date_order", "xk", {"XK_YXQZ": "2026-09-25", "XK_YXQZI": "2026-09-25"}, {"XK_YXQZ": "2026-09-26",
     "XK_YXQZI": "2026-09-25"}, "XK_YXQZI"),
    ("date_order", "cf", {"FBRQ": "2026-09-25"}, {"FBRQ": "2026-09-24"}, "FBRQ"),
    # a decision after the as-of date: test_future_decision
    ("date_invalid", "cf", {"CF_YXQ": "2099-12-31"}, {"CF_YXQ": "2026-02-30"}, "CF_YXQ"),
    ("date_invalid", "xk", {}, {"FBRQ": "待定"}, "FBRQ"),
]


@pytest.mark.parametrize("rule_id, kind, passing, failing, field", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[4]}-{i}" for i, c in enumerate(CASES)])
def test_rule_passes_and_fails(con, rule_id, kind, passing, failing, field):
    add(con, kind, "pass", **passing)
    add(con, kind, "fail", **failing)
    decided = date.fromisoformat({**BASE[kind], **failing}[f"{kind.upper()}_JDRQ"])
    score_period(con, parse_period(f"{decided.year}Q{(decided.month + 2) // 3}"), as_of=AS_OF)
    got = {(k, f) for k, _, f, _ in findings(con, rule_id)}
    assert got == {("fail", field)}


def test_future_decision(con):
    add(con, "cf", "1", CF_JDRQ="2026-09-30", FBRQ=None, seen=datetime(2026, 10, 1))
    score_period(con, PERIOD, as_of=date(2026, 9, 29))
    assert {(k, f) for k, _, f, _ in findings(con, "date_order")} == {("1", "CF_JDRQ")}
    score_period(con, PERIOD, as_of=date(2026, 9, 30))
    assert findings(con, "date_order") == set()


def walk(con, source: str, crawl: str, started: datetime, status: str = "ok") -> str:
    """A crawl's walk of ``source`` (its source run; ``ok`` = every list page read) with its first list page
    archived; returns that page's fetch_id."""
    con.execute("INSERT INTO crawls (crawl_id, started_at, status) VALUES (?, ?, 'done')", [crawl, started])
    fetch = f"list-{source}-{crawl}"
    con.execute("INSERT INTO fetches (fetch_id, crawl_id, source_id, url, fetched_at, status, warc_file, warc_offset, "
                "role) VALUES (?, ?, ?, 'http://127.0.0.1/list', ?, 200, 'a.warc.gz', 0, 'list')",
                [fetch, crawl, source, started])
    con.execute("INSERT INTO source_runs (crawl_id, source_id, started_at, finished_at, status) VALUES (?, ?, ?, ?, ?)",
                [crawl, source, started, started.replace(minute=30), status])
    return fetch


def unverified(con, rule_id: str) -> dict[str, str]:
    return dict(con.execute("SELECT record_key, reason FROM unverified WHERE rule_id = ?", [rule_id]).fetchall())


def test_late_publication_only_on_evidence(con):
    """Decided 09-25, due 10-12. Undated records are judged by sightings only: first seen by the deadline is on
    time; a complete crawl of the column after the deadline that did not list it yet proves it late; anything
    else is 未能核验 — never late because sgs happened to see it late. A stated date after the record was
    first seen is not credible and counts as no date."""
    early = walk(con, "d1-cf", "c-1012", datetime(2026, 10, 12, 9, 0))  # on the deadline day: proves nothing
    missed = walk(con, "d1-cf", "c-1014", datetime(2026, 10, 14, 9, 0))  # after it: the record was not listed
    walk(con, "d1-cf", "c-1016", datetime(2026, 10, 16, 9, 0), status="degraded")  # incomplete: proves nothing
    add(con, "cf", "seen-in-time", FBRQ=None, seen=datetime(2026, 10, 12, 23, 0))
    add(con, "cf", "stated", FBRQ="2026-10-01", seen=datetime(2026, 10, 13, 8, 0))
    add(con, "cf", "incredible", FBRQ="2026-12-01", seen=datetime(2026, 10, 13, 8, 0), source_id="d1-cf")
    add(con, "cf", "absent", FBRQ=None, seen=datetime(2026, 10, 20, 8, 0), source_id="d1-cf")
    add(con, "cf", "unwalked", FBRQ=None, seen=datetime(2026, 10, 20, 8, 0), source_id="d1-other")
    score(con)
    late = con.execute("SELECT record_key, value, message, fetch_id, ref_fetch_id FROM findings "
                       "WHERE rule_id = 'late_publication'").fetchall()
    assert [(k, v, f, ref) for k, v, _, f, ref in late] == [("absent", "2026-10-20", "f-absent", missed)]
    message = late[0][2]
    assert "2026-10-12" in message and "2026-10-14 09:00 完整采集该栏目时尚未列出" in message and "逾期至少2天" in message
    reasons = unverified(con, "late_publication")
    assert set(reasons) == {"incredible", "unwalked"}
    assert "晚于首次采集日，不予采信" in reasons["incredible"] and "2026-10-12" in reasons["incredible"]
    assert "此前没有该栏目的完整采集" in reasons["unwalked"]
    assert early not in {r[4] for r in late}
    row = con.execute("SELECT n_unverified, standing FROM scores WHERE dept_id = 'd1'").fetchall()[0]
    assert row == (2, "ranked")  # 2 of 5 records: not above the scheme's share (0.5)


def test_too_much_unverified_is_insufficient_evidence(con):
    """More than [ranking] max_unverified_share of the assessed records unverifiable: 证据不足, not ranked."""
    add(con, "cf", "dated", FBRQ="2026-10-12", seen=datetime(2026, 10, 13, 8, 0))
    add(con, "cf", "u1", FBRQ=None, seen=datetime(2026, 10, 20, 8, 0))
    add(con, "cf", "u2", FBRQ=None, seen=datetime(2026, 10, 20, 8, 0))
    add(con, "cf", "clean", dept="d2")
    rows = {r["dept_id"]: r for r in score(con)}
    assert (rows["d1"]["standing"], rows["d1"]["n_unverified"], rows["d1"]["rank"], rows["d1"]["grade"]) == \
        ("insufficient_evidence", 2, None, None)
    assert (rows["d2"]["standing"], rows["d2"]["rank"]) == ("ranked", 1)
    assert findings(con, "late_publication") == set()
    assert con.execute("SELECT count(*) FROM deductions WHERE dept_id = 'd1'").fetchall()[0][0] == 0


def test_late_publication_skips_invalid_decision_date(con):
    """An unparseable decision date is a date_invalid finding; the record is assessed by its first-seen day."""
    add(con, "cf", "1", CF_JDRQ="2026-13-01", FBRQ="2026-12-30")
    score(con)
    assert {(r, f) for _, r, f, _ in findings(con)} == {("date_invalid", "CF_JDRQ")}


def test_portal_missing(con):
    add(con, "cf", "pushed", portal=False)
    store.upsert_records(con, "cf", [{"record_key": "p1", "channel": "portal", "CF_WSH": f" {wsh('cf', 'pushed')} "}],
                         SEEN)
    add(con, "cf", "never", portal=False)
    add(con, "xk", "never", portal=False)  # same key text, other kind: judged against xk portal records
    add(con, "cf", "nowsh", portal=False, CF_WSH=None)
    score(con)
    assert {(k, f) for k, _, f, _ in findings(con, "portal_missing")} == {("never", "CF_WSH"), ("never", "XK_WSH")}


@pytest.mark.parametrize("lb, flagged", [("自然人", False), ("01", False), ("法人及非法人组织", True)])
def test_penalties_on_natural_persons_stay_off_the_portal(con, lb, flagged):
    """长治（三）: natural persons' penalties are not published on the portal, so their absence is right."""
    add(con, "cf", "p", portal=False, CF_XDR_LB=lb, CF_XDR_ZJLX="身份证", CF_XDR_ZJHM="140402********1234",
        CF_XDR_SHXYM=None, CF_FRDB=None)
    score(con)
    assert bool(findings(con, "portal_missing")) is flagged


def test_placeholder_is_not_also_a_check_error(con):
    add(con, "cf", "1", CF_XDR_SHXYM=codes.USCC_PLACEHOLDER)
    score(con)
    assert {r for _, r, _, _ in findings(con)} == {"credit_code_placeholder"}


def test_finding_values_are_masked(con):
    bad_id = make_ric()[:17] + ("0" if make_ric()[17] != "0" else "1")
    add(con, "cf", "1", CF_XDR_LB="自然人 13812345678", CF_XDR_SHXYM=None, CF_XDR_ZJHM=bad_id)
    score(con)
    rows = con.execute("SELECT field, value, message FROM findings").fetchall()
    values = {f: (v, m) for f, v, m in rows}
    assert values["CF_XDR_ZJHM"][0] == bad_id[:6] + "********" + bad_id[-4:]
    assert values["CF_XDR_LB"][0] == "自然人 138****5678"
    assert all(bad_id not in (m or "") and "13812345678" not in (m or "") for _, _, m in rows)


def test_uncovered_year_raises_calendar_error(con):
    add(con, "cf", "1", CF_JDRQ="2035-03-01", FBRQ="2035-03-02", seen=datetime(2035, 3, 2))
    with pytest.raises(CalendarError, match="2035"):
        score_period(con, parse_period("2035Q1"), as_of=date(2035, 3, 31),
                     scheme_path=SCHEMES_DIR / "2026.toml")  # a 2035 scheme would be missing first


def test_every_rule_is_documented():
    """docs/rules.md lists every rule with its Chinese name, indicator and needs."""
    from core.settings import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "rules.md").read_text("utf-8")
    for r in all_rules():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{r.id}` |")), None)
        assert row and r.name in row and r.indicator in row and (", ".join(r.needs) or "—") in row, r.id
        assert f"### `{r.id}` — {r.name}" in doc


def test_folded_tests_find_what_each_rule_finds_alone(con):
    """The one scan a full scoring makes of the per-field rules (metrics.checks._fold) finds exactly the rows of
    their own SELECTs (``findings_sql``: what sgs validate runs), messages included."""
    from core import privacy
    from metrics.checks import Context
    from metrics.checks._fold import folded_sql
    from metrics.scoring import assessed_table, stage_assessed

    for i, (_, kind, _, failing, _) in enumerate(CASES):
        add(con, kind, f"c{i}", **failing)
    add(con, "cf", "phone", CF_NR="责令改正，联系电话13812345678")  # unmasked_personal's guarded tests
    codes.register_macros(con)
    privacy.register_macros(con)
    found = 0
    for period in {parse_period(f"{d.year}Q{(d.month + 2) // 3}") for d in (
            date.fromisoformat({**BASE[k], **f}[f"{k.upper()}_JDRQ"]) for _, k, _, f, _ in CASES)}:
        stage_assessed(con, period)
        for kind in ("cf", "xk"):
            ctx = Context(kind, assessed_table(kind), AS_OF, period=period)
            tests, alone = [], []
            for check in all_checks():
                if check.record_tests:
                    if check.prepare:
                        check.prepare(con, ctx)
                    tests += [(check.rule.id, t) for t in check.record_tests(ctx)]
                    if sql := check.findings_sql(ctx):
                        alone.append(f"SELECT '{check.rule.id}' AS rule_id, * FROM ({sql})")
            cols = "record_key, rule_id, field, value, message"
            one = sorted(con.execute(f"SELECT {cols} FROM ({folded_sql(ctx.source, tests)})").fetchall(), key=str)
            each = sorted(con.execute(f"SELECT {cols} FROM ({' UNION ALL '.join(alone)})").fetchall(), key=str)
            assert one == each
            found += len(one)
    assert found >= len(CASES)

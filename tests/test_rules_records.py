"""The record-level rules of issue 4, each on a passing and a failing record (scored as production runs it).

Uses test_checks' clean base records: a record differs from the base only by the fields a case overrides.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from core import store
from test_checks import BASE, LATER, SEEN, add, con, findings, make_ric, make_uscc, score, wsh  # noqa: F401

DEPT_CODE = BASE["cf"]["CF_CFJGDM"]


def portal(con, kind: str, key: str, seen: datetime = SEEN, **fields) -> None:
    """A portal record of the site record ``key`` (same 文书号), with overrides."""
    record = {**BASE[kind], f"{kind.upper()}_WSH": wsh(kind, key), **fields}
    store.upsert_records(con, kind, [{**record, "record_key": f"portal-{key}", "channel": "portal", "dept_id": "d1",
                                      "url": f"http://127.0.0.1/portal/{key}", "fetch_id": f"pf-{key}"}], seen)


# (rule, kind, passing overrides, failing overrides, expected field of the failing record)
CASES = [
    ("fine_implausible", "cf", {"CF_NR_FK": "0.05"}, {"CF_NR_FK": "20000"}, "CF_NR_FK"),
    ("fine_implausible", "cf", {"CF_CFLB": "警告", "CF_NR_FK": "0"}, {"CF_NR_FK": "0"}, "CF_NR_FK"),
    ("fine_implausible", "cf", {"CF_NR_FK": "1000"}, {"CF_NR_FK": "-2"}, "CF_NR_FK"),
    ("wsh_format", "cf", {"CF_WSH": "长环罚[2026]第16号"}, {"CF_WSH": "长环罚2026-16"}, "CF_WSH"),
    ("wsh_format", "cf", {"CF_WSH": "长环罚（2026）17号"}, {"CF_WSH": "长环罚〔2026〕"}, "CF_WSH"),
    ("wsh_format", "xk", {"XK_WSH": "LIC20260001", "XK_XKBH": "LIC20260001"}, {"XK_WSH": "LIC20260002"}, "XK_WSH"),
    ("agency_code_mismatch", "cf", {}, {"CF_CFJGDM": make_uscc("11140400", "77777777")}, "CF_CFJGDM"),
    ("unmasked_personal", "cf",
     {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_FRDB": None, "CF_XDR_ZJLX": "身份证",
      "CF_XDR_ZJHM": "140402********1234", "CF_SY": "联系电话0355-2021234"},
     {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_FRDB": None, "CF_XDR_ZJLX": "身份证",
      "CF_XDR_ZJHM": make_ric()}, "CF_XDR_ZJHM"),
    ("unmasked_personal", "xk", {}, {"XK_NR": "准予许可，联系人电话13812345678"}, "XK_NR"),
]


@pytest.mark.parametrize("rule_id, kind, passing, failing, field", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_rule_passes_and_fails(con, rule_id, kind, passing, failing, field):
    con.execute("UPDATE departments SET credit_code = ? WHERE dept_id = 'd1'", [DEPT_CODE])
    add(con, kind, "pass", **passing)
    add(con, kind, "fail", **failing)
    score(con)
    assert {(k, f) for k, _, f, _ in findings(con, rule_id)} == {("fail", field)}


def test_agency_code_left_alone_when_invalid_or_unknown(con):
    """An invalid code is credit_code_invalid's; a department without a code is not judged."""
    con.execute("UPDATE departments SET credit_code = ? WHERE dept_id = 'd1'", [DEPT_CODE])
    add(con, "cf", "7", CF_CFJGDM=DEPT_CODE[:17] + ("0" if DEPT_CODE[17] != "0" else "1"))
    add(con, "cf", "8", dept="d2", CF_CFJGDM=make_uscc("11140400", "77777777"))  # d2 has no code
    score(con)
    assert findings(con, "agency_code_mismatch") == set()
    assert {r for _, r, _, _ in findings(con)} == {"credit_code_invalid"}


def test_unmasked_values_are_stored_masked(con):
    number = make_ric()
    add(con, "cf", "1", CF_XDR_LB="自然人", CF_XDR_SHXYM=None, CF_FRDB=None, CF_XDR_ZJLX="身份证", CF_XDR_ZJHM=number,
        CF_SY="当事人手机13812345678")
    score(con)
    rows = con.execute("SELECT field, value, message FROM findings WHERE rule_id = 'unmasked_personal'").fetchall()
    assert {f for f, _, _ in rows} == {"CF_XDR_ZJHM", "CF_SY"}
    assert all(number not in v and "13812345678" not in v and number not in m for _, v, m in rows)


def test_portal_late_is_judged_on_the_portal_date(con):
    """Site on time (FBRQ 09-28) for both; the portal copy of one came on 10-13 (the 8th working day)."""
    add(con, "cf", "ontime", portal=False)
    add(con, "cf", "late", portal=False)
    add(con, "cf", "never", portal=False)  # not pushed: portal_missing's, not portal_late's
    portal(con, "cf", "ontime", seen=LATER, FBRQ="2026-10-12")
    portal(con, "cf", "late", seen=LATER, FBRQ="2026-10-13")
    score(con)
    assert {(k, v) for k, _, _, v in findings(con, "portal_late")} == {("late", "2026-10-13")}
    assert findings(con, "late_publication") == set()
    assert {k for k, *_ in findings(con, "portal_missing")} == {"never"}


def test_portal_late_on_an_undated_portal_only_on_evidence(con):
    """A portal channel that states no 公示日期 (decided 09-25, due 10-12): first seen there by the deadline is on
    time; not listed by a complete crawl of the portal channel on 10-14 and seen on 10-20 is late (observed
    absence, citing that crawl's list page); first seen on 10-20 with no complete crawl after the deadline
    before it (the portal's own first crawl, or only a crawl on the deadline day) is 未能核验."""
    from test_checks import unverified, walk

    walk(con, "portal-cf", "c-1012", datetime(2026, 10, 12, 9, 0))
    missed = walk(con, "portal-cf", "c-1014", datetime(2026, 10, 14, 9, 0))
    for key in ("ontime", "late", "unknown", "unknown2"):
        add(con, "cf", key, portal=False)
    portal(con, "cf", "ontime", seen=datetime(2026, 10, 12, 20, 0), FBRQ=None, source_id="portal-cf")
    portal(con, "cf", "late", seen=datetime(2026, 10, 20, 8, 0), FBRQ=None, source_id="portal-cf")
    portal(con, "cf", "unknown", seen=datetime(2026, 10, 20, 8, 0), FBRQ=None, source_id="portal-other")
    portal(con, "cf", "unknown2", seen=datetime(2026, 10, 13, 8, 0), FBRQ=None, source_id="portal-cf")
    score(con)
    rows = con.execute("SELECT record_key, value, ref_fetch_id, message FROM findings WHERE rule_id = 'portal_late'"
                       ).fetchall()
    assert [r[:3] for r in rows] == [("late", "2026-10-20", missed)]
    assert "信用网站未标明可采信的发布日期" in rows[0][3] and "逾期至少2天" in rows[0][3]
    reasons = unverified(con, "portal_late")
    assert set(reasons) == {"unknown", "unknown2"}
    assert "此前没有该栏目的完整采集" in reasons["unknown"]
    assert "此前最近一次完整采集（2026-10-12）未过期限" in reasons["unknown2"]
    assert findings(con, "late_publication") == set() and unverified(con, "late_publication") == {}


def test_portal_inconsistent_names_the_differing_fields(con):
    add(con, "cf", "same", portal=False)
    add(con, "cf", "changed", portal=False, CF_NR_FK="2.5", CF_YXQ="2028-09-25", CF_CFLB="罚款；警告")
    portal(con, "cf", "same", CF_NR_FK="2.0", CF_CFLB=" 罚款 ")  # the same numbers and items, written otherwise
    portal(con, "cf", "changed", CF_CFLB="罚款;警告", CF_CFJGDM=make_uscc("11140400", "77777777"))
    score(con)
    got = {(k, f) for k, _, f, _ in findings(con, "portal_inconsistent")}
    assert got == {("changed", "CF_NR_FK"), ("changed", "CF_YXQ")}
    message = con.execute("SELECT message FROM findings WHERE rule_id = 'portal_inconsistent' AND field = 'CF_NR_FK'"
                          ).fetchall()[0][0]
    assert "2.5" in message and "2" in message and "信用网站" in message


def test_portal_inconsistent_compares_the_subject_name(con):
    """Names differ only by width, spaces or punctuation: the same name. 有限公司 against 公司: a finding."""
    add(con, "cf", "spaced", portal=False, CF_XDR_MC="长治市（东方）某某 商贸有限公司")
    add(con, "cf", "renamed", portal=False)
    portal(con, "cf", "spaced", CF_XDR_MC="长治市(东方)某某商贸有限公司")
    portal(con, "cf", "renamed", CF_XDR_MC="长治市某某商贸公司")
    score(con)
    rows = con.execute("SELECT record_key, field, message FROM findings WHERE rule_id = 'portal_inconsistent'"
                       ).fetchall()
    assert [(k, f) for k, f, _ in rows] == [("renamed", "CF_XDR_MC")]
    assert "长治市某某商贸有限公司" in rows[0][2] and "长治市某某商贸公司" in rows[0][2]


def test_duplicates_share_a_wsh_on_one_site(con):
    add(con, "cf", "a")
    store.upsert_records(con, "cf", [{**BASE["cf"], "CF_WSH": wsh("cf", "a"), "CF_XDR_MC": "长治市某某商贸有限责任公司",
                                      "record_key": "a2", "channel": "site", "dept_id": "d1", "url": "u", "fetch_id": "f"}],
                         SEEN)
    add(con, "cf", "b")
    store.upsert_records(con, "cf", [{**BASE["cf"], "CF_WSH": wsh("cf", "b"), "record_key": "b-d2", "channel": "site",
                                      "dept_id": "d2", "url": "u", "fetch_id": "f"}], SEEN)  # other department
    score(con)
    assert {k for k, *_ in findings(con, "duplicate_record")} == {"a", "a2"}


def test_catalogue_unmatched(con):
    con.execute("""INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) VALUES ('d1', 'c1', 'cf', '违反大气污染防治法', NULL),
                   ('d1', 'x1', 'xk', '食品经营许可', NULL)""")
    add(con, "cf", "in")  # CF_WFXW names the item
    add(con, "cf", "by-sy", CF_WFXW=None, CF_SY="当事人违反大气污染防治法，露天焚烧")  # matched by 违法事实
    add(con, "cf", "out", CF_WFXW="未按规定设置排污口", CF_SY="私设排污口")
    add(con, "xk", "in")  # XK_XKWS 食品经营许可决定书
    add(con, "cf", "nocat", dept="d2", CF_WFXW="未按规定设置排污口")  # d2 published no catalogue
    score(con)
    assert {(k, f) for k, _, f, _ in findings(con, "catalogue_unmatched")} == {("out", "CF_WFXW")}


@pytest.mark.parametrize("rule_id", ["late_publication", "portal_late"])
def test_deadline_across_the_year_boundary(con, rule_id):
    """Decided Tuesday 2025-12-30: 12-31, then (New Year 01-01..03 off) Sunday 01-04 worked (调休), 01-05..01-09:
    the 7th working day is Friday 2026-01-09, on either channel."""
    from core.periods import parse_period
    from metrics.scoring import score_period
    from test_checks import AS_OF

    late = datetime(2026, 1, 20)
    for key, day in (("ontime", "2026-01-09"), ("late", "2026-01-12")):
        site_day = day if rule_id == "late_publication" else "2025-12-31"
        add(con, "cf", key, portal=False, CF_JDRQ="2025-12-30", FBRQ=site_day, seen=late)
        portal(con, "cf", key, seen=late, CF_JDRQ="2025-12-30", FBRQ=day if rule_id == "portal_late" else "2025-12-31")
    from core.settings import SCHEMES_DIR

    # the rule, not the scheme, is under test: score 2025Q4 with the 2026 scheme (a 2025 one would be needed)
    score_period(con, parse_period("2025Q4"), as_of=AS_OF, scheme_path=SCHEMES_DIR / "2026.toml")
    assert {(k, v) for k, _, _, v in findings(con, rule_id)} == {("late", "2026-01-12")}


def test_record_whose_detail_page_was_not_read_is_not_judged_incomplete(con):
    """A dead (or unreadable) detail page is the department's dead_link finding: the record kept from its list
    row is not also reported for the fields only that page held, nor as outside the catalogue."""
    con.execute("INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) VALUES ('d1', 'c1', 'cf', '违反大气污染防治法', NULL)")
    bare = {"CF_WFXW": None, "CF_SY": None, "CF_NR_FK": None}  # 罚款 stays in CF_CFLB: NR_FK is conditional
    add(con, "cf", "read", **bare)
    add(con, "cf", "dead", detail_status="dead", **bare)
    add(con, "cf", "unread", detail_status="unread", **bare)
    score(con)
    got = {(k, r) for k, r, _, _ in findings(con) if r in ("required_missing", "conditional_missing",
                                                          "catalogue_unmatched")}
    assert got == {("read", "required_missing"), ("read", "conditional_missing"), ("read", "catalogue_unmatched")}

"""The next crawl verifies (metrics.verify): on the demo city, served on 127.0.0.1 and crawled for real.

One department masks the ID number it showed in full (``democity.staged.fix_for``), another leaves its page as
it was, a third takes down a record that had to stay, a fourth takes down a penalty published past its period
(``take_down``); each reports its finding fixed. Before a new crawl nothing is decided (waiting); after it,
the masked one is closed with the new fetch beside the old, the unchanged one reopened with both snapshots,
the removed record reopened (removal is not a correction), the overdue one closed (removal is its fix).
The rescored findings are the first crawl's minus exactly the corrected ones, both ways.

The same season is the whole correction loop of issue 14: the quarter is issued (version 1) after the first
crawl; two other departments object to a finding each (with a PDF), the assessor accepts one objection and
rejects the other; after the second crawl, verification and rescoring the quarter is issued again. Version 1's
file is unchanged, version 2 deducts nothing for the accepted objection and says why, the rejected one still
deducts, and the notices list each finding where it belongs.
"""
from __future__ import annotations

from datetime import date

import pytest

from core import store
from core.cityconfig import load_city
from core.privacy import mask_text
from core.privacy import holds_personal
from core.settings import resolve_paths
from metrics import corrections, versions
from metrics.corrections import Attachment
from metrics.verify import SYSTEM_USER, comparison, verify

QUARTERS = ["2026Q2", "2026Q3"]
AS_OF = date(2026, 11, 25)
SHOWN = date(2026, 11, 16)  # the city as it stood: every record published
FIXED_ON = date(2026, 11, 20)
ISSUED_ON = date(2026, 11, 18)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _crawl_and_score(config, paths, before_scoring=None):
    from crawlers.crawl import run_crawl
    from sgs.scores import score_labels

    run_crawl(load_city(config), paths, quiet=True)
    con = store.connect(paths)
    if before_scoring is not None:
        before_scoring(con)
    try:
        score_labels(con, paths, QUARTERS, AS_OF)
    finally:
        con.close()


def _findings(paths) -> set[tuple]:
    con = store.connect(paths)
    try:
        return set(con.execute("SELECT period, dept_id, kind, coalesce(wsh, value), rule_id, field FROM findings "
                               "WHERE period IN ('2026Q2', '2026Q3')").fetchall())
    finally:
        con.close()


def _finding(paths, dept_id, rule_id, wsh=None, value=None, period=None) -> corrections.Finding:
    con = store.connect(paths)
    try:
        row = con.execute("""SELECT finding_id, period, dept_id FROM findings WHERE dept_id = $d AND rule_id = $r
                             AND coalesce(wsh, '') = coalesce($w, '') AND coalesce($v, value, '') = coalesce(value, '')
                             AND channel = 'site' AND period IN ('2026Q2', '2026Q3') AND period = coalesce($p, period)""",
                          {"d": dept_id, "r": rule_id, "w": wsh, "v": value, "p": period}).fetchall()
    finally:
        con.close()
    assert len(row) == 1, (dept_id, rule_id, wsh, value, row)
    return corrections.Finding(row[0][0], row[0][1], row[0][2], "open")


@pytest.fixture(scope="module")
def lifecycle(demo_server, tmp_path_factory):
    """The demo city crawled, four findings reported fixed, the sites changed, crawled and verified again."""
    from democity import DemoServer, write_city
    from democity.staged import fix_for, fixable_records, take_down

    city, _ = demo_server
    root = tmp_path_factory.mktemp("verify")
    paths = resolve_paths(root / "sgs.duckdb")
    fixed, unchanged = [r for r in fixable_records(city)][:2]
    removed = next(r for r in city.records if r.current and r.field_defect and r.dept_id not in
                   (fixed.dept_id, unchanged.dept_id) and r.field_defect.rule_id == "required_missing")
    old = next(r for r in city.records if r.dept_id == "sj-zj" and not r.current and r.kind == "cf")
    with DemoServer(city) as server:
        server.site.set_as_of(SHOWN)
        config = write_city(city, server.base_url, root)
        _crawl_and_score(config, paths)
        before = _findings(paths)
        _issue(paths, "第一次签发")
        version_1 = versions.version_file(paths, "2026Q3", 1).read_bytes()
        chosen = {
            "fixed": _finding(paths, fixed.dept_id, "unmasked_personal", fixed.wsh),
            "unchanged": _finding(paths, unchanged.dept_id, "unmasked_personal", unchanged.wsh),
            "removed": _finding(paths, removed.dept_id, "required_missing", removed.wsh),
            "overdue": _finding(paths, old.dept_id, "overdue_publication", value=old.wsh, period="2026Q3"),
            "dead_link": _finding(paths, "nh-jt", "dead_link", period="2026Q3"),  # the page is still gone
            "catalogue": _finding(paths, "dc-cg", "catalogue_missing", period="2026Q3"),  # still unpublished
        }
        for f in chosen.values():
            corrections.record(paths, [f], "report_fixed", username="clerk", role="department", scope=f.dept_id,
                               reason="已按要求整改")
        objected = _objections(paths, {f.finding_id for f in chosen.values()})
        con = store.connect(paths)
        try:
            waiting = verify(con, paths, as_of=AS_OF)  # no crawl since the reports: nothing is decided
        finally:
            con.close()
        server.site.set_fixes((fix_for(fixed, FIXED_ON), take_down(removed, FIXED_ON), take_down(old, FIXED_ON)))
        server.site.set_as_of(FIXED_ON)
        unscored: list = []
        _crawl_and_score(config, paths, lambda con: unscored.extend(verify(con, paths, as_of=AS_OF)))
        con = store.connect(paths)
        try:
            outcomes = {o.finding_id: o for o in unscored if o.action}  # decided before the rescoring
            outcomes.update({o.finding_id: o for o in verify(con, paths, as_of=AS_OF)})
            again = verify(con, paths, as_of=AS_OF)
            compared = {k: comparison(con, paths, f.finding_id) for k, f in chosen.items()}
            store.publish(con, paths)  # what the dashboard shows
        finally:
            con.close()
        after = _findings(paths)
        _crawl_and_score(config, paths)  # the verifications' steps are applied before issuing again
        _issue(paths, "采纳一项异议，复核整改")
    loop = {"version_1": version_1, "objected": objected}
    return paths, chosen, (waiting, unscored), outcomes, again, compared, before, after, (fixed, removed), loop


def _issue(paths, note: str) -> int:
    con = store.connect(paths)
    try:
        n = versions.issue(con, paths, "2026Q3", issued_on=ISSUED_ON, by="评估组", note=note)
        store.publish(con, paths)
    finally:
        con.close()
    return n


def _objections(paths, taken: set[str]) -> dict[str, corrections.Finding]:
    """Two departments object to a record-level finding each (with a PDF); the assessor accepts one and
    rejects the other, each with a reason."""
    con = store.connect(paths)
    try:
        rows = con.execute("""SELECT finding_id, period, dept_id FROM findings WHERE period = '2026Q3'
                              AND record_key IS NOT NULL AND channel = 'site' AND rule_id = 'late_publication'
                              ORDER BY dept_id, finding_id""").fetchall()
    finally:
        con.close()
    picked: dict[str, corrections.Finding] = {}
    for fid, period, dept in rows:
        if fid not in taken and dept not in {f.dept_id for f in picked.values()}:
            picked["accepted" if not picked else "rejected"] = corrections.Finding(fid, period, dept, "open")
        if len(picked) == 2:
            break
    for f in picked.values():
        corrections.record(paths, [f], "object", username="clerk", role="department", scope=f.dept_id,
                           reason="该决定书系补录，实际已按时公示，见附件截图。", attachment=Attachment(PDF, "公示截图.pdf"))
    objected = {k: corrections.Finding(f.finding_id, f.period, f.dept_id, "objected") for k, f in picked.items()}
    corrections.record(paths, [objected["accepted"]], "accept_objection", username="judge", role="assessor",
                       reason="附件显示该记录已按时公示。")
    corrections.record(paths, [objected["rejected"]], "reject_objection", username="judge", role="assessor",
                       reason="附件未显示公示日期。")
    return picked


def test_nothing_is_decided_without_a_newer_fetch(lifecycle):
    paths, chosen, (waiting, unscored), *_ = lifecycle
    assert {o.finding_id for o in waiting} == {f.finding_id for f in chosen.values()}
    assert all(o.action is None and "等待" in o.reason for o in waiting), waiting
    # crawled again but not yet rescored: a record read again still waits for its period's rescoring
    reasons = {k: next(o for o in unscored if o.finding_id == f.finding_id) for k, f in chosen.items()}
    assert {k for k, o in reasons.items() if o.action is None and "尚未按" in o.reason and "重新评分" in o.reason} >= {
        "fixed", "unchanged", "catalogue"}
    assert {k for k, o in reasons.items() if o.action} <= {"removed", "overdue", "dead_link"}  # need no rescoring


def test_each_finding_gets_the_verdict_of_its_evidence(lifecycle):
    paths, chosen, _, outcomes, again, *_ = lifecycle
    expected = {"fixed": "verified", "unchanged": "verify_failed", "removed": "verify_failed", "overdue": "verified",
                "dead_link": "verify_failed", "catalogue": "verify_failed"}
    assert {k: outcomes[f.finding_id].action for k, f in chosen.items()} == expected
    assert set(outcomes) == {f.finding_id for f in chosen.values()}  # nothing else was reported fixed
    assert again == []  # decided once: closed and reopened findings are no longer waiting
    status = dict(zip(*corrections.latest(paths)[["finding_id", "status"]].T.values))
    assert {k: status[f.finding_id] for k, f in chosen.items()} == {
        "fixed": "closed", "unchanged": "open", "removed": "open", "overdue": "closed", "dead_link": "open",
        "catalogue": "open"}


def test_reasons_are_chinese_and_masked(lifecycle):
    _, chosen, _, outcomes, *_ = lifecycle
    reason = {k: outcomes[f.finding_id].reason for k, f in chosen.items()}
    assert reason["fixed"] == f"{AS_OF:%Y-%m-%d} 复核：该记录已于网站更正（字段 证件号码 已脱敏）"
    assert "仍有此问题" in reason["unchanged"] and "证件号码" in reason["unchanged"]
    assert "已从网站撤下，不能视为整改" in reason["removed"]
    assert "已从网站撤下" in reason["overdue"]
    assert "问题仍在" in reason["dead_link"] and "HTTP 404" in reason["dead_link"]
    assert "未公开行政处罚事项目录" in reason["catalogue"]
    assert not any(holds_personal(r) for r in reason.values())


def test_steps_cite_the_new_fetch_beside_the_old(lifecycle):
    paths, chosen, *_ = lifecycle
    steps = corrections.history(paths, [f.finding_id for f in chosen.values()])
    system = steps[steps["role"] == "system"]
    assert len(system) == len(chosen) and set(system["username"]) == {SYSTEM_USER}
    con = store.connect(paths)
    try:
        for _, step in system.iterrows():
            times = dict(con.execute("SELECT fetch_id, fetched_at FROM fetches WHERE fetch_id IN ($a, $b)",
                                     {"a": step["fetch_id"], "b": step["ref_fetch_id"]}).fetchall())
            reported = steps[(steps["finding_id"] == step["finding_id"]) & (steps["action"] == "report_fixed")]
            assert step["fetch_id"] != step["ref_fetch_id"]
            assert times[step["fetch_id"]].isoformat() > reported["at"].iloc[0] > times[step["ref_fetch_id"]].isoformat()
    finally:
        con.close()


def test_comparison_shows_both_values_masked(lifecycle):
    _, chosen, _, _, _, compared, *_ = lifecycle
    fixed, unchanged = compared["fixed"], compared["unchanged"]
    assert fixed["label"] == unchanged["label"] == "证件号码"
    assert fixed["old"]["fetch_id"] != fixed["new"]["fetch_id"] and fixed["action"] == "verified"
    assert unchanged["action"] == "verify_failed" and unchanged["old"]["value"] == unchanged["new"]["value"]
    assert "*" in fixed["new"]["value"] and "*" in fixed["old"]["value"]
    assert compared["removed"]["new"]["value"] == "（该记录已撤下）"
    assert not holds_personal(str(compared))


def test_rescored_findings_lose_exactly_the_corrected_ones(lifecycle):
    *_, before, after, (fixed, removed), _loop = lifecycle
    gone = before - after
    assert after <= before, after - before  # nothing new appeared
    assert {(k[1], k[3], k[4]) for k in gone} == {(fixed.dept_id, fixed.wsh, "unmasked_personal")}


VIEW = """
import streamlit as st
from dashboard.auth import Viewer
from dashboard.queries import shared
from dashboard.views._common import VIEWER_KEY
from dashboard.views._verification import show_verification

st.session_state[VIEWER_KEY] = Viewer("pg", "评估员", "assessor")
for finding_id in {ids!r}:
    st.text(f"shown={{show_verification(shared.snapshot_name(), finding_id)}}")
"""


def test_the_view_shows_before_and_after_as_text(lifecycle, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import streamlit as st

    paths, chosen, *_ = lifecycle
    monkeypatch.setenv("SGS_DB", str(paths.db))
    st.cache_data.clear()
    script = tmp_path / "view.py"
    script.write_text(VIEW.format(ids=[chosen["fixed"].finding_id, chosen["unchanged"].finding_id]), "utf-8")
    at = AppTest.from_file(str(script), default_timeout=60).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert texts.count("shown=True") == 2 and len(at.columns) == 4
    assert any("复核（通过，已关闭）" in t for t in texts) and any("未通过，已重新打开" in t for t in texts)
    assert sum(t.startswith("证件号码：") for t in texts) == 4 and sum(t.startswith("报告整改前") for t in texts) == 2
    shown = "\n".join(texts + [c.value for c in at.code])
    assert "证件号码" in shown and not holds_personal(shown)
    assert not at.markdown or all("证件号码" not in m.value for m in at.markdown)  # crawled text never as markdown


# --- the whole loop: objections decided, versions issued --------------------------------------------------

def _status(con, finding_id: str) -> str:
    return con.execute("SELECT status FROM findings WHERE finding_id = ?", [finding_id]).fetchall()[0][0]


def test_version_1_is_unchanged_and_version_2_says_what_changed(lifecycle):
    paths, *_, loop = lifecycle
    assert versions.version_file(paths, "2026Q3", 1).read_bytes() == loop["version_1"]
    accepted, rejected = loop["objected"]["accepted"], loop["objected"]["rejected"]
    v1, v2 = (versions.open_version(paths, "2026Q3", n) for n in (1, 2))
    try:
        assert _status(v1, accepted.finding_id) == "open"  # as issued then
        assert _status(v2, accepted.finding_id) == "waived"  # 异议成立: deducts nothing now
        assert _status(v2, rejected.finding_id) == "confirmed"  # 异议不成立: still deducted
        lost = "SELECT coalesce(sum(n_findings), 0) FROM deductions WHERE period = '2026Q3' AND dept_id = ? " \
               "AND rule_id = 'late_publication'"
        assert v2.execute(lost, [accepted.dept_id]).fetchall()[0][0] == v1.execute(lost, [accepted.dept_id]).fetchall()[0][0] - 1
        assert v2.execute(lost, [rejected.dept_id]).fetchall()[0][0] == v1.execute(lost, [rejected.dept_id]).fetchall()[0][0]
    finally:
        v1.close()
        v2.close()
    changes = versions.changes(paths, "2026Q3", 2)
    waived = changes[changes["finding_id"] == accepted.finding_id]
    assert len(waived) == 1 and waived["reason"].iloc[0] == "异议成立：附件显示该记录已按时公示。"
    kept = changes[changes["finding_id"] == rejected.finding_id]  # decided (and said why), its deduction stands
    assert kept["reason"].tolist() == ["异议不成立：附件未显示公示日期。"]


def test_the_notices_list_each_finding_where_it_belongs(lifecycle):
    import io

    import docx

    from reports import build, notice, revision

    paths, *_, loop = lifecycle
    con = store.open_snapshot(paths)
    try:
        for key, where in (("accepted", "已豁免"), ("rejected", "问题清单")):
            f = loop["objected"][key]
            wsh = con.execute("SELECT wsh FROM findings WHERE finding_id = ?", [f.finding_id]).fetchall()[0][0]
            doc = docx.Document(io.BytesIO(build.notice_bytes(con, "2026Q3", f.dept_id, f.dept_id)))
            tables = {tuple(c.text for c in t.rows[0].cells): {(r.cells[1].text, r.cells[2].text) for r in t.rows[1:]}
                      for t in doc.tables}
            row = ("公示不及时", mask_text(wsh))  # late_publication on this record
            listed = tables[tuple(notice.FINDING_HEADERS)]  # the findings to rectify
            waived = tables.get(tuple(revision.WAIVED_HEADERS), set())  # 已豁免: listed apart
            assert (row in waived, row in listed) == (where == "已豁免", where == "问题清单"), (key, tables)
            text = "\n".join(p.text for p in doc.paragraphs)
            assert "修订稿，未签发" not in text or "版本" in text
    finally:
        con.close()

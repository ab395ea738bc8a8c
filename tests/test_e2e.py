"""End to end: demo city → crawl → DuckDB → findings and scores, checked against the ground truth."""
from __future__ import annotations

import json
import tomllib
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from democity import QUARTERS as DEMO_QUARTERS
from typer.testing import CliRunner

from sgs.cli import app
from core.settings import REPO_ROOT

QUARTERS = tuple(q.label for q in DEMO_QUARTERS)  # the demo city's decisions span these
SCHEME = tomllib.loads((REPO_ROOT / "data" / "schemes" / "2026.toml").read_text("utf-8"))  # read directly


def _found(paths) -> Counter:
    """Findings as (dept, kind, 文书号 of the record — or the value of a department-level finding —, rule,
    field, period), counted: a rule finding the same thing twice must be injected twice."""
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        return Counter(tuple(r) for r in con.execute(
            """SELECT f.dept_id, f.kind, CASE WHEN f.record_key IS NULL THEN f.value
                                              ELSE coalesce(x.XK_WSH, c.CF_WSH) END,
                      f.rule_id, f.field, f.period
               FROM findings f
               LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
               LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key
               WHERE f.period IN (SELECT unnest(?))""", [list(QUARTERS)]).fetchall())
    finally:
        con.close()


def _expected(manifest) -> Counter:
    return Counter((d["dept_id"], d["kind"], d["wsh"] if d["level"] == "record" else d["value"], d["rule_id"],
                    d["field"], d["period"]) for d in manifest["defects"])


def test_crawl_reads_every_published_record(demo_run):
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    site = {tuple(r) for r in con.execute(
        "SELECT 'xk', XK_WSH FROM xk_records WHERE channel = 'site' UNION ALL "
        "SELECT 'cf', CF_WSH FROM cf_records WHERE channel = 'site'").fetchall()}
    warc = con.execute("SELECT count(*) FROM fetches WHERE warc_file IS NOT NULL").fetchone()[0]
    con.close()
    expected = {(r["kind"], r["wsh"]) for r in demo_run.manifest["records"]}
    assert site == expected
    assert warc >= len(expected)
    assert not demo_run.summary.failed_sources


def _per_rule(expected: Counter, found: Counter) -> str:
    """Per rule: expected, found, found but not expected (precision), expected but not found (recall)."""
    rules = sorted({k[3] for k in expected} | {k[3] for k in found})
    lines = [f"{'rule':<24}{'expected':>9}{'found':>7}{'extra':>7}{'missed':>8}"]
    for rule in rules:
        e = Counter({k: v for k, v in expected.items() if k[3] == rule})
        f = Counter({k: v for k, v in found.items() if k[3] == rule})
        lines.append(f"{rule:<24}{sum(e.values()):>9}{sum(f.values()):>7}{sum((f - e).values()):>7}"
                     f"{sum((e - f).values()):>8}")
    return "\n".join(lines)


def test_findings_equal_ground_truth(demo_run):
    """Both ways: every finding not in the ground truth fails (precision), as does every one not found."""
    expected = _expected(demo_run.manifest)
    found = _found(demo_run.paths)
    assert expected, "the demo city injected no defects"
    print(_per_rule(expected, found))  # shown with -s, and in the failure report
    assert found - expected == Counter(), "reported but not injected:\n" + _per_rule(expected, found)
    assert expected - found == Counter(), "injected but not found:\n" + _per_rule(expected, found)


def test_unverified_equal_ground_truth(demo_run):
    """What the evidence cannot decide (未能核验) is exactly what the ground truth says, both ways — the undated
    licence portal's records first seen after their deadline with no crawl after the deadline before."""
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    try:
        got = Counter(tuple(r) for r in con.execute(
            "SELECT dept_id, kind, wsh, rule_id, period FROM unverified WHERE period IN (SELECT unnest(?))",
            [list(QUARTERS)]).fetchall())
        counts = dict(((d, p), n) for d, p, n in con.execute(
            "SELECT dept_id, period, n_unverified FROM scores WHERE period IN (SELECT unnest(?))",
            [list(QUARTERS)]).fetchall())
    finally:
        con.close()
    expected = Counter((u["dept_id"], u["kind"], u["wsh"], u["rule_id"], u["period"])
                       for u in demo_run.manifest["unverified"])
    assert expected and got == expected
    per_dept = Counter((d, p) for d, _, _, _, p in expected.elements())
    assert {k: v for k, v in counts.items() if v} == dict(per_dept)


def test_timeliness_verdicts_cover_every_kind_of_evidence(demo_run):
    """The demo shows each way a verdict is reached: a stated date (site, penalty portal), observed absence
    (late on the undated licence portal, citing the crawl that missed it), and 未能核验."""
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    try:
        rows = con.execute("""SELECT kind, ref_fetch_id IS NOT NULL, count(*) FROM findings
                              WHERE rule_id = 'portal_late' GROUP BY ALL""").fetchall()
        cited = con.execute("""SELECT count(*) FROM findings f JOIN fetches x ON x.fetch_id = f.ref_fetch_id
                               WHERE x.role = 'list' AND x.source_id = 'portal-xk'""").fetchall()[0][0]
    finally:
        con.close()
    by = {(k, ref): n for k, ref, n in rows}
    assert by.get(("xk", True)) and by.get(("cf", False)) and ("xk", False) not in by and ("cf", True) not in by
    assert cited == by[("xk", True)]
    assert demo_run.manifest["unverified"]


def test_ground_truth_covers_every_rule(demo_run):
    """Each rule of the engine is injected in the demo city; the availability rules through the deliberately
    broken pages of the demo's sites (democity.shapes.BROKEN) — all but ``site_unreachable``, which would fail
    the demo's crawl and is shown by tests/test_crawl_http.py instead."""
    from metrics.checks import all_rules
    from metrics.objections import INPUT_RULES  # fire only on entered objections and imported repairs

    injected = {d["rule_id"] for d in demo_run.manifest["defects"]}
    # manual_inspection: recorded by hand after a 书面检查/实地核查, nothing a crawl can show (tests/test_inspections.py)
    assert injected == {r.id for r in all_rules()} - {"site_unreachable", "manual_inspection"} - set(INPUT_RULES)
    assert {d["level"] for d in demo_run.manifest["defects"]} == {"record", "department"}


def test_every_finding_points_to_archived_evidence(demo_run):
    from crawlers.archive import read_record

    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    rows = con.execute(
        """SELECT f.url, x.warc_file, x.warc_offset, x.sha256 FROM findings f JOIN fetches x USING (fetch_id)
           ORDER BY f.rule_id LIMIT 5""").fetchall()
    missing = con.execute("SELECT count(*) FROM findings WHERE fetch_id IS NULL OR url IS NULL").fetchone()[0]
    con.close()
    assert rows and missing == 0
    import hashlib
    for url, warc_file, offset, sha in rows:
        _headers, body = read_record(demo_run.paths, warc_file, offset)
        assert hashlib.sha256(body).hexdigest() == sha


def test_evidence_of_an_unchanged_page_is_its_original(demo_run, monkeypatch):
    """A page seen unchanged (a 304, or the same bytes) is archived as a revisit record naming its original;
    a finding citing that sighting shows the original's bytes in the dashboard (never "not a response")."""
    import hashlib

    from dashboard import auth
    from dashboard.queries import evidence, shared

    monkeypatch.setenv("SGS_DB", str(demo_run.paths.db))
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    rows = con.execute(
        """SELECT DISTINCT x.fetch_id, o.sha256, o.fetched_at FROM findings f
           JOIN fetches x ON x.fetch_id IN (f.fetch_id, f.ref_fetch_id) JOIN fetches o ON o.fetch_id = x.revisit_of
           ORDER BY 1 LIMIT 5""").fetchall()
    con.close()
    assert rows, "no finding of the demo cites an unchanged page: the test proves nothing"
    leader = auth.Viewer("boss", "boss", "leader")
    for fetch_id, sha, original_at in rows:
        got = evidence.archived_body(leader, shared.snapshot_name(), fetch_id)
        assert got is not None
        row, body = got
        assert hashlib.sha256(body).hexdigest() == sha and row["original_at"] == original_at


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _expected_scores(manifest: dict, quarter: str) -> dict[str, dict]:
    """Each department's total and sub-scores from the manifest alone, by the scheme's deduction model
    (docs/scoring.md): per rule points × share of records (or per record), rule cap, indicator cap largest first."""
    from metrics.checks import all_rules

    rules = {r.id: r for r in all_rules()}
    weights = {i: Decimal(str(v["weight"])) for i, v in SCHEME["indicators"].items()}
    records = defaultdict(set)
    for r in manifest["records"]:
        if r["period"] == quarter:
            records[r["dept_id"]].add((r["kind"], r["wsh"], r["xdr_mc"]))  # republished: same 文书号
    hit = defaultdict(set)
    dept_level = Counter()
    for d in manifest["defects"]:
        if d["period"] != quarter:
            continue
        if d["level"] == "record":
            hit[(d["dept_id"], d["rule_id"])].add((d["kind"], d["wsh"], d["xdr_mc"]))
        else:
            dept_level[(d["dept_id"], d["rule_id"])] += 1
    out = {}
    for dept in {d["id"] for d in manifest["departments"]}:
        n = len(records[dept])
        taken = defaultdict(list)
        for rule_id, rule in rules.items():
            k, j = len(hit[(dept, rule_id)]), dept_level[(dept, rule_id)]
            if not k and not j:
                continue
            ded = {**SCHEME["defaults"][rule.severity], **SCHEME["rules"].get(rule_id, {})}
            raw = Decimal(str(ded["points"])) * k / (n if ded["how"] == "rate" else 1) if k else Decimal(0)
            raw += Decimal(str(ded["dept_points"])) * j
            taken[rule.indicator].append((_cents(min(_cents(raw), Decimal(str(ded["cap"])))), rule_id))
        lost = {}
        for ind, w in weights.items():
            left = w
            for pts, _ in sorted(taken[ind], key=lambda t: (-t[0], t[1])):
                left -= min(pts, left)
            lost[ind] = w - left
        unverified = sum(1 for u in manifest["unverified"] if u["dept_id"] == dept and u["period"] == quarter)
        findings = any(hit[(dept, r)] or dept_level[(dept, r)] for r in rules)
        share = SCHEME["ranking"]["max_unverified_share"]
        standing = ("no_records" if n == 0 and not findings and not SCHEME["ranking"]["rank_without_records"] else
                    "insufficient_evidence" if n and unverified > share * n else "ranked")
        out[dept] = {"n": n, "total": 100 - sum(lost.values()), "standing": standing, "unverified": unverified,
                     **{i: float(_cents(100 * (w - lost[i]) / w)) for i, w in weights.items()}}
    return out


@pytest.mark.parametrize("quarter", QUARTERS)
def test_scores_recomputed_by_hand(demo_run, quarter):
    """Scores from the manifest alone, with the scheme file read directly."""
    expected = _expected_scores(demo_run.manifest, quarter)
    got = {s["dept_id"]: s for s in demo_run.scores[quarter]}
    assert set(got) == set(expected)
    for dept, e in expected.items():
        s = got[dept]
        assert s["n_records"] == e["n"]
        for ind in SCHEME["indicators"]:
            assert s[ind] == pytest.approx(e[ind], abs=0.006), (dept, ind)
        assert Decimal(str(s["total"])) == e["total"], dept
        assert (s["standing"], s["n_unverified"]) == (e["standing"], e["unverified"]), dept
        total = e["total"]
        grade = "优秀" if total >= 85 else "良好" if total >= 70 else "合格" if total >= 60 else "不合格"
        assert s["grade"] == (grade if e["standing"] == "ranked" else None)
    ranked = sorted((s for s in got.values() if s["standing"] == "ranked"), key=lambda s: -s["total"])
    assert [s["rank"] for s in ranked][0] == 1
    assert all(a["rank"] <= b["rank"] for a, b in zip(ranked, ranked[1:]))
    assert all(s["rank"] is None for s in got.values() if s["standing"] != "ranked")


def test_a_quarter_without_decisions_is_not_ranked(demo_run):
    """sj-wj decided nothing in 2026Q2: listed as 本期无公示记录, not ranked 优秀 by default."""
    q2 = {s["dept_id"]: s for s in demo_run.scores["2026Q2"]}
    assert (q2["sj-wj"]["standing"], q2["sj-wj"]["n_records"], q2["sj-wj"]["rank"]) == ("no_records", 0, None)
    assert {s["standing"] for s in demo_run.scores["2026Q3"] if s["dept_id"] == "sj-wj"} == {"ranked"}


def test_demo_profiles_show_in_the_ranking(demo_run):
    """The diligent departments rank above the often-late and never-pushing ones."""
    profile = {d["id"]: d["profile"] for d in demo_run.manifest["departments"]}
    q = demo_run.scores["2026Q3"]
    best = min(s["rank"] for s in q if profile[s["dept_id"]] == "diligent" and s["rank"])
    worst_bad = max(s["rank"] for s in q if profile[s["dept_id"]] in ("often_late", "never_pushes") and s["rank"])
    assert best < worst_bad


def test_score_json_cli_matches_the_scores_table(demo_run):
    result = CliRunner().invoke(app, ["score", "--period", "2026Q3", "--db", str(demo_run.paths.db), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    table = con.execute("SELECT dept_id, total, rank, grade FROM scores WHERE period = '2026Q3' "
                        "ORDER BY rank, dept_id").fetchall()
    con.close()
    assert [(r["dept_id"], r["total"], r["rank"], r["grade"]) for r in rows] == [tuple(t) for t in table]


@pytest.fixture
def dashboard_on_demo(demo_run, monkeypatch):
    """The real app on the demo city's published snapshot (SGS_DB and open demo mode; caches start empty)."""
    import streamlit as st

    monkeypatch.setenv("SGS_DB", str(demo_run.paths.db))
    monkeypatch.setenv("SGS_OPEN_DEMO", "1")  # the dashboard needs a login; open demo mode is the leader's view
    st.cache_data.clear()
    st.cache_resource.clear()
    yield demo_run
    st.cache_data.clear()
    st.cache_resource.clear()


def _app_run(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_dashboard_ranking_equals_score_json(dashboard_on_demo):
    from streamlit.testing.v1 import AppTest

    demo_run = dashboard_on_demo
    result = CliRunner().invoke(app, ["score", "--period", "2026Q3", "--db", str(demo_run.paths.db), "--json"])
    assert result.exit_code == 0, result.output
    cli = sorted(json.loads(result.stdout), key=lambda r: (-r["rank"], r["name"]))  # 总览 lists the weakest first
    at = _app_run(AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=60))
    at.sidebar.selectbox[0].set_value("2026Q3")
    _app_run(at)
    shown = at.get_by_key("dept_ranking").dataframe[0].value
    assert shown["部门"].tolist() == [r["name"] for r in cli]
    assert shown["排名"].tolist() == [r["rank"] for r in cli]
    assert shown["总分"].tolist() == pytest.approx([r["total"] for r in cli])
    assert shown["等级"].tolist() == [r["grade"] for r in cli]
    assert shown["及时性"].tolist() == pytest.approx([r["timeliness"] for r in cli])


def test_dashboard_department_page_lists_its_findings(dashboard_on_demo):
    from streamlit.testing.v1 import AppTest

    demo_run = dashboard_on_demo
    worst = max(demo_run.scores["2026Q3"], key=lambda s: s["rank"])
    expected = sum(1 for d in demo_run.manifest["defects"]
                   if d["dept_id"] == worst["dept_id"] and d["period"] == "2026Q3")
    at = _app_run(AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=60))
    at.sidebar.selectbox[0].set_value("2026Q3")
    _app_run(at)
    at.switch_page("dashboard/views/department.py")
    _app_run(at)
    at.selectbox(key="_dept_select").set_value(worst["dept_id"])
    _app_run(at)
    rows = at.get_by_key("remediation").dataframe[0].value
    assert len(rows) == expected > 0
    assert rows["证据页面"].str.startswith(demo_run.base_url).all()
    assert rows["存档"].str.contains(r"\.warc\.gz#\d+$").all()


def test_per_department_ground_truth_matches_findings(demo_run):
    """The manifest's per-department totals agree with the findings table, rule by rule."""
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    rows = con.execute("SELECT dept_id, period, rule_id, count(*) FROM findings "
                       "WHERE period IN ('2026Q2', '2026Q3') GROUP BY ALL").fetchall()
    con.close()
    found = {(d, p, r): n for d, p, r, n in rows}
    expected = {(d["id"], p, r): n for d in demo_run.manifest["departments"]
                for p, totals in d["periods"].items() for r, n in totals["defects"].items()}
    assert found == expected


def test_findings_carry_their_records_wsh_and_subject(demo_run):
    """Scoring copies each record-level finding's 文书号 and 相对人名称 (the assessor's search reads them)."""
    con = duckdb.connect(str(demo_run.paths.db), read_only=True)
    try:
        rows = con.execute("""
            SELECT f.wsh IS NOT DISTINCT FROM coalesce(x.XK_WSH, c.CF_WSH),
                   f.subject IS NOT DISTINCT FROM coalesce(x.XK_XDR_MC, c.CF_XDR_MC), f.record_key IS NULL
            FROM findings f
            LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
            LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key""").fetchall()
    finally:
        con.close()
    assert rows and all(w and s for w, s, _ in rows) and any(dept for _, _, dept in rows)

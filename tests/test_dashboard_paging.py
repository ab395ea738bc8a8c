"""Large lists are paged, and a page shows exactly its part of the whole, numbered as everywhere else.

A small province from ``bench/gen_province.py`` (the generator of the speed benchmarks, the same SQL at any
size): 60 departments, so the 总览 ranking has two pages, and about 3,500 findings, so 问题清单 and the busiest
department's 整改清单 have several. Scored with the real rules and published; the expected rows come straight
from the snapshot (the whole period's 序号 window, as ``metrics.results.finding_numbers`` writes it, cut by
LIMIT/OFFSET), and every page is compared both ways.
"""
from __future__ import annotations

import sys
from datetime import date

import duckdb
import pandas as pd
import pytest

from core import store
from core.periods import parse_period
from core.settings import REPO_ROOT, resolve_paths
from dashboard.auth import demo_users, write_users
from dashboard.queries.shared import PAGE_SIZE
from dashboard_city import app, login, run, snapshot_frame, table
from metrics import results
from metrics.scoring import score_period

sys.path.insert(0, str(REPO_ROOT / "bench"))
import gen_province  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_caches")
PERIOD = "2026Q3"


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The generated province, scored and published, with the demo's logins (and the busiest department's)."""
    out = tmp_path_factory.mktemp("province")
    gen_province.generate(out, 3_000, 60)
    paths = resolve_paths(gen_province.load(out))
    con = store.connect(paths)
    try:
        score_period(con, parse_period(PERIOD), as_of=date(2026, 11, 30))
        store.publish(con, paths)
    finally:
        con.close()
    busiest = snapshot_frame(paths, "SELECT dept_id, count(*) AS n FROM findings GROUP BY ALL ORDER BY n DESC, dept_id "
                                    "LIMIT 1").iloc[0]
    write_users(paths.root / "users.toml", demo_users([(busiest["dept_id"], "部门")]))
    return paths, str(busiest["dept_id"])


@pytest.fixture
def served(province, monkeypatch):
    paths, dept = province
    monkeypatch.setenv("SGS_DB", str(paths.db))
    monkeypatch.setenv("SGS_USERS", str(paths.root / "users.toml"))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    return paths, dept


def _expected(paths, where: str = "TRUE", params: list | None = None) -> pd.DataFrame:
    """Every finding of the period in the list's order (department name, then 序号) with its 序号."""
    return snapshot_frame(paths, f"""
        SELECT f.finding_id, n.seq AS n FROM findings f JOIN {results.finding_numbers('$1')} n USING (finding_id)
             LEFT JOIN departments d USING (dept_id)
        WHERE f.period = $1 AND {where} ORDER BY coalesce(d.name, f.dept_id), f.dept_id, n.seq""",
                          [PERIOD, *(params or [])])


def _pages(at, key: str, pager: str, total: int) -> list[pd.DataFrame]:
    """Every page of the list in container ``key``, turning the pager ``pager``."""
    pages = []
    for page in range(1, -(-total // PAGE_SIZE) + 1):
        if page > 1:
            at.number_input(key=pager).set_value(page)
            run(at)
        pages.append(table(at, key))
    return pages


def test_findings_list_pages_cover_every_finding_once(served) -> None:
    paths, _ = served
    expected = _expected(paths)
    assert len(expected) > 3 * PAGE_SIZE  # several pages, or the test proves nothing
    at = login(app(), "assessor", "assessor-demo")
    at.switch_page("dashboard/views/findings.py")
    run(at)
    assert f"共 {len(expected)} 条问题" in [c.value for c in at.caption]
    first = table(at, "findings")
    assert len(first) == PAGE_SIZE
    assert first["问题编号"].tolist() == expected["finding_id"][:PAGE_SIZE].tolist()
    assert first["序号"].tolist() == expected["n"][:PAGE_SIZE].tolist()
    # a page inside a department, and the last page (a partial one)
    last = -(-len(expected) // PAGE_SIZE)
    for page in (7, last):
        at.number_input(key="wb_page").set_value(page)
        run(at)
        shown = table(at, "findings")
        part = expected.iloc[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        assert shown["问题编号"].tolist() == part["finding_id"].tolist()  # both ways, in order
        assert shown["序号"].tolist() == part["n"].tolist()
    assert len(shown) == len(expected) - (last - 1) * PAGE_SIZE


def test_filtered_findings_list_counts_and_pages(served) -> None:
    paths, _ = served
    expected = _expected(paths, "f.indicator = $2", ["timeliness"])
    at = login(app(), "assessor", "assessor-demo")
    at.switch_page("dashboard/views/findings.py")
    run(at)
    at.selectbox(key="wb_indicator").set_value("timeliness")
    run(at)
    assert f"共 {len(expected)} 条问题" in [c.value for c in at.caption]
    shown = pd.concat(_pages(at, "findings", "wb_page", len(expected)), ignore_index=True)
    assert shown["问题编号"].tolist() == expected["finding_id"].tolist()
    assert shown["序号"].tolist() == expected["n"].tolist()  # numbered among all the department's findings


def test_department_list_pages(served) -> None:
    paths, dept = served
    expected = _expected(paths, "f.dept_id = $2", [dept])
    assert len(expected) > PAGE_SIZE
    at = login(app(), dept, f"{dept}-demo")
    assert f"下载整改清单（Excel，{len(expected)} 条）" in [b.proto.label for b in at.get("download_button")]
    shown = pd.concat(_pages(at, "remediation", "page", len(expected)), ignore_index=True)
    assert shown["问题编号"].tolist() == expected["finding_id"].tolist()
    assert shown["序号"].tolist() == list(range(1, len(expected) + 1))


def test_ranking_is_paged_and_the_chart_draws_the_page(served) -> None:
    import json

    paths, _ = served
    ranked = snapshot_frame(paths, """SELECT d.name, s.rank FROM scores s JOIN departments d USING (dept_id)
                                      WHERE period = ? AND standing = 'ranked' ORDER BY s.rank DESC, d.name""",
                            [PERIOD])
    assert PAGE_SIZE < len(ranked) <= 2 * PAGE_SIZE
    at = login(app(), "leader", "leader-demo")
    first = table(at, "dept_ranking")
    assert first["部门"].tolist() == ranked["name"][:PAGE_SIZE].tolist()  # weakest first, one page
    bars = json.loads(at.get_by_key("dept_chart").get("plotly_chart")[0].proto.spec)["data"]
    assert sorted(x for trace in bars for x in trace["x"]) == sorted(first["部门"])
    assert any("图中为排名表当前页的 50 个部门" in c.value for c in at.caption)
    at.number_input(key="ranking_page").set_value(2)
    run(at)
    second = table(at, "dept_ranking")
    assert second["部门"].tolist() == ranked["name"][PAGE_SIZE:].tolist()
    assert set(first["部门"]) | set(second["部门"]) == set(ranked["name"])


def test_sources_and_catalogue_pages_cover_every_row_once(served) -> None:
    paths, _ = served
    sources = snapshot_frame(paths, "SELECT source_id FROM sources")["source_id"]
    items = snapshot_frame(paths, "SELECT dept_id, item_code FROM catalogue_items")
    depts = snapshot_frame(paths, "SELECT DISTINCT dept_id FROM catalogue_items")["dept_id"]
    assert len(sources) > 2 * PAGE_SIZE and len(items) > 2 * PAGE_SIZE and len(depts) > PAGE_SIZE
    at = login(app(), "leader", "leader-demo")
    at.switch_page("dashboard/views/sources.py")
    run(at)
    pages = _pages(at, "source_status", "sources_page", len(sources))
    assert all(len(p) == PAGE_SIZE for p in pages[:-1])
    shown = pd.concat(pages)["来源"]
    assert sorted(shown) == sorted(sources)  # every source once, nothing else
    at.switch_page("dashboard/views/catalogue.py")
    run(at)
    assert [m.value for m in at.metric][0] == str(len(items))  # the figures count every item, not a page
    coverage = pd.concat(_pages(at, "catalogue_coverage", "coverage_page", len(depts)))
    assert len(coverage) == len(depts) and coverage["部门"].is_unique
    shown = pd.concat(_pages(at, "catalogue_items", "items_page", len(items)))
    assert len(shown) == len(items) and not shown.duplicated(["部门", "事项编码"]).any()


def test_status_filters_count_by_the_workbench_decisions(served) -> None:
    """The lists' totals come from the period's counts and the decided findings (``findings._per_department``):
    each status filter, alone or with a department or an indicator, counts what the snapshot's findings joined to
    the workbench's latest decisions count. (Last in this file: it leaves decisions in the province's workbench.)"""
    from dashboard import auth
    from dashboard.queries import department, findings
    from metrics import corrections

    paths, dept = served
    rows = snapshot_frame(paths, "SELECT finding_id, dept_id, status FROM findings WHERE period = ? "
                                 "ORDER BY hash(finding_id) LIMIT 90", [PERIOD])
    picked = [corrections.Finding(r.finding_id, PERIOD, r.dept_id, r.status) for r in rows.itertuples()]
    corrections.record(paths, picked[:30], "waive", username="assessor", role="assessor", reason="不属实")
    corrections.record(paths, picked[30:60], "confirm", username="assessor", role="assessor")
    for f in picked[60:]:
        corrections.record(paths, [f], "object", username=f.dept_id, role="department", reason="已公示", scope=f.dept_id)
    corrections.record(paths, [corrections.Finding(f.finding_id, PERIOD, f.dept_id, "waived") for f in picked[:5]],
                       "reopen", username="assessor", role="assessor", reason="复查")
    decisions = corrections.latest(paths)[["finding_id", "status"]]
    version = corrections.version(paths)
    boss = auth.Viewer("assessor", "assessor", "assessor", None)
    clerk = auth.Viewer(dept, dept, "department", dept)
    snap = store.current_snapshot(paths).name
    for status in ("open", "waived", "confirmed", "objected", findings.QUEUE_STATUSES):
        for viewer, where in ((boss, {}), (boss, {"dept_id": dept}), (boss, {"indicator": "timeliness"}),
                              (clerk, {})):
            with duckdb.connect(str(store.current_snapshot(paths)), read_only=True) as con:
                con.register("_decisions", decisions)
                expected = con.execute(f"""
                    SELECT count(*) FROM findings f LEFT JOIN _decisions dec USING (finding_id)
                    WHERE f.period = $p AND list_contains($s, coalesce(dec.status, f.status))
                      AND ($scope IS NULL OR f.dept_id = $scope) AND ($d IS NULL OR f.dept_id = $d)
                      AND ($i IS NULL OR f.indicator = $i)""",
                    {"p": PERIOD, "s": [status] if isinstance(status, str) else list(status), "scope": viewer.scope,
                     "d": where.get("dept_id"), "i": where.get("indicator")}).fetchall()[0][0]
            assert findings.findings_total(snap, viewer, PERIOD, status=status, wb_version=version, **where) == expected
    assert findings.findings_total(snap, boss, PERIOD, status="waived", wb_version=version) > 0
    for viewer, one in ((boss, None), (boss, dept), (clerk, None)):  # 部门自查's status and indicator counts
        with duckdb.connect(str(store.current_snapshot(paths)), read_only=True) as con:
            rows = con.execute("SELECT finding_id, status FROM findings WHERE period = $1 AND ($2 IS NULL OR dept_id = $2)",
                               [PERIOD, viewer.scope or one]).df()
        now = rows["finding_id"].map(decisions.set_index("finding_id")["status"]).fillna(rows["status"]).value_counts()
        assert department.status_counts(snap, viewer, PERIOD, one, version) == {k: int(v) for k, v in now.items()}
        assert sum(department.finding_counts(snap, viewer, PERIOD, one).values()) == len(rows)

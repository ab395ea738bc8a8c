"""Every page for every role on the demo city (crawled and scored once per session by ``conftest.demo_run``),
logged in with the demo's documented users: no exception, the figures shown equal the database's, and a
department user sees its own department only."""
from __future__ import annotations

import pytest

from dashboard import auth
from dashboard_city import app, login, run, snapshot_frame, table

pytestmark = pytest.mark.usefixtures("fresh_caches")

PAGES = {
    "leader": ["overview", "department", "findings", "subjects", "catalogue", "inspection", "sources", "objections",
               "access_log"],
    "assessor": ["overview", "department", "findings", "subjects", "catalogue", "inspection", "sources", "objections"],
    "department": ["department", "subjects", "catalogue", "sources", "objections"],
}


def _user(role: str, depts) -> tuple[str, str]:
    """The documented demo login for a role (a department user: the first department)."""
    if role == "department":
        return depts[0][0], f"{depts[0][0]}-demo"
    return role, f"{role}-demo"


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_renders_for_every_role(demo_dashboard, role: str) -> None:
    _paths, depts = demo_dashboard
    user, pw = _user(role, depts)
    at = login(app(), user, pw)
    assert at.sidebar.caption[0].value.endswith(f"（{auth.ROLES[role]}）")
    for page in PAGES[role]:
        at.switch_page(f"dashboard/views/{page}.py")
        run(at)
        assert at.title and not at.error, (page, [e.value for e in at.error])
    for page in {"overview", "findings", "inspection", "access_log"} - set(PAGES[role]):  # by address: refused, in Chinese
        at.switch_page(f"dashboard/views/{page}.py")
        run(at)
        assert [e.value for e in at.error] == [f"{auth.ROLES[role]}账号无权查看本页面。"] and not at.dataframe


def test_overview_figures_equal_the_database(demo_dashboard) -> None:
    paths, depts = demo_dashboard
    at = login(app(), "leader", "leader-demo")
    period = at.sidebar.selectbox[0].value
    expected = snapshot_frame(paths, """
        SELECT count(*) AS n, sum(n_records) AS r, (SELECT count(*) FROM findings WHERE period = $1) AS f
        FROM scores WHERE period = $1""", [period]).iloc[0]
    labels = {m.label: m.value for m in at.metric}
    assert labels["部门数"] == str(int(expected["n"]))
    assert labels["记录数"] == f"{int(expected['r']):,d}"
    assert labels["问题数"] == f"{int(expected['f']):,d}" == labels["待处理问题"]
    ranking = table(at, "dept_ranking")
    scores = snapshot_frame(paths, """SELECT d.name, s.rank, s.total FROM scores s JOIN departments d USING (dept_id)
                                      WHERE period = ? ORDER BY s.rank DESC, d.name""", [period])
    assert ranking["部门"].tolist() == scores["name"].tolist()  # weakest first
    assert ranking["总分"].tolist() == pytest.approx(scores["total"].tolist())
    worst = table(at, "worst_problems")
    counts = snapshot_frame(paths, "SELECT count(*) AS n FROM findings WHERE period = ? GROUP BY rule_id "
                                   "ORDER BY n DESC LIMIT 10", [period])
    assert worst["问题数"].tolist() == counts["n"].tolist()
    for key in ("distribution_chart", "indicator_chart", "county_chart"):
        assert at.get_by_key(key).get("plotly_chart"), key
    months = snapshot_frame(paths, "SELECT count(*) AS n FROM scores WHERE period LIKE '____-__'")["n"][0]
    if months:  # the session's demo run scores quarters only; `sgs demo` scores the months too
        assert at.get_by_key("trend_chart").get("plotly_chart")
    else:
        assert any("暂无按月评分" in i.value for i in at.info)


def test_department_user_on_the_demo(demo_dashboard) -> None:
    paths, depts = demo_dashboard
    # the department with the most findings, so its list is not empty
    dept = snapshot_frame(paths, "SELECT dept_id, count(*) AS n FROM findings WHERE period = '2026Q3' "
                                 "GROUP BY dept_id ORDER BY n DESC, dept_id LIMIT 1")["dept_id"][0]
    at = app()
    at.query_params["dept"] = next(d for d, _ in depts if d != dept)
    at = login(at, dept, f"{dept}-demo")
    period = at.sidebar.selectbox[0].value
    score = snapshot_frame(paths, "SELECT total, grade FROM scores WHERE period = ? AND dept_id = ?",
                           [period, dept]).iloc[0]
    labels = {m.label: m.value for m in at.metric}
    assert labels["总分"] == f"{score['total']:.1f}" and labels["等级"] == score["grade"]
    n = snapshot_frame(paths, "SELECT count(*) AS n FROM findings WHERE period = ? AND dept_id = ?",
                       [period, dept])["n"][0]
    shown = table(at, "remediation")
    assert len(shown) == min(n, 50)
    wsh = set(snapshot_frame(paths, """SELECT coalesce(x.XK_WSH, c.CF_WSH) AS w FROM findings f
        LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
        LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key
        WHERE f.period = ? AND f.dept_id = ?""", [period, dept])["w"].dropna())
    named = set(shown["文书号/页面"])  # a department-level finding names its decision, page or column
    assert {w for w in named if not w.startswith("页面 ") and w != "（整个专栏）"} <= wsh | set(
        snapshot_frame(paths, "SELECT value AS v FROM findings WHERE period = ? AND dept_id = ? AND record_key IS NULL",
                       [period, dept])["v"].dropna())
    assert not {"nan", "None", "—", ""} & named
    archived = at.get_by_key("archived_text").code[0].value  # the first finding's page as fetched
    assert archived.strip() and "<" not in archived
    assert not at.html


def test_subject_search_by_credit_code(demo_dashboard) -> None:
    paths, _depts = demo_dashboard
    code = snapshot_frame(paths, """SELECT XK_XDR_SHXYM AS c FROM xk_records WHERE XK_XDR_SHXYM IS NOT NULL
                                    ORDER BY record_key LIMIT 1""")["c"][0]
    expected = snapshot_frame(paths, """SELECT (SELECT count(*) FROM xk_records WHERE XK_XDR_SHXYM = $1)
                                             + (SELECT count(*) FROM cf_records WHERE CF_XDR_SHXYM = $1) AS n""",
                              [code])["n"][0]
    at = login(app(), "assessor", "assessor-demo")
    at.switch_page("dashboard/views/subjects.py")
    run(at)
    at.text_input(key="subject").input(code.lower())  # codes are matched exactly, case aside
    run(at)
    shown = table(at, "subject_records")
    assert len(shown) == expected > 0 and set(shown["统一社会信用代码"]) == {code}

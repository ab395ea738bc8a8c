"""The dashboard against a real published snapshot, driven through Streamlit's AppTest (no browser).

``dashboard_db`` builds a small but realistic database with the store's own functions (``dashboard_city``:
two counties, four departments, two periods, findings with their records and archived pages) and publishes
it; ``SGS_DB`` points the app at it and ``SGS_USERS`` at a users file. Every test logs in through the form.
The demo city's own run is covered in ``test_dashboard_demo.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard_city import (MASKED_ID, RAW_ID, RAW_PHONE, app, build_city, city_for_app, login, republish, run,
                            snapshot_frame, table)
from core.settings import Paths, resolve_paths

pytestmark = pytest.mark.usefixtures("fresh_caches")

DEPT_PAGE = "dashboard/views/department.py"


@pytest.fixture(scope="module")
def dashboard_db(tmp_path_factory: pytest.TempPathFactory):
    """A published snapshot of a small two-county city; ``SGS_DB`` points at its working database."""
    with city_for_app(tmp_path_factory.mktemp("city")) as paths:
        yield paths


_snapshot_frame = snapshot_frame
_table = table
_run = run


def _app() -> AppTest:
    """The app with the leader logged in (the department-isolation tests log in as others)."""
    return login(app(), "boss")


def test_app_runs_on_latest_period(dashboard_db: Paths) -> None:
    at = _run(_app())
    assert at.sidebar.selectbox[0].value == "2026Q3"
    assert at.sidebar.selectbox[0].options == ["2026Q3", "2026Q2"]
    assert any("2026-10-08 09:30" in c.value for c in at.sidebar.caption)
    labels = {m.label: m.value for m in at.metric}
    assert labels["部门数"] == "6"
    assert labels["记录数"] == "205"
    assert labels["问题数"] == "5"
    assert not at.html  # crawled content is never rendered as HTML


@pytest.mark.parametrize("period", ["2026Q3", "2026Q2"])
def test_ranking_matches_scores(dashboard_db: Paths, period: str) -> None:
    at = _run(_app())
    at.sidebar.selectbox[0].set_value(period)
    _run(at)
    shown = _table(at, "dept_ranking")
    expected = _snapshot_frame(dashboard_db, """
        SELECT s.rank, d.name, s.county, s.total, s.grade, s.n_unverified FROM scores s JOIN departments d USING (dept_id)
        WHERE s.period = ? AND s.standing = 'ranked' ORDER BY s.rank DESC, d.name""", [period])
    assert list(shown.columns) == ["排名", "部门", "县区", "总分", "等级", "名次变化", "较上期", "及时性", "完整性",
                                   "准确性", "合规性", "记录数", "未能核验", "上期排名"]
    assert shown["部门"].tolist() == expected["name"].tolist()  # the ranked departments only, weakest first
    assert shown["排名"].tolist() == expected["rank"].tolist()
    assert shown["总分"].tolist() == pytest.approx(expected["total"].tolist())
    assert shown["等级"].tolist() == expected["grade"].tolist()
    assert shown["未能核验"].tolist() == expected["n_unverified"].tolist()
    at.segmented_control(key="ranking_order").set_value("desc")  # turned: rank order
    _run(at)
    assert _table(at, "dept_ranking")["排名"].tolist() == sorted(expected["rank"].tolist())
    moves = _table(at, "dept_ranking")["名次变化"].tolist()
    assert set(moves) <= {"—", "持平"} | {f"{a}{n}" for a in "↑↓" for n in range(1, 10)}


def test_ranking_draws_its_first_columns(dashboard_db: Paths) -> None:
    """The ranking fits 1440 px beside the sidebar (measured in Chromium: tests/test_journeys.py): it draws the
    columns a leader reads first, 记录数, 未能核验 and 上期排名 one click away; the data behind stays whole."""
    at = _run(_app())
    drawn = lambda: list(at.get_by_key("dept_ranking").dataframe[0].proto.column_order)  # noqa: E731
    assert drawn() == ["排名", "部门", "县区", "总分", "等级", "名次变化", "较上期", "及时性", "完整性", "准确性", "合规性"]
    assert at.toggle(key="ranking_all_columns").label == "显示全部列（记录数、未能核验、上期排名）"
    at.toggle(key="ranking_all_columns").set_value(True)
    _run(at)
    assert drawn() == list(_table(at, "dept_ranking").columns)
    assert drawn()[-3:] == ["记录数", "未能核验", "上期排名"]

def test_departments_not_ranked_are_listed_after_with_their_standing(dashboard_db: Paths) -> None:
    """2026Q3: 潞州区教育局 (证据不足) and 市卫生健康委员会 (本期无公示记录) are listed after the ranking, without
    rank, grade or scores, with their 未能核验 counts and why; the headline counts them and says what 未能核验 is."""
    at = _run(_app())
    rest = _table(at, "dept_unranked")
    assert list(rest.columns) == ["部门", "县区", "记录数", "未能核验", "排名情况"]
    assert rest["部门"].tolist() == ["潞州区教育局", "市卫生健康委员会"]
    assert rest["排名情况"].tolist() == ["证据不足", "本期无公示记录"]
    assert rest["未能核验"].tolist() == [2, 0]
    why = at.get_by_key("standing_note").info[0].value
    assert "**证据不足**：" in why and "（50%）" in why and "不排名" in why
    assert "**本期无公示记录**：本期没有决定日期在评估期间内的公示记录" in why
    assert not {"潞州区教育局", "市卫生健康委员会"} & set(_table(at, "dept_ranking")["部门"])
    labels = {m.label: m.value for m in at.metric}
    assert (labels["参加排名部门"], labels["本期无公示记录"], labels["证据不足"], labels["未能核验记录"]) == ("4", "1", "1", "4")
    assert labels["平均得分"] == "75.0"  # (97.3 + 75 + 75 + 52.8) / 4: the unranked departments' scores are left out
    note = at.get_by_key("unverified_note").info[0].value
    assert "共有 4 条记录" in note and "不扣分" in note
    traces = json.loads(at.get_by_key("dept_chart").get("plotly_chart")[0].proto.spec)["data"]
    assert not {"潞州区教育局", "市卫生健康委员会"} & {x for t in traces for x in t["x"]}


def test_county_ranking_and_chart(dashboard_db: Paths) -> None:
    at = _run(_app())
    county = _table(at, "county_ranking")
    assert county["县区"].tolist() == ["市本级", "潞州区"]
    charts = at.get_by_key("dept_chart").get("plotly_chart")
    assert len(charts) == 1
    traces = json.loads(charts[0].proto.spec)["data"]
    by_grade = {t["name"]: list(t["x"]) for t in traces}
    assert by_grade == {"优秀": ["市发展和改革委员会"], "良好": ["潞州区生态环境局", "市市场监督管理局"],
                        "不合格": ["潞州区交通运输局"]}


def _findings_count(paths: Paths, period: str, dept: str, indicator: str | None = None) -> int:
    return int(_snapshot_frame(paths, "SELECT count(*) AS n FROM findings WHERE period = ? AND dept_id = ? "
                               "AND (? IS NULL OR indicator = ?)", [period, dept, indicator, indicator])["n"][0])


def _department_page(at: AppTest, dept: str | None = None) -> AppTest:
    _run(at)
    at.switch_page(DEPT_PAGE)
    _run(at)
    if dept is not None:
        at.selectbox(key="_dept_select").set_value(dept)
        _run(at)
    return at


def test_department_remediation_list(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    labels = {m.label: m.value for m in at.metric}
    assert labels["总分"] == "75.0" and labels["等级"] == "良好" and labels["全市排名"] == "2 / 4"
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q3", "d_scj") == 4
    assert rows["序号"].tolist() == [1, 2, 3, 4]
    assert set(rows["类型"]) == {"许可", "处罚"}
    assert "长市监罚〔2026〕15号" in rows["文书号/页面"].tolist()
    assert "证件号码" in rows["字段"].tolist()
    assert rows["证据页面"].str.startswith("http://127.0.0.1:8765/d_scj/").all()
    assert rows["存档"].str.fullmatch(r"crawl-1\.warc\.gz#\d+").all()
    assert rows["抓取时间"].notna().all()


def test_personal_data_is_masked(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    rows = _table(at, "remediation")
    text = rows.astype(str).to_string()
    assert MASKED_ID in rows["问题值"].tolist()
    assert RAW_ID not in text and RAW_PHONE not in text
    assert any("139****5678" in m for m in rows["问题"])


def test_indicator_filter(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_scj")
    at.radio(key="indicator").set_value("accuracy")
    _run(at)
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q3", "d_scj", "accuracy") == 2
    assert set(rows["指标"]) == {"准确性"}


def test_period_kept_across_pages(dashboard_db: Paths) -> None:
    at = _run(_app())
    at.sidebar.selectbox[0].set_value("2026Q2")
    at = _department_page(at, "d_scj")
    assert at.sidebar.selectbox[0].value == "2026Q2"
    rows = _table(at, "remediation")
    assert len(rows) == _findings_count(dashboard_db, "2026Q2", "d_scj") == 1


def test_department_from_query_param(dashboard_db: Paths) -> None:
    at = _app()
    at.query_params["dept"] = "d_jtj"
    at = _department_page(at)
    assert at.selectbox(key="_dept_select").value == "d_jtj"
    assert len(_table(at, "remediation")) == _findings_count(dashboard_db, "2026Q3", "d_jtj") == 1


def test_a_province_picks_the_county_first(tmp_path: Path) -> None:
    """A province's hundreds of departments (over PICKER_LIMIT): 部门自查 asks for the 县区 first and lists only
    its departments; a deep link sets both pickers; another county moves to its first department. A city's few
    departments keep the single picker."""
    from dashboard.queries.department import PICKER_LIMIT

    with city_for_app(tmp_path / "province") as paths:
        assert not [s for s in _department_page(_app(), "d_scj").selectbox if s.key == "_dept_county"]
        republish(paths, f"""INSERT INTO departments (dept_id, name, county)
                             SELECT printf('p%04d', i), printf('第%d部门', i), printf('县区%02d', i % 7)
                             FROM range({PICKER_LIMIT}) t(i)""")  # the city's six and the province's many
        depts = _snapshot_frame(paths, "SELECT dept_id, county FROM departments ORDER BY dept_id")
        county_of = dict(zip(depts["dept_id"], depts["county"]))
        at = _app()
        at.query_params["dept"] = "d_jtj"
        at = _department_page(at)
        county, dept = at.selectbox(key="_dept_county"), at.selectbox(key="_dept_select")
        assert county.value == county_of["d_jtj"] and dept.value == "d_jtj"
        assert len(county.options) == len(set(county_of.values()))
        assert len(dept.options) == sum(c == county_of["d_jtj"] for c in county_of.values()) < len(county_of)
        county.set_value("县区03")
        _run(at)
        chosen = at.selectbox(key="_dept_select").value
        assert county_of[chosen] == "县区03" and at.query_params["dept"] == chosen
        assert at.session_state["dept"] == chosen  # the page shows that department
        assert len(at.selectbox(key="_dept_select").options) == sum(c == "县区03" for c in county_of.values())


def test_new_publish_shows_on_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches are keyed by snapshot name: a publish is visible on the next rerun, without clearing them."""
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths)
    monkeypatch.setenv("SGS_DB", str(paths.db))
    at = _run(_app())
    assert _table(at, "dept_ranking")["总分"].max() == pytest.approx(97.3)
    republish(paths, "UPDATE scores SET total = 99.0 WHERE period = '2026Q3' AND dept_id = 'd_fgw'")
    _run(at)
    assert _table(at, "dept_ranking")["总分"].max() == pytest.approx(99.0)


def test_no_snapshot_shows_friendly_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGS_DB", str(tmp_path / "empty" / "sgs.duckdb"))
    at = _run(_app())
    assert any("sgs demo" in i.value for i in at.info)
    assert not at.dataframe


# --- 未能核验 and the second piece of evidence -------------------------------------------------------

def test_department_page_lists_its_unverified_records_masked(dashboard_db: Paths) -> None:
    """A department user sees its own 未能核验 count and rows (reason masked), none of another department's."""
    at = _department_page(login(app(), "scj"))
    labels = {m.label: m.value for m in at.metric}
    assert labels["未能核验记录"] == "2" and labels["全市排名"] == "2 / 4"
    rows = _table(at, "unverified")
    assert rows["文书号/页面"].tolist() == ["长市监许〔2026〕301号", "长市监罚〔2026〕16号"]
    assert rows["未能核验的事项"].tolist() == ["是否按时在信用网站公示", "是否按时在本部门网站公示"]
    assert rows["相对人名称"].tolist() == ["长治市好味餐饮有限公司", "长治市惠民超市有限公司"]
    assert rows["决定日期"].tolist() == ["2026-07-02", "2026-07-20"]
    text = rows.astype(str).to_string()
    assert "无法核验是否按时公示" in text and "139****5678" in text and RAW_PHONE not in text
    assert "潞教许" not in text and "专栏" not in text  # 潞州区教育局's and 生态环境局's rows are not its own
    assert not [w for w in at.warning if "不排名" in w.value]  # a ranked department is not told it is not ranked
    # one row in full, with its archived page as text
    at.selectbox(key="unverified_pick").set_value(1)
    _run(at)
    reason = at.get_by_key("unverified_reason").text[0].value
    assert reason.startswith("长市监罚〔2026〕16号：是否按时在本部门网站公示\n原因：本部门网站未标明公示日期")
    assert "139****5678" in reason and RAW_PHONE not in reason
    page = at.get_by_key("unverified_archived_text").code[0].value
    assert "长市监罚〔2026〕16号" in page and MASKED_ID in page and RAW_ID not in page


def test_query_layer_scopes_unverified_rows(dashboard_db: Paths) -> None:
    from dashboard import auth
    from dashboard.queries import department, evidence, findings, shared

    snap = shared.snapshot_name()
    scj = auth.Viewer("scj", "scj", "department", "d_scj")
    boss = auth.Viewer("boss", "boss", "leader")
    assert department.unverified_total(snap, scj, "2026Q3", "d_jyj") == 0
    assert department.unverified(snap, scj, "2026Q3", "d_jyj").empty
    assert set(department.unverified(snap, scj, "2026Q3")["dept_id"]) == {"d_scj"}
    assert department.unverified_total(snap, boss, "2026Q3") == 5
    assert department.unverified_total(snap, boss, "2026Q3", "d_jyj") == 2
    # the second piece of evidence is the department's own, not another's
    ref = findings.findings(snap, boss, "2026Q3", dept_id="d_scj", rule_id="timeliness_rule")["ref_fetch_id"].iloc[0]
    jtj = auth.Viewer("jtj", "jtj", "department", "d_jtj")
    assert evidence.archived_body(scj, snap, ref) is not None and evidence.archived_body(jtj, snap, ref) is None


def test_department_not_ranked_is_told_why(dashboard_db: Paths) -> None:
    at = _department_page(_app(), "d_jyj")
    warning = at.get_by_key("standing").warning[0].value
    assert "证据不足" in warning and "不排名" in warning and "仅供自查参考" in warning
    labels = {m.label: m.value for m in at.metric}
    assert labels["全市排名"] == "不排名" and labels["等级"] == "不评等级" and labels["未能核验记录"] == "2"
    assert "总分（仅供参考）" in labels
    assert len(_table(at, "unverified")) == 2
    at = _department_page(at, "d_wjw")
    assert "本期无公示记录" in at.get_by_key("standing").warning[0].value
    assert any("本期没有未能核验的记录" in x.value for x in at.success)


def test_finding_detail_shows_the_earlier_page_as_text(dashboard_db: Paths) -> None:
    """The late finding cites the list page of an earlier crawl that did not list the record yet: shown as a
    second archived page, as text, its script and remote resources inert, to the department itself too."""
    from dashboard_city import HOSTILE_TITLE, LIST_PAGE_LISTED, LIST_PAGE_MARK, REF_LABEL

    at = _department_page(login(app(), "scj"))
    assert at.selectbox(key="finding").value == "fid-2026Q3-d_scj-1-timeliness"  # the list starts with timeliness
    first = at.get_by_key("archived_text").code[0].value
    second = at.get_by_key("ref_archived_text").code[0].value
    assert "长市监罚〔2026〕15号" in first
    assert LIST_PAGE_MARK in second and LIST_PAGE_LISTED in second and "长市监罚〔2026〕15号" not in second
    assert HOSTILE_TITLE not in second and "<script" not in second and "example.invalid" not in second
    assert any(REF_LABEL in m.value for m in at.markdown)
    assert not at.html
    at.selectbox(key="finding").set_value("fid-2026Q3-d_scj-1-accuracy")  # a finding citing one page only
    _run(at)
    assert at.get_by_key("archived_text").code[0].value
    with pytest.raises(KeyError):
        at.get_by_key("ref_archived_text")

"""总览 (leaders, assessors): headline figures with their change (departments by standing and the records
that could not be verified among them), the weakest departments (readable on a phone), the department and
county rankings (weakest first by default; a row opens the department's page; departments not ranked listed
after the others, with why), four charts each with its one-line reading (``metrics.readings``) and the worst
problems of the chosen period. Everything comes from precomputed aggregates (scores, county_scores, findings
counted per rule), so the page costs the same for a city or a province."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from metrics import corrections
from dashboard.queries import documents, overview, shared
from dashboard.views import _finding, _stale
from dashboard.views._common import (GRADE_COLORS, change, context, fmt, max_unverified_share, rank_change, require,
                                     scale_note, score_columns, shown_columns, text_columns,
                                     version_choice)
from metrics import readings, results
from core.settings import resolve_paths
from core.vocab import INDICATORS, RANKED, UNGRADED, UNGRADED_COLOR

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUBSCORES = dict(INDICATORS)
RANKING_COLUMNS = {
    "rank": "排名", "name": "部门", "county": "县区", "total": "总分", "grade": "等级", "rank_change": "名次变化",
    "change": "较上期", **SUBSCORES, "n_records": "记录数", "n_unverified": "未能核验", "prev_rank": "上期排名",
}
# what a leader reads first, fitting 1440 px beside the sidebar; 记录数, 未能核验 and 上期排名 one click away
# (名次变化 already says the move, the department's page and the note below the table say the rest)
RANKING_MAIN = [c for c in RANKING_COLUMNS.values() if c not in ("记录数", "未能核验", "上期排名")]
ORDERS = {"asc": "由低到高（最需关注的在前）", "desc": "由高到低"}
WEAKEST = 5  # the departments a leader sees first, also on a phone
COUNTY_CHART_MAX = 20  # counties drawn in the county chart
# each indicator's rules in shades of one colour, so the chart groups them as the scheme does
INDICATOR_SHADES = {"timeliness": px.colors.sequential.Blues, "completeness": px.colors.sequential.Greens,
                    "accuracy": px.colors.sequential.Oranges, "compliance": px.colors.sequential.Purples}
UNRANKED_COLUMNS = {"name": "部门", "county": "县区", "n_records": "记录数", "n_unverified": "未能核验",
                    "standing_name": "排名情况"}
# A chart's figure built once per data shown (plotly express spends ~0.1 s of CPU a figure, on every rerun: half
# of a warm 总览). Shared, never changed after it is built: st.plotly_chart only reads it.
_figure = st.cache_resource(max_entries=64, show_spinner=False)
COUNTY_COLUMNS = {
    "rank": "排名", "county": "县区", "n_departments": "部门数", "n_records": "记录数", **SUBSCORES,
    "total": "总分", "grade": "等级", "change": "较上期", "prev_rank": "上期排名",
}


def headline(snapshot: str, period: str) -> None:
    """The figures a leader asks for first, each with its change since the period before."""
    h = overview.headline(snapshot, require("leader", "assessor"), period, corrections.version(resolve_paths()))
    g = h.get
    cols: Sequence[DeltaGenerator] = st.columns(5)
    cols[0].metric("部门数", fmt(g("n_departments"), "d"), **change(g("n_departments"), g("prev_n_departments"), "+d"))
    cols[1].metric("记录数", fmt(g("n_records"), ",d"), **change(g("n_records"), g("prev_n_records"), "+,d"))
    cols[2].metric("平均得分", fmt(g("avg_total")), **change(g("avg_total"), g("prev_avg_total")), help=RATE_HELP)
    cols[3].metric("问题数", fmt(g("n_findings"), ",d"),
                   **change(g("n_findings"), g("prev_n_findings"), "+,d", lower_is_better=True))
    cols[4].metric("待处理问题", fmt(g("n_open"), ",d"),
                   **change(g("n_open"), g("prev_n_open"), "+,d", lower_is_better=True))
    cols = st.columns(4)
    for col, (key, label) in zip(cols, [("timeliness", "及时率"), ("completeness", "完整率"),
                                        ("accuracy", "准确率"), ("compliance", "合规率")]):
        col.metric(label, fmt(g(key), ".1f", "%"), **change(g(key), g(f"prev_{key}")), help=RATE_HELP)
    cols = st.columns(4)
    for col, (key, label, helptext) in zip(cols, STANDING_METRICS):
        moved = change(g(key), g(f"prev_{key}"), "+,d")
        col.metric(label, fmt(g(key), ",d"), **{**moved, "delta_color": "off"}, help=helptext)


RATE_HELP = "参加排名部门的评估记录中没有该项问题的记录所占比例；平均得分也只计参加排名的部门。"
STANDING_METRICS = [
    ("n_ranked", "参加排名部门", "有评估记录、证据充分，参加本期排名和等级评定的部门。"),
    ("n_no_records", "本期无公示记录", results.standing_note("no_records")),
    ("n_insufficient", "证据不足", results.standing_note("insufficient_evidence")),
    ("n_unverified", "未能核验记录", results.UNVERIFIED_NOTE),
]


def weakest(ranking: pd.DataFrame) -> None:
    """The departments that need attention first: three narrow columns, readable on a phone."""
    ranked = ranking[ranking["standing"] == RANKED].sort_values(["rank", "name"], ascending=[False, True]).head(WEAKEST)
    if ranked.empty:
        return
    st.markdown(f"**最需关注的部门（得分最低的 {len(ranked)} 个）**")
    table = ranked.assign(rank_change=[rank_change(r, p) for r, p in zip(ranked["rank"], ranked["prev_rank"])])
    with st.container(key="weakest"):
        st.dataframe(table[["name", "total", "grade", "rank_change"]].rename(
            columns={"name": "部门", "total": "总分", "grade": "等级", "rank_change": "名次变化"}),
            hide_index=True, placeholder="—", column_config={"总分": st.column_config.NumberColumn(format="%.1f")})


def ranking_table(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranked departments, weakest first unless the reader turns it, every row of the page shown (no box
    to scroll; a province's thousands are paged, ``shared.PAGE_SIZE`` a page, a city's fit on one): total,
    grade and the move since the period before first, then the sub-scores that explain a low total; the records,
    each one's records that could not be verified (未能核验: counted, not deducted) and the previous rank one
    click away (``shown_columns``: the first columns fit a 1440 px screen). A click on a row opens that
    department's page. Returns the page shown (the ranking chart draws the same departments)."""
    order = st.segmented_control("排序", list(ORDERS), default="asc", format_func=ORDERS.__getitem__,
                                 key="ranking_order") or "asc"
    ranked = ranking[ranking["standing"] == RANKED]
    ranked = ranked.sort_values(["rank", "name"], ascending=[order != "asc", True])
    offset = _finding.pager(len(ranked), "ranking_page")
    ranked = ranked.iloc[offset:offset + shared.PAGE_SIZE]
    ranked = ranked.assign(rank_change=[rank_change(r, p) for r, p in zip(ranked["rank"], ranked["prev_rank"])])
    table = ranked[list(RANKING_COLUMNS)].rename(columns=RANKING_COLUMNS)
    st.caption("点击某一行，打开该部门的部门自查页面。")
    scale_note()
    shown = shown_columns(list(table.columns), RANKING_MAIN, "ranking_all_columns", "记录数、未能核验、上期排名")
    with st.container(key="dept_ranking"):  # the key names the table for tests and CSS
        picked = st.dataframe(table, hide_index=True, height="content", placeholder="—", on_select="rerun",
                              selection_mode="single-row", key="ranking_pick", column_order=shown, column_config={
            **score_columns(), **text_columns("部门"),
            "名次变化": st.column_config.TextColumn("名次变化", help="与上一期（同为月或季度）相比名次的变化"),
            "未能核验": st.column_config.NumberColumn("未能核验", format="%d", help=results.UNVERIFIED_NOTE),
        })
    rows = picked.selection.rows if picked is not None else []
    if rows and rows[0] < len(ranked):
        st.switch_page("dashboard/views/department.py", query_params={"dept": ranked.iloc[rows[0]]["dept_id"]})
    return ranked


def unranked_table(ranking: pd.DataFrame, period: str) -> None:
    """The departments not ranked, after the ranking: why (排名情况, 说明), no scores (not comparable)."""
    unranked = ranking[ranking["standing"] != RANKED]
    if unranked.empty:
        return
    st.markdown(f"**未参加排名的部门（{len(unranked)}个）**：不排名、不评等级，得分不与其他部门比较。")
    with st.container(key="dept_unranked"):
        st.dataframe(unranked[list(UNRANKED_COLUMNS)].rename(columns=UNRANKED_COLUMNS), hide_index=True,
                     column_config={"记录数": st.column_config.NumberColumn("记录数", format="%d"),
                                    "未能核验": st.column_config.NumberColumn("未能核验", format="%d")})
    share = max_unverified_share(period)
    with st.container(key="standing_note"):  # each standing's meaning in one plain sentence, readable in full
        st.info("\n\n".join(f"**{results.standing_name(standing)}**：{results.standing_note(standing, share)}"
                             for standing in unranked["standing"].drop_duplicates()))


def unverified_note(ranking: pd.DataFrame) -> None:
    """What 未能核验 means, when the period has any."""
    n = int(ranking["n_unverified"].fillna(0).sum())
    if n:
        with st.container(key="unverified_note"):
            st.info(f"本期共有 {n} 条记录的公示及时性未能核验。{results.UNVERIFIED_NOTE}")


def _show(fig: go.Figure, reading: str, key: str) -> None:
    """A chart under its one-line Chinese reading, in a container the tests and the browser find by ``key``."""
    st.caption(reading)
    with st.container(key=key):
        st.plotly_chart(fig, key=f"{key}_fig")


def ranking_chart(ranking: pd.DataFrame, shown: pd.DataFrame) -> None:
    """Totals in rank order, coloured by grade so the 不合格 departments stand out at a glance (ranked
    departments only): the departments of the ranking's page (``shown``), so a province draws one page's bars,
    not thousands; the reading below speaks of all."""
    ranking = ranking[ranking["standing"] == RANKED]
    page = ranking[ranking["dept_id"].isin(shown["dept_id"])]
    fig = _ranking_figure(page)
    reading = readings.ranking_reading(ranking, shared.GRADES[-1] if shared.GRADES else None)
    if len(page) < len(ranking):
        reading += f"图中为排名表当前页的 {len(page)} 个部门（第 {page['rank'].min()}–{page['rank'].max()} 名）。"
    _show(fig, reading, "dept_chart")


@_figure
def _ranking_figure(page: pd.DataFrame) -> go.Figure:
    data = page.assign(grade=page["grade"].fillna(UNGRADED))
    fig = px.bar(
        data, x="name", y="total", color="grade",
        category_orders={"name": data["name"].tolist(), "grade": [*shared.GRADES, UNGRADED]},
        color_discrete_map={**GRADE_COLORS, UNGRADED: UNGRADED_COLOR},
        labels={"name": "部门", "total": "总分", "grade": "等级"},
        hover_data={"county": True, "rank": True},
    )
    fig.update_layout(yaxis_range=[0, 100], margin={"t": 30}, legend_title_text="等级")
    return fig


def distribution_chart(ranking: pd.DataFrame) -> None:
    """How many departments — every one, as the report counts them — fall in each 10-point band of the
    total (a department not ranked as 未评级)."""
    fig = _distribution_figure(ranking)
    _show(fig, readings.distribution_reading(ranking), "distribution_chart")


@_figure
def _distribution_figure(ranking: pd.DataFrame) -> go.Figure:
    data = ranking.dropna(subset=["total"])
    data = data.assign(band=readings.band_of(data["total"]), grade=data["grade"].where(
        data["standing"] == RANKED).fillna(UNGRADED))
    counts = data.groupby(["band", "grade"]).size().reset_index(name="n")
    fig = px.bar(counts, x="band", y="n", color="grade",
                 category_orders={"band": readings.bands(), "grade": [*shared.GRADES, UNGRADED]},
                 color_discrete_map={**GRADE_COLORS, UNGRADED: UNGRADED_COLOR},
                 labels={"band": "总分区间", "n": "部门数", "grade": "等级"})
    fig.update_layout(margin={"t": 30}, bargap=0.05, yaxis={"dtick": 1 if counts["n"].max() < 10 else None})
    fig.update_xaxes(type="category", categoryarray=readings.bands())
    return fig


def _rule_colors(problems: pd.DataFrame) -> dict[str, str]:
    """Each rule a shade of its indicator's colour."""
    colors = {}
    for indicator, rules in problems.groupby("indicator", sort=False)["rule_name"]:
        shades = INDICATOR_SHADES.get(str(indicator), px.colors.sequential.Greys)
        names = list(dict.fromkeys(rules))
        for i, name in enumerate(names):
            colors[name] = shades[max(3, len(shades) - 1 - i * max(1, (len(shades) - 3) // max(1, len(names))))]
    return colors


def indicator_chart(problems: pd.DataFrame) -> None:
    """Findings per indicator, split by rule (shades of the indicator's colour): which part of the standard
    costs the city most."""
    fig = _indicator_figure(problems)
    _show(fig, readings.indicator_reading(problems), "indicator_chart")


@_figure
def _indicator_figure(problems: pd.DataFrame) -> go.Figure:
    fig = px.bar(problems, x="indicator_name", y="n_findings", color="rule_name",
                 category_orders={"indicator_name": list(INDICATORS.values())},
                 color_discrete_map=_rule_colors(problems),
                 labels={"indicator_name": "指标", "n_findings": "问题数", "rule_name": "问题类型"})
    fig.update_layout(margin={"t": 30})
    return fig


def trend_chart(snapshot: str) -> None:
    """The mean total month by month, city-wide and per county, on an axis close to the figures so the
    differences show."""
    data = overview.trend(snapshot, require("leader", "assessor"))
    if data.empty:
        st.info("暂无按月评分，无法显示趋势。")
        return
    fig = _trend_figure(data)
    _show(fig, readings.trend_reading(data), "trend_chart")


@_figure
def _trend_figure(data: pd.DataFrame) -> go.Figure:
    low, high = float(data["total"].min()), float(data["total"].max())
    pad = max(2.0, (high - low) * 0.15)
    fig = px.line(data, x="period", y="total", color="county", markers=True,
                  labels={"period": "月份", "total": "平均得分", "county": "范围"})
    fig.update_layout(yaxis_range=[max(0.0, low - pad), min(100.0, high + pad) + 0.5], margin={"t": 30},
                      xaxis_type="category")
    return fig


def county_chart(county: pd.DataFrame) -> None:
    """Counties side by side on every sub-score and the total; of a province's hundred, the weakest
    ``COUNTY_CHART_MAX`` (five bars a county: more are unreadable and slow to draw; the table lists all)."""
    shown = county if len(county) <= COUNTY_CHART_MAX else county.sort_values("rank").tail(COUNTY_CHART_MAX)
    fig = _county_figure(shown)
    more = f"图中为得分最低的 {len(shown)} 个县区（共 {len(county)} 个）。" if len(shown) < len(county) else ""
    _show(fig, readings.county_reading(county) + more, "county_chart")


@_figure
def _county_figure(county: pd.DataFrame) -> go.Figure:
    cols = [c for c in ("total", *INDICATORS) if county[c].notna().any()]
    data = county.melt(id_vars="county", value_vars=cols, var_name="what", value_name="score")
    data["what"] = data["what"].map({"total": "总分", **INDICATORS})
    fig = px.bar(data, x="county", y="score", color="what", barmode="group",
                 labels={"county": "县区", "score": "总分 / 分项得分率（%）", "what": "指标"})
    fig.update_layout(yaxis_range=[0, 100], margin={"t": 30})
    return fig


def county_table(county: pd.DataFrame) -> None:
    """Counties ranked by the mean of their departments' scores (市本级 is ranked as one of them)."""
    table = county[list(COUNTY_COLUMNS)].rename(columns=COUNTY_COLUMNS)
    scale_note()
    with st.container(key="county_ranking"):
        st.dataframe(table, hide_index=True, height="content", placeholder="—", column_config=score_columns())


def worst_problems(problems: pd.DataFrame) -> None:
    """The ten most frequent problems of the period, with how many departments share each."""
    table = problems.head(10).rename(columns={"indicator_name": "指标", "rule_name": "问题类型",
                                              "n_findings": "问题数", "n_departments": "涉及部门数"})
    with st.container(key="worst_problems"):
        st.dataframe(table[["问题类型", "指标", "问题数", "涉及部门数"]], hide_index=True)


def downloads(snapshot: str, period: str) -> None:
    """The period's one-page 简报 (Word, PDF), assessment report (Word) and workbook (Excel), each built on the
    first click (reports/)."""
    who = require("leader", "assessor")
    day = date.today().isoformat()
    version = version_choice(snapshot, period, "documents_version")
    label = period if version is None else f"{period}-版本{version}"

    def document(kind: str):
        return lambda: documents.report_document(snapshot, who, period, kind, day, version)

    cols = st.columns(4)
    cols[0].download_button("下载简报（Word，一页）", document("brief"), file_name=f"{label}-双公示工作简报.docx",
                            key="download_brief", mime=DOCX)
    cols[1].download_button("下载简报（PDF）", document("brief_pdf"), file_name=f"{label}-双公示工作简报.pdf",
                            key="download_brief_pdf", mime="application/pdf")
    cols[2].download_button("下载评估报告（Word）", document("report"), file_name=f"{label}-双公示评估报告.docx",
                            key="download_report", mime=DOCX)
    cols[3].download_button("下载评估工作簿（Excel）", document("workbook"), file_name=f"{label}-双公示评估工作簿.xlsx",
                            key="download_workbook", mime=XLSX)


def main() -> None:
    who = require("leader", "assessor")
    snapshot, period = context()
    st.title(f"双公示监测评估总览 · {period}")
    _stale.banner(snapshot, period)
    headline(snapshot, period)
    ranking = overview.department_ranking(snapshot, who, period)
    if not ranking.empty:
        weakest(ranking)
        downloads(snapshot, period)
    st.subheader("部门排名")
    if ranking.empty:
        st.info("本期没有部门得分。")
    else:
        shown = ranking_table(ranking)
        unranked_table(ranking, period)
        unverified_note(ranking)
        ranking_chart(ranking, shown)
    st.subheader("县区排名")
    county = overview.county_ranking(snapshot, who, period)
    if county.empty:
        st.info("本期没有县区得分。")
    else:
        county_table(county)
    problems = overview.problem_counts(snapshot, who, period)
    st.subheader("突出问题")
    if problems.empty:
        st.success("本期没有发现问题。")
    else:
        worst_problems(problems)
    st.subheader("图表")
    left, right = st.columns(2)
    with left:
        st.markdown("**得分分布**")
        if not ranking.empty:
            distribution_chart(ranking)
        st.markdown("**月度趋势**")
        trend_chart(snapshot)
    with right:
        st.markdown("**指标问题构成**")
        if not problems.empty:
            indicator_chart(problems)
        st.markdown("**县区对比**")
        if not county.empty:
            county_chart(county)


main()

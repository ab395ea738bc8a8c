"""总览: the city's headline figures and the department and county rankings for the chosen period."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import queries
from dashboard.views._common import GRADE_COLORS, context, fmt, score_columns

RANKING_COLUMNS = {
    "rank": "排名", "name": "部门", "county": "县区", "n_records": "记录数", "timeliness": "及时性",
    "completeness": "完整性", "accuracy": "准确性", "total": "总分", "grade": "等级",
}
COUNTY_COLUMNS = {
    "rank": "排名", "county": "县区", "n_departments": "部门数", "n_records": "记录数", "timeliness": "及时性",
    "completeness": "完整性", "accuracy": "准确性", "total": "总分", "grade": "等级",
}


def headline(snapshot: str, period: str) -> None:
    """The seven figures a leader asks for first; rates are record-weighted (see queries.headline)."""
    h = queries.headline(snapshot, period)
    cols = st.columns(7)
    cols[0].metric("部门数", fmt(h["n_departments"], "d"))
    cols[1].metric("记录数", fmt(h["n_records"], ",d"))
    cols[2].metric("平均得分", fmt(h["avg_total"]))
    cols[3].metric("及时率", fmt(h["timeliness"], ".1f", "%"))
    cols[4].metric("完整率", fmt(h["completeness"], ".1f", "%"))
    cols[5].metric("准确率", fmt(h["accuracy"], ".1f", "%"))
    cols[6].metric("问题数", fmt(h["n_findings"], ",d"))


def ranking_table(ranking: pd.DataFrame) -> None:
    """Departments in rank order with the three sub-scores, so a low total can be traced to its cause."""
    table = ranking[list(RANKING_COLUMNS)].rename(columns=RANKING_COLUMNS)
    with st.container(key="dept_ranking"):  # the key names the table for tests and CSS
        st.dataframe(table, hide_index=True, column_config=score_columns())


def ranking_chart(ranking: pd.DataFrame) -> None:
    """Totals in rank order, coloured by grade so the 不合格 departments stand out at a glance."""
    data = ranking.assign(grade=ranking["grade"].fillna("未评级"))
    fig = px.bar(
        data, x="name", y="total", color="grade",
        category_orders={"name": data["name"].tolist(), "grade": list(queries.GRADES) + ["未评级"]},
        color_discrete_map={**GRADE_COLORS, "未评级": "#9e9e9e"},
        labels={"name": "部门", "total": "总分", "grade": "等级"},
        hover_data={"county": True, "rank": True},
    )
    fig.update_layout(yaxis_range=[0, 100], margin={"t": 30}, legend_title_text="等级")
    st.plotly_chart(fig, key="dept_chart")


def county_table(snapshot: str, period: str) -> None:
    """Counties ranked by the mean of their departments' scores (市本级 is ranked as one of them)."""
    county = queries.county_ranking(snapshot, period)
    if county.empty:
        st.info("本期没有县区得分。")
        return
    table = county[list(COUNTY_COLUMNS)].rename(columns=COUNTY_COLUMNS)
    with st.container(key="county_ranking"):
        st.dataframe(table, hide_index=True, column_config=score_columns())


def main() -> None:
    snapshot, period = context()
    st.title(f"双公示监测评估总览 · {period}")
    headline(snapshot, period)
    ranking = queries.department_ranking(snapshot, period)
    st.subheader("部门排名")
    if ranking.empty:
        st.info("本期没有部门得分。")
    else:
        ranking_table(ranking)
        ranking_chart(ranking)
    st.subheader("县区排名")
    county_table(snapshot, period)


main()

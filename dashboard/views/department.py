"""部门自查: one department's score for the chosen period and its remediation list (整改清单).

A department's liaison opens this page (often from a link carrying ``?dept=<id>``) to see what to fix.
Every row names the decision by 文书号 and 相对人名称, says what is wrong, and points at the evidence: the
page as published and the archived copy read at ``fetched_at``. Values are masked (metrics.privacy).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.views._common import context, fmt

DEPT_KEY = "dept"  # the chosen department, kept across pages
_WIDGET_KEY = "_dept_select"  # widget state is dropped on other pages, so it mirrors DEPT_KEY
ALL = "all"


def choose_department(snapshot: str) -> str | None:
    """The department from ``?dept=``, else the last one chosen, else the first; kept in the URL."""
    depts = queries.departments(snapshot)
    if depts.empty:
        return None
    ids = depts["dept_id"].tolist()
    labels = {r.dept_id: f"{r.name}（{r.county}）" for r in depts.itertuples()}
    wanted = st.query_params.get(DEPT_KEY)
    if wanted not in ids:
        wanted = st.session_state.get(DEPT_KEY)
    st.session_state[DEPT_KEY] = wanted if wanted in ids else ids[0]
    st.session_state[_WIDGET_KEY] = st.session_state[DEPT_KEY]

    def remember() -> None:
        st.session_state[DEPT_KEY] = st.session_state[_WIDGET_KEY]
        st.query_params[DEPT_KEY] = st.session_state[_WIDGET_KEY]

    choice = st.selectbox("部门", ids, key=_WIDGET_KEY, format_func=labels.get, on_change=remember)
    st.query_params[DEPT_KEY] = choice
    return choice


def score_metrics(score: dict[str, Any]) -> None:
    """Total, grade and both ranks first (what the assessment reports), then the sub-scores behind them."""
    row1 = st.columns(4)
    row1[0].metric("总分", fmt(score["total"]))
    row1[1].metric("等级", score["grade"] or "—")
    row1[2].metric("全市排名", f"{score['rank']} / {score['n_ranked']}" if score["rank"] else "—")
    row1[3].metric("县区内排名", f"{score['county_rank']} / {score['n_in_county']}" if score["county_rank"] else "—")
    row2 = st.columns(4)
    row2[0].metric("评估记录数", fmt(score["n_records"], ",d"))
    for col, (key, label) in zip(row2[1:], queries.INDICATORS.items()):
        col.metric(label, fmt(score[key]))


def remediation_table(df: pd.DataFrame) -> pd.DataFrame:
    """The finding rows as the liaison reads them (Chinese headings, field code with its name)."""
    fields = [f"{code} {name}" if name else code for code, name in zip(df["field"], df["field_name"])]
    return pd.DataFrame({
        "序号": range(1, len(df) + 1),
        "指标": df["indicator"].map(lambda v: queries.INDICATORS.get(v, v)),
        "问题类型": df["rule_name"],
        "类型": df["kind"].map(lambda v: queries.KIND_LABELS.get(v, v)),
        "文书号": df["wsh"],
        "相对人名称": df["xdr_mc"],
        "字段": fields,
        "问题": df["message"],
        "问题值": df["value"],
        "证据页面": df["url"],
        "存档": df["archive"],
        "抓取时间": df["fetched_at"],
        "规则": df["rule_id"],
    })


def remediation(snapshot: str, period: str, dept_id: str) -> None:
    """The 整改清单 with a filter by indicator, plus a CSV download to hand to whoever fixes the pages."""
    counts = queries.finding_counts(snapshot, period, dept_id)
    options = [ALL, *queries.INDICATORS]
    labels = {ALL: f"全部（{sum(counts.values())}）",
              **{k: f"{v}（{counts.get(k, 0)}）" for k, v in queries.INDICATORS.items()}}
    picked = st.radio("按指标筛选", options, format_func=labels.get, horizontal=True, key="indicator")
    df = queries.remediation(snapshot, period, dept_id, None if picked == ALL else picked)
    if df.empty:
        st.success("本期没有发现需要整改的问题。" if picked == ALL else "该指标下没有发现问题。")
        return
    table = remediation_table(df)
    with st.container(key="remediation"):
        st.dataframe(table, hide_index=True, column_config={
            "序号": st.column_config.NumberColumn("序号", format="%d", width="small"),
            "证据页面": st.column_config.LinkColumn("证据页面", help="发现问题时读取的原始页面"),
            "存档": st.column_config.TextColumn("存档", help="WARC 存档文件#偏移量：抓取时页面内容的留存副本"),
            "抓取时间": st.column_config.DatetimeColumn("抓取时间", format="YYYY-MM-DD HH:mm"),
        })
    st.download_button(
        "下载整改清单（CSV）", table.to_csv(index=False).encode("utf-8-sig"),
        file_name=f"整改清单-{dept_id}-{period}.csv", mime="text/csv",
    )


def main() -> None:
    snapshot, period = context()
    st.title(f"部门自查 · {period}")
    dept_id = choose_department(snapshot)
    if dept_id is None:
        st.info("还没有配置任何部门。")
        return
    score = queries.department_score(snapshot, period, dept_id)
    if score is None:
        st.info("该部门在本期没有得分（可能没有纳入评估的记录）。")
    else:
        score_metrics(score)
    st.subheader("整改清单")
    remediation(snapshot, period, dept_id)


main()

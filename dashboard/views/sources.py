"""采集状态: each source's last crawl (when, pages, records, errors, status), its crawl history and the
availability problems crawls found (unreachable, column missing, dead links, …). A department user sees its
own sources. URLs and error messages come masked from ``queries`` (a page named after its subject's ID number
shows as ``…/110101********1234.html``)."""
from __future__ import annotations

import streamlit as st

from dashboard.queries import sources
from dashboard.queries.shared import PAGE_SIZE
from dashboard.views._common import require, text_table
from dashboard.views._finding import pager
from core.vocab import AVAILABILITY, KIND_LABELS, RUN_STATUSES


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot = st.session_state["snapshot"]
    st.title("采集状态")
    status = sources.source_status(snapshot, who)
    if status.empty:
        st.info("暂无采集来源。")
        return
    table = status.rename(columns={"dept_name": "部门", "source_id": "来源", "channel": "渠道", "kind": "类型",
                                   "last_crawl": "最近采集", "status": "状态", "pages": "页面数", "records": "记录数",
                                   "errors": "错误数", "message": "错误信息", "n_problems": "可用性问题",
                                   "start_url": "入口地址"})
    table["状态"] = table["状态"].map(lambda s: RUN_STATUSES.get(s, s) if isinstance(s, str) else "未采集")
    table["类型"] = table["类型"].map(KIND_LABELS)
    at = pager(len(table), "sources_page")  # a province's thousands of sources, a page at a time
    with st.container(key="source_status"):
        st.dataframe(text_table(table[["部门", "来源", "渠道", "类型", "最近采集", "状态", "页面数", "记录数", "错误数",
                                       "错误信息", "可用性问题", "入口地址"]].iloc[at:at + PAGE_SIZE]), hide_index=True,
                     column_config={"最近采集": st.column_config.DatetimeColumn("最近采集", format="YYYY-MM-DD HH:mm")})
    runs = sources.source_runs(snapshot, who)
    runs["status"] = runs["status"].map(lambda s: RUN_STATUSES.get(s, s))
    _section("采集历史", "source_runs", runs, "暂无逐来源的采集历史：运行 sgs crawl 后在此显示。",
             {"started_at": "开始时间", "source_id": "来源", "status": "状态", "pages": "页面数", "records": "记录数",
              "errors": "错误数", "message": "错误信息", "crawl_id": "采集批次"})
    problems = sources.availability(snapshot, who)
    problems["problem"] = problems["problem"].map(lambda p: AVAILABILITY.get(p, p))
    _section("可用性问题", "availability", problems, "暂无可用性问题记录。",
             {"observed_at": "发现时间", "source_id": "来源", "dept_name": "部门", "problem": "问题", "url": "地址",
              "detail": "说明"})


def _section(title: str, key: str, frame, empty: str, labels: dict[str, str]) -> None:
    """A titled table with Chinese column names, or a note saying why there is none yet."""
    st.subheader(title)
    if frame.empty:
        st.info(empty)
        return
    with st.container(key=key):
        st.dataframe(text_table(frame.rename(columns=labels)), hide_index=True)

main()

"""Streamlit entry of the sgs dashboard: ``streamlit run streamlit_app.py`` (or ``sgs serve``).

Runs on every interaction before the page: it finds the current published snapshot, lets the user pick
the period once in the sidebar (kept in ``st.session_state`` across pages) and shows the data time. The
pages themselves live in ``dashboard/views/``. Only the published snapshot is read, never the working
database, so the dashboard keeps working while a crawl writes.
"""
from __future__ import annotations

import duckdb
import streamlit as st

from dashboard import queries
from dashboard.views._common import NO_DATA, PERIOD_KEY, SNAPSHOT_KEY
from metrics.store import StoreError

PAGES = [
    st.Page("dashboard/views/overview.py", title="总览", default=True),
    st.Page("dashboard/views/department.py", title="部门自查"),
]


def sidebar(snapshot: str) -> bool:
    """Choose the period (latest by default) and show the data time; False when nothing is scored."""
    periods = queries.periods(snapshot)
    if not periods:
        return False
    if st.session_state.get(PERIOD_KEY) not in periods:
        st.session_state[PERIOD_KEY] = periods[0]
    with st.sidebar:
        st.selectbox("评估期", periods, key=PERIOD_KEY)
        when = queries.data_time(snapshot)
        st.caption(f"数据时间：{when:%Y-%m-%d %H:%M}" if when else "数据时间：未知")
    st.session_state[SNAPSHOT_KEY] = snapshot
    return True


def main() -> None:
    st.set_page_config(layout="wide", page_title="双公示监测评估")
    page = st.navigation(PAGES)
    try:
        snapshot = queries.snapshot_name()
        if snapshot is None or not sidebar(snapshot):
            st.title("双公示监测评估")
            st.info(NO_DATA)
            return
        page.run()
    except (StoreError, duckdb.IOException) as exc:
        # The snapshot was replaced and pruned between reading CURRENT and opening it, or is unreadable.
        st.warning(f"数据正在更新，请稍后刷新页面。（{exc}）")


main()

"""What the pages share: the chosen snapshot and period, and how scores are formatted.

``streamlit_app.py`` decides the snapshot and period once per run (sidebar) and leaves them in
``st.session_state``; pages read them here so every page shows the same period of the same snapshot.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import queries

NO_DATA = "还没有可显示的评估数据：请先运行 sgs demo 或 sgs crawl/score，生成并发布评估结果后再刷新本页。"
SNAPSHOT_KEY = "snapshot"
PERIOD_KEY = "period"
GRADE_COLORS: dict[str, str] = {"优秀": "#2e7d32", "良好": "#1976d2", "合格": "#f9a825", "不合格": "#c62828"}


def context() -> tuple[str, str]:
    """The snapshot name and period the entry script chose for this run."""
    return st.session_state[SNAPSHOT_KEY], st.session_state[PERIOD_KEY]


def score_column(label: str) -> Any:
    """A sub-score or total column: one decimal, as the assessment reports print them."""
    return st.column_config.NumberColumn(label, format="%.1f")


def score_columns() -> dict[str, Any]:
    """Column settings shared by the department and county rankings."""
    return {
        "排名": st.column_config.NumberColumn("排名", format="%d", width="small"),
        "记录数": st.column_config.NumberColumn("记录数", format="%d"),
        **{label: score_column(label) for label in queries.INDICATORS.values()},
        "总分": st.column_config.ProgressColumn("总分", format="%.1f", min_value=0, max_value=100),
        "等级": st.column_config.TextColumn("等级", width="small"),
    }


def fmt(value: Any, spec: str = ".1f", suffix: str = "") -> str:
    """A number for ``st.metric``; a dash when the period has nothing to measure."""
    if value is None:
        return "—"
    return f"{value:{spec}}{suffix}"

"""访问日志 (leaders): every time an assessor revealed a masked value — who, when, which record and field."""
from __future__ import annotations

import streamlit as st

from dashboard import workbench
from dashboard.views._common import require
from core.settings import resolve_paths


def main() -> None:
    require("leader")
    st.title("访问日志")
    st.caption("评估人员每次查看被遮蔽的个人信息原值都记录在此（最近 1000 条）。")
    log = workbench.reveal_log(resolve_paths())
    if log.empty:
        st.info("暂无查看原值的记录。")
        return
    with st.container(key="reveal_log"):
        st.dataframe(log.rename(columns={"at": "时间", "username": "查看人", "dept_id": "部门", "kind": "类型",
                                         "record_key": "记录", "field": "字段", "finding_id": "问题编号",
                                         "reason": "理由"}), hide_index=True)


main()

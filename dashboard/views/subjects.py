"""主体查询: every licensing and penalty record of one subject, across departments and channels, by its
统一社会信用代码 (exact) or by name (contains). A department user finds only its own department's records."""
from __future__ import annotations

import streamlit as st

from dashboard.queries import subjects
from dashboard.views._common import mask_names, require
from core.vocab import CHANNEL_NAMES, KIND_LABELS

COLUMNS = {"kind": "类型", "dept_name": "部门", "channel": "渠道", "wsh": "文书号", "xdr_mc": "相对人名称",
           "shxym": "统一社会信用代码", "jdrq": "决定日期", "url": "页面"}


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot = st.session_state["snapshot"]
    st.title("主体查询")
    text = st.text_input("统一社会信用代码或名称（至少 2 个字）", key="subject")
    if len((text or "").strip()) < 2:
        st.info("输入统一社会信用代码（精确匹配）或名称中的文字（包含匹配）。")
        return
    df = subjects.subject_records(snapshot, who, text, mask_names=mask_names())
    if df.empty:
        st.info("没有找到该主体的许可或处罚记录。")
        return
    table = df[list(COLUMNS)].rename(columns=COLUMNS)
    table["类型"] = table["类型"].map(KIND_LABELS)
    table["渠道"] = table["渠道"].map(lambda c: CHANNEL_NAMES.get(c, c))
    st.caption(f"共 {len(df)} 条记录（最多显示 500 条）")
    with st.container(key="subject_records"):
        st.dataframe(table, hide_index=True, placeholder="—", column_config={"页面": st.column_config.LinkColumn("页面")})


main()

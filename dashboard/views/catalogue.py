"""事项目录: each department's catalogue of licensing and penalty items and how many of the period's
published decisions name each item — an item with none may be work done but not disclosed."""
from __future__ import annotations

import streamlit as st

from dashboard.queries import catalogue
from dashboard.views._common import context, require
from core.vocab import KIND_LABELS


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot, period = context()
    st.title(f"事项目录 · {period}")
    df = catalogue.catalogue(snapshot, who, period)
    if df.empty:
        st.info("暂无事项目录：城市配置中还没有登记各部门的许可、处罚事项。")
        return
    covered = int((df["n_records"] > 0).sum())
    cols = st.columns(3)
    cols[0].metric("事项数", f"{len(df)}")
    cols[1].metric("本期有公示的事项", f"{covered}")
    cols[2].metric("覆盖率", f"{100 * covered / len(df):.1f}%")
    per_dept = (df.assign(covered=df["n_records"] > 0)
                  .groupby(["dept_name", "county"], sort=False)
                  .agg(事项数=("item_code", "count"), 有公示事项=("covered", "sum"), 公示记录数=("n_records", "sum"))
                  .reset_index().rename(columns={"dept_name": "部门", "county": "县区"}))
    per_dept["覆盖率"] = 100 * per_dept["有公示事项"] / per_dept["事项数"]
    st.subheader("各部门覆盖情况")
    with st.container(key="catalogue_coverage"):
        st.dataframe(per_dept, hide_index=True,
                     column_config={"覆盖率": st.column_config.ProgressColumn("覆盖率", format="%.0f%%",
                                                                             min_value=0, max_value=100)})
    st.subheader("事项明细")
    table = df.rename(columns={"dept_name": "部门", "item_code": "事项编码", "name": "事项名称", "basis": "设定依据",
                               "n_records": "本期公示记录数"})
    table["类型"] = df["kind"].map(KIND_LABELS)
    with st.container(key="catalogue_items"):
        st.dataframe(table[["部门", "类型", "事项编码", "事项名称", "设定依据", "本期公示记录数"]], hide_index=True)


main()

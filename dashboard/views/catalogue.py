"""事项目录: each department's catalogue of licensing and penalty items and how many of the period's
published decisions name each item — an item with none may be work done but not disclosed.

An assessor can also enter or edit a department's catalogue here (录入事项目录). The dashboard never writes the
database: the edited catalogue goes to the workbench (``metrics.catalogue.save_entry``, every row checked) and
takes effect at the next scoring run (``sgs score``, the daily run, or ``sgs catalogue apply``)."""
from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from core.settings import resolve_paths
from core.vocab import KIND_LABELS, KIND_NAMES
from dashboard.auth import Viewer
from dashboard.queries import catalogue
from dashboard.queries.department import departments
from dashboard.queries.shared import PAGE_SIZE
from dashboard.views._common import context, require
from dashboard.views._finding import pager
from metrics import catalogue as entries


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot, period = context()
    st.title(f"事项目录 · {period}")
    df = catalogue.catalogue(snapshot, who, period)
    if who.role == "assessor":
        with st.expander("录入或修改部门事项目录", expanded=df.empty):
            editor(snapshot, who)
    if df.empty:
        st.info("暂无事项目录：城市配置中还没有登记各部门的许可、处罚事项（可用 sgs catalogue import 导入，或由评估人员在上方录入）。")
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
    at = pager(len(per_dept), "coverage_page")  # a province's thousands of departments, a page at a time
    with st.container(key="catalogue_coverage"):
        st.dataframe(per_dept.iloc[at:at + PAGE_SIZE], hide_index=True,
                     column_config={"覆盖率": st.column_config.ProgressColumn("覆盖率", format="%.0f%%",
                                                                             min_value=0, max_value=100)})
    st.subheader("事项明细")
    table = df.rename(columns={"dept_name": "部门", "item_code": "事项编码", "name": "事项名称", "basis": "设定依据",
                               "n_records": "本期公示记录数"})
    table["类型"] = df["kind"].map(KIND_LABELS)
    at = pager(len(table), "items_page")
    with st.container(key="catalogue_items"):
        st.dataframe(table[["部门", "类型", "事项编码", "事项名称", "设定依据", "本期公示记录数"]].iloc[at:at + PAGE_SIZE],
                     hide_index=True)


def editor(snapshot: str, who: Viewer) -> None:
    """The assessor's editor of one department's whole catalogue, started from the newest pending entry
    (saved but not yet applied by a scoring run) or else from the catalogue as published."""
    depts = departments(snapshot, who)
    if depts.empty:
        st.info("还没有部门。")
        return
    names = dict(zip(depts["dept_id"], depts["name"]))
    dept = st.selectbox("部门", list(names), format_func=lambda d: f"{names[d]}（{d}）", key="catalogue_dept")
    paths = resolve_paths()
    try:
        applied = catalogue.applied_entries(snapshot)
    except duckdb.Error:  # a snapshot published before schema 009: the next pipeline run migrates it
        st.info("数据快照版本较旧：请先运行一次 sgs score 或 sgs crawl，再录入事项目录。")
        return
    pending = [e for e in entries.entries(paths, dept) if entries.ref_of(e["id"]) not in applied]
    header = list(entries.TEMPLATE.values())
    if pending:
        e = pending[0]
        st.warning(f"{e['username']} 于 {e['at']} 保存的修改尚未生效，将在下次评分时生效；下表为该修改。")
        start = pd.DataFrame([[i[c] if c != "kind" else KIND_NAMES.get(i[c], i[c]) for c in entries.FIELDS]
                              for i in e["items"]], columns=header)
    else:
        now = catalogue.department_items(snapshot, who, dept)
        start = pd.DataFrame({entries.TEMPLATE[c]: now[c] if c != "kind" else now[c].map(KIND_NAMES)
                              for c in entries.FIELDS}, columns=header)
    edited = st.data_editor(
        start, num_rows="dynamic", hide_index=True, key=f"catalogue_editor_{dept}",
        column_config={"事项类型": st.column_config.SelectboxColumn("事项类型", options=list(KIND_NAMES.values()),
                                                                   required=True)})
    st.caption("保存后不会立即改变评分：修改在下次评分（sgs score、每日运行或 sgs catalogue apply）时生效，"
               "并替换该部门的整个事项目录。")
    if st.button("保存事项目录", key="catalogue_save"):
        try:
            entry = entries.save_entry(paths, dept, [{str(k): v for k, v in r.items()} for r in edited.to_dict("records")],
                                       who.username)
        except entries.CatalogueError as exc:
            st.error(str(exc))
        else:
            st.success(f"已保存（第 {entry} 号录入），将在下次评分时生效。")


main()

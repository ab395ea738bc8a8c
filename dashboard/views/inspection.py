"""录入检查问题: an assessor records a problem found by 书面检查 or 实地核查 (department, kind, method, severity,
day, the record's 文书号 or the page, what is wrong, the evidence file). The dashboard never writes the
database: the entry goes to the workbench (``metrics.inspections``), and the rule ``manual_inspection`` makes it
a finding of the period of its day at the next scoring run, deducted like any other. The evidence is checked
by content (PDF/PNG/JPEG, ≤ 10 MB) and never shown as a page."""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core.privacy import mask_text
from core.settings import resolve_paths
from core.vocab import KIND_NAMES, SEVERITIES
from dashboard.auth import Viewer
from dashboard.queries.department import departments
from dashboard.views._common import context, require
from metrics import inspections
from metrics.corrections import Attachment, WorkbenchError


def main() -> None:
    who = require("leader", "assessor")
    snapshot, _ = context()
    st.title("录入检查问题")
    st.caption("书面检查、实地核查发现的问题：录入后在下次评分（sgs score 或每日运行）时计入所在期间的问题清单，并按评分方案扣分。")
    depts = departments(snapshot, who)
    names = dict(zip(depts["dept_id"], depts["name"]))
    if who.role == "assessor" and names:
        form(who, names)
    listing(names)


def form(who: Viewer, names: dict[str, str]) -> None:
    """The entry form; the store checks every field and says what to fix."""
    with st.form(key="inspection_form", clear_on_submit=True):
        dept = st.selectbox("被检查部门", list(names), format_func=lambda d: f"{names[d]}（{d}）")
        c1, c2, c3 = st.columns(3)
        kind = c1.radio("类别", list(KIND_NAMES), format_func=KIND_NAMES.__getitem__, horizontal=True, index=1)
        method = c2.radio("检查方式", list(inspections.METHODS), format_func=inspections.METHODS.__getitem__,
                          horizontal=True)
        severity = c3.selectbox("严重程度", list(SEVERITIES), format_func=SEVERITIES.__getitem__, index=1)
        day = st.date_input("检查日期", value=date.today(), max_value=date.today())
        wsh = st.text_input("涉及记录的文书号（可选；与网上记录匹配时问题记在该记录上）")
        url = st.text_input("涉及页面网址（可选）")
        description = st.text_area("问题描述")
        upload = st.file_uploader("证据文件（PDF、PNG 或 JPEG，不超过 10 MB）", type=["pdf", "png", "jpg", "jpeg"])
        submitted = st.form_submit_button("录入")
    if not submitted:
        return
    evidence = Attachment(upload.getvalue(), upload.name) if upload is not None else None
    try:
        entry = inspections.add(resolve_paths(), dept_id=dept, kind=kind, method=method, severity=severity,
                                inspected_on=day, description=description, evidence=evidence,
                                username=who.username, wsh=wsh, url=url)
    except WorkbenchError as exc:
        st.error(str(exc))
    else:
        st.success(f"已录入检查问题 #{entry}：下次评分时计入问题清单。")


def listing(names: dict[str, str]) -> None:
    """Every recorded entry, newest first, masked (an assessor may have typed an ID or a mobile number)."""
    rows = inspections.entries(resolve_paths())
    st.subheader("已录入的检查问题")
    if not rows:
        st.info("还没有录入检查问题。")
        return
    table = pd.DataFrame([{
        "编号": e["id"], "部门": names.get(e["dept_id"], e["dept_id"]), "检查日期": e["inspected_on"],
        "方式": inspections.METHODS.get(e["method"], e["method"]), "严重程度": SEVERITIES.get(e["severity"], ""),
        "类别": KIND_NAMES.get(e["kind"], e["kind"]), "文书号": mask_text(e["wsh"] or ""),
        "问题描述": mask_text(e["description"]), "页面": mask_text(e["url"] or ""), "证据文件": e["attachment"],
        "录入人": e["username"], "录入时间": e["at"]} for e in rows])
    with st.container(key="inspection_entries"):
        st.dataframe(table, hide_index=True)


main()

"""信用异议: subjects' objections to published records (长治（九）) and the period's 信用修复核查 (长治（十）).

The credit office (an assessor account) enters each objection the portal received; it goes to the department
that made the decision, which answers it here in writing with the outcome (维持 / 修改 / 撤下) — its own
objections only; a late answer is taken, and the lateness still counts (rule ``objection_unanswered``).
Leaders read everything. What people enter goes to ``workbench.sqlite3`` through ``metrics.objections``; the
next scoring run reads it. Nothing a subject or a page wrote is rendered as HTML.
"""
from __future__ import annotations

from datetime import date

import streamlit as st

from core.vocab import KIND_LABELS
from dashboard.auth import Viewer
from dashboard.queries import department as dept_queries
from dashboard.queries import objections as queries
from dashboard.views._common import context, require
from metrics import objections
from core.settings import resolve_paths


def enter(names: dict[str, str], who: Viewer) -> None:
    """The credit office's form: one objection, routed to the department that made the decision."""
    st.subheader("登记异议")
    cols = st.columns(3)
    dept = cols[0].selectbox("作出决定的部门", list(names), format_func=lambda d: names[d], key="obj_dept")
    kind = cols[1].selectbox("类别", list(KIND_LABELS), format_func=lambda k: KIND_LABELS[k], key="obj_kind")
    kinds = cols[2].selectbox("异议类型", list(objections.TYPES), format_func=lambda t: objections.TYPES[t],
                              key="obj_type")
    cols = st.columns(3)
    wsh = cols[0].text_input("文书号", key="obj_wsh")
    subject = cols[1].text_input("相对人名称", key="obj_subject")
    subject_id = cols[2].text_input("统一社会信用代码/证件号码（显示时遮蔽）", key="obj_subject_id")
    received = st.date_input("信用网站收到日期", value=date.today(), key="obj_received")
    content = st.text_area("异议内容", key="obj_content")
    if st.button("登记", key="obj_add"):
        if dept is None or kind is None or kinds is None:
            st.error("请选择部门、类别和异议类型。")
            return
        item = objections.Objection(dept, kind, wsh, subject, kinds, received.isoformat(), subject_id or None,
                                    content or None)
        try:
            new = objections.add(resolve_paths(), [item], names, username=who.username)
        except objections.ObjectionError as exc:
            st.error(str(exc))
            return
        st.success("已登记，转交部门答复。" if new else "该异议已登记过，未重复登记。")


def answer(who: Viewer, table) -> None:
    """The department's written answer to one of its objections."""
    if table.empty:
        return
    st.subheader("书面答复")
    labels = {oid: f"{r['收到日期']} {r['文书号']} {r['相对人']}（{r['状态']}）"
              for oid, r in zip(table["objection_id"], table.to_dict("records"))}
    chosen = st.selectbox("异议", list(labels), format_func=lambda o: labels[o], key="obj_pick")
    outcome = st.radio("处理结果", list(objections.OUTCOMES), format_func=lambda o: objections.OUTCOMES[o],
                       horizontal=True, key="obj_outcome")
    if chosen is None or outcome is None:
        return
    text = st.text_area("答复意见（书面）", key="obj_answer")
    if st.button("提交答复", key="obj_submit"):
        try:
            objections.answer(resolve_paths(), chosen, text, outcome, username=who.username, role=who.role,
                              scope=who.scope)
        except objections.ObjectionError as exc:
            st.error(str(exc))
        else:
            st.success("答复已提交。")
            st.rerun()
    with st.container(key="obj_history"):
        st.dataframe(queries.answers(who, chosen), hide_index=True)


def office_note(period: str, names: dict[str, str]) -> str:
    """Whose score the repair checks count against, in plain words; with none named, which setting of which
    scheme file names the credit office (an administrator's change, then a rescore)."""
    office = queries.credit_office(period)
    if office:
        return (f"下列核查结果中不符合条件的，计入信用办（{names.get(office, office)}）的得分"
                "（问题类型“信用修复不符合条件”）。")
    return (f"{period[:4]} 年度评分方案没有指定信用办（负责审核信用修复的部门），下列核查结果只在本页列出，不计入任何部门的得分。"
            f"如需计入信用办的得分，请系统管理员在评分方案 {period[:4]}.toml 的“相对人异议与信用修复”部分，"
            "把 credit_office 填为信用办的部门编号，然后重新计分。")


def repair_section(snapshot: str, who: Viewer, period: str, names: dict[str, str]) -> None:
    """信用修复核查 (leaders, assessors): the grants of the period the policy refuses or cannot settle."""
    st.subheader(f"信用修复核查 · {period}")
    st.caption(office_note(period, names))
    df = queries.repair_checks(snapshot, who, period)
    if df.empty:
        st.info("本期没有不符合条件或未能核验的信用修复（或尚未导入信用修复登记：sgs repair import）。")
        return
    with st.container(key="repair_checks"):
        st.dataframe(df, hide_index=True)


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot, period = context()
    st.title("信用异议")
    st.caption("相对人认为公示信息存在错误、遗漏、超期公示的，由信用网站受理、转作出决定的部门书面答复"
               "（长治市实施意见（九））。")
    depts = dept_queries.departments(snapshot, who)
    names = dict(zip(depts["dept_id"], depts["name"]))
    table = queries.objection_list(who, names)
    if who.role == "assessor":
        enter(names, who)
        table = queries.objection_list(who, names)
    st.subheader("异议清单")
    with st.container(key="objections"):
        if table.empty:
            st.caption("还没有登记的异议。")
        st.dataframe(table.drop(columns=["objection_id"]), hide_index=True, placeholder="—")
    if who.role == "department":
        answer(who, table)
    else:
        repair_section(snapshot, who, period, names)


main()

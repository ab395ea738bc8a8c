"""问题清单 (assessors; leaders read it): the 待审队列 (departments' objections and reported rectifications,
with their reasons and attachments, decided several at once), every finding of the period with filters and
search, one finding in detail with its whole history, and the assessor's decision on it — each step recorded
with who, when and why in the correction store (``metrics.corrections``), never in the snapshot. A banner
says when the period's scores do not reflect the latest waivers yet, with 重新计分 (``_stale``)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import corrections
from dashboard.queries import department, findings, shared
from dashboard.views import _finding, _stale
from dashboard.views._common import context, mask_names, require, shown_columns, text_columns
from core.privacy import mask_text
from core.settings import resolve_paths
from core.vocab import INDICATORS

ALL = "all"


def filters(snapshot: str, period: str) -> dict:
    who = require("leader", "assessor")
    labels = {ALL: "全部部门", **department.department_labels(snapshot, who)}
    cols = st.columns(4)
    dept = cols[0].selectbox("部门", list(labels), format_func=labels.__getitem__, key="wb_dept")
    indicator = cols[1].selectbox("指标", [ALL, *INDICATORS], key="wb_indicator",
                                  format_func=lambda i: "全部" if i == ALL else INDICATORS[i])
    rule = cols[2].selectbox("问题类型", [ALL, *department.rules_found(snapshot, who, period, None)], key="wb_rule",
                             format_func=lambda r: "全部" if r == ALL else shared.RULE_NAMES.get(r, r))
    status = cols[3].selectbox("状态", [ALL, *corrections.STATUSES], key="wb_status",
                               format_func=lambda s: "全部" if s == ALL else corrections.STATUSES[s])
    search = st.text_input("搜索（文书号、相对人名称、问题说明、问题值）", key="wb_search")
    pick = lambda v: None if v == ALL else v  # noqa: E731
    return {"dept_id": pick(dept), "indicator": pick(indicator), "rule_id": pick(rule), "status": pick(status),
            "search": search or None}


def decide(snapshot: str, finding: dict) -> None:
    """The assessor's decision form; leaders see the history only."""
    who = require("leader", "assessor")
    st.markdown(f"**当前状态：{corrections.STATUSES.get(finding['status'], finding['status'])}**")
    if who.can_decide:
        with st.form(key="decision", clear_on_submit=True):
            allowed = findings.allowed_actions(who.role, [finding["status"]])
            action = st.radio("处理", allowed, horizontal=True, key="wb_action",
                              format_func=lambda a: corrections.ACTIONS[a].label)
            reason = st.text_input("理由（豁免和异议认定必填）", key="wb_reason")
            if st.form_submit_button("提交"):
                try:
                    findings.act(snapshot, who, finding["period"], [finding["finding_id"]], action, reason=reason)
                except corrections.WorkbenchError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
    _finding.history(snapshot, finding)


QUEUE_COLUMNS = {
    "序号": st.column_config.NumberColumn("序号", format="%d", width="small"),
    **text_columns("部门", "问题类型", "文书号", "状态"),
    "部门说明": st.column_config.TextColumn("部门说明", width="medium", help="完整内容见表格下方"),
}
# what the assessor decides on, fitting 1440 px beside the sidebar; who sent it, when, the page and the
# attachment one click away (and in full under the table, for the answer picked)
QUEUE_MAIN = ["序号", "部门", "问题类型", "文书号", "状态", "部门说明"]


def queue(snapshot: str, period: str) -> None:
    """待审队列: the objections to decide and the rectifications reported (closed by the next crawl's
    verification; an assessor may confirm or waive one before), with the department's answer and its
    attachment; several decided at once."""
    who = require("leader", "assessor")
    version = corrections.version(resolve_paths())
    total = findings.findings_total(snapshot, who, period, status=findings.QUEUE_STATUSES, wb_version=version)
    if total == 0:
        st.success("待审队列为空：没有待审核的异议或整改报告。")
        return
    st.caption(f"共 {total} 项：异议待审的请作出认定；已报整改的将由下一次采集自动复核，必要时可先行确认或豁免。")
    offset = _finding.pager(total, "queue_page")
    df = findings.findings(snapshot, who, period, status=findings.QUEUE_STATUSES, offset=offset,
                           wb_version=version, mask_names=mask_names())
    steps = findings.answers(who, df["finding_id"].tolist())
    names = _finding.display_names()
    answer = lambda col: [steps[col].get(f) if f in steps.index else None for f in df["finding_id"]]  # noqa: E731
    table = pd.DataFrame({
        "序号": df["n"].astype("int64"), "部门": df["dept_name"], "问题类型": df["rule_name"],
        "文书号": df["wsh"].fillna("—"), "状态": df["status_name"],
        "部门说明": [mask_text(v) if isinstance(v, str) else "" for v in answer("reason")],
        "提交人": [names.get(u, u) if isinstance(u, str) else "" for u in answer("username")],
        "提交时间": [_finding.when(v) for v in answer("at")],
        "整改后页面": [shared._shown_url(v) or "" for v in answer("url")],
        "附件": [v if isinstance(v, str) else "" for v in answer("attachment_name")],
    })
    order = shown_columns(list(table.columns), QUEUE_MAIN, "queue_all_columns", "提交人、提交时间、整改后页面、附件")
    with st.container(key="queue"):
        st.dataframe(table, hide_index=True, column_config=QUEUE_COLUMNS, column_order=order)
    rows = shared._records(df)
    labels = {r["finding_id"]: f"{int(r['n'])}. {r['dept_name']} · {r['rule_name']} · {r['status_name']}"
              for r in rows}
    seen = st.selectbox("查看部门的说明和附件", list(labels), format_func=labels.__getitem__, key="queue_view")
    if seen in steps.index:
        step = {"id": 0, **steps.loc[seen].to_dict()}
        with st.container(key="queue_answer"):
            st.text(f"{_finding.when(step['at'])} {names.get(step['username'], step['username'])}："
                    f"{mask_text(step['reason'] or '')}")  # the department's words: text, never markdown
            if isinstance(step.get("url"), str):
                st.code(shared._shown_url(step["url"]) or "", language=None)
            if isinstance(step.get("attachment"), str):
                _finding.attachment(step, key="queue_attachment")
    if who.can_decide:
        st.markdown("**审核**：选择一项或多项，作出认定（异议不成立的理由将反馈给部门）。")
        _finding.pick_and_act(snapshot, period, df, "queue")


def main() -> None:
    who = require("leader", "assessor")
    snapshot, period = context()
    st.title(f"问题清单 · {period}")
    _stale.banner(snapshot, period)
    st.subheader("待审队列")
    queue(snapshot, period)
    st.subheader("全部问题")
    chosen = filters(snapshot, period)
    version = corrections.version(resolve_paths())
    total = findings.findings_total(snapshot, who, period, **chosen, wb_version=version)
    st.caption(f"共 {total} 条问题")
    if total == 0:
        st.info("没有符合条件的问题。")
        return
    offset = _finding.pager(total, "wb_page")
    df = findings.findings(snapshot, who, period, **chosen, offset=offset, wb_version=version, mask_names=mask_names())
    with st.container(key="findings"):
        clicked = _finding.show_table(_finding.findings_table(df, with_department=True,
                                                              deadline=department.deadline(snapshot, period)),
                                      "findings")
    st.subheader("问题详情与处理")
    finding = _finding.choose(df, "wb_finding", clicked)
    if finding is None:
        return
    decide(snapshot, finding)
    _finding.detail(snapshot, finding)


main()

"""问题清单 (assessors; leaders read it): every finding of the period with filters and search, one finding
in detail, and the assessor's decision on it — confirm, waive with a reason, reopen — each recorded with who
and when in the workbench store (``dashboard/workbench.py``), never in the snapshot."""
from __future__ import annotations

import streamlit as st

from metrics import corrections
from dashboard.queries import department, findings, shared
from dashboard.views import _finding
from dashboard.views._common import context, mask_names, require
from core.settings import resolve_paths
from core.vocab import INDICATORS

ALL = "all"


def filters(snapshot: str, period: str) -> dict:
    who = require("leader", "assessor")
    depts = department.departments(snapshot, who)
    labels = {ALL: "全部部门", **{r.dept_id: f"{r.name}（{r.county}）" for r in depts.itertuples()}}
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


def decide(finding: dict) -> None:
    """The assessor's decision form; leaders see the history only."""
    who = require("leader", "assessor")
    paths = resolve_paths()
    st.markdown(f"**当前状态：{corrections.STATUSES.get(finding['status'], finding['status'])}**")
    if who.can_decide:
        with st.form(key="decision", clear_on_submit=True):
            allowed = [a for a, step in corrections.ACTIONS.items()
                       if "assessor" in step.roles and finding["status"] in step.after]
            action = st.radio("处理", allowed, horizontal=True, key="wb_action",
                              format_func=lambda a: corrections.ACTIONS[a].label)
            reason = st.text_input("理由（豁免必填）", key="wb_reason")
            if st.form_submit_button("提交"):
                try:
                    corrections.record_decision(paths, finding["finding_id"], action, who.username, reason,
                                                status=finding["status"], period=finding["period"],
                                                dept_id=finding["dept_id"])
                except corrections.WorkbenchError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
    hist = corrections.history(paths, finding["finding_id"])
    if hist.empty:
        st.caption("尚无处理记录。")
    else:
        hist = hist.assign(action=hist["action"].map(lambda a: corrections.ACTIONS[a].label if a in corrections.ACTIONS else a),
                           status=hist["status"].map(lambda s: corrections.STATUSES.get(s, s)))
        with st.container(key="history"):
            st.dataframe(hist.rename(columns={"at": "时间", "username": "处理人", "action": "操作",
                                              "status": "处理后状态", "reason": "理由"}), hide_index=True)


def main() -> None:
    who = require("leader", "assessor")
    snapshot, period = context()
    st.title(f"问题清单 · {period}")
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
        st.dataframe(_finding.findings_table(df, with_department=True), hide_index=True,
                     column_config=_finding.TABLE_COLUMNS)
    st.subheader("问题详情与处理")
    finding = _finding.choose(df, "wb_finding")
    if finding is None:
        return
    decide(finding)
    _finding.detail(snapshot, finding)


main()

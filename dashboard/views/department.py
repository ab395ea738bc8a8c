"""部门自查: one department's score, how it was made, its remediation list (整改清单) with evidence, and its
records the evidence could not decide (未能核验: not deducted, to be checked), with why.

A department's liaison logs in and sees only its own department (the queries enforce it; this page does
not even offer a choice). Leaders and assessors pick any department, also from a link carrying
``?dept=<id>``. Every row names the decision by 文书号 and 相对人名称, says what is wrong, and points at the
evidence: the page as published and the archived copy read at ``fetched_at``. Values are masked.

The correction loop: at the top, where the findings stand (待处理, 已报整改, 异议待审, 逾期未整改, 已豁免, 已整改)
and the remediation deadline; a department user answers several findings at once (报告已整改 with a note and
the corrected page's URL, 提出异议 with reasons and an attachment) and reads each finding's whole history, the
assessor's answers included.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from metrics import corrections
from dashboard.auth import Viewer
from dashboard.queries import department, documents, findings, shared
from dashboard.views import _finding, _stale
from dashboard.views._common import (SCALE_HELP, change, context, fmt, mask_names, max_unverified_share, require,
                                     scale_note, shown_columns, text_columns, version_choice)
from metrics import results
from core.settings import resolve_paths
from core.vocab import INDICATORS, KIND_LABELS, RANKED

DEPT_KEY = "dept"  # the chosen department, kept across pages
_WIDGET_KEY = "_dept_select"  # widget state is dropped on other pages, so it mirrors DEPT_KEY
_COUNTY_KEY = "_dept_county"  # the county picker's state, derived from DEPT_KEY on every run
ALL = "all"


def choose_department(snapshot: str) -> str | None:
    """A department user's own department; for others ``?dept=``, else the last one chosen, else the first."""
    who = require("leader", "assessor", "department")
    labels = department.department_labels(snapshot, who)
    if not labels:
        return None
    ids = list(labels)
    if who.scope is not None:  # the query returned this one department only
        st.query_params[DEPT_KEY] = ids[0]
        st.caption(f"部门：{labels[ids[0]]}")
        return ids[0]
    wanted = st.query_params.get(DEPT_KEY)
    if wanted not in ids:
        wanted = st.session_state.get(DEPT_KEY)
    st.session_state[DEPT_KEY] = wanted if wanted in ids else ids[0]
    st.session_state[_WIDGET_KEY] = st.session_state[DEPT_KEY]

    def remember() -> None:
        st.session_state[DEPT_KEY] = st.session_state[_WIDGET_KEY]
        st.query_params[DEPT_KEY] = st.session_state[_WIDGET_KEY]

    where = st
    if len(ids) > department.PICKER_LIMIT:  # a province: the county first
        where, ids = _county_first(snapshot, who)
    choice = where.selectbox("部门", ids, key=_WIDGET_KEY, format_func=labels.__getitem__, on_change=remember)
    st.query_params[DEPT_KEY] = choice
    return choice


def _county_first(snapshot: str, who: Viewer) -> tuple[Any, list[str]]:
    """The 县区 picker (set to the chosen department's county) and that county's departments; choosing another
    county moves to its first department. Returns where the department picker goes, beside it."""
    by_county = department.departments_by_county(snapshot, who)
    chosen = st.session_state[DEPT_KEY]
    st.session_state[_COUNTY_KEY] = next(c for c, members in by_county.items() if chosen in members)

    def move() -> None:
        first = by_county[st.session_state[_COUNTY_KEY]][0]
        st.session_state[DEPT_KEY] = first
        st.query_params[DEPT_KEY] = first

    left, right = st.columns([1, 2])
    county = left.selectbox("县区", list(by_county), key=_COUNTY_KEY, on_change=move,
                            format_func=lambda c: f"{c}（{len(by_county[c])} 个部门）")
    return right, by_county[county]


def score_metrics(score: dict[str, Any], period: str) -> None:
    """Total, grade and both ranks first (what the assessment reports), then the sub-scores behind them and
    the records whose timeliness could not be verified; a department not ranked is told why first."""
    standing = score.get("standing") or RANKED
    ranked = standing == RANKED
    if not ranked:
        with st.container(key="standing"):
            st.warning(f"本期评估结论：{results.standing_name(standing)}。"
                       f"{results.standing_note(standing, max_unverified_share(period))}"
                       + ("下面的得分按已核验的内容计算，仅供自查参考。" if score["n_records"] else ""))
    row1 = st.columns(4)
    row1[0].metric("总分" if ranked else "总分（仅供参考）", fmt(score["total"]),
                   **(change(score["total"], score["prev_total_shown"]) if ranked else {}))
    row1[1].metric("等级", score["grade"] or ("—" if ranked else "不评等级"))
    moved = (change(score["prev_rank_shown"], score["rank"], "+d")  # a smaller rank is better: prev − now
             if score["rank"] and score["prev_rank_shown"] else {})
    if moved.get("delta") not in (None, "持平"):
        moved["delta"] += " 名"
    unranked = "—" if ranked else "不排名"
    row1[2].metric("全市排名", f"{score['rank']} / {score['n_ranked']}" if score["rank"] else unranked, **moved)
    row1[3].metric("县区内排名", f"{score['county_rank']} / {score['n_in_county']}" if score["county_rank"] else unranked)
    row2 = st.columns(6)
    row2[0].metric("评估记录数", fmt(score["n_records"], ",d"))
    row2[1].metric("未能核验记录", fmt(score.get("n_unverified") or 0, ",d"), help=results.UNVERIFIED_NOTE)
    for col, (key, label) in zip(row2[2:], INDICATORS.items()):
        col.metric(label, fmt(score.get(key), ".1f", "%"), help=SCALE_HELP)
    scale_note()


UNVERIFIED_COLUMNS = {
    "序号": st.column_config.NumberColumn("序号", format="%d", width="small"),
    **text_columns("文书号/页面", "相对人名称"),
    "原因": st.column_config.TextColumn("原因", width="medium", help="完整原因见表格下方"),
    "页面": st.column_config.LinkColumn("页面", help="采集时读取的原始页面"),
    "抓取时间": st.column_config.DatetimeColumn("抓取时间", format="YYYY-MM-DD HH:mm"),
}


# what a clerk checks first, fitting 1440 px beside the sidebar; the rest one click away (the reason in full
# and the archived page under the table, for the row picked)
UNVERIFIED_MAIN = ["序号", "文书号/页面", "未能核验的事项", "原因", "相对人名称", "决定日期"]


def unverified_table(df: pd.DataFrame) -> pd.DataFrame:
    """The 未能核验 rows as a clerk reads them: which decision, what could not be checked, and why."""
    return pd.DataFrame({
        "序号": df["n"].astype("int64"),
        "文书号/页面": _where(df),
        "未能核验的事项": df["what"],
        "原因": df["reason"],
        "类型": df["kind"].map(lambda v: KIND_LABELS.get(v, v)),
        "相对人名称": df["xdr_mc"],
        "决定日期": df["jdrq"],
        "页面": df["url"],
        "抓取时间": df["fetched_at"],
    })


def _where(df: pd.DataFrame) -> pd.Series:
    return df["wsh"].where(df["record_key"].notna(), "（整个专栏）")


def unverified(snapshot: str, period: str, dept_id: str) -> None:
    """The department's records the evidence could not decide: not deducted, listed to be checked."""
    who = require("leader", "assessor", "department")
    total = department.unverified_total(snapshot, who, period, dept_id)
    if total == 0:
        st.success("本期没有未能核验的记录。")
        return
    st.caption(f"共 {total} 条。{results.UNVERIFIED_NOTE}请核实这些记录的实际公示日期；今后公示时请在页面上标明公示日期。")
    offset = _finding.pager(total, "unverified_page")
    df = department.unverified(snapshot, who, period, dept_id, offset=offset, mask_names=mask_names())
    table = unverified_table(df)
    order = shown_columns(list(table.columns), UNVERIFIED_MAIN, "unverified_all_columns", "类型、页面、抓取时间")
    with st.container(key="unverified"):
        st.dataframe(table, hide_index=True, column_config=UNVERIFIED_COLUMNS, column_order=order)
    rows = shared._records(df.assign(where=_where(df)))
    labels = {i: f"{r['n']}. {r['where'] or ''} · {r['what']}" for i, r in enumerate(rows)}
    picked = st.selectbox("查看未能核验的原因和存档页面", list(labels), format_func=labels.__getitem__, key="unverified_pick")
    row = rows[picked]
    with st.container(key="unverified_reason"):
        st.text(f"{row['where'] or ''}：{row['what']}\n原因：{row['reason']}")  # record text: never through markdown
    if isinstance(row.get("fetch_id"), str):
        _finding.archived(snapshot, {"evidence": row["fetch_id"]}, key="unverified_archived_text")


def deductions(snapshot: str, period: str, dept_id: str) -> None:
    """Each rule that cost points, with how the points were computed (total = 100 − Σ points)."""
    df = department.deductions(snapshot, require("leader", "assessor", "department"), period, dept_id)
    if df.empty:
        st.info("暂无扣分明细（本期评分没有生成扣分说明，或没有扣分）。")
        return
    table = df.rename(columns={"rule_name": "问题类型", "n_findings": "问题数", "n_records": "评估记录数",
                               "points": "扣分", "how": "计算方法"})
    table["指标"] = df["indicator"].map(lambda v: INDICATORS.get(v, v))
    with st.container(key="deductions"):
        st.dataframe(table[["指标", "问题类型", "问题数", "评估记录数", "扣分", "计算方法"]], hide_index=True,
                     column_config={"扣分": st.column_config.NumberColumn("扣分", format="%.2f")})
    st.caption(f"合计扣分 {df['points'].sum():.2f}，总分 = 100 − 合计扣分。")


def remediation(snapshot: str, period: str, dept_id: str) -> None:
    """The 整改清单 with filters by indicator, rule and status, paged, plus the whole filtered list as Excel."""
    who = require("leader", "assessor", "department")
    counts = department.finding_counts(snapshot, who, period, dept_id)
    options = [ALL, *INDICATORS]
    labels = {ALL: f"全部（{sum(counts.values())}）",
              **{k: f"{v}（{counts.get(k, 0)}）" for k, v in INDICATORS.items()}}
    picked = st.radio("按指标筛选", options, format_func=labels.__getitem__, horizontal=True, key="indicator")
    left, right = st.columns(2)
    rules = [ALL, *department.rules_found(snapshot, who, period, dept_id)]
    rule = left.selectbox("问题类型", rules, key="rule",
                          format_func=lambda r: "全部" if r == ALL else shared.RULE_NAMES.get(r, r))
    status = right.selectbox("状态", [ALL, *corrections.STATUSES], key="status",
                             format_func=lambda s: "全部" if s == ALL else corrections.STATUSES[s])
    filters = {"dept_id": dept_id, "indicator": None if picked == ALL else picked,
               "rule_id": None if rule == ALL else rule, "status": None if status == ALL else status}
    version = corrections.version(resolve_paths())
    total = findings.findings_total(snapshot, who, period, **filters, wb_version=version)
    if total == 0:
        st.success("本期没有发现需要整改的问题。" if picked == ALL and rule == ALL and status == ALL
                   else "该筛选条件下没有发现问题。")
        return
    offset = _finding.pager(total, "page")
    df = findings.findings(snapshot, who, period, **filters, offset=offset, wb_version=version,
                          mask_names=mask_names())
    due = department.deadline(snapshot, period)
    with st.container(key="remediation"):
        clicked = _finding.show_table(_finding.findings_table(df, deadline=due), "remediation")
    if who.role == "department":
        st.markdown("**答复整改清单**：点击清单中的一行，或在下面选择一项或多项问题，报告已整改或提出异议。")
        offer(df, clicked)
        _finding.pick_and_act(snapshot, period, df, "answer")
    names = mask_names()

    def workbook() -> bytes:  # built only when the button is clicked (Streamlit runs it on its own thread)
        everything = findings.findings(snapshot, who, period, **filters, limit=None, wb_version=version,
                                      mask_names=names)
        return _finding.excel(_finding.findings_table(everything, deadline=due), "整改清单")

    st.download_button(
        f"下载整改清单（Excel，{total} 条）", workbook, file_name=f"整改清单-{dept_id}-{period}.xlsx", key="download",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    st.subheader("问题详情")
    finding = _finding.choose(df, "finding", clicked)
    if finding is not None:
        st.markdown(f"**当前状态：{finding['status_name']}**　处理记录：")
        _finding.history(snapshot, finding)
        _finding.detail(snapshot, finding)


def offer(rows: pd.DataFrame, clicked: int | None) -> None:
    """A row the clerk clicks in the list is added to the answer's choice at once (each click once): opening
    a finding and answering it is one step, not a second search in the picker."""
    if clicked is None or clicked >= len(rows):
        st.session_state.pop("answer_row", None)
        return
    finding_id = rows["finding_id"].iloc[clicked]
    if st.session_state.get("answer_row") == finding_id:
        return
    st.session_state["answer_row"] = finding_id
    picked = list(st.session_state.get("answer_pick") or [])
    if finding_id not in picked:
        st.session_state["answer_pick"] = [*picked, finding_id]


PROGRESS = [  # (label, the statuses counted, help)
    ("待处理", corrections.UNRESOLVED, "尚未整改、也未提出异议的问题（含评估人员已确认的）"),
    ("已报整改", ("fixed",), "已报告整改，等待下一次采集复核"),
    ("异议待审", ("objected",), "已提出异议，等待评估人员审核"),
    (findings.OVERDUE, (), "整改期限已过仍待处理的问题"),
    ("已豁免", ("waived",), "不扣分：评估人员豁免或异议成立"),
    ("已整改", ("closed",), "复核通过：网站已更正"),
]


def progress(snapshot: str, period: str, dept_id: str) -> None:
    """Where the department's findings stand (the store's current statuses) and the remediation deadline."""
    who = require("leader", "assessor", "department")
    counts = department.status_counts(snapshot, who, period, dept_id, corrections.version(resolve_paths()))
    deadline = department.deadline(snapshot, period)
    today = date.today()
    overdue = sum(n for status, n in counts.items() if corrections.is_overdue(status, deadline, today))
    with st.container(key="progress"):
        for col, (label, statuses, helptext) in zip(st.columns(len(PROGRESS)), PROGRESS):
            n = overdue if label == findings.OVERDUE else sum(counts.get(s, 0) for s in statuses)
            col.metric(label, f"{n:,d}", help=helptext)
        if deadline is None:
            st.caption("整改期限：自本期评估结果正式印发之日起计算（尚未印发）。")
        elif today > deadline:
            st.caption(f"整改期限：{deadline:%Y-%m-%d}，已过期。")
        else:
            left = department.workdays_left(deadline, today)
            st.caption(f"整改期限：{deadline:%Y-%m-%d}，" + (f"还剩 {left} 个工作日。" if left is not None else
                       f"还剩 {(deadline - today).days} 天（{deadline.year} 年节假日安排尚未载入，暂按自然日计）。"))


def notice_download(snapshot: str, period: str, dept_id: str) -> None:
    """The department's remediation notice (Word), built on the first click from queries limited to the
    viewer's scope (a department user can only ever get its own)."""
    who = require("leader", "assessor", "department")
    day = date.today().isoformat()
    version = version_choice(snapshot, period, "notice_version")
    label = period if version is None else f"{period}-版本{version}"
    st.download_button("下载整改通知书（Word）",
                       lambda: documents.notice_document(snapshot, who, period, dept_id, day, version),
                       file_name=f"{label}-整改通知书-{dept_id}.docx", key="download_notice",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def main() -> None:
    who = require("leader", "assessor", "department")
    snapshot, period = context()
    st.title(f"部门自查 · {period}")
    dept_id = choose_department(snapshot)
    if dept_id is None:
        st.info("还没有配置任何部门。")
        return
    _stale.banner(snapshot, period)
    progress(snapshot, period, dept_id)
    score = department.department_score(snapshot, who, period, dept_id)
    if score is None:
        st.info("该部门在本期没有得分（可能没有纳入评估的记录）。")
    else:
        score_metrics(score, period)
    st.subheader("得分说明")
    deductions(snapshot, period, dept_id)
    st.subheader("整改清单")
    remediation(snapshot, period, dept_id)
    st.subheader("未能核验的记录（待核实，不扣分）")
    unverified(snapshot, period, dept_id)
    if score is not None:
        st.subheader("整改通知书")
        notice_download(snapshot, period, dept_id)


main()

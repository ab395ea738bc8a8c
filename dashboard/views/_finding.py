"""What 部门自查 and 问题清单 share: the findings table, the pager, the Excel file, and one finding in
detail — the record's fields with the failing one marked, the page URL (masked like every value: a URL
naming its subject's ID or mobile number is shown masked and offered as no link), the archived copy as fetched (as
text: nothing from a crawled page runs or loads here) and, when the finding cites one, a second archived page
(an earlier crawl's list page that did not list the record yet), and for assessors the reveal of one masked value,
written to the access log before it is shown. And the correction loop's shared parts: several findings
chosen and answered or decided at once (the steps ``corrections.ACTIONS`` allows), a finding's whole history,
and attachments (shown as an image or offered as a download, never as a page)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.auth import ROLES
from dashboard.queries import evidence, findings, shared
from dashboard.sanitize import page_source, page_text
from dashboard.views import _verification
from dashboard.views._common import TEXT_WIDTHS, mask_names, shown_columns, text_columns, viewer
from metrics import corrections
from core.privacy import mask_text
from core.settings import resolve_paths
from core.vocab import INDICATORS, KIND_LABELS

HIGHLIGHT = "background-color: #ffe0e0; font-weight: bold"
PERSONAL_URL_NOTE = "原页面地址含身份证号或手机号，已脱敏显示，不能直接打开；请以下方的存档页面为准。"
MARK = "◀ 问题字段"
MAX_TEXT = 20_000  # characters of an archived page shown (a detail page is a few thousand)


def _where(wsh: Any, url: Any, field: Any = None, value: Any = None) -> str:
    """What a finding is about: its decision's 文书号 (a record's, or the one a department-level finding names
    in its value: 超期公示, 台账决定未公示 …), else the page (shortened), else the whole column."""
    if isinstance(wsh, str) and wsh:
        return wsh
    if isinstance(field, str) and field.endswith("_WSH") and isinstance(value, str) and value:
        return value
    if isinstance(url, str) and url:
        short = re.sub(r"^https?://", "", url)
        return "页面 " + (short if len(short) <= 48 else short[:45] + "…")
    return "（整个专栏）"


def findings_table(df: pd.DataFrame, *, with_department: bool = False, deadline: Any = None) -> pd.DataFrame:
    """The finding rows as people read them: first what to do (序号, 问题类型, 文书号/页面, 相对人, 期限, 状态),
    then the rest (Chinese headings and field names; codes only in 规则 and 问题编号)."""
    due = deadline.isoformat() if deadline is not None else "印发后计算"
    table = pd.DataFrame({
        "序号": df["n"].astype("int64"),
        **({"部门": df["dept_name"]} if with_department else {}),
        "问题类型": df["rule_name"],
        "文书号/页面": [_where(w, u, f, v) for w, u, f, v in zip(df["wsh"], df["url"], df["field"], df["value"])],
        "相对人名称": df["xdr_mc"].fillna("—"),
        "期限": [due if s in corrections.UNRESOLVED else "—" for s in df["status"]],
        "状态": df["status_name"],
        "指标": df["indicator"].map(lambda v: INDICATORS.get(v, v)),
        "类型": df["kind"].map(lambda v: KIND_LABELS.get(v, v)),
        "字段": [name if isinstance(name, str) else (code if isinstance(code, str) else "—")
                 for code, name in zip(df["field"], df["field_name"])],
        "问题": df["message"],
        "问题值": df["value"].fillna("—"),
        "最新处理": latest_step(df, display_names()),
        "证据页面": df["url"],
        "存档": df["archive"],
        "抓取时间": df["fetched_at"],
        "规则": df["rule_id"],
        "问题编号": df["finding_id"],
    })
    return table


# the columns that say what to do, shown first; the rest one click away (``show_table``). A list of several
# departments names each row's department instead of its 相对人 (the detail names it): both do not fit 1440 px.
MAIN_COLUMNS = ["序号", "问题类型", "文书号/页面", "相对人名称", "期限", "状态"]
MAIN_COLUMNS_DEPARTMENTS = ["序号", "部门", "问题类型", "文书号/页面", "期限", "状态"]


def show_table(table: pd.DataFrame, key: str) -> int | None:
    """The list: the what-to-do columns, or all of them when the reader asks; a click on a row picks that
    finding for the detail below (its position in ``table``, None when nothing was clicked)."""
    main = MAIN_COLUMNS_DEPARTMENTS if "部门" in table.columns else MAIN_COLUMNS
    order = shown_columns(list(table.columns), main, f"{key}_all_columns", "相对人、指标、字段、问题说明、证据等"
                          if "部门" in table.columns else "指标、字段、问题说明、证据等")
    picked = st.dataframe(table, hide_index=True, column_config=TABLE_COLUMNS, column_order=order,
                          placeholder="—", on_select="rerun", selection_mode="single-row", key=f"{key}_pick")
    rows = picked.selection.rows if picked is not None else []
    return int(rows[0]) if rows else None


TABLE_COLUMNS = {
    "序号": st.column_config.NumberColumn("序号", format="%d", width="small"),
    **text_columns("部门", "问题类型", "相对人名称", "状态"),
    "文书号/页面": st.column_config.TextColumn("文书号/页面", width=TEXT_WIDTHS["文书号/页面"],
                                          help="完整的文书号或页面地址见下方的问题详情"),
    "期限": st.column_config.TextColumn("期限", help="整改期限：评估结果印发后按评分方案的工作日数计算"),
    "证据页面": st.column_config.LinkColumn("证据页面", help="发现问题时读取的原始页面"),
    "存档": st.column_config.TextColumn("存档", help="WARC 存档文件#偏移量：抓取时页面内容的留存副本"),
    "抓取时间": st.column_config.DatetimeColumn("抓取时间", format="YYYY-MM-DD HH:mm"),
}


def pager(total: int, key: str) -> int:
    """A page number input when the list is longer than a page; returns the offset."""
    pages = max(1, -(-total // shared.PAGE_SIZE))
    if pages == 1:
        return 0
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = 1
    page = st.number_input(f"页码（共 {pages} 页，每页 {shared.PAGE_SIZE} 条）", 1, pages, key=key)
    return (int(page) - 1) * shared.PAGE_SIZE


def excel(table: pd.DataFrame, sheet: str) -> bytes:
    """The list as an .xlsx file through the project's one spreadsheet writer (``reports.sheets``): crawled and
    imported text stays text (never a formula or link), masked exactly as on screen; 序号 a number and the
    fetch time a date as shown (Excel has no time zones: the wall-clock time is kept)."""
    from reports import sheets  # XlsxWriter loads only when a file is asked for

    return sheets.xlsx_bytes(table, sheet)


def choose(df: pd.DataFrame, key: str, clicked: int | None = None) -> dict[str, Any] | None:
    """Pick one finding of the shown page to look at in detail (``clicked``: the row clicked in the list)."""
    if df.empty:
        return None
    if clicked is not None and clicked < len(df) and st.session_state.get(f"{key}_clicked") != clicked:
        st.session_state[f"{key}_clicked"] = clicked  # a new click moves the choice; the selectbox still can
        st.session_state[key] = df["finding_id"].iloc[clicked]
    elif clicked is None:
        st.session_state.pop(f"{key}_clicked", None)
    labels = {r["finding_id"]: f"{int(r['n'])}. {r['wsh'] if isinstance(r['wsh'], str) else r['dept_name']} · "
              f"{r['rule_name']}" + (f" · {r['field_name']}" if isinstance(r.get("field_name"), str) else "")
              for r in df.to_dict("records")}
    picked = st.selectbox("查看问题详情", list(labels), format_func=labels.__getitem__, key=key)
    return next(r for r in shared._records(df) if r["finding_id"] == picked)


def detail(snapshot: str, finding: dict[str, Any], *, can_reveal: bool = True) -> None:
    """The finding's record (failing field marked), the page URL and the archived page as text.
    ``can_reveal`` false: no 查看原值 (a province's dashboard shows a city's finding; originals are the city's)."""
    st.markdown(f"**{finding['rule_name']}**（{INDICATORS.get(finding['indicator'], finding['indicator'])}）")
    st.text(finding["message"] or "")
    if finding.get("url"):  # masked (core.privacy): a URL naming its subject's ID opens nothing real
        if finding.get("url_personal"):
            st.caption(PERSONAL_URL_NOTE)
        else:
            st.link_button("打开原页面（外部网站）", finding["url"])
        st.code(finding["url"], language=None)  # crawled text: never through markdown
    if finding.get("record_key"):
        record(snapshot, finding, can_reveal=can_reveal)
    if finding.get("evidence"):
        archived(snapshot, finding)
    else:
        st.info("该问题没有对应的存档页面。")
    if isinstance(finding.get("ref_fetch_id"), str):
        archived(snapshot, finding, finding["ref_fetch_id"], title=REF_TITLE, key="ref_archived_text",
                 note=REF_NOTE)


def record(snapshot: str, finding: dict[str, Any], *, can_reveal: bool = True) -> None:
    fields = evidence.record_fields(snapshot, viewer(), finding["kind"], finding["record_key"], mask_names())
    if fields.empty:
        st.info("找不到该问题对应的记录。")
        return
    shown = fields[fields["value"].notna() | (fields["code"] == finding["field"])]  # empty fields add nothing
    table = pd.DataFrame({"字段": shown["code"], "名称": shown["name"], "值": shown["value"].fillna("—"),
                          "标记": [MARK if c == finding["field"] else "" for c in shown["code"]]})
    styled = table.style.apply(lambda row: [HIGHLIGHT if row["标记"] else ""] * len(row), axis=1)
    with st.container(key="finding_record"):
        st.markdown("**记录字段**（红色为问题字段）")
        st.dataframe(styled, hide_index=True)
    if can_reveal and viewer().can_decide:
        reveal(snapshot, finding, fields)


def reveal(snapshot: str, finding: dict[str, Any], fields: pd.DataFrame) -> None:
    """An assessor shows one masked value; the access log row is written before the value is read."""
    kind = finding["kind"]
    masked = [c for c, v in zip(fields["code"], fields["value"])
              if isinstance(v, str) and "*" in v and evidence.maskable(kind, c)]
    names = dict(zip(fields["code"], fields["name"]))
    by_site = evidence.site_masked(snapshot, viewer(), kind, finding["record_key"], tuple(masked))
    if by_site:  # 查看原值 is offered only where the archived page held the value unmasked
        st.caption("、".join(names[c] for c in masked if c in by_site) + "：网站公示时已脱敏，没有原值可查看。")
    options = [c for c in masked if c not in by_site]
    if not options:
        return
    with st.container(key="reveal"):
        code = st.selectbox("查看原值（每次查看都记入访问日志）", options, format_func=lambda c: names[c],
                            key="reveal_field")
        if st.button("显示原值", key="reveal_button"):
            value = evidence.reveal(viewer(), snapshot, kind, finding["record_key"], code, finding["finding_id"])
            st.code(value or "（空）", language=None)
            st.caption("已记录：查看人、时间、字段。")


REF_TITLE = "此前采集时尚未列出该记录的页面"
REF_NOTE = ("该记录最终出现在上面的存档页面中；下面是此前一次采集同一栏目时的页面，当时还没有列出该记录，"
            "说明该记录是在这次采集之后才公示的。")


def archived(snapshot: str, finding: dict[str, Any], fetch_id: str | None = None, *, title: str = "存档页面",
             key: str = "archived_text", note: str | None = None) -> None:
    """An archived response as plain text (lines holding the problem value marked) and its source: the
    finding's own page, or (``fetch_id``) the second page it cites, viewed the same way."""
    second = fetch_id is not None
    try:
        got = evidence.archived_body(viewer(), snapshot, fetch_id or finding["evidence"])
    except (OSError, ValueError) as exc:
        st.warning(f"存档读取失败：{exc}")
        return
    if got is None:
        st.info(f"{title}：没有可读取的存档。" if second else "该问题没有可读取的存档页面。")
        return
    row, body = got
    text = page_text(body, row.get("content_type"))
    needle = finding.get("value")
    if not second and isinstance(needle, str) and needle.strip():
        text = "\n".join(f"▶ {line}" if needle in line else f"  {line}" for line in text.splitlines())
    same = ""  # a revisit: the page had not changed since the original archived copy shown here
    if pd.notna(row.get("original_at")):
        same = f"，页面与 {row['original_at']:%Y-%m-%d %H:%M} 存档的内容相同，显示该份存档"
    st.markdown(f"**{title}**（抓取于 {row['fetched_at']:%Y-%m-%d %H:%M}{same}，SHA-256 {str(row.get('sha256'))[:12]}…；"
                "以纯文本显示，页面中的脚本、样式和外部资源均不会加载）")
    if note:
        st.caption(note)
    if second and (url := shared._web_url(row.get("url"))):
        st.code(url, language=None)  # crawled text: never through markdown
    with st.container(key=key):
        st.code(text[:MAX_TEXT], language=None)
    with st.expander(f"{title}源码（文本）" if second else "页面源码（文本）", key=f"{key}_source"):
        st.code(page_source(body, row.get("content_type"))[:MAX_TEXT], language="html")


# --- the correction loop: answering several findings at once, the history, attachments --------------

ROLE_LABELS = {**ROLES, "system": "系统复核"}
VERIFICATION_ACTIONS = ("verified", "verify_failed")
ATTACHMENT_TYPES = ["pdf", "png", "jpg", "jpeg"]  # the picker's hint only: metrics.corrections checks the content


def display_names() -> dict[str, str]:
    """username → the name the users file gives (a step shows who took it as people know them)."""
    try:
        users, _ = auth.load_users(auth.users_path(resolve_paths()))
    except auth.UsersError:
        return {}
    return {u: user.name for u, user in users.items()}


def when(at: Any) -> str:
    """A step's local time as ``YYYY-MM-DD HH:MM``; nothing for a missing one (never "None")."""
    if not isinstance(at, str) or not at:
        return ""
    try:
        return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return at


def _label(action: Any) -> str:
    step = corrections.ACTIONS.get(action) if isinstance(action, str) else None
    return step.label if step else str(action or "")


def latest_step(df: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """The 最新处理 column: when, what and who of each finding's latest step, and why (masked)."""
    out = []
    for at, action, user, reason in zip(df["decided_at"], df["decided_action"], df["decided_by"],
                                        df["decision_reason"]):
        if not isinstance(action, str):
            out.append("")
            continue
        who = names.get(user, user) if isinstance(user, str) else ""
        text = f"{when(at)} {_label(action)}（{who}）"
        out.append(text + (f"：{mask_text(reason)}" if isinstance(reason, str) and reason else ""))
    return out


def pick_and_act(snapshot: str, period: str, rows: pd.DataFrame, key: str) -> None:
    """Choose several of the shown findings and take one step on all of them: only findings a step of the
    viewer's role may follow are offered, and only the steps ``corrections.ACTIONS`` allows from every
    chosen status; the reason, the new page's URL (报告已整改) and an attachment (提出异议) as the step needs."""
    who = viewer()
    _show_outcome(key)
    status_of = {r["finding_id"]: r["status"] for r in shared._records(rows)
                 if findings.allowed_actions(who.role, [r["status"]])}
    if not status_of:
        st.caption("本页没有可处理的问题。")
        return
    labels = {r["finding_id"]: f"{int(r['n'])}. {r['wsh'] if isinstance(r['wsh'], str) else r['dept_name']} · "
              f"{r['rule_name']} · {r['status_name']}" for r in shared._records(rows) if r["finding_id"] in status_of}
    if f"{key}_pick" in st.session_state:  # a finding answered meanwhile (another session) is no longer offered
        st.session_state[f"{key}_pick"] = [f for f in st.session_state[f"{key}_pick"] if f in labels]
    picked = st.multiselect("选择问题（可多选）", list(labels), format_func=labels.__getitem__, key=f"{key}_pick",
                            placeholder="请选择问题")
    if not picked:
        return
    actions = findings.allowed_actions(who.role, [status_of[f] for f in picked if f in status_of])
    if not actions:
        st.warning("所选问题的状态不同，没有能同时执行的操作，请分开处理。")
        return
    if st.session_state.get(f"{key}_action") not in actions:  # chosen for another selection: start afresh
        st.session_state.pop(f"{key}_action", None)
    action = st.radio("处理", actions, horizontal=True, key=f"{key}_action", format_func=_label)
    step = corrections.ACTIONS[action]
    reason_label = corrections.REASON_LABELS.get(action, "理由")
    st.text_area(reason_label + ("（必填）" if step.needs_reason else "（选填）"), key=f"{key}_reason")
    if action == "report_fixed":
        st.text_input("整改后的页面地址（选填，以 http:// 或 https:// 开头）", key=f"{key}_url")
    if action == "object":
        st.file_uploader("证明材料（选填：PDF、PNG 或 JPEG，不超过 10 MB）", type=ATTACHMENT_TYPES,
                         key=_file_key(key))
    st.button(f"提交：{step.label}（{len(picked)} 项）", key=f"{key}_submit", on_click=_submit,
              args=(snapshot, period, key, action))


def _file_key(key: str) -> str:
    """The uploader's key, renewed after each recorded step (an uploader cannot be emptied otherwise)."""
    return f"{key}_file_{st.session_state.get(f'{key}_round', 0)}"


def _submit(snapshot: str, period: str, key: str, action: str) -> None:
    """Record the step (a button callback: it runs before the page, so the form can be emptied after)."""
    state = st.session_state
    upload = state.get(_file_key(key)) if action == "object" else None
    try:
        attachment = corrections.Attachment(upload.getvalue(), upload.name) if upload is not None else None
        n = findings.act(snapshot, viewer(), period, list(state.get(f"{key}_pick") or []), action,
                         reason=state.get(f"{key}_reason"),
                         url=state.get(f"{key}_url") if action == "report_fixed" else None, attachment=attachment)
    except corrections.WorkbenchError as exc:
        state[f"{key}_outcome"] = (False, str(exc))
        return
    state[f"{key}_outcome"] = (True, f"已记录“{corrections.ACTIONS[action].label}”：{n} 项问题。")
    state[f"{key}_pick"] = []
    state[f"{key}_reason"] = ""
    state[f"{key}_url"] = ""
    state[f"{key}_round"] = state.get(f"{key}_round", 0) + 1


def _show_outcome(key: str) -> None:
    outcome = st.session_state.pop(f"{key}_outcome", None)
    if outcome is not None:
        (st.success if outcome[0] else st.error)(outcome[1])


def history(snapshot: str, finding: dict[str, Any]) -> None:
    """Every step taken on the finding, oldest first (who by name, local time, Chinese labels, the reason,
    the URL, the attachment); a verification step shows its comparison."""
    hist = corrections.history(resolve_paths(), finding["finding_id"])
    if hist.empty:
        st.caption("尚无处理记录。")
        return
    names = display_names()
    table = pd.DataFrame({
        "时间": hist["at"].map(when),
        "处理人": [names.get(u, u) if isinstance(u, str) else "" for u in hist["username"]],
        "角色": hist["role"].map(lambda r: ROLE_LABELS.get(r, r or "")),
        "操作": hist["action"].map(_label),
        "处理后状态": hist["status"].map(lambda s: corrections.STATUSES.get(s, s)),
        "理由": hist["reason"].map(lambda v: mask_text(v) if isinstance(v, str) else ""),
        "整改后页面": hist["url"].map(lambda v: shared._shown_url(v) or ""),
        "附件": hist["attachment_name"].map(lambda v: v if isinstance(v, str) else ""),
    })
    with st.container(key="history"):
        st.dataframe(table, hide_index=True)
    verified = False
    for step in shared._records(hist):
        if isinstance(step.get("attachment"), str):
            attachment(step, key=f"history_attachment_{step['id']}")
        if step["action"] in VERIFICATION_ACTIONS:
            st.text(f"{when(step['at'])} {_label(step['action'])}：{mask_text(step.get('reason') or '')}")
            verified = True
    if verified:  # the latest verification's evidence, before | after (plain text)
        _verification.show_verification(snapshot, finding["finding_id"])


def attachment(step: dict[str, Any], key: str) -> None:
    """An uploaded file as an image (PNG/JPEG) or a download, never as a page: its type is the one checked
    by content when it was stored."""
    try:
        data, mime = corrections.read_attachment(resolve_paths(), step["attachment"])
    except (corrections.WorkbenchError, OSError):
        st.warning("附件读取失败（文件缺失或编号无效）。")
        return
    name = step.get("attachment_name") or step["attachment"]
    suffix = step["attachment"].rsplit(".", 1)[1]
    st.text(f"附件：{name}")  # the uploader's file name: text, never markdown
    if mime.startswith("image/"):
        st.image(data)
    stem = re.sub(r"[^\w\-（）() ]", "_", Path(str(name)).stem)[:60] or "附件"
    st.download_button("下载附件", data, file_name=f"{stem}.{suffix}", mime=mime, key=key)

"""What 部门自查 and 问题清单 share: the findings table, the pager, the Excel file, and one finding in
detail — the record's fields with the failing one marked, the page URL (masked like every value: a URL
naming its subject's ID or mobile number is shown masked and offered as no link), the archived copy as fetched (as
text: nothing from a crawled page runs or loads here) and, when the finding cites one, a second archived page
(an earlier crawl's list page that did not list the record yet), and for assessors the reveal of one masked value,
written to the access log before it is shown."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries import evidence, shared
from dashboard.sanitize import page_source, page_text
from dashboard.views._common import mask_names, viewer
from core.vocab import INDICATORS, KIND_LABELS

HIGHLIGHT = "background-color: #ffe0e0; font-weight: bold"
PERSONAL_URL_NOTE = "原页面地址含身份证号或手机号，已脱敏显示，不能直接打开；请以下方的存档页面为准。"
MARK = "◀ 问题字段"
MAX_TEXT = 20_000  # characters of an archived page shown (a detail page is a few thousand)


def findings_table(df: pd.DataFrame, *, with_department: bool = False) -> pd.DataFrame:
    """The finding rows as people read them (Chinese headings, field code with its name)."""
    fields = [f"{code} {name}" if isinstance(name, str) else code for code, name in zip(df["field"], df["field_name"])]
    table = pd.DataFrame({
        "序号": df["n"].astype("int64"),
        **({"部门": df["dept_name"]} if with_department else {}),
        "指标": df["indicator"].map(lambda v: INDICATORS.get(v, v)),
        "问题类型": df["rule_name"],
        "类型": df["kind"].map(lambda v: KIND_LABELS.get(v, v)),
        "文书号": df["wsh"].fillna("—"),  # a department-level finding is about no one record
        "相对人名称": df["xdr_mc"].fillna("—"),
        "字段": fields,
        "问题": df["message"],
        "问题值": df["value"],
        "状态": df["status_name"],
        "证据页面": df["url"],
        "存档": df["archive"],
        "抓取时间": df["fetched_at"],
        "规则": df["rule_id"],
        "问题编号": df["finding_id"],
    })
    return table


TABLE_COLUMNS = {
    "序号": st.column_config.NumberColumn("序号", format="%d", width="small"),
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


def choose(df: pd.DataFrame, key: str) -> dict[str, Any] | None:
    """Pick one finding of the shown page to look at in detail."""
    if df.empty:
        return None
    labels = {r["finding_id"]: f"{int(r['n'])}. {r['wsh'] if isinstance(r['wsh'], str) else r['dept_name']} · "
              f"{r['rule_name']}" + (f" · {r['field']}" if isinstance(r["field"], str) else "")
              for r in df.to_dict("records")}
    picked = st.selectbox("查看问题详情", list(labels), format_func=labels.__getitem__, key=key)
    return next(r for r in shared._records(df) if r["finding_id"] == picked)


def detail(snapshot: str, finding: dict[str, Any]) -> None:
    """The finding's record (failing field marked), the page URL and the archived page as text."""
    st.markdown(f"**{finding['rule_name']}**（{INDICATORS.get(finding['indicator'], finding['indicator'])}）")
    st.text(finding["message"] or "")
    if finding.get("url"):  # masked (core.privacy): a URL naming its subject's ID opens nothing real
        if finding.get("url_personal"):
            st.caption(PERSONAL_URL_NOTE)
        else:
            st.link_button("打开原页面（外部网站）", finding["url"])
        st.code(finding["url"], language=None)  # crawled text: never through markdown
    if finding.get("record_key"):
        record(snapshot, finding)
    if finding.get("evidence"):
        archived(snapshot, finding)
    else:
        st.info("该问题没有对应的存档页面。")
    if isinstance(finding.get("ref_fetch_id"), str):
        archived(snapshot, finding, finding["ref_fetch_id"], title=REF_TITLE, key="ref_archived_text",
                 note=REF_NOTE)


def record(snapshot: str, finding: dict[str, Any]) -> None:
    fields = evidence.record_fields(snapshot, viewer(), finding["kind"], finding["record_key"], mask_names())
    if fields.empty:
        st.info("找不到该问题对应的记录。")
        return
    shown = fields[fields["value"].notna() | (fields["code"] == finding["field"])]  # empty fields add nothing
    table = pd.DataFrame({"字段": shown["code"], "名称": shown["name"], "值": shown["value"],
                          "标记": [MARK if c == finding["field"] else "" for c in shown["code"]]})
    styled = table.style.apply(lambda row: [HIGHLIGHT if row["标记"] else ""] * len(row), axis=1)
    with st.container(key="finding_record"):
        st.markdown("**记录字段**（红色为问题字段）")
        st.dataframe(styled, hide_index=True)
    if viewer().can_decide:
        reveal(snapshot, finding, fields)


def reveal(snapshot: str, finding: dict[str, Any], fields: pd.DataFrame) -> None:
    """An assessor shows one masked value; the access log row is written before the value is read."""
    kind = finding["kind"]
    options = [c for c, v in zip(fields["code"], fields["value"])
               if isinstance(v, str) and "*" in v and evidence.maskable(kind, c)]
    if not options:
        return
    names = dict(zip(fields["code"], fields["name"]))
    with st.container(key="reveal"):
        code = st.selectbox("查看原值（每次查看都记入访问日志）", options, format_func=lambda c: f"{c} {names[c]}",
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
    st.markdown(f"**{title}**（抓取于 {row['fetched_at']:%Y-%m-%d %H:%M}，SHA-256 {str(row.get('sha256'))[:12]}…；"
                "以纯文本显示，页面中的脚本、样式和外部资源均不会加载）")
    if note:
        st.caption(note)
    if second and (url := shared._web_url(row.get("url"))):
        st.code(url, language=None)  # crawled text: never through markdown
    with st.container(key=key):
        st.code(text[:MAX_TEXT], language=None)
    with st.expander(f"{title}源码（文本）" if second else "页面源码（文本）", key=f"{key}_source"):
        st.code(page_source(body, row.get("content_type"))[:MAX_TEXT], language="html")

"""A department's remediation notice (整改通知书, .docx): addressed to its liaison, its score and ranks (or,
when it is not ranked, 本期无公示记录 / 证据不足 and what that means), how the points were lost, every finding
with its evidence (the page and the archived copy, and the earlier page a late finding cites), the records
that could not be verified (待核实: to be checked, not rectified), and the deadline.

The liaison's phone is printed as configured when it is an office number (public-facing, printed on the
department's own site); a personal mobile number is masked like any other (``docx_kit.text``).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from core.vocab import RANKED, STANDINGS
from metrics.results import UNVERIFIED_NOTE, standing_note
from metrics.scheme import Scheme
from core.standard import field_name
from reports.data import PeriodData
from reports.docx_kit import new_document, paragraph, signature, table, text, to_bytes
from reports.revision import changes_section, deadline_words, overdue_sentence, version_line, waived_list

FINDING_HEADERS = ["序号", "问题类型", "文书号", "字段", "问题说明", "证据（页面、存档时间、存档编号）"]
FINDING_WIDTHS = [9, 20, 25, 18, 48, 36]
UNVERIFIED_HEADERS = ["序号", "文书号", "未能核验的事项", "原因", "证据（页面、存档时间、存档编号）"]
UNVERIFIED_WIDTHS = [9, 25, 22, 62, 38]


def _change(e: dict[str, Any]) -> str:
    if e.get("prev_total") is None:
        return "上期无得分"
    return f"较上期{e['total'] - e['prev_total']:+.2f}分"


def build(data: PeriodData, dept_id: str, scheme: Scheme, report_date: date, due: date) -> bytes:
    """The notice of one department as .docx bytes (KeyError when the department is not in ``data``)."""
    e = data.explained[dept_id]
    dept = data.departments.get(dept_id, {})
    title = "双公示工作整改通知书"
    doc = new_document(f"{title}（{e['name']}，{data.period.label}）", scheme.office, data.computed_at)
    doc.add_paragraph(title, style="Title")
    doc.add_paragraph(f"{data.title_period}", style="Subtitle")
    version_line(doc, data)
    contact = "、".join(x for x in (dept.get("liaison") and f"联系人 {dept['liaison']}",
                                     dept.get("liaison_phone") and f"电话 {dept['liaison_phone']}") if x)
    paragraph(doc, f"{e['name']}" + (f"（{contact}）" if contact else "") + "：", indent=False)
    basis = (f"根据{data.title_period}双公示工作评估（评分方案 {data.scheme_version}，数据截止 "
             f"{data.cutoff:%Y-%m-%d %H:%M}），")
    subs = "分项得分：" + "，".join(f"{d}{'—' if e.get(k) is None else format(e[k], '.2f')}"
                                  for k, d in scheme.names.items()) + "。"
    unverified = data.unverified_of(dept_id)
    n_unverified = int(e.get("n_unverified") or 0)
    checked = f"（其中{n_unverified:,}条公示及时性未能核验，列为待核实，不扣分）" if n_unverified else ""
    standing = e.get("standing") or RANKED
    if standing == "no_records":
        paragraph(doc, basis + f"你单位本期评估结论为“{STANDINGS[standing]}”：{standing_note(standing)}")
    elif standing != RANKED:
        paragraph(doc, basis + f"你单位纳入评估的记录{e['n_records']:,}条{checked}，本期评估结论为“{STANDINGS.get(standing, standing)}”："
                       f"{standing_note(standing, scheme.max_unverified_share)}按已核验的内容计算，总分{e['total']:.2f}分"
                       f"（仅供参考，不参加排名）。{subs}")
    else:
        ranks = f"全市排名第{e['rank']}名（共{data.n_ranked}个部门）"
        if e.get("county_rank"):
            ranks += f"，{e['county']}内第{e['county_rank']}名（共{data.n_in_county.get(e['county'], 0)}个部门）"
        paragraph(doc, basis + f"你单位纳入评估的记录{e['n_records']:,}条{checked}，总分{e['total']:.2f}分，"
                       f"等级“{e['grade']}”，{ranks}，{_change(e)}。{subs}")
    findings = data.findings_of(dept_id)
    doc.add_heading("一、扣分情况", level=1)
    if e["deductions"]:
        table(doc, ["指标", "问题类型", "问题数", "扣分", "计算方法"],
              ((d["indicator_name"], d["rule_name"], len(d["findings"]), f"{d['points']:.2f}", d["how"])
               for d in e["deductions"]), [18, 40, 16, 16, 66], right=(2, 3))
        paragraph(doc, f"合计扣分{e['points']:.2f}分，总分＝100－合计扣分＝{e['total']:.2f}分。")
    else:
        paragraph(doc, "本期无扣分。")
    doc.add_heading("二、问题清单", level=1)
    if findings:
        paragraph(doc, f"共{len(findings):,}个问题，逐条列出如下；证据为评估时抓取的页面及其存档（可在看板“部门自查”中查看存档原文）。")
        table(doc, FINDING_HEADERS, (
            (n, f["rule_name"], f["wsh"] or "部门层面", field_name(f["kind"], f["field"]) or f["field"], f["message"],
             "；".join(x for x in (f["url"], f["fetched_at"] and f"存档 {text(f['fetched_at'])}",
                                   f["fetch_id"] and f"编号 {f['fetch_id']}",
                                   f.get("ref_fetch_id") and f"此前采集时尚未列出该记录的页面 编号 {f['ref_fetch_id']}")
                       if x))
            for n, f in enumerate(findings, 1)), FINDING_WIDTHS, right=(0,))
    else:
        paragraph(doc, "本期没有可评估的记录，未发现问题。" if standing == "no_records"
                  else "本期未发现需要整改的问题，请继续保持。")
    if waived := data.waived_of(dept_id):
        waived_list(doc, waived)
    heading = 3
    if unverified:
        doc.add_heading("三、待核实的记录（未能核验，不扣分）", level=1)
        paragraph(doc, f"共{len(unverified):,}项。{UNVERIFIED_NOTE}这些记录不需要整改，请核实其实际公示日期，"
                       "能够证明按时公示的（如网站后台发布记录）请随整改情况一并报送；今后公示时请在页面上标明公示日期。")
        table(doc, UNVERIFIED_HEADERS, (
            (n, u["wsh"] or "（整个专栏）", u["what"], u["reason"],
             "；".join(x for x in (u["url"], u["fetched_at"] and f"存档 {text(u['fetched_at'])}",
                                   u["fetch_id"] and f"编号 {u['fetch_id']}") if x))
            for n, u in enumerate(unverified, 1)), UNVERIFIED_WIDTHS, right=(0,))
        heading = 4
    doc.add_heading(f"{'一二三四'[heading - 1]}、整改要求", level=1)
    due_words = deadline_words(data, scheme, report_date, due, f"自{report_date:%Y年%m月%d日}起")
    paragraph(doc, f"请你单位对上述问题逐条核实整改，{due_words}完成，并将整改情况书面报送{scheme.office}。"
                   "对确属误判的问题，请附证明材料一并说明。" + ("待核实的记录请在同一期限内报送核实情况。" if unverified else "")
                   + overdue_sentence(data, dept_id, due))
    if standing == "no_records":
        paragraph(doc, "如你单位本期确有作出行政许可、行政处罚决定，请按规定在本部门网站“双公示”专栏公示，"
                       "并推送至信用网站。")
    changes_section(doc, data, dept_id)
    signature(doc, scheme.office, report_date)
    return to_bytes(doc)

"""A department's remediation notice (整改通知书, .docx): addressed to its liaison, its score and ranks, how
the points were lost, every finding with its evidence (the page and the archived copy), and the deadline.

The liaison's phone is printed as configured when it is an office number (public-facing, printed on the
department's own site); a personal mobile number is masked like any other (``docx_kit.text``).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from metrics.scheme import Scheme
from metrics.standard import field_name
from reports.data import PeriodData
from reports.docx_kit import new_document, paragraph, signature, table, text, to_bytes

FINDING_HEADERS = ["序号", "问题类型", "文书号", "字段", "问题说明", "证据（页面、存档时间、存档编号）"]
FINDING_WIDTHS = [9, 20, 25, 18, 48, 36]


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
    contact = "、".join(x for x in (dept.get("liaison") and f"联系人 {dept['liaison']}",
                                     dept.get("liaison_phone") and f"电话 {dept['liaison_phone']}") if x)
    paragraph(doc, f"{e['name']}" + (f"（{contact}）" if contact else "") + "：", indent=False)
    ranks = f"全市排名第{e['rank']}名（共{data.n_ranked}个部门）"
    if e.get("county_rank"):
        ranks += f"，{e['county']}内第{e['county_rank']}名（共{data.n_in_county.get(e['county'], 0)}个部门）"
    paragraph(doc, f"根据{data.title_period}双公示工作评估（评分方案 {data.scheme_version}，数据截止 "
                   f"{data.cutoff:%Y-%m-%d %H:%M}），你单位纳入评估的记录{e['n_records']:,}条，总分{e['total']:.2f}分，"
                   f"等级“{e['grade']}”，{ranks}，{_change(e)}。分项得分：" +
                   "，".join(f"{d}{'—' if e.get(k) is None else format(e[k], '.2f')}"
                             for k, d in scheme.names.items()) + "。")
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
                                   f["fetch_id"] and f"编号 {f['fetch_id']}") if x))
            for n, f in enumerate(findings, 1)), FINDING_WIDTHS, right=(0,))
    else:
        paragraph(doc, "本期未发现需要整改的问题，请继续保持。")
    doc.add_heading("三、整改要求", level=1)
    paragraph(doc, f"请你单位对上述问题逐条核实整改，于{due:%Y年%m月%d日}前（自{report_date:%Y年%m月%d日}起"
                   f"{scheme.remediation_workdays}个工作日内）完成，并将整改情况书面报送{scheme.office}。"
                   "对确属误判的问题，请附证明材料一并说明。")
    signature(doc, scheme.office, report_date)
    return to_bytes(doc)

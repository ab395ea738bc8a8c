"""A department's remediation notice (整改通知书, .docx), shaped as a 公文: addressed to its liaison, the body (its
score and ranks — or, when it is not ranked, 本期无公示记录 / 证据不足 and what that means — and in one paragraph
how many problems of which kind cost how many points), the requirement with its deadline, the signature; then
the annexes: 附件1 问题清单 (each finding with short evidence: the page shortened and the archive time, the
archive ids as notes under the table), 附件2 the records that could not be verified (待核实: to be checked, not
rectified), 附件3 the waived findings. A department without findings gets a short 无问题 letter.

The liaison's phone is printed as configured when it is an office number (public-facing, printed on the
department's own site); a personal mobile number is masked like any other (``docx_kit.text``).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from core.vocab import RANKED, STANDINGS
from metrics.results import UNVERIFIED_NOTE, standing_note
from metrics.scheme import Scheme
from core.standard import field_name
from reports.data import PeriodData
from reports.docx_kit import new_document, paragraph, signature, table, text, to_bytes
from reports.revision import changes_section, deadline_words, overdue_sentence, version_line, waived_list

FINDING_HEADERS = ["序号", "问题类型", "文书号/页面", "字段", "问题说明", "证据（页面、存档时间、注）"]
FINDING_WIDTHS = [9, 20, 25, 18, 48, 36]
UNVERIFIED_HEADERS = ["序号", "文书号", "未能核验的事项", "原因", "证据（页面、存档时间、注）"]
UNVERIFIED_WIDTHS = [9, 25, 22, 62, 38]


def _change(e: dict[str, Any]) -> str:
    if e.get("prev_total") is None:
        return "上期无得分"
    moved = round(e["total"] - e["prev_total"], 2)
    return "与上期持平" if moved == 0 else f"较上期{moved:+.2f}分"


def _summary(e: dict[str, Any], findings: list, unverified: list, annexes: list[str]) -> str:
    """The body's one paragraph on the problems: how many of which kind, the points each cost, where the list is."""
    lost = "；".join(f"{d['rule_name']}{len(d['findings'])}个（扣{d['points']:.2f}分）" for d in e["deductions"])
    where = "、".join(f"附件{i}" for i, _ in enumerate(annexes, 1))
    text_ = f"经评估，你单位本期存在问题{len(findings):,}个" if findings else "经评估，你单位本期未发现扣分问题"
    if lost:
        text_ += f"：{lost}，合计扣{e['points']:.2f}分"
    if unverified:
        text_ += f"；另有{len(unverified):,}条记录的公示及时性未能核验，需要核实（不扣分）"
    return text_ + f"。具体问题及证据见{where}。"


def _annex(doc, n: int, name: str) -> None:
    """An annex's heading, as 公文 annexes are headed: 附件1 + its name."""
    if n == 1:  # the annexes begin after the signature, on a page of their own
        doc.add_page_break()
    paragraph(doc, f"附件{n}", indent=False, bold=True)
    doc.add_heading(name, level=1)


def _about(f: dict[str, Any]) -> str:
    """What a finding concerns: its record's 文书号, the 文书号 a department-level finding names, else its page."""
    if f.get("wsh"):
        return f["wsh"]
    if str(f.get("field") or "").endswith("_WSH") and f.get("value"):
        return f["value"]
    return _short_url(f.get("url")) or "（整个专栏）"


def _short_url(url: Any) -> str:
    """A URL as a reader needs it in a table: host and path, cut to 40 characters."""
    if not url:
        return ""
    short = re.sub(r"^https?://", "", str(url))
    return short if len(short) <= 40 else short[:37] + "…"


def _evidence(f: dict[str, Any], notes: list[str]) -> str:
    """Short evidence for a table cell (the page shortened, the archive time and a note number); the archive
    ids go to the notes under the table, where a reader who needs them finds them whole."""
    ids = "；".join(x for x in (f.get("fetch_id") and f"存档编号 {f['fetch_id']}",
                               f.get("ref_fetch_id") and f"此前采集时尚未列出该记录的页面 存档编号 {f['ref_fetch_id']}")
                    if x)
    mark = ""
    if ids:  # the same archived page cited by several rows is one note
        if ids not in notes:
            notes.append(ids)
        mark = f"［注{notes.index(ids) + 1}］"
    when = f"存档 {text(f['fetched_at'])}" if f.get("fetched_at") else ""
    return "；".join(x for x in (_short_url(f.get("url")), when) if x) + mark


def _notes(doc, notes: list[str]) -> None:
    """The notes a table's evidence cells point to (python-docx writes no real footnotes)."""
    for i, note in enumerate(notes, 1):
        paragraph(doc, f"注{i}：{note}", indent=False)


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
    subs = "分项得分率（该指标实得分占其满分的百分比）：" + "，".join(
        f"{d}{'—' if e.get(k) is None else format(e[k], '.2f') + '%'}" for k, d in scheme.names.items()) + "。"
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
    waived = data.waived_of(dept_id)
    if not findings and not unverified:  # a short 无问题 letter: nothing to rectify, nothing to check
        paragraph(doc, "本期没有可评估的记录，未发现问题。" if standing == "no_records"
                  else "经评估，你单位本期未发现需要整改的问题，请继续保持。")
        if standing == "no_records":
            paragraph(doc, "如你单位本期确有作出行政许可、行政处罚决定，请按规定在本部门网站“双公示”专栏公示，"
                           "并推送至信用网站。")
        changes_section(doc, data, dept_id)
        signature(doc, scheme.office, report_date)
        if waived:
            _annex(doc, 1, "已豁免的问题")
            waived_list(doc, waived)
        return to_bytes(doc)
    annexes = [name for name, present in (("问题清单", findings), ("待核实的记录（未能核验，不扣分）", unverified),
                                          ("已豁免的问题", waived)) if present]
    paragraph(doc, _summary(e, findings, unverified, annexes))
    due_words = deadline_words(data, scheme, report_date, due, f"自{report_date:%Y年%m月%d日}起")
    paragraph(doc, f"请你单位对照附件逐条核实整改，{due_words}完成，并将整改情况书面报送{scheme.office}。"
                   "对确属误判的问题，请附证明材料一并说明。" + ("待核实的记录请在同一期限内报送核实情况。" if unverified else "")
                   + overdue_sentence(data, dept_id, due))
    changes_section(doc, data, dept_id)
    signature(doc, scheme.office, report_date)
    n = 0
    if findings:
        n += 1
        _annex(doc, n, "问题清单")
        notes: list[str] = []
        table(doc, FINDING_HEADERS, (
            (f["seq"], f["rule_name"], _about(f), field_name(f["kind"], f["field"]) or f["field"] or "—", f["message"],
             _evidence(f, notes)) for f in findings), FINDING_WIDTHS, right=(0,))  # 序号: the dashboard's too
        _notes(doc, notes)
    if unverified:
        n += 1
        _annex(doc, n, "待核实的记录（未能核验，不扣分）")
        paragraph(doc, f"共{len(unverified):,}项。{UNVERIFIED_NOTE}这些记录不需要整改，请核实其实际公示日期，"
                       "能够证明按时公示的（如网站后台发布记录）请随整改情况一并报送；今后公示时请在页面上标明公示日期。")
        notes = []
        table(doc, UNVERIFIED_HEADERS, (
            (i, u["wsh"] or "（整个专栏）", u["what"], u["reason"], _evidence(u, notes))
            for i, u in enumerate(unverified, 1)), UNVERIFIED_WIDTHS, right=(0,))
        _notes(doc, notes)
    if waived:
        _annex(doc, n + 1, "已豁免的问题")
        waived_list(doc, waived)
    return to_bytes(doc)

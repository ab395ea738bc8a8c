"""What the .docx documents share about versions and decisions: the version line, the 版本变更说明 section,
the 已豁免 list, the 逾期未整改 sentence and the deadline's words.

Why one place: the report and every notice must state the same version, list a version's changes with the
same words and say the same about waived findings, so a department reading its notice and the leadership
reading the report see one story (docs/corrections.md, "Versions").
"""
from __future__ import annotations

from datetime import date
from typing import Any

from metrics.results import RULE_NAMES
from metrics.scheme import Scheme
from reports.data import PeriodData
from reports.docx_kit import paragraph, table, text

CHANGES_TITLE = "版本变更说明"
WAIVED_HEADERS = ["序号", "问题类型", "文书号", "问题说明", "豁免理由", "决定人", "决定时间"]
WAIVED_WIDTHS = [9, 22, 25, 44, 36, 14, 22]
CHANGE_HEADERS = ["类别", "部门", "文书号／问题类型", "变更前", "变更后", "变更原因", "决定人", "决定时间"]
CHANGE_WIDTHS = [10, 24, 26, 26, 26, 40, 14, 20]


def version_line(doc, data: PeriodData) -> None:
    """"版本 1（2026-12-05 签发）" under the title (nothing for a period never issued)."""
    if data.version_label:
        paragraph(doc, data.version_label + ("" if data.frozen else "。"), indent=False, bold=True)


def deadline_words(data: PeriodData, scheme: Scheme, report_date: date, due: date, since: str) -> str:
    """"于2026年12月25日前（自…起15个工作日内）"; a later version or a revised draft keeps the first
    version's deadline and says so."""
    if data.version is not None and (data.version["draft"] or data.version["version"] > 1):
        return f"于{due:%Y年%m月%d日}前（整改期限自版本1签发之日起计算，不因结果修订而顺延）"
    return f"于{due:%Y年%m月%d日}前（{since}{scheme.remediation_workdays}个工作日内）"


def overdue_sentence(data: PeriodData, dept_id: str | None, due: date) -> str:
    """"截至…，有N个问题逾期未整改…" ("" when none is overdue)."""
    n = data.overdue.get(dept_id, 0) if dept_id else sum(data.overdue.values())
    if not n or data.overdue_on is None:
        return ""
    who = "你单位" if dept_id else f"{len(data.overdue)}个部门共"
    return (f"截至{data.overdue_on:%Y年%m月%d日}，{who}有{n:,}个问题已过整改期限（{due:%Y年%m月%d日}）仍未报告整改或提出异议，"
            "为逾期未整改。")


def waived_list(doc, rows: list[dict[str, Any]]) -> None:
    """The waived findings (no deduction), each with the reason and who decided."""
    paragraph(doc, f"另有{len(rows):,}个问题经认定已豁免，不扣分、不需要整改，列出如下备查：")
    table(doc, WAIVED_HEADERS, (
        (n, f["rule_name"], f["wsh"] or "部门层面", f["message"], f["reason"] or "（未记录）",
         f["decided_by"] or "（未记录）", text(f["decided_at"]) if f["decided_at"] else "")
        for n, f in enumerate(rows, 1)), WAIVED_WIDTHS, right=(0,))


def changes_section(doc, data: PeriodData, dept_id: str | None, level: int = 1) -> None:
    """版本变更说明: what this version changed against the one before, and why (version 2 and later)."""
    if not data.frozen or data.version is None or data.version["version"] < 2:
        return
    rows = data.changes_of(dept_id)
    n = data.version["version"]
    doc.add_heading(CHANGES_TITLE, level=level)
    note = f"签发说明：{data.version['note']}。" if data.version.get("note") else ""
    if not rows:
        paragraph(doc, f"本版本（版本 {n}）与版本 {n - 1} 相比，{'你单位' if dept_id else ''}没有变化。{note}")
        return
    paragraph(doc, f"本版本（版本 {n}）替代版本 {n - 1}。{note}与版本 {n - 1} 相比的变化及原因如下：")
    table(doc, CHANGE_HEADERS, (
        (r["what"], r["dept_name"], _finding_name(r), r["before"], r["after"], r["reason"], r["decided_by"] or "", r["decided_at"] or "")
        for r in rows), CHANGE_WIDTHS)


def _finding_name(r: dict[str, Any]) -> str:
    if not r["rule_id"]:
        return "—"
    rule = RULE_NAMES.get(r["rule_id"], r["rule_id"])
    return f"{r['wsh']}（{rule}）" if r["wsh"] else f"部门层面（{rule}）"

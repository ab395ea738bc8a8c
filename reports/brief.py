"""The one-page 简报 for the leadership meeting (.docx, and PDF through LibreOffice): the headline, the five best
and the five worst departments, what changed, what must be done — the page third-party assessors put at the
front of their reports.

Why its own document: a leader reads one page; the full report (``reports.assessment``) is for the record.
Every figure is the report's (``reports.data``), every sentence about a chart the dashboard's
(``metrics.readings``), so the page, the screen and the report never disagree.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm

from core.vocab import RANKED
from metrics import readings
from metrics.results import is_missing
from metrics.scheme import Scheme
from reports.data import PeriodData, ReportError
from reports.docx_kit import new_document, paragraph, table, to_bytes
from reports.revision import version_line

TOP = 5
RATES = {"timeliness": "及时率", "completeness": "完整率", "accuracy": "准确率", "compliance": "合规率"}
SIDE_HEADERS = ["名次", "部门", "总分", "等级", "较上期"]


def _num(value: Any, spec: str = ".1f") -> str:
    return "—" if is_missing(value) else f"{value:{spec}}"


def _delta(now: Any, before: Any, spec: str = "+.1f", unit: str = "") -> str:
    """"（较上期 +0.4）", "（与上期持平）" or "" when there is no period before."""
    if is_missing(now) or is_missing(before):
        return ""
    moved = now - before
    return "（与上期持平）" if f"{moved:{spec}}".strip("+-0.") == "" else f"（较上期 {moved:{spec}}{unit}）"


def headline(data: PeriodData) -> str:
    """The headline sentence: departments, records, mean score, findings, open, the four rates."""
    h = data.headline
    rates = "、".join(f"{label} {_num(h.get(key))}%" for key, label in RATES.items())
    return (f"本期评估 {h.get('n_departments') or 0} 个部门、{h.get('n_records') or 0:,} 条公示记录，"
            f"平均得分 {_num(h.get('avg_total'))} 分{_delta(h.get('avg_total'), h.get('prev_avg_total'))}；"
            f"发现问题 {h.get('n_findings') or 0} 个{_delta(h.get('n_findings'), h.get('prev_n_findings'), '+d')}，"
            f"其中待处理 {h.get('n_open') or 0} 个；{rates}。")


def _ranked(data: PeriodData):
    ranking = data.ranking
    return ranking[ranking["standing"] == RANKED].sort_values(["rank", "name"])


def best_and_worst(data: PeriodData) -> list[list[str]]:
    """Rows of the side-by-side table: the five best on the left, the five weakest (weakest first) on the right."""
    ranked = _ranked(data)
    best = ranked.head(TOP)
    worst = ranked.sort_values(["rank", "name"], ascending=[False, True]).head(TOP)
    rows = []
    for i in range(max(len(best), len(worst))):
        row: list[str] = []
        for side in (best, worst):
            if i < len(side):
                r = side.iloc[i]
                change = "—" if is_missing(r.get("change")) else f"{r['change']:+.1f}"
                row += [f"{int(r['rank'])}", str(r["name"]), _num(r["total"]), str(r.get("grade") or "—"), change]
            else:
                row += [""] * len(SIDE_HEADERS)
        rows.append(row)
    return rows


def changes(data: PeriodData, trend_sentence: str = "") -> list[str]:
    """What moved since the period before: the biggest rise and fall, rank moves, the trend's news."""
    ranked = _ranked(data).dropna(subset=["change"])
    lines = []
    if not ranked.empty:
        up = ranked.sort_values("change", ascending=False).iloc[0]
        down = ranked.sort_values("change").iloc[0]
        if up["change"] > 0:
            lines.append(f"进步最大：{up['name']}，总分 {up['change']:+.1f} 分。")
        if down["change"] < 0:
            lines.append(f"退步最大：{down['name']}，总分 {down['change']:+.1f} 分。")
    moved = _ranked(data).dropna(subset=["prev_rank"])
    fallen = moved[moved["rank"] - moved["prev_rank"] >= 3].sort_values("rank", ascending=False)
    if not fallen.empty:
        names = "、".join(f"{r['name']}（{int(r['prev_rank'])}→{int(r['rank'])}）" for _, r in fallen.head(3).iterrows())
        more = f"等 {len(fallen)} 个部门" if len(fallen) > 3 else ""
        lines.append(f"名次下降 3 位及以上：{names}{more}。")
    if trend_sentence:
        lines.append(trend_sentence)
    return lines or ["与上期相比没有明显变化。"]


def requirements(data: PeriodData, scheme: Scheme, due: date) -> list[str]:
    """What must be done: the weakest departments by the deadline, the commonest problems, the overdue."""
    ranked = _ranked(data)
    fail = [g for g, _ in scheme.grades][-1] if scheme.grades else None
    failing = ranked[ranked["grade"] == fail]["name"].tolist() if fail else []
    weakest = failing or ranked.sort_values("rank", ascending=False).head(3)["name"].tolist()
    lines = []
    if weakest:
        who = "、".join(weakest) + (f"（{fail}）" if failing and fail else "等得分靠后的部门")
        lines.append(f"请{who}于 {due:%Y年%m月%d日} 前完成整改并报送整改情况。")
    top = data.problems.head(3)
    if not top.empty:
        names = "、".join(f"“{r['rule_name']}”（{int(r['n_findings'])} 个）" for _, r in top.iterrows())
        lines.append(f"各部门重点整改{names}等突出问题。")
    overdue = sum(data.overdue.values())
    if overdue:
        lines.append(f"截至 {data.overdue_on:%Y年%m月%d日}，仍有 {overdue} 个问题逾期未整改，涉及 {len(data.overdue)} 个部门，"
                     "请督促落实。")
    return lines


def build(data: PeriodData, scheme: Scheme, report_date: date, due: date, trend_sentence: str = "") -> bytes:
    """The 简报 as .docx bytes: one A4 page. ``trend_sentence``: the monthly trend's reading, when known."""
    title = f"{data.title_period}双公示工作简报"
    doc = new_document(title, scheme.office, data.computed_at)
    doc.add_paragraph(title, style="Title")
    doc.add_paragraph(scheme.office, style="Subtitle")
    paragraph(doc, f"{report_date:%Y年%m月%d日}", indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    version_line(doc, data)
    doc.add_heading("一、总体情况", level=1)
    paragraph(doc, headline(data))
    paragraph(doc, readings.distribution_reading(data.ranking) + readings.indicator_reading(data.problems))
    doc.add_heading(f"二、排名前{TOP}与后{TOP}", level=1)
    table(doc, [f"前{TOP}·{h}" if i == 1 else h for i, h in enumerate(SIDE_HEADERS)]
          + [f"后{TOP}·{h}" if i == 1 else h for i, h in enumerate(SIDE_HEADERS)],
          best_and_worst(data), [9, 31, 13, 13, 12] * 2, right=(0, 2, 4, 5, 7, 9))  # 156 mm: the text width
    doc.add_heading("三、主要变化", level=1)
    for line in changes(data, trend_sentence):
        paragraph(doc, line)
    doc.add_heading("四、工作要求", level=1)
    for line in requirements(data, scheme, due):
        paragraph(doc, line)
    for section in doc.sections:
        section.top_margin = section.bottom_margin = Mm(18)
    return to_bytes(doc)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: bytes, name: str = "简报") -> bytes:
    """The document as PDF, converted by LibreOffice headless with a private profile (parallel runs never
    collide); a ReportError in Chinese when LibreOffice is missing or fails."""
    office = soffice()
    if office is None:
        raise ReportError("生成 PDF 需要 LibreOffice（soffice 命令）：请安装 libreoffice-writer-nogui，或改用 Word 版简报。")
    with tempfile.TemporaryDirectory(prefix="sgs-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / f"{name}.docx"
        source.write_bytes(docx)
        try:
            run = subprocess.run([office, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                                  "--norestore", "--convert-to", "pdf", "--outdir", str(folder), str(source)],
                                 capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            raise ReportError("LibreOffice 转换 PDF 超时（180 秒）。") from None
        pdf = folder / f"{name}.pdf"
        if run.returncode != 0 or not pdf.exists():
            raise ReportError(f"LibreOffice 未能生成 PDF：{(run.stderr or run.stdout).strip()[:200]}")
        return pdf.read_bytes()

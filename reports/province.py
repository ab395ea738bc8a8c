"""The province's (or the nation's) assessment report (.docx, and PDF through LibreOffice), written from the
roll-up alone (``metrics.rollup.read_rollup``): the headline, the cities ranked, the five weakest, the counties
ranked across the province, and how the figures are made.

Why from the roll-up: it is what the province's dashboard shows (全省排名), so the page and the document never
disagree, and it is small — a city's own partitions (its departments, deductions, findings) are opened only by
whoever traces a figure down to its findings (the dashboard, on demand). A store holding several provinces'
cities gives the nation's report (全国, with each city's 省份 and 省内排名 beside its national rank).
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.fs as pafs
from docx.enum.text import WD_ALIGN_PARAGRAPH

from core.errors import SgsError
from core.periods import parse_period
from core.vocab import INDICATORS
from metrics.results import is_missing
from metrics.rollup import NATION, Rollup, filesystem, periods, read_rollup
from metrics.scheme import load_scheme, scheme_path
from reports.assessment import SCALE_NOTE
from reports.data import ReportError
from reports.docx_kit import new_document, paragraph, table, to_bytes, turn

WEAKEST = 5
AUTHOR = "双公示工作评估"
TEXT_WIDTH_MM = 156  # a portrait A4 page's text width (docx_kit's margins); wider tables go on landscape pages


def title(roll: Rollup) -> str:
    return f"{roll.level}双公示工作评估报告（{roll.period}）"


def load(store: str | Path, period: str) -> tuple[Rollup, Rollup | None]:
    """The period's roll-up and the previous period's when the store has it; a ReportError in Chinese when
    the store is missing or holds no roll-up of the period."""
    where = str(store).split("?")[0]
    parse_period(period)
    if "://" not in str(store):
        fs, base = filesystem(store)
        if fs.get_file_info(base).type != pafs.FileType.Directory:
            raise ReportError(f"全省数据存储 {where} 不存在：请指定 sgs score --cities 城市文件夹 --out 存储 写出的文件夹"
                              "（或 s3://… 地址）。")
    try:
        have = periods(store)
    except OSError as exc:  # an object store that cannot be reached or read (no traceback for a clerk)
        raise ReportError(f"无法读取全省数据存储 {where}：{str(exc).splitlines()[0][:200]}") from exc
    if period not in have:
        listed = "、".join(sorted(have)) if have else "无"
        raise ReportError(f"全省数据存储 {where} 中没有 {period} 的汇总排名（已有：{listed}）：请先运行 "
                          f"sgs score --cities 城市文件夹 --out {where} --period {period}。")
    before = parse_period(period).previous().label
    return read_rollup(store, period), (read_rollup(store, before) if before in have else None)


def _num(value: Any, spec: str = ".2f") -> str:
    return "—" if is_missing(value) else f"{value:{spec}}"


def _rank(value: Any) -> str:
    return "—" if is_missing(value) else str(int(value))


def _grade_order(roll: Rollup) -> list[str]:
    """The scheme's grades, highest first (the year's scheme; any other grade the roll-up holds after them)."""
    try:
        grades = [g for g, _ in load_scheme(scheme_path(parse_period(roll.period))).grades]
    except SgsError:
        grades = []
    return grades + sorted(set(roll.cities["grade"].dropna()) - set(grades))


def headline(roll: Rollup, before: Rollup | None) -> str:
    """Cities ranked, their mean score and its change, the grade counts."""
    cities = roll.cities
    mean = float(cities["total"].mean())
    change = ""
    if before is not None and not before.cities.empty:
        moved = mean - float(before.cities["total"].mean())
        change = "，与上期持平" if f"{moved:+.2f}".strip("+-0.") == "" else f"，较上期{moved:+.2f}分"
    counts = cities["grade"].value_counts()
    grades = "，".join(f"{g}{int(counts.get(g, 0))}个" for g in _grade_order(roll))
    where = ""
    if roll.level == NATION:
        where = f"{cities['province'].dropna().nunique()}个省份的"
    return (f"本期（{roll.period}）共对{where}{len(cities)}个城市、{len(roll.counties)}个县区（含市本级）进行排名，"
            f"城市平均得分{mean:.2f}分{change}。等级分布：{grades}。")


def _changes(roll: Rollup) -> str:
    """The biggest rise and fall among the cities since the previous period ("" without one)."""
    moved = roll.cities.assign(change=roll.cities["total"] - roll.cities["prev_total"]).dropna(subset=["change"])
    if moved.empty:
        return ""
    ordered = moved.sort_values("change")
    up, down = ordered.iloc[-1], ordered.iloc[0]
    parts = []
    if up["change"] > 0:
        parts.append(f"进步最大的是{up['city']}（{up['change']:+.2f}分）")
    if down["change"] < 0:
        parts.append(f"退步最大的是{down['city']}（{down['change']:+.2f}分）")
    return "；".join(parts) + "。" if parts else "各城市总分与上期持平。"


def city_rows(roll: Rollup, frame: pd.DataFrame | None = None) -> tuple[list[str], list[list[str]], list[float]]:
    """The city ranking table: headers, rows (as printed) and column widths in mm."""
    nation = roll.level == NATION
    cities = roll.cities if frame is None else frame
    headers = ["排名", "城市", "总分", "等级", *INDICATORS.values(), "较上期"]
    widths = [12.0, 30, 16, 14, *[16] * len(INDICATORS), 16]
    if nation:
        headers[1:1], widths[1:1] = ["省内排名"], [16]
        headers.insert(3, "省份")
        widths.insert(3, 26)
    rows = []
    for _, r in cities.iterrows():
        row = [_rank(r["rank"]), str(r["city"]), _num(r["total"]), str(r["grade"] or "—"),
               *[_num(r[i]) for i in INDICATORS], _num(r["total"] - r["prev_total"], "+.2f")]
        if nation:
            row[1:1] = [_rank(r["province_rank"])]
            row.insert(3, str(r["province"] or "—"))
        rows.append(row)
    return headers, rows, widths


def county_rows(roll: Rollup) -> tuple[list[str], list[list[str]], list[float]]:
    """The county ranking: the rank across the store, the county, its city and its rank within the city."""
    nation = roll.level == NATION
    headers = ["排名", "县区", "城市", "市内排名", "总分", "等级", "较上期"]
    widths = [12.0, 32, 28, 16, 16, 14, 16]
    if nation:
        headers[1:1], widths[1:1] = ["省内排名"], [16]
        headers.insert(4, "省份")
        widths.insert(4, 26)
    rows = []
    for _, r in roll.counties.iterrows():
        row = [_rank(r["rank"]), str(r["county"]), str(r["city"]), _rank(r["city_rank"]), _num(r["total"]),
               str(r["grade"] or "—"), _num(r["total"] - r["prev_total"], "+.2f")]
        if nation:
            row[1:1] = [_rank(r["province_rank"])]
            row.insert(4, str(r["province"] or "—"))
        rows.append(row)
    return headers, rows, widths


def _right(headers: list[str]) -> tuple[int, ...]:
    return tuple(i for i, h in enumerate(headers) if h not in ("城市", "县区", "省份", "等级"))


def _table(doc: Any, parts: tuple[list[str], list[list[str]], list[float]], landscape: bool) -> None:
    headers, rows, widths = parts
    if landscape:  # a landscape page is 225 mm wide: spread the extra over the name columns
        spare = 225 - sum(widths) - 4
        named = [i for i, h in enumerate(headers) if h in ("城市", "县区", "省份")]
        widths = [w + (spare / len(named) if i in named else 0) for i, w in enumerate(widths)]
    doc.paragraphs[-1].paragraph_format.keep_with_next = True  # the lead-in stays on the table's page
    table(doc, headers, rows, widths, right=_right(headers))


def build(roll: Rollup, before: Rollup | None, report_date: date) -> bytes:
    """The report as .docx bytes (the same roll-up and date give the same document)."""
    name = title(roll)
    where = roll.level
    doc = new_document(name, AUTHOR, datetime.combine(report_date, datetime.min.time()))
    wide = sum(city_rows(roll)[2]) > TEXT_WIDTH_MM or sum(county_rows(roll)[2]) > TEXT_WIDTH_MM
    if wide:  # a nation's tables (省份, 省内排名) are wider than a portrait page: the whole report is landscape
        turn(doc.sections[0], True)
    doc.add_paragraph(name, style="Title")
    paragraph(doc, f"{report_date.year}年{report_date.month}月{report_date.day}日", indent=False,
              align=WD_ALIGN_PARAGRAPH.CENTER)
    doc.add_heading("一、总体情况", level=1)
    paragraph(doc, headline(roll, before) + _changes(roll))
    doc.add_heading("二、城市排名", level=1)
    paragraph(doc, f"各城市按总分排列如下（同分并列）；{SCALE_NOTE}“较上期”为总分较上一期的变化，上期无数据的记为“—”。"
              + ("“排名”为全国排名，“省内排名”为在本省城市中的名次。" if where == NATION else ""))
    _table(doc, city_rows(roll), wide)
    doc.add_heading(f"三、得分靠后的{WEAKEST}个城市", level=1)
    weakest = roll.cities.sort_values(["rank", "city"], ascending=[False, True]).head(WEAKEST)
    paragraph(doc, "、".join(f"{r['city']}（{_num(r['total'])}分，{r['grade']}）" for _, r in weakest.iterrows())
              + "。请上述城市对照本市问题清单逐项整改。")
    _table(doc, city_rows(roll, weakest), wide)
    doc.add_heading("四、县区排名", level=1)
    paragraph(doc, f"各县区（含市本级）在{where}范围内按总分排名；“市内排名”为在本市县区中的名次。")
    _table(doc, county_rows(roll), wide)
    doc.add_heading("五、说明", level=1)
    for line in (
        "城市得分为该市参加排名部门得分的平均值（保留两位小数），县区得分为该县区参加排名部门得分的平均值；"
        "各项得分率同样取平均。等级按评分方案的等级线划定，与部门等级的划分相同。",
        "本报告的每一个数字均可追溯：城市和县区得分来自各市评分结果，各部门的扣分及其依据的每条问题记录在该市的问题清单中，"
        f"可在{where}排名看板中逐级打开（城市—县区—部门—问题），并查看抓取存档的原始网页。",
    ):
        paragraph(doc, line)
    return to_bytes(doc)


def report_bytes(store: str | Path, period: str, report_date: date | None = None) -> bytes:
    """The report of ``period`` from the store (local folder or s3://…) as .docx bytes."""
    roll, before = load(store, period)
    return build(roll, before, report_date or date.today())

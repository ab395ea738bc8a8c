"""The assessment workbook (.xlsx): 说明, 部门排名 (with 排名情况 and 未能核验记录数), 县区排名, 指标得分, 扣分明细
(per rule), 问题清单 (all findings), 未能核验 (every row the evidence could not decide, never deducted) and one
sheet per department with its own findings. Frozen header row, filters, column widths;
scores and counts are written as numbers.

Written with XlsxWriter in ``constant_memory`` mode (rows are streamed to disk as they are written), so a
province's hundred thousand findings cost seconds and little memory. Every string cell goes through
``core.privacy.mask_text`` (``_cell``): no ID or mobile number can reach the sheet unmasked.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from metrics.checks import INDICATORS
from core.privacy import mask_text
from metrics import results
from metrics.results import is_missing
from metrics.scheme import Scheme
from core.standard import field_name
from reports.data import PeriodData

# (header, width, format): format "score" two decimals, "int" integer, "time" date and time, None text
Column = tuple[str, float, str | None]
RANKING: list[Column] = [("排名", 6, "int"), ("部门编号", 12, None), ("部门", 28, None), ("县区", 12, None),
                         ("记录数", 9, "int"), *((n, 9, "score") for n in INDICATORS.values()),
                         ("总分", 9, "score"), ("等级", 8, None), ("县区内排名", 10, "int"),
                         ("上期总分", 10, "score"), ("上期排名", 9, "int"), ("较上期", 9, "score"),
                         ("排名情况", 14, None), ("未能核验记录数", 10, "int")]
COUNTY: list[Column] = [("排名", 6, "int"), ("县区", 14, None), ("部门数", 8, "int"), ("记录数", 10, "int"),
                        *((n, 9, "score") for n in INDICATORS.values()), ("总分", 9, "score"), ("等级", 8, None),
                        ("上期总分", 10, "score"), ("上期排名", 9, "int"), ("较上期", 9, "score")]
INDICATOR_SHEET: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("县区", 12, None), ("指标", 8, None),
                                 ("权重", 6, "int"), ("得分", 9, "score"), ("扣分", 8, "score"), ("问题数", 8, "int")]
DEDUCTIONS: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("指标", 8, None), ("规则", 22, None),
                            ("问题类型", 22, None), ("问题数", 8, "int"), ("评估记录数", 10, "int"),
                            ("扣分", 8, "score"), ("计算方法", 60, None)]
FINDINGS: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("指标", 8, None), ("问题类型", 22, None),
                          ("规则", 22, None), ("类别", 6, None), ("文书号", 28, None), ("字段", 12, None),
                          ("字段名称", 20, None), ("值", 24, None), ("问题说明", 50, None), ("页面", 40, None), ("存档时间", 17, "time"),
                          ("存档编号", 20, None), ("问题编号", 20, None), ("此前采集时尚未列出该记录的页面（存档编号）", 24, None)]
UNVERIFIED: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("类别", 6, None), ("文书号", 28, None),
                            ("未能核验的事项", 22, None), ("规则", 18, None), ("原因", 70, None), ("页面", 40, None),
                            ("存档时间", 17, "time"), ("存档编号", 20, None)]
KINDS = {"xk": "许可", "cf": "处罚"}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _cell(value: Any) -> Any:
    """Numbers stay numbers; missing values become empty cells; strings are masked."""
    if is_missing(value):  # None, NaN, NaT, NA
        return None
    if isinstance(value, str):
        return mask_text(value)
    if hasattr(value, "item") and not isinstance(value, datetime):  # numpy scalars → int/float
        return value.item()
    return value


class _Book:
    def __init__(self, target: Path | BinaryIO):
        options = {"strings_to_numbers": False, "strings_to_urls": False, "remove_timezone": True}
        if isinstance(target, Path):
            self.wb = xlsxwriter.Workbook(str(target), {**options, "constant_memory": True})
        else:  # bytes for a download: a city's workbook, built in memory
            self.wb = xlsxwriter.Workbook(target, {**options, "in_memory": True})
        self.head = self.wb.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True,
                                        "valign": "vcenter"})
        self.formats = {"score": self.wb.add_format({"num_format": "0.00"}), "int": self.wb.add_format({"num_format": "0"}),
                        "time": self.wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}), None: None}
        self.names: set[str] = set()

    def sheet(self, name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
        """One sheet: header, frozen first row, filter over the data, widths; returns the rows written."""
        ws = self.wb.add_worksheet(self._unique(name))
        for i, (_, width, fmt) in enumerate(columns):
            ws.set_column(i, i, width, self.formats[fmt])
        ws.write_row(0, 0, [c[0] for c in columns], self.head)
        ws.freeze_panes(1, 0)
        formats = [self.formats[c[2]] for c in columns]
        scores = [c[2] == "score" for c in columns]
        n = 0
        for n, values in enumerate(rows, 1):
            for i, value in enumerate(values):
                v = _cell(value)
                if v is None:
                    continue
                if isinstance(v, str):  # the typed writers skip write()'s type dispatch: most cells are text
                    ws.write_string(n, i, v)
                elif isinstance(v, datetime):
                    ws.write_datetime(n, i, v, formats[i])
                else:
                    ws.write_number(n, i, round(v, 2) if scores[i] else v, formats[i])  # no float noise
        ws.autofilter(0, 0, max(n, 1), len(columns) - 1)
        return n

    def _unique(self, name: str) -> str:
        base = _SHEET_BAD.sub("_", name).strip("'")[:31] or "sheet"
        candidate, k = base, 1
        while candidate.lower() in self.names:
            k += 1
            candidate = f"{base[:31 - len(str(k)) - 1]}_{k}"
        self.names.add(candidate.lower())
        return candidate

    def close(self) -> None:
        self.wb.close()


def _finding_rows(data: PeriodData, dept_id: str) -> Iterable[list[Any]]:
    name = data.explained[dept_id]["name"]
    for f in data.findings_of(dept_id):
        yield [dept_id, name, f["indicator_name"], f["rule_name"], f["rule_id"], KINDS.get(f["kind"], f["kind"]),
               f["wsh"], f["field"], field_name(f["kind"], f["field"]), f["value"], f["message"], f["url"], f["fetched_at"], f["fetch_id"],
               f["finding_id"], f.get("ref_fetch_id")]


def _unverified_rows(data: PeriodData) -> Iterable[list[Any]]:
    for u in results.df_records(data.unverified):
        yield [u["dept_id"], u["dept_name"], KINDS.get(u["kind"], u["kind"]), u["wsh"] or "（整个专栏）", u["what"],
               u["rule_id"], u["reason"], u["url"], u["fetched_at"], u["fetch_id"]]


def _indicator_rows(data: PeriodData, scheme: Scheme) -> Iterable[list[Any]]:
    """Per department and indicator: weight, sub-score, points lost (its deductions) and findings."""
    for dept, e in data.explained.items():
        for ind, name in INDICATORS.items():
            mine = [d for d in e["deductions"] if d["indicator"] == ind]
            yield [dept, e["name"], e["county"], name, scheme.weights[ind], e.get(ind),
                   sum(d["points"] for d in mine), sum(len(d["findings"]) for d in mine)]


def write(data: PeriodData, scheme: Scheme, report_date: date, due: date, target: Path | BinaryIO) -> None:
    """Write the workbook to ``target``: a file (streamed, the caller renames it into place) or a buffer."""
    book = _Book(target)
    book.wb.set_properties({"title": f"{data.title_period}双公示评估工作簿", "author": scheme.office,
                            "created": data.computed_at.replace(microsecond=0)})  # same data, same file metadata
    try:
        about = [("评估期间", f"{data.period.label}（{data.period.start} 至 {data.period.end}）"),
                 ("评分方案", data.scheme_version), ("数据截止", f"{data.cutoff:%Y-%m-%d %H:%M:%S}"),
                 ("数据截止说明", "评分时最后一次抓取存档的时间"), ("评分时间", f"{data.computed_at:%Y-%m-%d %H:%M:%S}"),
                 ("报告日期", report_date.isoformat()), ("整改期限", due.isoformat()),
                 ("印发单位", scheme.office), ("部门数", len(data.ranking)),
                 *((label, int(data.headline.get(key) or 0)) for key, label in (
                     ("n_ranked", "参加排名部门数"), ("n_no_records", "本期无公示记录部门数"),
                     ("n_insufficient", "证据不足部门数"), ("n_unverified", "未能核验记录数"))),
                 ("未能核验说明", results.UNVERIFIED_NOTE),
                 ("证据不足说明", results.standing_note("insufficient_evidence", scheme.max_unverified_share)),
                 ("本期无公示记录说明", results.standing_note("no_records")),
                 ("问题数", int(data.headline["n_findings"]))]
        book.sheet("说明", [("项目", 14, None), ("内容", 60, None)], ([k, v] for k, v in about))
        r = data.ranking
        book.sheet("部门排名", RANKING, (
            [x.rank, x.dept_id, x.name, x.county, x.n_records, *(getattr(x, i) for i in INDICATORS), x.total, x.grade,
             x.county_rank, x.prev_total, x.prev_rank, x.change, x.standing_name, x.n_unverified]
            for x in r.itertuples()))
        book.sheet("县区排名", COUNTY, (
            [x.rank, x.county, x.n_departments, x.n_records, *(getattr(x, i) for i in INDICATORS), x.total, x.grade,
             x.prev_total, x.prev_rank, x.change] for x in data.counties.itertuples()))
        book.sheet("指标得分", INDICATOR_SHEET, _indicator_rows(data, scheme))
        book.sheet("扣分明细", DEDUCTIONS, (
            [dept, e["name"], d["indicator_name"], d["rule_id"], d["rule_name"], d["n_findings"], d["n_records"],
             d["points"], d["how"]] for dept, e in data.explained.items() for d in e["deductions"]))
        book.sheet("问题清单", FINDINGS, (row for dept in data.explained for row in _finding_rows(data, dept)))
        book.sheet("未能核验", UNVERIFIED, _unverified_rows(data))
        for dept, e in data.explained.items():
            book.sheet(e["name"], FINDINGS, _finding_rows(data, dept))
    finally:
        book.close()


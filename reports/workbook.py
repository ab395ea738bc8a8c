"""The assessment workbook (.xlsx): 说明, 部门排名 (with 排名情况 and 未能核验记录数), 县区排名, 指标得分, 扣分明细
(per rule), 问题清单 (all findings that deduct), 未能核验 (every row the evidence could not decide, never
deducted), 已豁免 (waived findings with reason and who decided), for version 2 and later 版本变更说明, and one
sheet per department with its own findings. 说明 states the version. Frozen header row, filters, column widths;
scores and counts are written as numbers.

Written through the project's one spreadsheet writer (``reports.sheets.Book``): XlsxWriter in
``constant_memory`` mode (rows are streamed to disk as they are written), so a province's hundred thousand
findings cost seconds and little memory; every text a text cell (never a formula, link or number guessed from
it) and masked with ``core.privacy.mask_text``: no ID or mobile number can reach the sheet unmasked.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from core.vocab import INDICATORS, KIND_LABELS
from metrics import results
from metrics.scheme import Scheme
from core.standard import field_name
from reports.data import PeriodData
from reports.sheets import Book, Column

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
FINDINGS: list[Column] = [("序号", 6, "int"), ("部门编号", 12, None), ("部门", 28, None), ("指标", 8, None), ("问题类型", 22, None),
                          ("规则", 22, None), ("类别", 6, None), ("文书号", 28, None), ("字段", 12, None),
                          ("字段名称", 20, None), ("值", 24, None), ("问题说明", 50, None), ("页面", 40, None), ("存档时间", 17, "time"),
                          ("存档编号", 20, "key"), ("问题编号", 20, "key"), ("此前采集时尚未列出该记录的页面（存档编号）", 24, "key")]
WAIVED: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("指标", 8, None), ("问题类型", 22, None),
                        ("规则", 22, None), ("类别", 6, None), ("文书号", 28, None), ("字段", 12, None),
                        ("问题说明", 50, None), ("页面", 40, None), ("问题编号", 20, "key"), ("豁免理由", 40, None),
                        ("决定人", 12, None), ("决定时间", 20, None)]
CHANGES: list[Column] = [("类别", 6, None), ("部门编号", 12, None), ("部门", 28, None), ("问题编号", 20, "key"),
                         ("规则", 22, None), ("文书号", 28, None), ("变更前", 26, None), ("变更后", 26, None),
                         ("变更原因", 50, None), ("决定人", 12, None), ("决定时间", 20, None)]
UNVERIFIED: list[Column] = [("部门编号", 12, None), ("部门", 28, None), ("类别", 6, None), ("文书号", 28, None),
                            ("未能核验的事项", 22, None), ("规则", 18, None), ("原因", 70, None), ("页面", 40, None),
                            ("存档时间", 17, "time"), ("存档编号", 20, "key")]


def _finding_rows(data: PeriodData, dept_id: str) -> Iterable[list[Any]]:
    name = data.explained[dept_id]["name"]
    for f in data.findings_of(dept_id):
        yield [f["seq"], dept_id, name, f["indicator_name"], f["rule_name"], f["rule_id"], KIND_LABELS.get(f["kind"], f["kind"]),
               f["wsh"], f["field"], field_name(f["kind"], f["field"]), f["value"], f["message"], f["url"], f["fetched_at"], f["fetch_id"],
               f["finding_id"], f.get("ref_fetch_id")]


def _waived_rows(data: PeriodData) -> Iterable[list[Any]]:
    for dept, e in data.explained.items():
        for f in data.waived_of(dept):
            yield [dept, e["name"], f["indicator_name"], f["rule_name"], f["rule_id"], KIND_LABELS.get(f["kind"], f["kind"]),
                   f["wsh"], f["field"], f["message"], f["url"], f["finding_id"], f["reason"], f["decided_by"],
                   f["decided_at"]]


def _version_rows(data: PeriodData) -> list[tuple[str, Any]]:
    """The 说明 rows about the version, the waived and the overdue findings."""
    rows: list[tuple[str, Any]] = [("版本", data.version_label)] if data.version_label else []
    if data.version is not None and data.version.get("note"):
        rows.append(("签发说明", data.version["note"]))
    rows.append(("已豁免问题数", int(data.headline.get("n_waived") or 0)))
    if data.overdue:
        rows.append((f"逾期未整改问题数（截至{data.overdue_on}）", sum(data.overdue.values())))
    return rows


def _unverified_rows(data: PeriodData) -> Iterable[list[Any]]:
    for u in results.df_records(data.unverified):
        yield [u["dept_id"], u["dept_name"], KIND_LABELS.get(u["kind"], u["kind"]), u["wsh"] or "（整个专栏）", u["what"],
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
    book = Book(target)
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
                 ("问题数", int(data.headline["n_findings"])), *_version_rows(data)]
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
        book.sheet("已豁免", WAIVED, _waived_rows(data))
        if data.frozen and data.version is not None and data.version["version"] > 1:
            book.sheet("版本变更说明", CHANGES, (
                [r["what"], r["dept_id"], r["dept_name"], r["finding_id"], r["rule_id"], r["wsh"], r["before"],
                 r["after"], r["reason"], r["decided_by"], r["decided_at"]] for r in data.changes_of(None)))
        for dept, e in data.explained.items():
            book.sheet(e["name"], FINDINGS, _finding_rows(data, dept))
    finally:
        book.close()


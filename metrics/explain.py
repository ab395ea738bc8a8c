"""Why a department has its score: its deductions and, under each, the findings behind it.

Read from the stored tables only (scores, deductions, findings), so it works the same on the working database
and on a published snapshot — the dashboard, reports and ``sgs explain`` call this one function. The
deductions add up exactly: total = 100 − Σ points (``balanced`` says so, computed in decimals).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from metrics.checks import INDICATORS, all_rules

FINDING_KEYS = ("finding_id", "kind", "record_key", "wsh", "field", "value", "message", "url", "fetch_id")


class ExplainError(LookupError):
    """No score for that department and period (message in Chinese)."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def explain(con: duckdb.DuckDBPyConnection, period: str, dept_id: str) -> dict[str, Any]:
    """The score of ``dept_id`` in ``period`` with its deductions (largest first within each indicator, in
    indicator order) and the findings behind each deduction (文书号 ``wsh`` included for record findings)."""
    scores = _rows(con, f"""
        SELECT s.period, s.dept_id, d.name, s.county, s.n_records, {', '.join(f's.{i}' for i in INDICATORS)},
               s.total, s.grade, s.rank, s.county_rank, s.prev_total, s.prev_rank, s.scheme_version
        FROM scores s JOIN departments d USING (dept_id) WHERE s.period = ? AND s.dept_id = ?""", [period, dept_id])
    if not scores:
        raise ExplainError(f"没有部门 {dept_id} 在 {period} 的得分：请确认部门编号，并先运行 sgs score --period {period}。")
    order = {ind: n for n, ind in enumerate(INDICATORS)}
    names = {r.id: r.name for r in all_rules()}
    deductions = sorted(_rows(con, """
        SELECT indicator, rule_id, n_findings, n_records, points, how FROM deductions
        WHERE period = ? AND dept_id = ?""", [period, dept_id]),
        key=lambda d: (order.get(d["indicator"], 99), -d["points"], d["rule_id"]))
    findings = _rows(con, """
        SELECT f.rule_id, f.finding_id, f.kind, f.record_key, coalesce(x.XK_WSH, c.CF_WSH) AS wsh, f.field, f.value,
               f.message, f.url, f.fetch_id
        FROM findings f
        LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
        LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key
        WHERE f.period = ? AND f.dept_id = ? ORDER BY f.rule_id, wsh NULLS FIRST, f.field, f.finding_id""",
        [period, dept_id])
    by_rule: dict[str, list[dict]] = {}
    for f in findings:
        by_rule.setdefault(f.pop("rule_id"), []).append(f)
    for d in deductions:
        d["rule_name"] = names.get(d["rule_id"], d["rule_id"])
        d["indicator_name"] = INDICATORS.get(d["indicator"], d["indicator"])
        d["findings"] = by_rule.get(d["rule_id"], [])
    score = scores[0]
    lost = sum((Decimal(str(d["points"])) for d in deductions), Decimal(0))
    return {**score, "points": float(lost), "balanced": Decimal(100) - lost == Decimal(str(score["total"])),
            "deductions": deductions}


def format_text(e: dict[str, Any]) -> str:
    """The explanation as the command line prints it (one deduction per line, its findings indented)."""
    lines = [f"{e['name']}（{e['county']}，{e['dept_id']}） {e['period']}  评分方案 {e['scheme_version']}",
             f"总分 {e['total']:.2f}  等级 {e['grade']}  排名 {e['rank']}（县区内 {e['county_rank']}）  "
             f"评估记录 {e['n_records']} 条",
             f"100 − 扣分合计 {e['points']:.2f} = {100 - e['points']:.2f}"]
    for d in e["deductions"]:
        lines.append(f"  −{d['points']:.2f}  [{d['indicator_name']}] {d['rule_name']}（{d['rule_id']}）：{d['how']}")
        for f in d["findings"]:
            where = f["wsh"] or "部门层面"
            lines.append(f"        {where}  {f['field'] or ''}  {f['message']}  {f['url'] or ''}")
    if not e["deductions"]:
        lines.append("  无扣分")
    return "\n".join(lines)

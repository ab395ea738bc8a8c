"""Why a department has its score: its deductions and, under each, the findings behind it.

Read from the stored tables only (scores, deductions, findings), so it works the same on the working database
and on a published snapshot — the dashboard, reports and ``sgs explain`` call this one function. The
deductions add up exactly: total = 100 − Σ points (``balanced`` says so, computed in decimals).

A waived finding (豁免, or an objection accepted: ``findings.status = 'waived'`` when scored) deducts nothing,
so it is not under any deduction: each department's ``waived`` lists them apart, each with the reason and who
decided (the correction store's step that waived it, or the step frozen in an issued version's file).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from core.settings import Paths
from core.errors import SgsError
from core.vocab import INDICATORS, RANKED, STANDINGS
from metrics import versions
from metrics.results import finding_numbers
from metrics.corrections import WAIVED
from metrics.checks import all_rules

FINDING_KEYS = ("finding_id", "kind", "record_key", "wsh", "field", "value", "message", "url", "fetch_id",
                "ref_fetch_id")


class ExplainError(SgsError, LookupError):
    """No score for that department and period (message in Chinese)."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def explain(con: duckdb.DuckDBPyConnection, period: str, dept_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """The score of ``dept_id`` in ``period`` with its deductions (largest first within each indicator, in
    indicator order) and the findings behind each deduction (文书号 ``wsh`` included for record findings), and
    its waived findings apart (``waived``: reason, decided_by, decided_at; ``paths`` locates the correction
    store, by default the one beside the connection's file)."""
    found = _explain(con, period, dept_id, paths)
    if dept_id not in found:
        raise ExplainError(f"没有部门 {dept_id} 在 {period} 的得分：请确认部门编号，并先运行 sgs score --period {period}。")
    return found[dept_id]


def explain_period(con: duckdb.DuckDBPyConnection, period: str, paths: Paths | None = None
                   ) -> dict[str, dict[str, Any]]:
    """``explain`` for every scored department of the period at once (three queries, not three per
    department), keyed by dept_id in rank order, the departments not ranked after them (证据不足, then
    本期无公示记录): what the reports print."""
    return _explain(con, period, None, paths)


def _explain(con: duckdb.DuckDBPyConnection, period: str, dept_id: str | None, paths: Paths | None
             ) -> dict[str, dict[str, Any]]:
    scores = _rows(con, f"""
        SELECT s.period, s.dept_id, d.name, s.county, s.n_records, {', '.join(f's.{i}' for i in INDICATORS)},
               s.total, s.grade, s.rank, s.county_rank, s.prev_total, s.prev_rank, s.scheme_version,
               coalesce(s.standing, 'ranked') AS standing, coalesce(s.n_unverified, 0) AS n_unverified
        FROM scores s JOIN departments d USING (dept_id)
        WHERE s.period = $period AND ($dept IS NULL OR s.dept_id = $dept)
        ORDER BY s.rank NULLS LAST, CASE WHEN s.rank IS NOT NULL THEN s.dept_id END,
                 CASE s.standing WHEN 'insufficient_evidence' THEN 1 ELSE 2 END,
                 s.county = '市本级' DESC, s.county, d.name, s.dept_id""", {"period": period, "dept": dept_id})
    order = {ind: n for n, ind in enumerate(INDICATORS)}
    names = {r.id: r.name for r in all_rules()}
    deductions: dict[str, list[dict[str, Any]]] = {}
    for d in sorted(_rows(con, """
            SELECT dept_id, indicator, rule_id, n_findings, n_records, points, how FROM deductions
            WHERE period = $period AND ($dept IS NULL OR dept_id = $dept)""", {"period": period, "dept": dept_id}),
            key=lambda d: (order.get(d["indicator"], 99), -d["points"], d["rule_id"])):
        deductions.setdefault(d.pop("dept_id"), []).append(d)
    findings = _rows(con, f"""
        SELECT f.dept_id, f.rule_id, f.finding_id, f.kind, f.record_key, coalesce(x.XK_WSH, c.CF_WSH) AS wsh,
               f.field, f.value, f.message, f.url, f.fetch_id, f.ref_fetch_id, f.status, f.indicator, n.seq
        FROM findings f
        JOIN {finding_numbers()} n USING (finding_id)
        LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
        LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key
        WHERE f.period = $period AND ($dept IS NULL OR f.dept_id = $dept)
        ORDER BY f.dept_id, n.seq""", {"period": period, "dept": dept_id})
    by_rule: dict[tuple[str, str], list[dict[str, Any]]] = {}
    waived = _waived([f for f in findings if f["status"] == WAIVED], con, period, paths, names)
    for f in findings:
        if f.pop("status") != WAIVED:
            f.pop("indicator")
            by_rule.setdefault((f.pop("dept_id"), f.pop("rule_id")), []).append(f)
    out: dict[str, dict[str, Any]] = {}
    for score in scores:
        dept = score["dept_id"]
        mine = deductions.get(dept, [])
        for d in mine:
            d["rule_name"] = names.get(d["rule_id"], d["rule_id"])
            d["indicator_name"] = INDICATORS.get(d["indicator"], d["indicator"])
            d["findings"] = by_rule.get((dept, d["rule_id"]), [])
        lost = sum((Decimal(str(d["points"])) for d in mine), Decimal(0))
        out[dept] = {**score, "points": float(lost), "balanced": Decimal(100) - lost == Decimal(str(score["total"])),
                     "deductions": mine, "waived": waived.get(dept, [])}
    return out


def _waived(found: list[dict[str, Any]], con: duckdb.DuckDBPyConnection, period: str, paths: Paths | None,
            names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """dept_id → its waived findings, each with its rule's names and the decision (reason, who, when)."""
    steps = versions.waivers(con, paths, period) if found else {}
    out: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        step = steps.get(str(f["finding_id"])) or {}
        out.setdefault(f.pop("dept_id"), []).append({
            **{k: f[k] for k in FINDING_KEYS}, "rule_id": f["rule_id"], "rule_name": names.get(f["rule_id"], f["rule_id"]),
            "indicator_name": INDICATORS.get(f["indicator"], f["indicator"]),
            "reason": step.get("reason"), "decided_by": step.get("username"), "decided_at": step.get("at")})
    return out


def format_text(e: dict[str, Any]) -> str:
    """The explanation as the command line prints it (one deduction per line, its findings indented)."""
    standing = e.get("standing") or RANKED
    placed = (f"等级 {e['grade']}  排名 {e['rank']}（县区内 {e['county_rank']}）" if standing == RANKED
              else f"不排名、不评等级：{STANDINGS.get(standing, standing)}")
    lines = [f"{e['name']}（{e['county']}，{e['dept_id']}） {e['period']}  评分方案 {e['scheme_version']}",
             f"总分 {e['total']:.2f}  {placed}  评估记录 {e['n_records']} 条"
             + (f"（其中及时性未能核验 {e['n_unverified']} 条，不扣分）" if e.get("n_unverified") else ""),
             f"100 − 扣分合计 {e['points']:.2f} = {100 - e['points']:.2f}"]
    for d in e["deductions"]:
        lines.append(f"  −{d['points']:.2f}  [{d['indicator_name']}] {d['rule_name']}（{d['rule_id']}）：{d['how']}")
        for f in d["findings"]:
            where = f["wsh"] or "部门层面"
            lines.append(f"        {where}  {f['field'] or ''}  {f['message']}  {f['url'] or ''}")
    if not e["deductions"]:
        lines.append("  无扣分")
    if e.get("waived"):
        lines.append(f"  已豁免（不扣分）{len(e['waived'])} 个：")
        for f in e["waived"]:
            lines.append(f"        {f['wsh'] or '部门层面'}  {f['rule_name']}  {f['message']}  "
                         f"豁免理由：{f['reason'] or '（未记录）'}  决定人：{f['decided_by'] or '（未记录）'}")
    return "\n".join(lines)

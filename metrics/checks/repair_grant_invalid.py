"""信用修复不符合条件: a credit repair granted against the policy, judged with every penalty sgs knows of the subject.

长治（十）: a subject may apply for repair after the shortest publication period of three months (the scheme's
``min_months``); 严重失信 penalties (处罚类别 among ``data/policy/publication_periods.toml``'s
``serious_categories``, as ``overdue_publication`` recognises them) and a subject penalised again within a year
after a repair are not repaired. Each grant of the repair register (``credit_repairs``) dated in the period is
checked by ``metrics.repairs.grant_check_sql``, across every department's records (both channels): granted
before ``min_months`` after the decision date or after a credibly stated publication date, a serious penalty,
or the penalty decided within a year after an earlier repair of the same subject (by code, else by name) → a
finding. No stored penalty matching the grant, or only the first-seen day to date the publication → 未能核验.

The finding is the credit office's, which grants repairs: it counts against the department the scheme names in
``[objections] credit_office`` (a department of the city). With none named, nothing is scored: the same check is
listed on the 信用异议 page as 信用修复核查 (``dashboard.queries.objections``), for the assessors.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import day, lit
from metrics.repairs import grant_check_sql

RULE = Rule(
    id="repair_grant_invalid",
    name="信用修复不符合条件",
    indicator="compliance",
    clause="长治市实施意见（十）：最短公示期三个月后方可申请信用修复；属于严重失信行为或在信用修复后一年内再次受到行政处罚的，不予信用修复",
    severity="high",
    needs=("stored",),
)


def _rows(ctx: Context, verdict: str) -> str | None:
    office = str(ctx.param(RULE.id, "credit_office", "") or "")
    if ctx.kind != "cf" or ctx.period is None or not office:
        return None
    checked = grant_check_sql(int(ctx.param(RULE.id, "min_months", 3)), day(ctx.period.start), day(ctx.period.end))
    return (f"SELECT {lit(office)} AS dept_id, g.* EXCLUDE (dept_id) FROM ({checked}) g WHERE g.verdict = {lit(verdict)} "
            f"AND {lit(office)} IN (SELECT dept_id FROM departments)")


def department_sql(ctx: Context) -> str | None:
    rows = _rows(ctx, "invalid")
    return None if rows is None else ("SELECT dept_id, 'CF_WSH' AS field, wsh AS value, message, url, fetch_id "
                                      f"FROM ({rows})")


def unverified_department_sql(ctx: Context) -> str | None:
    rows = _rows(ctx, "unverified")
    return None if rows is None else f"SELECT dept_id, message AS reason, url, fetch_id FROM ({rows})"

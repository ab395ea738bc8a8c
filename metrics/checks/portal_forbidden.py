"""信用网站公示了不应公示的处罚: a penalty on a natural person, or one decided under 简易程序, is published
on the credit portal — clause 三 keeps both off the portal (they stay on the department's site).

Natural person: 相对人类别 自然人 (through its aliases). 简易程序: recognised as
metrics.checks._sql.simple_procedure says (marks in 文书号, 处罚内容 or 备注, or a ledger row). A
department-level finding per portal record decided in the period, with the portal page as evidence.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import decided_in_period, department_rows, natural_person, portal_records, simple_procedure

RULE = Rule(
    id="portal_forbidden",
    name="信用网站公示了不应公示的处罚",
    indicator="compliance",
    clause="长治市实施意见（三）：适用简易程序作出的行政处罚和对自然人的行政处罚不在“信用长治”网站公示",
    severity="high",
    needs=("portal",),
)


def department_sql(ctx: Context) -> str | None:
    if ctx.kind != "cf" or ctx.period is None:
        return None
    person, simple = natural_person(ctx, "p"), simple_procedure(ctx, "p")
    message = (f"'文书号“' || p.CF_WSH || '”的处罚' || CASE WHEN {person} THEN '对象为自然人' "
               f"ELSE '适用简易程序' END || '，不应在信用网站公示'")
    return department_rows("p.dept_id", "CF_WSH", "p.CF_WSH", message, "p.url", "p.fetch_id",
                           f"{portal_records(ctx)} p", f"{decided_in_period(ctx, 'p')} AND ({person} OR {simple})")

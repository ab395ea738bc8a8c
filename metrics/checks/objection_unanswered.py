"""异议逾期未答复: a subject's objection to a published record not answered in writing by its deadline.

长治（九）: the credit portal checks an objection with the department that made the decision and acts on that
department's written answer. The credit office enters each objection (``metrics.objections``, the 信用异议 page
or ``sgs objections import``) with its deadline: the scheme's ``[objections] answer_workdays`` working days after
the day the portal received it. A department fails in the period its deadline falls in when it had not answered
by then — no answer at all by the scoring day, or a first answer dated after the deadline (a late answer is
accepted, the lateness stands for that period). Passes: answered on or before the deadline; not yet due (the
deadline not passed on the scoring day). Nothing is left open: the store says when each answer was given.
Department-level; the evidence is the objection's id (value), there is no page to cite.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import day, department_rows, lit
from metrics.objections import RULE_TABLE, TYPES, stage

RULE = Rule(
    id="objection_unanswered",
    name="异议逾期未答复",
    indicator="compliance",
    clause="长治市实施意见（九）：相对人提出异议的，作出决定的部门应出具是否更正的书面材料及反馈意见（时限见评分方案 [objections]）",
    severity="medium",
    needs=("stored",),
)


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    if RULE_TABLE not in ctx.prepared:  # both objection rules read it: staged once per kind
        stage(con, ctx.calendar, int(ctx.param("objection_outcome_not_applied", "grace_workdays", 7)))
        ctx.prepared.add(RULE_TABLE)


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    types = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in TYPES.items())
    message = ("'相对人对' || o.wsh || '的异议（' || CASE o.type " + types + " END || '）于' || CAST(o.received AS VARCHAR) "
               "|| '收到，应于' || CAST(o.deadline AS VARCHAR) || '前书面答复，' || CASE WHEN o.first_answer_on IS NULL "
               f"THEN '至{ctx.as_of.isoformat()}未答复' ELSE '于' || CAST(o.first_answer_on AS VARCHAR) || '才答复（逾期）' END")
    where = (f"o.kind = {lit(ctx.kind)} AND o.deadline BETWEEN {day(ctx.period.start)} AND {day(ctx.period.end)} "
             f"AND o.deadline < {day(ctx.as_of)} AND (o.first_answer_on IS NULL OR o.first_answer_on > o.deadline)")
    return department_rows("o.dept_id", "objection", "o.objection_id", message, "NULL::VARCHAR", "NULL::VARCHAR",
                           "_sgs_objections o", where)

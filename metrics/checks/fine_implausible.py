"""罚款金额不合理: 处罚类别 includes 罚款 and 罚款金额（万元） is not a positive amount of plausible size.

The standard's unit is 万元; an amount typed in 元 is 10,000 times too large. Fails when the stored amount
is not a number, is zero or negative, or exceeds ``max_wan`` 万元 (scheme ``[rules.fine_implausible]
max_wan``, default 1000, i.e. ten million 元 — far above the fines the demo and most departments impose,
and where a 元 amount of an ordinary fine lands). An empty amount is conditional_missing's.
"""
from __future__ import annotations

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import enum_has_any, label, lit, present

RULE = Rule(
    id="fine_implausible",
    name="罚款金额不合理",
    indicator="accuracy",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）：罚款金额以万元为单位，处罚类别含罚款时填写",
    severity="medium",
)
DEFAULT_MAX_WAN = 1000
HOW = "罚款金额应为以万元为单位的数字，如 0.5 表示 5000 元"


def record_tests(ctx: Context) -> list[Test]:
    if ctx.kind != "cf":
        return []
    fk = ctx.std.get("CF_NR_FK")
    limit = float(ctx.param(RULE.id, "max_wan", DEFAULT_MAX_WAN))
    amount = "TRY_CAST(CF_NR_FK AS DOUBLE)"
    message = (f"{lit(label(fk) + '为')} || CF_NR_FK || CASE WHEN {amount} IS NULL THEN {lit('，不是数字（' + HOW + '）')} "
               f"WHEN {amount} <= 0 THEN '，罚款金额应大于0' "
               f"ELSE {lit(f'，超过{limit:g}万元，疑似以元为单位填报（{HOW}）')} END")
    fines = enum_has_any(standard.enums()["CFLB"], "CF_CFLB", ["罚款"])
    return [Test(fk.code, "CF_NR_FK", message, f"{present('CF_CFLB')} AND {fines} AND {present('CF_NR_FK')} "
                 f"AND coalesce({amount} <= 0 OR {amount} > {limit}, true)")]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

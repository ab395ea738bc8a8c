"""统一社会信用代码为占位码: ``00000000000000000X`` written where no code was known — a gap, not a typo."""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import label, lit, shown
from core.codes import USCC_PLACEHOLDER

RULE = Rule(
    id="credit_code_placeholder",
    name="统一社会信用代码为占位码",
    indicator="accuracy",
    clause="GB 32100-2015；长治市实施意见（四）：以统一社会信用代码标识主体",
    severity="medium",
)


def record_tests(ctx: Context) -> list[Test]:
    return [Test(f.code, shown(f, f.code), lit(f"{label(f)}为占位码“{USCC_PLACEHOLDER}”，未填写真实代码"),
                 f"{f.code} = {lit(USCC_PLACEHOLDER)}")
            for f in ctx.std.fields if f.check == "uscc"]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

"""必填项缺失: a field the standard marks required (R) is empty.

Not judged for a record whose detail page was not read (``_sql.page_read``): a dead detail link is the
department's ``dead_link`` finding, and the fields only that page held are unknown, not missing.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import label, lit, page_read, present

RULE = Rule(
    id="required_missing",
    name="必填项缺失",
    indicator="completeness",
    clause="长治市实施意见（一）：按《双公示数据标准》（发改办财金〔2018〕790号）必填项采集公示",
    severity="medium",
)


def record_tests(ctx: Context) -> list[Test]:
    return [Test(f.code, "NULL", lit(f"必填项{label(f)}为空"), f"NOT ({present(f.code)}) AND {page_read()}")
            for f in ctx.std.fields if f.required == "R"]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

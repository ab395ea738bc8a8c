"""日期格式错误: a date field (in the registry, or the page's 发布日期 ``FBRQ``) is not a plausible date.

The crawler (and ``sgs validate``) stores ISO dates when it can parse them and keeps the raw text otherwise,
so a value that is not a date is exactly what the page printed: ``2026-02-30``, ``待定``, a truncated date,
and dates outside the plausible range (``core.normalize.plausible_date``): ``0001-01-01``, ``9999-12-31``
written for 长期, a two-digit year (``26-1-5``), an ISO week date (``2026-W05-1``). The range is judged by
``_sql.as_date``, the SQL side of that one decision, so the rules that read dates agree with this one.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from core.normalize import EARLIEST_DATE, LATEST_DATE
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import as_date, label, lit, present, quoted, registry_fields, shown

RULE = Rule(
    id="date_invalid",
    name="日期格式错误",
    indicator="accuracy",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）：日期型字段",
    severity="low",
)


HOW = (f"不是有效日期（日期应写作 2025-02-14，也可写 2025年2月14日、2025/2/14、20250214，"
       f"在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间；长期有效写 {LATEST_DATE}）")


def record_tests(ctx: Context) -> list[Test]:
    return [Test(f.code, shown(f, f.code), f"{lit(label(f))} || {quoted(f, f.code)} || {lit(HOW)}",
                 f"{present(f.code)} AND {as_date(f.code)} IS NULL")
            for f in registry_fields(ctx.std, with_page_fields=True) if f.type == "date"]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

"""日期格式错误: a date field (in the registry, or the page's 发布日期 ``FBRQ``) is not a real date.

The crawler stores ISO dates when it can parse them and keeps the raw text otherwise, so a value that does
not cast to DATE is exactly what the page printed: ``2026-02-30``, ``待定``, a truncated date.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import finding, label, lit, present, quoted, registry_fields, shown, union_all

RULE = Rule(
    id="date_invalid",
    name="日期格式错误",
    indicator="accuracy",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）：日期型字段",
    severity="low",
)


HOW = "不是有效日期（日期应写作 2025-02-14，也可写 2025年2月14日、2025/2/14、20250214）"


def findings_sql(ctx: Context) -> str | None:
    return union_all(
        finding(ctx.source, f.code, shown(f, f.code), f"{lit(label(f))} || {quoted(f, f.code)} || {lit(HOW)}",
                f"{present(f.code)} AND TRY_CAST({f.code} AS DATE) IS NULL")
        for f in registry_fields(ctx.std, with_page_fields=True) if f.type == "date"
    )

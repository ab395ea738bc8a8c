"""访问被拦截: the crawler recorded ``blocked`` for one of the department's 双公示 pages (table ``availability``).

A department-level finding per failing URL, with the ``fetch_id`` of the failed fetch as evidence. Passes
when the crawls that judge the period (those run in it, else the first one after it) recorded no such
problem for the department and kind. See metrics.checks._sql.availability_sql.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import availability_sql

RULE = Rule(
    id="site_blocked",
    name="访问被拦截",
    indicator="completeness",
    clause="长治市实施意见（四）、上街区方案四（四）：设置“双公示”专栏；上街区方案五（二）：值班读网发现“不可用”",
    severity="medium",
    needs=("crawl",),
)


def findings_sql(ctx: Context) -> None:
    return None


def department_sql(ctx: Context) -> str | None:
    return availability_sql(ctx, "blocked", "公示页面拦截正常访问（验证码、访问限制）")

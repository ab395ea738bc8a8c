"""访问被拦截: the crawler recorded ``blocked`` for one of the department's 双公示 pages: a captcha or an
anti-bot answer instead of the page.

One of the availability rules: what they share, and how a period is judged, is in
metrics.checks._availability.
"""
from __future__ import annotations

from metrics.checks import Rule
from metrics.checks._availability import CLAUSE, availability_check

RULE = Rule(
    id="site_blocked",
    name="访问被拦截",
    indicator="completeness",
    clause=CLAUSE,
    severity="medium",
    needs=("crawl",),
)

department_sql = availability_check(RULE, "公示页面拦截正常访问（验证码、访问限制）")

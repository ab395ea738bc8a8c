"""专栏缺失或失效: the crawler recorded ``column_missing`` for one of the department's 双公示 pages: the
column's page answered 404/410 or redirected to the home page.

One of the availability rules: what they share, and how a period is judged, is in
metrics.checks._availability.
"""
from __future__ import annotations

from metrics.checks import Rule
from metrics.checks._availability import CLAUSE, availability_check

RULE = Rule(
    id="column_missing",
    name="专栏缺失或失效",
    indicator="completeness",
    clause=CLAUSE,
    severity="high",
    needs=("crawl",),
)

department_sql = availability_check(RULE, "双公示专栏页面不存在或已失效")

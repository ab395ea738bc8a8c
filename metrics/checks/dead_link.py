"""详情链接失效: the crawler recorded ``dead_link`` for one of the department's 双公示 pages: a detail link
that answers 404/410.

One of the availability rules: what they share, and how a period is judged, is in
metrics.checks._availability.
"""
from __future__ import annotations

from metrics.checks import Rule
from metrics.checks._availability import CLAUSE, availability_check

RULE = Rule(
    id="dead_link",
    name="详情链接失效",
    indicator="completeness",
    clause=CLAUSE,
    severity="medium",
    needs=("crawl",),
)

department_sql = availability_check(RULE, "公示记录的详情链接失效")

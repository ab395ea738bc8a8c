"""网站无法访问: the crawler recorded ``unreachable`` for one of the department's 双公示 pages: no answer
to the column's first page.

One of the availability rules: what they share, and how a period is judged, is in
metrics.checks._availability.
"""
from __future__ import annotations

from metrics.checks import Rule
from metrics.checks._availability import CLAUSE, availability_check

RULE = Rule(
    id="site_unreachable",
    name="网站无法访问",
    indicator="completeness",
    clause=CLAUSE,
    severity="high",
    needs=("crawl",),
)

department_sql = availability_check(RULE, "部门网站或专栏无法访问")

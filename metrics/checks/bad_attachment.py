"""附件过大或损坏: the crawler recorded ``bad_attachment`` for a file the department's column links to (table
``availability``): a spreadsheet or document over a reading limit (core.bounded: size, compression ratio,
used area, cells, one cell) or that cannot be read at all.

Such a file is damaged or far from what a 双公示 file is (a 5 KB workbook whose one cell sits at the sheet's
last row and column; a file expanding to gigabytes; limits far above a monthly file's size), so what it
publishes cannot be read or checked. The finding's evidence is the archived file. The records the file held
are unknown, so the list rows linking to it are marked ``failed`` and the completeness rules skip them (one
problem, one finding). One of the availability rules: what they share, and how a period is judged, is in
metrics.checks._availability.
"""
from __future__ import annotations

from metrics.checks import Rule
from metrics.checks._availability import CLAUSE, availability_check

RULE = Rule(
    id="bad_attachment",
    name="附件过大或损坏",
    indicator="completeness",
    clause=CLAUSE,
    severity="medium",
    needs=("crawl",),
)

department_sql = availability_check(RULE, "附件过大或损坏")

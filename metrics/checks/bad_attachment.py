"""附件过大或损坏: the crawler recorded ``bad_attachment`` for a file the department's column links to (table
``availability``): a spreadsheet or document over a reading limit (core.bounded: size, compression ratio,
used area, cells, one cell) or that cannot be read at all.

Such a file is damaged or far from what a 双公示 file is (a 5 KB workbook whose one cell sits at the sheet's
last row and column; a file expanding to gigabytes; limits far above a monthly file's size), so what it
publishes cannot be read or checked. A department-level finding per file, with the ``fetch_id`` of the archived file as
evidence. Passes when the crawls that judge the period (those run in it, else the first one after it)
recorded no such problem for the department and kind; with no crawl to judge the period, nothing is
claimed. The records the file held are unknown, so the list rows linking to it are marked ``failed`` and
the completeness rules skip them (one problem, one finding). See metrics.checks._sql.availability_sql.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import availability_sql

RULE = Rule(
    id="bad_attachment",
    name="附件过大或损坏",
    indicator="completeness",
    clause="长治市实施意见（四）、上街区方案四（四）：设置“双公示”专栏；上街区方案五（二）：值班读网发现“不可用”",
    severity="medium",
    needs=("crawl",),
)


def findings_sql(ctx: Context) -> None:
    return None


def department_sql(ctx: Context) -> str | None:
    return availability_sql(ctx, "bad_attachment", "附件过大或损坏")

"""公示不及时: published on the department's site later than the 7th official working day after the decision.

The publication date is the date the page states (``FBRQ``) when it is a real date not later than the day sgs
first saw the record, else that first-seen day (a stated date after we already saw the page is not credible).
The deadline is a join on the working-day table: the working day whose index is the decision day's index plus
N. A decision on a day off has the index of the working day before it, so day 1 is still the first working day
after the decision — the legal convention (期间开始的日不计算在内).
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import label, lit

RULE = Rule(
    id="late_publication",
    name="公示不及时",
    indicator="timeliness",
    clause="长治市实施意见（三）、上街区方案四（三）：作出决定之日起7个工作日内在本部门网站公示",
    severity="high",
    needs=("publication",),
)


def lookahead_days(workdays: int) -> int:
    """Calendar days certain to hold ``workdays`` working days, even across the Spring Festival (7 → 30)."""
    return 2 * workdays + 16


def table_name(ctx: Context) -> str:
    return f"workdays_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Register the working days the deadlines need; a year the calendar lacks raises CalendarError.

    The table runs from the earliest decision to the latest day a deadline must be known: a record published
    before its deadline needs the calendar only up to its publication date (the deadline is then not found in
    the table and the record is on time), so an uncovered next year is only demanded when it matters.
    """
    start, end = con.execute(
        f"""SELECT min(_jdrq), max(greatest(_jdrq, least(_jdrq + {lookahead_days(ctx.max_workdays)}, _pub_date)))
            FROM {ctx.source} WHERE _jdrq IS NOT NULL""").fetchall()[0]
    if start is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name(ctx)} "
                    "(day DATE, is_workday BOOLEAN, wd_index BIGINT)")
        return
    ctx.calendar.register(con, start, end, name=table_name(ctx))


def findings_sql(ctx: Context) -> str:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    wd, n = table_name(ctx), int(ctx.max_workdays)
    return f"""
SELECT a.record_key, 'FBRQ' AS field, CAST(a._pub_date AS VARCHAR) AS value,
       {lit(label(jdrq) + '为')} || CAST(a._jdrq AS VARCHAR) || '，应在{n}个工作日内（不晚于'
       || CAST(d.day AS VARCHAR) || '）公示，'
       || CASE WHEN a._pub_date = a._fbrq THEN '页面发布日期（FBRQ）为'
               WHEN a._fbrq IS NULL THEN '页面未标明有效发布日期，首次采集于'
               ELSE '页面发布日期晚于首次采集日，按首次采集日' END
       || CAST(a._pub_date AS VARCHAR) || '，逾期' || CAST(date_diff('day', d.day, a._pub_date) AS VARCHAR) || '天'
       AS message
FROM {ctx.source} a
JOIN {wd} j ON j.day = a._jdrq
JOIN {wd} d ON d.is_workday AND d.wd_index = j.wd_index + {n}
WHERE a._pub_date > d.day"""

"""信用网站公示不及时: the record reached the credit portal later than the 7th working day after the decision.

Judged separately from the department's own site (late_publication): a site record is matched to the portal
records of its kind with the same 文书号 (as portal_missing matches), and the earliest portal publication date
counts — the portal's stated 公示日期 (``FBRQ``, from ``gsrq``) unless after the day sgs first saw the portal
record. Records never pushed are portal_missing's, not this rule's. The deadline is the same working-day join
as late_publication (whose ``prepare`` also serves here: the calendar covers up to the publication date).
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import label, lit, portal_dates
from metrics.checks.late_publication import lookahead_days

RULE = Rule(
    id="portal_late",
    name="信用网站公示不及时",
    indicator="timeliness",
    clause="长治市实施意见（三）：作出决定之日起7个工作日内通过市信用信息共享平台推送至“信用长治”网站",
    severity="medium",
    needs=("publication", "portal"),
)


def table_name(ctx: Context) -> str:
    return f"workdays_portal_{ctx.kind}"


def matched_table(ctx: Context) -> str:
    return f"portal_matched_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Each dated assessed record with its 文书号's first portal date (``_sql.portal_dates``, made once per run
    and shared with portal_missing), materialised because both the calendar's range and the findings need
    that join of millions of rows; then the working days from the first decision to the latest deadline or
    portal date."""
    wsh = ctx.std.prefixed("WSH")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {matched_table(ctx)} AS
        SELECT a.record_key, a._jdrq, p.portal_date FROM {ctx.source} a JOIN {portal_dates(con, ctx)} p
        ON p.wsh = a.{wsh} WHERE a._jdrq IS NOT NULL""")
    start, end = con.execute(
        f"""SELECT min(_jdrq), max(greatest(_jdrq, least(_jdrq + {lookahead_days(ctx.max_workdays)}, portal_date)))
            FROM {matched_table(ctx)}""").fetchall()[0]
    if start is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name(ctx)} (day DATE, is_workday BOOLEAN, wd_index BIGINT)")
        return
    ctx.calendar.register(con, start, end, name=table_name(ctx))


def findings_sql(ctx: Context) -> str:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    wd, n = table_name(ctx), int(ctx.max_workdays)
    return f"""
SELECT a.record_key, 'FBRQ' AS field, CAST(a.portal_date AS VARCHAR) AS value,
       {lit(label(jdrq) + '为')} || CAST(a._jdrq AS VARCHAR) || '，应在{n}个工作日内（不晚于'
       || CAST(d.day AS VARCHAR) || '）推送至信用网站，信用网站公示日期为' || CAST(a.portal_date AS VARCHAR)
       || '，逾期' || CAST(date_diff('day', d.day, a.portal_date) AS VARCHAR) || '天' AS message
FROM {matched_table(ctx)} a
JOIN {wd} j ON j.day = a._jdrq
JOIN {wd} d ON d.is_workday AND d.wd_index = j.wd_index + {n}
WHERE a.portal_date > d.day"""

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
from metrics.checks._sql import label, lit, portal_records
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


def _portal_dates(ctx: Context) -> str:
    wsh = ctx.std.prefixed("WSH")
    return (f"(SELECT trim({wsh}) AS wsh, min(_pub_date) AS portal_date FROM {portal_records(ctx, attributed=False)} "
            f"WHERE {wsh} IS NOT NULL GROUP BY ALL)")


def dates_table(ctx: Context) -> str:
    return f"portal_dates_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The portal's first publication date per 文书号 (materialised once: both the calendar's range and the
    findings join it), and the working days from the first decision to the latest deadline or portal date."""
    wsh = ctx.std.prefixed("WSH")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {dates_table(ctx)} AS SELECT * FROM {_portal_dates(ctx)}")
    start, end = con.execute(
        f"""SELECT min(a._jdrq), max(greatest(a._jdrq, least(a._jdrq + {lookahead_days(ctx.max_workdays)}, p.portal_date)))
            FROM {ctx.source} a JOIN {dates_table(ctx)} p ON p.wsh = trim(a.{wsh})
            WHERE a._jdrq IS NOT NULL""").fetchall()[0]
    if start is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name(ctx)} (day DATE, is_workday BOOLEAN, wd_index BIGINT)")
        return
    ctx.calendar.register(con, start, end, name=table_name(ctx))


def findings_sql(ctx: Context) -> str:
    jdrq, wsh = ctx.std.get(ctx.std.prefixed("JDRQ")), ctx.std.prefixed("WSH")
    wd, n = table_name(ctx), int(ctx.max_workdays)
    return f"""
SELECT a.record_key, 'FBRQ' AS field, CAST(p.portal_date AS VARCHAR) AS value,
       {lit(label(jdrq) + '为')} || CAST(a._jdrq AS VARCHAR) || '，应在{n}个工作日内（不晚于'
       || CAST(d.day AS VARCHAR) || '）推送至信用网站，信用网站公示日期为' || CAST(p.portal_date AS VARCHAR)
       || '，逾期' || CAST(date_diff('day', d.day, p.portal_date) AS VARCHAR) || '天' AS message
FROM {ctx.source} a
JOIN {dates_table(ctx)} p ON p.wsh = trim(a.{wsh})
JOIN {wd} j ON j.day = a._jdrq
JOIN {wd} d ON d.is_workday AND d.wd_index = j.wd_index + {n}
WHERE p.portal_date > d.day"""

"""专栏长期未更新: the department's column shows nothing new for more than N working days while it is making
decisions (seen on the credit portal or in an imported ledger).

Reference day R = the period's last day (or the as-of day, if earlier). The column's last update is the
latest publication date (stated FBRQ, or first-seen) of the department's site records of the kind on or
before R. The rule fails when the department has a site column of the kind, some decision of the kind dated
in the period after that last update (portal record or ledger row), and more than ``workdays`` official
working days (scheme ``[rules.column_stale] workdays``, default 20) lie between the last update and R — or
the column never showed a record. Passes when the column was updated within N working days of R, or when
the department made no decision after its last update. Evidence: the column as last archived.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import column_evidence, day, department_rows, lit, portal_records, pub_date
from metrics.checks.late_publication import lookahead_days

RULE = Rule(
    id="column_stale",
    name="专栏长期未更新",
    indicator="timeliness",
    clause="上街区方案五（二）：值班读网，发现“不更新”问题；长治市实施意见（三）：及时公示",
    severity="medium",
    needs=("crawl", "portal", "ledger"),
)
DEFAULT_WORKDAYS = 20


def _reference_day(ctx: Context):
    return min(ctx.period.end, ctx.as_of)


def table_name(ctx: Context) -> str:
    return f"workdays_stale_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Working days from far enough before R that an update older than the table is certainly stale."""
    if ctx.period is None:
        return
    from datetime import timedelta

    n = int(ctx.param(RULE.id, "workdays", DEFAULT_WORKDAYS))
    ref = _reference_day(ctx)
    ctx.calendar.register(con, ref - timedelta(days=lookahead_days(n + 1)), ref, name=table_name(ctx))


def findings_sql(ctx: Context) -> None:
    return None


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    n = int(ctx.param(RULE.id, "workdays", DEFAULT_WORKDAYS))
    ref, start, wd = day(_reference_day(ctx)), day(ctx.period.start), table_name(ctx)
    source = f"""(WITH last AS (
            SELECT dept_id, max(_pd) AS last_pub FROM (
                SELECT dept_id, {pub_date('r')} AS _pd FROM {ctx.records_table} r
                WHERE r.channel = 'site' AND r.dept_id IS NOT NULL) WHERE _pd <= {ref} GROUP BY dept_id),
        decisions AS (
            SELECT dept_id, _jdrq AS jdrq FROM {portal_records(ctx)} p WHERE _jdrq BETWEEN {start} AND {ref}
            UNION ALL
            SELECT dept_id, jdrq FROM ledger WHERE kind = {lit(ctx.kind)} AND jdrq BETWEEN {start} AND {ref}),
        stale AS (
            SELECT x.dept_id, l.last_pub, count(*) AS n_decisions FROM decisions x LEFT JOIN last l USING (dept_id)
            WHERE (l.last_pub IS NULL OR x.jdrq > l.last_pub)
              AND EXISTS (SELECT 1 FROM sources s WHERE s.dept_id = x.dept_id AND s.channel = 'site'
                          AND s.kind = {lit(ctx.kind)})
            GROUP BY ALL)
        SELECT s.*, (SELECT wd_index FROM {wd} WHERE day = {ref}) - w.wd_index AS idle, e.url, e.fetch_id
        FROM stale s LEFT JOIN {wd} w ON w.day = s.last_pub LEFT JOIN {column_evidence(ctx)} e USING (dept_id)) t"""
    message = (f"CASE WHEN t.last_pub IS NULL THEN '专栏截至' || {lit(str(_reference_day(ctx)))} || '没有任何记录' "
               f"ELSE '专栏最近一次发布为' || CAST(t.last_pub AS VARCHAR) || '，至' || {lit(str(_reference_day(ctx)))} "
               f"|| '已超过{n}个工作日未更新' END || '，其间作出决定' || CAST(t.n_decisions AS VARCHAR) "
               f"|| '项（信用网站或办件台账）'")
    return department_rows("t.dept_id", "FBRQ", "t.last_pub", message, "t.url", "t.fetch_id", source,
                           f"t.last_pub IS NULL OR t.idle IS NULL OR t.idle > {n}")

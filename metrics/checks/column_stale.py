"""专栏长期未更新: the department's column shows nothing new for more than N working days while it is making
decisions (seen on the credit portal or in an imported ledger).

Reference day R = the period's last day (or the as-of day, if earlier). The column's last update is the
latest day by which one of the department's site records of the kind had certainly been published (its
credible stated FBRQ, else the day sgs first saw it) on or before R. The rule fails when the department has a
site column of the kind, some decision of the kind dated in the period after that last update (portal record
or ledger row), and more than ``workdays`` official working days (scheme ``[rules.column_stale] workdays``,
default 20) lie between the last update and R — or the column never showed a record. Passes when the column
was updated within N working days of R, or when the department made no decision after its last update.

Only on evidence: the verdict needs a complete crawl of the column made on or after R (else what it showed
by R is unknown), and no record first seen after R that states no date and was not proven absent on R (it
may have been published before R). Without them the column is 未能核验 (``unverified_department_sql``).
Evidence: the column as last archived.
"""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import (column_evidence, complete_walks, day, department_rows, lit, portal_records, published_on,
                                 sightings, stated_date)
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


def _reference_day(ctx: Context) -> date:
    assert ctx.period is not None, "called only for a scored period"
    return min(ctx.period.end, ctx.as_of)


def table_name(ctx: Context) -> str:
    return f"workdays_stale_{ctx.kind}"


def candidates_table(ctx: Context) -> str:
    return f"stale_candidates_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Working days from far enough before R that an update older than the table is certainly stale; then
    every column that looks stale, with what the evidence says about it (``proven``)."""
    if ctx.period is None:
        return
    n = int(ctx.param(RULE.id, "workdays", DEFAULT_WORKDAYS))
    ref = _reference_day(ctx)
    ctx.calendar.register(con, ref - timedelta(days=lookahead_days(n + 1)), ref, name=table_name(ctx))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {candidates_table(ctx)} AS {_candidates(ctx, n)}")


def _candidates(ctx: Context, n: int) -> str:
    assert ctx.period is not None, "called only for a scored period"
    ref, start, wd, kind = day(_reference_day(ctx)), day(ctx.period.start), table_name(ctx), lit(ctx.kind)
    site = (f"(SELECT r.record_key, r.dept_id, r.source_id, r.first_seen, {stated_date('r')} AS _stated "
            f"FROM {ctx.records_table} r WHERE r.channel = 'site' AND r.dept_id IS NOT NULL)")
    return f"""WITH site AS (SELECT * FROM {site}),
        last AS (
            SELECT dept_id, max(_pd) AS last_pub FROM (
                SELECT dept_id, {published_on('_stated', 'CAST(first_seen AS DATE)')} AS _pd FROM site)
            WHERE _pd <= {ref} GROUP BY dept_id),
        unknown AS (  -- undated, first seen after R, not proven absent on R: perhaps published before R
            SELECT DISTINCT dept_id FROM {sightings(f"(SELECT * FROM site WHERE _stated IS NULL AND CAST(first_seen AS DATE) > {ref})")}
            WHERE absent_at IS NULL OR CAST(absent_at AS DATE) < {ref}),
        walked AS (  -- a complete crawl of the column on or after R
            SELECT DISTINCT s.dept_id FROM sources s JOIN {complete_walks()} w USING (source_id)
            WHERE s.channel = 'site' AND s.kind = {kind} AND CAST(w.started_at AS DATE) >= {ref}),
        decisions AS (
            SELECT dept_id, _jdrq AS jdrq FROM {portal_records(ctx)} p WHERE _jdrq BETWEEN {start} AND {ref}
            UNION ALL
            SELECT dept_id, jdrq FROM ledger WHERE kind = {kind} AND jdrq BETWEEN {start} AND {ref}),
        stale AS (
            SELECT x.dept_id, l.last_pub, count(*) AS n_decisions FROM decisions x LEFT JOIN last l USING (dept_id)
            WHERE (l.last_pub IS NULL OR x.jdrq > l.last_pub)
              AND x.dept_id IN (SELECT dept_id FROM sources WHERE channel = 'site' AND kind = {kind})
            GROUP BY ALL),
        idle AS (
            SELECT s.*, (SELECT wd_index FROM {wd} WHERE day = {ref}) - w.wd_index AS idle
            FROM stale s LEFT JOIN {wd} w ON w.day = s.last_pub)
        SELECT i.*, e.url, e.fetch_id,
               i.dept_id IN (SELECT dept_id FROM walked) AS walked,
               i.dept_id IN (SELECT dept_id FROM unknown) AS unknown
        FROM idle i LEFT JOIN {column_evidence(ctx)} e USING (dept_id)
        WHERE i.last_pub IS NULL OR i.idle IS NULL OR i.idle > {n}"""


def _situation(ctx: Context, n: int) -> str:
    ref = lit(str(_reference_day(ctx)))
    return (f"CASE WHEN t.last_pub IS NULL THEN '专栏截至' || {ref} || '没有任何记录' "
            f"ELSE '专栏最近一次发布为' || CAST(t.last_pub AS VARCHAR) || '，至' || {ref} "
            f"|| '已超过{n}个工作日未更新' END || '，其间作出决定' || CAST(t.n_decisions AS VARCHAR) "
            f"|| '项（信用网站或办件台账）'")


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    n = int(ctx.param(RULE.id, "workdays", DEFAULT_WORKDAYS))
    return department_rows("t.dept_id", "FBRQ", "t.last_pub", _situation(ctx, n), "t.url", "t.fetch_id",
                           f"{candidates_table(ctx)} t", "t.walked AND NOT t.unknown")


def unverified_department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    n = int(ctx.param(RULE.id, "workdays", DEFAULT_WORKDAYS))
    ref = lit(str(_reference_day(ctx)))
    why = (f"CASE WHEN NOT t.walked THEN '；' || {ref} || '及之后没有该栏目的完整采集，无法确认其间是否更新' "
           f"ELSE '；该栏目有' || {ref} || '之后才首次采集到、未标明发布日期的记录，无法确认是否在此前发布' END")
    return (f"SELECT t.dept_id, {_situation(ctx, n)} || {why} AS reason, t.url, t.fetch_id "
            f"FROM {candidates_table(ctx)} t WHERE NOT t.walked OR t.unknown")

"""公示不及时: published on the department's site later than the 7th official working day after the decision.

Judged on evidence only (docs/scoring.md, "What the evidence cannot decide"). A record is late when
(a) the date its page states (``FBRQ``, credible when not after the day sgs first saw the record) is after
the deadline, or (b) its page states no credible date and a complete crawl of the same column, made after
the deadline and before the record was first seen, did not list it (observed absence: the finding cites
that crawl's list page as ``ref_fetch_id`` beside the page the record appeared on). It is on time when the
stated date, or else the day it was first seen, is not after the deadline. Anything else — undated, first
seen after the deadline, no complete crawl in between — is 未能核验 (``unverified_sql``), never a finding.

The deadline is a join on the working-day table: the working day whose index is the decision day's index
plus N. A decision on a day off has the index of the working day before it, so day 1 is still the first
working day after the decision — the legal convention (期间开始的日不计算在内).
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import evidence_text, label, late_findings, lit, published_on, sightings, verdict

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


def verdicts_table(ctx: Context) -> str:
    return f"late_verdicts_{ctx.kind}"


def register_deadlines(con: duckdb.DuckDBPyConnection, ctx: Context, relation: str, published: str,
                       name: str) -> None:
    """Register the working days the deadlines of ``relation`` (with ``_jdrq``) need as table ``name``; a
    year the calendar lacks raises CalendarError.

    The table runs from the earliest decision to the latest day a deadline must be known: a record
    published (``published``: its earliest evidence) before its deadline needs the calendar only up to
    that day (the deadline is then not found in the table and the record is on time), so an uncovered
    next year is only demanded when it matters."""
    start, end = con.execute(
        f"""SELECT min(_jdrq), max(greatest(_jdrq, least(_jdrq + {lookahead_days(ctx.max_workdays)}, {published})))
            FROM {relation} WHERE _jdrq IS NOT NULL""").fetchall()[0]
    if start is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (day DATE, is_workday BOOLEAN, wd_index BIGINT)")
        return
    ctx.calendar.register(con, start, end, name=name)


def deadline_join(wd: str, n: int, alias: str) -> str:
    """Joins ``d.day``: the N-th working day after ``alias._jdrq``."""
    return (f"JOIN {wd} j ON j.day = {alias}._jdrq "
            f"JOIN {wd} d ON d.is_workday AND d.wd_index = j.wd_index + {n}")


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The calendar, then every record not proven on time with its verdict and evidence, materialised:
    the findings and the unverified rows both read it, and the sightings join runs once."""
    register_deadlines(con, ctx, ctx.source, published_on("_stated", "_seen"), table_name(ctx))
    undated = f"(SELECT record_key, source_id, first_seen FROM {ctx.source} WHERE _stated IS NULL)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {verdicts_table(ctx)} AS
        SELECT * FROM (
            SELECT a.record_key, a._jdrq, a._fbrq, a._stated, a._seen, d.day AS deadline,
                   s.absent_at, s.absent_fetch_id,
                   {verdict('a._stated', 'a._seen', 's.absent_at', 'd.day')} AS verdict
            FROM {ctx.source} a {deadline_join(table_name(ctx), int(ctx.max_workdays), 'a')}
                 LEFT JOIN {sightings(undated)} s USING (record_key)
            WHERE {published_on('a._stated', 'a._seen')} > d.day)
        WHERE verdict <> 'on_time'""")


def _deadline_text(ctx: Context, t: str, where: str) -> str:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    return (f"{lit(label(jdrq) + '为')} || CAST({t}._jdrq AS VARCHAR) || '，应在{int(ctx.max_workdays)}个工作日内"
            f"（不晚于' || CAST({t}.deadline AS VARCHAR) || '）{where}；'")


def findings_sql(ctx: Context) -> str:
    evidence = evidence_text("t.verdict", "t._stated", "t._fbrq", "t._seen", "t.absent_at", "页面")
    return late_findings(verdicts_table(ctx), _deadline_text(ctx, 't', '公示'), evidence, "_stated", "_seen")


def unverified_sql(ctx: Context) -> str:
    reason = (f"{_deadline_text(ctx, 't', '公示')} || "
              f"{evidence_text('t.verdict', 't._stated', 't._fbrq', 't._seen', 't.absent_at', '页面')}")
    return f"SELECT t.record_key, {reason} AS reason FROM {verdicts_table(ctx)} t WHERE t.verdict = 'unverified'"

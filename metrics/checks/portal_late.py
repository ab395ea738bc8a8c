"""信用网站公示不及时: the record reached the credit portal later than the 7th working day after the decision.

Judged separately from the department's own site (late_publication), and on the same evidence: a site
record is matched to the portal records of its kind with the same 文书号 (as portal_missing matches), and
the portal's evidence for that 文书号 (``_sql.portal_dates``) decides — the earliest credible 公示日期 the
portal states; else the day sgs first saw it there (on time when not after the deadline); else a complete
crawl of the portal channel made after the deadline that did not list it yet (late, observed absence; that
crawl's list page is the finding's ``ref_fetch_id``). A portal that states no dates and was first crawled
after the deadline cannot prove anything: 未能核验 (``unverified_sql``). Records never pushed are
portal_missing's, not this rule's.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import evidence_text, label, late_findings, lit, portal_dates, published_on, verdict
from metrics.checks.late_publication import deadline_join, register_deadlines

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
    """Each dated assessed record with its 文书号's portal evidence, materialised because both the
    calendar's range and the verdicts need that join of millions of rows; then the working days; then
    the records not proven on time with their verdicts."""
    wsh = ctx.std.prefixed("WSH")
    matched = f"{matched_table(ctx)}_all"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {matched} AS
        SELECT a.record_key, a._jdrq, p.* EXCLUDE (wsh) FROM {ctx.source} a JOIN {portal_dates(con, ctx)} p
        ON p.wsh = a.{wsh} WHERE a._jdrq IS NOT NULL""")
    register_deadlines(con, ctx, matched, published_on("stated", "seen"), table_name(ctx))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {matched_table(ctx)} AS
        SELECT * FROM (
            SELECT m.*, d.day AS deadline, {verdict('m.stated', 'm.seen', 'm.absent_at', 'd.day')} AS verdict
            FROM {matched} m {deadline_join(table_name(ctx), int(ctx.max_workdays), 'm')}
            WHERE {published_on('m.stated', 'm.seen')} > d.day)
        WHERE verdict <> 'on_time'""")
    con.execute(f"DROP TABLE {matched}")


def _deadline_text(ctx: Context) -> str:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    return (f"{lit(label(jdrq) + '为')} || CAST(t._jdrq AS VARCHAR) || '，应在{int(ctx.max_workdays)}个工作日内"
            f"（不晚于' || CAST(t.deadline AS VARCHAR) || '）推送至信用网站；'")


def _evidence(t: str = "t") -> str:
    return evidence_text(f"{t}.verdict", f"{t}.stated", "NULL", f"{t}.seen", f"{t}.absent_at", "信用网站")


def findings_sql(ctx: Context) -> str:
    return late_findings(matched_table(ctx), _deadline_text(ctx), _evidence(), "stated", "seen")


def unverified_sql(ctx: Context) -> str:
    return (f"SELECT t.record_key, {_deadline_text(ctx)} || {_evidence()} AS reason "
            f"FROM {matched_table(ctx)} t WHERE t.verdict = 'unverified'")

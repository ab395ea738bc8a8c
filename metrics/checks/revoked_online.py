"""已撤销处罚仍在公示: a penalty the department's ledger marks revoked (撤销) is still online.

Matched by department and 文书号 to stored records on either channel; fails in a period when the record was
still seen on or after the period's first day and the revocation (撤销日期, or the decision date when the
ledger gives none) came before the period ended and before that last sighting. Department-level, with the
record's page as evidence (the decision may be older than the period).
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import channel_words, day, department_rows

RULE = Rule(
    id="revoked_online",
    name="已撤销处罚仍在公示",
    indicator="compliance",
    clause="长治市实施意见（九）：行政处罚决定被撤销的，应及时撤下公示信息",
    severity="high",
    needs=("ledger", "crawl"),
)


def department_sql(ctx: Context) -> str | None:
    if ctx.kind != "cf" or ctx.period is None:
        return None
    source = f"""(SELECT r.*, coalesce(l.revoked_on, l.jdrq) AS _revoked FROM {ctx.records_table} r
        JOIN ledger l ON l.kind = 'cf' AND l.status = '撤销' AND l.dept_id = r.dept_id AND l.wsh = trim(r.CF_WSH)) t"""
    message = ("'办件台账载明该处罚已于' || CAST(t._revoked AS VARCHAR) || '撤销，' "
               f"|| {channel_words('t.channel')} "
               "|| '于' || CAST(CAST(t.last_seen AS DATE) AS VARCHAR) || '仍在公示'")
    where = (f"CAST(t.last_seen AS DATE) >= {day(ctx.period.start)} AND t._revoked <= {day(ctx.period.end)} "
             f"AND t._revoked < CAST(t.last_seen AS DATE)")
    return department_rows("t.dept_id", "CF_WSH", "t.CF_WSH", message, "t.url", "t.fetch_id", source, where)

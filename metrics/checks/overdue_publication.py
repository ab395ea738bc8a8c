"""超期公示: a penalty still published after its publication period ended.

The period comes from the dated rules in ``data/policy/publication_periods.toml`` (2017, 2019, 2023, 2026):
the rule in force on the decision date, and the penalty's gravity (处罚情节, core.vocab.PENALTY_GRAVITY) —
轻微 for a 简易程序 penalty (recognised as metrics.checks._sql.simple_procedure says), 严重 when 处罚类别
includes one of the file's ``serious_categories``, else 一般 (the heaviest gravity decides, i.e. the longest period). The record's
publication ends at the earlier of decision date + that period and its own 公示截止期 (``CF_GSJZQ``) when given.

A record fails in a period when it was online during the period after that end: published before the period
ended, still seen on or after the period's first day (``last_seen``), and its end before both the period's
last day and the last sighting. Published before the period ended is evidence, not a guess: the date the
record states (credible: not after it was first seen); for a portal record that states none, the date its
department's site states for the same 文书号 (the same decision); else the day sgs first saw it. Both channels count (site and portal), each with its
own evidence; the finding is department-level because an old decision is outside the period's assessed
records. Undated decisions are date_invalid's.
"""
from __future__ import annotations

from core import standard
from core.vocab import PENALTY_GRAVITY
from metrics.checks import Context, Rule
from metrics.checks._policy import load_policy
from metrics.checks._sql import (as_date, channel_words, day, department_rows, enum_has_any, published_on,
                                 simple_procedure, stated_date)

RULE = Rule(
    id="overdue_publication",
    name="超期公示",
    indicator="compliance",
    clause="长治市实施意见（八）：行政处罚信息公示期满应及时撤下；公示期限按决定时适用的规定（2017、2019、2023、2026）",
    severity="high",
    needs=("crawl",),
)


def department_sql(ctx: Context) -> str | None:
    if ctx.kind != "cf" or ctx.period is None:
        return None
    policy = load_policy()
    serious = enum_has_any(standard.enums()["CFLB"], "coalesce(r.CF_CFLB, '')", policy.serious_categories)
    gravity = f"CASE WHEN {simple_procedure(ctx, 'r')} THEN 'light' WHEN {serious} THEN 'serious' ELSE 'general' END"
    start, end = day(ctx.period.start), day(ctx.period.end)
    # records whose period cannot have ended (decided less than the shortest period before the period's end,
    # no earlier 公示截止期) or not seen in the period are dropped before any gravity is worked out
    source = f"""(SELECT *, least(_jdrq + to_months(CAST({policy.months_sql('_jdrq', '_gravity')} AS INTEGER)),
                             coalesce({as_date('CF_GSJZQ')}, DATE '9999-12-31')) AS _ends
        FROM (SELECT r.*, {as_date('r.CF_JDRQ')} AS _jdrq, {gravity} AS _gravity,
                     {published_on(f"coalesce({stated_date('r')}, s.site_stated)", 'CAST(r.first_seen AS DATE)')} AS _pub
              FROM {ctx.records_table} r LEFT JOIN (
                  SELECT dept_id, CF_WSH, min({stated_date('x')}) AS site_stated FROM {ctx.records_table} x
                  WHERE channel = 'site' AND CF_WSH IS NOT NULL GROUP BY ALL) s
                  ON r.channel = 'portal' AND s.dept_id = r.dept_id AND s.CF_WSH = r.CF_WSH
              WHERE r.dept_id IS NOT NULL AND {as_date('r.CF_JDRQ')} IS NOT NULL
                   AND CAST(r.last_seen AS DATE) >= {start}
                   AND ({as_date('r.CF_JDRQ')} + to_months({policy.shortest_months()}) < {end}
                        OR {as_date('r.CF_GSJZQ')} < {end}))) t"""
    names = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in PENALTY_GRAVITY.items())
    message = (f"'处罚决定日期' || CAST(t._jdrq AS VARCHAR) || '（' || CASE t._gravity {names} END "
               f"|| '），公示期至' || CAST(CAST(t._ends AS DATE) AS VARCHAR) || '止，' "
               f"|| {channel_words('t.channel')} "
               f"|| '于' || CAST(CAST(t.last_seen AS DATE) AS VARCHAR) || '仍在公示'")
    where = (f"t._pub <= {end} AND CAST(t.last_seen AS DATE) >= {start} "
             f"AND t._ends < {end} AND t._ends < CAST(t.last_seen AS DATE)")
    return department_rows("t.dept_id", "CF_WSH", "t.CF_WSH", message, "t.url", "t.fetch_id", source, where)

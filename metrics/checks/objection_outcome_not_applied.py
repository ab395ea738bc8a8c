"""异议处理结果未落实: the department answered an objection with 修改 or 撤下, and the record is unchanged.

长治（九）: by the department's written answer the portal keeps, amends or withdraws the record (维持、修改或者
撤下). Once answered, the outcome must show within the scheme's ``[objections] apply_workdays`` working days
(``apply_due``). Matched by department, kind and 文书号 to the stored records on both channels; judged by what
crawls saw after ``apply_due``:

* 撤下 fails when the record was still seen after ``apply_due`` (evidence: its page, the fetch that saw it);
  passes when a complete crawl of its column after ``apply_due`` no longer listed it; otherwise 未能核验.
* 修改 fails when a fetch of the record's page after ``apply_due`` returned the same bytes (sha256) as the last
  fetch of that page before the answer (evidence: the later fetch); passes when its bytes changed; no fetch of
  the page after ``apply_due``, or none before the answer to compare with → 未能核验, never a guess.

A failure belongs to the period of the sighting (on or after the period's first day, ``apply_due`` before its
last). Department-level: the record may be outside the period's assessed records.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import channel_words, complete_walks, day, department_rows, lit
from metrics.objections import RULE_TABLE, stage

RULE = Rule(
    id="objection_outcome_not_applied",
    name="异议处理结果未落实",
    indicator="compliance",
    clause="长治市实施意见（九）：依照决定部门出具的书面材料及反馈意见，维持、修改或者撤下公示信息",
    severity="high",
    needs=("stored", "crawl"),
)


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    if RULE_TABLE not in ctx.prepared:  # both objection rules read it: staged once per kind
        stage(con, ctx.calendar, int(ctx.param(RULE.id, "grace_workdays", 7)))
        ctx.prepared.add(RULE_TABLE)


def _matched(ctx: Context) -> str:
    """Answered 修改/撤下 objections of the kind with each stored record of the same department and 文书号, the
    bytes of its page's last fetch up to the answer (``before_sha``) and its latest fetch after ``apply_due`` up
    to the period's end (``after_*``; an unchanged page's revisit row carries the original's sha256)."""
    assert ctx.period is not None
    wsh, end = ctx.std.prefixed("WSH"), day(ctx.period.end)
    base = f"""(SELECT o.objection_id, o.outcome, o.apply_due, o.answered_on, r.dept_id, r.channel, r.url,
               r.fetch_id, r.source_id, CAST(r.last_seen AS DATE) AS last_seen
        FROM _sgs_objections o JOIN {ctx.records_table} r ON r.dept_id = o.dept_id AND r.{wsh} = o.wsh
        WHERE o.kind = {lit(ctx.kind)} AND o.outcome IN ('amend', 'withdraw') AND o.apply_due < {end})"""
    after = f"CAST(f.fetched_at AS DATE) > m.apply_due AND CAST(f.fetched_at AS DATE) <= {end}"
    fetched = f"""(SELECT m.objection_id, m.url,
               arg_max(f.sha256, f.fetched_at) FILTER (WHERE CAST(f.fetched_at AS DATE) <= m.answered_on) AS before_sha,
               arg_max(f.fetch_id, f.fetched_at) FILTER (WHERE {after}) AS after_fetch,
               arg_max(f.sha256, f.fetched_at) FILTER (WHERE {after}) AS after_sha,
               max(CAST(f.fetched_at AS DATE)) FILTER (WHERE {after}) AS after_on
        FROM {base} m JOIN fetches f ON f.url = m.url AND f.sha256 IS NOT NULL AND f.error IS NULL
        GROUP BY m.objection_id, m.url)"""
    return f"(SELECT * FROM {base} b LEFT JOIN {fetched} e USING (objection_id, url)) t"


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    start = day(ctx.period.start)
    message = (f"CASE t.outcome WHEN 'withdraw' THEN '异议答复为撤下，应于' || CAST(t.apply_due AS VARCHAR) || '前撤下，' "
               f"|| {channel_words('t.channel')} || '于' || CAST(t.last_seen AS VARCHAR) || '仍在公示' "
               "ELSE '异议答复为修改，应于' || CAST(t.apply_due AS VARCHAR) || '前更正，' "
               f"|| {channel_words('t.channel')} || '于' || CAST(t.after_on AS VARCHAR) || '采集的页面与答复前相同' END")
    where = (f"(t.outcome = 'withdraw' AND t.last_seen > t.apply_due AND t.last_seen >= {start}) OR "
             f"(t.outcome = 'amend' AND t.after_on >= {start} AND t.after_sha = t.before_sha)")
    fetch = "CASE t.outcome WHEN 'withdraw' THEN coalesce(t.after_fetch, t.fetch_id) ELSE t.after_fetch END"
    return department_rows("t.dept_id", "objection", "t.objection_id", message, "t.url", fetch, _matched(ctx), where)


def unverified_department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    until = day(min(ctx.period.end, ctx.as_of))
    walked = f"""(SELECT w.source_id, max(CAST(w.finished_at AS DATE)) AS walked FROM {complete_walks()} w
        GROUP BY w.source_id) w"""
    reason = ("CASE t.outcome WHEN 'withdraw' THEN '异议答复为撤下（应于' || CAST(t.apply_due AS VARCHAR) "
              "|| '前落实），此后尚无该栏目的完整采集，无法核验是否已撤下' "
              "ELSE '异议答复为修改（应于' || CAST(t.apply_due AS VARCHAR) || '前落实），' || CASE WHEN t.after_fetch "
              "IS NULL THEN '此后尚未重新采集该页面' ELSE '答复前未采集过该页面，无从比较' END || '，无法核验是否已更正' END")
    where = (f"t.apply_due < {until} AND ((t.outcome = 'withdraw' AND t.last_seen <= t.apply_due AND "
             f"coalesce(w.walked, DATE '0001-01-01') <= t.apply_due) OR (t.outcome = 'amend' AND "
             "(t.after_fetch IS NULL OR t.before_sha IS NULL)))")
    return (f"SELECT t.dept_id, {reason} AS reason, t.url, t.fetch_id FROM {_matched(ctx)} "
            f"LEFT JOIN {walked} USING (source_id) WHERE {where}")

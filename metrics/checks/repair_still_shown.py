"""信用修复后仍在公示: a penalty whose credit repair was granted is still published after the allowed time.

长治（十）: once the portal has verified a repair, it takes the record down (撤下相关公示信息). The portal's repair
register is imported into ``credit_repairs`` (``sgs repair import``, ``metrics.repairs``); each grant is matched
to the stored penalty records it repairs — the same 文书号 and subject (name or code), on either channel, of any
department. The record must be gone ``[objections] repair_withdraw_workdays`` working days after the grant
(``_due``). Fails in the period of the sighting when the record was still seen after ``_due`` (evidence: the
record's page and its fetch). Passes when a complete crawl of its column after ``_due`` no longer listed it.
Not re-crawled completely since ``_due`` (and not seen after it) → 未能核验. Department-level (the penalty is
usually older than the period), counted against the department whose record it is.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from metrics.checks import Context, Rule
from metrics.checks._sql import channel_words, complete_walks, day, department_rows
from metrics.repairs import penalties_sql

RULE = Rule(
    id="repair_still_shown",
    name="信用修复后仍在公示",
    indicator="compliance",
    clause="长治市实施意见（十）：经信用网站核实情况后，撤下相关公示信息（撤下时限见评分方案 [objections]）",
    severity="high",
    needs=("stored", "crawl"),
)


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """``_sgs_repair_due``: each grant's take-down day in working days (few rows: computed in Python)."""
    grants = con.execute("SELECT repair_id, granted_on FROM credit_repairs").fetchall()
    days = int(ctx.param(RULE.id, "grace_workdays", 7))
    due = pa.table({"repair_id": pa.array([g[0] for g in grants], pa.string()),
                    "_due": pa.array([ctx.calendar.add_workdays(g[1], days) for g in grants], pa.date32())})
    con.register("_sgs_repair_due_arrow", due)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _sgs_repair_due AS SELECT * FROM _sgs_repair_due_arrow")
    finally:
        con.unregister("_sgs_repair_due_arrow")


def _source(ctx: Context) -> str:
    assert ctx.period is not None
    walked = f"""(SELECT source_id, max(CAST(finished_at AS DATE)) AS walked FROM {complete_walks()}
        GROUP BY source_id)"""
    return f"""(SELECT p.*, d._due, CAST(p.last_seen AS DATE) AS _last, w.walked FROM {penalties_sql()} p
        JOIN _sgs_repair_due d USING (repair_id) LEFT JOIN {walked} w USING (source_id)
        WHERE p.dept_id IS NOT NULL AND d._due < {day(ctx.period.end)}) t"""


def department_sql(ctx: Context) -> str | None:
    if ctx.kind != "cf" or ctx.period is None:
        return None
    message = ("'信用修复于' || CAST(t.granted_on AS VARCHAR) || '获准，应于' || CAST(t._due AS VARCHAR) || '前撤下，' "
               f"|| {channel_words('t.channel')} || '于' || CAST(t._last AS VARCHAR) || '仍在公示'")
    where = f"t._last > t._due AND t._last >= {day(ctx.period.start)}"
    return department_rows("t.dept_id", "CF_WSH", "t.wsh", message, "t.url", "t.fetch_id", _source(ctx), where)


def unverified_department_sql(ctx: Context) -> str | None:
    if ctx.kind != "cf" or ctx.period is None:
        return None
    reason = ("'信用修复于' || CAST(t.granted_on AS VARCHAR) || '获准（应于' || CAST(t._due AS VARCHAR) "
              "|| '前撤下），此后尚无该栏目的完整采集，无法核验' || t.wsh || '是否已撤下'")
    where = (f"t._due < {day(min(ctx.period.end, ctx.as_of))} AND t._last <= t._due "
             "AND coalesce(t.walked, DATE '0001-01-01') <= t._due")
    return f"SELECT t.dept_id, {reason} AS reason, t.url, t.fetch_id FROM {_source(ctx)} WHERE {where}"

"""书面检查/实地核查问题: a problem an assessor found by 书面检查 or 实地核查 and recorded by hand.

Not computed from the web: ``metrics.inspections`` holds the entries (workbench.sqlite3 beside the database,
written by the dashboard's 录入检查问题 page or ``sgs inspection add``); ``prepare`` loads the period's entries
(inspection day within the period) into a temporary table, found beside the database file the way
``metrics.scoring.current_statuses`` finds the correction store. Passes: no entry for the department in the
period. Fails: each entry is one finding — on the record when its 文书号 matches one of the department's
assessed records of the kind, else on the department. Unverifiable online: an entry naming a 文书号 that no
assessed record of the department carries is still a finding (the inspection is the evidence), on the
department, saying the record was not found online. Evidence: the uploaded file's stored name (in the value
and the message), and the page URL the assessor gave.

The severity the assessor chose is stated in the message; the deduction is the scheme's for this rule
(``[rules.manual_inspection]``, else the default of its severity below).
"""
from __future__ import annotations

import duckdb

from metrics import corrections, inspections
from metrics.checks import Context, Rule
from metrics.checks._sql import lit

RULE = Rule(
    id="manual_inspection",
    name="书面检查/实地核查问题",
    indicator="compliance",
    clause="长治市实施意见：采取网络监测、书面检查和实地核查相结合的方式评估",
    severity="medium",
    needs=("stored",),
)
TABLE = "_sgs_manual_inspections"
_COLUMNS = ("dept_id", "kind", "wsh", "url", "field", "value", "message")


def _entered(ctx: Context) -> str:
    """The name ``prepare`` leaves in ``ctx.prepared`` when the kind has entries in the period."""
    return f"{TABLE}_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The period's entries as a temporary table (empty without a period or a store); ``ctx.prepared`` says
    whether the kind has any, so a period without entries (nearly always) reads no records at all: the
    department part's DISTINCT over every assessed record cost ~1 % of a full rescore for no row."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} ({', '.join(f'{c} VARCHAR' for c in _COLUMNS)})")
    ctx.prepared.discard(_entered(ctx))
    paths = corrections.paths_of(con)
    if paths is None or ctx.period is None:
        return
    rows = [(e["dept_id"], e["kind"], e["wsh"], e["url"], *inspections.finding_text(e))
            for e in inspections.entries(paths, ctx.period.start, ctx.period.end)]
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' for _ in _COLUMNS)})", rows)
    if any(r[1] == ctx.kind for r in rows):
        ctx.prepared.add(_entered(ctx))


def findings_sql(ctx: Context) -> str | None:
    if _entered(ctx) not in ctx.prepared:
        return None
    wsh = ctx.std.prefixed("WSH")
    return f"""SELECT a.record_key, m.field, m.value, m.message
        FROM {TABLE} m JOIN {ctx.source} a ON a.dept_id = m.dept_id AND a.{wsh} = m.wsh
        WHERE m.kind = {lit(ctx.kind)}"""


def department_sql(ctx: Context) -> str | None:
    if _entered(ctx) not in ctx.prepared:
        return None
    wsh = ctx.std.prefixed("WSH")
    missing = "'；文书号 ' || m.wsh || ' 未在本期网上公示的记录中找到（网上无法核对该记录）'"
    return f"""SELECT m.dept_id, m.field, m.value,
               m.message || CASE WHEN m.wsh IS NOT NULL THEN {missing} ELSE '' END AS message,
               m.url, NULL::VARCHAR AS fetch_id
        FROM {TABLE} m
             LEFT JOIN (SELECT DISTINCT dept_id, {wsh} AS wsh FROM {ctx.source}) a
                    ON a.dept_id = m.dept_id AND a.wsh = m.wsh
        WHERE m.kind = {lit(ctx.kind)} AND a.wsh IS NULL
          AND m.dept_id IN (SELECT dept_id FROM departments)"""

"""重复公示: the department's site shows the same 文书号 on more than one record of a kind.

The crawler keys a publication by 文书号 and 相对人名称, so a decision republished unchanged is one record;
what reaches this rule is the same 文书号 published again with the subject written differently, or one 文号
given to several decisions — either way the column holds duplicates. Every record of the group is flagged
(the message says how many share the number); all stored site records count, not only the period's.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import finding, label, lit, quoted

RULE = Rule(
    id="duplicate_record",
    name="重复公示",
    indicator="accuracy",
    clause="长治市实施意见（四）：建立数据质量控制体系；一事一条，不重复公示",
    severity="low",
    needs=("stored",),
)


def table_name(ctx: Context) -> str:
    return f"duplicates_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The department's repeated 文书号 with their counts, materialised: joined inline, DuckDB cannot
    estimate the HAVING and builds its hash table on the 10 M assessed records instead of the few thousand
    repeats (9.4 s against 1.9 s on a province, docs/bench-score.md). 文书号 are compared as stored (trimmed
    by core.store.upsert_records)."""
    f = ctx.std.prefixed("WSH")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {table_name(ctx)} AS
        SELECT dept_id, {f} AS wsh, count(*) AS n FROM {ctx.records_table}
        WHERE channel = 'site' AND {f} <> '' GROUP BY ALL HAVING count(*) > 1""")


def findings_sql(ctx: Context) -> str:
    f = ctx.std.get(ctx.std.prefixed("WSH"))
    source = f"{ctx.source} a JOIN {table_name(ctx)} d ON d.dept_id = a.dept_id AND d.wsh = a.{f.code}"
    message = f"{lit(label(f))} || {quoted(f, 'a.' + f.code)} || '在本部门网站公示了' || CAST(d.n AS VARCHAR) || '次'"
    return finding(source, f.code, f"a.{f.code}", message, "true", key="a.record_key")

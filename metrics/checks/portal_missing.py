"""未推送至信用网站: a record on the department's site has no counterpart on the credit portal.

Records are matched on the kind's 文书号 (``*_WSH``, stored trimmed); a site record without a 文书号 cannot
be matched and is left to required_missing.

Penalties on natural persons and 简易程序 penalties are published on the department's site but, by 长治（三）,
**not** on the credit portal, so they are exempt here (``NOT_FOR_PORTAL``; 简易程序 recognised as
metrics.checks._sql.simple_procedure says). Finding them on the portal is portal_forbidden's.
"""
from __future__ import annotations

import duckdb

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._sql import (canonical, finding, label, lit, materialize, portal_dates, portal_dates_table, present,
                                 quoted, shown, simple_procedure)

# kind → (field suffix, enum key, values): records with these values are not published on the portal
NOT_FOR_PORTAL = {"cf": ("XDR_LB", "XDR_LB", ("自然人",))}

RULE = Rule(
    id="portal_missing",
    name="未推送至信用网站",
    indicator="completeness",
    clause="长治市实施意见（三）：通过市信用信息共享平台推送至“信用长治”网站",
    severity="high",
    needs=("portal",),
)


def table_name(ctx: Context) -> str:
    return f"portal_missing_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The rule's rows, materialised (``_sql.materialize``): its anti join holds every portal 文书号."""
    portal_dates(con, ctx)
    materialize(con, table_name(ctx), _rows(ctx))


def findings_sql(ctx: Context) -> str:
    return f"SELECT * FROM {table_name(ctx)}"


def _rows(ctx: Context) -> str:
    """An anti join with the portal's trimmed 文书号 (``_sql.portal_dates``, shared with portal_late): a
    correlated NOT EXISTS made DuckDB materialise every column of the assessed records (15–33 s on a province,
    docs/bench-score.md)."""
    wsh = ctx.std.get(ctx.std.prefixed("WSH"))
    message = f"{lit(label(wsh) + '为')} || {quoted(wsh, 'a.' + wsh.code)} || '的记录未在信用网站找到'"
    return finding(f"{ctx.source} a ANTI JOIN {portal_dates_table(ctx)} p ON p.wsh = a.{wsh.code}", wsh.code,
                   shown(wsh, f"a.{wsh.code}"), message, f"{present('a.' + wsh.code)} AND NOT {_exempt(ctx)}",
                   key="a.record_key")


def _exempt(ctx: Context) -> str:
    """SQL true for a record the policy keeps off the portal (coalesced: NULL is not exempt)."""
    if ctx.kind not in NOT_FOR_PORTAL:
        return "false"
    simple = simple_procedure(ctx, "a")
    suffix, enum_key, values = NOT_FOR_PORTAL[ctx.kind]
    column = f"a.{ctx.std.prefixed(suffix)}"
    mapped = canonical(standard.enums()[enum_key], f"trim({column})")
    return f"(coalesce({mapped} IN ({', '.join(lit(v) for v in values)}), false) OR {simple})"

"""机关代码与本部门不符: the deciding agency's credit code (``XK_XKJGDM`` / ``CF_CFJGDM``) is a valid code
but not the department's own (``departments.credit_code`` from the city configuration).

Invalid codes and the placeholder are credit_code_invalid's and credit_code_placeholder's; an empty code is
required_missing's; a department without a configured code is not judged. Codes are compared as stored
(normalised: half-width, upper case).
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import failing_values, finding, label, lit, present, quoted

RULE = Rule(
    id="agency_code_mismatch",
    name="机关代码与本部门不符",
    indicator="accuracy",
    clause="《双公示数据标准》：许可/处罚机关统一社会信用代码应为本机关代码；长治市实施意见（四）",
    severity="medium",
    needs=("registry",),
)
AGENCY_CODE = {"xk": "XK_XKJGDM", "cf": "CF_CFJGDM"}


def table_name(ctx: Context) -> str:
    return f"_sgs_invalid_agency_code_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The distinct agency codes failing the check, computed once (the check per row is too slow)."""
    failing_values(con, ctx, [AGENCY_CODE[ctx.kind]], "uscc_ok", table_name(ctx))


def findings_sql(ctx: Context) -> str:
    f = ctx.std.get(AGENCY_CODE[ctx.kind])
    source = f"{ctx.source} a JOIN departments d ON d.dept_id = a.dept_id"
    message = (f"{lit(label(f))} || {quoted(f, 'a.' + f.code)} || '与本部门统一社会信用代码“' "
               f"|| d.credit_code || '”不一致'")
    where = (f"{present('a.' + f.code)} AND a.{f.code} NOT IN (SELECT value FROM {table_name(ctx)}) "
             f"AND {present('d.credit_code')} "
             f"AND upper(trim(a.{f.code})) <> upper(trim(d.credit_code))")
    return finding(source, f.code, f"a.{f.code}", message, where, key="a.record_key")

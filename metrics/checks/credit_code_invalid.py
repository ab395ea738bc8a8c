"""统一社会信用代码校验错误: a credit-code field fails GB 32100-2015 (shape, check character or the
embedded GB 11714 organisation-code check). The all-zero placeholder is credit_code_placeholder's."""
from __future__ import annotations

import duckdb

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import failing_values, label, lit, present, quoted, shown
from core.codes import USCC_PLACEHOLDER

RULE = Rule(
    id="credit_code_invalid",
    name="统一社会信用代码校验错误",
    indicator="accuracy",
    clause="GB 32100-2015《法人和其他组织统一社会信用代码编码规则》（含GB 11714校验）；长治市实施意见（四）",
    severity="high",
)


def table_name(ctx: Context) -> str:
    return f"_sgs_invalid_uscc_{ctx.kind}"


def _fields(ctx: Context) -> list[standard.Field]:
    return [f for f in ctx.std.fields if f.check == "uscc"]


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The distinct codes failing the check, computed once (the check per row is too slow for a province)."""
    failing_values(con, ctx, [f.code for f in _fields(ctx)], "uscc_ok", table_name(ctx))


def _one(ctx: Context, f: standard.Field) -> Test:
    problem = (f"CASE WHEN regexp_full_match({f.code}, '[0-9A-HJ-NPQRTUWXY]{{18}}') "
               f"THEN '校验码错误' ELSE '不是18位规范字符' END")
    message = f"{lit(label(f))} || {quoted(f, f.code)} || {problem} || '（GB 32100-2015）'"
    where = (f"{present(f.code)} AND {f.code} <> {lit(USCC_PLACEHOLDER)} "
             f"AND {f.code} IN (SELECT value FROM {table_name(ctx)})")
    return Test(f.code, shown(f, f.code), message, where)


def record_tests(ctx: Context) -> list[Test]:
    return [_one(ctx, f) for f in _fields(ctx)]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

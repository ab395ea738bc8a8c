"""条件必填项缺失: a conditional (C) field is empty although its condition holds.

A condition (``when = {field, any_of}`` in the registry) holds when the condition field's items, split on
its enum's separator and mapped through the enum's aliases, include any of ``any_of``. An empty condition
field is judged by required_missing, not here; a record whose detail page was not read is not judged
(``_sql.page_read``: the fields only that page held are unknown, and its dead link is already a finding).
"""
from __future__ import annotations

from typing import Any

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import enum_has_any, label, lit, page_read, present, quoted

RULE = Rule(
    id="conditional_missing",
    name="条件必填项缺失",
    indicator="completeness",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）条件必填项",
    severity="medium",
)


def _one(ctx: Context, f: standard.Field, when: dict[str, Any]) -> Test:
    cond = ctx.std.get(when["field"])
    if cond.enum:
        holds = enum_has_any(standard.enums()[cond.enum], cond.code, when["any_of"])
    else:
        holds = f"trim({cond.code}) IN ({', '.join(lit(v) for v in when['any_of'])})"
    message = f"{lit(label(cond) + '为')} || {quoted(cond, cond.code)} || {lit(f'，{label(f)}必填但为空')}"
    where = f"{present(cond.code)} AND {holds} AND NOT ({present(f.code)}) AND {page_read()}"
    return Test(f.code, "NULL", message, where)


def record_tests(ctx: Context) -> list[Test]:
    return [_one(ctx, f, f.when) for f in ctx.std.fields if f.required == "C" and f.when]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

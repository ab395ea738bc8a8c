"""身份证号码校验错误: an ID-number field fails GB 11643-1999 (shape, birth date or check character).

Only judged when the matching document type (``…_ZJLX`` beside ``…_ZJHM``) says 身份证 or is empty, and when
the number is not masked (a starred number cannot be checked — and is what the policy asks pages to show).
The value is shown masked.
"""
from __future__ import annotations

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import canonical, label, lit, present, quoted, shown

RULE = Rule(
    id="id_number_invalid",
    name="身份证号码校验错误",
    indicator="accuracy",
    clause="GB 11643-1999《公民身份号码》；长治市实施意见（四）：以身份证号码标识自然人",
    severity="high",
)
ID_CARD = "身份证"  # the 证件类型 value under which a number is a resident ID number


def _is_id_card(ctx: Context, number: standard.Field) -> str:
    """SQL: the number's document type is 身份证 (or not given)."""
    kind = ctx.get(number.code.removesuffix("ZJHM") + "ZJLX")
    if kind is None:
        return "true"
    expr = canonical(standard.enums()[kind.enum], f"trim({kind.code})") if kind.enum else f"trim({kind.code})"
    return f"(NOT ({present(kind.code)}) OR {expr} = {lit(ID_CARD)})"


def _one(ctx: Context, f: standard.Field) -> Test:
    problem = (f"CASE WHEN NOT regexp_full_match({f.code}, '[0-9]{{17}}[0-9X]') THEN '应为17位数字加校验码' "
               f"WHEN try_strptime(substr({f.code}, 7, 8), '%Y%m%d') IS NULL THEN '出生日期无效' "
               f"ELSE '校验码错误' END")
    message = f"{lit(label(f))} || {quoted(f, f.code)} || {problem} || '（GB 11643-1999）'"
    where = (f"{present(f.code)} AND NOT contains({f.code}, '*') AND {_is_id_card(ctx, f)} "
             f"AND NOT ric_ok({f.code})")
    return Test(f.code, shown(f, f.code), message, where)


def record_tests(ctx: Context) -> list[Test]:
    return [_one(ctx, f) for f in ctx.std.fields if f.check == "ric"]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

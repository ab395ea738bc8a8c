"""枚举值不规范: an enumerated field holds a value the standard's enumeration does not know.

Accepted: the enumeration's values, its aliases (local codes like ``01``, older wording), and prefix values
that name the kind (``其他-xxx``); multi-valued fields (处罚类别) are split on the enum's separator. Items a
department separated by ``、``, ``，`` or ``；`` were already rewritten with that separator when the value was
normalised (``core.normalize.normalise_list``) if every item is known — only a list with an unknown item
(``罚款、责令改正``) is reported, and the message shows how several items are written.
"""
from __future__ import annotations

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import enum_hint, enum_ok, label, lit, present, quoted, shown

RULE = Rule(
    id="enum_invalid",
    name="枚举值不规范",
    indicator="accuracy",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）代码取值",
    severity="low",
)


def _one(ctx: Context, f: standard.Field, enum: standard.Enum) -> Test:
    several = f"；多项时以“{enum.separator}”分隔，如“{enum.separator.join(enum.values[:2])}”" if enum.separator else ""
    message = f"{lit(label(f))} || {quoted(f, f.code)} || {lit(f'不是规范取值（应为{enum_hint(enum)}{several}）')}"
    return Test(f.code, shown(f, f.code), message, f"{present(f.code)} AND NOT {enum_ok(enum, f.code)}")


def record_tests(ctx: Context) -> list[Test]:
    return [_one(ctx, f, standard.enums()[f.enum]) for f in ctx.std.fields if f.enum]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

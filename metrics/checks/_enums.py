"""The enumeration tests the rules share (``metrics.checks._sql`` re-exports them: the rules import them from
there): an item's canonical form, a (possibly multi-valued) value's items, whether every item is acceptable,
whether any item is one of some values, and the hint a message gives.

Why the plain tests before the list lambdas: a list lambda runs per row (a tenth of a second per 100,000 rows),
while a value as the normaliser writes it (``罚款``, ``警告;罚款``) is decided by one IN or one regular
expression; tests/test_validate_startup.py holds each test equal to the lambda form it shortcuts.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from core import standard
from core.normalize_sql import lit


def canonical(enum: standard.Enum, expr: str) -> str:
    """``expr`` mapped through the enum's aliases (``01`` → ``自然人``); other values unchanged."""
    if not enum.aliases:
        return expr
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in enum.aliases.items())
    # the WHENs only for an alias: each would compute ``expr`` again (a trim() per row and WHEN)
    aliases = ", ".join(map(lit, enum.aliases))
    return f"(CASE WHEN {expr} IN ({aliases}) THEN CASE {expr} {whens} END ELSE {expr} END)"


def parts(enum: standard.Enum, expr: str) -> str:
    """The trimmed items of a (possibly multi-valued) enum value as a SQL list."""
    if enum.separator:
        return f"list_transform(string_split({expr}, {lit(enum.separator)}), lambda p: trim(p))"
    return f"[trim({expr})]"


def item_ok(enum: standard.Enum, item: str) -> str:
    """True when one item is a value, an alias, or a prefix value followed by a name (``其他-xxx``)."""
    accepted = (*enum.values, *enum.aliases)
    tests = [f"{item} IN ({', '.join(lit(v) for v in accepted)})"]
    tests += [f"(starts_with({item}, {lit(p)}) AND length({item}) > {len(p)})" for p in enum.prefix_values]
    return "(" + " OR ".join(tests) + ")"


def enum_ok(enum: standard.Enum, expr: str) -> str:
    """True when every item of ``expr`` is acceptable for the enum. A value or list as the normaliser writes it
    is one plain test; only the rest pay the list lambdas (run per row: a tenth of a second per 100,000)."""
    accepted = (*enum.values, *enum.aliases)
    if not enum.separator:
        listed = ", ".join(map(lit, accepted))
        return f"CASE WHEN {expr} IN ({listed}) THEN true ELSE {item_ok(enum, f'trim({expr})')} END"
    one = "(?:" + "|".join(map(re.escape, accepted)) + ")"
    listed = lit(f"{one}(?:{re.escape(enum.separator)}{one})*")
    return (f"CASE WHEN regexp_full_match({expr}, {listed}) THEN true "
            f"ELSE list_bool_and(list_transform({parts(enum, expr)}, lambda q: {item_ok(enum, 'q')})) END")


def enum_has_any(enum: standard.Enum, expr: str, wanted: Iterable[str]) -> str:
    """True when ``expr``'s items, mapped through the aliases, include any of ``wanted``. The list lambdas run
    only where the text contains a wanted value or an alias of one: per row, they cost much."""
    wanted = list(wanted)
    # the values whose canonical form is wanted: an alias of a wanted value, or a wanted value that is no alias
    hits = sorted({k for k, v in enum.aliases.items() if v in wanted} | {w for w in wanted if w not in enum.aliases})
    if not enum.separator:
        if not hits:
            return "false"
        listed = ", ".join(map(lit, hits))
        return f"CASE WHEN {expr} IN ({listed}) THEN true ELSE coalesce(trim({expr}) IN ({listed}), false) END"
    items = parts(enum, expr)
    if enum.aliases:
        items = f"list_transform({items}, lambda q: {canonical(enum, 'q')})"
    contained = " OR ".join(f"contains({expr}, {lit(w)})" for w in [*hits, *wanted]) or "true"
    return (f"CASE WHEN NOT ({contained}) THEN false "
            f"ELSE list_has_any({items}, [{', '.join(map(lit, wanted))}]) END")


def enum_hint(enum: standard.Enum) -> str:
    """The acceptable values as a message names them: ``警告、罚款 或“其他-…”``."""
    hint = "、".join(enum.values)
    if enum.prefix_values:
        hint += " 或 " + "、".join(f"“{p}…”" for p in enum.prefix_values)
    return hint

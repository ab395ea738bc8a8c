"""SQL building blocks shared by the rule modules: literals, masking, enum tests, per-field unions.

Everything field-specific comes from the registry (``metrics.standard``), so a rule names a *property*
(``required == "R"``, ``check == "uscc"``, ``enum``) and never a list of codes.
"""
from __future__ import annotations

from collections.abc import Iterable

import duckdb

from metrics import privacy, standard

# Finding values and messages never carry an unmasked ID or mobile number: personal fields are masked
# whole, other text has ID-like and mobile-like runs masked (metrics.privacy's macros).
register_macros = privacy.register_macros


def lit(text: str) -> str:
    """A SQL string literal (quotes doubled), for registry text spliced into generated SQL."""
    return "'" + text.replace("'", "''") + "'"


def lit_list(items: Iterable[str]) -> str:
    """A SQL list literal ``['a', 'b']``."""
    return "[" + ", ".join(lit(i) for i in items) + "]"


def label(f: standard.Field) -> str:
    """How a message names a field: its Chinese name and code, e.g. ``证件号码（CF_XDR_ZJHM）``."""
    return f"{f.name}（{f.code}）"


def shown(f: standard.Field, expr: str) -> str:
    """The value as a finding may show it: personal numbers masked, free text scrubbed, credit codes as is."""
    if f.personal or f.check == "ric":
        return f"sgs_mask_id({expr})"
    if f.check == "uscc":
        return expr
    return f"sgs_mask_text({expr})"


def quoted(f: standard.Field, expr: str) -> str:
    """A message fragment ``“value”`` of the (masked) value."""
    return f"'“' || {shown(f, expr)} || '”'"


def present(expr: str) -> str:
    """True when a stored value holds something (NULL and blank both count as absent)."""
    return f"nullif(trim({expr}), '') IS NOT NULL"


def union_all(selects: Iterable[str | None]) -> str | None:
    """Join SELECTs with UNION ALL; None when there is nothing to select."""
    parts = [s for s in selects if s]
    return "\nUNION ALL\n".join(parts) if parts else None


def finding(source: str, field: str, value: str, message: str, where: str) -> str:
    """One finding SELECT: record key, field code, value and message expressions over ``source``."""
    return (f"SELECT record_key, {lit(field)} AS field, CAST({value} AS VARCHAR) AS value, "
            f"{message} AS message FROM {source} WHERE {where}")


def registry_fields(std: standard.Standard, with_page_fields: bool = False) -> tuple[standard.Field, ...]:
    """The kind's registry fields, plus the page fields (``FBRQ``) when a rule also covers those."""
    return (*std.fields, *standard.page_fields()) if with_page_fields else std.fields


# --- enumerations ---------------------------------------------------------------------------------

def canonical(enum: standard.Enum, expr: str) -> str:
    """``expr`` mapped through the enum's aliases (``01`` → ``自然人``); other values unchanged."""
    if not enum.aliases:
        return expr
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in enum.aliases.items())
    return f"(CASE {expr} {whens} ELSE {expr} END)"


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
    """True when every item of ``expr`` is acceptable for the enum."""
    return f"list_bool_and(list_transform({parts(enum, expr)}, lambda q: {item_ok(enum, 'q')}))"


def enum_has_any(enum: standard.Enum, expr: str, wanted: Iterable[str]) -> str:
    """True when ``expr``'s items, mapped through the aliases, include any of ``wanted``."""
    items = f"list_transform({parts(enum, expr)}, lambda q: {canonical(enum, 'q')})"
    return f"list_has_any({items}, {lit_list(wanted)})"


def enum_hint(enum: standard.Enum) -> str:
    """The acceptable values as a message names them: ``警告、罚款 或“其他-…”``."""
    hint = "、".join(enum.values)
    if enum.prefix_values:
        hint += " 或 " + "、".join(f"“{p}…”" for p in enum.prefix_values)
    return hint

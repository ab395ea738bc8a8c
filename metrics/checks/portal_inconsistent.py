"""与信用网站不一致: the department's site and the credit portal show the same decision (same 文书号) with
different values — a change made on the site that was never pushed (clause 三: push changes too).

Compared fields, when both sides have a value: the decision date, the subject's name (行政相对人名称, after
normalising only width, spaces and punctuation: ``（有限公司）`` and ``(有限公司)`` are the same name, ``有限公司`` and
``公司`` are not), the subject's credit code, 处罚类别 / 许可类别, 罚款 and 没收 amounts (as numbers), 处罚有效期 /
有效期至, and 许可编号. Not compared: the agency code (the exchange platform fills it from the pushing
account), free text (wording and punctuation are re-keyed by the platform), and empty values (completeness
rules judge those). One finding per differing
field, on the site record, the message giving both values.
"""
from __future__ import annotations

import duckdb

from metrics.checks import Context, Rule
from metrics.checks._sql import label, lit, materialize, portal_records, present

RULE = Rule(
    id="portal_inconsistent",
    name="与信用网站不一致",
    indicator="accuracy",
    clause="长治市实施意见（三）：信息变更的，及时推送变更后的信息（一致性）",
    severity="medium",
    needs=("portal",),
)
COMPARED = {
    "cf": ("CF_JDRQ", "CF_XDR_MC", "CF_XDR_SHXYM", "CF_CFLB", "CF_NR_FK", "CF_NR_WFFF", "CF_YXQ"),
    "xk": ("XK_JDRQ", "XK_XDR_MC", "XK_XDR_SHXYM", "XK_XKLB", "XK_YXQZ", "XK_YXQZI", "XK_XKBH"),
}
NAMES = ("CF_XDR_MC", "XK_XDR_MC")  # compared after normalising only width, spaces and punctuation
_FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "


def name_key(expr: str) -> str:
    """SQL: a name as compared — full-width folded to half-width, then every space and punctuation mark
    removed (Unicode classes, so 、（）·— go too); letters, digits and Han characters stay as written."""
    folded = f"translate({expr}, {lit(_FULL_WIDTH)}, {lit(_HALF_WIDTH)})"
    return f"regexp_replace({folded}, '[\\s\\p{{P}}\\p{{S}}]', '', 'g')"


def _same(ctx: Context, code: str) -> str:
    f = ctx.std.get(code)
    a, p = f"a.{code}", f"p.{code}"
    if f.type == "amount":
        return f"TRY_CAST({a} AS DOUBLE) = TRY_CAST({p} AS DOUBLE)"
    if code in NAMES:
        return f"{name_key(a)} = {name_key(p)}"
    if f.enum:
        return f"replace(replace(trim({a}), '；', ';'), ' ', '') = replace(replace(trim({p}), '；', ';'), ' ', '')"
    return f"trim({a}) = trim({p})"


def _differs(ctx: Context, code: str) -> str:
    """SQL true when the compared field has a value on both sides and the values differ."""
    return f"{present('a.' + code)} AND {present('p.' + code)} AND NOT ({_same(ctx, code)})"


def table_name(ctx: Context) -> str:
    return f"portal_inconsistent_{ctx.kind}"


def prepare(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """The rule's rows, materialised (``_sql.materialize``): its join holds the kind's portal records."""
    materialize(con, table_name(ctx), _rows(ctx))


def findings_sql(ctx: Context) -> str:
    return f"SELECT * FROM {table_name(ctx)}"


def _rows(ctx: Context) -> str:
    """One join of the site records with their portal copies; only pairs with some difference are unnested
    into one row per differing field, and the messages are built for those rows alone (building them for
    every field of every pair took 14 s on a province, docs/bench-score.md). Pairs whose stored values are
    all identical are dropped before any value is normalised: equal text cannot differ once normalised, and
    nearly every pair is identical."""
    wsh = ctx.std.prefixed("WSH")
    codes = [c for c in COMPARED[ctx.kind] if ctx.get(c)]
    flags = ", ".join(f"coalesce({_differs(ctx, c)}, false) AS _d{i}" for i, c in enumerate(codes))
    values = ", ".join(f"a.{c} AS _a{i}, p.{c} AS _p{i}" for i, c in enumerate(codes))
    fields = ", ".join(f"struct_pack(field := {lit(c)}, site := CAST(_a{i} AS VARCHAR), "
                       f"portal := CAST(_p{i} AS VARCHAR), differs := _d{i})" for i, c in enumerate(codes))
    labels = " ".join(f"WHEN {lit(c)} THEN {lit(label(ctx.std.get(c)))}" for c in codes)
    # the normalised comparison only behind the raw one, in a CASE: as two filters, DuckDB pushed both into
    # the join and normalised every pair first (41 s of CPU for the penalties on a loaded province)
    any_differs = (f"CASE WHEN {' OR '.join(f'_a{i} IS DISTINCT FROM _p{i}' for i in range(len(codes)))} "
                   f"THEN {' OR '.join(f'_d{i}' for i in range(len(codes)))} ELSE false END")
    raw_differs = " OR ".join(f"a.{c} IS DISTINCT FROM p.{c}" for c in codes)
    return f"""SELECT record_key, d.field AS field, d.site AS value,
       (CASE d.field {labels} END) || '：本部门网站为“' || d.site || '”，信用网站为“' || d.portal || '”' AS message
FROM (SELECT record_key, unnest([{fields}]) AS d FROM (
    SELECT a.record_key, {values}, {flags}
    FROM {ctx.source} a JOIN {portal_records(ctx, attributed=False)} p ON p.{wsh} = a.{wsh}
    WHERE {raw_differs})
  WHERE {any_differs})
WHERE d.differs"""

"""未推送至信用网站: a record on the department's site has no counterpart on the credit portal.

Records are matched on the kind's 文书号 (``*_WSH``) after trimming; a site record without a 文书号 cannot
be matched and is left to required_missing.

Penalties on natural persons are published on the department's site but, by 长治（三）, **not** on the credit
portal, so they are exempt here (``NOT_FOR_PORTAL``). 简易程序 penalties are exempt by the same clause, but
the standard has no field that marks them; until a source or ledger marks them they are judged like others.
"""
from __future__ import annotations

from metrics import standard
from metrics.checks import Context, Rule
from metrics.checks._sql import canonical, finding, label, lit, present, quoted, shown

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


def findings_sql(ctx: Context) -> str:
    wsh = ctx.std.get(ctx.std.prefixed("WSH"))
    on_portal = (f"EXISTS (SELECT 1 FROM {ctx.records_table} p WHERE p.channel = 'portal' "
                 f"AND trim(p.{wsh.code}) = trim(a.{wsh.code}))")
    message = f"{lit(label(wsh) + '为')} || {quoted(wsh, 'a.' + wsh.code)} || '的记录未在信用网站找到'"
    return finding(f"{ctx.source} a", wsh.code, shown(wsh, f"a.{wsh.code}"), message,
                   f"{present('a.' + wsh.code)} AND NOT {on_portal} AND NOT {_exempt(ctx)}")


def _exempt(ctx: Context) -> str:
    """SQL true for a record the policy keeps off the portal (coalesced: NULL is not exempt)."""
    if ctx.kind not in NOT_FOR_PORTAL:
        return "false"
    suffix, enum_key, values = NOT_FOR_PORTAL[ctx.kind]
    column = f"a.{ctx.std.prefixed(suffix)}"
    mapped = canonical(standard.enums()[enum_key], f"trim({column})")
    return f"coalesce({mapped} IN ({', '.join(lit(v) for v in values)}), false)"

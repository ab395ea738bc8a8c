"""未推送至信用网站: a record on the department's site has no counterpart on the credit portal.

Records are matched on the kind's 文书号 (``*_WSH``) after trimming; a site record without a 文书号 cannot
be matched and is left to required_missing.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import finding, label, lit, present, quoted, shown

RULE = Rule(
    id="portal_missing",
    name="未推送至信用网站",
    indicator="completeness",
    clause="长治市实施意见（三）：通过市信用信息共享平台推送至“信用长治”网站",
    severity="high",
)


def findings_sql(ctx: Context) -> str:
    wsh = ctx.std.get(ctx.std.prefixed("WSH"))
    on_portal = (f"EXISTS (SELECT 1 FROM {ctx.records_table} p WHERE p.channel = 'portal' "
                 f"AND trim(p.{wsh.code}) = trim(a.{wsh.code}))")
    message = f"{lit(label(wsh) + '为')} || {quoted(wsh, 'a.' + wsh.code)} || '的记录未在信用网站找到'"
    return finding(f"{ctx.source} a", wsh.code, shown(wsh, f"a.{wsh.code}"), message,
                   f"{present('a.' + wsh.code)} AND NOT {on_portal}")

"""文书号不规范: the decision number does not have the shape 机关代字 +〔年份〕+ 序号 + 号.

Accepted: any agency abbreviation, the year in 〔〕, [], （）, () or 【】 (brackets vary and are a
normalisation matter), an optional 第, the number and 号 — ``示环罚〔2026〕15号``, ``示环罚[2026]第15号``. For
licences a 文书号 equal to the 许可编号 (``XK_XKBH``) is accepted too: the standard allows the licence number
where the decision has no 文号. An empty 文书号 is required_missing's.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import label, lit, present, quoted

RULE = Rule(
    id="wsh_format",
    name="文书号不规范",
    indicator="accuracy",
    clause="《党政机关公文格式》（GB/T 9704-2012）发文字号：机关代字、年份、发文顺序号",
    severity="low",
)
PATTERN = r"^\S+[〔\[（(【][12][0-9]{3}[〕\]）)】]第?[0-9]+号$"


def record_tests(ctx: Context) -> list[Test]:
    f = ctx.std.get(ctx.std.prefixed("WSH"))
    ok = f"regexp_matches(trim({f.code}), {lit(PATTERN)})"
    if ctx.kind == "xk":
        ok = f"({ok} OR trim({f.code}) = trim(coalesce(XK_XKBH, '')))"
    message = f"{lit(label(f))} || {quoted(f, f.code)} || '不符合“机关代字〔年份〕序号号”格式'"
    return [Test(f.code, f.code, message, f"{present(f.code)} AND NOT {ok}")]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))

"""个人信息未脱敏: an ID number or a mobile number is shown in full on a public page.

Every free-text and number field of the record (credit codes, dates, amounts and enumerations excepted:
codes identify organisations and are public) is tested with metrics.privacy's patterns (``sgs_mask_text`` changes the value exactly when it holds an
unmasked 18-character ID number or 11-digit mobile number); the value is stored masked. Site records are
judged as records; portal records decided in the period as department-level findings with the portal page as
evidence. A masked number (``140402********1234``) passes; so do landlines and credit codes.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import decided_in_period, department_rows, finding, label, lit, portal_records, present, union_all

RULE = Rule(
    id="unmasked_personal",
    name="个人信息未脱敏",
    indicator="compliance",
    clause="长治市实施意见（十二）：公示前对个人隐私等信息进行脱敏处理；GB 11643 身份证号码",
    severity="high",
)


def _fields(ctx: Context):
    """Free-text and number fields: not credit codes, dates, amounts or enumerations."""
    return [f for f in ctx.std.fields if f.check != "uscc" and f.type not in ("date", "amount") and not f.enum]


def _unmasked(expr: str) -> str:
    """SQL true when ``expr`` holds an unmasked number; the cheap 11-digit test first (most values fail it)."""
    return f"regexp_matches({expr}, '[0-9]{{11}}') AND sgs_mask_text({expr}) <> {expr}"


def findings_sql(ctx: Context) -> str | None:
    return union_all(
        finding(ctx.source, f.code, f"sgs_mask_text({f.code})", lit(f"{label(f)}含未脱敏的身份证号码或手机号码"),
                f"{present(f.code)} AND {_unmasked(f.code)}")
        for f in _fields(ctx))


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    return union_all(
        department_rows("p.dept_id", f.code, f"sgs_mask_text(p.{f.code})",
                        lit(f"信用网站上{label(f)}含未脱敏的身份证号码或手机号码"), "p.url", "p.fetch_id",
                        f"{portal_records(ctx)} p",
                        f"{decided_in_period(ctx, 'p')} AND {present('p.' + f.code)} AND {_unmasked('p.' + f.code)}")
        for f in _fields(ctx))

"""个人信息未脱敏: an ID number or a mobile number is shown in full on a public page.

Every free-text and number field of the record (credit codes, dates, amounts and enumerations excepted:
codes identify organisations and are public) is tested with core.privacy's patterns: ``sgs_mask_text``
changes a value exactly when it holds an unmasked 18-character ID number or 11-digit mobile number. The value
is stored masked. Site records are
judged as records; portal records decided in the period as department-level findings with the portal page as
evidence. A masked number (``140402********1234``) passes; so do landlines and credit codes.
"""
from __future__ import annotations

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import decided_in_period, department_rows, label, lit, portal_records

RULE = Rule(
    id="unmasked_personal",
    name="个人信息未脱敏",
    indicator="compliance",
    clause="长治市实施意见（十二）：公示前对个人隐私等信息进行脱敏处理；GB 11643 身份证号码",
    severity="high",
    needs=("publication",),  # judges what a public page shows; a file submitted to the platform carries full numbers
)


def _fields(ctx: Context) -> list[standard.Field]:
    """Free-text and number fields: not credit codes, dates, amounts or enumerations."""
    return [f for f in ctx.std.fields if f.check != "uscc" and f.type not in ("date", "amount") and not f.enum]


def _hits(ctx: Context, relation: str, alias: str, where: str, keys: str) -> str:
    """(``keys``…, field, value, message) per unmasked field of ``relation``'s rows, in one scan: a record
    is looked at field by field only when some checked field holds an 11-digit run (one regex per record),
    and a field is masked only when it holds such a run itself (masking changes nothing else). Only the key
    columns travel through the unnest (with every column it took 13 s on a province, docs/bench-score.md)."""
    fields = _fields(ctx)
    text = ", ".join(f"{alias}.{f.code}" for f in fields)
    structs = ", ".join(
        f"struct_pack(field := {lit(f.code)}, raw := {alias}.{f.code}, "
        f"message := {lit(label(f) + '含未脱敏的身份证号码或手机号码')})" for f in fields)
    return f"""(SELECT {keys}, d.field AS field, sgs_mask_text(d.raw) AS value, d.message AS message FROM (
        SELECT {keys}, unnest([{structs}]) AS d FROM {relation} {alias}
        WHERE {where} AND regexp_matches(concat_ws(' ', {text}), '[0-9]{{11}}')) {alias}
    WHERE regexp_matches(d.raw, '[0-9]{{11}}') AND sgs_mask_text(d.raw) <> d.raw)"""


def record_tests(ctx: Context) -> list[Test]:
    """The site records' test per field, as ``_hits`` makes it: under one regular expression over the record
    (its guard), a field holding an 11-digit run that masking changes (metrics.checks._fold)."""
    fields = _fields(ctx)
    guard = f"regexp_matches(concat_ws(' ', {', '.join(f.code for f in fields)}), '[0-9]{{11}}')"
    return [Test(f.code, f"sgs_mask_text({f.code})", lit(label(f) + "含未脱敏的身份证号码或手机号码"),
                 f"regexp_matches({f.code}, '[0-9]{{11}}') AND sgs_mask_text({f.code}) <> {f.code}", guard)
            for f in fields]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    hits = _hits(ctx, portal_records(ctx), "p", decided_in_period(ctx, "p"), "dept_id, url, fetch_id")
    return department_rows("h.dept_id", None, "h.value", "'信用网站上' || h.message", "h.url", "h.fetch_id",
                           f"{hits} h", field_expr="h.field")

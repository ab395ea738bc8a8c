"""Values as pages print them → the form the store keeps (still text, so a wrong value stays as evidence).

Each field's treatment comes from the registry (``metrics.standard``): ``date`` fields become ISO dates when
they can be read, ``amount`` fields become 万元 decimals, identifier fields (those with a check-character
rule, and the kind's 文书号) lose spaces and are upper-cased. Anything that cannot be read is kept as the
cleaned raw text, so a check can flag it instead of the crawler silently dropping it.

Width: codes, dates, amounts and enumerated values are NFKC-normalised (full-width → half-width, "；" → ";"
so an enumeration's separator is found). Free text (names, 违法事实, 处罚内容) only has full-width letters
and digits folded: NFKC would also turn Chinese punctuation (，：；（）) into ASCII and so rewrite the
department's sentence, which is evidence.

Placeholders: a value that is only "无", "暂无", "空", "null"/"none"/"n/a", or only dashes and slashes
("-", "--", "—", "/", "／") is how pages print an empty cell, so it is stored as NULL. No standard field has
such a value as a real answer, and a completeness check should count it as missing, which NULL does.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from metrics import standard

_PLACEHOLDER_WORDS = {"无", "暂无", "空", "null", "none", "n/a", "na"}
_PLACEHOLDER_MARKS = re.compile(r"^[-—–_/\\.·]+$")
_WHITESPACE = re.compile(r"\s+")
_FULL_WIDTH_ALNUM = {c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}

_TIME = r"\d{1,2}(?:[:时]\d{1,2}分?(?::?\d{1,2}(?:\.\d+)?秒?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_DATE_PATTERNS = (
    re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}})(?:[\sT]+{_TIME})?$"),
    re.compile(rf"^(\d{{4}})\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日(?:\s*{_TIME})?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[\sT]*\d{2}:?\d{2}(?::?\d{2})?)?$"),
)
_AMOUNT = re.compile(r"^(?:人民币|¥)?(-?\d+(?:\.\d+)?)(万元|万|元)?(?:整)?$")


def clean_text(value: object) -> str | None:
    """NFKC (full-width → half-width), whitespace runs → one space, trimmed; placeholders → None."""
    return None if value is None else _trimmed(unicodedata.normalize("NFKC", str(value)))


def clean_prose(value: object) -> str | None:
    """Free text: full-width letters and digits folded, Chinese punctuation kept; trimmed; placeholders → None."""
    return None if value is None else _trimmed(str(value).translate(_FULL_WIDTH_ALNUM))


def _trimmed(text: str) -> str | None:
    text = _WHITESPACE.sub(" ", text).strip()
    if not text or text.lower() in _PLACEHOLDER_WORDS or _PLACEHOLDER_MARKS.match(text):
        return None
    return text


def parse_date(text: str) -> str | None:
    """ISO ``YYYY-MM-DD`` for the date formats pages use (with or without a time), else None."""
    t = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(t)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return None  # 2026-02-30: looks like a date, is not one
    return None


def normalise_date(value: object) -> str | None:
    """A readable date as ISO; an unreadable one kept as its cleaned text for a check to flag."""
    text = clean_text(value)
    return None if text is None else parse_date(text) or text


def normalise_amount(value: object) -> str | None:
    """Amounts in the standard's unit, 万元: "5000元" → "0.5", "1.2万元" → "1.2", a bare number is 万元.

    Unreadable amounts (Chinese numerals, prose) are kept as text.
    """
    text = clean_text(value)
    if text is None:
        return None
    m = _AMOUNT.match(text.replace(",", "").replace(" ", ""))
    if not m:
        return text
    try:
        amount = Decimal(m[1])
    except InvalidOperation:
        return text
    if m[2] == "元":
        amount /= Decimal(10000)
    return _plain_decimal(amount)


def _plain_decimal(amount: Decimal) -> str:
    """Decimal without exponent or trailing zeros ("0.5", "12", never "1.2E+1")."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


def normalise_identifier(value: object) -> str | None:
    """Credit codes, ID numbers and 文号: no spaces, upper case (brackets only NFKC-normalised, 〔〕 kept)."""
    text = clean_text(value)
    return None if text is None else text.replace(" ", "").upper() or None


@lru_cache(maxsize=None)
def field_kinds(kind: str) -> dict[str, str]:
    """Code → how to normalise it: "date", "amount", "identifier", "enum" or "text" (from the registry)."""
    std = standard.load(kind)
    out: dict[str, str] = {}
    for f in (*std.fields, *standard.page_fields()):
        if f.type in ("date", "amount"):
            out[f.code] = f.type
        elif f.check or f.code == std.prefixed("WSH"):
            out[f.code] = "identifier"
        else:
            out[f.code] = "enum" if f.enum else "text"
    return out


_NORMALISERS = {
    "date": normalise_date,
    "amount": normalise_amount,
    "identifier": normalise_identifier,
    "enum": clean_text,
    "text": clean_prose,
}


def normalise_record(kind: str, fields: dict[str, object]) -> dict[str, str | None]:
    """Normalise every value of one record by its field's registry type (unknown codes as text)."""
    kinds = field_kinds(kind)
    return {code: _NORMALISERS[kinds.get(code, "text")](value) for code, value in fields.items()}


def record_key(channel: str, dept_id: str | None, kind: str, wsh: str | None, xdr_mc: str | None) -> str:
    """Stable identity of a record on one channel: sha1 over channel, department, kind, 文书号, 相对人名称.

    The same decision seen on the department site and on the portal gets two keys (two publications).
    """
    parts = (channel, dept_id or "", kind, wsh or "", xdr_mc or "")
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()

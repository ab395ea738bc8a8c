"""Values as pages print them → the form the store keeps (still text, so a wrong value stays as evidence).

Each field's treatment comes from the registry (``core.standard``): ``date`` fields become ISO dates when
they can be read, ``amount`` fields become 万元 decimals, identifier fields (those with a check-character
rule, and the kind's 文书号) lose spaces and are upper-cased. Anything that cannot be read is kept as the
cleaned raw text, so a check can flag it instead of the crawler silently dropping it.

Width: codes, dates, amounts and enumerated values are NFKC-normalised (full-width → half-width, "；" → ";"
so an enumeration's separator is found). Free text (names, 违法事实, 处罚内容) only has full-width letters
and digits folded: NFKC would also turn Chinese punctuation (，：；（）) into ASCII and so rewrite the
department's sentence, which is evidence.

Amounts: ``1.1万元``, ``11000元``, ``11,000.00``, and amounts in Chinese numerals ending in 元 (``壹万贰仟元整``,
``伍佰元``, ``壹万元伍角``) become 万元 decimals; a bare number is already 万元 (the standard's unit), unless the
column's header stated 元 (``罚款金额(元)``), which the extractor writes after the number (``with_unit``).
Chinese numerals are converted by ``chinese_yuan``, a small exact reader of 大写金额: the converters on PyPI
read numerals in prose but not 元/角/分, and one function is less than a dependency for it.

Multi-valued enumerations (处罚类别): items separated by ``、``, ``，`` or ``；`` are rewritten with the
enumeration's separator (``警告、罚款`` → ``警告;罚款``) when every item is a value of the enumeration — that is
formatting. A list with an unknown item is kept as written, so the enumeration check names it.

Placeholders: a value that is only "无", "暂无", "空", "null"/"none"/"n/a", or only dashes and slashes
("-", "--", "—", "/", "／") is how pages print an empty cell, so it is stored as NULL. No standard field has
such a value as a real answer, and a completeness check should count it as missing, which NULL does.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from core import standard

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
EARLIEST_DATE = date(1949, 10, 1)  # see plausible_date
LATEST_DATE = date(2099, 12, 31)  # the standard's long-term validity date (长期有效)
_AMOUNT = re.compile(r"^(?:人民币|¥)?(-?\d+(?:\.\d+)?)(万元|万|元)?(?:整)?$")
_BARE_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_CN_DIGITS = {"零": 0, "〇": 0, "壹": 1, "一": 1, "贰": 2, "貳": 2, "二": 2, "两": 2, "叁": 3, "三": 3, "肆": 4,
              "四": 4, "伍": 5, "五": 5, "陆": 6, "六": 6, "柒": 7, "七": 7, "捌": 8, "八": 8, "玖": 9, "九": 9}
_CN_POWERS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_CN_SECTIONS = (("亿", 10 ** 8), ("万", 10 ** 4))
_CN_YUAN = re.compile(r"^(?:人民币)?(?:(.+?)[元圆])?(?:零?(.)角)?(?:零?(.)分)?[整正]?$")
_LIST_SEPARATORS = re.compile(r"\s*[、;,]\s*")


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


def plausible_date(d: date) -> bool:
    """The one plausibility decision for dates, everywhere (crawl, ``sgs validate``, ledgers, the rules'
    SQL through ``metrics.checks._sql.as_date``): between ``EARLIEST_DATE`` and ``LATEST_DATE``.

    Before 1949-10-01 no decision, licence or penalty of today's departments exists, so ``0001-01-01``,
    ``0026-01-05`` (a year typed with two digits) and BC dates are typos or placeholders; after 2099-12-31
    nothing is plausible either: the standard writes long-term validity as 2099-12-31, so ``9999-12-31`` is a
    placeholder. A date in the future but within the range (a licence valid until 2030) is plausible here;
    whether a *decision* date may be after the assessment day is date_order's question (one decision each).
    """
    return EARLIEST_DATE <= d <= LATEST_DATE


def parse_date(text: str) -> str | None:
    """ISO ``YYYY-MM-DD`` for the date formats pages use (with or without a time), else None.

    Only calendar dates in the plausible range (``plausible_date``) are dates: ``2026-02-30``, ``0001-01-01``,
    ``9999-12-31``, two-digit years (``26-1-5``) and ISO week dates (``2026-W05-1``) are not."""
    t = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(t)
        if m:
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None  # 2026-02-30: looks like a date, is not one
            return day.isoformat() if plausible_date(day) else None
    return None


def normalise_date(value: object) -> str | None:
    """A readable date as ISO; an unreadable one kept as its cleaned text for a check to flag."""
    text = clean_text(value)
    return None if text is None else parse_date(text) or text


def normalise_amount(value: object) -> str | None:
    """Amounts in the standard's unit, 万元: "5000元" → "0.5", "1.2万元" → "1.2", "壹万元" → "1", a bare number
    is 万元.

    Unreadable amounts (prose, a unit other than 元/万元) are kept as text for a check to flag.
    """
    text = clean_text(value)
    if text is None:
        return None
    compact = text.replace(",", "").replace(" ", "")
    m = _AMOUNT.match(compact)
    if not m:
        yuan = chinese_yuan(compact)
        return text if yuan is None else _plain_decimal(yuan / Decimal(10000))
    try:
        amount = Decimal(m[1])
    except InvalidOperation:
        return text
    if m[2] == "元":
        amount /= Decimal(10000)
    return _plain_decimal(amount)


def with_unit(value: str, unit: str) -> str:
    """A cell under a header that states its unit ("罚款金额(元)"): a bare number gets the unit written after it,
    so ``normalise_amount`` converts it; a value that states its own unit ("1.1万元") keeps it."""
    compact = unicodedata.normalize("NFKC", value or "").replace(",", "").strip()
    return f"{compact}{unit}" if _BARE_NUMBER.match(compact) else value


def chinese_yuan(text: str) -> Decimal | None:
    """An amount written in Chinese numerals and 元 (角, 分) → Decimal 元, else None.

    "壹万贰仟元整" → 12000, "人民币伍佰元" → 500, "壹万元伍角" → 10000.5, "三千元" → 3000. Only whole amounts
    with 元 (or only 角/分) are read: "壹万" alone does not say its unit, and a unit is never guessed.
    """
    m = _CN_YUAN.match(text)
    if not m or not any(m.groups()):
        return None
    try:
        yuan = _chinese_integer(m[1]) if m[1] else 0
        jiao = _CN_DIGITS[m[2]] if m[2] else 0
        fen = _CN_DIGITS[m[3]] if m[3] else 0
    except KeyError:
        return None
    if yuan is None:
        return None
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100


def _chinese_integer(text: str) -> int | None:
    """"壹万贰仟零伍" → 12005; None when a character is not a numeral or a section is empty ("万").

    After a section mark only smaller sections may follow ("壹万亿零伍万" is read, "壹万壹万" is not an amount),
    so the reading is at most three sections deep whatever the text: no recursion a hostile cell can exhaust."""
    for mark, power in _CN_SECTIONS:
        if mark in text:
            high, low = text.split(mark, 1)
            if mark in low:
                return None
            head = _chinese_integer(high)
            tail = _chinese_integer(low) if low else 0
            return None if head is None or tail is None else head * power + tail
    if not text:
        return None
    total = digit = 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_POWERS:
            total += (digit or 1) * _CN_POWERS[ch]  # "十五": the leading one is left out
            digit = 0
        else:
            return None
    return total + digit


def normalise_list(value: str | None, enum: standard.Enum) -> str | None:
    """A multi-valued enumeration's items joined by its separator ("警告、罚款" → "警告;罚款") when every item
    is a value of the enumeration; otherwise the value as written (an unknown item is for the check to name)."""
    if not value or not enum.separator:
        return value
    items = [p for p in _LIST_SEPARATORS.split(value) if p]
    if len(items) > 1 and all(enum.is_valid(enum.canonical(p)) for p in items):
        return enum.separator.join(items)
    return value


def _plain_decimal(amount: Decimal) -> str:
    """Decimal without exponent or trailing zeros ("0.5", "12", never "1.2E+1")."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


def normalise_identifier(value: object) -> str | None:
    """Credit codes, ID numbers and 文号: no spaces, upper case (brackets only NFKC-normalised, 〔〕 kept).

    NFKC again once upper-cased and without spaces: the capital of some letters ("ΐ") is not NFKC-normal,
    and "R ̧" without its space composes to "Ŗ"; a value normalised twice must not change."""
    text = clean_text(value)
    return None if text is None else unicodedata.normalize("NFKC", text.upper().replace(" ", "")) or None


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


@lru_cache(maxsize=None)
def list_enums(kind: str) -> dict[str, standard.Enum]:
    """Code → enumeration, for the kind's multi-valued enumerated fields (处罚类别)."""
    enums = standard.enums()
    return {f.code: enums[f.enum] for f in standard.load(kind).fields if f.enum and enums[f.enum].separator}


def normalise_record(kind: str, fields: Mapping[str, object]) -> dict[str, str | None]:
    """Normalise every value of one record by its field's registry type (unknown codes as text)."""
    kinds, lists = field_kinds(kind), list_enums(kind)
    out = {code: _NORMALISERS[kinds.get(code, "text")](value) for code, value in fields.items()}
    for code in lists.keys() & out.keys():
        out[code] = normalise_list(out[code], lists[code])
    return out


def record_key(channel: str, dept_id: str | None, kind: str, wsh: str | None, xdr_mc: str | None) -> str:
    """Stable identity of a record on one channel: sha1 over channel, department, kind, 文书号, 相对人名称.

    The same decision seen on the department site and on the portal gets two keys (two publications).
    """
    parts = (channel, dept_id or "", kind, wsh or "", xdr_mc or "")
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()

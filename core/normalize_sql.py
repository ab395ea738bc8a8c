"""``core.normalize`` as DuckDB SQL: the same rules, vectorised, for a whole file at once (``sgs validate``).

Why: normalising a 100,000-row file value by value in Python took most of ``sgs validate``'s time (≈9 of 14 s).
The SQL here gives exactly what ``core.normalize.normalise_record`` gives (tests/test_validate_speed_paths.py
compares them on every value of the demo city and on the normaliser's edge cases), for the values SQL can
read exactly; the rest go to the Python normaliser itself, once per distinct value (``needs_python``).

What SQL can read exactly: a value whose characters are all in ``SAFE_CHARS`` — ASCII, the CJK ideographs,
CJK punctuation without a compatibility form (、。《》〔〕【】…), the full-width forms U+FF01–FF5E and the
ideographic space. For these NFKC is one character for one character (``_NFKC_FROM`` → ``_NFKC_TO``): no
combining mark, nothing to compose. Anything else (accented letters, Arabic digits, ①, …) is rare in a
department's file and goes to Python. Amounts SQL reads are decimal numbers with an optional 元/万元 of at
most ``AMOUNT_DIGITS`` digits (exact as strings, as Decimal is); 大写金额 and prose go to Python. Dates are
read by the same three patterns as ``parse_date``. Whitespace is Python's (``str.isspace``), not RE2's ``\\s``.
A list enumeration (处罚类别 ``警告、罚款``) that is not one plain value goes to Python too: such a column has few
distinct values, and DuckDB's list lambdas cost more per row than the whole rest of a column's work.

Speed: a value already in its normal form (``already_normal``: most of a real file — an ISO date, a plain
amount, a code in capitals, a name without stray spaces) is recognised by one regular expression and skips
every step; DuckDB's ``translate`` only runs on a value holding a character to translate (it builds its map
per value).
"""
from __future__ import annotations

from core import standard
from core.normalize import EARLIEST_DATE, LATEST_DATE, field_kinds, list_enums

# str.isspace(): what Python's \s and str.strip() mean (tests compare with the running Python's own list)
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) \
    + "\u2028\u2029\u202f\u205f\u3000"
_WS_CLASS = r"[\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
SAFE_CLASS = r"[\x00-\x7F\x{3000}-\x{3029}\x{3030}-\x{3035}\x{4E00}-\x{9FFF}\x{FF01}-\x{FF5E}]"
_FULL_WIDTH = "".join(map(chr, range(0xFF01, 0xFF5F)))
_NFKC_FROM, _NFKC_TO = _FULL_WIDTH + "\u3000", "".join(map(chr, range(0x21, 0x7F))) + " "
_ALNUM_FROM = "".join(map(chr, (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))))
_ALNUM_TO = "".join(chr(ord(c) - 0xFEE0) for c in _ALNUM_FROM)
_MARKS = "'" + r"[-—–_/\\.·]+" + "'"  # normalize._PLACEHOLDER_MARKS
AMOUNT_DIGITS = 20  # Decimal's 28 significant digits are never reached below this
_TIME = r"[0-9]{1,2}(?:[:时][0-9]{1,2}分?(?::?[0-9]{1,2}(?:\.[0-9]+)?秒?)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
_DATE_PATTERNS = (
    rf"([0-9]{{4}})[-/.]([0-9]{{1,2}})[-/.]([0-9]{{1,2}})(?:[ T]+{_TIME})?",
    rf"([0-9]{{4}}) ?年 ?([0-9]{{1,2}}) ?月 ?([0-9]{{1,2}}) ?日(?: ?{_TIME})?",
    r"([0-9]{4})([0-9]{2})([0-9]{2})(?:[ T]*[0-9]{2}:?[0-9]{2}(?::?[0-9]{2})?)?",
)
_AMOUNT = r"(?:人民币|¥)?(-?)([0-9]+)(?:\.([0-9]+))?(万元|万|元)?整?"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Steps:
    """One column's normalisation as a chain of named intermediate columns, each computed once per row in its
    own layer of nested SELECTs (``layered``). Why: an expression that uses a cleaned value six times would
    compute it six times if written out, and DuckDB has no LET (a lambda over a one-item list ran per row,
    a scalar subquery is correlated: both 20× slower)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.layers, self.unless = prefix, [], None  # type: tuple[str, list[str], str | None]

    def bind(self, expr: str) -> str:
        """Compute ``expr`` in the next layer (NULL where ``unless`` holds: a value already in its normal
        form skips the work); its column's name, for later steps and the final expression."""
        name = f'"{self.prefix}~{len(self.layers)}"'
        body = f"CASE WHEN {self.unless} THEN NULL ELSE {expr} END" if self.unless else expr
        self.layers.append(f"{body} AS {name}")
        return name


def layered(source: str, steps: list[Steps], finals: list[str], tail: str = "") -> str:
    """SELECT ``finals`` from ``source`` (aliased r) after every step's layers, layer k of all columns in the
    k-th nested SELECT; ``tail`` follows the final FROM (joins, WHERE)."""
    query = f"SELECT * FROM {source}"
    for k in range(max((len(s.layers) for s in steps), default=0)):
        adds = [s.layers[k] for s in steps if k < len(s.layers)]
        query = f"SELECT *, {', '.join(adds)} FROM ({query})"
    return f"SELECT {', '.join(finals)} FROM ({query}) r {tail}"


def _translate(expr: str, source: str, target: str) -> str:
    """``translate``, only where a character to translate occurs: DuckDB builds its map per value (≈9 µs
    each for the full-width forms), a regular-expression test is ten times cheaper."""
    chars = "".join(f"\\x{{{ord(c):X}}}" for c in source)
    return f"CASE WHEN regexp_matches({expr}, {lit('[' + chars + ']')}) THEN translate({expr}, {lit(source)}, {lit(target)}) " \
           f"ELSE {expr} END"


def safe(expr: str) -> str:
    """SQL true when every character of ``expr`` is one SQL normalises exactly (``SAFE_CLASS``)."""
    return f"regexp_full_match({expr}, {lit(SAFE_CLASS + '*')})"


def _blank_to_null(s: Steps, expr: str) -> str:
    """Whitespace runs → one space, trimmed, placeholders (无, null, --, …) → NULL: ``_trimmed``."""
    t = s.bind(f"trim(regexp_replace({expr}, {lit(_WS_CLASS + '+')}, ' ', 'g'), ' ')")
    words = "', '".join(("null", "none", "n/a", "na"))
    return (f"CASE WHEN {t} = '' OR {t} IN ('无', '暂无', '空') "
            f"OR (regexp_full_match({t}, '[A-Za-z/]{{2,4}}') AND lower({t}) IN ('{words}')) "
            f"OR regexp_full_match({t}, {_MARKS}) THEN NULL ELSE {t} END")


def clean_text(s: Steps, expr: str) -> str:
    """``normalize.clean_text`` for a safe value: NFKC (one character for one), whitespace, placeholders."""
    return _blank_to_null(s, _translate(expr, _NFKC_FROM, _NFKC_TO))


def clean_prose(s: Steps, expr: str) -> str:
    """``normalize.clean_prose`` (any value): full-width letters and digits folded, whitespace, placeholders."""
    return _blank_to_null(s, _translate(expr, _ALNUM_FROM, _ALNUM_TO))


def identifier(s: Steps, expr: str) -> str:
    """``normalise_identifier`` for a safe value: cleaned, upper case, no spaces."""
    return f"nullif(replace(upper({clean_text(s, expr)}), ' ', ''), '')"


def date(s: Steps, expr: str) -> str:
    """``normalise_date`` for a safe value: ISO when one of the three patterns reads a plausible date,
    else the cleaned text (a date that is no date, 2025-02-30, stays text too)."""
    d = s.bind(clean_text(s, expr))
    cases = []
    for pattern in _DATE_PATTERNS:
        parts = [f"TRY_CAST(regexp_extract({d}, {lit('^' + pattern + '$')}, {i}) AS INTEGER)" for i in (1, 2, 3)]
        day = s.bind(f"CASE WHEN regexp_full_match({d}, {lit(pattern)}) THEN "
                     f"TRY_CAST(printf('%04d-%02d-%02d', {', '.join(parts)}) AS DATE) END")
        cases.append(f"WHEN regexp_full_match({d}, {lit(pattern)}) THEN CASE WHEN {day} BETWEEN "
                     f"DATE '{EARLIEST_DATE}' AND DATE '{LATEST_DATE}' THEN CAST({day} AS VARCHAR) ELSE {d} END")
    return f"CASE {' '.join(cases)} ELSE {d} END"


def _compact(s: Steps, expr: str) -> str:
    return s.bind(f"replace(replace({clean_text(s, expr)}, ',', ''), ' ', '')")


def amount_readable(s: Steps, expr: str) -> str:
    """SQL true when ``amount`` reads ``expr`` (a safe value) exactly; other values go to Python."""
    c = _compact(s, expr)
    return (f"coalesce(regexp_full_match({c}, {lit(_AMOUNT)}) AND "
            f"length(regexp_replace({c}, '[^0-9]', '', 'g')) <= {AMOUNT_DIGITS}, true)")


def amount(s: Steps, expr: str) -> str:
    """``normalise_amount`` for a value ``amount_readable`` accepts: 万元 as a plain decimal, the decimal
    point moved as text (exact, as Decimal is), leading and trailing zeros dropped, "-0" → "0"."""
    c = _compact(s, expr)
    m = s.bind(f"regexp_extract({c}, {lit('^' + _AMOUNT + '$')}, ['sign', 'int', 'frac', 'unit'])")
    digits = f"({m}.int || coalesce({m}.frac, ''))"
    p = s.bind(f"length({m}.int) - CASE WHEN {m}.unit = '元' THEN 4 ELSE 0 END")
    v = s.bind(f"CASE WHEN {p} <= 0 THEN '0.' || repeat('0', -{p}) || {digits} "
               f"ELSE left({digits}, {p}) || '.' || substr({digits}, {p} + 1) END")
    plain = s.bind(f"coalesce(nullif(ltrim(split_part({v}, '.', 1), '0'), ''), '0') || "
                   f"coalesce('.' || nullif(rtrim(split_part({v}, '.', 2), '0'), ''), '')")
    return f"CASE WHEN {c} IS NULL THEN NULL WHEN {plain} = '0' THEN '0' ELSE {m}.sign || {plain} END"


def with_unit(s: Steps, expr: str, unit: str) -> str:
    """``normalize.with_unit`` for a safe value: a bare number gets the header's unit written after it."""
    u = s.bind(f"regexp_replace(replace({_translate(expr, _NFKC_FROM, _NFKC_TO)}, ',', ''), "
               f"{lit('^' + _WS_CLASS + '+|' + _WS_CLASS + '+$')}, '', 'g')")
    return s.bind(f"CASE WHEN regexp_full_match({u}, '-?[0-9]+(?:\\.[0-9]+)?') THEN {u} || {lit(unit)} "
                  f"ELSE {expr} END")


_PLAIN = r"[^\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
# A placeholder starts with a mark or with a placeholder word's first character: any other value is none, and
# only the rest pay for lower() and a second regular expression (a third of the test's time on a name column).
_PLACEHOLDER_STARTS = ", ".join(str(ord(c)) for c in sorted(set("-—–_/\\.·无暂空nN")))
_NOT_PLACEHOLDER = (f"CASE WHEN ascii({{x}}) NOT IN (0, {_PLACEHOLDER_STARTS}) THEN true ELSE "
                    "(length({x}) > 4 OR lower({x}) NOT IN ('无', '暂无', '空', 'null', 'none', 'n/a', 'na')) "
                    "AND regexp_matches({x}, '[^-—–_/\\\\.·]') END")
_NORMAL = {  # a value every step would leave as it is: (pattern, whether it may still be a placeholder)
    "text": _PLAIN + r"\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]+(?: " + _PLAIN
    + r"\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]+)*",
    "identifier": r"[!-`{-~\x{3001}-\x{3029}\x{3030}-\x{3035}\x{4E00}-\x{9FFF}]+",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "amount": r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{0,8}[1-9])?",
}


def already_normal(kind: str, code: str, expr: str, unit: str | None = None) -> str:
    """SQL true for a value ``normalised`` would return unchanged and ``needs_python`` would not claim: most
    values of a real file, which then skip every step (the cost is one regular expression)."""
    how = field_kinds(kind).get(code, "text")
    if how == "enum":
        key = standard.load(kind).get(code).enum if code in standard.load(kind).codes else None
        return f"{expr} IN ({', '.join(lit(v) for v in standard.enums()[key].values)})" if key else "false"
    if how == "amount" and unit:
        return "false"
    test = f"regexp_full_match({expr}, {lit(_NORMAL[how])})"
    return f"({test} AND {_NOT_PLACEHOLDER.format(x=expr)})" if how in ("text", "identifier") else test


def needs_python(s: Steps, kind: str, code: str, expr: str, unit: str | None = None) -> str:
    """SQL true when the value must go to the Python normaliser: not a safe value (prose never), or an
    amount SQL does not read exactly."""
    how = field_kinds(kind).get(code, "text")
    if how == "text":
        return "false"
    if code in list_enums(kind):  # a list (警告、罚款): few distinct values, and list lambdas are slow in SQL
        return f"NOT coalesce({s.unless}, false)" if s.unless else "true"
    test = s.bind(f"NOT {safe(expr)}")
    if s.unless:
        test = f"coalesce({test}, false)"
    if how == "amount":
        return f"({test} OR NOT coalesce({amount_readable(s, with_unit(s, expr, unit) if unit else expr)}, true))"
    return test


def normalised(s: Steps, kind: str, code: str, expr: str, unit: str | None = None) -> str:
    """The SQL normalisation of one column's cell ``expr`` (a header's stated unit written first), for the
    values ``needs_python`` leaves to SQL: what ``normalise_record`` makes of it."""
    how = field_kinds(kind).get(code, "text")
    if unit:
        expr = with_unit(s, expr, unit)
    if code in list_enums(kind):
        return "NULL"  # every value not already normal is normalised in Python (needs_python)
    return {"date": date, "amount": amount, "identifier": identifier, "enum": clean_text,
            "text": clean_prose}[how](s, expr)

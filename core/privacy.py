"""Masking of personal data (ID and mobile numbers), in Python and as DuckDB SQL macros: one policy.

Findings are stored masked (the rules' SQL uses the macros), and the dashboard masks every value it shows
again with the Python functions, so a record field or a rule that forgets cannot leak an ID number onto a
screen shared in a meeting. The same ``mask_text`` masks URLs, error messages and crawl output (a detail page
named after its subject, ``/cf/110101199003071234.html``, ``?sfz=…&tel=…``): wherever a URL or an error text
is displayed, logged or exported, it passes through here. The archived evidence (WARC, ``fetches``) keeps the
real URL; only what is shown is masked.

The rule, the same in free text and in URLs:

* A number is a run of digits that is not part of a longer run: the characters either side are not digits.
  Letters count as a boundary (``p110101199003071234.html``, ``sfz110101…``), and so does a whole percent
  escape (``%3D``, ``%2F``, ``%20``): ``?q=%20110101199003071234`` is the escape ``%20`` then the number,
  not a 20-digit run. Percent-encoded *digits* (``%31%31…``) are not decoded: no site writes them.
* An 18-character resident ID number (GB 11643): 17 digits and a check character (digit or X), with a birth
  year 18xx–20xx at characters 7–10. Starred from character 7 to 14 (``110101********1234``). The check
  character and the birth date are deliberately *not* validated: an invalid ID number (the very thing an
  accuracy finding reports) is still a person's number. The cost is that a serial number built the way an ID
  is (region, date, sequence) is masked on screen too; a credit code with letters (``91140400MA0K12345X``)
  never matches (its 18 characters are not 17 digits), and most all-digit credit codes fail the year anchor.
* An 11-digit mainland mobile number ``1[3-9]x xxxx xxxx``, optionally with the country code
  (``86``, ``+86``, ``0086``, ``%2B86``) written right before it; the middle four digits starred
  (``138****5678``).
* Anything shorter or longer is left alone: dates (``20260131``), 文书号 numbers (``〔2026〕123号``), ports
  (``:8080``), fetch ids (UUIDs), crawl ids (``20260131T120000-…``), timestamps in query strings (13 digits),
  landlines (``0355-2021234``).

A masked URL no longer opens the page it names; the dashboard then offers the archived copy instead of a link.

The SQL patterns are the Python ones rewritten for RE2: no look-around, so the boundary characters are
captured and put back. A captured boundary cannot serve the next number too (``13812345678,13912345678``), so
each pattern runs twice; tests hold the two to the same results. Both take full-width digits as digits
(``１１０１０１…``: an archived page is shown as it was written), and no other script's.
"""
from __future__ import annotations

import re
from typing import TypeVar, overload

import duckdb

# A digit, half- or full-width (the same class in Python and RE2; Python's \d would take every script's).
_D = "[0-9０-９]"
_CHECK = "[0-9０-９XxＸｘ]"
_YEAR = "(?:[1１][89８９]|[2２][0０])"
_MOBILE = "[1１][3-9３-９]"
# Left edge of a number: not after a digit, unless that digit ends a percent escape (%20, %30).
_L = rf"(?:(?<!{_D})|(?<=%[0-9A-Fa-f]{{2}}))"
# 18-character resident ID number: 6-digit region, birth date (year 18xx-20xx, not validated), 3-digit
# sequence and a check character. The year anchor keeps most all-digit credit codes readable.
_ID_RE = re.compile(rf"{_L}({_D}{{6}})({_YEAR}{_D}{{6}})({_D}{{3}}{_CHECK})(?!{_D})")
# 11-digit mainland mobile number, possibly after the country code, not part of a longer digit run.
_PHONE_RE = re.compile(rf"{_L}((?:(?:00)?86)?{_MOBILE}{_D})({_D}{{4}})({_D}{{4}})(?!{_D})")


def mask_id(text: str) -> str:
    """Star the middle of every 18-character ID number in ``text``; the first 6 and last 4 stay."""
    return _ID_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def mask_phone(text: str) -> str:
    """Star the middle four digits of every 11-digit mobile number in ``text`` (138****5678)."""
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


_T = TypeVar("_T")


@overload
def mask_text(value: str) -> str: ...
@overload
def mask_text(value: _T) -> _T: ...
def mask_text(value: object) -> object:
    """Mask ID and mobile numbers anywhere inside a string (free text, a URL, an error message); non-strings
    (None, numbers) pass unchanged."""
    if not isinstance(value, str):
        return value
    return mask_phone(mask_id(value))


def holds_personal(value: object) -> bool:
    """Whether a string holds an unmasked ID or mobile number (masking would change it), e.g. a page URL
    that can then be shown only masked, not as a working link."""
    return isinstance(value, str) and mask_text(value) != value


def mask_whole(value: str | None) -> str | None:
    """A personal field's whole value: first 6 and last 4 kept, the rest starred (already masked: as is)."""
    if value is None or "*" in value:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


# The same patterns for RE2 (DuckDB): the left edge is captured (start, a non-digit, or a whole percent
# escape) and put back, and so is the right one; each runs twice (see the module docstring).
_L_SQL = r"(^|[^0-9０-９]|%[0-9A-Fa-f]{2})"
_R_SQL = r"($|[^0-9０-９])"
_ID_SQL = rf"{_L_SQL}({_D}{{6}}){_YEAR}{_D}{{6}}({_D}{{3}}{_CHECK}){_R_SQL}"
_PHONE_SQL = rf"{_L_SQL}((?:(?:00)?86)?{_MOBILE}{_D}){_D}{{4}}({_D}{{4}}){_R_SQL}"


def _twice(expr: str, pattern: str, replacement: str) -> str:
    once = f"regexp_replace({expr}, '{pattern}', '{replacement}', 'g')"
    return f"regexp_replace({once}, '{pattern}', '{replacement}', 'g')"


MASK_MACROS = r"""
CREATE OR REPLACE MACRO sgs_mask_id(v) AS
    CASE WHEN v IS NULL OR contains(v, '*') THEN v
         WHEN length(v) > 10 THEN left(v, 6) || repeat('*', length(v) - 10) || right(v, 4)
         ELSE repeat('*', length(v)) END;
CREATE OR REPLACE MACRO sgs_mask_text(v) AS
    """ + _twice(_twice("v", _ID_SQL, r"\1\2********\3\4"), _PHONE_SQL, r"\1\2****\3\4") + ";\n"


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``sgs_mask_id(v)`` (= mask_whole) and ``sgs_mask_text(v)`` (= mask_text) on a connection."""
    con.execute(MASK_MACROS)


def mask_person_name(name: object) -> object:
    """A natural person's name with only the surname kept (王强军 → 王**); the dashboard applies it to
    natural persons' names when its users file sets ``[privacy] mask_person_names = true``. Non-strings pass."""
    if not isinstance(name, str) or not name.strip() or "*" in name:
        return name
    name = name.strip()
    return name[0] + "*" * max(1, len(name) - 1)

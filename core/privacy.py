"""Masking of personal data (ID and mobile numbers), in Python and as DuckDB SQL macros: one policy.

Findings are stored masked (the rules' SQL uses the macros), and the dashboard masks every value it shows
again with the Python functions, so a record field or a rule that forgets cannot leak an ID number onto a
screen shared in a meeting. The patterns deliberately ignore check characters and date validity: an
*invalid* ID number (the very thing an accuracy finding reports) is still personal. The SQL patterns are
the Python ones rewritten for RE2 (no look-behind), and tests hold the two to the same results.
"""
from __future__ import annotations

import re

import duckdb

# 18-character resident ID number (GB 11643): 6-digit region, 8-digit birth date (year 18xx-20xx, not
# validated), 3-digit sequence and a check character. The year anchor keeps most all-digit unified social
# credit codes (public data about organisations) readable.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})((?:18|19|20)\d{6})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# 11-digit mainland mobile number, not part of a longer digit run.
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(text: str) -> str:
    """Star the middle of every 18-character ID number in ``text``; the first 6 and last 4 stay."""
    return _ID_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def mask_phone(text: str) -> str:
    """Star the middle four digits of every 11-digit mobile number in ``text`` (138****5678)."""
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_text(value: object) -> object:
    """Mask ID and mobile numbers anywhere inside a string; non-strings (None, numbers) pass unchanged."""
    if not isinstance(value, str):
        return value
    return mask_phone(mask_id(value))


def mask_whole(value: str | None) -> str | None:
    """A personal field's whole value: first 6 and last 4 kept, the rest starred (already masked: as is)."""
    if value is None or "*" in value:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


MASK_MACROS = r"""
CREATE OR REPLACE MACRO sgs_mask_id(v) AS
    CASE WHEN v IS NULL OR contains(v, '*') THEN v
         WHEN length(v) > 10 THEN left(v, 6) || repeat('*', length(v) - 10) || right(v, 4)
         ELSE repeat('*', length(v)) END;
CREATE OR REPLACE MACRO sgs_mask_text(v) AS
    regexp_replace(
        regexp_replace(v, '(^|[^0-9A-Za-z])([0-9]{6})(?:18|19|20)[0-9]{6}([0-9]{3}[0-9Xx])($|[^0-9A-Za-z])',
                       '\1\2********\3\4', 'g'),
        '(^|[^0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})($|[^0-9])', '\1\2****\3\4', 'g');
"""


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

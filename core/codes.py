"""Check characters of the codes that identify subjects, in Python and as DuckDB SQL macros.

GB 32100-2015 统一社会信用代码 (with the GB 11714 organisation code embedded in characters 9–17) and
GB 11643-1999 居民身份证号码. python-stdnum is not enough: it rejects letter-led credit codes and skips the
embedded GB 11714 check (see the data standard digest). The SQL macros and the Python functions are tested
against each other so the checker (`sgs validate`) and the scorer agree.
"""
from __future__ import annotations

import re
from datetime import date

import duckdb

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
RIC_CHECK = "10X98765432"
USCC_PLACEHOLDER = "00000000000000000X"
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_RIC_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # ASCII digits, as in SQL: \d also matches "١٢٣"


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """GB 11714 check character of an organisation code's first eight characters."""
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(first8, ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_problem(code: str | None) -> str | None:
    """Why a credit code is wrong (None when valid): placeholder, shape, check, org_check."""
    if code is None:
        return None
    if code == USCC_PLACEHOLDER:
        return "placeholder"
    if not _USCC_SHAPE.fullmatch(code):
        return "shape"
    if uscc_check_char(code[:17]) != code[17]:
        return "check"
    if org_check_char(code[8:16]) != code[16]:
        return "org_check"
    return None


def uscc_valid(code: str) -> bool:
    return code is not None and uscc_problem(code) is None


def ric_check_char(first17: str) -> str:
    return RIC_CHECK[sum(int(ch) * w for ch, w in zip(first17, RIC_WEIGHTS)) % 11]


def ric_valid(code: str) -> bool:
    """An 18-character resident ID number: shape, a real birth date (years 0001–9999, as Python's dates; the
    SQL macro excludes DuckDB's year 0000 to agree), and the check character."""
    if not code or not _RIC_SHAPE.fullmatch(code):
        return False
    try:
        date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return ric_check_char(code[:17]) == code[17]


def is_masked(value: str | None) -> bool:
    """A published number with starred digits cannot be checked (and is what the policy asks for)."""
    return bool(value and "*" in value)


# The weighted sums unrolled: one term per character, no list lambda (a lambda ran per row, ≈10× slower:
# 0.26 s for the 70,000 distinct codes of a 100,000-row file). Check characters by lookup strings indexed
# by the sum's remainder. A character's value: its place in the alphabet (GB 32100), or 0–9 / A=10 … Z=35
# (GB 11714); the shape test comes first, so only such characters are summed where it matters.
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_USCC_SUM = " + ".join(f"(instr('{USCC_ALPHABET}', substr(c, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS))
_ORG_SUM = " + ".join(f"(instr('{_ORG_ALPHABET}', substr(c, {i + 9}, 1)) - 1) * {w}" for i, w in enumerate(ORG_WEIGHTS))
_RIC_SUM = " + ".join(f"(ascii(substr(c, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(RIC_WEIGHTS))
_USCC_BY_REMAINDER = "".join(USCC_ALPHABET[(31 - r) % 31] for r in range(31))
_ORG_BY_REMAINDER = "0X987654321"  # 11 - r: 11 → 0, 10 → X
MACROS = f"""
CREATE OR REPLACE MACRO uscc_ok(c) AS
    coalesce(regexp_full_match(c, '[0-9A-HJ-NPQRTUWXY]{{18}}')
    AND substr('{_USCC_BY_REMAINDER}', CAST(({_USCC_SUM}) % 31 + 1 AS BIGINT), 1) = substr(c, 18, 1)
    AND substr('{_ORG_BY_REMAINDER}', CAST(({_ORG_SUM}) % 11 + 1 AS BIGINT), 1) = substr(c, 17, 1), false);
CREATE OR REPLACE MACRO ric_ok(c) AS
    coalesce(regexp_full_match(c, '[0-9]{{17}}[0-9X]')
    AND try_strptime(substr(c, 7, 8), '%Y%m%d') IS NOT NULL AND substr(c, 7, 4) <> '0000'
    AND substr('{RIC_CHECK}', CAST(({_RIC_SUM}) % 11 + 1 AS BIGINT), 1) = substr(c, 18, 1), false);
"""


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``uscc_ok(code)`` and ``ric_ok(code)`` on a connection (both false for NULL)."""
    con.execute(MACROS)

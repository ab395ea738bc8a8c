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


_USCC_VALUE = f"(instr('{USCC_ALPHABET}', substr(c, i + 1, 1)) - 1)"
_ORG_VALUE = "(CASE WHEN substr(c, i + 9, 1) BETWEEN '0' AND '9' THEN ascii(substr(c, i + 9, 1)) - 48 ELSE ascii(substr(c, i + 9, 1)) - 55 END)"
_ORG_SUM = f"CAST(list_sum(list_transform(range(8), lambda i: {_ORG_VALUE} * {list(ORG_WEIGHTS)}[i + 1])) AS BIGINT)"
MACROS = f"""
CREATE OR REPLACE MACRO uscc_ok(c) AS
    coalesce(regexp_full_match(c, '[0-9A-HJ-NPQRTUWXY]{{18}}')
    AND substr('{USCC_ALPHABET}',
        CAST((31 - list_sum(list_transform(range(17), lambda i: {_USCC_VALUE} * {list(USCC_WEIGHTS)}[i + 1])) % 31) % 31 + 1 AS BIGINT), 1)
        = substr(c, 18, 1)
    AND (CASE 11 - {_ORG_SUM} % 11 WHEN 10 THEN 'X' WHEN 11 THEN '0'
         ELSE CAST(11 - {_ORG_SUM} % 11 AS VARCHAR) END) = substr(c, 17, 1), false);
CREATE OR REPLACE MACRO ric_ok(c) AS
    coalesce(regexp_full_match(c, '[0-9]{{17}}[0-9X]')
    AND try_strptime(substr(c, 7, 8), '%Y%m%d') IS NOT NULL AND substr(c, 7, 4) <> '0000'
    AND substr('{RIC_CHECK}', CAST(list_sum(list_transform(range(17), lambda i:
        TRY_CAST(substr(c, i + 1, 1) AS INTEGER) * {list(RIC_WEIGHTS)}[i + 1])) % 11 + 1 AS BIGINT), 1) = substr(c, 18, 1), false);
"""


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``uscc_ok(code)`` and ``ric_ok(code)`` on a connection (both false for NULL)."""
    con.execute(MACROS)

"""Making identifiers for the demo city: valid ones, and ones broken on purpose.

The check characters come from ``core.codes`` (the same functions the engine judges with), so a code
made valid here is valid there by construction, and a code broken here fails there for the stated reason.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from core.codes import (
    RIC_CHECK,
    USCC_ALPHABET,
    org_check_char,
    ric_check_char,
    ric_valid,
    uscc_check_char,
    uscc_problem,
)

_FULL_WIDTH = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def credit_code(rng: random.Random, prefix: str, division: str) -> str:
    """A valid 统一社会信用代码: ``prefix`` (``11`` organ, ``91`` company, ``92`` 个体工商户), the 6-digit
    division, a random GB 11714 body with its own check character, and the GB 32100 check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = f"{prefix}{division}{body}{org_check_char(body)}"
    return first17 + uscc_check_char(first17)


def wrong_credit_check(rng: random.Random, code: str) -> str:
    """The same code with a different (wrong) final check character: fails exactly on "check"."""
    bad = code[:17] + rng.choice([c for c in USCC_ALPHABET if c != code[17]])
    assert uscc_problem(bad) == "check", bad
    return bad


def id_number(rng: random.Random, division: str) -> str:
    """A valid 18-character resident ID number (GB 11643) for someone born 1955–2000."""
    born = date(1955, 1, 1) + timedelta(days=rng.randrange(46 * 365))
    first17 = f"{division}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + ric_check_char(first17)


def wrong_id_check(rng: random.Random, number: str) -> str:
    """The same ID number with a wrong check character (the birth date stays real)."""
    bad = number[:17] + rng.choice([c for c in RIC_CHECK if c != number[17]])
    assert not ric_valid(bad), bad
    return bad


def full_width(text: str) -> str:
    """Digits and capital letters as full-width characters (NFKC folds them back)."""
    return text.translate(_FULL_WIDTH)

"""Check characters: GB 32100 credit codes (with the embedded GB 11714 check) and GB 11643 ID numbers.

The SQL macros the scorer uses must agree with the Python functions the pre-publication checker uses.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pytest

from core import codes


def make_uscc(head: str, org8: str) -> str:
    body = head + org8 + codes.org_check_char(org8)
    return body + codes.uscc_check_char(body)


def make_ric(region: str = "140402", born: date = date(1990, 3, 7), seq: str = "123") -> str:
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + codes.ric_check_char(first17)


@pytest.fixture(scope="module")
def sql():
    con = duckdb.connect()
    codes.register_macros(con)
    yield con
    con.close()


@pytest.mark.parametrize("code", [
    "91350100M000100Y43",  # published examples
    "911100007109288314",
    make_uscc("91140400", "MA0K3L7Q"),
    make_uscc("92140402", "L3NUQ8XY"),  # 个体工商户
    make_uscc("N2140400", "H1234567"),  # letter-led: 农业 (N)
    make_uscc("Y1140400", "MA0K3L7Q"),  # letter-led: 其他 (Y)
    make_uscc("A1140400", "0123456A"),  # letter-led: 中央军委改革 (A)
])
def test_valid_credit_codes(code, sql):
    assert codes.uscc_problem(code) is None and codes.uscc_valid(code)
    assert sql.execute("SELECT uscc_ok(?)", [code]).fetchall()[0][0] is True


def test_invalid_credit_codes(sql):
    good = make_uscc("N2140400", "H1234567")
    wrong_check = good[:17] + next(c for c in codes.USCC_ALPHABET if c != good[17])
    # wrong embedded GB 11714 character, with the outer GB 32100 check recomputed so only the inner one fails
    org_bad = next(c for c in "0123456789X" if c != good[16])
    wrong_org = good[:16] + org_bad + codes.uscc_check_char(good[:16] + org_bad)
    cases = {wrong_check: "check", wrong_org: "org_check", good[:17]: "shape", good[:17] + "I": "shape",
             good.lower(): "shape", codes.USCC_PLACEHOLDER: "placeholder"}
    for code, problem in cases.items():
        assert codes.uscc_problem(code) == problem, code
        assert not codes.uscc_valid(code)
        assert sql.execute("SELECT uscc_ok(?)", [code]).fetchall()[0][0] is False, code
    assert sql.execute("SELECT uscc_ok(NULL), ric_ok(NULL)").fetchall()[0] == (False, False)


def test_id_numbers(sql):
    valid = [make_ric(), make_ric(born=date(2000, 2, 29)), "11010519491231002X"]
    good = make_ric()
    invalid = [good[:17] + next(c for c in codes.RIC_CHECK if c != good[17]),  # wrong check character
               make_ric(born=date(1990, 3, 7)).replace("19900307", "19900230"),  # 30 February
               good[:17], good[:17] + "x", "14040219900307123A"]
    for number in valid:
        assert codes.ric_valid(number) and sql.execute("SELECT ric_ok(?)", [number]).fetchall()[0][0] is True
    for number in invalid:
        assert not codes.ric_valid(number), number
        assert sql.execute("SELECT ric_ok(?)", [number]).fetchall()[0][0] is False, number
    # a bad birth date fails even when the check character is right for the 17 digits
    first17 = "14040219900230123"
    assert not codes.ric_valid(first17 + codes.ric_check_char(first17))
    assert codes.is_masked("140402********1234") and not codes.is_masked(good)


def _random_codes(rng: random.Random, n: int) -> list[str]:
    """Half valid by construction, half random strings over the alphabet (mostly invalid)."""
    alpha = codes.USCC_ALPHABET
    out = []
    for i in range(n):
        if i % 2:
            out.append("".join(rng.choice(alpha) for _ in range(18)))
        else:
            head = rng.choice(alpha[1:]) + rng.choice(alpha) + "".join(rng.choice("0123456789") for _ in range(6))
            out.append(make_uscc(head, "".join(rng.choice(alpha) for _ in range(8))))
    return out


def _random_ids(rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(36000))
        number = make_ric(f"{rng.randrange(110000, 660000)}", born, f"{rng.randrange(1000):03d}")
        if i % 3 == 1:
            number = number[:17] + rng.choice(codes.RIC_CHECK)
        elif i % 3 == 2:
            number = number[:10] + f"{rng.randrange(1, 20):02d}{rng.randrange(1, 40):02d}" + number[14:]
        out.append(number)
    return out


def test_sql_macros_agree_with_python(sql):
    rng = random.Random(20260925)
    uscc, ric = _random_codes(rng, 3000), _random_ids(rng, 3000)
    got_uscc = dict(sql.execute("SELECT c, uscc_ok(c) FROM unnest(?::VARCHAR[]) t(c)", [uscc]).fetchall())
    got_ric = dict(sql.execute("SELECT c, ric_ok(c) FROM unnest(?::VARCHAR[]) t(c)", [ric]).fetchall())
    assert {c: codes.uscc_valid(c) for c in uscc} == got_uscc
    assert {c: codes.ric_valid(c) for c in ric} == got_ric
    assert 0 < sum(got_uscc.values()) < len(uscc) and 0 < sum(got_ric.values()) < len(ric)

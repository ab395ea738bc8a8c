"""Personal data stays masked in URLs and error texts too (issue 12): the one masking rule on URL shapes, the
numbers it must leave alone, and the SQL twin agreeing with it on every shape and on generated text.

The crawl, the dashboard pages and the exports with such URLs are in ``test_privacy_crawl.py``.
"""
from __future__ import annotations

import random

import duckdb
import pytest

from metrics.privacy import holds_personal, mask_text, register_macros

ID = "110101199003071234"
ID_X = "11010119900307123X"
PHONE = "13812345678"
M_ID = "110101********1234"
M_ID_X = "110101********123X"
M_PHONE = "138****5678"

URLS = [  # (text, masked)
    (f"http://127.0.0.1:8080/cf/{ID}.html", f"http://127.0.0.1:8080/cf/{M_ID}.html"),  # a path segment
    (f"http://x.gov.cn/cf/{ID_X}/", f"http://x.gov.cn/cf/{M_ID_X}/"),
    (f"http://x.gov.cn/cf/p{ID}.html", f"http://x.gov.cn/cf/p{M_ID}.html"),  # after a letter
    (f"http://x.gov.cn/cf/{ID}_1.shtml", f"http://x.gov.cn/cf/{M_ID}_1.shtml"),
    (f"http://x.gov.cn/cf/{ID}abc", f"http://x.gov.cn/cf/{M_ID}abc"),  # before a letter
    (f"http://x.gov.cn/view?sfz={ID}&tel={PHONE}", f"http://x.gov.cn/view?sfz={M_ID}&tel={M_PHONE}"),  # query
    (f"http://x.gov.cn/view?id={PHONE}&page=2", f"http://x.gov.cn/view?id={M_PHONE}&page=2"),
    (f"http://x.gov.cn/view?q=sfz%3D{ID}%26tel%3D{PHONE}",  # percent-encoded query inside a query
     f"http://x.gov.cn/view?q=sfz%3D{M_ID}%26tel%3D{M_PHONE}"),
    (f"http://x.gov.cn/cf/%E5%BC%A0%E4%B8%89%20{ID}.html",  # %20 ends with a digit: still a boundary
     f"http://x.gov.cn/cf/%E5%BC%A0%E4%B8%89%20{M_ID}.html"),
    (f"http://x.gov.cn/cf%2F{ID}%2F", f"http://x.gov.cn/cf%2F{M_ID}%2F"),
    (f"http://x.gov.cn/q?tel=%2B86{PHONE}", f"http://x.gov.cn/q?tel=%2B86{M_PHONE}"),
    (f"tel:+86{PHONE}", f"tel:+86{M_PHONE}"),
    (f"tel:0086{PHONE}", f"tel:0086{M_PHONE}"),
    (f"http://x.gov.cn/cf/detail.html#{ID}", f"http://x.gov.cn/cf/detail.html#{M_ID}"),  # a fragment
    (f"http://x.gov.cn/cf/detail.html#tel={PHONE}", f"http://x.gov.cn/cf/detail.html#tel={M_PHONE}"),
    (f"{ID}/{ID}", f"{M_ID}/{M_ID}"),  # numbers side by side (the SQL twin needs its second pass)
    (f"{PHONE},{PHONE};{PHONE}", f"{M_PHONE},{M_PHONE};{M_PHONE}"),
    # free error texts as the crawl writes them
    (f"http://x.gov.cn/cf/{ID}.html 返回 HTTP 404（详情页不可用，仅保留列表中的信息）",
     f"http://x.gov.cn/cf/{M_ID}.html 返回 HTTP 404（详情页不可用，仅保留列表中的信息）"),
    (f"连接 http://x.gov.cn/view?tel={PHONE} 失败：Connection refused\n重试 2 次",
     f"连接 http://x.gov.cn/view?tel={M_PHONE} 失败：Connection refused\n重试 2 次"),
]

NOT_PERSONAL = [
    "http://127.0.0.1:8080/cf/list?page=2",  # port, page
    "http://x.gov.cn/art/2026/1/31/art_1229_2026013100012.html",  # dates, article ids (13 digits)
    "http://x.gov.cn/cf/20260131/t20260131_123456.html",
    "http://x.gov.cn/list?_=1769846400123",  # a millisecond timestamp
    "http://x.gov.cn/list?ts=1769846400",  # seconds
    "长市监罚〔2026〕123号", "晋长市监罚字〔2026〕第00123号", "TJ2026-0012345",  # 文书号
    "91140400MA0K12345X", "http://x.gov.cn/q?code=91140400MA0K5X3E6X",  # credit codes (public)
    "urn:uuid:3f0c2a5e-8b1d-4c77-9a2e-1f2e3d4c5b6a",  # a fetch id
    "20261130T201138-1a2b3c4d.warc.gz#123456",  # a crawl's archive and offset
    "0355-2021234", "(0355)2021234",  # landlines
    "1404021990031512345",  # 19 digits: not an ID
    "139123456789", "12812345678",  # 12 digits; not a mobile prefix
    "http://x.gov.cn/%31%31%30",  # percent-encoded digits are not decoded
    "140402********1234", "139****5678",  # already masked
]


@pytest.mark.parametrize(("text", "masked"), URLS)
def test_urls_and_error_texts_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert holds_personal(text) and not holds_personal(masked)


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_numbers_that_are_not_personal_are_left_alone(text: str) -> None:
    assert mask_text(text) == text
    assert not holds_personal(text)


def _sql(con: duckdb.DuckDBPyConnection, texts: list[str]) -> list[str]:
    rows = con.execute("SELECT i, sgs_mask_text(t) FROM unnest(?) WITH ORDINALITY AS u(t, i) ORDER BY i",
                       [texts]).fetchall()
    return [r[1] for r in rows]


def test_sql_twin_agrees_on_every_shape() -> None:
    con = duckdb.connect()
    register_macros(con)
    texts = [t for t, _ in URLS] + [m for _, m in URLS] + NOT_PERSONAL
    assert _sql(con, texts) == [mask_text(t) for t in texts]
    con.close()


def test_sql_twin_agrees_on_generated_text() -> None:
    """Random strings stitched from numbers, escapes, separators and letters (a fixed seed: the same cases on
    every run): Python and SQL give the same text, and nothing 11 or 18 digits long survives next to a
    non-digit unmasked."""
    pieces = [ID, ID_X, PHONE, f"86{PHONE}", "+86", "00", "%20", "%3D", "%2F", "%2B", "%E5%BC%A0", "/", "?", "&",
              "=", "#", ".html", "p", "X", "x", "1", "3", "8", "0", "20260131", "91140400MA0K12345X", " ", "\n",
              "%", "张", "*"]
    rng = random.Random(12)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(5000)]
    con = duckdb.connect()
    register_macros(con)
    got = _sql(con, texts)
    con.close()
    assert got == [mask_text(t) for t in texts]
    assert all(mask_text(m) == m for m in got)  # masking is idempotent


def test_crawl_lines_are_masked() -> None:
    """The one output point of ``sgs crawl`` (crawlers.report.shown) and the errors it repeats at the end."""
    from datetime import datetime

    from crawlers.report import CrawlSummary, shown

    assert shown(f"http://x/cf/{ID}.html 返回 HTTP 404") == f"http://x/cf/{M_ID}.html 返回 HTTP 404"
    summary = CrawlSummary("c1", datetime(2026, 5, 1))
    summary.errors.append((f"http://x/?tel={PHONE}", f"http://x/?tel={PHONE} 返回 HTTP 500"))
    assert summary.error_lines() == [f"http://x/?tel={M_PHONE} 返回 HTTP 500"]
    assert summary.errors[0][0].endswith(PHONE)  # what is kept (and stored) is the real URL

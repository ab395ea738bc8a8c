"""The evidence view reads an archived page with the crawler's decoder (``core.decode``): a page is shown as
the text its records were read from, whatever charset it wrongly declares."""
from __future__ import annotations

import pytest

from core.decode import decode
from dashboard.sanitize import page_source, page_text

# every run of Chinese here is also valid GBK when read from its UTF-8 bytes (行政处罚 → 琛屾斂澶勭綒), so a
# decoder that believes the declaration gets no error, only mojibake
TEXT = "行政处罚决定文书"


def _page(charset_in_meta: str) -> bytes:
    return (f'<html><head><meta charset="{charset_in_meta}"><title>行政处罚</title></head>'
            f"<body><table><tr><td>当事人名</td><td>发布日期</td></tr></table>"
            f"<p>{TEXT}</p></body></html>").encode("utf-8")


@pytest.mark.parametrize("content_type", ["text/html; charset=gbk", "text/html"])
def test_a_utf8_page_declaring_gbk_is_shown_in_chinese_not_mojibake(content_type: str) -> None:
    body = _page("gbk")
    text = page_text(body, content_type)
    assert body.decode("gbk")  # the bytes are valid GBK too: only checking them against UTF-8 reads them right
    assert TEXT in text and "当事人名 | 发布日期" in text and "琛屾斂" not in text
    assert TEXT in page_source(body, content_type)


def test_the_evidence_view_and_the_crawler_read_the_same_text() -> None:
    gbk = "<html><body><p>当事人：甲公司</p></body></html>".encode("gb18030")
    for body, ctype in ((gbk, "text/html"), (gbk, "text/html; charset=utf-8"), (_page("gb2312"), None)):
        assert page_source(body, ctype) == decode(body, ctype)
    assert "当事人：甲公司" in page_text(gbk, "text/html; charset=utf-8")

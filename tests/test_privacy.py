"""Masking of personal data: the Python functions and the SQL macros follow one policy."""
from __future__ import annotations

import duckdb
import pytest

from core.privacy import mask_id, mask_phone, mask_text

RAW_ID = "140402199003151234"
MASKED_ID = "140402********1234"
RAW_PHONE = "13912345678"


def test_mask_id() -> None:
    assert mask_id(RAW_ID) == MASKED_ID
    assert mask_id("14040219900315123X") == "140402********123X"
    assert mask_id(f"身份证号{RAW_ID}。") == f"身份证号{MASKED_ID}。"
    assert mask_id("91140400MA0K12345X") == "91140400MA0K12345X"  # credit code of an organisation
    assert mask_id("1404021990031512345") == "1404021990031512345"  # not an 18-character number


def test_mask_phone() -> None:
    assert mask_phone(RAW_PHONE) == "139****5678"
    assert mask_phone(f"电话：{RAW_PHONE}，") == "电话：139****5678，"
    assert mask_phone("0355-2021234") == "0355-2021234"
    assert mask_phone("139123456789") == "139123456789"


def test_mask_text() -> None:
    assert mask_text(f"{RAW_ID} / {RAW_PHONE}") == f"{MASKED_ID} / 139****5678"
    assert mask_text(None) is None
    assert mask_text(3.5) == 3.5


@pytest.mark.parametrize("text", [
    "当事人张三，身份证号140402199003151234，电话13912345678。",
    "11010519491231002X", "140402199003151234", "统一社会信用代码91140400MA0K5X3E6X", "0355-1234567",
    "编号 123456789012345678901", None, "",
    "13912345678,13812345678", "140402199003151234/140402199003151235",  # side by side: one boundary shared
    "http://x.gov.cn/cf/140402199003151234.html?tel=13912345678", "sfz%3D140402199003151234",
])
def test_sql_masking_agrees_with_python(text) -> None:
    from core.privacy import mask_whole, register_macros

    con = duckdb.connect()
    register_macros(con)
    got = con.execute("SELECT sgs_mask_text(?), sgs_mask_id(?)", [text, text]).fetchone()
    con.close()
    assert got == (mask_text(text), mask_whole(text))

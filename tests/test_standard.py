"""The field registry is data: check that it is consistent, so a revision cannot silently break checks."""
from __future__ import annotations

import pytest

from metrics import standard


@pytest.mark.parametrize("kind", standard.KINDS)
def test_current_registry_is_consistent(kind):
    std = standard.load(kind)
    codes = set(std.codes)
    enums = standard.enums()
    assert len(codes) == len(std.fields), "duplicate codes"
    for f in std.fields:
        assert f.code == "BZ" or f.code.startswith(kind.upper() + "_"), f.code
        assert f.required in ("R", "C", "O"), f.code
        if f.required == "C":
            assert f.when and f.when["field"] in codes and f.when["any_of"], f.code
        if f.enum:
            assert f.enum in enums, f.code
        assert f.check in (None, "uscc", "ric"), f.code
        assert f.type in ("text", "date", "amount"), f.code


@pytest.mark.parametrize("kind", standard.KINDS)
def test_pre_2018_names_map_to_current_codes(kind):
    old = standard.load(kind, "2015")
    current = set(standard.load(kind).codes)
    assert all(f.maps_to in current for f in old.fields if f.maps_to)
    mapping = standard.synonym_map(kind)
    for f in old.fields:
        if f.maps_to:
            assert mapping[standard.normalise_label(f.code.lower())] == f.maps_to


def test_synonyms_reach_standard_codes():
    cf, xk = standard.synonym_map("cf"), standard.synonym_map("xk")
    assert cf[standard.normalise_label("行政相对人名称：")] == "CF_XDR_MC"
    assert cf[standard.normalise_label("罚款金额（万元）")] == "CF_NR_FK"
    assert cf["当事人"] == "CF_XDR_MC" and cf["cf_wsh"] == "CF_WSH"
    assert xk["有效期至"] == "XK_YXQZI" and xk["许可截止期"] == "XK_YXQZI"
    assert cf["发布日期"] == xk["gsrq"] == "FBRQ"


def test_enumerations_accept_aliases_and_named_other():
    e = standard.enums()
    assert e["CFLB"].is_valid("罚款;没收违法所得") and not e["CFLB"].is_valid("罚款、警告")
    assert e["XKLB"].is_valid("其他-备案") and not e["XKLB"].is_valid("其他-")
    assert e["XDR_LB"].canonical("01") == "自然人"


def test_unknown_kind_or_version_is_explained():
    with pytest.raises(ValueError, match="xk 或 cf"):
        standard.load("zz")
    with pytest.raises(FileNotFoundError, match="1999"):
        standard.load("cf", "1999")

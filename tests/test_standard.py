"""The field registry is data: check that it is consistent, so a revision cannot silently break checks."""
from __future__ import annotations

import pytest

from core import standard


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


@pytest.mark.parametrize("kind", standard.KINDS)
def test_no_name_is_ambiguous(kind):
    """Every name, synonym and name in use (current fields, pre-2018 fields with ``maps_to``, page fields) reads
    as one field only: a header that two fields claim would be read by whichever came first."""
    claims: dict[str, set[str]] = {}
    old = [(f.maps_to, f) for f in standard.load(kind, "2015").fields if f.maps_to]
    current = [(f.code, f) for f in (*standard.load(kind).fields, *standard.page_fields())]
    for code, f in (*current, *old):
        for name in (f.name, f.code, *f.synonyms, *f.names_in_use):
            claims.setdefault(standard.normalise_label(name), set()).add(code)
    assert {k: v for k, v in claims.items() if len(v) > 1} == {}


@pytest.mark.parametrize("kind, header, code, unit", [
    ("cf", "当事人类型", "CF_XDR_LB", None), ("cf", "主要违法违规事实", "CF_SY", None),
    ("cf", "作出决定机关", "CF_CFJG", None), ("cf", "作出处罚决定的日期", "CF_JDRQ", None),
    ("cf", "作出决定时间", "CF_JDRQ", None), ("cf", "企业名称或自然人姓名", "CF_XDR_MC", None),
    ("cf", "做出处罚的日期", "CF_JDRQ", None), ("cf", "作出处罚决定的部门", "CF_CFJG", None),
    ("cf", "处罚类别1（0=警告；1=罚款；2=没收违法所得、没收非法财物；6=其他（需注明）", "CF_CFLB", None),
    ("cf", "处罚决定日期（格式为：YYYY/MM/DD）", "CF_JDRQ", None),
    # numbered codes are read by their words: MsPunish numbers the credit code _3, the standard _1
    ("cf", "行政相对人代码_3(统一社会信用代码)", "CF_XDR_SHXYM", None),
    ("cf", "行政相对人代码_3(工商登记码)", "CF_XDR_GSZC", None),
    ("cf", "行政相对人代码_5 (居民身份证号)：", "CF_XDR_ZJHM", None),
    ("xk", "行政相对人代码_1（统一社会信用代码）", "XK_XDR_SHXYM", None),
    ("xk", "行政相对人代码_4（税务登记号） ", "XK_XDR_SWDJ", None),
    ("xk", "许可决定日期", "XK_JDRQ", None), ("xk", "许可机关", "XK_XKJG", None),
    ("xk", "数据来源单位统一社会信用代码", "XK_LYDWDM", None), ("xk", "项目名称", "XK_XKWS", None),
    # width, spaces, brackets, colons and a template's required marks
    ("cf", " 罚款金额 【元】：", "CF_NR_FK", "元"), ("cf", "罚款金额（万元）", "CF_NR_FK", "万元"),
    ("cf", "罚款金额(单位:元)", "CF_NR_FK", "元"), ("cf", "*处罚依据", "CF_YJ", None),
    ("cf", "处罚依据（必填）", "CF_YJ", None), ("cf", "没收违法所得、没收非法财物的金额［万元］", "CF_NR_WFFF", "万元"),
])
def test_headers_as_systems_print_them(kind, header, code, unit):
    assert standard.match_header(header, standard.synonym_map(kind)) == standard.HeaderMatch(code, unit)


@pytest.mark.parametrize("header", ["罚款金额（美元）", "序号", "处罚类别2", "行政相对人代码_2(营业执照号)", "联系电话"])
def test_headers_that_name_nothing(header):
    """An unknown unit is not guessed, 处罚类别2 has no place in today's standard, a numbered code is its words."""
    assert standard.match_header(header, standard.synonym_map("cf")) is None


def test_department_level_subjects_have_names():
    """A department-level finding's subject reads as words on a page, never as a bare code or "nan"."""
    from core.standard import field_name

    assert [field_name("cf", c) for c in ("URL", "COLUMN", "CATALOGUE", "FBRQ")] == ["网页地址", "双公示专栏", "事项目录", "发布日期"]
    assert field_name("cf", "NOPE") is None

"""Property-based tests (hypothesis): whatever a hostile page, file, header or value holds, the extractors,
normalisers, pagers, header matching, check characters and file readers end in a result of their declared
type or in the project's one declared error — never another exception, never unbounded work.

The declared outcomes, from the code:

- ``crawlers.extract``: ``decode`` → text that is valid Unicode (it is stored and parsed); ``parse`` → an lxml
  document; ``list_rows``/``link_rows`` → ``ListRow``s of code → text; ``list_header``/``table_header`` → text;
  ``detail_fields``/``entity_fields``/``table_records`` → code → text. Garbage gives empty results.
- ``core.normalize``: text or None; idempotent (a stored value normalised again does not change);
  a parsed date is a real ISO date.
- ``core.standard.match_header``: a ``HeaderMatch`` of a registry code (unit 元/万元 or none), or None.
- ``core.codes``: True/False, the Python functions and the DuckDB macros agreeing.
- ``core.attachments.named_tables``/``read_sheets``: tables of text, or ``ValueError`` with a Chinese
  message. They run in a child process with an address-space limit, so a native abort is a finding here,
  not the end of the test run.
- ``crawlers.paging``: stated totals are ints or None; a pager's next URL is text or None.

Profiles: ``ci`` (loaded when CI is set) is derandomized, so a CI failure reproduces exactly, and prints the
reproduction blob; ``dev`` explores new examples on each run. Neither keeps an example database in the work
tree. Deadlines are generous (seconds for calls that take milliseconds): they catch quadratic or unbounded
work, not slowness. The file runs in well under a minute on two cores.
"""
from __future__ import annotations

import html as htmllib
import io
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from datetime import date
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

import duckdb
import pytest
from hypothesis import currently_in_test_context, HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from crawlers import extract, paging
from core import normalize
from crawlers.extract import ListRow
from core import codes, standard
from core.cityconfig import Source
from core.decode import decode

settings.register_profile("dev", database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", parent=settings.get_profile("dev"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
# SGS_PROPERTY_SCALE=20 runs twenty times the examples: a longer hunt by hand, same properties
SCALE = float(os.environ.get("SGS_PROPERTY_SCALE", "1"))
FAST = dict(deadline=2000)  # ms per example: pathological work only, never a timing assertion


def examples(n: int) -> int:
    """The number of examples a property runs: n in CI and by default, scaled for a hunt by hand."""
    return max(1, int(n * SCALE))

# --- vocabulary the generators draw from ---------------------------------------------------------

KINDS = standard.KINDS
SYNONYMS = {kind: standard.synonym_map(kind) for kind in KINDS}
CODES = {kind: set(SYNONYMS[kind].values()) for kind in KINDS}
REGISTRY_LABELS = sorted(set(SYNONYMS["cf"]) | set(SYNONYMS["xk"]))
HOSTILE_WORDS = [
    "长沙市某某有限公司", "警告", "罚款", "警告、罚款", "2026-03-01", "2026年3月1日", "0001-01-01", "9999-12-31",
    "1.2万元", "5000元", "壹万贰仟元整", "共 123 条", "第 1/13 页", "共 13 页", "下一页", "next", "…", "...",
    "：", ":", "10:20", " ", "\n", "&nbsp;", "&#0;", "&#xD800;", "&lt;", "]]>", "١٢٣", "²", "1e309", "NaN", "-0",
    "无", "-", "/", "91430100MA4L1234X", "<?xml version='1.0' encoding='utf-8'?>", "<!-- c -->", "\x00", "\ufeff",
    "createPageHTML(12, 0, 'index', 'html')", "共" + "9" * 5000 + "条",
]
DECORATIONS_BEFORE = ["", " ", "　", "*", "**", "【"]
DECORATIONS_AFTER = ["", "：", ":", " ：", "*", "(必填)", "（选填）", "(元)", "（万元）", "(美元)", "(格式为:YYYY/MM/DD)",
                     "】", "_1", "(", "*:*", "(必填)*"]

label_text = st.sampled_from(REGISTRY_LABELS)
decorated_label = st.builds(lambda a, label, b: a + label + b, st.sampled_from(DECORATIONS_BEFORE), label_text,
                            st.sampled_from(DECORATIONS_AFTER))
words = st.one_of(decorated_label, st.sampled_from(HOSTILE_WORDS), st.text(max_size=20))


def _full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (as many Chinese pages print them)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- HTML from a grammar: tags, tables of labelled cells, links, label lines, plus raw text ---------

HREFS = ["/a/1.html", "detail?id=1", "../x/2.htm", "#", "javascript:void(0)", "mailto:a@b", "http://[::1",
         "http://[zz]/", "http://a:99999999/", "//x/y", "http://例子.中国/路径", "", " ", "http://x/%zz", "\x01",
         "https://127.0.0.1:8443/cf/3.html"]
ATTRS = {
    "href": st.one_of(st.sampled_from(HREFS), st.text(max_size=15)),
    "colspan": st.one_of(st.sampled_from(["2", "0", "-3", "x", "99999999999999999999", "١", "1" * 5000]),
                         st.text(max_size=5)),
    "title": words,
}
BLOCK_TAGS = ["table", "tr", "td", "th", "dl", "dt", "dd", "p", "div", "span", "li", "ul", "a", "font",
              "strong", "script", "style", "tbody", "thead", "form", "iframe", "svg", "math", "template"]


def _tag(name: str, attrs: list[tuple[str, str]], children: list[str]) -> str:
    attr_text = "".join(f' {k}="{htmllib.escape(v, quote=True)}"' for k, v in attrs)
    return f"<{name}{attr_text}>{''.join(children)}</{name}>"


attr_pairs = st.lists(st.sampled_from(sorted(ATTRS)).flatmap(lambda k: ATTRS[k].map(lambda v: (k, v))), max_size=2)
leaf = st.one_of(words.map(htmllib.escape), words, st.just("<br>"), st.just("<br/>"),
                 st.builds(lambda label, value: f"{label}：{value}", decorated_label, words))
fragment = st.recursive(
    leaf, lambda inner: st.builds(_tag, st.sampled_from(BLOCK_TAGS), attr_pairs, st.lists(inner, max_size=4)),
    max_leaves=25)


@st.composite
def list_table(draw: st.DrawFn) -> str:
    """A table whose header row names known fields (so rows are read), with ragged, linked, spanned rows."""
    header = draw(st.lists(st.one_of(decorated_label, words), min_size=2, max_size=6))
    cell = st.builds(_tag, st.sampled_from(["td", "th"]), attr_pairs,
                     st.lists(st.one_of(words, st.builds(_tag, st.just("a"), attr_pairs, st.lists(words, max_size=2))),
                              max_size=2))
    rows = draw(st.lists(st.lists(cell, max_size=7).map("".join), max_size=5))
    head = "".join(f"<th>{htmllib.escape(h)}</th>" for h in header)
    lead = draw(st.sampled_from(["", "<tr><td colspan='9'>标题</td></tr>"]))
    return "<table>" + lead + f"<tr>{head}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"


PREFIXES = ["", "<!DOCTYPE html>", "<?xml version='1.0' encoding='utf-8'?>", "\ufeff", "<html><body>",
            "<meta charset='gbk'>", "</html>", "<!--", "<![CDATA["]
documents = st.one_of(
    st.builds(lambda p, parts: p + "".join(parts), st.sampled_from(PREFIXES),
              st.lists(st.one_of(fragment, list_table()), max_size=4)),
    st.text(max_size=200),
)
BASE_URLS = ["http://127.0.0.1:8000/cf/index.html", "https://例子.中国/a/b?x=1", "http://[::1]:8080/",
             "http://127.0.0.1/%E4%B8%AD/"]
LINK_PATTERNS = [".", r"/a/\d+\.html", "detail", "^https?://", "中国"]


def _assert_fields(fields: object, kind: str) -> None:
    assert isinstance(fields, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()), fields
    assert set(fields) <= CODES[kind] | {"FBRQ"}, fields


def _assert_rows(rows: object, kind: str) -> None:
    assert isinstance(rows, list)
    for row in rows:
        assert isinstance(row, ListRow)
        _assert_fields(row.fields, kind)
        assert row.link is None or isinstance(row.link, str)


@settings(max_examples=examples(150), **FAST)
@given(documents, st.sampled_from(KINDS), st.sampled_from(BASE_URLS), st.sampled_from(LINK_PATTERNS))
@example("<!-- only a comment -->", "cf", BASE_URLS[0], ".")  # lxml makes no document of it
@example("</>", "cf", BASE_URLS[0], ".")
@example("<table><tr><th>行政相对人名称</th><th>处罚决定书文号</th></tr><tr><td><a href='http://[::1'>x</a></td>"
         "<td>1</td></tr></table>", "cf", BASE_URLS[0], ".")  # urljoin: "Invalid IPv6 URL"
def test_extractors_on_any_page_return_their_types(page: str, kind: str, base: str, pattern: str) -> None:
    doc = extract.parse(page)
    assert doc is not None and doc.tag == "html"
    _assert_rows(extract.list_rows(page, kind, base), kind)
    assert all(isinstance(h, str) for h in extract.list_header(page, kind))
    _assert_fields(extract.detail_fields(page, kind), kind)
    _assert_rows(extract.link_rows(page, pattern, base), kind)
    found = paging.next_link(page, base)
    assert found is None or isinstance(found, str)
    # the crawl parses once and hands the document on
    _assert_rows(extract.list_rows(extract.parse(page), kind, base), kind)
    _assert_fields(extract.detail_fields(extract.parse(page), kind), kind)


table_rows = st.lists(st.lists(words, max_size=7), max_size=8)


@settings(max_examples=examples(150), **FAST)
@given(table_rows, st.sampled_from(KINDS), st.dictionaries(words, st.sampled_from(sorted(CODES["cf"])), max_size=3))
def test_table_records_of_any_table(rows: list[list[str]], kind: str, overrides: dict[str, str]) -> None:
    labels = extract.labels_for(kind, overrides) if kind == "cf" else None
    codes_ = CODES[kind] | (set(overrides.values()) if labels else set())
    records = extract.table_records(rows, kind, labels)
    assert isinstance(records, list)
    for record in records:
        assert isinstance(record, dict) and set(record) <= codes_
        assert all(isinstance(v, str) for v in record.values())
    assert all(isinstance(h, str) for h in extract.table_header(rows, kind, labels))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), st.sampled_from(HOSTILE_WORDS)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10)


@settings(max_examples=examples(150), **FAST)
@given(st.dictionaries(st.one_of(label_text, st.sampled_from(sorted(CODES["cf"])).map(str.lower), st.text(max_size=8)),
                       json_values, max_size=6), st.sampled_from(KINDS))
def test_entity_fields_of_any_json_record(entity: dict, kind: str) -> None:
    _assert_fields(extract.entity_fields(entity, kind), kind)


# --- decoding: arbitrary bytes, declared and forced charsets, BOMs --------------------------------

CHARSETS = ["utf-8", "UTF8", "gbk", "gb2312", "GB18030", "big5", "shift_jis", "latin-1", "utf-7", "utf-16",
            "utf-16-le", "utf-16be", "utf-32", "x-evil", "idna", "punycode", "unicode_escape", "raw_unicode_escape",
            "undefined", "base64", "rot13", "zlib", "hex", "", " ", "utf-8-sig", "cp1252", "mac-roman"]
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]
charsets = st.one_of(st.sampled_from(CHARSETS), st.text(max_size=12))
content_types = st.one_of(st.none(), st.builds("text/html; charset={}".format, charsets), st.text(max_size=30))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Raw bytes, or text encoded in some charset, after a BOM and maybe a ``<meta charset>``."""
    meta = draw(st.one_of(st.just(b""), charsets.map(lambda c: f"<meta charset='{c}'>".encode("utf-8", "replace"))))
    text = draw(st.text(max_size=60))
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-16", "utf-7", "big5", "latin-1"]))
    encoded = text.encode(encoding, "replace") if encoding != "latin-1" else text.encode(encoding, "ignore")
    payload = draw(st.one_of(st.binary(max_size=80), st.just(encoded),
                             st.sampled_from([b"+2AA-", b"\\ud800", b"\\U0010ffff\\x", b"\xed\xa0\x80"])))
    return draw(st.sampled_from(BOMS)) + meta + payload


@settings(max_examples=examples(400), **FAST)
@given(bodies(), content_types, st.one_of(st.none(), charsets))
@example(b"+2AA-", None, "utf-7")  # UTF-7 for a lone surrogate
@example(b"\\ud800\xff", "text/html; charset=unicode_escape", None)  # a hostile server's declared "charset"
@example(b"\xff", "text/html; charset=undefined", None)  # a codec that raises UnicodeError, not ...DecodeError
def test_decode_gives_valid_unicode(body: bytes, content_type: str | None, forced: str | None) -> None:
    text = decode(body, content_type, forced)
    assert isinstance(text, str)
    text.encode("utf-8")  # no lone surrogates: the text is stored, archived and parsed
    extract.parse(text)


@settings(max_examples=examples(200), **FAST)
@given(st.text(max_size=80), content_types)
def test_utf8_bytes_are_read_as_utf8_whatever_is_declared(text: str, content_type: str | None) -> None:
    assert decode(text.encode("utf-8"), content_type) == text.removeprefix("\ufeff")


# --- normalisers ---------------------------------------------------------------------------------

DIGITS = ["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "⁰¹²³⁴⁵⁶⁷⁸⁹", "〇一二三四五六七八九", "零壹贰叁肆伍陆柒捌玖"]
number_text = st.builds(
    lambda sign, digits, idx, frac, exp: sign + "".join(digits[i % 10] for i in idx) + frac + exp,
    st.sampled_from(["", "-", "+", "−", "－"]), st.sampled_from(DIGITS), st.lists(st.integers(0, 9), min_size=1, max_size=40),
    st.sampled_from(["", ".5", ".", ".000001", ",000", "，000.00"]), st.sampled_from(["", "e309", "E-5", "e"]))
amount_text = st.one_of(
    st.builds(lambda pre, n, unit, sp: sp + pre + n + sp + unit, st.sampled_from(["", "人民币", "¥", "￥"]), number_text,
              st.sampled_from(["", "元", "万元", "万", "圆", "元整", "美元", "角", "千元"]), st.sampled_from(["", " ", "　"])),
    st.sampled_from(["NaN", "Infinity", "-inf", "1e309", "壹万", "万元", "亿元", "元", "零元", "壹亿亿元", "十五元",
                     "壹万" * 2000 + "元", "9" * 5000 + "元"]),
    st.text(max_size=30))
date_text = st.builds(
    lambda y, s1, m, s2, d, tail: f"{y}{s1}{m}{s2}{d}{tail}",
    st.one_of(st.integers(0, 99999).map(str), st.sampled_from(["0001", "9999", "26", "２０２６", "٢٠٢٦", "0000"])),
    st.sampled_from(["-", "/", ".", "年", "", " 年 "]), st.integers(0, 13).map(str),
    st.sampled_from(["-", "/", ".", "月", ""]), st.integers(0, 32).map(str),
    st.sampled_from(["", "日", " 10:20", "T10:20:30+08:00", "日 10时20分", "-W01", " 99:99:99"]))
any_value = st.one_of(amount_text, date_text, words, st.text(), st.none(), st.integers(), st.floats())

NORMALISERS = [normalize.clean_text, normalize.clean_prose, normalize.normalise_amount, normalize.normalise_date,
               normalize.normalise_identifier]


@settings(max_examples=examples(400), **FAST)
@given(any_value)
@example("壹万" * 2000 + "元")  # Chinese numerals, nested 万: recursion depth
@example("ΐ")  # upper() of it is not NFKC-normal
def test_normalisers_return_text_or_none_and_are_idempotent(value: object) -> None:
    for normalise in NORMALISERS:
        once = normalise(value)
        assert once is None or (isinstance(once, str) and once == once.strip() and once), (normalise, once)
        assert normalise(once) == once, normalise.__name__


@settings(max_examples=examples(200), **FAST)
@given(st.sampled_from(KINDS).flatmap(lambda kind: st.tuples(st.just(kind), st.dictionaries(
    st.one_of(st.sampled_from(sorted(normalize.field_kinds(kind))), st.text(max_size=6)), any_value, max_size=8))))
def test_normalise_record_is_idempotent(kind_fields: tuple[str, dict]) -> None:
    kind, fields = kind_fields
    once = normalize.normalise_record(kind, fields)
    assert set(once) == set(fields) and all(v is None or isinstance(v, str) for v in once.values())
    assert normalize.normalise_record(kind, once) == once


@settings(max_examples=examples(300), **FAST)
@given(amount_text)
def test_readable_amounts_are_plain_decimals(text: str) -> None:
    """An amount the normaliser reads is a plain decimal (no exponent, no NaN); anything else stays as text."""
    out = normalize.normalise_amount(text)
    if out is not None and re.fullmatch(r"-?\d+(?:\.\d+)?", out, re.ASCII):
        assert Decimal(out).is_finite()


@settings(max_examples=examples(200), **FAST)
@given(st.integers(0, 10 ** 15 - 1), st.sampled_from(["元", "万元"]))
def test_amounts_in_figures_convert_exactly(n: int, unit: str) -> None:
    out = normalize.normalise_amount(f"{n:,}{unit}")
    assert Decimal(out) == (Decimal(n) / 10000 if unit == "元" else Decimal(n))


_CN = "零壹贰叁肆伍陆柒捌玖"


def _chinese(n: int) -> str:
    """n in 大写 (the way a decision writes an amount): 壹万零伍, 壹亿零贰拾万."""
    for power, mark in ((10 ** 8, "亿"), (10 ** 4, "万")):
        if n >= power:
            high, low = divmod(n, power)
            tail = "" if low == 0 else ("零" if low < power // 10 else "") + _chinese(low)
            return _chinese(high) + mark + tail
    out, zero = "", False
    for power, mark in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = n // power % 10
        if digit:
            out += ("零" if zero else "") + _CN[digit] + mark
            zero = False
        elif out:
            zero = True
    return out or "零"


@settings(max_examples=examples(300), **FAST)
@given(st.integers(0, 10 ** 16 - 1), st.integers(0, 9), st.integers(0, 9))
def test_chinese_numerals_read_exactly(n: int, jiao: int, fen: int) -> None:
    text = f"{_chinese(n)}元" + (f"{_CN[jiao]}角" if jiao else "") + (f"{_CN[fen]}分" if fen else "")
    assert normalize.chinese_yuan(text) == Decimal(n) + Decimal(jiao) / 10 + Decimal(fen) / 100, text


@settings(max_examples=examples(300), **FAST)
@given(st.one_of(date_text, st.text(max_size=30)))
def test_dates_parse_to_real_iso_dates(text: str) -> None:
    out = normalize.parse_date(text)
    assert out is None or date.fromisoformat(out).isoformat() == out


PLAUSIBLE = (date(1949, 10, 1), date(2099, 12, 31))  # core.normalize.plausible_date


@settings(max_examples=examples(300), **FAST)
@given(date_text)
@example("0001-01-01")
@example("9999-12-31")
def test_parsed_dates_are_plausible(text: str) -> None:
    out = normalize.parse_date(text)
    assert out is None or PLAUSIBLE[0] <= date.fromisoformat(out) <= PLAUSIBLE[1], out


@settings(max_examples=examples(200), **FAST)
@given(st.one_of(number_text, st.text(max_size=20)), st.sampled_from(["元", "万元"]))
def test_with_unit_returns_text(value: str, unit: str) -> None:
    out = normalize.with_unit(value, unit)
    assert isinstance(out, str)
    amount = normalize.normalise_amount(out)
    assert amount is None or isinstance(amount, str)


# --- header matching -----------------------------------------------------------------------------

UNITS = (None, "元", "万元")


@settings(max_examples=examples(400), **FAST)
@given(st.one_of(st.text(), decorated_label, words), st.sampled_from(KINDS))
def test_match_header_names_a_registry_code_or_nothing(text: str, kind: str) -> None:
    found = standard.match_header(text, SYNONYMS[kind])
    assert found is None or (found.code in CODES[kind] and found.unit in UNITS), found


@pytest.mark.parametrize("kind", KINDS)
def test_every_registry_label_matches_its_own_code(kind: str) -> None:
    labels = SYNONYMS[kind]
    wrong = {k: (c, standard.match_header(k, labels)) for k, c in labels.items()
             if (standard.match_header(k, labels) or standard.HeaderMatch("")).code != c}
    assert not wrong


@settings(max_examples=examples(300), **FAST)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), st.sampled_from(sorted(SYNONYMS[k])))),
       st.sampled_from(["", " ", "　", "*", "\t"]), st.sampled_from(["", "：", ":", " ：", "*", "(必填)", "（选填）", "*:"]),
       st.booleans())
@example(("cf", "处罚依据"), "", "*:*", False)
def test_decorated_labels_match_like_plain_ones(kind_label: tuple[str, str], before: str, after: str, wide: bool) -> None:
    """Spaces, colons, a template's required marks and full width never change what a header names."""
    kind, label = kind_label
    text = before + (_full_width(label) if wide else label) + after
    assert standard.match_header(text, SYNONYMS[kind]) == standard.match_header(label, SYNONYMS[kind])


@settings(max_examples=examples(200), **FAST)
@given(st.text())
@example("处罚依据*:*")
@example("(必填)(必填)")
def test_normalise_label_is_idempotent(text: str) -> None:
    once = standard.normalise_label(text)
    assert standard.normalise_label(once) == once


@pytest.mark.parametrize("text", ["x" + "*" * 1_000_000 + "x", "名称" + "*:" * 500_000 + "x",
                                  "名称" + "(必填)*" * 200_000 + "x", "a" + "(" * 1_000_000])
def test_a_huge_header_is_matched_in_linear_time(text: str) -> None:
    """A 1 MB header cell (a hostile page's table) is matched in one pass; quadratic matching took ~1.1 s
    for 20 000 stars, so these would take hours and hit the test timeout."""
    assert standard.match_header(text, SYNONYMS["cf"]) is None


# --- check characters: Python and the DuckDB macros agree ----------------------------------------

_SQL: list[duckdb.DuckDBPyConnection] = []


def _sql() -> duckdb.DuckDBPyConnection:
    if not _SQL:
        con = duckdb.connect()
        codes.register_macros(con)
        _SQL.append(con)
    return _SQL[0]


ALPHA = codes.USCC_ALPHABET


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    """A valid credit code (both check characters computed), then maybe one character changed."""
    head = draw(st.text(ALPHA, min_size=8, max_size=8))
    org8 = draw(st.text(ALPHA, min_size=8, max_size=8))
    body = head + org8 + codes.org_check_char(org8)
    code = body + codes.uscc_check_char(body) if all(c in ALPHA for c in body) else body + "0"
    if draw(st.booleans()):
        i = draw(st.integers(0, 17))
        code = code[:i] + draw(st.sampled_from(ALPHA + "IOSVZa*١ ")) + code[i + 1:]
    return code


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A valid ID number (real or edge birth date, check computed), then maybe one character changed."""
    region = draw(st.text("0123456789", min_size=6, max_size=6))
    born = draw(st.one_of(st.dates().map(lambda d: f"{d:%Y%m%d}" if d.year >= 1000 else f"{d.year:04d}{d:%m%d}"),
                          st.text("0123456789", min_size=8, max_size=8),
                          st.sampled_from(["00000101", "00001231", "99991231", "20000229", "19000229", "20261301"])))
    first17 = region + born + draw(st.text("0123456789", min_size=3, max_size=3))
    code = first17 + codes.ric_check_char(first17)
    if draw(st.booleans()):
        i = draw(st.integers(0, 17))
        code = code[:i] + draw(st.sampled_from("0123456789Xx١٢*")) + code[i + 1:]
    return code


random_codes = st.text(ALPHA + "Xx0123456789١*I", min_size=16, max_size=19)


@settings(max_examples=examples(150), **FAST)
@given(st.lists(st.one_of(credit_codes(), random_codes), min_size=1, max_size=40),
       st.lists(st.one_of(id_numbers(), random_codes), min_size=1, max_size=40))
@example(["00000000000000000X"], ["١١٠١٠١١٩٩٠٠١٠١٠٠٠٦"])  # Arabic-Indic digits: \d in Python, not [0-9] in SQL
@example(["91350100M000100Y43"], ["110101000001010006"])  # year 0000: no date in Python, nor in SQL
def test_python_and_sql_check_characters_agree(credit: list[str], ids: list[str]) -> None:
    got_uscc = dict(_sql().execute("SELECT c, uscc_ok(c) FROM unnest(?::VARCHAR[]) t(c)", [credit]).fetchall())
    got_ric = dict(_sql().execute("SELECT c, ric_ok(c) FROM unnest(?::VARCHAR[]) t(c)", [ids]).fetchall())
    assert {c: codes.uscc_valid(c) for c in credit} == got_uscc
    assert {c: codes.ric_valid(c) for c in ids} == got_ric


@settings(max_examples=examples(200), **FAST)
@given(st.one_of(st.none(), st.text(max_size=20), random_codes))
def test_check_functions_return_booleans(code: str | None) -> None:
    assert codes.uscc_valid(code) in (True, False)
    assert codes.ric_valid(code) in (True, False)
    assert codes.uscc_problem(code) in (None, "placeholder", "shape", "check", "org_check")


# --- pagination ----------------------------------------------------------------------------------

numbers = st.one_of(st.integers(-5, 10 ** 20).map(str), st.sampled_from(["١٢", "²", "９", "0" * 20, "9" * 5000, ""]))
pager_phrases = st.lists(st.one_of(
    words, numbers, st.builds("共 {} 条".format, numbers), st.builds("共有{}条".format, numbers),
    st.builds("共{}页".format, numbers), st.builds("第{}/{}页".format, numbers, numbers),
    st.builds("createPageHTML({}, 0, 'index', 'html')".format, numbers)), max_size=6).map(" ".join)
pager_text = st.one_of(pager_phrases, st.sampled_from(HOSTILE_WORDS), json_values.map(json.dumps),
                       st.sampled_from(['{"data": {"total": 1e400, "list": []}}', '{"data": {"total": NaN}}',
                                        '{"data": {"total": "1' + "0" * 5000 + '"}}', "[" * 100_000,
                                        '{"data": {"total": -1, "list": [{"entity": 1}, 2, {}]}}',
                                        "createPageHTML(" + "9" * 5000 + ", 0)"]))


@settings(max_examples=examples(300), **FAST)
@given(pager_text)
@example("共" + "9" * 5000 + "条")  # int() refuses more than 4300 digits
@example("createPageHTML(" + "9" * 5000 + ", 0)")
def test_stated_totals_are_ints_or_none(text: str) -> None:
    rows, pages = paging.stated_totals(text)
    assert all(v is None or (isinstance(v, int) and v >= 0) for v in (rows, pages, paging.trs_total(text)))


@settings(max_examples=examples(200), **FAST)
@given(st.integers(0, 10 ** 12 - 1), st.integers(1, 10 ** 12 - 1), words, st.sampled_from(["", " ", "　"]))
def test_stated_totals_read_what_a_pager_prints(rows: int, pages: int, noise: str, space: str) -> None:
    text = f"{noise} 共{space}{rows}{space}条 第 1/{pages} 页"  # the last mention counts
    assert paging.stated_totals(text) == (rows, pages)


@settings(max_examples=examples(300), **FAST)
@given(st.sampled_from(paging.STYLES), st.one_of(pager_text, documents), st.integers(0, 60), st.integers(1, 3),
       st.sampled_from(BASE_URLS))
@example("json", '{"data": {"total": 1e400, "list": []}}', 1, 1, BASE_URLS[0])  # int(inf): OverflowError
@example("json", "[" * 100_000, 1, 1, BASE_URLS[0])  # json.loads: RecursionError
def test_pager_next_is_a_url_or_the_end(style: str, text: str, n_items: int, number: int, url: str) -> None:
    pager = paging.Pager(Source(id="s", channel="site", kind="cf", start_url=BASE_URLS[0], paging={"style": style}))
    assert isinstance(pager.first(), str)
    nxt = pager.next(paging.Page(url, number, text, n_items))
    assert nxt is None or isinstance(nxt, str)
    assert pager.shortfall() is None or isinstance(pager.shortfall(), str)


@settings(max_examples=examples(200), **FAST)
@given(json_values, st.sampled_from(["data.list", "list", "", "data.0.x", "a..b", "0"]),
       st.sampled_from(["entity", "", "x"]))
def test_json_items_are_dicts(doc: object, path: str, key: str) -> None:
    items = paging.json_items(doc, {"list_path": path, "entity_key": key})
    assert isinstance(items, list) and all(isinstance(i, dict) for i in items)


# --- file readers, in a child process with an address-space limit ---------------------------------

CHILD_MEMORY = 3 * 2 ** 30  # bytes of address space for the reader's child: far above any honest small file
_CHILD = textwrap.dedent("""
    import os, resource, sys
    from multiprocessing.connection import Connection
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
    inp, out = Connection(os.dup(0), writable=False), Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a library's prints must not corrupt the replies
    from pathlib import Path
    from core.attachments import named_tables, read_sheets
    while True:
        try:
            name, args = inp.recv()
        except EOFError:
            break
        try:
            out.send(("ok", read_sheets(Path(*args)) if name == "read_sheets" else named_tables(*args)))
        except BaseException as exc:
            out.send(("raised", type(exc).__module__ + "." + type(exc).__qualname__, str(exc)[:500],
                      isinstance(exc, ValueError)))
""")


class Reader:
    """``core.attachments`` in a child process: its outcome per call — ("ok", tables), ("raised", type,
    message, is_value_error), ("died", exit code) after a native abort, ("hung",) after the time allowed."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(CHILD_MEMORY)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self.send = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv = Connection(os.dup(self.proc.stdout.fileno()), writable=False)

    def call(self, name: str, *args: object, timeout: float = 60) -> tuple:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.send.send((name, args))
            if not self.recv.poll(timeout):
                self.close()
                return ("hung",)
            return self.recv.recv()
        except (EOFError, OSError):
            code = self.proc.wait()
            self.close()
            return ("died", code)

    def close(self) -> None:
        if self.proc is not None:
            for conn in (self.send, self.recv):
                conn.close()
            self.proc.stdin.close()
            self.proc.stdout.close()
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def reader():
    r = Reader()
    yield r
    r.close()


CJK = re.compile(r"[\u4e00-\u9fff]")


def _assert_tables_or_value_error(outcome: tuple, what: str) -> None:
    """Tables of text, or ValueError with a Chinese message; anything else names the input."""
    if currently_in_test_context():  # statistics for hypothesis runs; the plain regression tests call this too
        event(outcome[0] if outcome[0] != "raised" else f"raised {outcome[1]}")
    if outcome[0] == "ok":
        tables = outcome[1]
        assert isinstance(tables, list)
        for name, table in tables:
            assert name is None or isinstance(name, str)
            assert all(isinstance(c, str) for row in table for c in row)
        return
    assert outcome[0] == "raised" and outcome[3], f"{what}: {outcome}"
    assert CJK.search(outcome[2]), f"{what}: a ValueError without a Chinese message: {outcome[2]}"


def _xlsx(rows: list[list[object]]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("处罚")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.add_worksheet("空")
    book.close()
    return buf.getvalue()


def _xls(rows: list[list[object]]) -> bytes:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("处罚")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _docx(rows: list[list[str]]) -> bytes:
    import docx

    doc = docx.Document()
    doc.add_paragraph("行政处罚信息")
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = str(value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


SAMPLE = [["行政相对人名称", "处罚决定书文号", "罚款金额(元)", "处罚决定日期"],
          ["长沙市某某有限公司", "长环罚〔2026〕1号", 5000, "2026-03-01"], ["某某", "长环罚〔2026〕2号", 1.5, 46000]]


def _valid_files() -> dict[str, bytes]:
    csv_text = "\n".join(",".join(str(c) for c in row) for row in SAMPLE)
    return {"xlsx": _xlsx(SAMPLE), "xls": _xls(SAMPLE), "csv": csv_text.encode("gb18030"),
            "docx": _docx([[str(c) for c in row] for row in SAMPLE])}


VALID = _valid_files()


def _last_cell_xlsx() -> bytes:
    """5.5 KB: one cell at XFD1048576, the sheet's last row and column (issue 12: a native abort unbounded,
    a pyo3 PanicException under an address-space limit — neither is a ValueError)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet().write(1048575, 16383, "x")
    book.close()
    return buf.getvalue()
ZIP_SNIPPETS = [b"", b"<", b"\x00", b'<c r="ZZZ99"><v>1</v></c>', b'<c r="A0"/>', b'<dimension ref="A1:XFD1048576"/>',
                b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b'<row r="0">', b"</sheetData>", b"<w:tbl><w:tr>",
                "<si><t>长沙</t></si>".encode(), b'<c r="B2" t="s"><v>999999</v></c>', b'<c r="A1" t="e"><v>#N/A</v></c>']


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid small file of one format, with bytes flipped, cut or inserted — in the file itself, or (for the
    zip formats) inside one of its XML parts, re-zipped so the damage reaches the XML reader."""
    fmt = draw(st.sampled_from(sorted(VALID)))
    body = VALID[fmt]
    if fmt in ("xlsx", "docx") and draw(st.booleans()):
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        name = draw(st.sampled_from(sorted(parts)))
        parts[name] = _mutate(draw, parts[name], ZIP_SNIPPETS)
        if draw(st.booleans()):
            del parts[draw(st.sampled_from(sorted(parts)))]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data)
        return fmt, out.getvalue()
    return fmt, _mutate(draw, body, [b"", b"\x00", b"\xff" * 8, b'"', b"\r\n", b",,,,"])


def _mutate(draw: st.DrawFn, data: bytes, snippets: list[bytes]) -> bytes:
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if how == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif how == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 64)):]
        elif how == "insert":
            data = data[:at] + draw(st.one_of(st.sampled_from(snippets), st.binary(max_size=8))) + data[at:]
        else:
            data = data[:at]
    return data


def test_valid_sample_files_are_read(reader) -> None:
    for fmt, body in VALID.items():
        outcome = reader.call("named_tables", body, fmt, None)
        assert outcome[0] == "ok" and any("行政相对人名称" in row for _, t in outcome[1] for row in t), (fmt, outcome)


READER = dict(deadline=None, max_examples=examples(120))  # each call crosses a process boundary; the child has a timeout


@settings(**READER)
@given(st.binary(max_size=300), st.sampled_from(["xlsx", "xls", "csv", "docx"]), content_types)
def test_named_tables_on_arbitrary_bytes(reader, body: bytes, fmt: str, content_type: str | None) -> None:
    _assert_tables_or_value_error(reader.call("named_tables", body, fmt, content_type), f"{fmt} {body!r}")


@settings(**READER)
@given(mutated_files())
@example(("xlsx", _last_cell_xlsx()))
def test_named_tables_on_damaged_files(reader, fmt_body: tuple[str, bytes]) -> None:
    fmt, body = fmt_body
    _assert_tables_or_value_error(reader.call("named_tables", body, fmt, None), f"{fmt} {body!r}")


@settings(**READER)
@given(st.one_of(mutated_files(), st.tuples(st.sampled_from(["csv", "xlsx", "xls", "xlsm", "docx", "txt"]),
                                            st.binary(max_size=300))))
@example(("csv", "名称,金额\n某某,1\n".encode("utf-8") + b"\xff"))  # neither UTF-8 nor GB18030 throughout
@example(("csv", b"a,b\rx\n1,2\n"))  # a lone CR: csv.Error "new-line character seen in unquoted field"
def test_read_sheets_on_local_files(reader, tmp_path_factory, fmt_body: tuple[str, bytes]) -> None:
    fmt, body = fmt_body
    path = tmp_path_factory.mktemp("sheets") / f"台账.{fmt}"
    path.write_bytes(body)
    _assert_tables_or_value_error(reader.call("read_sheets", str(path)), f"{fmt} {body[:200]!r}")


def test_read_sheets_on_a_csv_cell_over_the_field_limit(reader, tmp_path) -> None:
    """A local CSV whose one cell is larger than the csv module's default field limit (131 072 characters)."""
    path = tmp_path / "台账.csv"
    path.write_bytes(b'"' + b"x" * 200_000 + b'"\n')
    _assert_tables_or_value_error(reader.call("read_sheets", str(path)), "csv with a 200 000-character cell")

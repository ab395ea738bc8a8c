"""Pure parts of the crawler: normalisation, extraction and pagination, on small pages in the demo city's shapes."""
from __future__ import annotations

import json

import pytest

from crawlers import extract
from core import normalize
from crawlers.paging import Page, Pager, json_items, with_query
from core.cityconfig import Source
from core.decode import decode
from core.tables import unrecognised_columns

# --- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "2026-05-06", "2026/05/06", "2026/5/6", "2026.05.06", "2026年5月6日", "2026 年 5 月 6 日", "20260506",
    "2026-05-06 10:20:30", "2026/05/06 10:20", "2026-05-06T10:20:30+08:00", "2026年5月6日 10时20分",
    "２０２６－０５－０６", " 2026-05-06 ",
])
def test_dates_in_every_format_become_iso(raw: str) -> None:
    assert normalize.normalise_date(raw) == "2026-05-06"


@pytest.mark.parametrize("raw", ["下周", "2026-02-30", "2026-13-01", "26-5-6"])
def test_unreadable_dates_are_kept_as_text(raw: str) -> None:
    assert normalize.normalise_date(raw) == raw


@pytest.mark.parametrize(("raw", "expected"), [
    ("5000元", "0.5"), ("1.2万元", "1.2"), ("1.20万", "1.2"), ("0.5", "0.5"), ("12", "12"),
    ("１，０００元", "0.1"), ("人民币5000元", "0.5"), ("0", "0"), ("120000元", "12"),
    ("伍仟元", "0.5"), ("壹万贰仟元整", "1.2"), ("壹万元伍角", "1.00005"), ("壹万", "壹万"), ("-", None), ("无", None), ("", None),
])
def test_amounts_become_wan_yuan(raw: str, expected: str | None) -> None:
    assert normalize.normalise_amount(raw) == expected


def test_placeholders_and_full_width_text() -> None:
    assert normalize.clean_text("  长沙市　某某（有限）公司 \n") == "长沙市 某某(有限)公司"
    assert normalize.clean_prose("经查，当事人于２０２６年超标排放（第１次）。") == "经查，当事人于2026年超标排放（第1次）。"
    for empty in ("", " ", "无", "暂无", "-", "--", "—", "/", "／", "NULL"):
        assert normalize.clean_text(empty) is None, empty
    assert normalize.clean_text("无锡市某公司") == "无锡市某公司"  # only a whole-value placeholder is empty


def test_identifiers_and_wenhao() -> None:
    record = normalize.normalise_record("cf", {
        "CF_WSH": " 长环罚〔２０２６〕１５号 ", "CF_XDR_SHXYM": "９１４３ ０１００ ｍａ４ｌ", "CF_XDR_MC": "某公司",
        "CF_NR_FK": "5000元", "CF_JDRQ": "2026年5月1日", "FBRQ": "20260506", "CF_SY": "无", "CF_CFLB": "警告；罚款",
        "CF_NR": "罚款人民币５０００元，没收违法所得。",
    })
    assert record == {"CF_WSH": "长环罚〔2026〕15号", "CF_XDR_SHXYM": "91430100MA4L", "CF_XDR_MC": "某公司",
                      "CF_NR_FK": "0.5", "CF_JDRQ": "2026-05-01", "FBRQ": "2026-05-06", "CF_SY": None,
                      "CF_CFLB": "警告;罚款", "CF_NR": "罚款人民币5000元，没收违法所得。"}


def test_record_key_is_stable_and_separates_channels() -> None:
    a = normalize.record_key("site", "env", "cf", "长环罚〔2026〕15号", "某公司")
    assert a == normalize.record_key("site", "env", "cf", "长环罚〔2026〕15号", "某公司")
    assert len(a) == 40
    assert a != normalize.record_key("portal", "env", "cf", "长环罚〔2026〕15号", "某公司")


# --- extraction ----------------------------------------------------------------------------------

LIST_HTML = """<html><body><h2>行政处罚</h2>
<table class="nav"><tr><td>首页</td><td>机构</td></tr></table>
<table class="list"><thead><tr><th>序号</th><th>决定书文号</th><th>行政相对人名称</th><th>决定日期</th>
<th>发布日期</th></tr></thead><tbody>
<tr><td>1</td><td><a href="detail/A1.html">长环罚〔2026〕15号</a></td><td>长沙某化工有限公司</td>
<td>2026-05-01</td><td>2026-05-06</td></tr>
<tr><td>2</td><td>长环罚〔2026〕16号</td><td title="长沙市某某很长名字的有限公司">长沙市某某…</td><td>2026/05/02</td><td></td></tr>
</tbody></table><div>共 2 页 <a href="index_1.html">下一页</a></div></body></html>"""

DETAIL_HTML = """<html><head><meta charset="utf-8"><title>x</title></head><body>
<h1>长环罚〔2026〕15号</h1><div class="meta">发布日期：2026年5月6日 来源：长沙市生态环境局</div>
<table class="detail">
<tr><th>当事人</th><td>长沙某化工有限公司</td></tr>
<tr><th>统一社会信用代码</th><td>９１４３０１００ＭＡ４Ｌ１２３４５Ｘ</td></tr>
<tr><th>罚款金额（万元）</th><td>5000元</td></tr>
<tr><th>没收金额</th><td></td></tr>
<tr><th>浏览次数</th><td>12</td></tr>
</table>
<p>违法事实：经查：该公司超标排放<br>处罚依据：《中华人民共和国大气污染防治法》第九十九条</p>
</body></html>"""


def test_list_table_found_by_its_header() -> None:
    rows = extract.list_rows(LIST_HTML, "cf", "http://h/d/env/cf/index.html")
    assert [r.link for r in rows] == ["http://h/d/env/cf/detail/A1.html", None]
    assert rows[0].fields == {"CF_WSH": "长环罚〔2026〕15号", "CF_XDR_MC": "长沙某化工有限公司",
                              "CF_JDRQ": "2026-05-01", "FBRQ": "2026-05-06"}
    assert rows[1].fields["CF_XDR_MC"] == "长沙市某某很长名字的有限公司"  # truncated cell → its title


def test_page_without_a_known_table_yields_nothing() -> None:
    assert extract.list_rows("<table><tr><th>标题</th><th>日期</th></tr><tr><td>a</td><td>b</td></tr></table>",
                             "cf", "http://h/") == []


def test_detail_labels_map_through_synonyms() -> None:
    fields = extract.detail_fields(DETAIL_HTML, "cf")
    assert fields["CF_XDR_MC"] == "长沙某化工有限公司"  # 当事人 is a synonym
    assert fields["CF_NR_FK"] == "5000元"
    assert fields["CF_NR_WFFF"] == ""  # present but empty: normalised to NULL later
    assert fields["FBRQ"] == "2026年5月6日"  # the 来源 after it is another label, not part of the date
    assert fields["CF_SY"] == "经查：该公司超标排放"
    assert fields["CF_YJ"].startswith("《中华人民共和国大气污染防治法》")
    assert "浏览次数" not in json.dumps(fields, ensure_ascii=False)


def test_json_entity_keys_are_lower_case_codes_or_synonyms() -> None:
    fields = extract.entity_fields({"cf_wsh": "A", "cf_xdr_mc": "B", "gsrq": "2026/05/08", "cf_nr_fk": 0.5,
                                    "id": "x", "nested": {"cf_sy": "no"}}, "cf")
    assert fields == {"CF_WSH": "A", "CF_XDR_MC": "B", "FBRQ": "2026/05/08", "CF_NR_FK": "0.5"}


@pytest.mark.parametrize(("body", "content_type"), [
    ("发布日期".encode("gbk"), "text/html; charset=gb2312"),
    ('<meta charset="gbk">发布日期'.encode("gbk"), "text/html"),
    ("发布日期".encode("gb18030"), None),
    ("发布日期".encode("utf-8"), "text/html; charset=gbk"),  # wrong declaration: valid UTF-8 wins
])
def test_decoding_honours_and_checks_the_charset(body: bytes, content_type: str | None) -> None:
    assert "发布日期" in decode(body, content_type)


# --- paging --------------------------------------------------------------------------------------

def _source(style: str, url: str, **paging: object) -> Source:
    return Source(id="s", channel="site", kind="cf", start_url=url, dept="env", paging={"style": style, **paging})


def test_query_paging_stops_on_an_empty_page() -> None:
    pager = Pager(_source("query", "http://h/list?x=1"))
    assert pager.first() == "http://h/list?x=1&page=1"
    assert pager.next(Page("http://h/list?x=1&page=1", 1, "", 3)) == "http://h/list?x=1&page=2"
    assert pager.next(Page("http://h/list?x=1&page=2", 2, "", 0)) is None
    assert Pager(_source("query", "http://h/l", param="p", start=0)).first() == "http://h/l?p=0"


def test_next_link_paging_stops_when_missing_or_repeating() -> None:
    pager = Pager(_source("next_link", "http://h/d/index.html"))
    assert pager.next(Page("http://h/d/index.html", 1, LIST_HTML, 2)) == "http://h/d/index_1.html"
    looping = '<a href="index.html">下一页</a>'
    assert pager.next(Page("http://h/d/index_1.html", 2, looping, 1)) is None
    assert pager.next(Page("http://h/d/index_2.html", 3, "<a href='#'>下一页</a>", 1)) is None


def test_json_paging_reads_total_and_entities() -> None:
    pager = Pager(_source("json", "http://h/portal/api/cf", size=2))
    assert pager.first() == "http://h/portal/api/cf?page=1&pageSize=2"
    doc = {"success": True, "data": {"total": 3, "list": [{"id": 1, "entity": {"cf_wsh": "A"}}, {"cf_wsh": "B"}]}}
    assert json_items(doc, {}) == [{"cf_wsh": "A"}, {"cf_wsh": "B"}]
    assert pager.next(Page(pager.first(), 1, json.dumps(doc), 2)) == "http://h/portal/api/cf?page=2&pageSize=2"
    assert pager.next(Page("http://h/portal/api/cf?page=2&pageSize=2", 2, json.dumps(doc), 2)) is None


def test_json_page_size_defaults_to_the_start_url() -> None:
    pager = Pager(_source("json", "http://h/api/cf?page=1&pageSize=20"))
    assert pager.first() == "http://h/api/cf?page=1&pageSize=20"
    assert Pager(_source("json", "http://h/api/cf")).first() == "http://h/api/cf?page=1&pageSize=50"


def test_stated_totals_and_what_falls_short_of_them() -> None:
    from crawlers.paging import stated_totals

    assert stated_totals("<td>某公司违法共 2 条</td><div>共 123 条记录 第 1/13 页</div>") == (123, 13)
    assert stated_totals("<div>共 5 页，当前第 1 页</div>") == (None, 5) and stated_totals("<p>x</p>") == (None, None)
    pager = Pager(_source("query", "http://h/l"))
    pager.next(Page("http://h/l?page=1", 1, "<div>共 3 页</div>", 10))
    pager.next(Page("http://h/l?page=2", 2, "", 10))
    assert pager.shortfall() == "列表注明共 3 页，只读到第 2 页"  # page 3 answered 404: not the end
    assert pager.next(Page("http://h/l?page=3", 3, "", 0)) is None and pager.shortfall() is None
    assert pager.guesses and not Pager(_source("next_link", "http://h/i.html")).guesses


def test_json_paging_follows_a_capped_page_size_to_the_total() -> None:
    pager = Pager(_source("json", "http://h/api", size=50))
    doc = json.dumps({"data": {"total": 45, "list": [{}] * 20}})
    assert pager.next(Page(pager.first(), 1, doc, 20)) == "http://h/api?page=2&pageSize=20" and pager.cap == 20
    assert pager.next(Page("p2", 2, doc, 20)) == "http://h/api?page=3&pageSize=20"
    assert pager.next(Page("p3", 3, doc, 5)) is None and pager.shortfall() is None  # 45 read
    short = Pager(_source("json", "http://h/api", size=10))
    assert short.next(Page(short.first(), 1, json.dumps({"data": {"total": 30}}), 10)) is not None
    assert short.next(Page("p2", 2, "{}", 0)) is None and short.shortfall() == "列表注明共 30 条，只读到 10 条"


def test_with_query_replaces_existing_parameters() -> None:
    assert with_query("http://h/a?page=3&k=v", page=4) == "http://h/a?k=v&page=4"


# --- page shapes beyond the first release ------------------------------------------------------------

def test_trs_paging_reads_the_total_from_create_page_html() -> None:
    from crawlers.paging import trs_total, trs_url

    assert trs_url("http://h/col/index.html", 1) == "http://h/col/index.html"
    assert trs_url("http://h/col/index.shtml", 3) == "http://h/col/index_2.shtml"
    assert trs_url("http://h/col/", 2) == "http://h/col/index_1.html"
    page1 = '<div><script>createPageHTML(3, 0, "index", "html");</script></div><table></table>'
    assert trs_total(page1) == 3 and trs_total("<p>no script</p>") is None
    pager = Pager(_source("trs", "http://h/col/index.html"))
    assert pager.first() == "http://h/col/index.html"
    assert pager.next(Page("http://h/col/index.html", 1, page1, 10)) == "http://h/col/index_1.html"
    assert pager.next(Page("http://h/col/index_1.html", 2, "", 10)) == "http://h/col/index_2.html"
    assert pager.next(Page("http://h/col/index_2.html", 3, "", 10)) is None  # the stated total reached
    blind = Pager(_source("trs", "http://h/col/index.htm"))  # no script: go on while pages have rows
    assert blind.next(Page("http://h/col/index.htm", 1, "", 5)) == "http://h/col/index_1.htm"
    assert blind.next(Page("http://h/col/index_1.htm", 2, "", 0)) is None


def test_post_paging_posts_the_page_number_with_the_form() -> None:
    pager = Pager(_source("post", "http://h/search.do", param="pageNo", form={"pageSize": 10, "type": "cf"}))
    assert pager.first() == "http://h/search.do"
    assert pager.form(1) == {"pageSize": "10", "type": "cf", "pageNo": "1"}
    assert pager.form(3)["pageNo"] == "3"
    assert pager.next(Page("http://h/search.do", 1, "", 10)) == "http://h/search.do"  # same URL, next form
    assert pager.next(Page("http://h/search.do", 2, "", 0)) is None
    assert Pager(_source("query", "http://h/l")).form(1) is None


def test_title_lists_give_links_with_their_dates() -> None:
    html = """<ul><li><a href="art/1.html">关于甲公司2026年5月的处罚决定</a><span>2026-05-06</span></li>
              <li><a href="art/2.html">关于乙公司的处罚决定</a> 2026年5月7日</li>
              <li><a href="art/2.html">重复链接</a></li><li><a href="/about.html">关于我们</a></li></ul>"""
    rows = extract.link_rows(html, r"/art/\d+\.html$", "http://h/col/index.html")
    assert [(r.link, r.fields) for r in rows] == [
        ("http://h/col/art/1.html", {"FBRQ": "2026-05-06"}), ("http://h/col/art/2.html", {"FBRQ": "2026年5月7日"})]


def test_free_text_labels_with_enumeration_commas() -> None:
    html = ("<div class='article'><p>行政相对人名称：甲公司</p><p>没收违法所得、没收非法财物的金额（万元）：0.5</p>"
            "<p>处罚类别：罚款、警告</p></div>")
    fields = extract.detail_fields(html, "cf")
    assert fields["CF_XDR_MC"] == "甲公司" and fields["CF_NR_WFFF"] == "0.5" and fields["CF_CFLB"] == "罚款、警告"


def test_scripts_styles_and_comments_are_not_text() -> None:
    html = ("<html><head><style>td{color:red}</style><script>document.title='PWNED'</script></head><body>"
            "<img src=x onerror=\"alert('PWNED')\"><!-- 当事人：注释 --><table><tr><th>当事人</th>"
            "<td>甲公司<script>x='PWNED'</script></td></tr></table></body></html>")
    assert extract.detail_fields(html, "cf") == {"CF_XDR_MC": "甲公司"}


def test_pre_2018_labels_land_in_current_columns() -> None:
    html = "<table><tr><th>处罚名称</th><td>超标排放</td></tr><tr><th>处罚结果</th><td>罚款</td></tr></table>"
    assert extract.detail_fields(html, "cf") == {"CF_WFXW": "超标排放", "CF_NR": "罚款"}


def test_source_label_overrides() -> None:
    labels = extract.labels_for("cf", {"案由编号": "CF_WSH"})
    html = "<table><tr><th>案由编号</th><td>X罚〔2026〕1号</td></tr></table>"
    assert extract.detail_fields(html, "cf", labels) == {"CF_WSH": "X罚〔2026〕1号"}
    assert extract.detail_fields(html, "cf") == {}


def test_table_records_find_the_header_below_a_title() -> None:
    rows = [["2026年5月行政处罚公示", "", ""], ["行政处罚决定书文号", "行政相对人名称", "备注说明"],
            ["A罚〔2026〕1号", "甲公司", "x"], ["", "", ""]]
    assert extract.table_records(rows, "cf") == [{"CF_WSH": "A罚〔2026〕1号", "CF_XDR_MC": "甲公司"}]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv", "docx"])
def test_attachments_of_every_format_read_back(fmt: str) -> None:
    from core import attachments
    from democity.pages import _WRITERS, ATTACHMENT_TYPES

    table = [["行政处罚决定书文号", "行政相对人名称", "处罚决定日期"], ["东罚〔2026〕7号", "东城区甲餐馆", "2026-05-06"]]
    body = _WRITERS[fmt](table)
    assert attachments.file_format(f"http://h/f/x.{fmt}", None) == fmt
    assert attachments.file_format("http://h/download?id=1", ATTACHMENT_TYPES[fmt]) == fmt
    records = [r for t in attachments.tables(body, fmt, ATTACHMENT_TYPES[fmt]) for r in extract.table_records(t, "cf")]
    assert records == [{"CF_WSH": "东罚〔2026〕7号", "CF_XDR_MC": "东城区甲餐馆", "CF_JDRQ": "2026-05-06"}]


def test_damaged_attachment_is_a_clear_error() -> None:
    from core import attachments

    with pytest.raises(ValueError, match="无法读取 xlsx"):
        attachments.tables(b"not a workbook", "xlsx")


def test_forced_encoding_wins_over_a_lying_declaration() -> None:
    body = '<meta charset="utf-8"><p>發布日期</p>'.encode("big5")
    assert "發布日期" not in decode(body) and "發布日期" in decode(body, None, "big5")


def test_unknown_profile_keys_are_refused(tmp_path) -> None:
    from core.cityconfig import ConfigError, load_city

    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nid = "s"\nchannel = "portal"\nkind = "cf"\nstart_url = "http://h/"\n'
                    'pagng = { style = "query" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="pagng"):
        load_city(path)
    path.write_text('[[sources]]\nid = "s"\nchannel = "portal"\nkind = "cf"\nstart_url = "http://h/"\n'
                    'rows = { table = "x" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="rows"):
        load_city(path)


def test_every_profile_example_in_the_docs_loads(tmp_path) -> None:
    """Each ``[[sources]]`` example of docs/configuration.md is a valid source profile."""
    import re
    import tomllib

    from core.cityconfig import load_city
    from core.settings import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "configuration.md").read_text("utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2
    styles = set()
    for i, block in enumerate(blocks):
        depts = {s.get("dept") for s in tomllib.loads(block).get("sources", [])} - {None}
        extra = "".join(f'\n[[departments]]\nid = "{d}"\nname = "{d}"\ncounty = "市本级"\n' for d in depts)
        path = tmp_path / f"example{i}.toml"
        path.write_text(block if "[city]" in block else block + extra, encoding="utf-8")
        styles |= {s.paging.get("style", "none") for s in load_city(path).sources}
    assert styles >= {"query", "trs", "post", "json", "none"}


def test_a_table_in_yuan_and_its_unrecognised_columns() -> None:
    """The unit travels with the column; the columns naming nothing are reported, not guessed."""
    rows = [["2026年行政处罚"], ["序号", "当事人名称", "行政处罚决定书文号", "罚款金额(元)", "经办人"],
            ["1", "甲公司", "A罚〔2026〕1号", "11000", "张三"], ["2", "乙公司", "A罚〔2026〕2号", "1.5万元", "李四"]]
    records = extract.table_records(rows, "cf")
    assert [normalize.normalise_record("cf", r)["CF_NR_FK"] for r in records] == ["1.1", "1.5"]
    header = extract.table_header(rows, "cf")
    assert unrecognised_columns(header, extract.labels_for("cf")) == [(4, "经办人")]  # 序号 is layout
    html = ("<table><tr><th>序号</th><th>当事人</th><th>处罚决定书文号</th><th>作出决定时间</th></tr>"
            "<tr><td>1</td><td>甲公司</td><td>A罚〔2026〕1号</td><td>2026年2月14日</td></tr></table>")
    assert extract.list_header(html, "cf") == ["序号", "当事人", "处罚决定书文号", "作出决定时间"]
    assert extract.list_rows(html, "cf", "http://h/")[0].fields["CF_JDRQ"] == "2026年2月14日"

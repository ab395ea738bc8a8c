"""The demo city itself: deterministic, shaped as promised, and its ground truth true to what it serves.

The pipeline tests trust ``ground_truth.json``; these tests are why they may. Every detail page is rendered
and re-validated (each non-defect value valid by ``core.codes`` and the registry's enums, each injected
defect really on the page), and the served lists and portal API are walked to the end in both paging styles.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

from core.normalize import normalise_record
from democity import DemoServer, build, write_city
from democity.config import availability_truth, city_document, ground_truth
from democity.model import LAST_PUBLICATION, QUARTERS, DemoCity, DemoRecord
from democity.pages import UNDATED_PORTAL, Site
from democity.profiles import ALL_RULES, DEPARTMENT_RULES, FIELD_RULES, PROFILES, TRAIT_RULES
from democity.shapes import BROKEN, shape_of
from core import standard
from core.codes import USCC_PLACEHOLDER, is_masked, ric_valid, uscc_problem, uscc_valid
from core.privacy import mask_text
from core.standard import normalise_label, synonym_map
from core.workdays import default_calendar
from core.cityconfig import load_city

SEED = 2026


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build(SEED)


@pytest.fixture(scope="module")
def server(city: DemoCity):
    with DemoServer(city) as srv:
        yield srv


# --- small page readers (independent of the crawler, so they check the promised shapes) ------------

class _Cells(HTMLParser):
    """Rows of <th>/<td> text, <a href>s, and the text of div.meta."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.meta = ""
        self.lines: list[str] = []  # <p> lines of a free-text detail page (div.article)
        self._line: list[str] | None = None
        self._in_article = False
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._in_meta = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self._href, self._text = a.get("href"), ""
        elif tag == "div" and a.get("class") == "meta":
            self._in_meta = True
        elif tag == "div" and a.get("class") == "article":
            self._in_article = True
        elif tag == "p" and self._in_article:
            self._line = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, self._text))
            self._href = None
        elif tag == "p" and self._line is not None:
            self.lines.append("".join(self._line))
            self._line = None
        elif tag == "div":
            self._in_meta = self._in_article = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._text += data
        if self._in_meta:
            self.meta += data
        if self._line is not None:
            self._line.append(data)


def _parse(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    return p


def detail_values(html: str, kind: str) -> tuple[dict[str, str | None], str]:
    """(normalised fields by code, normalised FBRQ) of a detail page, labels mapped by the registry."""
    page = _parse(html)
    lookup = synonym_map(kind)
    raw = {}
    for row in [*page.rows, *(line.split("：", 1) for line in page.lines)]:  # table rows or free-text lines
        assert len(row) == 2, row
        code = lookup.get(normalise_label(row[0]))
        assert code, f"label {row[0]!r} is not in the registry"
        assert code not in raw, f"two labels for {code}"
        raw[code] = row[1]
    meta = page.meta.split("：", 1)
    assert meta[0] == "发布日期"
    fbrq = normalise_record(kind, {"FBRQ": meta[1]})["FBRQ"]
    return normalise_record(kind, raw), fbrq


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, _text(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _text(body: bytes) -> str:
    """UTF-8, or GB18030 for the GBK-shaped site (whose declarations are deliberately wrong or missing)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030")


# --- the self-check: every value valid except the injected defect, which is really there ----------

def check_record(record: DemoRecord, got: dict[str, str | None], fbrq: str) -> None:
    kind, p = record.kind, record.kind.upper()
    std, enums = standard.load(kind), standard.enums()
    present = {k: v for k, v in got.items() if v is not None}
    assert present == normalise_record(kind, record.values), record.id  # formats differ, values do not
    defect = record.field_defect
    skip = defect.field if defect else None

    for f in std.fields:
        v = present.get(f.code)
        if f.code == skip:
            continue
        if v is None:
            assert f.required == "O" or (f.required == "C" and not _condition_holds(f, present, enums)), \
                (record.id, f.code)
            continue
        if f.check == "uscc":
            assert uscc_valid(v), (record.id, f.code, v)
        if f.check == "ric":
            assert is_masked(v) and len(v) == 18, (record.id, f.code, v)
        if f.enum:
            assert enums[f.enum].is_valid(enums[f.enum].canonical(v)), (record.id, f.code, v)
    for must in ("JDRQ", "WSH", "XDR_MC", "XDR_LB"):
        assert present.get(f"{p}_{must}"), (record.id, must)
    assert present[f"{p}_JDRQ"] == record.jdrq.isoformat()
    assert present[f"{p}_WSH"] == record.wsh
    if kind == "xk" and skip != "XK_YXQZI" and "XK_YXQZ" in present and "XK_YXQZI" in present:
        assert present["XK_YXQZ"] <= present["XK_YXQZI"], record.id

    assert fbrq == record.fbrq.isoformat()
    assert (record.fbrq > default_calendar().add_workdays(record.jdrq, 7)) == record.late, record.id
    if defect:
        _assert_defect(record, present, enums)


def _condition_holds(f: standard.Field, present: dict, enums: dict) -> bool:
    cond = present.get(f.when["field"])
    enum = enums[standard.load(f.code[:2].lower()).get(f.when["field"]).enum]
    if cond is None or not enum.is_valid(enum.canonical(cond)):
        return False
    parts = {x.strip() for x in enum.canonical(cond).split(enum.separator or "\x00")}
    return bool(parts & set(f.when["any_of"]))


def _assert_defect(record: DemoRecord, present: dict, enums: dict) -> None:
    d = record.field_defect
    assert d.rule_id in ALL_RULES
    std = standard.load(record.kind)
    f = std.get(d.field)
    v = present.get(d.field)
    assert d.field not in {std.prefixed(x) for x in ("JDRQ", "XDR_MC")}
    assert d.field != std.prefixed("WSH") or d.rule_id == "wsh_format"
    if d.rule_id == "required_missing":
        assert v is None and f.required == "R"
        assert not any(g.when and g.when["field"] == d.field for g in std.fields), "drops a condition field"
    elif d.rule_id == "conditional_missing":
        assert v is None and f.required == "C" and _condition_holds(f, present, enums)
    elif d.rule_id == "credit_code_invalid":
        assert f.check == "uscc" and uscc_problem(v) == "check"
    elif d.rule_id == "credit_code_placeholder":
        assert v == USCC_PLACEHOLDER
    elif d.rule_id == "id_number_invalid":
        assert f.check == "ric" and not is_masked(v) and len(v) == 18 and not ric_valid(v)
    elif d.rule_id == "enum_invalid":
        assert f.enum and not enums[f.enum].is_valid(enums[f.enum].canonical(v))
        if f.enum == "XDR_LB":  # a company whose conditional fields are all there
            assert present.get(std.prefixed("XDR_SHXYM")) and present.get(std.prefixed("FRDB"))
    elif d.rule_id == "date_order":
        assert d.field == "XK_YXQZI" and present["XK_YXQZ"] > v
    elif d.rule_id == "date_invalid":
        assert f.type == "date" and v == "长期"
    elif d.rule_id == "fine_implausible":
        assert d.field == "CF_NR_FK" and (Decimal(v) <= 0 or Decimal(v) > 1000)
    elif d.rule_id == "wsh_format":
        assert not re.fullmatch(r".+〔\d{4}〕\d+号", v)
    elif d.rule_id == "agency_code_mismatch":
        source = present["CF_SJLYDM" if record.kind == "cf" else "XK_LYDWDM"]  # the department's own code
        assert uscc_valid(v) and v != source
    elif d.rule_id == "unmasked_personal":
        assert mask_text(v) != v and (f.check != "ric" or ric_valid(v))
    else:
        raise AssertionError(d)


# --- tests -----------------------------------------------------------------------------------------

def test_same_seed_same_city_other_seed_other_city(city: DemoCity) -> None:
    again = build(SEED)
    assert json.dumps(again.manifest(), ensure_ascii=False) == json.dumps(city.manifest(), ensure_ascii=False)
    assert [r.site for r in again.records] == [r.site for r in city.records]
    assert build(SEED + 1).manifest() != city.manifest()


def test_city_shape(city: DemoCity) -> None:
    depts = city.departments
    assert city.name == "示范市" and len(depts) >= 12
    counties = Counter(d.county for d in depts)
    assert len(set(counties) - {"市本级"}) >= 3 and counties["市本级"] >= 6
    assert {d.profile for d in depts} == set(PROFILES)
    codes = [d.credit_code for d in depts]
    assert len(set(codes)) == len(codes)
    for d in depts:
        assert d.credit_code.startswith("11") and uscc_valid(d.credit_code)
        assert d.liaison and d.liaison_phone
        for kind in d.kinds:
            assert 3 <= sum(1 for c in d.powers if c.kind == kind) <= 6
        assert set(d.catalogue) <= set(d.powers)
    assert sum(len(d.kinds) == 2 for d in depts) > len(depts) / 2

    current = [r for r in city.records if r.current]
    wsh = [r.wsh for r in city.records if not r.duplicate_of] + [r.wsh for r in city.unpublished]
    assert len(set(wsh)) == len(wsh)
    per_column = Counter((r.dept_id, r.kind, r.period) for r in (*current, *city.unpublished) if not r.duplicate_of)
    for d in depts:
        for kind in d.kinds:
            for q in QUARTERS:
                if q.label in d.quirks.get("quiet", ()):  # a quarter without decisions
                    assert per_column[(d.id, kind, q.label)] == 0
                    continue
                assert 6 <= per_column[(d.id, kind, q.label)] <= 15, (d.id, kind, q.label)
    quarters = {q.label: q for q in QUARTERS}
    for r in current:
        q = quarters[r.period]
        assert q.start <= r.jdrq <= q.end and r.jdrq <= r.fbrq <= LAST_PUBLICATION and r.gsrq <= LAST_PUBLICATION
        assert r.fbrq.year == 2026 and (r.fbrq <= r.gsrq)
    old = [r for r in city.records if not r.current]
    assert old and all(r.kind == "cf" and r.jdrq.year < 2026 and not r.on_portal for r in old)
    subjects = Counter((r.kind, r.values[f"{r.kind.upper()}_XDR_LB"]) for r in city.records
                       if not (r.field_defect and r.field_defect.field.endswith("XDR_LB")))
    assert subjects[("cf", "自然人")] and subjects[("cf", "个体工商户")] and subjects[("xk", "法人及非法人组织")]
    assert not subjects[("xk", "自然人")]


def test_manifest_lists_every_defect_and_each_rule(city: DemoCity) -> None:
    m = city.manifest()
    defects = {(d["dept_id"], d["kind"], d["wsh"], d["rule_id"]) for d in m["defects"]}
    forbidden = {(d["dept_id"], d["value"]) for d in m["defects"] if d["rule_id"] == "portal_forbidden"}
    for r in m["records"]:
        if r["period"] not in {q.label for q in QUARTERS}:
            continue  # old decisions, only judged as still online
        assert r["late"] == ((r["dept_id"], r["kind"], r["wsh"], "late_publication") in defects)
        unpushed = not r["on_portal"] and not r["portal_exempt"]  # natural persons' penalties stay off the portal
        assert unpushed == ((r["dept_id"], r["kind"], r["wsh"], "portal_missing") in defects)
        assert (r["portal_exempt"] and r["on_portal"]) == ((r["dept_id"], r["wsh"]) in forbidden)
    assert {d["rule_id"] for d in m["defects"]} == set(ALL_RULES)
    field_defects = Counter((d["dept_id"], d["kind"], d["wsh"], d["xdr_mc"]) for d in m["defects"]
                            if d["rule_id"] in FIELD_RULES and d["level"] == "record"
                            and d["rule_id"] != "unmasked_personal")  # an unmasked wrong ID is both
    assert max(field_defects.values()) == 1
    assert {d["level"] for d in m["defects"]} == {"record", "department"}
    assert all(d["value"] is None for d in m["defects"] if d["level"] == "record")
    by_dept = {d["id"]: d["profile"] for d in m["departments"]}
    clean = [d.id for d in city.departments if d.profile in ("diligent", "messy_formats") and not d.noisy]
    assert clean and not any(d["dept_id"] in clean for d in m["defects"])
    never = [d for d, p in by_dept.items() if p == "never_pushes"]
    assert all(not r["on_portal"] for r in m["records"] if r["dept_id"] in never)


def test_every_page_valid_except_its_injected_defect(city: DemoCity) -> None:
    site = Site(city)
    lookup = {kind: synonym_map(kind) for kind in standard.KINDS}
    for r in city.records:
        resp = site.respond(f"/d/{r.dept_id}/{r.kind}/detail/{r.id}.html")
        assert resp.status == 200
        html = _text(resp.body)
        for value in r.site.values():  # a value that reads as a label would be skipped by an extractor
            assert not value or normalise_label(value) not in lookup[r.kind], (r.id, value)
        got, fbrq = detail_values(html, r.kind)
        check_record(r, got, fbrq)


def test_messy_departments_print_other_forms(city: DemoCity) -> None:
    messy = [r for r in city.records if city.department(r.dept_id).profile == "messy_formats"]
    printed = " ".join(v for r in messy for v in r.site.values())
    assert re.search(r"2026年\d{1,2}月\d{1,2}日", printed) and re.search(r"\b2026\d{4}\b", printed)
    assert re.search(r"\d+元", printed) and re.search(r"[０-９]", printed)
    labels = {lab for r in messy for lab in city.department(r.dept_id).labels[r.kind].values()}
    assert {"当事人", "决定日期", "处罚种类"} <= labels


def test_crawler_extractor_reads_every_detail_page(city: DemoCity) -> None:
    """The real extractor agrees with the ground truth on every page (labels, empty cells, 发布日期)."""
    from crawlers.extract import detail_fields

    site = Site(city)
    for r in city.records:
        html = _text(site.respond(f"/d/{r.dept_id}/{r.kind}/detail/{r.id}.html").body)
        got = {k: v for k, v in normalise_record(r.kind, detail_fields(html, r.kind)).items() if v is not None}
        assert got.pop("FBRQ") == r.fbrq.isoformat()
        assert got == normalise_record(r.kind, r.values), r.id


def test_served_pages_carry_the_defects(city: DemoCity, server: DemoServer) -> None:
    one_per_rule: dict[str, DemoRecord] = {}
    for r in city.records:
        for d in r.defects():
            one_per_rule.setdefault(d.rule_id, r)
    assert set(one_per_rule) == {*FIELD_RULES, *TRAIT_RULES, "late_publication", "portal_missing"}
    for rule, r in one_per_rule.items():
        status, html = _get(f"{server.base_url}/d/{r.dept_id}/{r.kind}/detail/{r.id}.html")
        assert status == 200 and ('<meta charset="utf-8">' in html) == (shape_of(city.department(r.dept_id)).encoding == "utf-8")
        got, fbrq = detail_values(html, r.kind)
        check_record(r, got, fbrq)
        if rule == "late_publication":
            assert date.fromisoformat(fbrq) > default_calendar().add_workdays(r.jdrq, 7)


def _walk_site_source(src: dict) -> tuple[list[str], int]:
    """Every detail URL a source's list pages link to, following its paging style; and the pages read."""
    urls, pages, url, n = [], 0, src["start_url"], 1
    if src["paging"]["style"] == "query":
        url = f"{src['start_url']}?page=1"
    while url:
        status, html = _get(url)
        assert status == 200, url
        pages += 1
        page = _parse(html)
        total = int(re.search(r"共 (\d+) 页", html)[1])
        details = [urljoin(url, h) for h, _ in page.links if h.startswith("detail/")]
        assert len(details) <= 10
        urls += details
        if src["paging"]["style"] == "query":
            if not details:
                assert n == total + 1
                break
            n += 1
            url = f"{src['start_url']}?page={n}"
        else:
            nxt = [h for h, text in page.links if text == "下一页"]
            url = urljoin(url, nxt[0]) if nxt else None
            if not nxt:
                assert pages == total
    return urls, pages


def test_list_paging_reaches_every_record(city: DemoCity, server: DemoServer) -> None:
    doc = city_document(city, server.base_url)
    styles = Counter()
    for src in doc["sources"]:
        if src["channel"] != "site" or src["paging"]["style"] not in ("query", "next_link") or "rows" in src:
            continue  # the other shapes are walked by the crawler in test_crawl_shapes.py
        styles[src["paging"]["style"]] += 1
        urls, _ = _walk_site_source(src)
        want = {f"{server.base_url}/d/{r.dept_id}/{r.kind}/detail/{r.id}.html"
                for r in city.records if r.dept_id == src["dept"] and r.kind == src["kind"]}
        assert len(urls) == len(want) and set(urls) == want, src["id"]
    assert styles["query"] >= 4 and styles["next_link"] >= 4
    q = next(d for d in city.departments if d.paging == "query")
    status, html = _get(f"{server.base_url}/d/{q.id}/{q.kinds[0]}/list?page=999")
    assert status == 200 and "<tbody></tbody>" in html
    for path in ("/nope", f"/d/{q.id}/{q.kinds[0]}/index.html", f"/d/{q.id}/{q.kinds[0]}/detail/zz.html",
                 "/portal/api/zz", "/d/nobody/"):
        assert _get(server.base_url + path)[0] == 404, path
    for path in ("/", "/portal/", f"/d/{q.id}/", f"/d/{q.id}/sgs/"):
        assert _get(server.base_url + path)[0] == 200, path


def test_portal_api_pages_and_totals(city: DemoCity, server: DemoServer) -> None:
    depts = {d.id: d for d in city.departments}
    for kind in standard.KINDS:
        pushed = {r.id: r for r in city.records if r.kind == kind and r.on_portal}
        seen, page = [], 1
        while True:
            status, text = _get(f"{server.base_url}/portal/api/{kind}?page={page}&pageSize=50")
            doc = json.loads(text)
            assert status == 200 and doc["success"] and doc["data"]["total"] == len(pushed)
            items = doc["data"]["list"]
            if not items:
                break
            for item in items:
                r = pushed[item["id"]]
                e = item["entity"]
                assert set(standard.load(kind).codes) == {k.upper() for k in e} - {"GSRQ"}
                assert e[f"{kind}_wsh"] == r.wsh
                assert e["xk_xkjgdm" if kind == "xk" else "cf_cfjgdm"] == depts[r.dept_id].credit_code
                assert re.fullmatch(r"2026/\d\d/\d\d", e[f"{kind}_jdrq"])
                # the licence portal states no 公示日期 (pages.UNDATED_PORTAL); the penalty portal does
                assert e.get("gsrq") == (None if kind in UNDATED_PORTAL else f"{r.gsrq:%Y/%m/%d}")
            seen += [i["id"] for i in items]
            page += 1
        assert sorted(seen) == sorted(pushed) and page - 1 == -(-len(pushed) // 50)


def test_server_refuses_other_hosts(city: DemoCity) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError):
            DemoServer(city, host=host)


def test_city_toml_loads(city: DemoCity, server: DemoServer, tmp_path) -> None:
    path = write_city(city, server.base_url, tmp_path)
    loaded = load_city(path)
    assert loaded.name == "示范市" and len(loaded.departments) == len(city.departments)
    assert {s.channel for s in loaded.sources} == {"site", "portal"}
    broken = [b for b in BROKEN if b.how not in ("dead", "bad")]  # extra sources pointing at the broken columns
    assert len(loaded.sources) == sum(len(d.kinds) for d in city.departments) + 2 + len(broken)
    assert all(s.concurrency == 4 for s in loaded.sources)
    assert loaded.hosts() == {server.base_url.removeprefix("http://")}
    truth = json.loads((tmp_path / "ground_truth.json").read_text("utf-8"))
    assert truth == ground_truth(city, server.base_url)
    assert truth["availability"] == availability_truth(server.base_url)
    assert len(truth["defects"]) == len(city.manifest()["defects"]) + len(BROKEN) * len(QUARTERS)
    d0 = loaded.departments[0]
    assert d0.catalogue and _get(d0.column_url)[0] == 200 and _get(d0.website)[0] == 200


def test_portal_shows_the_unpushed_change_and_the_forbidden_penalties(city: DemoCity) -> None:
    site = Site(city)
    changed = [r for r in city.records if r.portal_overrides]
    assert changed and all(r.on_portal for r in changed)
    for kind in standard.KINDS:
        doc = json.loads(site.respond(f"/portal/api/{kind}", "page=1&pageSize=100000").body)
        total = doc["data"]["total"]
        entities = {}
        for page in range(1, total // 100 + 2):
            for item in json.loads(site.respond(f"/portal/api/{kind}", f"page={page}&pageSize=100").body)["data"]["list"]:
                entities[item["id"]] = item["entity"]
        for r in changed:
            if r.kind == kind:
                for code, old in r.portal_overrides.items():
                    assert entities[r.id][code.lower()].replace("/", "-") == old != r.values[code]
        forbidden = [r for r in city.records if r.kind == kind and r.on_portal and r.portal_exempt]
        assert all(r.id in entities for r in forbidden)
        assert (kind == "cf") == bool(forbidden)


def test_ledgers_list_every_decision(city: DemoCity, tmp_path) -> None:
    from democity.ledgers import ledger_rows, write_ledgers
    from metrics.ledger import parse

    paths = write_ledgers(city, tmp_path)
    assert {p.suffix for p in paths} == {".csv", ".xlsx"} and len(paths) == len(city.ledgers)
    for path, (dept_id, kind) in zip(paths, city.ledgers):
        rows = parse(path, kind)
        assert [r["wsh"] for r in rows] == [x.wsh for x in ledger_rows(city, dept_id, kind)]
        decided = {r.wsh for r in (*city.records, *city.unpublished) if r.dept_id == dept_id and r.kind == kind
                   and r.current}
        assert {r["wsh"] for r in rows} == decided
    unpublished = {r.wsh for r in city.unpublished}
    assert unpublished and not unpublished & {r.wsh for r in city.records}
    assert any(x.status == "撤销" for d, k in city.ledgers for x in ledger_rows(city, d, k))
    assert {d.rule_id for d in city.department_defects} == set(DEPARTMENT_RULES)


def test_ground_truth_shares_no_code_with_the_rules() -> None:
    """The oracle states its expectations from the city and the written policy: no module of the demo city
    imports the rules (``metrics.checks``) or the rules' working-day counter (``core.workdays``), so a
    mistake there cannot reappear in the ground truth and pass unnoticed. (``metrics.ledger`` only loads the
    demo's ledgers into the database, as a deployment would.)"""
    import ast
    from pathlib import Path

    import democity

    forbidden = ("metrics.checks", "core.workdays")
    found = []
    for path in sorted(Path(democity.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            found += [f"{path.name}:{node.lineno} {name}" for name in names
                      if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert not found, found

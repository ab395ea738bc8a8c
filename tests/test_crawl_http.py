"""The crawler against real HTTP servers on 127.0.0.1: fetching, archiving and whole crawl runs.

The fixture site serves pages in the demo city's shapes: a department column paged by ``?page=N``, another
paged by 下一页 links (``index.html``, ``index_1.html``), detail pages with label/value tables (one of them
GBK-encoded), and a credit-portal JSON API.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawlers import run_crawl
from crawlers.archive import Archive, read_record
from crawlers.fetch import Fetcher, ascii_header
from crawlers.fetch_process import FetchProcess
from core import store
from core.cityconfig import City, Department, Source
from core.settings import USER_AGENT, Paths

Response = tuple[int, str, bytes]

ENV_CODE = "11430100MB1234567X"


# --- the fixture site ----------------------------------------------------------------------------

class Site:
    """Routes (path + sorted query) → responses; counts hits; can fail a route a few times first."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Callable[[dict], Response]] = {}
        self.hits: Counter[str] = Counter()
        self.fail_first: dict[str, int] = {}
        self.user_agents: list[str] = []
        self.base = ""

    @staticmethod
    def key(path_and_query: str) -> str:
        parts = urlsplit(path_and_query)
        query = urlencode(sorted(parse_qsl(parts.query)))
        return parts.path + (f"?{query}" if query else "")

    def html(self, path: str, body: str, *, encoding: str = "utf-8", status: int = 200) -> None:
        self.routes[self.key(path)] = (status, f"text/html; charset={encoding}", body.encode(encoding))

    def json(self, path: str, doc: object) -> None:
        self.routes[self.key(path)] = (200, "application/json", json.dumps(doc, ensure_ascii=False).encode())

    def respond(self, path_and_query: str, headers: dict) -> Response:
        key = self.key(path_and_query)
        self.hits[key] += 1
        self.user_agents.append(headers.get("User-Agent", ""))
        if self.hits[key] <= self.fail_first.get(key, 0):
            return 500, "text/plain", b"temporarily broken"
        route = self.routes.get(key) or self.routes.get(urlsplit(key).path)
        if route is None:
            return 404, "text/html; charset=utf-8", "<h1>页面不存在</h1>".encode()
        return route(dict(parse_qsl(urlsplit(key).query))) if callable(route) else route


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.startswith("/redirect-"):
                self.send_response(302)
                self.send_header("Location", "http://elsewhere.invalid/x" if self.path == "/redirect-out"
                                 else self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, content_type, body = site.respond(self.path, dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if form:  # routed like a GET with the form as its query (a route of the bare path still answers)
                self.path += ("&" if "?" in self.path else "?") + form
            self.do_GET()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "sgs.duckdb")


# --- page builders in the demo city's shapes -----------------------------------------------------

def list_page(rows: list[tuple[str | None, str, str, str, str]], next_href: str | None = None,
              pager: str = "共 2 页") -> str:
    """rows: (detail href or None, 文号, 相对人, 决定日期, 发布日期); ``pager``: what the pager states."""
    def cell(href: str | None, wsh: str) -> str:
        return f'<a href="{href}">{wsh}</a>' if href else wsh

    body = "".join(f"<tr><td>{i}</td><td>{cell(href, wsh)}</td><td>{name}</td><td>{jdrq}</td><td>{fbrq}</td></tr>"
                   for i, (href, wsh, name, jdrq, fbrq) in enumerate(rows, 1))
    more = f'<a href="{next_href}">下一页</a>' if next_href else ""
    return (f"<html><body><table class='list'><thead><tr><th>序号</th><th>决定书文号</th><th>行政相对人名称</th>"
            f"<th>决定日期</th><th>发布日期</th></tr></thead><tbody>{body}</tbody></table>"
            f"<div class='pager'>{pager} {more}</div></body></html>")


def detail_page(fields: dict[str, str], fbrq: str | None = None, charset: str = "utf-8") -> str:
    meta = f"<div class='meta'>发布日期：{fbrq}</div>" if fbrq else ""
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in fields.items())
    return (f"<html><head><meta charset='{charset}'></head><body><h1>公示</h1>{meta}"
            f"<table class='detail'>{rows}</table></body></html>")


def build_site(site: Site) -> None:
    """Two department columns (query and next_link paging) and a portal API, three records each."""
    env = "/d/env/cf"
    site.html(f"{env}/list?page=1", list_page([
        ("detail/A1.html", "长环罚〔2026〕15号", "长沙甲化工有限公司", "2026-05-01", "2026-05-06"),
        ("detail/A2.html", "长环罚〔2026〕16号", "长沙乙公司", "2026-05-02", "2026-05-07")]))
    site.html(f"{env}/list?page=2", list_page([
        ("detail/A3.html", "长环罚〔2026〕17号", "长沙丙公司", "2026-05-03", "2026-05-08"),
        (None, "长环罚〔2026〕18号", "张某", "2026年5月4日", "2026/05/09")]))
    site.html(f"{env}/list?page=3", list_page([]))
    site.html(f"{env}/detail/A1.html", detail_page({
        "行政处罚决定书文号": "长环罚〔２０２６〕１５号", "当事人": "长沙甲化工有限公司",
        "统一社会信用代码": "９１４３０１００ＭＡ４Ｌ１２３４５Ｘ", "罚款金额（万元）": "5000元",
        "决定日期": "2026年5月1日", "处罚有效期": "2027/05/01"}, fbrq="2026/05/06"))
    site.html(f"{env}/detail/A2.html", detail_page({
        "行政相对人名称": "长沙乙公司", "罚款金额（万元）": "", "决定日期": "20260502"}, fbrq="2026.05.07"))
    site.html(f"{env}/detail/A3.html", detail_page({
        "行政相对人名称": "长沙丙公司", "处罚决定日期": "下周"}, charset="gbk"), encoding="gbk")

    mkt = "/d/mkt/xk"
    site.html(f"{mkt}/index.html", list_page([
        ("detail/B1.html", "长市监许〔2026〕1号", "丁餐饮店", "2026-04-01", "2026-04-03"),
        ("detail/B2.html", "长市监许〔2026〕2号", "戊超市", "2026-04-02", "2026-04-04")], next_href="index_1.html"))
    site.html(f"{mkt}/index_1.html", list_page([
        ("detail/B3.html", "长市监许〔2026〕3号", "己药店", "2026-04-05", "2026-04-06")]))
    for i, name in enumerate(("丁餐饮店", "戊超市", "己药店"), 1):
        site.html(f"{mkt}/detail/B{i}.html", detail_page({"申请人": name, "许可类别": "普通"},
                                                         fbrq=f"2026-04-0{i + 2}"))

    entities = [
        {"cf_wsh": "长环罚〔2026〕15号", "cf_xdr_mc": "长沙甲化工有限公司", "cf_jdrq": "2026/05/01",
         "gsrq": "2026/05/08", "cf_cfjgdm": ENV_CODE, "cf_cfjg": "长沙市生态环境局"},
        {"cf_wsh": "长市监罚〔2026〕9号", "cf_xdr_mc": "庚公司", "cf_jdrq": "2026/05/02", "gsrq": "2026/05/09",
         "cf_cfjg": "长沙市市场监督管理局", "cf_nr_fk": "1.5"},
        {"cf_wsh": "外罚〔2026〕1号", "cf_xdr_mc": "辛公司", "cf_jdrq": "2026/05/03", "gsrq": "2026/05/10",
         "cf_cfjg": "外地某局"},
    ]
    for page, chunk in ((1, entities[:2]), (2, entities[2:])):
        site.json(f"/portal/api/cf?page={page}&pageSize=2", {"success": True, "data": {
            "total": len(entities), "page": page, "pageSize": 2,
            "list": [{"id": f"p{page}{i}", "entity": e} for i, e in enumerate(chunk)]}})


def demo_city(site: Site, *extra: Source) -> City:
    departments = (
        Department(id="env", name="长沙市生态环境局", county="市本级", credit_code=ENV_CODE),
        Department(id="mkt", name="长沙市市场监督管理局", county="市本级"),
    )
    sources = (
        Source(id="env-cf", channel="site", kind="cf", dept="env", start_url=f"{site.base}/d/env/cf/list",
               paging={"style": "query"}),
        Source(id="mkt-xk", channel="site", kind="xk", dept="mkt", start_url=f"{site.base}/d/mkt/xk/index.html",
               paging={"style": "next_link"}),
        Source(id="portal-cf", channel="portal", kind="cf", start_url=f"{site.base}/portal/api/cf",
               paging={"style": "json", "size": 2}),
        *extra,
    )
    return City("测试市", departments, sources)


def crawl(city: City, paths: Paths):
    return run_crawl(city, paths, quiet=True, backoff=0.01, retries=1, timeout=5.0)


def records(paths: Paths, kind: str, channel: str = "site") -> dict[str, dict]:
    """Records of one channel in the working database, by 文书号."""
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {kind}_records WHERE channel = ?", [channel])
        cols = [d[0] for d in cur.description]
        return {row[cols.index(f"{kind.upper()}_WSH")]: dict(zip(cols, row)) for row in cur.fetchall()}
    finally:
        con.close()


# --- fetcher -------------------------------------------------------------------------------------

def fetch(site: Site, path: str, **options: object):
    async def go():
        async with Fetcher({urlsplit(site.base).netloc}, backoff=0.01, **options) as fetcher:
            return await fetcher.fetch(path if path.startswith("http") else site.base + path)
    return asyncio.run(go())


def test_5xx_is_retried_and_recovers(site: Site) -> None:
    site.html("/flaky", "<p>ok</p>")
    site.fail_first["/flaky"] = 2
    result = fetch(site, "/flaky", retries=3)
    assert result.ok and result.body == b"<p>ok</p>"
    assert result.attempts == 3 and site.hits["/flaky"] == 3
    assert set(site.user_agents) == {ascii_header(USER_AGENT)}


def test_5xx_gives_up_after_the_retries(site: Site) -> None:
    site.fail_first["/down"] = 99
    result = fetch(site, "/down", retries=2)
    assert result.status == 500 and not result.ok and site.hits["/down"] == 3


def test_404_is_not_retried(site: Site) -> None:
    result = fetch(site, "/missing", retries=3)
    assert result.status == 404 and site.hits["/missing"] == 1
    assert "/missing" in result.error and "404" in result.error


def test_hosts_outside_the_configuration_are_refused(site: Site) -> None:
    other = site.base.replace("127.0.0.1", "localhost")
    result = fetch(site, other + "/page")
    assert result.status is None and "拒绝" in result.error and sum(site.hits.values()) == 0
    redirected = fetch(site, "/redirect-out")
    assert redirected.status is None and "elsewhere.invalid" in redirected.error


def test_redirect_loops_end(site: Site) -> None:
    result = fetch(site, "/redirect-loop", max_redirects=3)
    assert result.status is None and "重定向超过 3 次" in result.error


def test_per_host_concurrency_and_delay(site: Site) -> None:
    lock, state = threading.Lock(), {"now": 0, "max": 0, "starts": []}

    def slow(_query: dict) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            state["starts"].append(time.monotonic())
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return 200, "text/plain", b"ok"

    site.routes["/slow"] = slow
    host = urlsplit(site.base).netloc

    async def go(concurrency: int, delay: float) -> float:
        async with Fetcher({host}) as fetcher:
            fetcher.configure_host(host, concurrency=concurrency, delay=delay)
            started = time.monotonic()
            results = await asyncio.gather(*(fetcher.fetch(f"{site.base}/slow?i={i}") for i in range(4)))
            assert all(r.ok for r in results)
            return time.monotonic() - started

    asyncio.run(go(2, 0.0))
    assert state["max"] == 2
    state["starts"].clear()
    assert asyncio.run(go(4, 0.1)) >= 0.3  # four starts at least 0.1 s apart
    starts = sorted(state["starts"])
    # the server sees the requests spaced out (with slack for loopback jitter), not in one burst
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.05


def test_oversized_bodies_are_dropped(site: Site) -> None:
    site.html("/big", "x" * 5000)
    result = fetch(site, "/big", max_bytes=1000)
    assert result.status is None and "上限" in result.error and site.hits["/big"] == 1


def test_unreachable_host_reports_the_url(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/list"

    async def go():
        async with Fetcher({f"127.0.0.1:{closed_port}"}, retries=1, backoff=0.01) as fetcher:
            return await fetcher.fetch(url)
    result = asyncio.run(go())
    assert result.status is None and url in result.error and result.attempts == 2


# --- archive -------------------------------------------------------------------------------------

def test_warc_records_read_back_at_their_offsets(site: Site, paths: Paths) -> None:
    site.html("/a", "<p>第一页</p>")
    site.html("/b", "<p>第二页</p>" * 50, encoding="gbk")
    results = [fetch(site, "/a"), fetch(site, "/b"), fetch(site, "/missing")]
    with Archive(paths, "t1") as archive:
        rows = [archive.write(r, source_id="s") for r in results]
    assert rows[0]["warc_offset"] > 0  # after the warcinfo and the first request record
    assert rows[1]["warc_offset"] > rows[0]["warc_offset"] + rows[0]["warc_length"]  # a request record between
    for row, result in zip(rows, results):
        headers, body = read_record(paths, row["warc_file"], row["warc_offset"])
        assert body == result.body
        assert hashlib.sha256(body).hexdigest() == row["sha256"]
        assert headers.get_statuscode() == str(result.status)
        assert row["fetch_id"].startswith("urn:uuid:") and row["warc_file"] == "t1.warc.gz"
    assert rows[2]["status"] == 404 and "404" in rows[2]["error"]
    with (paths.archive / "t1.warc.gz").open("rb") as fh:  # the index agrees with warcio's own offsets
        it = ArchiveIterator(fh)
        offsets = [(rec.rec_type, it.get_record_offset()) for rec in it]
    assert [o for t, o in offsets if t == "response"] == [r["warc_offset"] for r in rows]
    assert [t for t, _ in offsets] == ["warcinfo"] + ["request", "response"] * 3


def test_failed_fetch_gets_an_index_row_without_a_record(paths: Paths, closed_port: int) -> None:
    async def go():
        async with Fetcher({f"127.0.0.1:{closed_port}"}, retries=0) as fetcher:
            return await fetcher.fetch(f"http://127.0.0.1:{closed_port}/x")
    with Archive(paths, "t2") as archive:
        row = archive.write(asyncio.run(go()))
    assert row["status"] is None and row["warc_file"] is None and row["error"]
    assert row["fetch_id"].startswith("urn:uuid:")


# --- whole crawls --------------------------------------------------------------------------------

def test_crawl_reads_both_paging_styles_and_the_portal(site: Site, paths: Paths) -> None:
    build_site(site)
    summary = crawl(demo_city(site), paths)
    assert summary.status == "done" and summary.errors == [] and summary.failed_sources == []
    assert summary.pages == 3 + 2 + 2  # query pages 1–3 (3 is empty), two next_link pages, two API pages
    assert {s: st.records for s, st in summary.sources.items()} == {"env-cf": 4, "mkt-xk": 3, "portal-cf": 3}

    site_cf = records(paths, "cf", channel="site")
    a1 = site_cf["长环罚〔2026〕15号"]
    assert a1["CF_WSH"] == "长环罚〔2026〕15号"  # full-width digits normalised, 〔〕 kept
    assert a1["CF_XDR_SHXYM"] == "91430100MA4L12345X"
    assert (a1["CF_NR_FK"], a1["CF_JDRQ"], a1["CF_YXQ"], a1["FBRQ"]) == ("0.5", "2026-05-01", "2027-05-01",
                                                                          "2026-05-06")
    assert a1["url"] == f"{site.base}/d/env/cf/detail/A1.html" and a1["dept_id"] == "env"
    assert a1["std_version"] == "2019" and a1["source_id"] == "env-cf"
    a2 = site_cf["长环罚〔2026〕16号"]
    assert a2["CF_NR_FK"] is None and a2["CF_JDRQ"] == "2026-05-02" and a2["FBRQ"] == "2026-05-07"
    a3 = site_cf["长环罚〔2026〕17号"]  # GBK page; unreadable date kept; FBRQ from the list
    assert a3["CF_JDRQ"] == "下周" and a3["CF_XDR_MC"] == "长沙丙公司" and a3["FBRQ"] == "2026-05-08"
    a4 = site_cf["长环罚〔2026〕18号"]  # no link: the list row is the record, the list page the evidence
    assert a4["url"] == f"{site.base}/d/env/cf/list?page=2" and a4["CF_JDRQ"] == "2026-05-04"

    xk = records(paths, "xk")
    assert set(xk) == {"长市监许〔2026〕1号", "长市监许〔2026〕2号", "长市监许〔2026〕3号"}
    assert xk["长市监许〔2026〕3号"]["XK_XKLB"] == "普通" and xk["长市监许〔2026〕3号"]["FBRQ"] == "2026-04-05"

    con = duckdb.connect(str(paths.db), read_only=True)
    portal = {r[0]: r[1:] for r in con.execute(
        "SELECT CF_WSH, dept_id, url, FBRQ, CF_NR_FK FROM cf_records WHERE channel = 'portal'").fetchall()}
    con.close()
    assert portal["长环罚〔2026〕15号"][0] == "env"  # by agency credit code
    assert portal["长市监罚〔2026〕9号"][0] == "mkt"  # by agency name
    assert portal["外罚〔2026〕1号"][0] is None
    assert portal["外罚〔2026〕1号"][1].endswith("/portal/api/cf?page=2&pageSize=2")
    assert portal["长环罚〔2026〕15号"][2] == "2026-05-08" and portal["长市监罚〔2026〕9号"][3] == "1.5"


def test_evidence_points_at_the_archived_detail_page(site: Site, paths: Paths) -> None:
    build_site(site)
    crawl(demo_city(site), paths)
    con = duckdb.connect(str(paths.db), read_only=True)
    rows = con.execute("""SELECT r.url, f.url, f.warc_file, f.warc_offset, f.sha256, f.status
                          FROM cf_records r JOIN fetches f USING (fetch_id) WHERE r.channel = 'site'""").fetchall()
    n_fetches = con.execute("SELECT count(*) FROM fetches").fetchone()[0]
    con.close()
    assert len(rows) == 4 and n_fetches == 3 + 3 + 2 + 3 + 2  # env pages+details, mkt pages+details, API
    for record_url, fetch_url, warc_file, offset, sha, status in rows:
        assert record_url == fetch_url and status == 200
        _, body = read_record(paths, warc_file, offset)
        assert hashlib.sha256(body).hexdigest() == sha
        assert "长沙" in body.decode("utf-8", "replace") or "长沙".encode("gbk") in body


def test_dead_source_is_reported_and_the_others_still_crawled(site: Site, paths: Paths, closed_port: int) -> None:
    build_site(site)
    dead_url = f"http://127.0.0.1:{closed_port}/d/env/xk/list"
    dead = Source(id="dead", channel="site", kind="xk", dept="env", start_url=dead_url, paging={"style": "none"})
    summary = crawl(demo_city(site, dead), paths)
    assert summary.failed_sources == ["dead"] and summary.status == "done"
    assert [url for url, _ in summary.errors] == [dead_url]
    assert dead_url in summary.errors[0][1] and "无法连接" in summary.errors[0][1]
    assert summary.sources["env-cf"].records == 4 and summary.sources["portal-cf"].records == 3
    con = duckdb.connect(str(paths.db), read_only=True)
    assert con.execute("SELECT status, error IS NOT NULL FROM fetches WHERE url = ?", [dead_url]).fetchone() == (
        None, True)
    assert con.execute("SELECT status, errors FROM crawls").fetchone() == ("done", 1)
    con.close()


def test_broken_detail_page_keeps_the_list_row(site: Site, paths: Paths) -> None:
    build_site(site)
    del site.routes["/d/env/cf/detail/A2.html"]
    summary = crawl(demo_city(site), paths)
    assert summary.sources["env-cf"].status == "partial" and summary.failed_sources == []
    assert summary.errors[0][0] == f"{site.base}/d/env/cf/detail/A2.html" and "404" in summary.errors[0][1]
    a2 = records(paths, "cf")["长环罚〔2026〕16号"]
    assert a2["url"] == f"{site.base}/d/env/cf/list?page=1" and a2["CF_JDRQ"] == "2026-05-02"


def test_unreadable_portal_page_is_archived_with_its_error(site: Site, paths: Paths) -> None:
    build_site(site)
    site.routes[site.key("/portal/api/cf?page=1&pageSize=2")] = (200, "application/json", b'{"success": true, "da')
    summary = crawl(demo_city(site), paths)
    assert summary.failed_sources == ["portal-cf"] and "JSON" in summary.errors[0][1]
    con = duckdb.connect(str(paths.db), read_only=True)
    row = con.execute("SELECT status, warc_file IS NOT NULL, error FROM fetches WHERE url LIKE '%/portal/%'").fetchone()
    con.close()
    assert row[:2] == (200, True) and "JSON" in row[2]


def test_runaway_paging_stops_at_max_pages(site: Site, paths: Paths) -> None:
    site.routes["/loop/list"] = lambda q: (200, "text/html; charset=utf-8", list_page(
        [(None, f"循环罚〔2026〕{q.get('page')}号", "某公司", "2026-05-01", "2026-05-02")]).encode())
    city = City("测试市", (Department(id="env", name="长沙市生态环境局", county="市本级"),), (
        Source(id="loop", channel="site", kind="cf", dept="env", start_url=f"{site.base}/loop/list",
               paging={"style": "query"}, max_pages=3),))
    summary = crawl(city, paths)
    assert summary.pages == 3 and site.hits["/loop/list?page=4"] == 0
    assert len(summary.errors) == 1 and "上限 3 页" in summary.errors[0][1]
    assert summary.sources["loop"].status == "partial"


def test_rerun_keeps_first_seen_and_moves_last_seen(site: Site, paths: Paths) -> None:
    build_site(site)
    crawl(demo_city(site), paths)
    before = records(paths, "xk")
    crawl(demo_city(site), paths)
    after = records(paths, "xk")
    assert set(before) == set(after)
    for wsh, rec in after.items():
        assert rec["first_seen"] == before[wsh]["first_seen"]
        assert rec["last_seen"] > before[wsh]["last_seen"]
    con = duckdb.connect(str(paths.db), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT crawl_id) FROM crawls WHERE status = 'done'").fetchone() == (
        2, 2)
    con.close()


def test_every_archived_record_passes_warcio_digest_checks(site: Site, paths: Paths) -> None:
    """Records are built by hand (not by warcio's writer): warcio must read every one, digests included —
    requests, responses, a POST's form, and the revisits of an unchanged second crawl."""
    build_site(site)
    crawl(demo_city(site), paths)
    assert crawl(demo_city(site), paths).unchanged > 0
    types = Counter()
    for part in paths.archive.glob("*.warc.gz"):
        with part.open("rb") as fh:
            for rec in ArchiveIterator(fh, check_digests="raise"):
                rec.content_stream().read()  # the digests are checked as the record is read to its end
                types[rec.rec_type] += 1
    assert types["warcinfo"] == 2 and types["request"] == types["response"] > 0  # a revisit has no request
    assert types["revisit"] > 0


def test_crawl_leaves_no_fetch_process_behind(site: Site, paths: Paths) -> None:
    build_site(site)
    crawl(demo_city(site), paths)
    assert multiprocessing.active_children() == []


def test_fetch_process_answers_as_the_fetcher_does(site: Site) -> None:
    site.html("/a", "<p>第一页</p>", encoding="gbk")
    host = urlsplit(site.base).netloc

    async def go():
        fetcher = FetchProcess({host}, [(host, 1, 0.0, False)], retries=0)
        try:
            await fetcher.open()
            results = await asyncio.gather(fetcher.fetch(site.base + "/a"), fetcher.fetch(site.base + "/missing"),
                                           fetcher.fetch("http://elsewhere.invalid/x"),
                                           fetcher.fetch(site.base + "/a", form={"page": "2"}))
            await fetcher.aclose()
        finally:
            fetcher.close()
        return results, fetcher
    (page, missing, elsewhere, posted), fetcher = asyncio.run(go())
    direct = fetch(site, "/a")
    assert (page.status, page.body, page.content_type) == (direct.status, direct.body, direct.content_type)
    assert missing.status == 404 and "404" in missing.error
    assert elsewhere.status is None and "拒绝抓取" in elsewhere.error
    assert posted.method == "POST" and posted.form == {"page": "2"}
    assert not fetcher._process.is_alive()


def test_a_dead_fetch_process_fails_the_requests_instead_of_hanging(site: Site) -> None:
    site.html("/a", "<p>ok</p>")
    host = urlsplit(site.base).netloc

    async def go():
        fetcher = FetchProcess({host}, [(host, 1, 0.0, False)])
        try:
            await fetcher.open()
            assert (await fetcher.fetch(site.base + "/a")).status == 200
            fetcher._process.kill()
            with pytest.raises(RuntimeError, match="抓取子进程"):
                await asyncio.wait_for(fetcher.fetch(site.base + "/a"), 10)
            await fetcher.aclose()
        finally:
            fetcher.close()
    asyncio.run(go())


def test_published_snapshot_holds_the_records(site: Site, paths: Paths) -> None:
    build_site(site)
    summary = crawl(demo_city(site), paths)
    assert summary.snapshot is not None and summary.snapshot == store.current_snapshot(paths)
    con = store.open_snapshot(paths)
    try:
        assert con.execute("SELECT count(*) FROM cf_records").fetchone()[0] == 7
        assert con.execute("SELECT count(*) FROM xk_records").fetchone()[0] == 3
        assert con.execute("SELECT status, records FROM crawls").fetchone() == ("done", 10)
    finally:
        con.close()


# --- politeness, availability and evidence of the crawler issue ------------------------------------

def _availability(paths: Paths) -> set[tuple]:
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        return set(con.execute("SELECT source_id, problem, url FROM availability").fetchall())
    finally:
        con.close()


def test_robots_txt_is_honoured_with_its_crawl_delay(site: Site) -> None:
    site.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n")
    site.html("/private/x", "<p>secret</p>")
    site.html("/public/a", "<p>a</p>")
    site.html("/public/b", "<p>b</p>")
    denied = fetch(site, "/private/x")
    assert denied.status is None and "robots.txt" in denied.error and site.hits["/private/x"] == 0

    async def two() -> float:
        async with Fetcher({urlsplit(site.base).netloc}) as fetcher:
            started = time.monotonic()
            await asyncio.gather(fetcher.fetch(site.base + "/public/a"), fetcher.fetch(site.base + "/public/b"))
            return time.monotonic() - started
    assert asyncio.run(two()) >= 1.0  # the Crawl-delay (whole seconds) spaced the two requests
    assert site.hits["/robots.txt"] == 2  # once per fetcher (per crawl), not once per request


def test_robots_can_be_switched_off_per_source(site: Site) -> None:
    site.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /\n")
    site.html("/page", "<p>x</p>")

    async def go():
        host = urlsplit(site.base).netloc
        async with Fetcher({host}) as fetcher:
            fetcher.configure_host(host, robots=False)
            return await fetcher.fetch(site.base + "/page")
    assert asyncio.run(go()).ok and site.hits["/robots.txt"] == 0


def test_robots_wildcards_are_honoured(site: Site) -> None:
    """RFC 9309's ``*`` and ``$`` (read by Protego): the standard library's parser took ``/*.jsp$`` literally
    and allowed every page."""
    site.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /*.jsp$\nDisallow: /tmp*/\n")
    for path in ("/cf/list.jsp", "/cf/list.jsp.html", "/cf/list.html", "/tmp2/a.html"):
        site.html(path, "<p>x</p>")

    async def go() -> list:
        async with Fetcher({urlsplit(site.base).netloc}) as fetcher:
            return [await fetcher.fetch(site.base + p) for p in ("/cf/list.jsp", "/cf/list.jsp.html",
                                                                  "/cf/list.html", "/tmp2/a.html")]
    jsp, jsp_html, html, tmp = asyncio.run(go())
    assert jsp.robots_denied and jsp.status is None and site.hits["/cf/list.jsp"] == 0
    assert tmp.robots_denied and site.hits["/tmp2/a.html"] == 0
    assert jsp_html.ok and html.ok and not html.robots_denied


def test_captcha_wall_is_blocked_and_not_retried(site: Site, paths: Paths) -> None:
    build_site(site)
    site.routes["/d/env/xk/list"] = (403, "text/html; charset=utf-8", "<p>请输入验证码</p>".encode())
    site.routes["/wall"] = (200, "text/html; charset=utf-8", "<form>安全验证：请完成滑动验证</form>".encode())
    city = demo_city(site,
                     Source(id="env-xk", channel="site", kind="xk", dept="env", start_url=f"{site.base}/d/env/xk/list"),
                     Source(id="wall", channel="site", kind="xk", dept="env", start_url=f"{site.base}/wall"))
    summary = crawl(city, paths)
    assert site.hits["/d/env/xk/list"] == 1 and site.hits["/wall"] == 1
    assert {(s, p) for s, p, _ in _availability(paths)} == {("env-xk", "blocked"), ("wall", "blocked")}
    assert summary.failed_sources == [] and summary.sources["wall"].status == "unavailable"


def test_unreachable_and_missing_columns_are_availability_problems(site: Site, paths: Paths,
                                                                   closed_port: int) -> None:
    build_site(site)
    dead = f"http://127.0.0.1:{closed_port}/d/env/xk/list"
    city = demo_city(site,
                     Source(id="dead", channel="site", kind="xk", dept="env", start_url=dead),
                     Source(id="gone", channel="site", kind="xk", dept="env", start_url=f"{site.base}/d/env/old/"))
    summary = crawl(city, paths)
    assert _availability(paths) == {("dead", "unreachable", dead), ("gone", "column_missing", f"{site.base}/d/env/old/")}
    assert summary.failed_sources == ["dead"]  # no answer at all (maybe our own network): the crawl failed there
    con = duckdb.connect(str(paths.db), read_only=True)
    runs = dict(con.execute("SELECT source_id, status FROM source_runs").fetchall())
    con.close()
    assert runs == {"env-cf": "ok", "mkt-xk": "ok", "portal-cf": "ok", "dead": "failed", "gone": "failed"}


def test_runaway_paging_is_an_availability_problem(site: Site, paths: Paths) -> None:
    same = list_page([(None, "同罚〔2026〕1号", "某公司", "2026-05-01", "2026-05-02")]).encode()
    site.routes["/same/list"] = lambda q: (200, "text/html; charset=utf-8", same)  # ignores ?page=
    site.routes["/loop/list"] = lambda q: (200, "text/html; charset=utf-8", list_page(
        [(None, f"循环罚〔2026〕{q.get('page')}号", "某公司", "2026-05-01", "2026-05-02")]).encode())
    dept = Department(id="env", name="长沙市生态环境局", county="市本级")
    city = City("测试市", (dept,), (
        Source(id="same", channel="site", kind="cf", dept="env", start_url=f"{site.base}/same/list",
               paging={"style": "query"}),
        Source(id="loop", channel="site", kind="cf", dept="env", start_url=f"{site.base}/loop/list",
               paging={"style": "query"}, max_pages=3)))
    summary = crawl(city, paths)
    assert site.hits["/same/list?page=3"] == 0  # page 2 repeated page 1: stopped there
    assert _availability(paths) == {("same", "runaway_paging", f"{site.base}/same/list?page=2"),
                                    ("loop", "runaway_paging", f"{site.base}/loop/list?page=4")}
    assert summary.sources["same"].records == 1 and summary.sources["same"].status == "partial"


def test_post_requests_are_archived_with_their_form(site: Site, paths: Paths) -> None:
    site.html("/search.do", "<p>ok</p>")
    result = fetch(site, "/search.do")  # a GET first, for comparison
    assert result.method == "GET"

    async def post():
        async with Fetcher({urlsplit(site.base).netloc}) as fetcher:
            return await fetcher.fetch(site.base + "/search.do", form={"pageNo": "2", "pageSize": "10"})
    posted = asyncio.run(post())
    with Archive(paths, "p1") as archive:
        row = archive.write(posted, source_id="s")
    assert row["method"] == "POST" and row["form"] == "pageNo=2&pageSize=10"
    with (paths.archive / "p1.warc.gz").open("rb") as fh:
        requests = [(rec.http_headers.protocol, rec.content_stream().read()) for rec in ArchiveIterator(fh)
                    if rec.rec_type == "request"]
    assert requests == [("POST", b"pageNo=2&pageSize=10")]


def test_resumed_crawl_replays_answers_and_retries_failures(site: Site, paths: Paths) -> None:
    """An interrupted crawl (its row left ``running``) is resumed: answered pages come from the archive,
    pages that got a 5xx are asked again."""
    build_site(site)
    site.fail_first[site.key("/d/env/cf/detail/A1.html")] = 99
    first = crawl(demo_city(site), paths)
    assert first.sources["env-cf"].status == "partial"
    con = duckdb.connect(str(paths.db))
    con.execute("UPDATE crawls SET status = 'running', finished_at = NULL")  # as if killed before the end
    con.close()
    site.fail_first.clear()
    before = Counter(site.hits)
    second = crawl(demo_city(site), paths)
    asked = {k for k, n in site.hits.items() if n > before[k]} - {"/robots.txt"}
    assert second.resumed and second.crawl_id == first.crawl_id and second.errors == []
    assert asked == {"/d/env/cf/detail/A1.html"}  # only the page that had failed
    assert records(paths, "cf")["长环罚〔2026〕15号"]["CF_NR_FK"] == "0.5"  # now read from its detail page
    con = duckdb.connect(str(paths.db), read_only=True)
    assert con.execute("SELECT count(*), min(status) FROM crawls").fetchone() == (1, "done")
    con.close()
    assert {p.name for p in paths.archive.glob("*.warc.gz")} == {f"{first.crawl_id}.warc.gz",
                                                                 f"{first.crawl_id}-r1.warc.gz"}


# --- one problem, one finding (issue 11) ------------------------------------------------------------

def typed_list_page(rows: list[tuple[str, str, str]]) -> str:
    """A penalty list whose rows carry 相对人类别 and 处罚类别 (conditions of conditional fields);
    rows: (detail href, 文号, 相对人)."""
    body = "".join(f'<tr><td><a href="{href}">{wsh}</a></td><td>{name}</td><td>法人及非法人组织</td><td>罚款</td>'
                   f"<td>2026-05-11</td><td>2026-05-12</td></tr>" for href, wsh, name in rows)
    return ("<html><body><table><tr><th>决定书文号</th><th>行政相对人名称</th><th>行政相对人类别</th><th>处罚类别</th>"
            f"<th>决定日期</th><th>发布日期</th></tr>{body}</table></body></html>")


def _score_q2(paths: Paths) -> list[tuple]:
    """Score 2026Q2 on the working database (the crawl ran after the quarter, so it judges it); the findings
    as (record_key's 文书号 or None, rule_id, field)."""
    from datetime import date

    from core.periods import parse_period
    from metrics.scoring import score_period

    con = store.connect(paths)
    try:
        score_period(con, parse_period("2026Q2"), as_of=date(2026, 11, 30))
        return con.execute("""SELECT r.CF_WSH, f.rule_id, f.field FROM findings f
                              LEFT JOIN cf_records r USING (record_key) WHERE f.period = '2026Q2'""").fetchall()
    finally:
        con.close()


def test_dead_detail_page_is_one_finding_not_missing_fields(site: Site, paths: Paths) -> None:
    """A row whose detail page answers 404 is stored from its list row and marked; scoring gives the
    department's dead_link finding, and no required/conditional-missing findings for that record, while a
    record whose detail page was read and lacks the same fields gets them. Reading the page later clears it."""
    site.html("/d/env/cf/list", typed_list_page([("detail/dead.html", "长环罚〔2026〕31号", "长沙丁公司"),
                                                 ("detail/live.html", "长环罚〔2026〕32号", "长沙戊公司")]))
    site.html("/d/env/cf/detail/live.html", detail_page({"行政相对人名称": "长沙戊公司", "决定日期": "2026-05-11"}))
    city = City("测试市", (Department(id="env", name="长沙市生态环境局", county="市本级"),), (
        Source(id="env-cf", channel="site", kind="cf", dept="env", start_url=f"{site.base}/d/env/cf/list"),))
    summary = crawl(city, paths)
    assert summary.sources["env-cf"].status == "partial"
    dead_url = f"{site.base}/d/env/cf/detail/dead.html"
    assert _availability(paths) == {("env-cf", "dead_link", dead_url)}
    stored = records(paths, "cf")
    dead, live = stored["长环罚〔2026〕31号"], stored["长环罚〔2026〕32号"]
    assert (dead["detail_status"], dead["url"]) == ("dead", f"{site.base}/d/env/cf/list")
    assert (dead["CF_XDR_MC"], dead["CF_CFLB"], dead["CF_JDRQ"]) == ("长沙丁公司", "罚款", "2026-05-11")
    assert live["detail_status"] is None and live["url"] == f"{site.base}/d/env/cf/detail/live.html"

    found = _score_q2(paths)
    assert (None, "dead_link", "URL") in found
    by_record = {(w, r) for w, r, _ in found if w}
    assert ("长环罚〔2026〕32号", "required_missing") in by_record  # read, and truly missing: reported
    assert {("长环罚〔2026〕32号", f) for w, r, f in found if r == "conditional_missing" and w} >= {
        ("长环罚〔2026〕32号", "CF_NR_FK"), ("长环罚〔2026〕32号", "CF_XDR_SHXYM")}
    assert {r for w, r in by_record if w == "长环罚〔2026〕31号"} & {"required_missing", "conditional_missing"} == set()
    con = duckdb.connect(str(paths.db), read_only=True)
    try:  # assessed in the quarter of the decision date its list row shows
        assert con.execute("SELECT n_findings, n_records FROM deductions WHERE rule_id = 'required_missing'"
                           ).fetchone() == (1, 2)
    finally:
        con.close()

    site.html("/d/env/cf/detail/dead.html", detail_page({"行政相对人名称": "长沙丁公司"}))  # the page is back
    crawl(city, paths)
    assert records(paths, "cf")["长环罚〔2026〕31号"]["detail_status"] is None
    assert ("长环罚〔2026〕31号", "required_missing") in {(w, r) for w, r, _ in _score_q2(paths)}


def _rows(page: int, n: int = 2) -> list[tuple[None, str, str, str, str]]:
    """``n`` list rows without links (the list row is the record), numbered by page."""
    return [(None, f"长环罚〔2026〕{page * 10 + i}号", f"某公司{page}{i}", "2026-05-01", "2026-05-02") for i in range(n)]


def _paged_city(site: Site, style: str, path: str, **paging: object) -> City:
    return City("测试市", (Department(id="env", name="长沙市生态环境局", county="市本级"),), (
        Source(id="env-cf", channel="site", kind="cf", dept="env", start_url=f"{site.base}{path}",
               paging={"style": style, **paging}),))


def _run_status(paths: Paths) -> tuple[str, int]:
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        return con.execute("SELECT status, errors FROM source_runs").fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("pager", ["共 2 页", "共 4 条", "第 1/2 页", ""], ids=["pages", "rows", "of-n", "unstated"])
@pytest.mark.parametrize("end", ["404", "empty"])
def test_query_list_ending_after_its_last_page_is_not_an_error(site: Site, paths: Paths, pager: str,
                                                               end: str) -> None:
    """Past the last page a CMS answers 404 or an empty page: the list has ended, the source is ok and
    nothing is reported (a cron mail would be noise)."""
    for page in (1, 2):
        site.html(f"/l/list?page={page}", list_page(_rows(page), pager=pager))
    if end == "empty":
        site.html("/l/list?page=3", list_page([], pager=pager))
    summary = crawl(_paged_city(site, "query", "/l/list"), paths)
    assert site.hits["/l/list?page=3"] == 1 and site.hits["/l/list?page=4"] == 0
    assert summary.errors == [] and summary.warnings == [] and summary.sources["env-cf"].records == 4
    assert _run_status(paths) == ("ok", 0)


@pytest.mark.parametrize("pager", ["共 5 页", "共 10 条"], ids=["pages", "rows"])
def test_query_list_stopping_before_its_stated_total_is_an_error(site: Site, paths: Paths, pager: str) -> None:
    """Page 1 says there are 5 pages (10 rows), page 2 answers 404: records are missing, not the list's end."""
    site.html("/l/list?page=1", list_page(_rows(1), pager=pager))
    summary = crawl(_paged_city(site, "query", "/l/list"), paths)
    url = f"{site.base}/l/list?page=2"
    assert [u for u, _ in summary.errors] == [url]
    assert "404" in summary.errors[0][1] and pager in summary.errors[0][1]
    assert _run_status(paths) == ("degraded", 1)


def test_query_list_ending_empty_before_its_stated_total_is_an_error(site: Site, paths: Paths) -> None:
    site.html("/l/list?page=1", list_page(_rows(1), pager="共 10 条"))
    site.html("/l/list?page=2", list_page([], pager="共 10 条"))
    summary = crawl(_paged_city(site, "query", "/l/list"), paths)
    assert len(summary.errors) == 1 and "共 10 条，只读到 2 条" in summary.errors[0][1]
    assert summary.errors[0][0] == f"{site.base}/l/list" and _run_status(paths) == ("degraded", 1)


def test_server_error_midway_is_still_an_error(site: Site, paths: Paths) -> None:
    """A 500 on page 3 of 5 that the retries cannot cure: degraded, the error names the page."""
    for page in range(1, 6):
        site.html(f"/l/list?page={page}", list_page(_rows(page), pager="共 5 页"))
    site.fail_first[site.key("/l/list?page=3")] = 99
    summary = crawl(_paged_city(site, "query", "/l/list"), paths)
    url = f"{site.base}/l/list?page=3"
    assert [u for u, _ in summary.errors] == [url] and url in summary.errors[0][1] and "500" in summary.errors[0][1]
    assert summary.sources["env-cf"].records == 4 and _run_status(paths) == ("degraded", 1)


@pytest.mark.parametrize("end", ["404", "empty"])
def test_post_list_ends_like_a_query_list(site: Site, paths: Paths, end: str) -> None:
    """A POSTed search form past its last page: a 404 or an empty page ends the list, no error."""
    for page in (1, 2):
        site.html(f"/p/search.do?pageNo={page}", list_page(_rows(page), pager="共 2 页"))
    if end == "empty":
        site.html("/p/search.do?pageNo=3", list_page([], pager="共 2 页"))
    summary = crawl(_paged_city(site, "post", "/p/search.do"), paths)
    assert site.hits["/p/search.do?pageNo=3"] == 1
    assert summary.errors == [] and summary.sources["env-cf"].records == 4 and _run_status(paths) == ("ok", 0)


def test_trs_list_pages_to_its_stated_total(site: Site, paths: Paths) -> None:
    """trs: pages up to the total ``createPageHTML`` states — a 404 before it is an error; without a
    stated total, a 404 after the last page with rows ends the list."""
    for name, rows in (("index.html", _rows(1)), ("index_1.html", _rows(2))):
        site.html(f"/t/{name}", list_page(rows, pager=""))
    blind = crawl(_paged_city(site, "trs", "/t/index.html"), paths)
    assert blind.errors == [] and blind.sources["env-cf"].records == 4 and site.hits["/t/index_2.html"] == 1
    assert _run_status(paths) == ("ok", 0)

    script = '<script>createPageHTML(4, 0, "index", "html");</script>'
    site.html("/s/index.html", list_page(_rows(1), pager=script))
    site.html("/s/index_1.html", list_page(_rows(2), pager=script))
    stated = crawl(_paged_city(site, "trs", "/s/index.html"), Paths(paths.root / "stated.duckdb"))
    assert [u for u, _ in stated.errors] == [f"{site.base}/s/index_2.html"]
    assert "共 4 页" in stated.errors[0][1] and stated.sources["env-cf"].status == "partial"


def _json_api(site: Site, n: int, cap: int, offset_by: str = "cap", serves: int | None = None) -> None:
    """``/api/cf``: ``n`` penalties, at most ``cap`` per page whatever is asked; page N starts at (N−1) × the
    capped size (``offset_by="cap"``) or × the asked size (``"asked"``); only the first ``serves`` exist."""
    items = [{"cf_wsh": f"长环罚〔2026〕{i}号", "cf_xdr_mc": f"某公司{i}", "cf_jdrq": "2026/05/01"} for i in range(n)]

    def route(q: dict) -> Response:
        page, asked = int(q.get("page", 1)), int(q.get("pageSize", 10))
        size = min(asked, cap)
        start = (page - 1) * (size if offset_by == "cap" else asked)
        chosen = items[start:start + size] if start < (serves or n) else []
        doc = {"data": {"total": n, "page": page, "pageSize": size, "list": chosen}}
        return 200, "application/json", json.dumps(doc, ensure_ascii=False).encode()
    site.routes["/api/cf"] = route


@pytest.mark.parametrize("offset_by", ["cap", "asked"])
def test_json_page_size_cap_is_paged_by_the_cap(site: Site, paths: Paths, offset_by: str) -> None:
    """A server returning 7 items when 50 are asked (total 30): every record is read, by pages of 7, and
    the cap is reported once — whether the server counts offsets by the asked or the capped size."""
    _json_api(site, 30, cap=7, offset_by=offset_by)
    summary = crawl(_paged_city(site, "json", "/api/cf", size=50), paths)
    assert set(records(paths, "cf")) == {f"长环罚〔2026〕{i}号" for i in range(30)}
    assert summary.errors == [] and _run_status(paths) == ("ok", 0)
    assert [m for _, m in summary.warnings] == ["来源 env-cf：接口每页最多返回 7 条（请求 50 条），已按 7 条翻页"]
    assert site.hits["/api/cf?page=1&pageSize=50"] == 1
    assert [site.hits[f"/api/cf?page={p}&pageSize=7"] for p in range(2, 7)] == [1, 1, 1, 1, 0]  # 7×4 + 2 = 30


def test_json_list_short_of_its_total_is_an_error(site: Site, paths: Paths) -> None:
    """Total 30, but the server stops after 20: the walk ends at the empty page, and the shortfall is an
    error (degraded) naming it — no record is dropped silently."""
    _json_api(site, 30, cap=100, serves=20)
    summary = crawl(_paged_city(site, "json", "/api/cf", size=10), paths)
    assert len(records(paths, "cf")) == 20 and site.hits["/api/cf?page=3&pageSize=10"] == 1
    assert len(summary.errors) == 1 and "共 30 条，只读到 20 条" in summary.errors[0][1]
    assert summary.warnings == [] and _run_status(paths) == ("degraded", 1)


def test_json_list_without_a_total_ends_at_a_short_page(site: Site, paths: Paths) -> None:
    items = [{"cf_wsh": f"长环罚〔2026〕{i}号", "cf_xdr_mc": f"某公司{i}"} for i in range(13)]
    site.routes["/api/cf"] = lambda q: (200, "application/json", json.dumps({"data": {"list": items[
        (int(q["page"]) - 1) * 10:int(q["page"]) * 10]}}).encode())
    summary = crawl(_paged_city(site, "json", "/api/cf", size=10), paths)
    assert summary.errors == [] and len(records(paths, "cf")) == 13 and site.hits["/api/cf?page=3&pageSize=10"] == 0

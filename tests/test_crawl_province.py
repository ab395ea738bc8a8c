"""A province on loopback (issue 16): many sources, each on its own loopback address (``DemoServer(hosts=N)``,
``democity.config.province_document``), crawled by the real crawl — politeness held per host, the sources that
failed named by cause in the summary, and a second crawl of an unchanged province made of 304s and revisit
records, not new copies."""
from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from urllib.parse import urlsplit

import duckdb
import httpx
import pytest
import tomli_w
from rich.console import Console
from warcio.archiveiterator import ArchiveIterator

from core.cityconfig import load_city
from core.settings import Paths
from crawlers import crawl as crawl_module
from crawlers import fetch_process
from crawlers import run_crawl
from crawlers.fetch import Fetcher
from crawlers.progress import LIVE_MESSAGES, CrawlProgress
from crawlers.report import CAUSES, CrawlSummary, SourceStatus, shown
from democity import DemoServer, build
from democity.config import province_document
from democity.faults import Fault, Faults
from democity.server import LAST_MODIFIED

SMALL = ["dc-wj-xk", "dc-wj-cf", "xs-yj-xk"]  # JSON (no detail pages) and an HTML list with a detail page per row


@pytest.fixture(scope="module")
def city():
    return build(2026)


def _province(city, urls: list[str], tmp_path, *, concurrency: int = 2, columns=SMALL):
    path = tmp_path / "city.toml"
    path.write_text(tomli_w.dumps(province_document(city, urls, concurrency=concurrency, columns=columns)),
                    encoding="utf-8")
    return load_city(path)


def _column_records(city, source_id: str) -> int:
    """How many records the demo column a province source copies holds (``<dept>-<kind>-p<i>``)."""
    dept, kind = source_id.rsplit("-", 2)[0], source_id.rsplit("-", 2)[1]
    return sum(1 for r in city.records if r.dept_id == dept and r.kind == kind)


def test_fifty_hosts_politeness_held_per_host(city, tmp_path, monkeypatch):
    """50 sources on 50 addresses, 8 walked at a time: every host asked, none by more than its limit at once,
    every source's records all stored under its own department."""
    monkeypatch.setattr(crawl_module, "SOURCES_AT_ONCE", 8)  # more sources than walkers: the pool is exercised
    monkeypatch.setattr(fetch_process, "SPAWN_ABOVE", 10)  # a province's fetch process: spawned, not forked
    forgotten: list[str] = []
    forget = fetch_process.FetchProcess.forget_host
    monkeypatch.setattr(fetch_process.FetchProcess, "forget_host",
                        lambda self, host: (forgotten.append(host), forget(self, host))[1])
    slow_details = Faults({"/d/xs-yj/xk/detail/*": Fault("slow", times=None, seconds=0.05)})  # so requests overlap
    with DemoServer(city, hosts=50, faults=slow_details) as server:
        config = _province(city, server.base_urls, tmp_path, concurrency=2)
        summary = run_crawl(config, Paths(tmp_path / "sgs.duckdb"), quiet=True, backoff=0.05)
        peak, by_host = dict(server.peak), dict(server.by_host)
    hosts = {urlsplit(u).hostname for u in server.base_urls}
    assert len(hosts) == 50 and set(by_host) == hosts  # every site asked, nothing else
    assert max(peak.values()) == 2 and all(n <= 2 for n in peak.values())  # the limit reached and held
    assert summary.status == "done" and summary.errors == [] and summary.failure_lines() == []
    got = {sid: st.records for sid, st in summary.sources.items()}
    assert got == {s.id: _column_records(city, s.id) for s in config.sources}
    con = duckdb.connect(str(tmp_path / "sgs.duckdb"), read_only=True)
    stored = dict(con.execute("SELECT source_id, count(*) FROM (SELECT source_id FROM xk_records UNION ALL "
                              "SELECT source_id FROM cf_records) GROUP BY 1").fetchall())
    depts = dict(con.execute("SELECT DISTINCT source_id, dept_id FROM xk_records UNION "
                             "SELECT DISTINCT source_id, dept_id FROM cf_records").fetchall())
    con.close()
    assert stored == got
    assert depts == {s.id: s.dept for s in config.sources}
    assert sorted(forgotten) == sorted(urlsplit(u).netloc for u in server.base_urls)  # each host let go, once


def test_failed_sources_summed_up_by_cause(city, tmp_path):
    """Dead hosts, hosts that time out, hosts answering 500 and a column robots.txt forbids: each source
    named under its cause (and nothing else), the healthy ones under none."""
    with DemoServer(city, hosts=12) as server:
        urls = list(server.base_urls)
        port = urlsplit(urls[0]).port
        dead = {0: f"http://127.0.9.1:{port}", 1: f"http://127.0.9.2:{port}"}  # nothing listens there
        for i, url in dead.items():
            urls[i] = url
        config = _province(city, urls, tmp_path, columns=["dc-wj-xk"])
        ids = [s.id for s in config.sources]
        host = [urlsplit(u).hostname for u in urls]
        column = urlsplit(config.sources[8].start_url).path
        server_faults = {host[2]: Faults({"/*": Fault("timeout", times=None, seconds=1.2)}),
                         host[3]: Faults({"/*": Fault("timeout", times=None, seconds=1.2)}),
                         host[4]: Faults({"/*": Fault("error500", times=None)}),
                         host[5]: Faults({"/*": Fault("error500", times=None)}),
                         host[8]: Faults({column: Fault("robots")})}
        server.host_faults.update(server_faults)
        summary = run_crawl(config, Paths(tmp_path / "sgs.duckdb"), quiet=True, backoff=0.01, retries=1,
                            timeout=0.4)
    expected = {"connect": {ids[0], ids[1]}, "timeout": {ids[2], ids[3]}, "http5xx": {ids[4], ids[5]},
                "robots": {ids[8]}}
    grouped: dict[str, set[str]] = {}
    for sid, st in summary.sources.items():
        for cause in st.causes:
            grouped.setdefault(cause, set()).add(sid)
    assert grouped == expected
    assert set(summary.failed_sources) == set().union(*expected.values())
    assert all(summary.sources[i].status == "ok" for i in (ids[6], ids[7], *ids[9:]))
    lines = summary.failure_lines()
    assert lines[0] == "出错的来源（按原因，共 7 个）："
    assert [line.split(" ")[2] for line in lines[1:]] == ["连接失败", "超时", "robots.txt", "HTTP"]
    by_words = {line.strip().split(" 个来源")[0]: line for line in lines[1:]}
    assert set(by_words) == {f"{CAUSES[c]} {len(s)}" for c, s in expected.items()}
    first_page = f"{config.sources[0].start_url}?pageNo=1&pageSize=10"  # the URL that failed, named
    assert f"{ids[0]}（{first_page}）、{ids[1]}（" in by_words[f"{CAUSES['connect']} 2"]
    assert summary.error_lines() == [shown(m) for _, m in summary.errors]  # few: each error, once
    assert "无法抓取的来源" in summary.line()


def test_revisit_of_an_unchanged_province_is_304s_and_revisit_records(city, tmp_path):
    """The second crawl asks with the first's validators: every page a 304 archived as a revisit record
    (no response record, no body), every record the same and still citing the first crawl's bytes."""
    paths = Paths(tmp_path / "sgs.duckdb")
    with DemoServer(city, hosts=6) as server:
        config = _province(city, server.base_urls, tmp_path)
        first = run_crawl(config, paths, quiet=True)
        con = duckdb.connect(str(paths.db), read_only=True)
        before = con.execute("SELECT record_key, fetch_id FROM xk_records UNION ALL "
                             "SELECT record_key, fetch_id FROM cf_records ORDER BY 1").fetchall()
        con.close()
        second = run_crawl(config, paths, quiet=True)
    assert first.errors == second.errors == [] and first.records == second.records > 0
    con = duckdb.connect(str(paths.db), read_only=True)
    rows = con.execute("SELECT status, revisit_of IS NOT NULL, f.crawl_id FROM fetches f WHERE crawl_id = ?",
                       [second.crawl_id]).fetchall()
    originals = {r[0] for r in con.execute("SELECT fetch_id FROM fetches WHERE crawl_id = ?",
                                           [first.crawl_id]).fetchall()}
    after = con.execute("SELECT record_key, fetch_id FROM xk_records UNION ALL "
                        "SELECT record_key, fetch_id FROM cf_records ORDER BY 1").fetchall()
    seen = con.execute("SELECT min(last_seen) FROM (SELECT last_seen FROM xk_records UNION ALL "
                       "SELECT last_seen FROM cf_records)").fetchone()[0]
    con.close()
    assert rows and Counter((s, r) for s, r, _ in rows) == {(304, True): len(rows)}
    assert second.unchanged == len(rows)
    assert after == before and {f for _, f in after} <= originals  # evidence: the first crawl's bytes
    assert seen >= second.started_at  # every record seen again
    warc = list(paths.archive.glob(f"{second.crawl_id}*.warc.gz"))
    with warc[0].open("rb") as fh:
        types = Counter(r.rec_type for r in ArchiveIterator(fh))
    assert len(warc) == 1 and types == {"warcinfo": 1, "revisit": len(rows)}


def test_demo_server_answers_if_modified_since(city):
    """Without an ETag, If-Modified-Since decides (as a CMS does); with one, the ETag alone decides."""
    with DemoServer(city) as server:
        url = f"{server.base_url}/robots.txt"
        etag = httpx.get(url).headers["etag"]
        assert httpx.get(url, headers={"If-Modified-Since": LAST_MODIFIED}).status_code == 304
        assert httpx.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2018 08:00:00 GMT"}).status_code == 200
        assert httpx.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200
        assert httpx.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": LAST_MODIFIED}
                         ).status_code == 200
        assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_progress_stays_readable_at_province_size():
    """Thousands of sources: no line per source, the first ``LIVE_MESSAGES`` errors and one note, the
    summary line always."""
    progress = CrawlProgress(enabled=True, sources=5000)
    out = io.StringIO()
    progress.console = Console(file=out, force_terminal=True, width=200)
    try:
        for i in range(5000):
            progress.log(f"来源 s{i}：1 个列表页，3 条记录，0 个错误", verbose=True)
        for i in range(200):
            progress.log(f"无法连接 http://127.0.9.{i % 250}:1/ 出错 {i}")
        progress.log("抓取 c1 完成：5000 个来源", always=True)
    finally:
        progress.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("[sgs]")]
    assert len(lines) == LIVE_MESSAGES + 2
    assert lines[:LIVE_MESSAGES] == [f"[sgs] 无法连接 http://127.0.9.{i}:1/ 出错 {i}" for i in range(LIVE_MESSAGES)]
    assert "不再逐条显示" in lines[LIVE_MESSAGES] and lines[-1] == "[sgs] 抓取 c1 完成：5000 个来源"
    few = CrawlProgress(enabled=True, sources=3)
    few.console = Console(file=(out := io.StringIO()), force_terminal=True, width=200)
    few.log("来源 a：1 个列表页", verbose=True)
    few.close()
    assert "来源 a" in out.getvalue()  # a city's few sources keep their line each


def test_error_lines_capped_with_the_rest_by_cause():
    """Past ``ERRORS_LISTED`` errors, the rest are counted, not listed; the causes name the sources (masked)."""
    from datetime import datetime

    from crawlers.report import ERRORS_LISTED

    summary = CrawlSummary("c1", datetime(2026, 5, 1), sources={f"s{i}": SourceStatus(f"s{i}") for i in range(40)})
    for i in range(40):
        summary.add_error(f"s{i}", f"http://h{i}/?tel=13812345678", f"http://h{i}/?tel=13812345678 返回 HTTP 500",
                          fatal=True, cause="http5xx" if i % 2 else "connect")
    lines = summary.error_lines()
    assert len(lines) == ERRORS_LISTED + 1 + 3
    assert lines[ERRORS_LISTED] == f"……另有 {40 - ERRORS_LISTED} 个错误未逐条列出（每个来源的第一个错误见看板“采集状态”）"
    assert lines[-2] == shown("  连接失败 20 个来源：" + "、".join(f"s{i}（http://h{i}/?tel=13812345678）"
                                                              for i in (0, 2, 4, 6, 8)) + " 等 20 个")
    assert lines[-1].startswith("  HTTP 5xx（网站服务器出错） 20 个来源：s1（") and "13812345678" not in "".join(lines)
    assert summary.failed_names() == "s0、s1、s2、s3、s4 等 40 个"


def test_a_finished_host_is_forgotten_and_stays_polite(city):
    """``Fetcher.forget_host`` drops a done host's state and its idle connections; a later request to it (a
    redirect from another source) gets the host's own limits back, not the defaults."""
    with DemoServer(city) as server:
        host = urlsplit(server.base_url).netloc

        async def go():
            async with Fetcher({host}, concurrency=2) as fetcher:
                fetcher.configure_host(host, concurrency=1, delay=0.01, robots=False)
                assert (await fetcher.fetch(f"{server.base_url}/robots.txt")).status == 200
                pool = fetcher._client._transport._pool
                assert len(pool.connections) == 1
                await fetcher.forget_host(host.upper())
                held = host in fetcher._hosts, [c.is_closed() for c in pool.connections]
                assert (await fetcher.fetch(f"{server.base_url}/robots.txt")).status == 200
                again = fetcher._hosts[host]
                return held, (again.concurrency, again.delay, again.robots)

        held, settings = asyncio.run(go())
    assert held == (False, [True]) and settings == (1, 0.01, False)


def test_the_fetch_process_imports_only_what_fetching_needs():
    """A province's fetch process is a fresh interpreter importing ``crawlers.fetch_process``: the package
    imports lazily (PEP 562), so DuckDB, Arrow, lxml and the crawl's engine stay out of it (rich comes with
    httpx, whose command line imports it)."""
    code = ("import sys, crawlers.fetch_process; "
            "print(sorted(m for m in ('duckdb', 'pyarrow', 'lxml', 'crawlers.crawl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from crawlers import SourceStatus as lazy  # the package's names still there, on first use

    assert lazy is SourceStatus and not hasattr(SourceStatus("s"), "__dict__")  # slots: one per source


def test_a_province_configuration_is_held_compactly(city, tmp_path):
    """The city file is held for the whole crawl (5,000 sources: 31,666 catalogue items): its objects have
    slots (no ``__dict__`` each) and each repeated text (item names, legal bases, counties, kinds) is one
    string object, copied after the parse so the parser's garbage can be given back (29 MB instead of 59)."""
    loaded = _province(city, [f"http://127.0.1.{i}:1" for i in range(1, 7)], tmp_path)
    dept, source = loaded.departments[0], loaded.sources[0]
    for obj in (loaded, loaded.mail, dept, dept.catalogue[0], source):
        assert not hasattr(obj, "__dict__"), type(obj).__name__
    items = [item for d in loaded.departments for item in d.catalogue]
    by_name: dict[str, list] = {}
    for item in items:
        by_name.setdefault(item.name, []).append(item)
    repeated = [same for same in by_name.values() if len(same) > 1]
    assert repeated and all(len({id(i.name) for i in same}) == 1 for same in repeated)
    assert len({id(i.kind) for i in items}) == len({i.kind for i in items})
    assert len({id(s.channel) for s in loaded.sources}) == 1
    assert replace(source, max_pages=3).max_pages == 3 and source.to_json().startswith("{")

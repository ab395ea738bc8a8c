"""Fault injection on loopback (democity.faults): the crawl finishes, records every fault, and gets every
page that retries can recover."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from crawlers import run_crawl
from democity import DemoServer, build, write_city
from democity.faults import Fault, Faults
from democity.pages import Site
from core.cityconfig import load_city
from core.settings import Paths

SOURCES = ("sj-hb-cf", "sj-wj-xk", "dc-cg-cf", "xs-scjg-cf")  # query, trs, post, GBK trs


@pytest.fixture(scope="module")
def city():
    return build(2026)


def _details(city, dept: str, kind: str) -> list[str]:
    """Detail paths of a column in list order (newest first), as the demo links them."""
    return [f"/d/{dept}/{kind}/detail/{r.id}.html" for r in Site(city).columns[(dept, kind)]]


def test_faults_are_recorded_and_recoverable_pages_fetched(city, tmp_path):
    hb, wj, cg, scjg = (_details(city, d, k) for d, k in (("sj-hb", "cf"), ("sj-wj", "xk"), ("dc-cg", "cf"),
                                                           ("xs-scjg", "cf")))
    recoverable = {
        "/d/sj-hb/cf/list": Fault("error500", times=2),  # the first list page: 500, 500, then fine
        hb[0]: Fault("reset"),
        hb[1]: Fault("truncate"),
        hb[2]: Fault("timeout", seconds=1.5),
        wj[0]: Fault("slow", seconds=0.3),
        "/d/sj-wj/xk/index_1.html": Fault("error500"),
        cg[0]: Fault("wrong_charset", times=None),
        scjg[0]: Fault("error500", times=1),
    }
    permanent = {
        hb[3]: Fault("redirect_loop", times=None),
        wj[1]: Fault("oversized", times=None, size=300_000),
        cg[1]: Fault("robots"),
        scjg[1]: Fault("error500", times=None),
    }
    faults = Faults({**recoverable, **permanent})
    with DemoServer(city, faults=faults) as server:
        config = load_city(write_city(city, server.base_url, tmp_path))
        only = replace(config, sources=tuple(s for s in config.sources if s.id in SOURCES))
        paths = Paths(tmp_path / "sgs.duckdb")
        summary = run_crawl(only, paths, quiet=True, backoff=0.05, retries=2, timeout=0.7, max_bytes=200_000)
        requests = dict(server.requests)
    base = server.base_url

    assert summary.status == "done" and summary.failed_sources == []
    con = duckdb.connect(str(paths.db), read_only=True)
    fetches = {url: (status, error, attempts) for url, status, error, attempts in con.execute(
        "SELECT url, status, error, attempts FROM fetches").fetchall()}
    site_records = {r[0] for r in con.execute(
        "SELECT CF_WSH FROM cf_records UNION ALL SELECT XK_WSH FROM xk_records").fetchall()}
    con.close()

    for path, fault in recoverable.items():  # recovered: stored fine, and the retries are on record
        url = base + path + ("?page=1" if path.endswith("/list") else "")
        status, error, attempts = fetches[url]
        assert status == 200 and error is None, (fault.kind, url)
        assert attempts == 1 + (fault.times or 0) if fault.kind not in ("slow", "wrong_charset") else attempts == 1
    for path, fault in permanent.items():  # never recovered: an error row naming why
        status, error, _ = fetches[base + path]
        assert error, (fault.kind, path)
    assert "重定向超过" in fetches[base + hb[3]][1] and "上限" in fetches[base + wj[1]][1]
    assert "robots.txt" in fetches[base + cg[1]][1] and requests.get(cg[1], 0) == 0  # never asked for
    assert fetches[base + scjg[1]][0] == 500
    assert {url for url, _ in summary.errors} == {base + p for p in permanent}

    # every record whose pages could be recovered is stored, with the right text (wrong charset decoded)
    broken_ids = {p.rsplit("/", 1)[1].removesuffix(".html") for p in permanent}
    want = {r.wsh for r in city.records if f"{r.dept_id}-{r.kind}" in SOURCES}
    assert site_records == want  # a failed detail page keeps its list row (文书号 from the list)
    con = duckdb.connect(str(paths.db), read_only=True)
    cg0 = next(r for r in city.records if r.id == cg[0].rsplit("/", 1)[1].removesuffix(".html"))
    assert con.execute("SELECT CF_XDR_MC, CF_SY FROM cf_records WHERE CF_WSH = ?", [cg0.wsh]).fetchone() == (
        cg0.values["CF_XDR_MC"], cg0.values["CF_SY"])
    for rid in broken_ids:  # the list row stands in for its failed detail page, with the list as evidence
        r = next(r for r in city.records if r.id == rid)
        url = con.execute(f"SELECT url FROM {r.kind}_records WHERE {r.kind.upper()}_WSH = ?", [r.wsh]).fetchone()[0]
        assert "/detail/" not in url
    con.close()

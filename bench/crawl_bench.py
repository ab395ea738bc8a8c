"""Crawl benchmark against the demo city on loopback, politeness off, same concurrency for every mode.

    .venv/bin/python bench/crawl_bench.py [--concurrency 8] [--repeat 3] [--rounds 8]

Modes, each in its own process (so peak memory is its own), against one demo server in a third process
(``bench/crawl_server.py``: no client ever shares the server's GIL); each mode process makes an untimed
cold pass (imports, caches, first connections: reported as "cold s") and then the timed pass, which does
the work ``--rounds`` times over (so it lasts seconds, not a fraction of one). Beside the wall time, the
CPU time of the client process (all its threads) and of the server process during the timed pass are
reported per page: on a 2-core machine their sum against 2 × wall time says whether the machine, not
the crawler's waiting, is the limit.

  (a) plain   a bare ``httpx.AsyncClient`` loop fetching the URLs a crawl fetches: the machine's limit;
  (b) fetch   sgs's fetch layer (``crawlers.fetch.Fetcher``) on the same URLs, robots and delay off;
  (c) crawl   the whole crawl (fetch, archive, extract, normalise, store, publish) in a fresh database;
  (r) replay  re-extraction of (c)'s archive offline (``run_crawl(reextract=…)``), records/s.

Targets (issue 3): (b) within 1.2× of (a)'s time; (c) at least 60 % of (a)'s pages/s. Results and the
machine go to docs/bench-crawl.md by hand.

A province (issue 16):

    .venv/bin/python bench/crawl_bench.py --province 500 5000 [--revisit] [--workdir /work/data-x/prov]

serves the demo's site on N loopback addresses (one server process, ``crawl_server.py --hosts N``), writes a
province of N sources, one per host (``democity.config.write_province``: the demo's columns in turn, so every
size has the same pages per source), and runs the whole crawl with the configuration's politeness (2 at a
time per host, robots.txt read; by default the demo's three smallest columns, ``--columns``) in a process of its own: pages/s, CPU per page (the crawl's process and its
fetch process), peak resident memory of each, bytes archived. ``--revisit`` then crawls the same province
again into the same database (a daily crawl of an unchanged province: conditional requests, 304s, revisit
records), in another process, and prints it beside the first; ``--reread`` then a third time reading every
unchanged page again instead of re-sighting its records (``run_crawl(resight=False)``: the way before, side
by side in one run). "duckdb MB": the memory DuckDB itself held when the last page was stored
(``duckdb_memory()``, before publishing); ``--memory-limit 64MB`` sets DuckDB's ``memory_limit`` for the crawl.
"peak MB": the crawl's process's own peak (VmHWM); "fetch MB": the largest finished child's (ru_maxrss);
"fetch HWM": the fetch process's own VmHWM, read from /proc while it runs; "its own": the most of its memory
that was private (``bench/crawl_measure.py``, which holds what is measured and how).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crawl_measure import ChildMemory, children_peak_mb, cpu_seconds, machine, peak_mb, rss_mb  # noqa: E402


def _impolite(config_path: Path, concurrency: int):
    """The demo's configuration with politeness off: no delay, no robots.txt, ``concurrency`` per host."""
    from core.cityconfig import load_city

    city = load_city(config_path)
    return replace(city, sources=tuple(replace(s, concurrency=concurrency, delay=0.0, robots=False)
                                       for s in city.sources))


# --- the modes (run in child processes) ------------------------------------------------------------

async def _plain(requests: list[tuple[str, dict | None]], concurrency: int) -> int:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        async def one(url: str, form: dict | None) -> int:
            async with sem:
                r = await client.request("POST" if form is not None else "GET", url, data=form)
                await r.aread()
                return len(r.content)
        sizes = await asyncio.gather(*(one(u, f) for u, f in requests))
    return len(sizes)


async def _fetch_layer(requests: list[tuple[str, dict | None]], concurrency: int) -> int:
    from crawlers.fetch import Fetcher

    hosts = {urlsplit(u).netloc for u, _ in requests}
    async with Fetcher(hosts, concurrency=concurrency) as fetcher:
        for h in hosts:
            fetcher.configure_host(h, concurrency=concurrency, delay=0.0, robots=False)
        results = await asyncio.gather(*(fetcher.fetch(u, form=f) for u, f in requests))
    assert all(r.status in (200, 404) or r.status is None for r in results)
    return len(results)


def _run_mode(mode: str, workdir: Path, requests: list, concurrency: int) -> tuple[int, dict]:
    """One pass of ``mode``: (pages, extra numbers)."""
    if mode == "plain":
        return asyncio.run(_plain(requests, concurrency)), {}
    if mode == "fetch":
        return asyncio.run(_fetch_layer(requests, concurrency)), {}
    from crawlers.crawl import run_crawl
    from core.settings import Paths

    city = _impolite(workdir / "city.toml", concurrency)
    if mode == "crawl":
        db = workdir / f"crawl-{time.time_ns()}" / "sgs.duckdb"
        summary = run_crawl(city, Paths(db), quiet=True, resume=False)
        (workdir / "last_crawl.txt").write_text(f"{db}\n{summary.crawl_id}")
        pages = sum(s.fetched for s in summary.sources.values())
    else:  # replay
        db, crawl_id = (workdir / "last_crawl.txt").read_text().split("\n")
        summary = run_crawl(city, Paths(Path(db)), quiet=True, reextract=crawl_id)
        pages = summary.replayed
    return pages, {"records": summary.records, "errors": len(summary.errors)}


def child(mode: str, workdir: Path, concurrency: int, rounds: int, server_pid: int) -> dict:
    """A cold pass (a fresh process: imports, caches, first connections), then a timed warm pass of
    ``rounds`` rounds, with this process's and the server's CPU time over it.

    The warm pass is the throughput the targets are about; the cold one is what a one-off
    ``sgs crawl`` process pays on top (reported beside it)."""
    requests = [(u, f) for u, f in json.loads((workdir / "requests.json").read_text())]
    started = time.perf_counter()
    _run_mode(mode, workdir, requests, concurrency)
    cold = time.perf_counter() - started
    cpu, child_cpu, server_cpu = cpu_seconds(), cpu_seconds(children=True), cpu_seconds(server_pid)
    started = time.perf_counter()
    pages, records = 0, 0
    for _ in range(rounds):
        n, extra = _run_mode(mode, workdir, requests, concurrency)
        pages, records = pages + n, records + extra.get("records", 0)
    seconds = time.perf_counter() - started
    child_cpu = cpu_seconds(children=True) - child_cpu
    cpu, server_cpu = cpu_seconds() - cpu + child_cpu, cpu_seconds(server_pid) - server_cpu
    return {"mode": mode, "pages": pages, "seconds": seconds, "pages_per_s": pages / seconds, "cold": cold,
            "peak_mb": peak_mb(), "records": records, "cpu_ms": 1000 * cpu / pages,
            "fetch_cpu_ms": 1000 * child_cpu / pages,
            "fetch_peak_mb": children_peak_mb(), "server_cpu_ms": 1000 * server_cpu / pages,
            "cores_busy": (cpu + server_cpu) / seconds}


# --- the driver ------------------------------------------------------------------------------------

def parse_rates(city, n: int = 300) -> dict[str, float]:
    """Pages/s for parsing a demo list and detail page: BeautifulSoup on lxml vs lxml alone vs extraction."""
    from bs4 import BeautifulSoup

    from crawlers import extract
    from democity.pages import Site

    site = Site(city)
    rec = city.records[0]
    pages = {"list": site.respond(f"/d/{rec.dept_id}/{rec.kind}/list", "page=1").body.decode(),
             "detail": site.respond(f"/d/{rec.dept_id}/{rec.kind}/detail/{rec.id}.html").body.decode()}
    out = {}
    for name, html in pages.items():
        for label, fn in (("bs4+lxml parse", lambda h: BeautifulSoup(h, "lxml")),
                          ("lxml parse", extract.parse),
                          ("sgs extract", (lambda h: extract.list_rows(h, rec.kind, "http://h/")) if name == "list"
                           else (lambda h: extract.detail_fields(h, rec.kind)))):
            started = time.perf_counter()
            for _ in range(n):
                fn(html)
            out[f"{name} ({len(html.encode()) // 1024} KB): {label}"] = n / (time.perf_counter() - started)
    return out


def _requests_of_a_crawl(workdir: Path, concurrency: int) -> list[tuple[str, dict | None]]:
    """The requests a whole crawl makes (list, detail and attachment pages), taken from a warm-up crawl."""
    import duckdb
    from urllib.parse import parse_qsl

    from crawlers.crawl import run_crawl
    from core.settings import Paths

    db = workdir / "warmup" / "sgs.duckdb"
    run_crawl(_impolite(workdir / "city.toml", concurrency), Paths(db), quiet=True)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT url, form FROM fetches WHERE role IS NOT NULL ORDER BY fetched_at").fetchall()
    con.close()
    return [(u, dict(parse_qsl(f)) if f else None) for u, f in rows]


# --- a province ------------------------------------------------------------------------------------

# the demo's three smallest columns (4, 6 and 13 pages: JSON; an HTML list with a detail page per row), so a
# 5,000-source crawl is ~38,000 pages, minutes on this machine; ``--columns all`` takes every column (~20 a source)
SMALL_COLUMNS = ("dc-wj-xk", "dc-wj-cf", "xs-yj-xk")

def province_child(workdir: Path, server_pid: int, memory_limit: str | None = None, resight: bool = True) -> dict:
    """One whole crawl of the province in ``workdir`` (first into an empty database, or again: a revisit),
    with its own process's and its fetch process's CPU and peak memory, and the bytes it archived."""
    import duckdb

    from core.cityconfig import load_city
    from core.settings import Paths
    from crawlers.crawl import run_crawl

    from core import store
    from crawlers import crawl as crawl_module

    city = load_city(workdir / "city.toml")
    config_mb = rss_mb()  # the process with the province's configuration read, before the crawl
    paths = Paths(workdir / "db" / "sgs.duckdb")
    sampler = ChildMemory()
    connect, finish, duck = store.connect, crawl_module._Engine._finish, {"bytes": 0}

    def limited(p: Paths):  # the crawl's connection, with DuckDB's memory_limit when one is given
        con = connect(p)
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        return con

    def measured(engine) -> None:  # DuckDB's own memory once the last page is stored, before publishing
        duck["bytes"] = engine.run.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
        finish(engine)

    # read in the crawl's own thread: a cursor sampled from another thread kept a transaction open, and
    # DuckDB never checkpointed (the write-ahead log and its blocks held in memory: +230 MB at 5,000 sources)
    store.connect, crawl_module._Engine._finish = limited, measured
    sampler.start()
    cpu, server_cpu = cpu_seconds(), cpu_seconds(server_pid)
    started = time.perf_counter()
    summary = run_crawl(city, paths, quiet=True, resume=False, resight=resight)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    fetch_cpu = cpu_seconds(children=True)
    cpu, server_cpu = cpu_seconds() - cpu + fetch_cpu, cpu_seconds(server_pid) - server_cpu
    archived = sum(f.stat().st_size for f in paths.archive.glob(f"{summary.crawl_id}*.warc.gz"))
    con = duckdb.connect(str(paths.db), read_only=True)
    pages, revisits, not_modified = con.execute(
        "SELECT count(*), count(revisit_of), count(*) FILTER (status = 304) FROM fetches WHERE crawl_id = ?",
        [summary.crawl_id]).fetchone()
    con.close()
    return {"sources": len(city.sources), "pages": pages, "revisits": revisits, "not_modified": not_modified,
            "seconds": seconds, "pages_per_s": pages / seconds, "cpu_ms": 1000 * cpu / pages,
            "fetch_cpu_ms": 1000 * fetch_cpu / pages, "server_cpu_ms": 1000 * server_cpu / pages,
            "peak_mb": peak_mb(), "fetch_peak_mb": children_peak_mb(),
            "config_mb": config_mb, "fetch_private_mb": sampler.peak_private / 1024,
            "fetch_hwm_mb": sampler.peak_hwm / 1024,
            "duckdb_mb": int(duck["bytes"] or 0) / 2**20, "memory_limit": memory_limit, "archived_mb": archived / 1e6, "archived_per_page": archived / pages, "records": summary.records,
            "resighted": summary.resighted, "errors": len(summary.errors), "failed": len(summary.failed_sources), "status": summary.status}


def province_main(sizes: list[int], revisit: bool, root: Path, seed: int, columns: list[str] | None,
                  memory_limit: str | None = None, reread: bool = False) -> None:
    """Each province size: a server on that many hosts, a first crawl and (``revisit``) a second one."""
    from democity import build
    from democity.config import write_province

    city = build(seed)
    rows = []
    for n in sizes:
        workdir = root / f"province-{n}"
        subprocess.run(["rm", "-rf", str(workdir)], check=True)
        load_before = os.getloadavg()[0]
        server = subprocess.Popen([sys.executable, str(REPO / "bench" / "crawl_server.py"), "--seed", str(seed),
                                   "--hosts", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            write_province(city, json.loads(server.stdout.readline()), workdir, columns=columns)
            crawls = ("first", "revisit", "reread")[:1 + revisit + (revisit and reread)]
            for label in crawls:
                extra = ["--memory-limit", memory_limit] if memory_limit else []
                out = subprocess.run([sys.executable, __file__, "--province-child", "--workdir", str(workdir),
                                      "--server-pid", str(server.pid), *extra, *(["--no-resight"] * (label == "reread"))],
                                     capture_output=True, text=True, check=True)
                rows.append({"crawl": label, "load": load_before, **json.loads(out.stdout.strip().splitlines()[-1])})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            server.stdin.close()
            server.wait(timeout=60)
    print(f"machine: {platform.processor() or platform.machine()}, {machine()}; Python {platform.python_version()}; "
          f"load average after {os.getloadavg()[0]:.2f}")
    print(f"{'sources':>8}{'crawl':>9}{'pages':>8}{'304s':>7}{'revisits':>9}{'s':>8}{'pages/s':>9}{'CPU ms/pg':>10}"
          f"{'fetch ms':>9}{'server ms':>10}{'config MB':>10}{'peak MB':>8}{'fetch MB':>9}{'its own':>8}{'fetch HWM':>10}"
          f"{'archived MB':>12}{'B/page':>8}{'duckdb MB':>10}{'resighted':>10}"
          f"{'records':>9}{'errors':>7}")
    for r in rows:
        print(f"{r['sources']:>8}{r['crawl']:>9}{r['pages']:>8}{r['not_modified']:>7}{r['revisits']:>9}"
              f"{r['seconds']:>8.1f}{r['pages_per_s']:>9.1f}{r['cpu_ms']:>10.2f}{r['fetch_cpu_ms']:>9.2f}"
              f"{r['server_cpu_ms']:>10.2f}{r['config_mb']:>10.0f}{r['peak_mb']:>8.0f}{r['fetch_peak_mb']:>9.0f}"
              f"{r['fetch_private_mb']:>8.0f}{r.get('fetch_hwm_mb', 0):>10.0f}{r['archived_mb']:>12.1f}"
              f"{r['archived_per_page']:>8.0f}{r['duckdb_mb']:>10.0f}{r['resighted']:>10}{r['records']:>9}{r['errors']:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=8, help="times the timed pass does the work")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--child", choices=("plain", "fetch", "crawl", "replay"))
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--province", type=int, nargs="+", help="crawl a province of N sources (one per host)")
    parser.add_argument("--revisit", action="store_true", help="with --province: crawl it a second time")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--columns", default=",".join(SMALL_COLUMNS),
                        help="with --province: the demo's columns each source copies in turn ('all': every one)")
    parser.add_argument("--reread", action="store_true",
                        help="with --revisit: a third crawl reading every unchanged page again (re-sighting off)")
    parser.add_argument("--memory-limit", help="with --province: DuckDB's memory_limit for the crawl (e.g. 64MB)")
    parser.add_argument("--no-resight", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--province-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.province_child:
        print(json.dumps(province_child(args.workdir, args.server_pid, args.memory_limit, not args.no_resight)))
        return
    if args.province:
        province_main(args.province, args.revisit, args.workdir or Path(tempfile.mkdtemp(prefix="sgs-province-")),
                      args.seed, None if args.columns == "all" else args.columns.split(","), args.memory_limit,
                      args.reread)
        return
    if args.child:
        print(json.dumps(child(args.child, args.workdir, args.concurrency, args.rounds, args.server_pid)))
        return

    from democity import build, write_city

    workdir = Path(tempfile.mkdtemp(prefix="sgs-bench-"))
    city = build(2026)
    load_before = os.getloadavg()
    server = subprocess.Popen([sys.executable, str(REPO / "bench" / "crawl_server.py"), "--seed", str(city.seed)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        write_city(city, base_url, workdir)
        requests = _requests_of_a_crawl(workdir, args.concurrency)
        (workdir / "requests.json").write_text(json.dumps(requests, ensure_ascii=False))
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for mode in ("plain", "fetch", "crawl", "replay"):
                out = subprocess.run([sys.executable, __file__, "--child", mode, "--workdir", str(workdir),
                                      "--concurrency", str(args.concurrency), "--rounds", str(args.rounds),
                                      "--server-pid", str(server.pid)], capture_output=True, text=True,
                                     check=True)
                run = json.loads(out.stdout.strip().splitlines()[-1])
                if mode not in best or run["seconds"] < best[mode]["seconds"]:
                    best[mode] = run
    finally:
        server.stdin.close()  # the server stops when its stdin closes
        server.wait(timeout=30)
    a, b, c, r = (best[m] for m in ("plain", "fetch", "crawl", "replay"))
    rates = parse_rates(city)
    print(f"machine: {platform.processor() or platform.machine()}, {machine()}; Python {platform.python_version()}")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min)")
    print(f"demo city: {len(requests)} requests per crawl × {args.rounds} rounds per timed pass, "
          f"concurrency {args.concurrency}, best of {args.repeat}; server in its own process")
    print(f"{'mode':<8}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'peak MB':>9}{'cold s':>8}"
          f"{'CPU ms/pg':>11}{'in fetch proc':>15}{'server ms/pg':>14}{'cores busy':>12}")
    for run in (a, b, c, r):
        print(f"{run['mode']:<8}{run['pages']:>7}{run['seconds']:>9.2f}{run['pages_per_s']:>9.1f}"
              f"{run['peak_mb']:>9.0f}{run['cold']:>8.2f}{run['cpu_ms']:>11.2f}{run['fetch_cpu_ms']:>15.2f}"
              f"{run['server_cpu_ms']:>14.2f}"
              f"{run['cores_busy']:>12.2f}")
    print(f"crawl's fetch process: peak {c['fetch_peak_mb']:.0f} MB resident (pages shared with the crawl "
          f"after the fork counted in both)")
    print(f"(b)/(a) time: {b['seconds'] / a['seconds']:.2f}× (target ≤ 1.2×)")
    print(f"(c)/(a) pages/s: {c['pages_per_s'] / a['pages_per_s']:.0%} (target ≥ 60 %)")
    print(f"re-extraction: {r['records'] / r['seconds']:.0f} records/s ({r['records']} records, "
          f"{r['pages']} archived pages, no network)")
    for name, rate in rates.items():
        print(f"parse {name}: {rate:,.0f} pages/s")


if __name__ == "__main__":
    main()

"""A hostile web server on 127.0.0.1: one bad response costs that response, never the fetch process or the crawl.

Compression bombs (``gzip, gzip`` around 4 GiB of zeros, zlib and raw deflate, three layers, brotli we never ask
for), a body that never ends, lying Content-Lengths, a body trickling one byte every 2 s and a server silent
before its headers. Each ends in a Chinese ``FetchResult.error``. The bombs are fetched in a child process
whose peak memory is read there (``VmHWM``; for a whole crawl's fetch process, ``RUSAGE_CHILDREN``) and must
stay under ``PEAK_BOUND_MB`` — before bounded decoding, the 6.7 KB ``gzip, gzip`` answer took the fetch process
to 8 GB. Whole crawls show a bomb failing its page while the other departments are stored and published, and a
killed fetch process ending the crawl with a clear message.
"""
from __future__ import annotations

import asyncio
import functools
import gzip
import json
import multiprocessing
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest

from crawlers import run_crawl
from crawlers.fetch import Fetcher
from crawlers.inflate import DECODE_STEP, BoundedDecoder, Refused
from core.settings import Paths
from test_crawl_http import Site, _handler, build_site, demo_city, records

ROOT = Path(__file__).resolve().parents[1]
BOMB_ZEROS = 4 * 1024 ** 3  # what each bomb inflates to
PEAK_BOUND_MB = 200  # a fetching child's peak RSS (an interpreter with httpx is ~40 MB; the body limit is 20 MB)
MB = 1024 * 1024


# --- bombs, built in milliseconds -----------------------------------------------------------------

@functools.cache
def _deflated_zeros(total: int = BOMB_ZEROS) -> bytes:
    """Raw deflate of ``total`` zero bytes: after a full flush the compressor's state is reset, so every
    further MiB of zeros compresses to the same bytes, which are repeated instead of computed 4096 times."""
    zeros = bytes(MB)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == again
    return first + again * (total // MB - 1) + c.flush()


def _zero_checksums(total: int = BOMB_ZEROS) -> tuple[int, int]:
    """CRC-32 and Adler-32 of ``total`` zeros, for valid trailers, without reading 4 GiB: Adler-32 by its
    definition (the byte sum stays 1, the running sum adds 1 per byte); CRC-32 as zlib's ``crc32_combine``
    does, the register's zero-byte step being linear over GF(2), raised to the ``total``-th power by squaring."""
    def times(matrix: list[int], vector: int) -> int:
        out, i = 0, 0
        while vector:
            if vector & 1:
                out ^= matrix[i]
            vector, i = vector >> 1, i + 1
        return out

    def square(matrix: list[int]) -> list[int]:
        return [times(matrix, column) for column in matrix]

    step = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    for _ in range(3):
        step = square(step)  # one zero byte
    register, n = 0xFFFFFFFF, total
    while n:
        if n & 1:
            register = times(step, register)
        step, n = square(step), n >> 1
    return register ^ 0xFFFFFFFF, (total % 65521) << 16 | 1


def gzip_bomb(total: int = BOMB_ZEROS) -> bytes:
    """A valid gzip member of 4 GiB of zeros (about 4 MiB)."""
    crc, _ = _zero_checksums(total)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + _deflated_zeros(total)
            + struct.pack("<II", crc, total & 0xFFFFFFFF))


def zlib_bomb(total: int = BOMB_ZEROS) -> bytes:
    """The same zeros as RFC 1950 zlib data (``Content-Encoding: deflate`` as the RFC means it)."""
    _, adler = _zero_checksums(total)
    return b"\x78\xda" + _deflated_zeros(total) + struct.pack(">I", adler)


@functools.cache
def double_gzip_bomb() -> bytes:
    """``Content-Encoding: gzip, gzip``: the gzip bomb gzipped again — a few KB on the wire."""
    c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return c.compress(gzip_bomb()) + c.flush()


# --- the hostile server ---------------------------------------------------------------------------

Route = Callable[[BaseHTTPRequestHandler], None]


def _answer(body: bytes, *headers: tuple[str, str], length: int | None = -1) -> Route:
    """A route sending ``body`` with ``headers`` and a Content-Length (``length``; -1: the true one, None:
    none, the end of the body is the closed connection)."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            h.send_header(name, value)
        if length is not None:
            h.send_header("Content-Length", str(len(body) if length == -1 else length))
        h.end_headers()
        h.wfile.write(body)
    return route


def _endless(h: BaseHTTPRequestHandler) -> None:
    """No Content-Length and no end: 64 KiB after 64 KiB until the client hangs up (1 GiB at most)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    chunk = b"x" * 65536
    for _ in range(16384):
        h.wfile.write(chunk)


def _trickle(h: BaseHTTPRequestHandler) -> None:
    """Headers at once, then the body one byte every 2 s."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "100")
    h.end_headers()
    for _ in range(100):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(2)


def _not_modified(h: BaseHTTPRequestHandler) -> None:
    """A 304 stating the length of the (large) page it stands for, as RFC 9110 allows."""
    h.send_response(304)
    h.send_header("ETag", '"v1"')
    h.send_header("Content-Length", str(10 ** 9))
    h.end_headers()


def _silent(h: BaseHTTPRequestHandler) -> None:
    """Takes the request, says nothing for a while, then answers."""
    time.sleep(3)
    _answer(b"late")(h)


HOSTILE: dict[str, Route] = {
    "/gzip-gzip": lambda h: _answer(double_gzip_bomb(), ("Content-Encoding", "gzip, gzip"))(h),
    "/gzip-twice-headers": lambda h: _answer(double_gzip_bomb(), ("Content-Encoding", "gzip"),
                                             ("Content-Encoding", "gzip"))(h),
    "/deflate-zlib": lambda h: _answer(zlib_bomb(), ("Content-Encoding", "deflate"))(h),
    "/deflate-raw": lambda h: _answer(_deflated_zeros(), ("Content-Encoding", "deflate"))(h),
    "/gzip-chunked-no-length": lambda h: _answer(gzip_bomb(), ("Content-Encoding", "gzip"), length=None)(h),
    "/three-layers": _answer(b"\x1f\x8b", ("Content-Encoding", "gzip, gzip, gzip")),
    "/br": _answer(b"\x0b\x02\x80hello\x03", ("Content-Encoding", "br")),
    "/corrupt-gzip": _answer(b"\x1f\x8b\x08\x00garbage-not-deflate" * 10, ("Content-Encoding", "gzip")),
    "/endless": _endless,
    "/claims-a-terabyte": _answer(b"small", length=10 ** 12),
    "/claims-more": _answer(b"0123456789", length=1000),
    "/claims-less": _answer(b"0123456789" * 100_000, length=10),
    "/trickle": _trickle,
    "/silent": _silent,
    "/not-modified": _not_modified,
    "/utf8-encoding": _answer("<p>正常页面</p>".encode(), ("Content-Encoding", "UTF-8")),
}


def _hostile_handler(base: type[BaseHTTPRequestHandler]) -> type[BaseHTTPRequestHandler]:
    class Handler(base):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            route = HOSTILE.get(urlsplit(self.path).path)
            if route is None:
                return super().do_GET()
            try:
                route(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: as it should

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    """The fixture site of test_crawl_http (demo-city shapes) with the hostile routes beside it."""
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _hostile_handler(_handler(site)))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


def fetch(site: Site, path: str, headers: dict[str, str] | None = None, **options: object):
    async def go():
        async with Fetcher({urlsplit(site.base).netloc}, backoff=0.01, **options) as fetcher:
            return await fetcher.fetch(site.base + path, headers=headers)
    return asyncio.run(go())


CHILD_FETCH = """
import asyncio, json, sys
from crawlers.fetch import Fetcher

async def go(url):
    async with Fetcher({sys.argv[2]}, backoff=0.01, total_timeout=120) as fetcher:
        return await fetcher.fetch(url)

result = asyncio.run(go(sys.argv[1]))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would count the forked pytest's pages
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"error": result.error, "status": result.status, "attempts": result.attempts,
                  "body": len(result.body), "peak_kib": peak}))
"""


def _limited_address_space() -> None:
    """The child may not grow past 3 GiB of address space: a regression fails the test, not the machine."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 ** 3, 3 * 1024 ** 3))


def _run_child(code: str, *args: str, timeout: float = 180) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout, preexec_fn=_limited_address_space)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the decoder alone ----------------------------------------------------------------------------

def test_no_decoding_step_yields_more_than_a_step() -> None:
    decoder = BoundedDecoder(["gzip", "gzip"], 64 * MB)
    bomb, sizes = double_gzip_bomb(), []
    with pytest.raises(Refused, match=r"解压（gzip）后超过 67108864 字节上限，已放弃（疑为压缩炸弹）"):
        for i in range(0, len(bomb), 1000):
            for piece in decoder.feed(bomb[i:i + 1000]):
                sizes.append(len(piece))
    assert max(sizes) <= DECODE_STEP and sum(sizes) <= 64 * MB


def test_the_layer_limit_stops_a_bomb_in_its_first_layer() -> None:
    decoder = BoundedDecoder(["gzip", "gzip"], 1 * MB)
    with pytest.raises(Refused, match=r"解压（gzip）后超过 1048576 字节上限，已放弃（疑为压缩炸弹）"):
        for _ in decoder.feed(double_gzip_bomb()):
            pass


# --- one fetch, in a child process with its peak memory ---------------------------------------------

@pytest.mark.parametrize("path", ["/gzip-gzip", "/gzip-twice-headers", "/deflate-zlib", "/deflate-raw",
                                  "/gzip-chunked-no-length", "/endless"])
def test_bombs_and_endless_bodies_cost_one_bounded_attempt(site: Site, path: str) -> None:
    out = _run_child(CHILD_FETCH, site.base + path, urlsplit(site.base).netloc)
    assert out["status"] is None and out["attempts"] == 1 and out["body"] == 0
    assert f"{site.base}{path} 的响应" in out["error"] and "上限，已放弃" in out["error"]
    if path != "/endless":
        assert "疑为压缩炸弹" in out["error"]
    assert out["peak_kib"] < PEAK_BOUND_MB * 1024, f"峰值内存 {out['peak_kib'] // 1024} MB"


def test_the_bombs_are_small_on_the_wire_and_valid() -> None:
    assert len(double_gzip_bomb()) < 100_000 and len(gzip_bomb()) < 5 * MB
    small = 8 * MB  # built as the 4 GiB ones are, and read whole by the standard library
    assert gzip.decompress(gzip_bomb(small)) == zlib.decompress(zlib_bomb(small)) == bytes(small)


# --- the other hostile answers ---------------------------------------------------------------------

def test_too_many_layers_and_unrequested_codings_are_refused(site: Site) -> None:
    three = fetch(site, "/three-layers")
    assert three.status is None and three.attempts == 1
    assert "压缩了 3 层（Content-Encoding: gzip, gzip, gzip；最多 2 层）" in three.error
    br = fetch(site, "/br")
    assert br.attempts == 1 and "不支持的压缩编码 br（本系统只请求 gzip, deflate）" in br.error
    corrupt = fetch(site, "/corrupt-gzip")
    assert corrupt.attempts == 1 and "无法解压（Content-Encoding: gzip，数据损坏" in corrupt.error


def test_only_the_codings_we_decode_are_asked_for(site: Site) -> None:
    result = fetch(site, "/utf8-encoding")
    assert dict(result.request_headers)["accept-encoding"] == "gzip, deflate"


def test_a_token_that_is_no_coding_is_ignored_as_browsers_do(site: Site) -> None:
    result = fetch(site, "/utf8-encoding")
    assert result.ok and result.body.decode() == "<p>正常页面</p>"


def test_a_declared_length_over_the_limit_is_refused_unread(site: Site) -> None:
    result = fetch(site, "/claims-a-terabyte")
    assert result.status is None and result.attempts == 1
    assert "声明长度 1000000000000 字节，超过 20971520 字节上限，未读取" in result.error


def test_a_304_may_state_the_length_of_the_page_it_stands_for(site: Site) -> None:
    result = fetch(site, "/not-modified", headers={"If-None-Match": '"v1"'})
    assert result.status == 304 and result.error is None and result.attempts == 1


def test_a_body_shorter_than_its_length_is_an_incomplete_answer(site: Site) -> None:
    result = fetch(site, "/claims-more", retries=1)
    assert result.status is None and "响应不完整或不合 HTTP 规范" in result.error
    assert result.transient and result.attempts == 2  # a cut connection may be the network's: tried again


def test_a_body_longer_than_its_length_is_cut_at_the_length(site: Site) -> None:
    result = fetch(site, "/claims-less")
    assert result.ok and result.body == b"0123456789"


def test_a_trickling_body_costs_one_attempt(site: Site) -> None:
    result = fetch(site, "/trickle", total_timeout=3, retries=3)
    assert result.status is None and result.attempts == 1 and not result.transient
    assert result.error == (f"{site.base}/trickle 响应过慢，已放弃（已收到响应头，但 3 秒内未收完正文；不再重试）")


def test_silence_before_the_headers_is_still_retried(site: Site) -> None:
    result = fetch(site, "/silent", total_timeout=0.5, retries=1)
    assert result.status is None and result.transient and result.attempts == 2
    assert result.error == f"抓取 {site.base}/silent 超时"


def test_a_normal_gzipped_page_still_reads(site: Site) -> None:
    page = "<p>长沙市生态环境局</p>".encode() * 1000
    c = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    HOSTILE["/normal-gzip"] = _answer(c.compress(page) + c.flush(), ("Content-Encoding", "gzip"))
    try:
        result = fetch(site, "/normal-gzip")
    finally:
        del HOSTILE["/normal-gzip"]
    assert result.ok and result.body == page


# --- whole crawls ----------------------------------------------------------------------------------

CHILD_CRAWL = """
import json, resource, sys
from pathlib import Path
from crawlers import run_crawl
from core.settings import Paths
from test_crawl_http import Site, demo_city

site = Site()
site.base = sys.argv[1]
summary = run_crawl(demo_city(site), Paths(Path(sys.argv[2])), quiet=True, backoff=0.01, retries=1, timeout=20.0)
print(json.dumps({"status": summary.status, "failed": summary.failed_sources, "errors": summary.errors,
                  "records": {k: s.records for k, s in summary.sources.items()},
                  "statuses": {k: s.status for k, s in summary.sources.items()},
                  "snapshot": summary.snapshot is not None,
                  "fetcher_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def test_a_bomb_costs_its_page_and_the_other_departments_are_stored(site: Site, tmp_path: Path) -> None:
    """mkt's list page is the ``gzip, gzip`` bomb, env's detail page A2 a deflate bomb: the crawl (in a child,
    so the fetch process's peak is measured) finishes, env and the portal are stored and published."""
    build_site(site)
    mkt_list, a2 = f"{site.base}/d/mkt/xk/index.html", f"{site.base}/d/env/cf/detail/A2.html"
    HOSTILE["/d/mkt/xk/index.html"] = HOSTILE["/gzip-gzip"]
    HOSTILE["/d/env/cf/detail/A2.html"] = HOSTILE["/deflate-zlib"]
    try:
        paths = Paths(tmp_path / "sgs.duckdb")
        out = _run_child(CHILD_CRAWL, site.base, str(paths.db))
    finally:
        del HOSTILE["/d/mkt/xk/index.html"], HOSTILE["/d/env/cf/detail/A2.html"]
    assert out["status"] == "done" and out["snapshot"] and out["failed"] == ["mkt-xk"]
    assert out["statuses"] == {"env-cf": "partial", "mkt-xk": "failed", "portal-cf": "ok"}
    assert out["records"]["env-cf"] == 4 and out["records"]["portal-cf"] == 3
    errors = dict(out["errors"])
    assert "疑为压缩炸弹" in errors[mkt_list] and "疑为压缩炸弹" in errors[a2]
    assert out["fetcher_peak_kib"] < PEAK_BOUND_MB * 1024, f"抓取子进程峰值内存 {out['fetcher_peak_kib'] // 1024} MB"
    assert set(records(paths, "cf")) >= {"长环罚〔2026〕15号", "长环罚〔2026〕16号", "长环罚〔2026〕17号"}
    con = duckdb.connect(str(paths.db), read_only=True)
    try:
        bombs = con.execute("SELECT url, status, attempts, error FROM fetches WHERE url IN (?, ?) ORDER BY url",
                            [a2, mkt_list]).fetchall()
    finally:
        con.close()
    assert [(url, status, attempts) for url, status, attempts, _ in bombs] == [(a2, None, 1), (mkt_list, None, 1)]


def test_a_killed_fetch_process_ends_the_crawl_with_a_clear_message(site: Site, tmp_path: Path) -> None:
    """The fetch process is killed (as the system's OOM killer would) while mkt's list page is requested: the
    crawl does not hang; it ends, publishes what it stored, and says what happened and what to do."""
    build_site(site)

    def kill_the_fetcher(h: BaseHTTPRequestHandler) -> None:
        for child in multiprocessing.active_children():
            if child.name == "sgs-fetch":
                os.kill(child.pid, signal.SIGKILL)
        time.sleep(0.5)
    HOSTILE["/d/mkt/xk/detail/B1.html"] = kill_the_fetcher
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(summary=run_crawl(
        demo_city(site), Paths(tmp_path / "sgs.duckdb"), quiet=True, backoff=0.01, retries=1, timeout=5.0)),
        daemon=True)
    try:
        worker.start()
        worker.join(60)
    finally:
        del HOSTILE["/d/mkt/xk/detail/B1.html"]
    assert not worker.is_alive(), "抓取子进程被杀后抓取没有结束"
    summary = result["summary"]
    messages = [m for _, m in summary.errors]
    assert any("抓取子进程意外退出（被信号 9 终止，多为内存不足被系统终止）" in m and "重新运行 sgs crawl 续抓" in m
               for m in messages), messages
    assert not any("RuntimeError" in m or "Traceback" in m for m in messages)
    assert summary.snapshot is not None

"""The demo city on a loopback socket: a stdlib ``ThreadingHTTPServer`` in a daemon thread.

Loopback only, by construction: the demo must never be reachable from the network, so any other host is
refused before a socket is opened. Requests are not logged (a crawl makes over a thousand of them) but
counted per path (``requests``), so tests can prove what a crawl did and did not ask for.

Responses carry an ``ETag`` (a hash of the body) and a fixed ``Last-Modified``; a request whose
``If-None-Match`` matches, or (without one) whose ``If-Modified-Since`` is not before it, gets
``304 Not Modified``, as a CMS behind a caching front end answers.
``faults`` (``democity.faults.Faults``, opt-in) can make chosen paths slow, failing, truncated, … .

A province (``hosts=N``): the same site on N loopback addresses (127.0.1.1, 127.0.1.2, …, one port), so a
crawl sees N distinct hosts and keeps its politeness per host (``base_urls``); ``host_faults`` gives an
address faults of its own (a whole site failing), and ``peak`` is the most requests one address answered at
once, so a test can prove the crawler's per-host limit held.
"""
from __future__ import annotations

import hashlib
import ipaddress
import selectors
import socket
import threading
from collections import Counter
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from democity.model import LAST_PUBLICATION, DemoCity
from democity.pages import Response, Site

LAST_MODIFIED = f"{LAST_PUBLICATION:%a, %d %b %Y} 08:00:00 GMT"


def loopback_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The loopback address ``host`` names; ``ValueError`` for anything else ("localhost" is 127.0.0.1)."""
    try:
        addr = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise ValueError(f"示范城市只能在本机回环地址上运行，不能绑定 {host!r}") from None
    if not addr.is_loopback:
        raise ValueError(f"示范城市只能在本机回环地址上运行，不能绑定 {host!r}")
    return addr


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def province_addresses(count: int) -> list[str]:
    """``count`` loopback addresses for a province's sites: 127.0.1.1 … 127.0.1.250, 127.0.2.1, … (on Linux
    the whole of 127.0.0.0/8 is the loopback interface; 127.0.0.x is left to ordinary test servers)."""
    if not 1 <= count <= 250 * 250:
        raise ValueError(f"省级模拟的站点数须在 1 到 {250 * 250} 之间，而不是 {count}")
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


class _ManyServer(ThreadingHTTPServer):
    """One handler, one port, listening on several addresses at once (a selector over every socket)."""

    request_queue_size = 64
    allow_reuse_address = True

    def __init__(self, addresses: list[str], port: int, handler: Any) -> None:
        super().__init__((addresses[0], port), handler)
        self.extra: list[socket.socket] = []
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        port = self.server_address[1]
        try:
            for address in addresses[1:]:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.extra.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                sock.listen(self.request_queue_size)
        except OSError:
            self.server_close()
            raise

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                for sock in (self.socket, *self.extra):
                    selector.register(sock, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    for key, _ in selector.select(poll_interval):
                        listener = key.fileobj
                        assert isinstance(listener, socket.socket)
                        try:
                            request, client = listener.accept()
                        except OSError:
                            continue
                        self.process_request(request, client)
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._stopping.set()
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        for sock in self.extra:
            sock.close()


class DemoServer:
    """Serve ``city`` on ``host:port`` (port 0 picks a free one) from construction until ``stop()``."""

    def __init__(self, city: DemoCity, host: str = "127.0.0.1", port: int = 0, faults=None, *, hosts: int = 0,
                 host_faults: dict[str, Any] | None = None) -> None:
        addr = loopback_address(host)
        site = Site(city)
        self.site = site  # what it serves; ``site.set_as_of(day)`` shows the city as it stood that day
        counter: Counter[str] = Counter()
        lock = threading.Lock()
        self.requests = counter
        self._lock = lock
        in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()  # address → most requests it answered at once
        self.by_host: Counter[str] = Counter()  # address → requests answered
        peak, by_host = self.peak, self.by_host
        by_address: dict[str, Any] = {} if host_faults is None else host_faults
        self.host_faults = by_address  # address → its own faults (a test may add some before crawling)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "democity/1"
            # headers and body go out in two writes: with Nagle on, the body waits for the client's delayed
            # ACK (~40 ms a request on loopback), which made the demo, not the crawler, the bottleneck
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                self._send(head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._send(head=True)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._send(head=False, method="POST", form=self.rfile.read(length).decode("utf-8", "replace"))

            def _send(self, head: bool, method: str = "GET", form: str = "") -> None:
                local = self.connection.getsockname()[0]
                with lock:
                    in_flight[local] += 1
                    peak[local] = max(peak[local], in_flight[local])
                    by_host[local] += 1
                try:
                    self._answer(head, method, form, by_address.get(local, faults))
                finally:
                    with lock:
                        in_flight[local] -= 1

            def _answer(self, head: bool, method: str, form: str, faults: Any) -> None:
                parts = urlsplit(self.path)
                key = parts.path + (f"?{parts.query}" if parts.query else "") + (f" POST {form}" if form else "")
                with lock:
                    counter[key] += 1
                    hit = counter[key]
                def render() -> Response:
                    return site.respond(parts.path, parts.query, method, form)

                if faults is not None and faults.apply(self, parts.path, hit, render):
                    return
                self._write(render(), head)

            def _not_modified(self, etag: str) -> bool:
                """The client's copy is current: its ETag matches, or (no ETag sent) it is not older."""
                match = self.headers.get("If-None-Match")
                if match is not None:
                    return match == etag
                since = self.headers.get("If-Modified-Since")
                try:
                    return since is not None and parsedate_to_datetime(since) >= parsedate_to_datetime(LAST_MODIFIED)
                except (TypeError, ValueError):
                    return False

            def _write(self, resp: Response, head: bool) -> None:
                headers = list(resp.headers)
                if resp.status == 200:
                    etag = '"' + hashlib.md5(resp.body).hexdigest() + '"'
                    headers += [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
                    if self._not_modified(etag):
                        resp = Response(304, resp.content_type, b"")
                self.send_response(resp.status)
                if resp.status != 304:
                    self.send_header("Content-Type", resp.content_type)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                if not head:
                    self.wfile.write(resp.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.city = city
        self._httpd = self._bind(addr, port, Handler, hosts)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="democity", daemon=True)
        self._thread.start()
        host_part = f"[{addr}]" if addr.version == 6 else str(addr)
        port = self._httpd.server_address[1]
        # a province's sites, one per address; else the one site
        self.base_urls = ([f"http://{a}:{port}" for a in province_addresses(hosts)] if hosts
                          else [f"http://{host_part}:{port}"])
        self.base_url = self.base_urls[0]

    @staticmethod
    def _bind(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, handler: Any,
              hosts: int) -> ThreadingHTTPServer:
        """The listening server: one address, or a province's (the same free port on each: tried again
        with another when one of the addresses has it taken)."""
        if not hosts:
            return (_Server6 if addr.version == 6 else ThreadingHTTPServer)((str(addr), port), handler)
        for _ in range(20):
            try:
                return _ManyServer(province_addresses(hosts), port, handler)
            except OSError:
                if port:
                    raise
        raise OSError(f"找不到在 {hosts} 个回环地址上都空闲的端口")

    def served(self) -> int:
        """Requests answered so far (all paths)."""
        with self._lock:
            return sum(self.requests.values())

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call twice)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

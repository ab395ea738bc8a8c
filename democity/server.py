"""The demo city on a loopback socket: a stdlib ``ThreadingHTTPServer`` in a daemon thread.

Loopback only, by construction: the demo must never be reachable from the network, so any other host is
refused before a socket is opened. Requests are not logged (a crawl makes over a thousand of them) but
counted per path (``requests``), so tests can prove what a crawl did and did not ask for.

Responses carry an ``ETag`` (a hash of the body) and a fixed ``Last-Modified``; a request whose
``If-None-Match`` matches gets ``304 Not Modified``, as a CMS behind a caching front end answers.
``faults`` (``democity.faults.Faults``, opt-in) can make chosen paths slow, failing, truncated, … .
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
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


class DemoServer:
    """Serve ``city`` on ``host:port`` (port 0 picks a free one) from construction until ``stop()``."""

    def __init__(self, city: DemoCity, host: str = "127.0.0.1", port: int = 0, faults=None) -> None:
        addr = loopback_address(host)
        site = Site(city)
        self.site = site  # what it serves; ``site.set_as_of(day)`` shows the city as it stood that day
        counter: Counter[str] = Counter()
        lock = threading.Lock()
        self.requests = counter
        self._lock = lock

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

            def _write(self, resp: Response, head: bool) -> None:
                headers = list(resp.headers)
                if resp.status == 200:
                    etag = '"' + hashlib.md5(resp.body).hexdigest() + '"'
                    headers += [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
                    if self.headers.get("If-None-Match") == etag:
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

        server_class = _Server6 if addr.version == 6 else ThreadingHTTPServer
        self.city = city
        self._httpd = server_class((str(addr), port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="democity", daemon=True)
        self._thread.start()
        host_part = f"[{addr}]" if addr.version == 6 else str(addr)
        self.base_url = f"http://{host_part}:{self._httpd.server_address[1]}"

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

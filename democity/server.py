"""The demo city on a loopback socket: a stdlib ``ThreadingHTTPServer`` in a daemon thread.

Loopback only, by construction: the demo must never be reachable from the network, so any other host is
refused before a socket is opened. Requests are not logged (a crawl makes over a thousand of them).
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from democity.generate import DemoCity
from democity.pages import Site


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

    def __init__(self, city: DemoCity, host: str = "127.0.0.1", port: int = 0) -> None:
        addr = loopback_address(host)
        site = Site(city)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "democity/1"

            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                self._send(head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._send(head=True)

            def _send(self, head: bool) -> None:
                parts = urlsplit(self.path)
                resp = site.respond(parts.path, parts.query)
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
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

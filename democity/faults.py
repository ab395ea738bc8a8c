"""Fault injection for the demo server (opt-in; the default demo has none): what real sites do to a crawler.

``Faults`` maps paths (exact path, or a prefix ending in ``*``) to a ``Fault``; ``DemoServer(city,
faults=Faults({...}))`` consults it on every request. ``times`` is how many hits of the path misbehave
before it recovers (None: forever), so a test can tell "retries recovered it" from "reported as failed".

Kinds:

- ``slow``: answer after ``seconds`` (the crawl must wait, not give up);
- ``timeout``: hold the request ``seconds`` (longer than the client's read timeout) and close;
- ``error500``: ``500 Internal Server Error``;
- ``reset``: close the connection without answering (connection reset);
- ``truncate``: promise a longer body than is sent, then close (a truncated body);
- ``wrong_charset``: send the page GB18030-encoded while the header says ``charset=utf-8``;
- ``redirect_loop``: ``302`` to itself;
- ``oversized``: pad the page to ``size`` bytes (the crawler's body limit must stop it);
- ``robots``: ``/robots.txt`` disallows the path (the crawler must not ask for it at all).
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

KINDS = ("slow", "timeout", "error500", "reset", "truncate", "wrong_charset", "redirect_loop", "oversized", "robots")


@dataclass(frozen=True)
class Fault:
    kind: str
    times: int | None = 1  # hits that misbehave before the path recovers; None = always
    seconds: float = 1.0  # slow, timeout
    size: int = 2_000_000  # oversized

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"未知的故障类型 {self.kind!r}（可用：{', '.join(KINDS)}）")


class Faults:
    """The faults of one server, by path (``/d/x/cf/list`` or ``/d/x/cf/detail/*``)."""

    def __init__(self, rules: dict[str, Fault]) -> None:
        self.rules = rules

    def find(self, path: str) -> Fault | None:
        if path in self.rules:
            return self.rules[path]
        return next((f for p, f in self.rules.items() if p.endswith("*") and path.startswith(p[:-1])), None)

    def robots_txt(self) -> bytes:
        lines = ["User-agent: *"] + [f"Disallow: {p.rstrip('*')}" for p, f in self.rules.items() if f.kind == "robots"]
        return ("\n".join(lines) + "\n").encode()

    def apply(self, handler: BaseHTTPRequestHandler, path: str, hit: int, render) -> bool:
        """Handle the request if a fault applies (True); ``render()`` gives the normal response."""
        if path == "/robots.txt" and any(f.kind == "robots" for f in self.rules.values()):
            _send(handler, 200, "text/plain", self.robots_txt())
            return True
        fault = self.find(path)
        if fault is None or fault.kind == "robots" or (fault.times is not None and hit > fault.times):
            return False
        kind = fault.kind
        if kind == "slow":
            time.sleep(fault.seconds)
            return False
        if kind == "timeout":
            time.sleep(fault.seconds)
            _close(handler)
            return True
        if kind == "error500":
            _send(handler, 500, "text/html; charset=utf-8", "<h1>500 服务器内部错误</h1>".encode())
            return True
        if kind == "reset":
            _close(handler, reset=True)
            return True
        if kind == "redirect_loop":
            handler.send_response(302)
            handler.send_header("Location", handler.path)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True
        resp = render()
        if kind == "truncate":
            handler.send_response(resp.status)
            handler.send_header("Content-Type", resp.content_type)
            handler.send_header("Content-Length", str(len(resp.body)))
            handler.end_headers()
            handler.wfile.write(resp.body[: len(resp.body) // 2])
            _close(handler)
        elif kind == "wrong_charset":
            text = resp.body.decode("utf-8").replace('<meta charset="utf-8">', "")
            _send(handler, resp.status, "text/html; charset=utf-8", text.encode("gb18030"))
        elif kind == "oversized":
            _send(handler, resp.status, resp.content_type, resp.body + b" " * max(0, fault.size - len(resp.body)))
        return True


def _send(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _close(handler: BaseHTTPRequestHandler, reset: bool = False) -> None:
    """End the connection without (the rest of) an answer; ``reset`` sends an RST instead of a FIN."""
    handler.close_connection = True
    try:
        handler.wfile.flush()
        if reset:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

"""The polite fetcher: one ``httpx.AsyncClient``, per-host limits, retries, and nothing off the configured hosts.

Government sites are small servers; the monitor must not hammer them (real-world-sites.md). So each host
gets its own semaphore (the source's ``concurrency``) and an optional pause between requests; transient
failures (5xx, connection errors, timeouts) are retried with exponential backoff and jitter, while 4xx
answers are final (retrying a 404 only adds load). Redirects are followed by hand so that every hop is
checked against the allowed hosts. robots.txt is read once per host and honoured (with its Crawl-delay)
unless a source opts out. Conditional request headers (If-None-Match / If-Modified-Since) are the caller's
to pass; a 304 comes back as a normal result. Every outcome, including failure, comes back as a
``FetchResult``: callers archive and report, they never see an exception from here.

A hostile or broken server costs one bounded request, never the crawl. The body is read raw and decoded
by ``crawlers.inflate`` in bounded steps, not by httpx, and ``max_bytes`` bounds the bytes on the wire, the output
of each layer and the body.
A total timeout that fires once the answer has begun (headers in, body trickling) is final, not retried.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpcore
import httpx
from protego import Protego

from core.settings import USER_AGENT
from crawlers.inflate import ACCEPT_ENCODING, BoundedDecoder, Refused

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# requests on the wire at once, all hosts together: httpcore's pool (100 connections) scans its waiting
# requests against its connections on every request, so thousands of hosts each at their own limit made
# that scan, not the network, the fetch process's work (a province: 5,000 sources)
MAX_IN_FLIGHT = 100
ROBOTS_KEPT = 256  # distinct robots.txt texts parsed once and shared by the hosts that serve them
RETRY_STATUSES = range(500, 600)


@dataclass
class FetchResult:
    """One fetch's outcome; ``status`` is None when no response came back (then ``error`` says why)."""

    url: str
    final_url: str
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0
    reason: str = ""
    http_version: str = "HTTP/1.1"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    transient: bool = False  # no answer for a reason another try may cure (timeout, refused connection)
    method: str = "GET"
    form: dict[str, str] | None = None  # the POSTed form, for a POST
    robots_denied: bool = False
    failure: str | None = None  # why no answer came: timeout, connect, network, refused, host, redirects

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class _Host:
    """Politeness state of one host: how many requests at once, and when the next may start."""

    concurrency: int
    delay: float
    semaphore: asyncio.Semaphore = field(init=False)
    lock: asyncio.Lock | None = None  # made when the host has a delay to keep (a province has thousands of hosts)
    next_start: float = 0.0
    robots: bool = True
    rules: Protego | None = None
    rules_loaded: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.concurrency)


@dataclass
class _Attempt:
    """What one request got to before it ended: a timeout after the headers is the body's slowness."""

    responded: bool = False


class Fetcher:
    """Async, polite HTTP GETs restricted to ``allowed_hosts`` (``City.hosts()``: netlocs, port included)."""

    def __init__(
        self,
        allowed_hosts: set[str],
        *,
        user_agent: str = USER_AGENT,
        connect_timeout: float = 10.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 5,
        concurrency: int = 2,
    ) -> None:
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.total_timeout = total_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.default_concurrency = concurrency
        self._user_agent = ascii_header(user_agent)
        self._hosts: dict[str, _Host] = {}
        # hosts whose sources are all done (``forget_host``): their settings only, should a redirect come back
        self._forgotten: dict[str, tuple[int, float, bool]] = {}
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._robots_parsed: dict[str, Protego] = {}
        self._client = httpx.AsyncClient(
            headers={"User-Agent": ascii_header(user_agent), "Accept-Language": "zh-CN,zh;q=0.9",
                     "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment must not silently carry the crawl elsewhere
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def configure_host(self, host: str, *, concurrency: int = 2, delay: float = 0.0, robots: bool = True) -> None:
        """Set a host's limits; when several sources share a host the most polite setting wins."""
        host = host.lower()
        current = self._hosts.get(host)
        if current is not None:
            concurrency = min(concurrency, current.concurrency)
            delay = max(delay, current.delay)
            robots = robots or current.robots
        self._hosts[host] = _Host(max(1, concurrency), max(0.0, delay), robots=robots)

    async def forget_host(self, host: str) -> None:
        """Let go of a host whose sources are all done: its politeness state (semaphore, parsed robots.txt)
        and its idle keep-alive connections. A province walks thousands of hosts one after another; what each
        held would otherwise stay until the crawl ends. Its limits are kept (three numbers), so a later request
        to it — a redirect from another source — is as polite as before (robots.txt then read again)."""
        host = host.lower()
        state = self._hosts.pop(host, None)
        if state is None:
            return
        self._forgotten[host] = (state.concurrency, state.delay, state.robots)
        parts = urlsplit(f"//{host}")
        origins = [httpcore.Origin(scheme, (parts.hostname or "").encode(), parts.port or port)
                   for scheme, port in ((b"http", 80), (b"https", 443))]
        pool = getattr(self._client._transport, "_pool", None)  # httpcore's pool drops closed connections itself
        for connection in list(getattr(pool, "connections", ())):
            if connection.is_idle() and any(connection.can_handle_request(o) for o in origins):
                await connection.aclose()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc.lower() in self.allowed_hosts

    async def fetch(self, url: str, *, form: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> FetchResult:
        """GET ``url`` (POST ``form`` when given) politely; never raises for network or HTTP trouble."""
        started = time.monotonic()
        result = await self._fetch_with_retries(url, form, headers or {})
        result.elapsed = time.monotonic() - started
        result.method, result.form = ("POST", form) if form is not None else ("GET", None)
        return result

    async def _fetch_with_retries(self, url: str, form: dict[str, Any] | None, headers: dict[str, str]) -> FetchResult:
        attempt = 0
        while True:
            attempt += 1
            result = await self._follow(url, form, headers)
            result.attempts = attempt
            if not _transient(result) or attempt > self.retries:
                return result
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1) + random.uniform(0, self.backoff))

    async def _follow(self, url: str, form: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> FetchResult:
        """One attempt, following redirects by hand so every hop is checked against the allowed hosts.

        A 301/302/303 turns a POST into a GET, as browsers do.
        """
        current = url
        for _ in range(self.max_redirects + 1):
            if not self.allowed(current):
                return FetchResult(url, current, error=f"拒绝抓取 {current}：主机不在配置的来源范围内", failure="host")
            if not await self._robots_allow(current):
                return FetchResult(url, current, error=f"robots.txt 禁止抓取 {current}，已遵守", robots_denied=True)
            result = await self._one(url, current, form, headers or {})
            location = result.header("location")
            if result.status not in (301, 302, 303, 307, 308) or not location:
                return result
            current = urljoin(current, location)
            form = form if result.status in (307, 308) else None
        return FetchResult(url, current, error=f"抓取 {url} 失败：重定向超过 {self.max_redirects} 次", failure="redirects")

    async def _robots_allow(self, url: str) -> bool:
        """Whether the host's robots.txt lets our User-Agent fetch ``url`` (read once per host).

        No robots.txt (4xx) or an unreadable one means no rules, as RFC 9309 says for 4xx; its Crawl-delay
        raises the host's delay. Read by Protego (scrapy's parser, RFC 9309 with ``*`` and ``$``): the standard
        library's ``urllib.robotparser`` reads ``Disallow: /*.jsp$`` as a literal path and allows every page.
        """
        parts = urlsplit(url)
        host = self._host(parts.netloc.lower())
        if not host.robots or parts.path == "/robots.txt":
            return True
        if host.rules_loaded is None:
            host.rules_loaded = asyncio.Event()
            robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
            result = await self._one(robots_url, robots_url, None, {})
            if result.ok:
                rules = self._robots_rules(result.body.decode("utf-8", "replace"))
                host.rules = rules
                delay = rules.crawl_delay(self._user_agent)
                if delay:
                    host.delay = max(host.delay, float(delay))
            host.rules_loaded.set()
        await host.rules_loaded.wait()
        return host.rules is None or host.rules.can_fetch(url, self._user_agent)

    def _robots_rules(self, text: str) -> Protego:
        """A robots.txt parsed, once per distinct text: many hosts (a CMS's default file) share one."""
        rules = self._robots_parsed.get(text)
        if rules is None:
            rules = Protego.parse(text)
            if len(self._robots_parsed) < ROBOTS_KEPT and len(text) <= 65536:
                self._robots_parsed[text] = rules
        return rules

    async def _one(self, url: str, current: str, form: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> FetchResult:
        """A single request under the host's semaphore and delay, with the total-time limit."""
        host = self._host(urlsplit(current).netloc.lower())
        async with host.semaphore:
            await self._wait_turn(host)
            async with self._in_flight:  # after the host's pause: a pausing host holds no slot
                return await self._attempt(url, current, form, headers or {})

    async def _attempt(self, url: str, current: str, form: dict[str, Any] | None,
                       headers: dict[str, str]) -> FetchResult:
        """One request with the total-time limit; every failure a ``FetchResult`` saying why (``failure``)."""
        attempt = _Attempt()
        try:
            # asyncio.timeout, not wait_for: no extra task per request (measurable on a fast server)
            async with asyncio.timeout(self.total_timeout):
                return await self._request(url, current, form, headers, attempt)
        except (TimeoutError, httpx.TimeoutException):
            if attempt.responded:  # the body trickles: another try would cost as long again
                return FetchResult(url, current, error=f"{current} 响应过慢，已放弃（已收到响应头，但 "
                                   f"{self.total_timeout:g} 秒内未收完正文；不再重试）", failure="timeout")
            return FetchResult(url, current, error=f"抓取 {current} 超时", transient=True, failure="timeout")
        except httpx.ConnectError as exc:
            return FetchResult(url, current, error=f"无法连接 {current}：连接被拒绝或主机不可达（{exc}）",
                               transient=True, failure="connect")
        except httpx.RemoteProtocolError as exc:
            return FetchResult(url, current, error=f"{current} 的响应不完整或不合 HTTP 规范（连接提前关闭、"
                               f"长度不符或报头错误：{exc}）", transient=True,
                               failure="network")
        except httpx.TransportError as exc:
            return FetchResult(url, current, error=f"抓取 {current} 失败：{type(exc).__name__} {exc}",
                               transient=True, failure="network")
        except Refused as exc:
            return FetchResult(url, current, error=f"{current} 的响应{exc}", failure="refused")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return FetchResult(url, current, error=f"抓取 {current} 失败：{type(exc).__name__} {exc}",
                               failure="network")

    def _host(self, host: str) -> _Host:
        if host not in self._hosts:
            concurrency, delay, robots = self._forgotten.pop(host, (self.default_concurrency, 0.0, True))
            self.configure_host(host, concurrency=concurrency, delay=delay, robots=robots)
        return self._hosts[host]

    @staticmethod
    async def _wait_turn(host: _Host) -> None:
        """Space request starts on one host at least ``delay`` seconds apart."""
        if host.delay <= 0:
            return
        if host.lock is None:
            host.lock = asyncio.Lock()
        async with host.lock:
            now = time.monotonic()
            if host.next_start > now:
                await asyncio.sleep(host.next_start - now)
            host.next_start = max(now, host.next_start) + host.delay

    async def _request(self, url: str, current: str, form: dict[str, Any] | None, headers: dict[str, str],
                       attempt: _Attempt) -> FetchResult:
        method = "POST" if form is not None else "GET"
        async with self._client.stream(method, current, data=form, headers=headers) as response:
            attempt.responded = True
            body = await self._read_body(response)
            error = f"{current} 返回 HTTP {response.status_code}" if response.status_code >= 400 else None
            return FetchResult(
                url=url,
                final_url=str(response.url),
                status=response.status_code,
                headers=list(response.headers.multi_items()),
                body=body,
                error=error,
                reason=response.reason_phrase,
                http_version=response.http_version,
                request_headers=list(response.request.headers.multi_items()),
            )

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, ``max_bytes`` applied to the wire bytes, each encoding layer and the result,
        checked after every step of at most ``DECODE_STEP`` bytes (``Refused`` when one is broken)."""
        declared = response.headers.get("content-length", "")
        bodiless = response.status_code in (204, 304)  # a 304 may state the length of the page it stands for
        if declared.isdigit() and int(declared) > self.max_bytes and not bodiless:
            raise Refused(f"声明长度 {declared} 字节，超过 {self.max_bytes} 字节上限，未读取")
        decoder = BoundedDecoder(response.headers.get_list("content-encoding", split_commas=True), self.max_bytes)
        body = bytearray()
        received = 0
        async for raw in response.aiter_raw():
            received += len(raw)
            self._check_size(received)
            for piece in decoder.feed(raw):
                body += piece
                self._check_size(len(body))
        for piece in decoder.finish():
            body += piece
            self._check_size(len(body))
        return bytes(body)

    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise Refused(f"超过 {self.max_bytes} 字节上限，已放弃")


def ascii_header(value: str) -> str:
    """HTTP header values must be ASCII; other characters (a Chinese User-Agent) are percent-encoded."""
    return value if value.isascii() else quote(value, safe="".join(chr(c) for c in range(0x20, 0x7F)))


def _transient(result: FetchResult) -> bool:
    """Worth another try: a 5xx answer or a network failure; never a 4xx, a refused host or an oversize body."""
    return result.status in RETRY_STATUSES if result.status is not None else result.transient

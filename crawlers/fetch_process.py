"""The fetcher in a process of its own, so requests stay in flight while the crawl archives, reads and stores.

A crawl spends about a third of its CPU time in the HTTP client (httpx) and two thirds on what it does with
the answers; in one process the two take turns on one core, and while a page is being read no request of
that host is on the wire. Here the real ``Fetcher`` (every politeness rule: per-host semaphore and delay,
robots.txt, retries, redirects checked against the configured hosts, the size limit) runs on the event loop
of a child process, and the crawl talks to it through this stand-in with the same ``fetch``. The crawl and
the fetcher then run on two cores, and the fetcher keeps a host's ``concurrency`` requests going whatever
the crawl is doing.

The protocol is pickled tuples, each prefixed by its length, over a socket pair: ``(n, url, form,
headers)`` one way, ``(n, FetchResult)`` the other; ``(None, host)`` tells the child that the crawl is done
with a host (its state can go: memory flat in a province's thousands of hosts). The child is forked before the crawl opens its database
or archive (a fork costs milliseconds; a fresh interpreter importing httpx would cost a quarter of a
second per crawl), runs nothing of the crawl's, and leaves with ``os._exit`` (multiprocessing's fork
start). It ends when the crawl closes its end of the socket — also when the crawl's process is killed
(``kill -9``): the socket's end is the child's signal to go, so no fetcher outlives its crawl.

The other way round, a child that dies (killed by the system for memory, a native crash) closes its end: every
request waiting and every later one fails with ``FetchProcessDied``, naming the exit code, so the crawl ends
its sources with that message instead of waiting. Every message is bounded: a body is at most the fetcher's
``max_bytes``, and a result that cannot be sent (too large for the length prefix, unpicklable) is answered
with an error result, never left unanswered.
"""
from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import pickle
import signal
import socket
import struct
from typing import Any

from crawlers.fetch import FetchResult, Fetcher
from core.errors import SgsError

_LENGTH = struct.Struct("!I")
MAX_MESSAGE = 2 ** 32 - 1  # what the length prefix can say


class FetchProcessDied(SgsError, RuntimeError):
    """The fetch process is gone: no request of this crawl can be made any more.

    Its repr is its (Chinese) message, because the crawl reports an unexpected error by its repr.
    """

    def __repr__(self) -> str:
        return str(self)


HostSettings = tuple[str, int, float, bool]  # host, concurrency, delay, robots
SPAWN_ABOVE = 1000  # hosts past which the fetch process is spawned, not forked (see FetchProcess)


class FetchProcess:
    """A ``Fetcher(allowed_hosts, **options)`` in a child process, its hosts configured with ``hosts``.

    Forks when created (do it before opening files the child must not hold); then ``open`` and ``fetch``
    on one event loop, ``aclose`` when done with the loop, and ``close`` in any case.
    """

    def __init__(self, allowed_hosts: set[str], hosts: list[HostSettings], **options: object) -> None:
        self._socket, theirs = socket.socketpair()
        # a province's configuration (thousands of sources) is tens of MB of the crawl's heap: a forked child
        # ends up owning every page of it the crawl writes to later (copy on write), so past SPAWN_ABOVE hosts
        # the child is a fresh interpreter (a second or so, once a crawl), else a fork (~5 ms)
        spawn = len(hosts) > SPAWN_ABOVE
        context: Any = multiprocessing.get_context("spawn" if spawn else "fork")
        self._process = context.Process(
            target=_serve, args=(theirs, None if spawn else self._socket, allowed_hosts, hosts, options),
            daemon=True, name="sgs-fetch")
        self._process.start()
        theirs.close()
        self._numbers = itertools.count()
        self._pending: dict[int, asyncio.Future[FetchResult]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._receiver: asyncio.Task[Any] | None = None

    async def open(self) -> None:
        """Attach to the running event loop (once, before the first ``fetch``)."""
        reader, self._writer = await asyncio.open_unix_connection(sock=self._socket)
        self._receiver = asyncio.create_task(self._receive(reader))

    async def fetch(self, url: str, *, form: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> FetchResult:
        """As ``Fetcher.fetch``: never raises for network or HTTP trouble."""
        assert self._writer is not None and self._receiver is not None, "FetchProcess.open() first"
        if self._receiver.done():
            raise self._died()
        number = next(self._numbers)
        future: asyncio.Future[FetchResult] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        _send(self._writer, (number, url, form, headers))
        try:
            return await future
        finally:
            self._pending.pop(number, None)

    def forget_host(self, host: str) -> None:
        """The crawl is done with ``host`` (every source on it finished): the child lets go of its state
        (``Fetcher.forget_host``). A message with no number, answered by nothing."""
        assert self._writer is not None, "FetchProcess.open() first"
        if not self._receiver or not self._receiver.done():
            _send(self._writer, (None, host))

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        """Hand each result to the request waiting for it; if the child dies, fail every waiting request."""
        try:
            while (message := await _read(reader)) is not None:
                future = self._pending.get(message[0])
                if future is not None and not future.done():
                    future.set_result(message[1])
        finally:
            if waiting := [f for f in self._pending.values() if not f.done()]:
                lost = self._died()
                for future in waiting:
                    future.set_exception(lost)

    def _died(self) -> FetchProcessDied:
        """Why no request can be made: the child's exit code (a moment to reap it) and what to do."""
        if self._process.exitcode is None:
            self._process.join(1)
        code = self._process.exitcode
        how = ("仍在运行但断开了连接" if code is None else f"被信号 {-code} 终止" if code < 0 else f"退出码 {code}")
        hint = "，多为内存不足被系统终止" if code == -signal.SIGKILL else ""
        return FetchProcessDied(f"抓取子进程意外退出（{how}{hint}），本次抓取无法再请求网页；已抓取的页面已保存，"
                                f"请查明原因（如系统日志中的内存不足记录）后重新运行 sgs crawl 续抓")

    async def aclose(self) -> None:
        """Close our end: the child's signal to stop (``close`` later waits for it, off the crawl's path)."""
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            if self._receiver is not None:
                await self._receiver

    def close(self) -> None:
        """Close our end if still open and wait for the child to leave (killed after 10 s)."""
        self._socket.close()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _send(writer: asyncio.StreamWriter, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"消息 {len(data)} 字节，超过协议上限 {MAX_MESSAGE} 字节")
    writer.write(_LENGTH.pack(len(data)) + data)


async def _read(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next message, or None when the other side has closed its end."""
    try:
        size, = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        message: tuple[Any, ...] = pickle.loads(await reader.readexactly(size))
        return message
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


# --- the child -------------------------------------------------------------------------------------

def _serve(sock: socket.socket, parents: socket.socket | None, allowed_hosts: set[str],
           hosts: list[HostSettings], options: dict[str, Any]) -> None:
    if parents is not None:  # the crawl's end, inherited by a fork: only the crawl may hold it, or EOF never comes
        parents.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's to handle; its closing socket stops us
    asyncio.run(_serve_async(sock, allowed_hosts, hosts, options))


async def _serve_async(sock: socket.socket, allowed_hosts: set[str], hosts: list[HostSettings],
                       options: dict[str, Any]) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    tasks: set[asyncio.Task[Any]] = set()

    async def one(number: int, url: str, form: dict[str, Any] | None, headers: dict[str, Any] | None) -> None:
        try:
            result = await fetcher.fetch(url, form=form, headers=headers)
        except Exception as exc:  # a bug, not the network: answer anyway, or the crawl would wait for ever
            result = FetchResult(url, url, error=f"抓取 {url} 时出错：{exc!r}", form=form)
        try:
            _send(writer, (number, result))
        except Exception as exc:  # too large or unpicklable: the crawl still gets an answer
            _send(writer, (number, FetchResult(url, url, error=f"抓取 {url} 的结果无法传回：{exc}", form=form)))

    async with Fetcher(allowed_hosts, **options) as fetcher:
        for host, concurrency, delay, robots in hosts:
            fetcher.configure_host(host, concurrency=concurrency, delay=delay, robots=robots)
        while (message := await _read(reader)) is not None:
            if message[0] is None:  # a host the crawl is done with (``FetchProcess.forget_host``)
                task = asyncio.create_task(fetcher.forget_host(message[1]))
            else:
                task = asyncio.create_task(one(*message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    writer.close()

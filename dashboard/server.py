"""The HTTP side of the dashboard: download links live only as long as the session that made them, and
Streamlit's unauthenticated metrics endpoint is closed.

Why: Streamlit (1.67) serves every generated file at ``/media/<id>`` to anyone holding the link, with no
session or cookie check, and keeps a downloaded file in memory until two later script runs of *any*
session collect it — a report downloaded before the browser closed was still served 20 minutes later. And
``/_stcore/metrics`` answers anyone, with no option to turn it off. Streamlit offers no setting for either,
but its ``st.App`` takes ASGI middleware and a lifespan, so ``streamlit_server.py`` (what ``sgs serve``
runs) wraps the app with this guard:

* Every file a download button produces is recorded with the session that asked for it (the deferred
  download's own record, taken when the file is made). ``/media/<id>`` is answered only while that session
  is connected; a link of a closed tab, of a session that logged out (``revoke_session``) or of a file not
  made for a live session gets 404, and the file is dropped from memory.
* A download link works once: after the browser has fetched the file it is dropped (a new click makes it
  again).
* ``/_stcore/metrics`` gets 404 (nothing in the dashboard uses it).
* ``POST /_sgs/session`` exchanges a login's one-time code (``dashboard.sessions``) for the session cookie
  (``HttpOnly; SameSite=Strict``), so a reload keeps the user logged in; ``POST /_sgs/logout`` clears it.

This module reaches into two private parts of Streamlit's media manager (the deferred downloads' table and
its storage), pinned by the ``streamlit==`` version in pyproject.toml; ``tests/test_login_guard.py`` runs
the real server and fails if an upgrade changes them.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from streamlit import config

METRICS_PATH = "_stcore/metrics"
SESSION_PATH = "_sgs/session"
LOGOUT_PATH = "_sgs/logout"
CODE_HEADER = b"x-sgs-code"
MEDIA_PREFIX = "media/"
SWEEP_SECONDS = 30.0  # how often files of ended sessions are dropped from memory even if nobody asks for them

_OWNERS: dict[str, str] = {}  # media file id → id of the session whose download button made it
_OWNERS_LOCK = threading.Lock()


def _runtime() -> Any | None:
    from streamlit.runtime import Runtime

    return Runtime.instance() if Runtime.exists() else None


def _file_id(name: str) -> str:
    """``/media/<id>.<ext>`` → ``<id>`` (how Streamlit's storage names files)."""
    return name.split("/")[-1].split(".")[0]


def install(runtime: Any) -> None:
    """Record the session of every file a deferred download makes: wrap the media manager's
    ``execute_deferred`` (the one place such files are made), reading the session from its own record."""
    mgr = runtime.media_file_mgr
    original = mgr.execute_deferred
    if getattr(original, "_sgs_guarded", False):
        return

    def execute_deferred(file_id: str) -> str:
        entry = mgr._deferred_callables.get(file_id)  # private: {callable, …, session_id}
        url = original(file_id)
        if entry is not None:
            with _OWNERS_LOCK:
                _OWNERS[_file_id(url)] = entry["session_id"]
        return url

    execute_deferred._sgs_guarded = True  # type: ignore[attr-defined]
    mgr.execute_deferred = execute_deferred


def _drop(runtime: Any, file_id: str) -> None:
    """Forget a file and remove it from Streamlit's in-memory storage (a later click makes it again)."""
    with _OWNERS_LOCK:
        _OWNERS.pop(file_id, None)
    runtime.media_file_mgr._storage.delete_file(file_id)  # private; missing files are ignored


def _owners(runtime: Any, file_id: str) -> set[str]:
    """The sessions a file belongs to: the download's recorded session, else the sessions Streamlit's
    manager maps it to (images and other elements, which this dashboard does not use today)."""
    with _OWNERS_LOCK:
        owner = _OWNERS.get(file_id)
    if owner is not None:
        return {owner}
    by_session = runtime.media_file_mgr._files_by_session_and_coord  # private
    return {sid for sid, files in list(by_session.items()) if file_id in files.values()}


def allowed(file_id: str) -> bool:
    """True while a session the file belongs to is connected."""
    runtime = _runtime()
    return runtime is not None and any(runtime.is_active_session(s) for s in _owners(runtime, file_id))


def revoke_session(session_id: str) -> None:
    """Drop every file this session's downloads made (called at 退出登录); nothing outside a server."""
    runtime = _runtime()
    if runtime is None or not session_id:
        return
    with _OWNERS_LOCK:
        mine = [f for f, s in _OWNERS.items() if s == session_id]
    for file_id in mine:
        _drop(runtime, file_id)


def sweep() -> int:
    """Drop the recorded files whose session is no longer connected; how many."""
    runtime = _runtime()
    if runtime is None:
        return 0
    with _OWNERS_LOCK:
        ended = [f for f, s in _OWNERS.items() if not runtime.is_active_session(s)]
    for file_id in ended:
        _drop(runtime, file_id)
    return len(ended)


def _relative(path: str) -> str:
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    path = path.lstrip("/")
    return path[len(base):].lstrip("/") if base and path.startswith(base) else path


async def _not_found(send: Any) -> None:
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": "链接已失效或不存在。".encode("utf-8")})


def _secure(scope: dict) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a proxy that says so)."""
    headers = dict(scope.get("headers") or [])
    return scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto", b"").lower() == b"https"


async def _session_cookie(scope: dict, send: Any, path: str) -> None:
    """Answer the session hand-off (a valid one-time code → its token as a cookie) or the logout (cleared)."""
    from dashboard import sessions

    token = None
    if path == SESSION_PATH:
        code = dict(scope.get("headers") or []).get(CODE_HEADER, b"").decode("ascii", "replace")
        token = sessions.redeem(code)
        if token is None:
            return await _not_found(send)
    await send({"type": "http.response.start", "status": 204,
                "headers": [(b"set-cookie", sessions.cookie_header(token, secure=_secure(scope))),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})


class GuardMiddleware:
    """ASGI middleware in front of Streamlit: closes the metrics endpoint and guards ``/media``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = _relative(scope.get("path", ""))
        if path == METRICS_PATH or path.startswith(METRICS_PATH + "/"):
            return await _not_found(send)
        if path in (SESSION_PATH, LOGOUT_PATH):
            if scope.get("method") != "POST":
                return await _not_found(send)
            return await _session_cookie(scope, send, path)
        if not path.startswith(MEDIA_PREFIX):
            return await self.app(scope, receive, send)
        file_id = _file_id(path)
        runtime = _runtime()
        if runtime is None or not allowed(file_id):
            if runtime is not None:
                _drop(runtime, file_id)
            return await _not_found(send)
        status: list[int] = []

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        with _OWNERS_LOCK:
            download = file_id in _OWNERS
        if download and scope.get("method") == "GET" and status == [200]:
            _drop(runtime, file_id)  # a download fetched once: the link is spent


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """At startup, record downloads' sessions and warm the dashboard up (``dashboard.warmup``: the first
    login need not pay for imports and the snapshot's opening; each snapshot's city-wide figures are computed in
    the background); while running, drop files of ended sessions now and then, and prefill a newly published
    snapshot within ``SWEEP_SECONDS`` even if nobody visits."""
    runtime = _runtime()
    if runtime is not None:
        install(runtime)
    from dashboard import warmup

    try:
        await asyncio.to_thread(warmup.run)
        warmup.start_prefilling()
    except Exception:  # noqa: BLE001 - a failed warmup is a slower first login, never a server that won't start
        logging.getLogger(__name__).exception("dashboard warmup failed")

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            sweep()
            try:  # a publish since: its city-wide figures, before the next visitor asks for them
                warmup.start_prefilling()
            except Exception:  # noqa: BLE001 - a failed prefill is a slower first visit, never a stopped sweep
                logging.getLogger(__name__).exception("dashboard prefill failed")

    task = asyncio.create_task(sweeper())
    try:
        yield
    finally:
        task.cancel()
        warmup.stop_prefilling()


def middleware() -> list[Any]:
    """The middleware list for ``st.App``."""
    from starlette.middleware import Middleware

    return [Middleware(GuardMiddleware)]

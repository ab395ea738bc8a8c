"""A login attempt from start to end: the throttle, the password check, the access log, the rehash.

Why this shape:

* Guesses are limited per typed username **and** per client (the remote address Streamlit sees, else the
  browser session): a few free failures, then a growing wait before the next attempt is even checked, then a
  temporary lockout during which even the right password is refused. Counting per username stops guessing
  one account from many places; counting per client stops one place from trying many accounts.
* Every count comes from ``workbench.access_log`` (SQLite beside the database): the limit survives reruns,
  new browser sessions and restarts, and what leaders read on 访问日志 is what the limit was decided from.
* Unknown usernames are throttled, locked and answered exactly like known ones, so no message, delay or
  lockout tells whether an account exists.
* Every function takes ``now`` (seconds since the epoch), so tests move a clock instead of sleeping; the
  app passes nothing and gets ``clock()`` (``time.time``; a test running the real app replaces it).
* One process-wide lock around check → verify → record: parallel sessions cannot all pass the check before
  any of their failures is recorded. A refused attempt costs no scrypt, so waiting attackers stay cheap.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dashboard import auth, sessions, workbench
from core.settings import Paths

FREE_FAILURES = 3  # failed logins allowed without waiting (typos)
BASE_DELAY = 1.0  # seconds to wait after the FREE_FAILURES-th failure; doubles with each further failure …
MAX_DELAY = 60.0  # … up to this cap
LOCK_FAILURES = 10  # this many failures within WINDOW (of one username, or of one client) lock it …
WINDOW = 15 * 60.0  # seconds
LOCK_SECONDS = 15 * 60.0  # … for this long: every attempt is refused, even with the right password
MAX_USERNAME = 64  # longer typed usernames are cut before they are logged

_LOCK = threading.Lock()
clock: Callable[[], float] = time.time


def _at(now: float | None) -> float:
    return clock() if now is None else now


@dataclass(frozen=True)
class Wait:
    """Why and until when attempts are refused: ``locked`` (a lockout) or a growing delay."""

    until: float
    locked: bool


@dataclass(frozen=True)
class Outcome:
    """What the login form shows: the viewer on success, else the Chinese message."""

    viewer: auth.Viewer | None
    message: str | None = None


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` counted failures: none for the first FREE_FAILURES - 1, then
    BASE_DELAY doubling per failure, capped at MAX_DELAY."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY, BASE_DELAY * 2 ** (failures - FREE_FAILURES))


def _wait_for(paths: Paths, now: float, **key: str) -> tuple[Wait | None, int]:
    """The wait one username or client is under at ``now`` (None: may try), and its counted failures."""
    locked_at = workbench.last_lockout(paths, **key)
    if locked_at is not None and now < locked_at + LOCK_SECONDS:
        return Wait(locked_at + LOCK_SECONDS, locked=True), 0
    since = max(now - WINDOW, locked_at + LOCK_SECONDS if locked_at is not None else 0.0)
    times = workbench.failure_times(paths, since=since, **key)
    if times and now < times[-1] + delay_after(len(times)):
        return Wait(times[-1] + delay_after(len(times)), locked=False), len(times)
    return None, len(times)


def check(paths: Paths, username: str, client: str, now: float | None = None) -> Wait | None:
    """The wait that refuses an attempt by ``username`` from ``client`` at ``now``, or None to let it through
    (a lockout wins over a delay; of two waits, the longer)."""
    now = _at(now)
    waits = [w for w, _n in (_wait_for(paths, now, username=username), _wait_for(paths, now, client=client)) if w]
    if not waits:
        return None
    locked = [w for w in waits if w.locked]
    return max(locked or waits, key=lambda w: w.until)


def record_failure(paths: Paths, username: str, client: str, now: float | None = None) -> Wait | None:
    """Log a failed login; lock the username and/or the client when it is their LOCK_FAILURES-th failure in
    WINDOW (a lockout row each). The wait that now applies, if any."""
    now = _at(now)
    workbench.log_access(paths, "login_failed", username, client, now=now)
    for scope, key in (("user", {"username": username}), ("client", {"client": client})):
        _wait, failures = _wait_for(paths, now + 1e-6, **key)
        if failures >= LOCK_FAILURES:
            until = datetime.fromtimestamp(now + LOCK_SECONDS)
            workbench.log_access(paths, "lockout", username, client, scope=scope, now=now,
                                 detail=f"{'该用户名' if scope == 'user' else '该客户端'}锁定至 {until:%Y-%m-%d %H:%M:%S}")
    return check(paths, username, client, now)


def wait_message(wait: Wait, now: float | None = None) -> str:
    """The Chinese sentence for a refused attempt: when to try again; never whether the user exists."""
    now = _at(now)
    when = datetime.fromtimestamp(wait.until)
    if wait.locked:
        return (f"登录失败次数过多，已暂时锁定：请于 {when:%H:%M:%S} 之后再试（锁定期间即使密码正确也无法登录；"
                "如非本人操作，请联系管理员）。")
    return f"登录失败次数较多：请于 {when:%H:%M:%S}（约 {max(1, round(wait.until - now))} 秒后）再试。"


def attempt(paths: Paths, users_file: Path, users: dict[str, auth.User], username: str, password: str,
            client: str, now: float | None = None) -> Outcome:
    """One press of 登录: refused unchecked while waiting or locked, else the password is checked; each
    outcome goes to the access log, and a correct password stored at a lower cost is rehashed."""
    now = _at(now)
    username = username.strip()[:MAX_USERNAME]
    with _LOCK:
        wait = check(paths, username, client, now)
        if wait is not None:
            workbench.log_access(paths, "login_refused", username, client, now=now,
                                 detail="锁定中" if wait.locked else "等待中")
            return Outcome(None, wait_message(wait, now))
        viewer = auth.authenticate(users, username, password)
        if viewer is None:
            wait = record_failure(paths, username, client, now)
            return Outcome(None, "用户名或密码错误。" + (wait_message(wait, now) if wait else ""))
        workbench.log_access(paths, "login", username, client, now=now)
    user = users[username]
    if auth.needs_rehash(user.password_hash):
        try:
            auth.rehash_user(users_file, user, password)
        except OSError:  # a read-only users file: the login stands, the old hash stays until it can be written
            pass
    return Outcome(viewer)


def logout(paths: Paths, username: str, client: str, token: str | None = None, now: float | None = None) -> None:
    """Log a logout (退出登录) and revoke the session's token, so a reload shows the login form again."""
    sessions.revoke(paths, token)
    workbench.log_access(paths, "logout", username, client, now=_at(now))


def resume(paths: Paths, users: dict[str, auth.User], token: str | None, client: str,
           now: float | None = None) -> auth.Viewer | None:
    """The viewer a reloaded page's session cookie stands for (``dashboard.sessions``): a valid, unrevoked
    token of a user still in the users file; logged as 恢复会话. None: the login form."""
    name = sessions.username(paths, token, now=now)
    user = users.get(name) if name else None
    if user is None:
        return None
    workbench.log_access(paths, "resume", user.username, client, now=_at(now))
    return user.viewer()

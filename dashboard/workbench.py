"""The dashboard's access log (reveals; logins and logouts), beside the correction loop's steps.

Why in ``workbench.sqlite3``: the dashboard must never write the working database (a crawl may hold its lock)
nor a published snapshot (immutable), so what it writes goes to the SQLite store beside the working database
that ``metrics.corrections`` keeps (the steps taken on findings: decisions, answers, verifications); this
module adds the access log's tables to it. Nothing is ever updated or deleted. The login throttle
(``dashboard.logins``) counts failed logins in ``access_log``, so a limit holds across reruns, browser
sessions and restarts, and the log leaders read is the very record the limit is decided from.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.settings import Paths
from metrics import corrections
from metrics.corrections import WorkbenchError, store_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reveals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL,
    at         TEXT NOT NULL,
    dept_id    TEXT,
    kind       TEXT,
    record_key TEXT,
    field      TEXT NOT NULL,
    finding_id TEXT,
    reason     TEXT
);
CREATE TABLE IF NOT EXISTS access_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,    -- ISO local time (shown)
    ts       REAL NOT NULL,    -- seconds since the epoch (what the throttle counts with)
    event    TEXT NOT NULL,    -- login | login_failed | login_refused | lockout | logout | resume
    username TEXT NOT NULL,    -- as typed at the login form (trimmed, at most 64 characters); never a password
    client   TEXT,             -- the remote address, or session:<id> when Streamlit gives none
    scope    TEXT,             -- lockout: user | client (what is locked)
    detail   TEXT              -- Chinese: why an attempt was refused, until when a lock holds
);
CREATE INDEX IF NOT EXISTS access_log_user ON access_log (username, event, ts);
CREATE INDEX IF NOT EXISTS access_log_client ON access_log (client, event, ts);
"""
EVENTS: dict[str, str] = {  # access_log.event → Chinese label (访问日志)
    "login": "登录成功",
    "login_failed": "登录失败",
    "login_refused": "拒绝登录（等待或锁定中）",
    "lockout": "临时锁定",
    "logout": "退出登录",
    "resume": "恢复会话（刷新页面）",
}


def _connect(paths: Paths) -> sqlite3.Connection:
    """The store file the correction loop keeps (``metrics.corrections``), with this module's tables."""
    return corrections.connect(paths, _SCHEMA)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _ts(now: float | None) -> float:
    return time.time() if now is None else now


def log_reveal(paths: Paths, username: str, *, field: str, dept_id: str | None, kind: str | None,
               record_key: str | None, finding_id: str | None = None, reason: str | None = None) -> None:
    """Write the access-log row *before* the value is shown: no log, no reveal."""
    with closing(_connect(paths)) as con, con:
        con.execute("INSERT INTO reveals (username, at, dept_id, kind, record_key, field, finding_id, reason) "
                    "VALUES (?,?,?,?,?,?,?,?)", (username, _now(), dept_id, kind, record_key, field, finding_id, reason))


def reveal_log(paths: Paths, limit: int = 1000) -> pd.DataFrame:
    """The newest reveals first (the leaders' 访问日志 page)."""
    if not store_path(paths).exists():
        return pd.DataFrame(columns=["at", "username", "dept_id", "kind", "record_key", "field", "finding_id", "reason"])
    with closing(_connect(paths)) as con:
        return pd.read_sql_query("SELECT at, username, dept_id, kind, record_key, field, finding_id, reason "
                                 "FROM reveals ORDER BY id DESC LIMIT ?", con, params=(limit,))


# --- the access log of logins (dashboard.logins decides; this only records and counts) -------------

def log_access(paths: Paths, event: str, username: str, client: str | None, *, scope: str | None = None,
               detail: str | None = None, now: float | None = None) -> None:
    """Append one login, failed login, refused attempt, lockout or logout (never a password)."""
    if event not in EVENTS:
        raise WorkbenchError(f"未知访问事件 {event!r}")
    ts = _ts(now)
    with closing(_connect(paths)) as con, con:
        con.execute("INSERT INTO access_log (at, ts, event, username, client, scope, detail) VALUES (?,?,?,?,?,?,?)",
                    (datetime.fromtimestamp(ts).isoformat(timespec="seconds"), ts, event, username, client,
                     scope, detail))


def failure_times(paths: Paths, *, since: float, username: str | None = None, client: str | None = None) -> list[float]:
    """When the failed logins after ``since`` happened, oldest first: of one typed username (after its last
    successful login: a success clears the user's count) or of one client (a success does not clear it, so
    an attacker's own account cannot reset the count of its guesses at others)."""
    if not store_path(paths).exists():
        return []
    if username is not None:
        sql = ("SELECT ts FROM access_log WHERE event = 'login_failed' AND username = ? AND ts > max(?, "
               "coalesce((SELECT max(ts) FROM access_log WHERE event = 'login' AND username = ?), 0)) ORDER BY ts")
        params: tuple = (username, since, username)
    else:
        sql = "SELECT ts FROM access_log WHERE event = 'login_failed' AND client = ? AND ts > ? ORDER BY ts"
        params = (client, since)
    with closing(_connect(paths)) as con:
        return [row[0] for row in con.execute(sql, params)]


def last_lockout(paths: Paths, *, username: str | None = None, client: str | None = None) -> float | None:
    """When the latest lockout of this username (or client) began, None if it was never locked."""
    if not store_path(paths).exists():
        return None
    column, value, scope = ("username", username, "user") if username is not None else ("client", client, "client")
    with closing(_connect(paths)) as con:
        row = con.execute(f"SELECT max(ts) FROM access_log WHERE event = 'lockout' AND scope = ? AND {column} = ?",
                          (scope, value)).fetchone()
    return row[0]


def access_log(paths: Paths, limit: int = 1000) -> pd.DataFrame:
    """The newest logins, failures, refusals, lockouts and logouts first (the leaders' 访问日志 page)."""
    columns = ["at", "event", "username", "client", "scope", "detail"]
    if not store_path(paths).exists():
        return pd.DataFrame(columns=columns)
    with closing(_connect(paths)) as con:
        return pd.read_sql_query(f"SELECT {', '.join(columns)} FROM access_log ORDER BY id DESC LIMIT ?", con,
                                 params=(limit,))

"""Session tokens (dashboard.sessions) and their cookie endpoint (dashboard.server): a token logs in only
while it is signed by this deployment's key, unexpired and unrevoked, and only for a user still in the users
file; a one-time code is exchanged once. The browser journey is in tests/test_browser.py."""
from __future__ import annotations

import asyncio
import stat

from core.settings import Paths
from dashboard import auth, logins, server, sessions, workbench

USERS = {"boss": auth.User("boss", "领导", "leader", None, "x")}


def test_a_token_holds_until_it_expires_or_is_revoked(tmp_path) -> None:
    paths = Paths(tmp_path / "sgs.duckdb")
    token = sessions.issue(paths, "boss", now=1_000.0)
    assert sessions.username(paths, token, now=1_000.0 + sessions.SESSION_SECONDS - 1) == "boss"
    assert sessions.username(paths, token, now=1_000.0 + sessions.SESSION_SECONDS) is None  # expired
    assert stat.S_IMODE(sessions.key_path(paths).stat().st_mode) == 0o600
    payload, signature = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for bad in (f"{forged}.{signature}", f"{payload}.{signature[:-1]}", payload, "", None, "a.b.c"):
        assert sessions.username(paths, bad, now=1_000.0) is None, bad
    other = Paths(tmp_path / "other" / "sgs.duckdb")  # another deployment's key does not sign it
    assert sessions.username(other, token, now=1_000.0) is None
    fresh = sessions.issue(paths, "boss")
    assert logins.resume(paths, USERS, fresh, "session:x") == USERS["boss"].viewer()
    logins.logout(paths, "boss", "session:x", fresh)
    assert logins.resume(paths, USERS, fresh, "session:x") is None  # revoked at logout
    assert logins.resume(paths, {}, sessions.issue(paths, "boss"), "session:x") is None  # user removed
    events = workbench.access_log(paths)["event"].tolist()
    assert events == ["logout", "resume"]  # newest first; a refused resume logs nothing


def test_a_code_is_exchanged_once(tmp_path) -> None:
    code = sessions.handoff("tok.en")
    assert sessions.redeem(code) == "tok.en"
    assert sessions.redeem(code) is None
    assert sessions.redeem("guess") is None


def _call(path: str, method: str = "POST", headers: list | None = None) -> tuple[int, dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send):  # Streamlit itself: never reached for these paths
        raise AssertionError("passed through")

    scope = {"type": "http", "path": path, "method": method, "headers": headers or [], "scheme": "http"}
    asyncio.run(server.GuardMiddleware(app)(scope, None, send))
    start = sent[0]
    return start["status"], dict(start["headers"])


def test_the_guard_sets_and_clears_the_cookie() -> None:
    code = sessions.handoff("tok.en")
    status, headers = _call("/_sgs/session", headers=[(b"x-sgs-code", code.encode())])
    assert status == 204
    cookie = headers[b"set-cookie"].decode()
    assert cookie.startswith("sgs_session=tok.en;") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert _call("/_sgs/session", headers=[(b"x-sgs-code", code.encode())])[0] == 404  # spent
    assert _call("/_sgs/session", method="GET")[0] == 404
    status, headers = _call("/_sgs/logout")
    assert status == 204 and headers[b"set-cookie"].decode().startswith("sgs_session=; Max-Age=0;")
    code = sessions.handoff("tok.en")
    https = [(b"x-sgs-code", code.encode()), (b"x-forwarded-proto", b"https")]
    assert "; Secure" in _call("/_sgs/session", headers=https)[1][b"set-cookie"].decode()

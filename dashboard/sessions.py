"""Signed, expiring session tokens, so a reload (F5) or a deep link keeps the user logged in.

Why this shape: Streamlit forgets everything of a browser session on reload, and its Python side cannot set a
cookie. So after a login the app hands the browser a one-time code (valid for a minute, kept only in this
process's memory); a tiny script in the page posts it to ``/_sgs/session`` (``dashboard.server``), which
answers with the token as an ``HttpOnly; SameSite=Strict`` cookie the page's scripts can never read. A new
browser session then finds the token in ``st.context.cookies`` and resumes the login without a password.

A token is ``<payload>.<signature>``: the payload names the user, the expiry and a random id; the signature is
an HMAC-SHA256 with a key kept beside the database (``session.key``, 0600, made on first use), so a token
cannot be forged or extended, and replacing the key ends every session. Logout revokes the token's id
(``revoked_sessions`` in ``workbench.sqlite3``, the access log's store) and clears the cookie; a revoked,
expired or tampered token, or one of a user no longer in the users file, is simply not a login.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from contextlib import closing
from pathlib import Path

from core.settings import Paths
from metrics import corrections

COOKIE = "sgs_session"
SESSION_SECONDS = 8 * 3600  # a working day; the login form again after that
HANDOFF_SECONDS = 60.0  # how long a one-time code waits for the browser to exchange it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revoked_sessions (
    token_id TEXT PRIMARY KEY,
    until    REAL NOT NULL      -- the token's own expiry: after it, the row may go
);
"""
_HANDOFFS: dict[str, tuple[str, float]] = {}  # one-time code → (token, expiry); this process only
_LOCK = threading.Lock()


def _key(paths: Paths) -> bytes:
    """The signing key beside the database, created once (written to a private temporary file, then linked
    into place, so two processes starting together agree on one key)."""
    path = paths.root / "session.key"
    if not path.exists():
        paths.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".session.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(paths: Paths, payload: str) -> str:
    return _b64(hmac.new(_key(paths), payload.encode("ascii"), hashlib.sha256).digest())


def issue(paths: Paths, username: str, *, now: float | None = None) -> str:
    """A new token for ``username``, valid for SESSION_SECONDS."""
    at = time.time() if now is None else now
    payload = _b64(json.dumps({"u": username, "exp": int(at + SESSION_SECONDS), "id": secrets.token_hex(16)},
                              ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_sign(paths, payload)}"


def _claims(paths: Paths, token: str) -> dict | None:
    """The token's payload when its signature holds (not yet checked for expiry or revocation)."""
    if not isinstance(token, str):
        return None
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _sign(paths, payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) and {"u", "exp", "id"} <= claims.keys() else None


def username(paths: Paths, token: str | None, *, now: float | None = None) -> str | None:
    """Who a token logs in, or None when it is missing, forged, expired or revoked."""
    claims = _claims(paths, token or "")
    at = time.time() if now is None else now
    if claims is None or float(claims["exp"]) <= at:
        return None
    if corrections.store_path(paths).exists():
        with closing(corrections.connect(paths, _SCHEMA)) as con:
            if con.execute("SELECT 1 FROM revoked_sessions WHERE token_id = ?", (claims["id"],)).fetchone():
                return None
    return str(claims["u"])


def revoke(paths: Paths, token: str | None) -> None:
    """End a token before its expiry (logout); expired revocations are cleared on the way."""
    claims = _claims(paths, token or "")
    if claims is None:
        return
    with closing(corrections.connect(paths, _SCHEMA)) as con, con:
        con.execute("DELETE FROM revoked_sessions WHERE until < ?", (time.time(),))
        con.execute("INSERT OR IGNORE INTO revoked_sessions (token_id, until) VALUES (?, ?)",
                    (claims["id"], float(claims["exp"])))


def handoff(token: str) -> str:
    """A one-time code the browser exchanges for the token's cookie (``dashboard.server``)."""
    code = secrets.token_urlsafe(24)
    with _LOCK:
        now = time.monotonic()
        for old in [c for c, (_, until) in _HANDOFFS.items() if until < now]:
            del _HANDOFFS[old]
        _HANDOFFS[code] = (token, now + HANDOFF_SECONDS)
    return code


def redeem(code: str) -> str | None:
    """The token a code stands for, once; None for an unknown, used or expired code."""
    with _LOCK:
        token, until = _HANDOFFS.pop(code, ("", 0.0))
    return token if token and until >= time.monotonic() else None


def cookie_header(token: str | None, *, secure: bool) -> bytes:
    """The Set-Cookie value: the token for a working day, or (None) an expired one that clears it."""
    value, age = (token, SESSION_SECONDS) if token else ("", 0)
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Max-Age={age}; Path=/; HttpOnly; SameSite=Strict{flags}".encode("ascii")


def key_path(paths: Paths) -> Path:
    return paths.root / "session.key"

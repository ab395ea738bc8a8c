"""Who is looking: the users file, hashed passwords, roles and the viewer every query is filtered by.

Why this shape:

* Credentials live in a small TOML file beside the working database (``users.toml``, or ``SGS_USERS`` /
  ``sgs serve --users``), edited by the people who run sgs; passwords are stored only as stdlib
  ``hashlib.scrypt`` hashes (``scrypt$n$r$p$salt$hash``), never in plain text.
* A ``Viewer`` is what a logged-in session carries. The query layer takes it and turns it into a SQL
  filter (``Viewer.scope``): a department user's queries can only ever return its own department's rows,
  whatever page, widget or URL parameter asked.
* The open demo mode (``SGS_OPEN_DEMO=1`` / ``sgs serve --open``) skips the login and shows everything as a
  leader would: read-only, personal data still masked, no reveal.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from core.settings import Paths

ROLES: dict[str, str] = {"leader": "领导", "assessor": "评估人员", "department": "部门"}
OPEN_DEMO_ENV = "SGS_OPEN_DEMO"
USERS_ENV = "SGS_USERS"
# scrypt cost: 2^14 × 8 × 1 takes ~50 ms and 16 MB, the parameters RFC 7914 suggests for interactive logins.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


class UsersError(ValueError):
    """The users file is missing or wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class Viewer:
    """A logged-in person: ``dept_id`` is set exactly for department users."""

    username: str
    name: str
    role: str
    dept_id: str | None = None

    @property
    def scope(self) -> str | None:
        """The only department this viewer may see, or None for everything (leaders, assessors)."""
        return self.dept_id if self.role == "department" else None

    @property
    def can_decide(self) -> bool:
        """Assessors change a finding's status and may reveal a masked value."""
        return self.role == "assessor"


OPEN_VIEWER = Viewer("open-demo", "开放演示访客", "leader")


@dataclass(frozen=True)
class Settings:
    """The dashboard's settings from the users file's ``[privacy]`` table."""

    mask_person_names: bool = False


# --- passwords ----------------------------------------------------------------------------------

def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$<salt b64>$<hash b64>``: everything needed to verify it, and nothing to reverse it."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (constant-time comparison); False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(want), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# --- the users file -----------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    dept_id: str | None
    password_hash: str

    def viewer(self) -> Viewer:
        return Viewer(self.username, self.name, self.role, self.dept_id)


def users_path(paths: Paths) -> Path:
    """``SGS_USERS`` when set, else ``users.toml`` beside the working database."""
    chosen = os.environ.get(USERS_ENV)
    return Path(chosen).expanduser().resolve() if chosen else paths.root / "users.toml"


def open_demo() -> bool:
    """The explicit open demo mode: ``SGS_OPEN_DEMO=1`` (set by ``sgs serve --open``)."""
    return os.environ.get(OPEN_DEMO_ENV, "").strip().lower() in ("1", "true", "yes")


def load_users(path: Path) -> tuple[dict[str, User], Settings]:
    """Read and check the users file: every user has a known role, a scrypt hash, and a department if needed."""
    if not path.exists():
        raise UsersError(f"用户文件 {path} 不存在：请按 docs/dashboard.md 创建（或运行 sgs demo 生成示范用户）。")
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsersError(f"用户文件 {path} 格式错误：{exc}") from exc
    users: dict[str, User] = {}
    for username, entry in (data.get("users") or {}).items():
        where = f"用户文件 {path} 的 [users.{username}]"
        if not isinstance(entry, dict):
            raise UsersError(f"{where} 应为表")
        role = entry.get("role")
        if role not in ROLES:
            raise UsersError(f"{where}：role 应为 {' / '.join(ROLES)} 之一，而不是 {role!r}")
        dept = entry.get("dept_id")
        if role == "department" and not dept:
            raise UsersError(f"{where}：部门用户必须填写 dept_id")
        hashed = entry.get("password_hash", "")
        if not str(hashed).startswith("scrypt$"):
            raise UsersError(f"{where}：password_hash 应为 scrypt 哈希（用 python -m dashboard.auth 生成），不能写明文密码")
        users[username] = User(username, str(entry.get("name") or username), role,
                               str(dept) if role == "department" else None, str(hashed))
    privacy = data.get("privacy") or {}
    return users, Settings(mask_person_names=bool(privacy.get("mask_person_names", False)))


def authenticate(users: dict[str, User], username: str, password: str) -> Viewer | None:
    """The viewer for a correct username and password, else None (same answer for unknown user or bad password)."""
    user = users.get(username.strip())
    if user is None:
        verify_password(password, hash_password("timing"))  # spend the same time either way
        return None
    return user.viewer() if verify_password(password, user.password_hash) else None


def write_users(path: Path, users: list[dict], *, mask_person_names: bool = False) -> None:
    """Write a users file from ``{username, name, role, dept_id?, password}`` entries, hashing each password."""
    table = {}
    for u in users:
        entry = {"name": u["name"], "role": u["role"], "password_hash": hash_password(u["password"])}
        if u.get("dept_id"):
            entry["dept_id"] = u["dept_id"]
        table[u["username"]] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# sgs 看板用户（密码只存 scrypt 哈希）。格式见 docs/dashboard.md。\n"
                   + tomli_w.dumps({"privacy": {"mask_person_names": mask_person_names}, "users": table}), "utf-8")
    os.replace(tmp, path)


def demo_users(departments: list[tuple[str, str]]) -> list[dict]:
    """The documented demo users: ``leader``/``leader-demo``, ``assessor``/``assessor-demo`` and one user per
    department named by its id, password ``<dept_id>-demo`` (``departments`` = [(dept_id, name), …])."""
    return [
        {"username": "leader", "name": "示范市领导", "role": "leader", "password": "leader-demo"},
        {"username": "assessor", "name": "示范评估员", "role": "assessor", "password": "assessor-demo"},
        *({"username": d, "name": f"{n}联络员", "role": "department", "dept_id": d, "password": f"{d}-demo"}
          for d, n in departments),
    ]


if __name__ == "__main__":  # pragma: no cover - a helper for whoever edits the users file
    import getpass

    print(hash_password(getpass.getpass("密码：")))

"""Who is looking: the users file, hashed passwords, roles and the viewer every query is filtered by.

Why this shape:

* Credentials live in a small TOML file beside the working database (``users.toml``, or ``SGS_USERS`` /
  ``sgs serve --users``), edited by the people who run sgs; passwords are stored only as stdlib
  ``hashlib.scrypt`` hashes (``scrypt$n$r$p$salt$hash``: the hash carries its own cost), never in plain
  text. The cost is OWASP's current minimum for scrypt; a hash made with a lower cost still verifies and is
  replaced at that user's next successful login (``needs_rehash`` / ``rehash_user``), so raising the cost
  needs no password reset. The file is written readable by its owner only (0600, created so).
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
from core.errors import InputError

ROLES: dict[str, str] = {"leader": "领导", "assessor": "评估人员", "department": "部门"}
OPEN_DEMO_ENV = "SGS_OPEN_DEMO"
USERS_ENV = "SGS_USERS"
# scrypt cost: OWASP Password Storage Cheat Sheet's minimum, N=2^17, r=8, p=1 (128 MiB, ~0.3–0.5 s on one
# core). Hashes with a lower N, r or p are upgraded at the next login. Only code may lower it (tests set
# ``SCRYPT_COST`` to keep the suite fast); no environment variable or file does.
OWASP_SCRYPT: dict[str, int] = {"n": 2 ** 17, "r": 8, "p": 1}
SCRYPT_COST: dict[str, int] = dict(OWASP_SCRYPT)
# The most a stored hash may ask for: a hand-edited users file must not make a login allocate gigabytes.
_MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024
USERS_FILE_MODE = 0o600


class UsersError(InputError, ValueError):
    """The users file is missing or wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class Viewer:
    """A logged-in person: ``dept_id`` is set exactly for department users; ``city`` for a city's own users
    of a province's dashboard (its credit office: the province view shows them that city only)."""

    username: str
    name: str
    role: str
    dept_id: str | None = None
    city: str | None = None

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

def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """hashlib.scrypt with room for its 128·N·r bytes (its default ``maxmem`` of 32 MiB refuses N=2^17)."""
    need = 128 * n * r * (p + 1)
    if need > _MAX_SCRYPT_MEMORY:
        raise ValueError(f"scrypt cost too high: n={n} r={r} p={p}")
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=need + 16 * 1024 * 1024)


def hash_password(password: str, *, salt: bytes | None = None, cost: dict[str, int] | None = None) -> str:
    """``scrypt$n$r$p$<salt b64>$<hash b64>``: everything needed to verify it, and nothing to reverse it."""
    c = cost or SCRYPT_COST
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, c["n"], c["r"], c["p"], 32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${c['n']}${c['r']}${c['p']}${b64(salt)}${b64(digest)}"


def hash_cost(stored: str) -> dict[str, int] | None:
    """The ``n``, ``r``, ``p`` a stored hash was made with, None when it is not a well-formed scrypt hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        return {"n": int(parts[1]), "r": int(parts[2]), "p": int(parts[3])}
    except ValueError:
        return None


def needs_rehash(stored: str) -> bool:
    """True when a stored hash is cheaper than today's cost in any parameter (then it is replaced at login)."""
    cost = hash_cost(stored)
    return cost is not None and any(cost[k] < SCRYPT_COST[k] for k in ("n", "r", "p"))


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (constant-time comparison); False for any malformed hash."""
    cost = hash_cost(stored)
    if cost is None:
        return False
    try:
        _scheme, _n, _r, _p, salt, digest = stored.split("$")
        want = base64.b64decode(digest, validate=True)
        got = _scrypt(password, base64.b64decode(salt, validate=True), cost["n"], cost["r"], cost["p"], len(want))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash() -> str:
    """A hash at today's cost for a password nobody has: an unknown user costs the same time as a known one."""
    key = (SCRYPT_COST["n"], SCRYPT_COST["r"], SCRYPT_COST["p"])
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hash_password(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


# --- the users file -----------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    dept_id: str | None
    password_hash: str
    city: str | None = None

    def viewer(self) -> Viewer:
        return Viewer(self.username, self.name, self.role, self.dept_id, self.city)


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
        city = entry.get("city")  # a province's dashboard: this user sees that city only
        if city is not None and (not isinstance(city, str) or not city.strip()):
            raise UsersError(f"{where}：city 应为城市文件夹名（如 city = \"太原\"），或删去该行（全省）")
        users[username] = User(username, str(entry.get("name") or username), role,
                               str(dept) if role == "department" else None, str(hashed),
                               city.strip() if isinstance(city, str) else None)
    privacy = data.get("privacy") or {}
    return users, Settings(mask_person_names=bool(privacy.get("mask_person_names", False)))


def authenticate(users: dict[str, User], username: str, password: str) -> Viewer | None:
    """The viewer for a correct username and password, else None (same answer for unknown user or bad password)."""
    user = users.get(username.strip())
    if user is None:
        verify_password(password, _dummy_hash())  # spend the same time either way
        return None
    return user.viewer() if verify_password(password, user.password_hash) else None


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only: the temporary file is created 0600 by
    ``os.open`` (never world-readable, whatever the umask) and renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, USERS_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_users(path: Path, users: list[dict], *, mask_person_names: bool = False) -> None:
    """Write a users file from ``{username, name, role, dept_id?, city?, password}`` entries, hashing each password."""
    table = {}
    for u in users:
        entry = {"name": u["name"], "role": u["role"], "password_hash": hash_password(u["password"])}
        if u.get("dept_id"):
            entry["dept_id"] = u["dept_id"]
        if u.get("city"):
            entry["city"] = u["city"]
        table[u["username"]] = entry
    write_private(path, "# sgs 看板用户（密码只存 scrypt 哈希）。格式见 docs/dashboard.md。\n"
                  + tomli_w.dumps({"privacy": {"mask_person_names": mask_person_names}, "users": table}))


def rehash_user(path: Path, user: User, password: str) -> bool:
    """Replace ``user``'s cheaper hash in the users file by one at today's cost (called right after a
    successful login, when the password is known). Only that hash's text changes, so comments and layout
    the operators wrote stay; the file is rewritten 0600. False when the file no longer holds that hash
    (edited meanwhile, or another session upgraded it first)."""
    text = path.read_text("utf-8")
    if text.count(user.password_hash) != 1:
        return False
    write_private(path, text.replace(user.password_hash, hash_password(password)))
    return True


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

"""Guarded logins and sessions: the throttle (growing delay, lockout, release) through the real app with a
clock the test moves, per username and per client, the same answers for unknown users; every login,
failure, refusal, lockout and logout in the access log leaders read; scrypt at OWASP's cost with the rehash
of an older hash at login; users files readable by their owner only; and, on the real ``sgs serve``, no
``/_stcore/metrics`` and download links that work once and die with their session or its logout."""
from __future__ import annotations

import os
import re
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashboard import auth, logins, workbench
from dashboard_city import app, build_city, city_for_app, login, password, run, table, write_test_users
from core.settings import Paths, resolve_paths

pytestmark = pytest.mark.usefixtures("fresh_caches")
T0 = 1_900_000_000.0  # 2030-03-17: any fixed moment; the throttle only compares times


class Clock:
    """The throttle's clock, moved by the test (``logins.clock``)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    with city_for_app(tmp_path_factory.mktemp("guard")) as paths:
        yield paths


@pytest.fixture()
def fresh_log(city: Paths, monkeypatch) -> Clock:
    """An empty workbench store (no earlier failures) and a clock at T0 for the app."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{workbench.store_path(city)}{suffix}").unlink(missing_ok=True)
    clock = Clock(T0)
    monkeypatch.setattr(logins, "clock", clock)
    return clock


def _submit(at, username: str, pw: str) -> list[str]:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(pw)
    at.button[0].click()
    run(at)
    return [e.value for e in at.error]


def _logged_in(at) -> bool:
    return any(c.value.startswith("当前用户") for c in at.sidebar.caption)


def _seconds(message: str) -> int:
    return int(re.search(r"约 (\d+) 秒后", message).group(1))


# --- the throttle, through the app ---------------------------------------------------------------------

def test_wrong_passwords_delay_then_lock_then_release(city: Paths, fresh_log: Clock) -> None:
    clock = fresh_log
    at = app()
    run(at)
    for _ in range(2):  # typos are free
        assert _submit(at, "boss", "wrong") == ["用户名或密码错误。"]
        clock.t += 0.1
    waits = []
    for _ in range(7):  # the 3rd to 9th failure: a wait that doubles, capped
        (message,) = _submit(at, "boss", "wrong")
        assert message.startswith("用户名或密码错误。登录失败次数较多：请于")
        waits.append(_seconds(message))
        if len(waits) == 1:  # too early: refused unchecked, even with the right password
            (early,) = _submit(at, "boss", password("boss"))
            assert early.startswith("登录失败次数较多") and not _logged_in(at)
        clock.t += waits[-1] + 0.1
    assert waits == [1, 2, 4, 8, 16, 32, 60] and logins.MAX_DELAY == 60
    (locked,) = _submit(at, "boss", "wrong")  # the 10th failure within 15 minutes
    assert "已暂时锁定" in locked and "即使密码正确也无法登录" in locked
    clock.t += 5 * 60
    (still,) = _submit(at, "boss", password("boss"))  # the right password, while locked
    assert "已暂时锁定" in still and not _logged_in(at)
    clock.t += logins.LOCK_SECONDS
    assert _submit(at, "boss", password("boss")) == [] and _logged_in(at)  # the lock has passed
    at.sidebar.button(key="logout").click()
    run(at)
    log = workbench.access_log(city)
    counts = log["event"].value_counts().to_dict()
    assert counts == {"login_failed": 10, "login_refused": 2, "lockout": 2, "login": 1, "logout": 1}
    assert set(log.loc[log["event"] == "lockout", "scope"]) == {"user", "client"}  # this name and this browser
    assert set(log["username"]) == {"boss"} and log["client"].str.startswith("session:").all()
    flat = " ".join(str(v) for v in log.to_numpy().ravel())
    assert "wrong" not in flat and password("boss") not in flat  # no password is ever logged


def test_leaders_read_logins_on_the_access_log(city: Paths, fresh_log: Clock) -> None:
    _submit(run(app()), "nobody", "guess")
    login(app(), "scj")
    leader = login(app(), "boss")
    leader.switch_page("dashboard/views/access_log.py")
    run(leader)
    log = table(leader, "access_log")
    assert log[["事件", "用户名"]].values.tolist() == [["登录成功", "boss"], ["登录成功", "scj"], ["登录失败", "nobody"]]
    # only leaders have the page (tests/test_dashboard_access.py::test_assessor_has_no_access_log)


# --- the throttle's rules, with the clock passed in ------------------------------------------------------

@pytest.fixture()
def users(city: Paths) -> dict[str, auth.User]:
    return auth.load_users(auth.users_path(city))[0]


def _fail_until_locked(paths: Paths, users_file: Path, users: dict, username: str, client: str) -> list[str]:
    """Wrong passwords, each as soon as allowed, until locked; the messages with digits blanked."""
    now, messages = T0, []
    for _ in range(logins.LOCK_FAILURES):
        wait = logins.check(paths, username, client, now)
        now = wait.until + 0.1 if wait else now + 0.1
        messages.append(logins.attempt(paths, users_file, users, username, "wrong", client, now).message)
    messages.append(logins.attempt(paths, users_file, users, username, "wrong", client, now + 60).message)
    return [re.sub(r"\d", "#", m) for m in messages]


def test_unknown_users_get_the_same_answers(city: Paths, fresh_log: Clock, users) -> None:
    known = _fail_until_locked(city, auth.users_path(city), users, "boss", "10.0.0.1")
    unknown = _fail_until_locked(city, auth.users_path(city), users, "no-such-user", "10.0.0.2")
    assert known == unknown and "已暂时锁定" in known[-1]


def test_one_client_trying_many_names_is_locked(city: Paths, fresh_log: Clock, users) -> None:
    path, now = auth.users_path(city), T0
    for i in range(logins.LOCK_FAILURES):  # one guess at each of ten names from one address
        wait = logins.check(city, f"user{i}", "10.0.0.9", now)
        now = wait.until + 0.1 if wait else now + 0.1
        logins.attempt(city, path, users, f"user{i}", "guess", "10.0.0.9", now)
    refused = logins.attempt(city, path, users, "boss", password("boss"), "10.0.0.9", now + 1)
    assert refused.viewer is None and "已暂时锁定" in refused.message
    elsewhere = logins.attempt(city, path, users, "boss", password("boss"), "10.0.0.10", now + 1)
    assert elsewhere.viewer is not None and elsewhere.viewer.username == "boss"


def test_a_success_clears_the_users_count(city: Paths, fresh_log: Clock, users) -> None:
    path = auth.users_path(city)
    for i in range(2):
        logins.attempt(city, path, users, "scj", "wrong", "10.0.0.3", T0 + i)
    assert logins.attempt(city, path, users, "scj", password("scj"), "10.0.0.3", T0 + 2).viewer is not None
    after = logins.attempt(city, path, users, "scj", "wrong", "10.0.0.4", T0 + 3)
    assert after.message == "用户名或密码错误。"  # the count restarted: no wait yet
    assert [logins.delay_after(n) for n in range(12)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]


# --- scrypt cost, rehash, the users file ------------------------------------------------------------------

def test_owasp_cost_hashes_and_verifies(monkeypatch) -> None:
    monkeypatch.setattr(auth, "SCRYPT_COST", dict(auth.OWASP_SCRYPT))
    assert auth.OWASP_SCRYPT == {"n": 2 ** 17, "r": 8, "p": 1}
    hashed = auth.hash_password("秘密-pw")  # needs maxmem above hashlib's 32 MiB default
    assert hashed.startswith("scrypt$131072$8$1$") and not auth.needs_rehash(hashed)
    assert auth.verify_password("秘密-pw", hashed) and not auth.verify_password("秘密-PW", hashed)
    old = auth.hash_password("秘密-pw", cost={"n": 2 ** 14, "r": 8, "p": 1})
    assert auth.verify_password("秘密-pw", old) and auth.needs_rehash(old)  # the old format still verifies
    assert not auth.verify_password("x", "scrypt$1073741824$8$1$AAAA$AAAA")  # a hash asking for 1 TiB: refused


def test_old_hash_is_rehashed_at_login(city: Paths, fresh_log: Clock, monkeypatch, tmp_path) -> None:
    users_file = write_test_users(tmp_path / "users.toml")  # at the tests' cheaper cost (conftest)
    users_file.write_text("# 运维说明：勿删\n" + users_file.read_text("utf-8"), "utf-8")
    os.chmod(users_file, 0o644)
    before = {u.username: u.password_hash for u in auth.load_users(users_file)[0].values()}
    assert all(h.startswith("scrypt$16384$8$1$") for h in before.values())
    monkeypatch.setenv("SGS_USERS", str(users_file))
    monkeypatch.setattr(auth, "SCRYPT_COST", dict(auth.OWASP_SCRYPT))  # today's production cost
    assert _logged_in(login(app(), "boss"))
    after = {u.username: u.password_hash for u in auth.load_users(users_file)[0].values()}
    assert after["boss"].startswith("scrypt$131072$8$1$")
    assert {u: h for u, h in after.items() if u != "boss"} == {u: h for u, h in before.items() if u != "boss"}
    assert users_file.read_text("utf-8").startswith("# 运维说明：勿删\n")  # only the hash changed
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert _logged_in(login(app(), "boss"))  # the new hash verifies


def test_users_files_are_owner_only(tmp_path) -> None:
    from sgs.demo import _write_demo_users

    old = os.umask(0)  # even with a permissive umask
    try:
        written = write_test_users(tmp_path / "users.toml")
        _write_demo_users(resolve_paths(tmp_path / "demo" / "sgs.duckdb"), [("d1", "一局")])
    finally:
        os.umask(old)
    for path in (written, tmp_path / "demo" / "users.toml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.rglob("*.tmp"))


# --- the real server: metrics closed, download links bound to their session ----------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from test_browser import _serve

    folder = tmp_path_factory.mktemp("served")
    paths = resolve_paths(folder / "city" / "sgs.duckdb")
    build_city(paths)
    with _serve(paths, write_test_users(paths.root / "users.toml"), folder) as base:
        yield base


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_metrics_endpoint_is_closed(served: str) -> None:
    assert _get(f"{served}/_stcore/health")[0] == 200
    assert _get(f"{served}/_stcore/metrics")[0] == 404
    assert _get(f"{served}/_stcore/metrics?families=session_events")[0] == 404
    assert _get(f"{served}/media/{'0' * 56}.xlsx")[0] == 404


def _until(condition, seconds: float = 15.0) -> bool:
    """Poll ``condition`` (a server answers when it has noticed; nothing here measures time)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_download_link_works_once_and_dies_with_its_session(served: str) -> None:
    """The browser asks for the 整改清单 file; the test rewrites the answer's ``/media/`` link (same length)
    so the browser does not fetch it, and fetches it itself: once while the session lives, then no more;
    a link made just before the tab closed, or just before logging out, is refused."""
    from playwright.sync_api import expect, sync_playwright

    from test_browser import CHROMIUM, _require_chromium

    _require_chromium()
    links: list[str] = []

    def intercept(ws) -> None:
        server = ws.connect_to_server()

        def from_server(message) -> None:
            if isinstance(message, bytes) and b"/media/" in message:
                links.extend(m.decode() for m in re.findall(rb"/media/[0-9a-f]+\.[a-z]+", message))
                message = message.replace(b"/media/", b"/mediX/")
            ws.send(message)

        server.on_message(from_server)

    def logged_in(browser):
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.route_web_socket(re.compile(r".*/_stcore/stream$"), intercept)
        page.goto(served)
        page.get_by_label("用户名").fill("scj")
        page.get_by_label("密码").fill("scj-pw")
        page.get_by_role("button", name="登录").click()
        button = page.get_by_role("button", name=re.compile("下载整改清单"))
        expect(button).to_be_visible(timeout=60_000)
        return page, button

    def new_link(page, button) -> str:
        seen = len(links)
        for _ in range(3):  # a click landing while the page reruns may hit the previous run's button: again
            button.click()
            for _ in range(100):
                if len(links) > seen:
                    return f"{served}{links[-1]}"
                page.wait_for_timeout(100)  # lets Playwright deliver the websocket messages
        raise AssertionError("the download button produced no /media/ link")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page, button = logged_in(browser)
            link = new_link(page, button)
            status, body = _get(link)
            assert status == 200 and body[:2] == b"PK"  # the xlsx, while its session lives
            assert _get(link)[0] == 404  # once only
            link = new_link(page, button)
            page.close()  # the tab closes: its session ends
            assert _until(lambda: _get(link)[0] == 404)
            page, button = logged_in(browser)
            link = new_link(page, button)
            page.get_by_role("button", name="退出登录").click()
            expect(page.get_by_label("用户名")).to_be_visible()
            assert _get(link)[0] == 404  # logged out: the session's links are revoked
        finally:
            browser.close()

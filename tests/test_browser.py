"""End to end in a real browser: ``sgs serve`` as a subprocess, driven by headless Chromium (Debian's
``/usr/bin/chromium`` through the ``playwright`` package; no browser download) through the login, the
ranking, a department's finding and its archived page — a hostile page whose script would rename the
document and whose markup would call ``example.invalid``. Screenshots go to the test's tmp directory.

Skipped only when Chromium is missing on a developer machine; on CI (``CI=true``) a missing browser fails.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard_city import EVIL_HOST, HOSTILE_TITLE, build_city, password, write_test_users
from core.settings import resolve_paths

CHROMIUM = os.environ.get("SGS_CHROMIUM", "/usr/bin/chromium")
ON_CI = os.environ.get("CI", "").lower() == "true"


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if ON_CI:
        pytest.fail(f"CI=true 但找不到 Chromium（{CHROMIUM}）：.ci/run 应已用 apt-get 安装 chromium。")
    pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium); on CI this test fails instead")


def pick_option(page, combobox: str, option: "str | re.Pattern[str]") -> None:
    """Open a select box (or multiselect) by its label and click one option. A click landing while the page
    reruns meets the previous run's list, which vanishes: close it and try again (up to three times)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        page.get_by_role("combobox", name=combobox).click()
        try:
            page.get_by_role("option", name=option).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(paths, users: Path, tmp_path: Path, *more: str):
    """``sgs serve`` on a free port over ``paths``' published snapshot (``more``: further options), until the
    block ends."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SGS_OPEN_DEMO", "SGS_USERS", "SGS_DB", "SGS_PROVINCE", "SGS_CITIES")}
    log_path = tmp_path / f"serve-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "sgs.cli", "serve", "--db", str(paths.db), "--port", str(port),
                             "--users", str(users), *more], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sgs serve did not start: {log_path.read_text('utf-8', 'replace')}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    _assert_stopped(base)


def _assert_stopped(base: str) -> None:
    """Stopping ``sgs serve`` stops its Streamlit child too: nothing answers on the port afterwards."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
        except OSError:
            return
        time.sleep(0.3)
    raise AssertionError(f"the dashboard at {base} still answers after sgs serve was stopped")


@pytest.fixture(scope="module", autouse=True)
def patient_expect():
    """``expect`` waits up to 30 s in this module, as in test_journeys: a loaded CI core draws a page slowly."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the other modules


@pytest.fixture()
def served(tmp_path: Path):
    """The small city with hostile archived pages, served by ``sgs serve`` on a free port."""
    _require_chromium()
    paths = resolve_paths(tmp_path / "city" / "sgs.duckdb")
    build_city(paths)
    with _serve(paths, write_test_users(paths.root / "users.toml"), tmp_path) as base:
        yield base


def logged_in(browser, base: str, username: str, *, requests: list[str] | None = None, width: int = 1400,
              height: int = 1000):
    """A new page (Chinese locale) logged in as one of dashboard_city's users through the login form;
    ``requests`` collects the URL of every request the page makes."""
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    page.set_default_timeout(30_000)
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    page.goto(base)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password(username))
    page.get_by_role("button", name="登录").click()
    return page


def _logged_in_page(browser, base: str, requests: list[str]):
    """A new page that records every request it makes, logged in as the leader ``boss``."""
    return logged_in(browser, base, "boss", requests=requests)


def _assert_inert(page, requests: list[str]) -> None:
    """Nothing from a hostile crawled page ran or loaded: title unchanged, no request, no live element."""
    assert HOSTILE_TITLE not in page.title()
    assert not [u for u in requests if EVIL_HOST in u], requests
    selector = ", ".join(f'{tag}[{attr}*="{EVIL_HOST}"]' for tag, attr in
                         (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")))
    assert page.evaluate("s => document.querySelectorAll(s + ', img[onerror]').length", selector) == 0


def test_login_ranking_finding_and_archived_page(served: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = _logged_in_page(browser, served, requests)
            # the ranking
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
            expect(page.get_by_text("双公示监测评估总览 · 2026Q3")).to_be_visible()
            page.wait_for_timeout(1500)  # let the tables and charts draw before the screenshot
            page.screenshot(path=shots / "1-ranking.png", full_page=True)
            # a department's findings
            page.get_by_role("link", name="部门自查").click()
            expect(page.get_by_text("部门自查 · 2026Q3")).to_be_visible()
            page.get_by_role("combobox", name="部门", exact=True).click()  # open the selectbox, pick the option
            page.get_by_role("option", name="市市场监督管理局（市本级）").click()
            expect(page.get_by_text("全市排名")).to_be_visible()
            expect(page.get_by_text("2 / 4")).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=shots / "2-department.png", full_page=True)
            # its first finding, with the archived page as text
            archived = page.get_by_text("行政处罚决定书公示")
            expect(archived.first).to_be_visible()
            expect(page.get_by_text("记录字段")).to_be_visible()
            archived.first.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            page.screenshot(path=shots / "3-archived-page.png", full_page=True)
            _assert_inert(page, requests)  # nothing from the hostile page ran or loaded
            # a fresh visit, even straight to a page's address, meets the login form and no data
            other = browser.new_page()
            other.goto(f"{served}/overview")
            expect(other.get_by_label("用户名")).to_be_visible()
            assert other.get_by_text("部门排名").count() == 0
            other.screenshot(path=shots / "4-login.png")
        finally:
            browser.close()
    for name in ("1-ranking.png", "2-department.png", "3-archived-page.png"):
        assert (shots / name).stat().st_size > 10_000


def test_reload_keeps_the_login_and_logout_ends_it(served: str, tmp_path: Path) -> None:
    """F5 keeps the user logged in (the signed session cookie, HttpOnly: no script can read it); a deep link
    opens its page; 退出登录 ends it, and a reload then shows the login form."""
    from playwright.sync_api import expect, sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = _logged_in_page(browser, served, requests)
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
            page.wait_for_timeout(1500)  # the page exchanges its one-time code for the cookie
            cookie = next(c for c in page.context.cookies() if c["name"] == "sgs_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert "sgs_session" not in page.evaluate("document.cookie")
            page.reload()
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
            assert page.get_by_label("密码").count() == 0
            page.goto(f"{served}/findings")  # a deep link, within the leader's rights
            expect(page.get_by_text("问题清单 · 2026Q3")).to_be_visible()
            page.goto(f"{served}/overview")  # the start page has its own address too
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
            assert page.get_by_text("Page not found").count() == 0
            page.screenshot(path=tmp_path / "reloaded.png", full_page=True)
            page.get_by_role("button", name="退出登录").click()
            expect(page.get_by_label("用户名")).to_be_visible()
            page.wait_for_timeout(1000)
            page.reload()
            expect(page.get_by_label("用户名")).to_be_visible()
            assert page.get_by_text("部门排名").count() == 0
            assert not [c for c in page.context.cookies() if c["name"] == "sgs_session" and c["value"]]
        finally:
            browser.close()


def test_department_menu_and_refused_address(served: str) -> None:
    """A department clerk's menu lists only the clerk's pages; a leader's page opened by its address says, in
    Chinese, that this account may not see it (never Streamlit's English "Page not found")."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.goto(f"{served}/findings")
            page.get_by_label("用户名").fill("scj")
            page.get_by_label("密码").fill(password("scj"))
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_text("部门账号无权查看本页面。")).to_be_visible()
            sidebar = page.get_by_test_id("stSidebarNav")
            expect(sidebar.get_by_text("部门自查")).to_be_visible()
            assert sidebar.get_by_text("问题清单").count() == 0 and sidebar.get_by_text("总览").count() == 0
            assert page.get_by_text("Page not found").count() == 0
            page.goto(served)
            expect(page.get_by_text("部门自查 · 2026Q3")).to_be_visible()
        finally:
            browser.close()


def test_demo_city_archived_page_stays_inert(demo_run, tmp_path: Path) -> None:
    """The demo city's own crawled detail pages carry a script, an ``onerror`` image and a remote stylesheet
    (democity.pages.HOSTILE_HEAD/BODY); shown as a department's evidence in a real browser, none of it acts."""
    from playwright.sync_api import expect, sync_playwright

    from dashboard.auth import write_users

    _require_chromium()
    counts = Counter(d["dept_id"] for d in demo_run.manifest["defects"]
                     if d["level"] == "record" and d["period"] == "2026Q3")
    dept = next(d for d in demo_run.manifest["departments"] if d["id"] == counts.most_common(1)[0][0])
    users = tmp_path / "users.toml"
    write_users(users, [{"username": "boss", "name": "领导", "role": "leader", "dept_id": None,
                         "password": "boss-pw"}])
    shots = tmp_path / "screenshots"
    shots.mkdir()
    requests: list[str] = []
    with _serve(demo_run.paths, users, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = _logged_in_page(browser, base, requests)
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
            page.get_by_role("link", name="部门自查").click()
            page.get_by_role("combobox", name="部门", exact=True).click()
            page.get_by_role("option", name=f"{dept['name']}（{dept['county']}）").click()
            expect(page.get_by_text("存档页面").first).to_be_visible()
            page.get_by_text("存档页面").first.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            page.screenshot(path=shots / "demo-archived-page.png", full_page=True)
            _assert_inert(page, requests)
        finally:
            browser.close()
    assert (shots / "demo-archived-page.png").stat().st_size > 10_000


def test_province_finding_clicked_opens_its_archived_page(tmp_path: Path) -> None:
    """全省排名 in a real browser: the small city (hostile archived pages) exported to a province's store and
    rolled up, served by ``sgs serve --province STORE --cities CITIES``; a click on the second row of a
    department's findings opens that finding, with its city's archived page as inert text."""
    from playwright.sync_api import expect, sync_playwright

    from core.periods import parse_period
    from metrics.rollup import export_city, rollup
    from metrics.scheme import load_scheme, scheme_path

    _require_chromium()
    version = load_scheme(scheme_path(parse_period("2026Q3"))).version  # the roll-up's scheme, as scored
    city = resolve_paths(tmp_path / "cities" / "长治" / "sgs.duckdb")
    build_city(city, lambda con: con.execute("UPDATE scores SET scheme_version = ?", [version]))
    from core import store

    snap = store.open_snapshot(city)
    try:
        export_city(snap, "长治", [parse_period("2026Q2"), parse_period("2026Q3")], tmp_path / "store")
    finally:
        snap.close()
    from test_journeys import ARTIFACTS, overflowing, settle, whole_page

    rollup(tmp_path / "store", parse_period("2026Q3"))
    dash = resolve_paths(tmp_path / "dash" / "sgs.duckdb")
    dash.root.mkdir()
    users = write_test_users(dash.root / "users.toml")
    requests: list[str] = []
    with _serve(dash, users, tmp_path, "--province", str(tmp_path / "store"), "--cities", str(tmp_path / "cities")) \
            as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = logged_in(browser, base, "judge", requests=requests)
            expect(page.get_by_role("heading", name="全省排名")).to_be_visible()
            pick_option(page, "部门", "市市场监督管理局")
            expect(page.get_by_text("市市场监督管理局 · 问题清单")).to_be_visible()
            expect(page.get_by_text("记录字段")).to_be_visible()  # the first finding, before any click
            grid = page.locator(".st-key-province_findings [data-testid='stDataFrame']")
            grid.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            box = grid.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + 12, box["y"] + 35 * 2 + 17)  # the second row's selection cell
            expect(page.get_by_role("combobox", name="查看问题详情")).to_have_value(re.compile(r"^2\. 长市监罚〔2026〕16号"))
            expect(page.get_by_text("记录字段")).to_be_visible()
            expect(page.locator(".st-key-archived_text")).to_contain_text("长市监罚〔2026〕16号 行政处罚决定书公示")
            # every table of the drill-down fits beside the sidebar (cities, counties, departments, findings,
            # the finding's fields); the screenshot is kept with the journeys' (tests/test_journeys.py)
            settle(page)
            assert not overflowing(page), overflowing(page)
            folder = ARTIFACTS / "screenshots" / "province"
            folder.mkdir(parents=True, exist_ok=True)
            whole_page(page, folder / "01-department-finding.png")
            _assert_inert(page, requests)
        finally:
            browser.close()


def test_demo_city_tables_fit_the_screen(demo_run, tmp_path: Path) -> None:
    """The demo city's names are as long as a real city's (示范市住房和城乡建设局, 统一社会信用代码校验错误, a
    page's address): at 1440×900 beside the sidebar, no table of 总览, 部门自查 (the department with the most
    findings) or 问题清单 scrolls sideways (``test_journeys.overflowing``; the screenshots beside the journeys').
    Here, not in test_journeys: that module's Chromium stays open through its tests, and the demo run, built by
    the first test that needs it, cannot start its event loop inside Playwright's."""
    from playwright.sync_api import expect, sync_playwright

    from dashboard.auth import write_users
    from test_journeys import ARTIFACTS, HEIGHT, WIDTH, overflowing, settle, whole_page

    _require_chromium()
    counts = Counter(f["dept_id"] for f in demo_run.manifest["defects"] if f["period"] == "2026Q3")
    dept = next(d for d in demo_run.manifest["departments"] if d["id"] == counts.most_common(1)[0][0])
    users = tmp_path / "users.toml"
    write_users(users, [{"username": "boss", "name": "领导", "role": "leader", "dept_id": None,
                         "password": "boss-pw"}])
    folder = ARTIFACTS / "screenshots" / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with _serve(demo_run.paths, users, tmp_path) as base, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN")
            page.set_default_timeout(30_000)
            page.goto(base)
            page.get_by_label("用户名").fill("boss")
            page.get_by_label("密码").fill("boss-pw")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="部门排名")).to_be_visible(timeout=60_000)  # a loaded core
            settle(page)
            assert not overflowing(page), ("总览", overflowing(page))
            whole_page(page, folder / "01-overview.png")
            page.get_by_role("link", name="部门自查").click()
            pick_option(page, "部门", f"{dept['name']}（{dept['county']}）")
            expect(page.get_by_role("heading", name="整改通知书")).to_be_visible(timeout=60_000)
            settle(page)
            assert not overflowing(page), ("部门自查", overflowing(page))
            whole_page(page, folder / "02-department.png")
            page.get_by_role("link", name="问题清单").click()
            expect(page.get_by_role("heading", name="全部问题")).to_be_visible(timeout=60_000)
            settle(page)
            assert not overflowing(page), ("问题清单", overflowing(page))
            whole_page(page, folder / "03-findings.png")
        finally:
            chromium.close()


def test_cjk_font_installed() -> None:
    """Screenshots need a CJK font to show readable Chinese (.ci/run installs fonts-noto-cjk)."""
    if not shutil.which("fc-list"):
        if ON_CI:
            pytest.fail("fc-list missing on CI: .ci/run should install fonts-noto-cjk (brings fontconfig)")
        pytest.skip("fontconfig not installed")
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    if not fonts.strip():
        if ON_CI:
            pytest.fail("no CJK font on CI: .ci/run should install fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")

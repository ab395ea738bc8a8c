"""Each role's job in a real browser, as the person would do it: ``sgs serve`` on 127.0.0.1 over the small
dashboard city, headless Chromium at 1440×900 (Debian's ``/usr/bin/chromium`` through ``playwright``).

* 领导: log in → 总览 ranks the weakest first → a click on a department's row opens its page → F5 keeps
  the login and the page → 退出登录 → the login form.
* 部门: log in → 部门自查 shows the deadline and the counts at the top → a finding opened from its row →
  报告已整改 with a 整改说明 → the status reads 已报整改 → F5 keeps the login and the status.
* 评估人员: log in → 问题清单 → the 待审队列 holds the department's objection → 异议不成立 with the reason →
  F5 keeps the login, and the queue no longer holds it.

Every step leaves a screenshot in ``artifacts/screenshots/<role>/NN-step.png`` under the repository (or
under ``$SGS_ARTIFACTS``), which ``.ci/run`` lists so they can be kept from the CI run; every page on the way
is checked for "nan", "None", Streamlit's English error texts and the server's file paths in what it shows,
and every table on it for fitting the 1440 px window beside the sidebar (no scrolling sideways inside a table:
``overflowing``). After 退出登录 the login form stands alone, no empty sidebar beside it.
One server for the module; skipped only when Chromium is missing on a developer machine (fails on CI).
"""
from __future__ import annotations

import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.settings import resolve_paths
from dashboard_city import build_city, write_test_users
from metrics import corrections
from test_browser import CHROMIUM, _require_chromium, _serve, logged_in, pick_option
from test_dashboard_loop import F_CLASS, F_MISSING, _issued

WIDTH, HEIGHT = 1440, 900
ARTIFACTS = Path(os.environ.get("SGS_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
DEADLINE = date.today() + timedelta(days=30)
OBJECTION = "“公司”是登记机关核定的类别"  # the department's objection waiting in the assessor's queue
# What a page must never show: an empty value as Python or pandas prints it, Streamlit's English errors
NEVER = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|\bnull\b|Traceback|Error|Exception|Page not found|"
                   r"Connection|streamlit|Deploy|Running|Press |Upload|per file|\bStop\b|Skip to")
SERVER_PATHS = ("/tmp/", "/home/", "/work/", "/usr/", "site-packages", ".duckdb", ".sqlite3", ".py")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """The small city, issued (so a deadline runs), with the department's objection to one finding already
    recorded (the assessor's queue has something to decide), served once for the module."""
    _require_chromium()
    folder = tmp_path_factory.mktemp("journeys")
    paths = resolve_paths(folder / "city" / "sgs.duckdb")
    build_city(paths, extra=_issued(DEADLINE))
    corrections.record(paths, [corrections.Finding(F_CLASS, "2026Q3", "d_scj", "open")], "object",
                       username="scj", role="department", scope="d_scj", reason=OBJECTION)
    with _serve(paths, write_test_users(paths.root / "users.toml"), folder) as base:
        yield base, paths


@pytest.fixture(scope="module")
def browser(served):
    """One Chromium for the module; ``expect`` waits up to 30 s here (a loaded CI core draws a page slowly)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
    expect.set_options(timeout=5_000)  # Playwright's default, for the other modules


class Journey:
    """One role's walk: numbered screenshots in its own directory, and each page's visible text checked."""

    def __init__(self, role: str, paths_shown: tuple[str, ...]) -> None:
        self.folder = ARTIFACTS / "screenshots" / role
        shutil.rmtree(self.folder, ignore_errors=True)  # no screenshot of an earlier run is mistaken for this one
        self.folder.mkdir(parents=True)
        self.forbidden = (*SERVER_PATHS, *paths_shown)
        self.n = 0

    def step(self, page, name: str) -> str:
        """Let the page settle, take its screenshot and check its text; the text for further checks."""
        settle(page)
        assert not overflowing(page), (name, overflowing(page))
        self.n += 1
        whole_page(page, self.folder / f"{self.n:02d}-{name}.png")
        text = shown_text(page)
        assert not NEVER.findall(text), (name, NEVER.findall(text))
        assert not [p for p in self.forbidden if p in text], (name, [p for p in self.forbidden if p in text])
        return text


def settle(page) -> None:
    """Until Streamlit has finished its run (no status widget for half a second) and the tables have drawn."""
    quiet = 0
    for _ in range(150):
        quiet = 0 if page.locator("[data-testid=stStatusWidget]").count() else quiet + 1
        if quiet == 5:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)


def overflowing(page) -> list[str]:
    """The tables on the page wider than their box, which a reader would scroll sideways: each one's key with
    its columns' width and the width shown. Streamlit's table is a glide-data-grid canvas; its scroller
    (``.dvn-scroller``) is as wide as the columns need (``scrollWidth``) and as wide as the page lets it be
    (``clientWidth``)."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid=stDataFrame]')].flatMap(table => {
        const scroller = table.querySelector('.dvn-scroller');
        if (!scroller || scroller.scrollWidth <= scroller.clientWidth + 1) return [];
        const box = table.closest('[class*="st-key-"]');
        const key = box ? [...box.classList].find(c => c.startsWith('st-key-')) : '(no key)';
        return [`${key}: ${scroller.scrollWidth} px of columns in ${scroller.clientWidth} px`];
    })""")


def whole_page(page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main pane, so the window is made as tall
    as that pane's content for the shot (the width, and so the layout, stays 1440 px), then restored."""
    tall = page.evaluate("Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
                         "[data-testid=stSidebarContent]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, int(tall))})
    page.wait_for_timeout(300)
    page.screenshot(path=path)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def shown_text(page) -> str:
    """What a reader sees: the page's text (icon names dropped) and the cells of every table (drawn on a
    canvas; their text is in the grid's accessible copy)."""
    text = page.evaluate("""() => {
        const icons = [...document.querySelectorAll('[data-testid=stIconMaterial], .material-symbols-rounded')];
        icons.forEach(i => i.dataset.sgsText = i.textContent);
        icons.forEach(i => i.textContent = '');
        const shown = document.body.innerText;
        icons.forEach(i => i.textContent = i.dataset.sgsText);
        // the skip link shows only on keyboard focus, in Chinese (its English text is hidden: views._common)
        return shown.replace('Skip to main content', '');
    }""")
    cells = page.locator("[data-testid=stDataFrame] [role=gridcell]").all_text_contents()
    return text + "\n" + "\n".join(cells)


def click_row(page, table: str, row: int) -> None:
    """Tick a row of a table (the container ``st-key-<table>``) in its selection column, as a reader does:
    the grid is a canvas, so by position (Streamlit's rows are 35 px, the header one row)."""
    grid = page.locator(f".st-key-{table} [data-testid=stDataFrame]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 * (row + 1) + 17)


def test_leader_reads_the_ranking_and_opens_the_weakest(served, browser) -> None:
    from playwright.sync_api import expect

    base, paths = served
    journey = Journey("leader", (str(paths.root),))
    page = logged_in(browser, base, "boss", width=WIDTH, height=HEIGHT)
    expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
    journey.step(page, "overview")
    weakest = page.locator(".st-key-weakest [role=gridcell]").all_text_contents()
    assert "潞州区交通运输局" in weakest[:6]  # the lowest total (52.8) first
    ranking = page.locator(".st-key-dept_ranking [role=gridcell]").all_text_contents()
    assert ranking.index("潞州区交通运输局") < ranking.index("市市场监督管理局") < ranking.index("市发展和改革委员会")
    click_row(page, "dept_ranking", 0)
    expect(page.get_by_text("部门自查 · 2026Q3")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/department\?dept=d_jtj$"))
    expect(page.get_by_role("combobox", name="部门", exact=True)).to_have_value(re.compile("潞州区交通运输局"))
    expect(page.get_by_role("heading", name="整改通知书")).to_be_visible()  # drawn to the end
    journey.step(page, "department-opened")
    page.reload()
    expect(page.get_by_text("部门自查 · 2026Q3")).to_be_visible()
    expect(page.get_by_role("combobox", name="部门", exact=True)).to_have_value(re.compile("潞州区交通运输局"))
    assert page.get_by_label("密码").count() == 0
    journey.step(page, "reloaded")
    page.get_by_role("button", name="退出登录").click()
    # the login form alone: at no moment an (emptied) sidebar beside it, as the last run's lingered, and no
    # button to open one; watched every 50 ms for 4 s from the click
    form, sidebar = page.get_by_label("用户名"), page.get_by_test_id("stSidebar")
    beside = []
    for _ in range(80):
        beside.append(form.is_visible() and sidebar.is_visible())
        page.wait_for_timeout(50)
    expect(form).to_be_visible()
    journey.step(page, "logged-out")
    assert not any(beside) and not sidebar.is_visible(), beside
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_hidden()
    page.close()


def test_clerk_reports_a_finding_fixed(served, browser) -> None:
    from playwright.sync_api import expect

    base, paths = served
    journey = Journey("department", (str(paths.root),))
    page = logged_in(browser, base, "scj", width=WIDTH, height=HEIGHT)
    expect(page.get_by_role("heading", name="整改通知书")).to_be_visible()
    text = journey.step(page, "self-check")
    progress = page.locator(".st-key-progress")
    expect(progress.get_by_text(f"整改期限：{DEADLINE:%Y-%m-%d}，还剩")).to_be_visible()
    for label in ("待处理", "已报整改", "异议待审", "逾期未整改"):
        expect(progress.get_by_text(label, exact=True)).to_be_visible()
    assert text.index("整改期限") < text.index("得分说明")  # at the top, before the score's explanation
    # the finding on 长市监罚〔2026〕16号 (序号 2), opened from its row: its detail, and the answer's choice
    click_row(page, "remediation", 1)
    expect(page.get_by_role("combobox", name="查看问题详情")).to_have_value(re.compile(r"^2\. 长市监罚〔2026〕16号"))
    expect(page.locator(".st-key-answer_pick")).to_contain_text("2. 长市监罚〔2026〕16号 · completeness_rule · 待处理")
    journey.step(page, "finding-opened")
    page.get_by_text("提出异议", exact=True).click()  # the objection's form, with its Chinese upload field
    upload = page.locator("[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer]")
    assert upload.evaluate("e => getComputedStyle(e, '::after').content") == '"选择文件"'
    journey.step(page, "objection-form")
    page.get_by_text("报告已整改", exact=True).click()
    page.get_by_label("整改说明（必填）").fill("已在网站补充统一社会信用代码")
    page.get_by_label(re.compile("整改后的页面地址")).fill("https://scj.example.gov.cn/cf/16.html")
    journey.step(page, "answer-filled")
    page.get_by_role("button", name="提交：报告已整改（1 项）").click()
    expect(page.get_by_text("已记录“报告已整改”：1 项问题。")).to_be_visible()
    expect(page.get_by_text("当前状态：已报整改（待复核）")).to_be_visible()
    journey.step(page, "reported-fixed")
    page.reload()
    expect(page.get_by_text("部门自查 · 2026Q3")).to_be_visible()
    assert page.get_by_label("密码").count() == 0
    expect(page.locator(".st-key-progress").get_by_text("已报整改", exact=True)).to_be_visible()
    journey.step(page, "reloaded")
    assert corrections.latest(paths).set_index("finding_id")["status"][F_MISSING] == "fixed"
    page.close()


def test_assessor_decides_an_objection(served, browser) -> None:
    from playwright.sync_api import expect

    base, paths = served
    journey = Journey("assessor", (str(paths.root),))
    page = logged_in(browser, base, "judge", width=WIDTH, height=HEIGHT)
    expect(page.get_by_role("heading", name="部门排名")).to_be_visible()
    page.get_by_role("link", name="问题清单").click()
    expect(page.get_by_text("问题清单 · 2026Q3")).to_be_visible()
    queue = page.locator(".st-key-queue [role=gridcell]")
    expect(queue.filter(has_text=OBJECTION)).to_have_count(1)
    journey.step(page, "queue")
    pick_option(page, "选择问题（可多选）", "4. 长市监许〔2026〕301号 · accuracy_rule · 异议待审")
    page.keyboard.press("Escape")
    page.get_by_text("异议不成立", exact=True).click()
    page.get_by_label(re.compile("不予采纳的理由")).fill("“公司”不是规定的相对人类别代码")
    journey.step(page, "decision-filled")
    page.get_by_role("button", name="提交：异议不成立（1 项）").click()
    expect(page.get_by_text("已记录“异议不成立”：1 项问题。")).to_be_visible()
    journey.step(page, "decided")
    page.reload()
    expect(page.get_by_text("问题清单 · 2026Q3")).to_be_visible()
    assert page.get_by_label("密码").count() == 0
    expect(page.locator(".st-key-queue [role=gridcell]").filter(has_text=OBJECTION)).to_have_count(0)
    journey.step(page, "reloaded")
    assert corrections.latest(paths).set_index("finding_id")["status"][F_CLASS] == "confirmed"
    page.close()

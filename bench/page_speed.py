"""How long each dashboard page takes to be fully drawn in a real browser, as a user waits for it.

    python bench/page_speed.py --db data/demo/sgs.duckdb [--user leader --password leader-demo] [--runs 3]

Starts ``sgs serve`` on the database, logs in with headless Chromium (Debian's /usr/bin/chromium through
Playwright; a window tall enough that nothing waits to be scrolled into view), then for each page times from
the click on its menu entry to the moment it is drawn: Streamlit no longer
running, every chart's SVG present and every table's canvas painted. The first visit of each page fills the
snapshot caches; the median of the later runs is what a user meets on a warm server. Results in
docs/bench-dashboard.md with the machine.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# page → (its title's first words, how many charts and tables it draws when everything is there)
PAGES = {"部门自查": ("部门自查", 0, 2), "问题清单": ("问题清单", 0, 1), "主体查询": ("主体查询", 0, 0),
         "事项目录": ("事项目录", 0, 1), "采集状态": ("采集状态", 0, 1), "总览": ("双公示监测评估总览", 5, 4)}
DRAWN = """([title, charts, tables]) => {
    const h1 = document.querySelector('h1');
    const drawn = [...document.querySelectorAll('.js-plotly-plot')].filter(c => c.querySelector('svg.main-svg'));
    const painted = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(t => t.querySelector('canvas'));
    return !document.querySelector('[data-testid="stStatusWidget"]') && h1 !== null
        && h1.textContent.startsWith(title) && drawn.length >= charts && painted.length >= tables;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "sgs.cli", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("sgs serve did not start")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--user", default="leader")
    parser.add_argument("--password", default="leader-demo")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(args.db, port)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("SGS_CHROMIUM", "/usr/bin/chromium"),
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 4000}, locale="zh-CN")
            page.set_default_timeout(120_000)
            page.goto(base)
            page.get_by_label("用户名").fill(args.user)
            page.get_by_label("密码").fill(args.password)
            page.get_by_role("button", name="登录").click()
            page.wait_for_function(DRAWN, arg=list(PAGES["总览"]))  # the start page after the login
            reload_started = time.perf_counter()
            page.reload()  # F5: a new session, resumed from the cookie, the whole page drawn again
            page.wait_for_function(DRAWN, arg=list(PAGES["总览"]))
            reload = time.perf_counter() - reload_started
            nav = page.get_by_test_id("stSidebarNav")
            print(f"{'page':<10}{'first (s)':>10}{'median warm (s)':>17}  ({os.cpu_count()} CPUs)")
            for name, drawn in PAGES.items():
                times = []
                for run in range(args.runs + 1):
                    if run:  # from another page, so the click really moves
                        nav.get_by_text("主体查询" if name != "主体查询" else "采集状态", exact=True).click()
                        page.wait_for_timeout(500)
                    started = time.perf_counter()
                    nav.get_by_text(name, exact=True).click()  # a click in the menu, as a user moves on
                    page.wait_for_function(DRAWN, arg=list(drawn))
                    times.append(time.perf_counter() - started)
                print(f"{name:<10}{times[0]:>10.2f}{statistics.median(times[1:]):>17.2f}")
            print(f"总览 after F5 (new session, cookie resumed): {reload:.2f} s")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

"""How long each dashboard page and interaction takes to be fully drawn in a real browser, per role.

    python bench/page_speed.py --db data/demo/sgs.duckdb [--roles leader,assessor,department] [--runs 3]
    python bench/page_speed.py --setup /work/data-x/p10m --records 10000000 [--departments 5000]
    python bench/page_speed.py --db /work/data-x/p10m/sgs.duckdb --query-log /tmp/q.jsonl

``--setup DIR`` builds a province snapshot first: ``bench/gen_province.py`` (Parquet, then a working
``sgs.duckdb``; the Parquet files are deleted once loaded), ``sgs score --period 2026Q3`` (which publishes the
snapshot the dashboard reads) and a ``users.toml`` beside it with ``leader``/``leader-demo``,
``assessor``/``assessor-demo`` and the department with the most findings as ``<id>``/``<id>-demo`` — the
logins ``sgs demo`` writes. ``--db`` takes such a database (or the demo's); without a users file beside it
one is written the same way.

Starts ``sgs serve`` on the database, logs in with headless Chromium (Debian's /usr/bin/chromium through
Playwright; a window tall enough that nothing waits to be scrolled into view) as each role and walks that
role's job: its start page after the login and again after F5 (a new session resumed from the cookie),
every page of its menu (the first visit, then the median of ``--runs`` visits from another page), and one
interaction or two (a filter changed, a row clicked). A step is timed from the click until it is drawn:
the server said the run is finished (Streamlit's ``script_finished`` message on the websocket) and the
browser shows the page's title, no element of the old run, every chart's SVG and every table's canvas.
Each step also reports when the server's last message arrived (``server``: the rest is the browser's
drawing), the CPU seconds the server process spent on it and its memory (RSS) after it (``cpu``, ``rss``:
the CPU time is the number to compare on a loaded machine) and the bytes the server sent for it. ``--query-log FILE`` makes the server log each cache
miss's seconds (``dashboard.queries.shared``) and prints the slowest per step. Results in
docs/bench-dashboard.md with the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026Q3"
TIMEOUT_MS = 90_000  # a step not drawn by then is reported as such and the journey goes on  # the quarter bench/gen_province.py generates
# page → (its title's first words, at least how many charts and tables it draws)
PAGES = {"总览": ("双公示监测评估总览", 3, 4), "部门自查": ("部门自查", 0, 2), "问题清单": ("问题清单", 0, 1),
         "主体查询": ("主体查询", 0, 0), "事项目录": ("事项目录", 0, 1), "录入检查问题": ("录入检查问题", 0, 0),
         "采集状态": ("采集状态", 0, 1), "信用异议": ("信用异议", 0, 0), "访问日志": ("访问日志", 0, 0),
         "部门自查（任一部门）": ("部门自查", 0, 0)}  # a department without findings draws fewer tables
MENUS = {"leader": ["总览", "部门自查", "问题清单", "主体查询", "事项目录", "录入检查问题", "采集状态", "信用异议", "访问日志"],
         "assessor": ["总览", "部门自查", "问题清单", "主体查询", "事项目录", "录入检查问题", "采集状态", "信用异议"],
         "department": ["部门自查", "主体查询", "事项目录", "采集状态", "信用异议"]}
# drawn: the title, nothing left of the previous run, every chart and table in view painted (and at least
# the page's usual number of them)
DRAWN = """([title, charts, tables]) => {
    const h1 = document.querySelector('h1');
    const shown = e => e.checkVisibility();  // a table inside a closed expander is never drawn
    const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(shown);
    const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(shown);
    return !document.querySelector('[data-testid="stStatusWidget"]') && h1 !== null
        && h1.textContent.startsWith(title) && !document.querySelector('[data-stale="true"]')
        && plots.every(c => c.querySelector('svg.main-svg')) && grids.every(t => t.querySelector('canvas'))
        && plots.length >= charts && grids.length >= tables;
}"""


@dataclass
class Wire:
    """What the server sends this browser page: bytes, and each successful end of a script run."""

    finished: int = 0
    finished_at: float = 0.0
    received: int = 0
    sizes: list[int] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        data = payload if isinstance(payload, bytes) else payload.encode()
        self.received += len(data)
        msg = ForwardMsg()
        try:
            msg.ParseFromString(data)
        except Exception:  # noqa: BLE001 - not a ForwardMsg (cannot happen on Streamlit's socket)
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.finished += 1
            self.finished_at = time.perf_counter()


@dataclass
class Step:
    total: float
    server: float
    sent: int
    queries: list[tuple[str, float]]
    cpu: float = float("nan")  # the server process's CPU seconds (user + system) spent during the step
    rss: float = float("nan")  # its resident memory after the step, GiB


class Process:
    """The Streamlit server's CPU time and memory from /proc (Linux): the child ``sgs serve`` starts.

    Why: on a shared, loaded machine the wall time of a step swings with the load; the CPU seconds the server
    spent on it barely do, so an A/B of two versions compares those (wall beside them, with the load)."""

    pid: int | None = None

    @classmethod
    def find(cls, parent: int) -> None:
        children = Path(f"/proc/{parent}/task/{parent}/children")
        pids = children.read_text().split() if children.exists() else []
        cls.pid = int(pids[0]) if pids else parent

    @classmethod
    def cpu(cls) -> float:
        try:
            fields = Path(f"/proc/{cls.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    @classmethod
    def rss(cls) -> float:
        try:
            status = Path(f"/proc/{cls.pid}/status").read_text()
        except (OSError, TypeError):
            return float("nan")
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kib / 1024 / 1024


class QueryLog:
    """The server's cache misses (``SGS_QUERY_LOG``) since the last look."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.seen = path, 0

    def since(self) -> list[tuple[str, float]]:
        if self.path is None or not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        new, self.seen = lines[self.seen:], len(lines)
        return [(e["fn"], e["s"]) for e in map(json.loads, new)]


def measure(page, wire: Wire, log: QueryLog, act: Callable[[], None], drawn: tuple) -> Step:
    """Time ``act`` (a click) until the server finished a run and the browser drew ``drawn``."""
    log.since()
    before, sent, cpu = wire.finished, wire.received, Process.cpu()
    started = time.perf_counter()
    act()
    while wire.finished == before:
        page.wait_for_timeout(5)  # lets Playwright deliver the websocket events
        if time.perf_counter() - started > TIMEOUT_MS / 1000:
            raise TimeoutError("the server never finished the run")
    page.wait_for_function(DRAWN, arg=list(drawn), polling=20)
    total = time.perf_counter() - started
    return Step(total, wire.finished_at - started, wire.received - sent, log.since(), Process.cpu() - cpu, Process.rss())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db: Path, port: int, query_log: Path | None, code: Path = ROOT) -> subprocess.Popen:
    """``sgs serve`` from the source tree ``code`` (another checkout: an A/B of two versions' dashboards)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    if query_log is not None:
        env["SGS_QUERY_LOG"] = str(query_log)
    proc = subprocess.Popen([sys.executable, "-m", "sgs.cli", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env, cwd=code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("sgs serve did not start")


# --- the snapshot and its users ----------------------------------------------------------------------

def busiest_department(db: Path) -> tuple[str, str]:
    """The department with the most findings in the latest snapshot (the clerk with the longest list)."""
    sys.path.insert(0, str(ROOT))
    from core import store
    from core.settings import Paths

    con = store.open_snapshot(Paths(db))
    try:
        return con.execute("""SELECT f.dept_id, coalesce(any_value(d.name), f.dept_id) FROM findings f
                              LEFT JOIN departments d USING (dept_id) GROUP BY f.dept_id
                              ORDER BY count(*) DESC, f.dept_id LIMIT 1""").fetchall()[0]
    finally:
        con.close()


def ensure_users(db: Path) -> str:
    """The users file beside the database (written like ``sgs demo``'s when missing); the department login."""
    sys.path.insert(0, str(ROOT))
    from dashboard.auth import demo_users, write_users

    dept_id, name = busiest_department(db)
    users = db.parent / "users.toml"
    if not users.exists():
        write_users(users, demo_users([(dept_id, name)]))
    return dept_id


def setup(out: Path, records: int, departments: int) -> Path:
    """Generate, load, score and publish a province snapshot under ``out``; its working database."""
    run = lambda *cmd: subprocess.run([sys.executable, *cmd], check=True, cwd=ROOT,  # noqa: E731
                                      env={**os.environ, "PYTHONPATH": str(ROOT)})
    started = time.perf_counter()
    run("bench/gen_province.py", "--out", str(out), "--records", str(records), "--departments", str(departments))
    for parquet in out.glob("*.parquet"):
        parquet.unlink()  # loaded into sgs.duckdb; the snapshot is what the dashboard reads
    print(f"generated and loaded in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    run("-m", "sgs.cli", "score", "--db", str(out / "sgs.duckdb"), "--period", PERIOD)
    print(f"scored and published in {time.perf_counter() - started:.0f} s", flush=True)
    return out / "sgs.duckdb"


# --- the roles' journeys ---------------------------------------------------------------------------

def login(browser, base: str, user: str, password: str, start: str, log: QueryLog):
    page = browser.new_page(viewport={"width": 1440, "height": 4000}, locale="zh-CN")
    page.set_default_timeout(TIMEOUT_MS)
    wire = Wire()
    wire.attach(page)
    page.goto(base)
    page.wait_for_load_state("networkidle")  # the login page's preloaded scripts in, as while a person types
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    step = measure(page, wire, log, page.get_by_role("button", name="登录").click, PAGES[start])
    return page, wire, step


def reload(page, wire: Wire, log: QueryLog, start: str) -> Step:
    """F5: a new session, resumed from the cookie, the whole page drawn again."""
    return measure(page, wire, log, page.reload, PAGES[start])


def visit(page, wire: Wire, log: QueryLog, name: str, runs: int, menu: list[str]) -> list[Step]:
    """The first visit of a page from the menu, then ``runs`` more, each from another page."""
    nav = page.get_by_test_id("stSidebarNav")
    other = next(p for p in ("主体查询", "采集状态", "信用异议") if p in menu and p != name)
    steps = []
    for run in range(runs + 1):
        if run:  # from another page, so the click really moves
            measure(page, wire, log, nav.get_by_text(other, exact=True).click, PAGES[other])
        steps.append(measure(page, wire, log, nav.get_by_text(name, exact=True).click, PAGES[name]))
    return steps


def go(page, wire: Wire, log: QueryLog, name: str) -> None:
    measure(page, wire, log, page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click, PAGES[name])


def click_row(page, key: str, row: int = 0) -> Callable[[], None]:
    """A click on a table row's selection box (the grid's first column) in the container ``key``."""
    def act() -> None:
        box = page.locator(f".st-key-{key} [data-testid='stDataFrame'] canvas").first.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 * (row + 1) + 17)
    return act


def choose(page, label: str, option: str) -> Callable[[], None]:
    """Open the selectbox ``label`` now; the returned click picks ``option`` (what is timed)."""
    page.get_by_role("combobox", name=label, exact=True).click()
    return page.get_by_role("option", name=option, exact=True).first.click


def interactions(page, role: str) -> tuple[str, list[tuple[str, Callable[[], Callable[[], None]], str]]]:
    """The role's main page, and one or two of its everyday interactions there: (label, a function that
    prepares the click and returns it, the page drawn after it)."""
    if role == "leader":
        return "总览", [("总览: 排序 由高到低", lambda: page.get_by_text("由高到低", exact=True).click, "总览"),
                      ("总览: 点击排名行 → 部门自查", lambda: click_row(page, "dept_ranking"), "部门自查（任一部门）")]
    if role == "assessor":
        return "问题清单", [("问题清单: 状态 = 待处理", lambda: choose(page, "状态", "待处理"), "问题清单"),
                        ("问题清单: 点击一行 → 详情", lambda: click_row(page, "findings", 1), "问题清单"),
                        ("问题清单: 第 2 页", lambda: _next_page(page, "wb_page"), "问题清单")]
    return "部门自查", [("部门自查: 按指标 准确性", lambda: page.get_by_text("准确性（", exact=False).first.click, "部门自查"),
                    ("部门自查: 点击一行 → 详情", lambda: click_row(page, "remediation", 1), "部门自查")]


def _next_page(page, key: str) -> Callable[[], None]:
    """The pager's + button (one page on)."""
    return page.locator(f".st-key-{key} button").last.click


def show(label: str, step: Step, extra: str = "") -> None:
    top = sorted(step.queries, key=lambda q: -q[1])[:3]
    queries = ", ".join(f"{fn} {s:.2f}" for fn, s in top)
    print(f"  {label:<28}{step.total:>7.2f}{step.server:>8.2f}{step.cpu:>7.2f}{step.rss:>6.2f}{step.sent / 1024:>9.0f}{extra}"
          + (f"   misses: {queries}" if queries else ""), flush=True)


def journey(browser, base: str, role: str, user: str, password: str, args: argparse.Namespace,
            log: QueryLog) -> None:
    menu, runs, shots = MENUS[role], args.runs, args.screenshots
    start = menu[0]
    print(f"\n{role} ({user}):  step  total(s)  server(s)  cpu(s)  rss(GiB)  sent(KiB)  [warm median]", flush=True)
    page, wire, step = login(browser, base, user, password, start, log)
    show(f"{start} after login", step)
    reloads = [reload(page, wire, log, start) for _ in range(args.reloads)]
    show(f"{start} after F5", reloads[0], f"   median of {len(reloads)}: {statistics.median(r.total for r in reloads):.2f}"
         f" (server {statistics.median(r.server for r in reloads):.2f}, cpu {statistics.median(r.cpu for r in reloads):.2f})"
         if len(reloads) > 1 else "")
    for name in [m for m in menu if args.pages is None or m in args.pages.split(",")]:
        try:
            steps = visit(page, wire, log, name, runs, menu)
        except Exception as exc:  # noqa: BLE001 - a page never drawn is a result, the journey goes on
            print(f"  {name:<28}not drawn: {str(exc).splitlines()[0]}", flush=True)
            continue
        warm = statistics.median(s.total for s in steps[1:]) if runs else float("nan")
        show(f"{name} (menu, first)", steps[0], f"   warm {warm:.2f}")
        if shots is not None:
            page.screenshot(path=str(shots / f"{role}-{name}.png"))
    main_page, steps = interactions(page, role)
    for label, prepare, drawn in steps if args.interactions else []:
        try:
            if not (page.locator("h1").first.text_content() or "").startswith(PAGES[main_page][0]):
                go(page, wire, log, main_page)
            show(label, measure(page, wire, log, prepare(), PAGES[drawn]))
        except Exception as exc:  # noqa: BLE001
            print(f"  {label:<28}not drawn: {str(exc).splitlines()[0]}", flush=True)
    page.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--setup", type=Path, help="build a province snapshot in this folder first")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=500)
    parser.add_argument("--roles", default="leader,assessor,department")
    parser.add_argument("--dept", help="the department user (default: the department with the most findings)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=1, help="F5 of the start page this many times (median)")
    parser.add_argument("--pages", help="only these pages of the menus (comma-separated titles)")
    parser.add_argument("--no-interactions", dest="interactions", action="store_false")
    parser.add_argument("--query-log", type=Path, help="the server logs each cache miss's seconds here")
    parser.add_argument("--screenshots", type=Path, help="a screenshot of each page here")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the server started (its background prefill) before logging in")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="serve the dashboard of this source tree (e.g. `git archive` of another commit)")
    args = parser.parse_args()
    db = setup(args.setup, args.records, args.departments) if args.setup else args.db
    if db is None:
        parser.error("--db or --setup")
    dept = args.dept or ensure_users(db)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    log = QueryLog(args.query_log)
    if args.query_log:
        args.query_log.unlink(missing_ok=True)
    port = _free_port()
    server = _serve(db, port, args.query_log, args.code.resolve())
    Process.find(server.pid)
    print(f"server process {Process.pid}: {Process.cpu():.2f} s CPU, {Process.rss():.2f} GiB at start")
    logins = {"leader": ("leader", "leader-demo"), "assessor": ("assessor", "assessor-demo"),
              "department": (dept, f"{dept}-demo")}
    time.sleep(args.settle)  # a server that has been up a while: its prefill of the snapshot is done
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {db}; dashboard of {args.code}")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("SGS_CHROMIUM", "/usr/bin/chromium"),
                                         args=["--no-sandbox", "--disable-gpu"])
            for role in args.roles.split(","):
                journey(browser, f"http://127.0.0.1:{port}", role, *logins[role], args, log)
            browser.close()
    finally:
        print(f"server process: {Process.cpu():.2f} s CPU, {Process.rss():.2f} GiB after the journeys")
        server.terminate()
        server.wait(timeout=10)
        print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

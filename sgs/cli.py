"""The ``sgs`` command: wires the pipeline steps together and turns their errors into clear messages.

Each command is thin: it resolves paths once (``--db`` / ``SGS_DB``), calls one step, and maps the step's
own error types to a message and an exit code (1 = the run failed, 2 = the input was wrong).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from core.settings import WORK_DIR, Paths, resolve_paths

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="sgs：双公示监测与评估（抓取、评分、看板）。")

DbOption = typer.Option(None, "--db", help="工作数据库路径（默认：源码目录的 data/sgs.duckdb，安装后为用户数据目录的 sgs/sgs.duckdb；或环境变量 SGS_DB）。")


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"错误：{message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def crawl(
    config: Path = typer.Option(..., "--config", "-c", help="城市配置文件（TOML，见 docs/configuration.md）。"),
    db: Optional[Path] = DbOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度条和过程信息，只报告错误（供 cron 使用）。"),
    daily: bool = typer.Option(False, "--daily", help="值班读网：抓取后为本月、本季度及上月、上季度评分并发布（见 docs/crawling.md）。"),
    fresh: bool = typer.Option(False, "--fresh", help="不续抓上次中断的抓取，从头开始。"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="--daily 以哪一天为“今天”（YYYY-MM-DD，默认今天）。"),
    reextract: Optional[str] = typer.Option(None, "--reextract", help="不联网：按存档重新提取某次抓取（抓取编号）。"),
    source: Optional[list[str]] = typer.Option(None, "--source", help="只抓取这个来源（可重复；如信用网站每天抓、部门网站每周抓）。"),
) -> None:
    """抓取配置中的各部门双公示专栏和信用网站，存档并入库（中断后再次运行即续抓）。"""
    from crawlers.crawl import run_crawl
    from core.store import StoreError
    from core.cityconfig import ConfigError, load_city

    try:
        today = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        _fail(f"--as-of 应为 YYYY-MM-DD 格式的日期，而不是 {as_of!r}", 2)
    try:
        city = load_city(config)
    except ConfigError as exc:
        _fail(str(exc), 2)
    paths = resolve_paths(db)
    try:
        summary = run_crawl(city, paths, quiet=quiet, resume=not fresh, reextract=reextract, only=source or None)
    except StoreError as exc:
        _fail(str(exc))
    except ValueError as exc:  # an unknown --source
        _fail(str(exc), 2)
    for message in summary.error_lines():  # masked: cron mails this
        typer.echo(f"  {message}", err=True)
    if not quiet and (note := summary.baseline_message()):  # once per column: it explains every 未能核验
        typer.echo(note)
    if daily:
        _daily_scores(paths, today, quiet)
    if summary.failed_sources:
        _fail(f"{len(summary.failed_sources)} 个来源无法抓取：{', '.join(summary.failed_sources)}；"
              "其余来源的数据已保存。")


def daily_periods(today: date) -> list[str]:
    """The periods a daily run scores: this month and quarter, and the previous ones (late publications of
    last month still arrive, and a quarter's report is written in the month after it)."""
    from core.periods import parse_period

    month = parse_period(f"{today:%Y-%m}")
    quarter = parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}")
    return [p.label for p in (month, quarter, month.previous(), quarter.previous())]


def _daily_scores(paths: Paths, today: date, quiet: bool) -> None:
    """Score each daily period that has records; a period without any is noted, not an error."""
    from core import store
    from core.periods import parse_period
    from metrics.scoring import ScoringError, score_period
    from core.workdays import CalendarError, default_calendar

    con = store.connect(paths)
    try:
        calendar = default_calendar()
        for label in daily_periods(today):
            try:
                rows = score_period(con, parse_period(label), calendar=calendar, as_of=today)
            except ScoringError:
                if not quiet:
                    typer.echo(f"{label}：没有决定日期在该期间的记录，未评分。", err=True)
                continue
            if not quiet:
                typer.echo(f"{label}：已为 {len(rows)} 个部门评分。", err=True)
        store.publish(con, paths)
    except (CalendarError, store.StoreError) as exc:
        _fail(str(exc))
    finally:
        con.close()


@app.command()
def score(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07。"),
    db: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出本期得分。"),
    scheme: Optional[Path] = typer.Option(None, "--scheme", help="评分方案文件（TOML；默认按期间年度取 data/schemes/<年>.toml）。"),
    calendar: list[Path] = typer.Option([], "--calendar", help="额外的节假日安排文件夹（可多次指定）。"),
) -> None:
    """按评分方案计算一个期间的问题清单、得分、等级和排名。"""
    rows = _score(resolve_paths(db), [period], scheme, tuple(calendar))[0]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        _print_scores(rows)


def _score(paths: Paths, period_texts: list[str], scheme: Path | None, calendars: tuple[Path, ...]) -> list[list[dict]]:
    """Score each period in turn on one connection, then publish one snapshot; one score list per period."""
    from core import store
    from core.periods import PeriodError, parse_period
    from metrics.scoring import ScoringError, score_period
    from core.workdays import CalendarError, default_calendar

    try:
        periods = [parse_period(p) for p in period_texts]
    except PeriodError as exc:
        _fail(str(exc), 2)
    if not paths.db.exists():
        _fail(f"数据库 {paths.db} 不存在：请先运行 sgs crawl（或 sgs demo）。")
    try:
        con = store.connect(paths)
    except store.StoreError as exc:
        _fail(str(exc))
    try:
        calendar = default_calendar(calendars)
        results = [score_period(con, p, scheme_path=scheme, calendar=calendar) for p in periods]
        store.publish(con, paths)
        return results
    except (ScoringError, CalendarError, FileNotFoundError, ValueError, store.StoreError) as exc:
        _fail(str(exc))
    finally:
        con.close()
    return []


def _print_scores(rows: list[dict]) -> None:
    from metrics.checks import INDICATORS
    from metrics.scheme import STANDINGS

    if not rows:
        return
    typer.echo(f"{rows[0]['period']}  评分方案 {rows[0]['scheme_version']}")
    heads = " ".join(f"{n:>6}" for n in INDICATORS.values())
    typer.echo(f"{'排名':>4}  {'总分':>6}  {'等级':<4} {heads} {'记录':>4} {'未能核验':>4} {'较上期':>6}  部门（县区）")
    for r in rows:
        subs = " ".join("     —" if r[i] is None else f"{r[i]:>6.2f}" for i in INDICATORS)
        change = "     —" if r["prev_total"] is None else f"{r['total'] - r['prev_total']:>+6.2f}"
        rank = "—" if r["rank"] is None else r["rank"]
        note = "" if r["standing"] == "ranked" else f"  【{STANDINGS[r['standing']]}，不参加排名】"
        typer.echo(f"{rank:>4}  {r['total']:>6.2f}  {r['grade'] or '—':<4} {subs} {r['n_records']:>4} "
                   f"{r['n_unverified']:>8} {change}  {r['name']}（{r['county']}）{note}")


@app.command()
def explain(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07。"),
    dept: str = typer.Option(..., "--dept", "-d", help="部门编号（dept_id）。"),
    db: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。"),
) -> None:
    """说明一个部门在某期间的得分：逐项扣分及其背后的每条问题（读取最新发布的数据）。"""
    from core import store
    from metrics.explain import ExplainError, format_text
    from metrics.explain import explain as explain_score
    from core.privacy import mask_text
    from core.periods import PeriodError, parse_period

    try:
        label = parse_period(period).label
    except PeriodError as exc:
        _fail(str(exc), 2)
    try:
        con = store.open_snapshot(resolve_paths(db))
    except store.StoreError as exc:
        _fail(str(exc))
    try:
        result = explain_score(con, label, dept)
    except ExplainError as exc:
        _fail(str(exc))
    finally:
        con.close()
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str) if as_json else format_text(result)
    typer.echo(mask_text(text))  # page URLs may name a subject's ID or mobile number


@app.command()
def validate(
    file: Path = typer.Argument(..., help="部门自己的 CSV 或 XLSX 文件（国家标准模板的列，中文表头或字段代码）。"),
    kind: str = typer.Option(..., "--kind", "-k", help="xk（行政许可）或 cf（行政处罚）。"),
    output: str = typer.Option("text", "--format", "-f", help="text（未识别的列、问题汇总，再每行一个问题）或 json（同样内容）。"),
) -> None:
    """公示前自查：用评分所用的同一套规则检查部门的数据文件；先列出未识别的列和按字段的问题汇总，再逐行列出问题。
    有问题退出码 1，无法读取退出码 2。"""
    from metrics.validate import FileProblem, check_file, text_lines

    if output not in ("text", "json"):
        _fail(f"未知的输出格式 {output!r}：应为 text 或 json。", 2)
    try:
        report = check_file(file, kind)
    except FileProblem as exc:
        _fail(str(exc), 2)
    problems = report.problems
    if output == "json":
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in text_lines(report):
            typer.echo(line)
        rows = len({(p.sheet, p.row) for p in problems})
        typer.echo(f"{file}：发现 {len(problems)} 个问题（涉及 {rows} 行）。" if problems else f"{file}：未发现问题。",
                   err=True)
    if problems:
        raise typer.Exit(1)


@app.command()
def report(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07（须已评分）。"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件夹（不存在则创建）。"),
    db: Optional[Path] = DbOption,
    on: Optional[str] = typer.Option(None, "--date", help="报告日期（YYYY-MM-DD，默认今天）：落款日期，整改期限由此起算。"),
    scheme: Optional[Path] = typer.Option(None, "--scheme", help="取 [report] 设置的评分方案文件（默认按期间年度）。"),
) -> None:
    """生成评估报告（Word）、评估工作簿（Excel）和各部门整改通知书（Word），读取最新发布的数据。"""
    from core import store
    from core.periods import PeriodError, parse_period
    from reports.build import write_all
    from reports.data import ReportError

    try:
        parse_period(period)
        report_date = date.fromisoformat(on) if on else None
    except PeriodError as exc:
        _fail(str(exc), 2)
    except ValueError:
        _fail(f"--date 应为 YYYY-MM-DD 格式的日期，而不是 {on!r}", 2)
    try:
        con = store.open_snapshot(resolve_paths(db))
    except store.StoreError as exc:
        _fail(str(exc))
    try:
        written = write_all(con, period, out, report_date=report_date, scheme_file=scheme)
    except ReportError as exc:
        _fail(str(exc))
    finally:
        con.close()
    typer.echo(f"评估报告：{written.report}\n评估工作簿：{written.workbook}\n"
               f"整改通知书：{len(written.notices)} 份，在 {written.report.parent}")


ledger_app = typer.Typer(no_args_is_help=True, help="办件台账（服务大厅或部门导出的 CSV/XLSX）。")
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("import")
def ledger_import(
    file: Path = typer.Argument(..., help="台账文件（CSV 或 XLSX；中文表头或标准代码）。"),
    dept: str = typer.Option(..., "--dept", help="部门编号（城市配置中的 id）。"),
    kind: str = typer.Option(..., "--kind", help="xk（行政许可）或 cf（行政处罚）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入一个部门的办件台账，用于核对未公示、已撤销仍公示等问题（同名文件重复导入则替换）。"""
    from core import store
    from metrics.ledger import LedgerError, import_ledger

    paths = resolve_paths(db)
    if not paths.db.exists():
        _fail(f"数据库 {paths.db} 不存在：请先运行 sgs crawl（或 sgs demo）。")
    try:
        con = store.connect(paths)
    except store.StoreError as exc:  # locked by a crawl or a score: the same message and code as theirs
        _fail(str(exc))
    try:
        result = import_ledger(con, file, dept, kind)
    except LedgerError as exc:
        _fail(str(exc), 2)
    finally:
        con.close()
    typer.echo(f"已导入 {file}：{result.rows} 条办件（部门 {dept}，{'行政许可' if kind == 'xk' else '行政处罚'}）")


@app.command()
def serve(
    port: int = typer.Option(8501, "--port", help="看板端口。"),
    db: Optional[Path] = DbOption,
    users: Optional[Path] = typer.Option(None, "--users", help="看板用户文件（默认数据库旁的 users.toml，或环境变量 SGS_USERS）。"),
    open_demo: bool = typer.Option(False, "--open", help="开放演示模式：无需登录，以只读领导视图访问（个人信息仍遮蔽）。"),
) -> None:
    """打开看板（Streamlit），只读最新发布的数据快照；需登录（见 docs/dashboard.md）。"""
    _run_dashboard(resolve_paths(db), port, users=users, open_demo=open_demo)


def _run_dashboard(paths: Paths, port: int, *, users: Path | None = None, open_demo: bool = False) -> None:
    env = {**os.environ, "SGS_DB": str(paths.db)}
    if users is not None:
        env["SGS_USERS"] = str(users.expanduser().resolve())
    if open_demo:
        env["SGS_OPEN_DEMO"] = "1"
    # streamlit_server.py wraps streamlit_app.py with dashboard.server's guard (download links die with
    # their session; no /_stcore/metrics).
    cmd = [sys.executable, "-m", "streamlit", "run", _dashboard_script(),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.runOnSave", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]
    typer.echo(f"看板地址：http://127.0.0.1:{port}  （Ctrl+C 退出）" + ("  开放演示模式：无需登录" if open_demo else ""))
    # Streamlit runs as a child; a SIGTERM to sgs (a service manager, a test) is passed on, so stopping
    # `sgs serve` never leaves a dashboard running without it. Ctrl+C reaches both through the terminal.
    proc = subprocess.Popen(cmd, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=15)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dashboard_script() -> str:
    """``streamlit_server.py`` (which serves ``streamlit_app.py`` beside it): the checkout's, or the installed
    top-level modules (beside ``dashboard/``)."""
    spec = importlib.util.find_spec("streamlit_server")
    if spec is None or spec.origin is None:
        _fail("找不到看板入口 streamlit_server.py：请在源码目录运行，或重新安装 sgs（pipx install .）。")
    return spec.origin


@app.command()
def demo(
    port: int = typer.Option(8501, "--port", help="看板端口。"),
    city_port: int = typer.Option(0, "--city-port", help="示范城市网站端口（默认随机空闲端口）。"),
    seed: int = typer.Option(2026, "--seed", help="示范城市的随机种子（相同种子生成相同城市）。"),
    db: Optional[Path] = typer.Option(None, "--db", help="示范数据库路径（默认：源码目录的 data/demo/sgs.duckdb，安装后为用户数据目录的 sgs/demo/sgs.duckdb）。"),
    no_dashboard: bool = typer.Option(False, "--no-dashboard", help="评分后输出摘要并退出，不打开看板。"),
) -> None:
    """启动示范城市、抓取、评分，并打开看板：无需联网，无需配置。"""
    from democity import QUARTERS, DemoServer, build, write_city
    from democity.staged import run_staged_crawls
    from core.cityconfig import ConfigError, load_city

    paths = resolve_paths(db or WORK_DIR / "demo" / "sgs.duckdb")
    _reset_demo_dir(paths)
    city = build(seed)
    with DemoServer(city, port=city_port) as server:
        typer.echo(f"示范城市网站：{server.base_url}/")
        config = write_city(city, server.base_url, paths.root)
        _write_demo_users(paths, [(d.id, d.name) for d in city.departments])
        typer.echo("按监测日程回放抓取（5 月起每周抓取信用网站，每两个月抓取全市网站）：")
        try:
            demo_city = load_city(config)
        except ConfigError as exc:  # the demo writes its own file: a problem here is a bug, still a message
            _fail(str(exc), 2)
        summary = run_staged_crawls(demo_city, server, paths, say=lambda line: typer.echo(f"  {line}"))
        if summary.failed_sources:
            _fail(f"示范城市抓取失败：{', '.join(summary.failed_sources)}")
        _load_demo_ledgers(paths)
        periods = [p for q in QUARTERS for p in (q, *q.months())]
        results = _score(paths, [p.label for p in periods], None, ())
        latest = QUARTERS[-1].label
        _print_scores(results[periods.index(QUARTERS[-1])])
        typer.echo(f"\n数据库：{paths.db}\n命令行复核：sgs score --period {latest} --db {paths.db} --json"
                   f"\n评估报告：sgs report --period {latest} --db {paths.db} --out {paths.root / 'reports'}")
        if not no_dashboard:
            _run_dashboard(paths, port)


def _load_demo_ledgers(paths: Paths) -> None:
    """Import the demo departments' ledgers (written beside city.toml), as `sgs ledger import` would."""
    from democity.ledgers import load_ledgers
    from core import store

    con = store.connect(paths)
    try:
        n = load_ledgers(con, paths.root)
    finally:
        con.close()
    typer.echo(f"已导入 {n} 份办件台账")


def _write_demo_users(paths: Paths, departments: list[tuple[str, str]]) -> None:
    """The documented demo users (docs/dashboard.md) in ``users.toml`` beside the demo database."""
    from dashboard.auth import demo_users, write_users

    users = demo_users(departments)
    write_users(paths.root / "users.toml", users)
    typer.echo(f"看板示范用户（{paths.root / 'users.toml'}）：leader / leader-demo（领导），"
               f"assessor / assessor-demo（评估人员），各部门：<部门编号> / <部门编号>-demo，"
               f"如 {users[2]['username']} / {users[2]['password']}")


def _reset_demo_dir(paths: Paths) -> None:
    """A demo run starts from an empty folder so its numbers are always the seed's numbers.

    Only a folder an earlier demo made (it holds ``ground_truth.json``) is wiped; a real database is
    never overwritten by the demo.
    """
    if (paths.root / "ground_truth.json").exists():
        shutil.rmtree(paths.root)
    elif paths.db.exists():
        _fail(f"{paths.db} 不是示范数据库，sgs demo 不会覆盖它；请用 --db 指定其他位置。", 2)
    paths.root.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":  # pragma: no cover
    app()

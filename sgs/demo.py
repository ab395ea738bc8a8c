"""``sgs demo``: the seeded demo city served on 127.0.0.1, crawled on its monitoring schedule, scored, shown."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError, SgsError
from core.settings import WORK_DIR, Paths, resolve_paths
from sgs.scores import print_scores, score_periods
from sgs.serve import run_dashboard


def demo(
    port: int = typer.Option(8501, "--port", help="看板端口。"),
    city_port: int = typer.Option(0, "--city-port", help="示范城市网站端口（默认随机空闲端口）。"),
    seed: int = typer.Option(2026, "--seed", help="示范城市的随机种子（相同种子生成相同城市）。"),
    db: Optional[Path] = typer.Option(None, "--db", help="示范数据库路径（默认：源码目录的 data/demo/sgs.duckdb，安装后为用户数据目录的 sgs/demo/sgs.duckdb）。"),
    no_dashboard: bool = typer.Option(False, "--no-dashboard", help="评分后输出摘要并退出，不打开看板。"),
) -> None:
    """启动示范城市、抓取、评分，并打开看板：无需联网，无需配置。"""
    from core.cityconfig import load_city
    from democity import QUARTERS, DemoServer, build, write_city
    from democity.staged import run_staged_crawls

    paths = resolve_paths(db or WORK_DIR / "demo" / "sgs.duckdb")
    _reset_demo_dir(paths)
    city = build(seed)
    with DemoServer(city, port=city_port) as server:
        typer.echo(f"示范城市网站：{server.base_url}/")
        config = write_city(city, server.base_url, paths.root)
        _write_demo_users(paths, [(d.id, d.name) for d in city.departments])
        typer.echo("按监测日程回放抓取（5 月起每周抓取信用网站，每两个月抓取全市网站）：")
        demo_city = load_city(config)  # the demo writes its own file: a ConfigError here is a bug, still a message
        summary = run_staged_crawls(demo_city, server, paths, say=lambda line: typer.echo(f"  {line}"))
        if summary.failed_sources:
            raise SgsError(f"示范城市抓取失败：{', '.join(summary.failed_sources)}")
        _load_demo_ledgers(paths)
        periods = [p for q in QUARTERS for p in (q, *q.months())]
        results = score_periods(paths, [p.label for p in periods], None, ())
        latest = QUARTERS[-1].label
        print_scores(results[periods.index(QUARTERS[-1])])
        typer.echo(f"\n数据库：{paths.db}\n命令行复核：sgs score --period {latest} --db {paths.db} --json"
                   f"\n评估报告：sgs report --period {latest} --db {paths.db} --out {paths.root / 'reports'}")
        if not no_dashboard:
            run_dashboard(paths, port)


def _load_demo_ledgers(paths: Paths) -> None:
    """Import the demo departments' ledgers (written beside city.toml), as `sgs ledger import` would."""
    from core import store
    from democity.ledgers import load_ledgers

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
    typer.echo(f"看板示范用户（用户名 / 密码，保存在 {paths.root / 'users.toml'}）：")
    for user in users:
        typer.echo(f"  {user['username']} / {user['password']}  {user['name']}")


def _reset_demo_dir(paths: Paths) -> None:
    """A demo run starts from an empty folder so its numbers are always the seed's numbers.

    Only a folder an earlier demo made (it holds ``ground_truth.json``) is wiped; a real database is
    never overwritten by the demo.
    """
    if (paths.root / "ground_truth.json").exists():
        shutil.rmtree(paths.root)
    elif paths.db.exists():
        raise InputError(f"{paths.db} 不是示范数据库，sgs demo 不会覆盖它；请用 --db 指定其他位置。")
    paths.root.mkdir(parents=True, exist_ok=True)

"""``sgs issue``: freeze a scored period's results as its next numbered version (metrics.versions).

Pipeline command: it writes the working database (the ``issued_versions`` row and the version's own file
beside it) and then publishes a snapshot, so the dashboard sees the new version.
"""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Optional

import typer

from sgs.common import DbOption, option_date, require_db


def issue(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07（须已评分）。"),
    on: Optional[str] = typer.Option(None, "--date", help="签发日期（YYYY-MM-DD，默认今天）：文件落款日期，整改期限由版本 1 的签发日期起算。"),
    note: Optional[str] = typer.Option(None, "--note", help="签发说明（版本 2 起建议写明为何修订）。"),
    by: Optional[str] = typer.Option(None, "--by", help="签发人（默认当前系统用户名）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """签发一个期间的评估结果：冻结为带编号的版本（版本 1、版本 2…），此后的处理决定只进入新版本。"""
    from datetime import date

    from core import store
    from core.settings import resolve_paths
    from metrics import versions

    paths = resolve_paths(db)
    issued_on = option_date(on, "--date") or date.today()
    require_db(paths)
    con = store.connect(paths)
    try:
        n = versions.issue(con, paths, period, issued_on=issued_on, by=by or getpass.getuser(), note=note)
        row = next(r for r in versions.issued(con, _label(period)) if r["version"] == n)
        store.publish(con, paths)
    finally:
        con.close()
    typer.echo(f"已签发 {row['period']} 版本 {n}（{row['issued_on']:%Y-%m-%d}），整改期限 {row['deadline']:%Y-%m-%d}；"
               f"冻结结果：{paths.root / row['file']}")
    typer.echo(f"生成该版本的文件：sgs report --period {row['period']} --version {n} --out 文件夹")


def _label(period: str) -> str:
    from core.periods import parse_period

    return parse_period(period).label

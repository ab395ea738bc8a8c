"""What every ``sgs`` command shares: the ``--db`` option, option dates, and the one place where the project's
errors (``core.errors.SgsError``) become a Chinese message on stderr and an exit code."""
from __future__ import annotations

from datetime import date
from typing import Any

import typer
from typer.core import TyperGroup

from core.errors import InputError, SgsError
from core.normalize import EARLIEST_DATE, LATEST_DATE, parse_date
from core.privacy import mask_text
from core.settings import Paths

DbOption = typer.Option(None, "--db", help="工作数据库路径（默认：源码目录的 data/sgs.duckdb，安装后为用户数据目录的 sgs/sgs.duckdb；或环境变量 SGS_DB）。")


class SgsCommands(TyperGroup):
    """The ``sgs`` command group. Its ``invoke`` runs every command (sub-groups such as ``ledger`` included), so
    catching ``SgsError`` here maps each step's error once: no command catches its steps' errors itself."""

    def invoke(self, ctx: Any) -> Any:  # ctx: the Context of the click typer vendors (typer._click)
        try:
            return super().invoke(ctx)
        except SgsError as exc:
            # masked: an error may quote a page URL or a cell naming a subject's ID or mobile number
            typer.secho(f"错误：{mask_text(str(exc))}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None


def option_date(text: str | None, option: str) -> date | None:
    """An option's date (``--as-of``, ``--date``) read by the one date parser (``core.normalize.parse_date``), so
    an ISO week date (2026-W05-1) or an implausible year (0026-01-05, 9999-12-31) is refused as on a page."""
    if text is None:
        return None
    iso = parse_date(text)
    if iso is None:
        raise InputError(f"{option} 应为 YYYY-MM-DD 格式、{EARLIEST_DATE} 至 {LATEST_DATE} 之间的日期，而不是 {text!r}")
    return date.fromisoformat(iso)


def require_db(paths: Paths) -> None:
    """A command that reads the working database refuses to create an empty one."""
    if not paths.db.exists():
        raise SgsError(f"数据库 {paths.db} 不存在：请先运行 sgs crawl（或 sgs demo）。")

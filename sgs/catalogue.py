"""Inputs beyond the crawl (docs/corrections.md): ``sgs catalogue import|export|apply``, ``sgs departments import``
and ``sgs inspection add``. Each command is thin: it opens the working database (or the workbench) and calls one
metrics step; the steps check every row and refuse a bad file whole (exit 2). A changing import publishes a
snapshot, so the dashboard shows it on its next interaction."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Optional

import duckdb
import typer

from core.errors import InputError
from core.settings import Paths, resolve_paths
from sgs.common import DbOption, option_date, require_db

catalogue_app = typer.Typer(no_args_is_help=True, help="事项目录：导入、导出（XLSX 模板）和应用看板录入。")
departments_app = typer.Typer(no_args_is_help=True, help="部门登记表：名称、县区、信用代码、网站、联络人。")
inspection_app = typer.Typer(no_args_is_help=True, help="书面检查、实地核查发现的问题（手工录入，照常扣分）。")


def _working(paths: Paths) -> duckdb.DuckDBPyConnection:
    from core import store

    require_db(paths)
    return store.connect(paths)  # locked by a crawl or a score: the same message and code as theirs


@catalogue_app.command("import")
def catalogue_import(
    file: Path = typer.Argument(..., help="事项目录文件（XLSX/XLS/CSV；列：事项编码、事项名称、事项类型、设定依据、实施主体）。"),
    dept: str = typer.Option(..., "--dept", help="部门编号（dept_id）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入一个部门的事项目录，替换其现有目录（逐行检查，有错则整个文件不导入）。"""
    from core import store
    from metrics.catalogue import import_catalogue

    paths = resolve_paths(db)
    con = _working(paths)
    try:
        outcome = import_catalogue(con, file, dept)
        if outcome.changed:
            store.publish(con, paths)
    finally:
        con.close()
    typer.echo(f"已导入 {file}：部门 {dept} 的事项目录共 {outcome.rows} 项。" if outcome.changed
               else f"{file}：与部门 {dept} 现有的事项目录相同，无变化。")


@catalogue_app.command("export")
def catalogue_export(
    dept: str = typer.Option(..., "--dept", help="部门编号（dept_id）。"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件（.xlsx）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """按导入模板导出一个部门的事项目录（XLSX；再导入即无变化）。"""
    from metrics.catalogue import TEMPLATE, export_rows
    from reports.sheets import Book

    if out.suffix.lower() != ".xlsx":
        raise InputError(f"导出文件应以 .xlsx 结尾：{out}")
    paths = resolve_paths(db)
    con = _working(paths)
    try:
        rows = export_rows(con, dept)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    widths = {"事项编码": 22, "事项名称": 40, "事项类型": 10, "设定依据": 60, "实施主体": 30}
    columns = [("序号", 6, "int"), *((h, widths[h], None) for h in TEMPLATE.values())]
    with Book(out) as book:
        book.sheet("事项目录", columns, rows)
    typer.echo(f"已导出部门 {dept} 的事项目录 {len(rows)} 项：{out}")


@catalogue_app.command("apply")
def catalogue_apply(db: Optional[Path] = DbOption) -> None:
    """立即应用看板上录入的事项目录（否则在下次评分时应用）。"""
    from core import store
    from metrics.catalogue import apply_pending

    paths = resolve_paths(db)
    con = _working(paths)
    try:
        done = apply_pending(con, paths)
        changed = [d for d, o in done if o.changed]
        if changed:
            store.publish(con, paths)
    finally:
        con.close()
    typer.echo(f"已应用看板录入的事项目录：{'、'.join(changed)}。" if changed else "没有待应用的看板录入，无变化。")


@departments_app.command("import")
def departments_import(
    file: Path = typer.Argument(..., help="部门登记表（XLSX/XLS/CSV；列：部门编号、部门名称、所属县区、统一社会信用代码、"
                                          "门户网站、双公示专栏、联络人、联络电话、电子邮箱）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入部门登记表：登记或更新表中的每个部门（逐行检查，有错则整个文件不导入）。"""
    from core import store
    from metrics.registry import import_registry

    paths = resolve_paths(db)
    con = _working(paths)
    try:
        outcome = import_registry(con, file)
        if outcome.changed:
            store.publish(con, paths)
    finally:
        con.close()
    typer.echo(f"已导入 {file}：{outcome.rows} 个部门，其中 {outcome.changed} 个新增或更新。" if outcome.changed
               else f"{file}：{outcome.rows} 个部门与数据库中相同，无变化。")


@inspection_app.command("add")
def inspection_add(
    dept: str = typer.Option(..., "--dept", help="被检查部门的编号（dept_id）。"),
    kind: str = typer.Option(..., "--kind", help="xk（行政许可）或 cf（行政处罚）。"),
    method: str = typer.Option(..., "--method", help="written（书面检查）或 onsite（实地核查）。"),
    severity: str = typer.Option("medium", "--severity", help="high（严重）、medium（一般）或 low（轻微）。"),
    on: str = typer.Option(..., "--date", help="检查日期（YYYY-MM-DD）：问题计入该日所在的月份和季度。"),
    description: str = typer.Option(..., "--description", help="发现的问题。"),
    evidence: Path = typer.Option(..., "--evidence", help="证据文件（PDF、PNG 或 JPEG，不超过 10 MB）。"),
    wsh: Optional[str] = typer.Option(None, "--wsh", help="涉及记录的文书号（与网上记录匹配时问题记在该记录上）。"),
    url: Optional[str] = typer.Option(None, "--url", help="涉及页面的网址。"),
    user: Optional[str] = typer.Option(None, "--user", help="录入人（默认当前系统用户）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """录入一条书面检查或实地核查发现的问题（下次评分时计入问题清单并扣分）。"""
    from core import store
    from metrics.corrections import Attachment
    from metrics.inspections import add

    paths = resolve_paths(db)
    day = option_date(on, "--date")
    if not evidence.is_file():
        raise InputError(f"证据文件 {evidence} 不存在")
    con = store.open_snapshot(paths) if store.current_snapshot(paths) else None
    if con is not None:  # the department must be one sgs knows (the published snapshot: no lock needed)
        try:
            known = con.execute("SELECT 1 FROM departments WHERE dept_id = $d", {"d": dept}).fetchall()
        finally:
            con.close()
        if not known:
            raise InputError(f"部门 {dept} 不在数据库中：请检查 --dept")
    entry = add(paths, dept_id=dept, kind=kind, method=method, severity=severity, inspected_on=day or on,
                description=description, evidence=Attachment(evidence.read_bytes(), evidence.name),
                username=user or getpass.getuser(), wsh=wsh, url=url)
    typer.echo(f"已录入检查问题 #{entry}（部门 {dept}）：下次运行 sgs score 时计入问题清单。")

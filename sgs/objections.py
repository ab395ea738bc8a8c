"""``sgs objections import`` and ``sgs repair import``: the credit portal's objection list and repair register.

Objections go to the correction store (``workbench.sqlite3``, ``metrics.objections``) where the dashboard's
信用异议 page shows them to the departments that answer them; the departments are read from the published
snapshot, so importing never waits for a crawl. Repairs go to the working database (``credit_repairs``,
``metrics.repairs``). Both files are all or nothing, and importing the same file again changes nothing.
"""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Optional

import typer

from core.settings import Paths, resolve_paths
from sgs.common import DbOption, require_db

objections_app = typer.Typer(no_args_is_help=True, help="相对人异议（信用网站受理的异议清单，CSV/XLSX）。")
repair_app = typer.Typer(no_args_is_help=True, help="信用修复（信用网站的修复登记，CSV/XLSX）。")


def departments(paths: Paths) -> dict[str, str]:
    """dept_id → name, from the published snapshot (the working database may be locked by a crawl)."""
    from core import store  # here: the store loads pyarrow, which other commands' start-up need not pay

    con = store.open_snapshot(paths)  # no snapshot yet: StoreError says to run sgs crawl or score first
    try:
        return dict(con.execute("SELECT dept_id, name FROM departments").fetchall())
    finally:
        con.close()


@objections_app.command("import")
def objections_import(
    file: Path = typer.Argument(..., help="异议清单（CSV 或 XLSX）：相对人名称、统一社会信用代码/证件号码、部门、类别、文书号、异议类型、异议内容、收到日期。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入信用网站受理的相对人异议，转交作出决定的部门答复（有问题的行全部列出，整个文件不导入；重复导入不变）。"""
    from metrics.objections import import_file

    paths = resolve_paths(db)
    require_db(paths)
    rows, new = import_file(paths, file, departments(paths), username=f"import:{getpass.getuser()}")
    typer.echo(f"已导入 {file}：{rows} 条异议，其中新增 {new} 条（已有的 {rows - new} 条不变）")


@repair_app.command("import")
def repair_import(
    file: Path = typer.Argument(..., help="信用修复登记（CSV 或 XLSX）：相对人名称、统一社会信用代码/证件号码、文书号、修复日期。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入信用网站的信用修复登记，用于核查修复后是否撤下、修复是否符合条件（整个文件要么全部导入，要么不导入）。"""
    from core import store
    from metrics.repairs import import_file

    paths = resolve_paths(db)
    require_db(paths)
    con = store.connect(paths)
    try:
        rows, new = import_file(con, file)
    finally:
        con.close()
    typer.echo(f"已导入 {file}：{rows} 条修复记录，其中新增 {new} 条（已有的 {rows - new} 条不变）")


def register(app: typer.Typer) -> None:
    """The one line ``sgs/cli.py`` calls."""
    app.add_typer(objections_app, name="objections")
    app.add_typer(repair_app, name="repair")

"""The department registry (部门登记表): ``sgs departments import FILE`` — names, counties, credit codes, sites
and liaisons of the departments, as the credit office keeps them.

Each row registers or updates one department by its 部门编号 (the id the city file and every table use);
departments the file does not name are left as they are. Rows are stored with ``origin = 'registry'``, which
the crawl's sync of the city file does not replace (docs/configuration.md, "Imports win"): a department in both
keeps the registry's row; its sources still come from the city file. All or nothing, every row checked
(``metrics.imports``); a credit code is checked by its check characters (``core.codes``), a URL like the city
file's, a phone and an e-mail by their shape. The same content again changes nothing (无变化). A liaison's
mobile number is masked wherever sgs shows it (messages go through ``core.privacy``).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from core.cityschema import _identifier, _url_or_empty
from core.codes import uscc_problem
from metrics import imports

COLUMNS = {"dept_id": "部门编号", "name": "部门名称", "county": "所属县区", "credit_code": "统一社会信用代码",
           "website": "门户网站", "column_url": "双公示专栏", "liaison": "联络人", "liaison_phone": "联络电话",
           "liaison_email": "电子邮箱"}
ALIASES = {
    "dept_id": ("部门编号", "编号", "部门代码", "DEPT_ID", "ID"),
    "name": ("部门名称", "部门全称", "单位名称", "名称", "NAME"),
    "county": ("所属县区", "县区", "所属区县", "区县", "COUNTY"),
    "credit_code": ("统一社会信用代码", "信用代码", "CREDIT_CODE"),
    "website": ("门户网站", "网站", "网站首页", "网址", "WEBSITE"),
    "column_url": ("双公示专栏", "专栏网址", "双公示专栏网址", "COLUMN_URL"),
    "liaison": ("联络人", "联系人", "LIAISON"),
    "liaison_phone": ("联络电话", "联系电话", "电话", "LIAISON_PHONE"),
    "liaison_email": ("电子邮箱", "邮箱", "电子邮件", "LIAISON_EMAIL", "EMAIL"),
}
REQUIRED = ("dept_id", "name", "county")
WHAT = "部门登记表"
_PHONE = re.compile(r"[0-9+\-() ]{7,24}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USCC_WHY = {"placeholder": "是占位码（00000000000000000X），请填写部门自己的代码",
            "shape": "不是18位统一社会信用代码（数字和大写字母，不含 I、O、S、V、Z）",
            "check": "校验位错误（第18位与前17位不符），请核对", "org_check": "内嵌的组织机构代码校验位（第17位）错误，请核对"}


class RegistryError(imports.ImportRefused):
    """A registry file refused (every bad row named); nothing changed."""


@dataclass(frozen=True)
class Outcome:
    rows: int
    changed: int  # departments added or updated; 0 = 无变化


def _phone(text: str) -> str:
    """A phone as written, full-width digits and brackets made half-width (the shape is then checked)."""
    return text.translate(str.maketrans("０１２３４５６７８９（）－＋", "0123456789()-+")).strip()


def check_row(table: imports.Table, n: int, row: list[str]) -> dict[str, str | None] | None:
    """One row checked (its problems noted on the table); the department's row, or None when bad."""
    d = {col: table.cell(row, col) for col in COLUMNS}
    d["credit_code"] = d["credit_code"].upper()
    d["liaison_phone"] = _phone(d["liaison_phone"])
    bad = len(table.problems)
    if why := _identifier(d["dept_id"]):
        table.fail(n, "dept_id", f"部门编号{why}")
    for col in ("name", "county"):
        if not d[col]:
            table.fail(n, col, f"{COLUMNS[col]}为空")
    if d["credit_code"] and (problem := uscc_problem(d["credit_code"])):
        table.fail(n, "credit_code", f"“{d['credit_code']}”{USCC_WHY[problem]}")
    for col in ("website", "column_url"):
        if why := _url_or_empty(d[col]):
            table.fail(n, col, why)
    if d["liaison_phone"] and not (_PHONE.fullmatch(d["liaison_phone"])
                                   and sum(c.isdigit() for c in d["liaison_phone"]) >= 7):
        table.fail(n, "liaison_phone", f"“{d['liaison_phone']}”不是电话号码（应为座机如 0355-2021234，或 11 位手机号）")
    if d["liaison_email"] and not _EMAIL.fullmatch(d["liaison_email"]):
        table.fail(n, "liaison_email", f"“{d['liaison_email']}”不是电子邮箱地址（如 name@example.gov.cn）")
    return {k: v or None for k, v in d.items()} if len(table.problems) == bad else None


def parse(path: Path) -> list[dict[str, str | None]]:
    """The registry file's departments, every row checked; any bad row refuses the file (RegistryError)."""
    table = imports.read_table(path, WHAT, {imports.key(h): c for c, hs in ALIASES.items() for h in hs},
                               REQUIRED, COLUMNS, RegistryError)
    rows = [d for n, r in table.rows if (d := check_row(table, n, r)) is not None]
    imports.duplicates(table, "dept_id", [(n, table.cell(r, "dept_id")) for n, r in table.rows], "部门编号")
    imports.refuse_if_bad(table, WHAT, RegistryError)
    if not rows:
        raise RegistryError(f"{WHAT}文件 {path} 没有任何部门")
    return rows


def import_registry(con: duckdb.DuckDBPyConnection, path: str | Path) -> Outcome:
    """Register or update every department of the file (one transaction; 无变化 when all are as stored)."""
    path = Path(path)
    rows = parse(path)
    cols = list(COLUMNS)
    stored = {r[0]: r[1:] for r in con.execute(
        f"SELECT {', '.join(cols)}, origin FROM departments WHERE dept_id IN (SELECT unnest($ids))",
        {"ids": [d["dept_id"] for d in rows]}).fetchall()}
    changed = [d for d in rows if stored.get(d["dept_id"]) != (*(d[c] for c in cols[1:]), "registry")]
    if not changed:
        return Outcome(len(rows), 0)
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM departments WHERE dept_id IN (SELECT unnest($ids))",
                    {"ids": [d["dept_id"] for d in changed]})
        con.executemany(f"INSERT INTO departments ({', '.join(cols)}, origin) VALUES "
                        f"({', '.join('?' for _ in cols)}, 'registry')", [[d[c] for c in cols] for d in changed])
        con.execute("INSERT INTO imports VALUES ('departments', NULL, 'registry', ?, ?, ?, ?)",
                    [str(path), hashlib.sha256(path.read_bytes()).hexdigest(), len(rows), datetime.now()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return Outcome(len(rows), len(changed))

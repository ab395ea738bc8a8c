"""事项目录 (a department's catalogue of licensing and penalty items) from outside the city file.

Three ways in besides ``city.toml``, one check (``check_items``) for all of them:

- ``sgs catalogue import FILE --dept ID``: a spreadsheet in the template below (``TEMPLATE``; no national
  template is written down in the project's references, so it follows the 权责清单 practice: 事项编码, 事项名称,
  事项类型, 设定依据, 实施主体). It replaces the department's whole catalogue; all or nothing
  (``metrics.imports``); the same content again is 无变化. ``sgs catalogue export`` writes the same columns,
  so an export imported back changes nothing.
- An assessor's entry on the dashboard (事项目录 page): the dashboard never writes DuckDB, so the department's
  whole edited catalogue is appended to ``catalogue_entries`` in ``workbench.sqlite3``; ``apply_pending`` copies
  the newest entry of each department into the working database at the next ``sgs score`` (``metrics.scoring``
  calls it), ``sgs crawl --daily``/``sgs run`` (they score) or ``sgs catalogue apply``.

Precedence (docs/configuration.md, "Imports win"): rows keep their ``origin`` (config, import, dashboard); the
crawl's sync of the city file replaces only config rows. Between an import and a dashboard entry, the later
one wins: an entry saved before the department's last import is not applied.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from core.errors import InputError
from core.settings import Paths
from core.vocab import KIND_LABELS, KIND_NAMES
from metrics import corrections, imports

# import column → the template's header (the export writes these, in this order)
TEMPLATE = {"item_code": "事项编码", "name": "事项名称", "kind": "事项类型", "basis": "设定依据", "agency": "实施主体"}
ALIASES = {
    "item_code": ("事项编码", "编码", "事项代码", "基本编码", "权力编码", "ITEM_CODE"),
    "name": ("事项名称", "名称", "权力名称", "职权名称", "NAME"),
    "kind": ("事项类型", "类型", "权力类型", "职权类型", "KIND"),
    "basis": ("设定依据", "依据", "法律依据", "实施依据", "BASIS"),
    "agency": ("实施主体", "实施机关", "AGENCY"),
}
REQUIRED = ("item_code", "name", "kind")
FIELDS = tuple(TEMPLATE)
MAX_CODE, MAX_TEXT = 64, 2000
WHAT = "事项目录"

_WORKBENCH = """
CREATE TABLE IF NOT EXISTS catalogue_entries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    dept_id  TEXT NOT NULL,
    items    TEXT NOT NULL,     -- JSON: the department's whole catalogue as entered (FIELDS of each item)
    username TEXT NOT NULL,
    at       TEXT NOT NULL      -- ISO local time
);
"""


class CatalogueError(imports.ImportRefused):
    """A catalogue file or entry refused (every bad row named); nothing changed."""


@dataclass(frozen=True)
class Outcome:
    rows: int
    changed: bool  # False: 无变化


def lookup() -> dict[str, str]:
    return {imports.key(h): col for col, heads in ALIASES.items() for h in heads}


def kind_of(text: str) -> str | None:
    """xk / cf from 行政许可 / 行政处罚 (or the codes themselves); None when neither."""
    t = text.strip()
    if t.lower() in KIND_LABELS:
        return t.lower()
    if "许可" in t and "处罚" not in t:
        return "xk"
    if "处罚" in t and "许可" not in t:
        return "cf"
    return None


def check_items(table: imports.Table) -> list[dict[str, str]]:
    """Every row checked (problems noted on the table); the rows that passed, as catalogue items."""
    items = []
    for n, row in table.rows:
        item = {col: table.cell(row, col) for col in FIELDS}
        kind = kind_of(item["kind"])
        bad = len(table.problems)
        if not item["item_code"]:
            table.fail(n, "item_code", "事项编码为空")
        elif len(item["item_code"]) > MAX_CODE:
            table.fail(n, "item_code", f"事项编码超过 {MAX_CODE} 个字符")
        if not item["name"]:
            table.fail(n, "name", "事项名称为空")
        if kind is None:
            table.fail(n, "kind", f"“{item['kind']}”不是可识别的事项类型（应为 行政许可 或 行政处罚）")
        for col in ("name", "basis", "agency"):
            if len(item[col]) > MAX_TEXT:
                table.fail(n, col, f"超过 {MAX_TEXT} 个字符")
        if len(table.problems) == bad:
            items.append({**item, "kind": kind or ""})
    imports.duplicates(table, "item_code", [(n, table.cell(r, "item_code")) for n, r in table.rows], "事项编码")
    return items


def parse(path: Path) -> list[dict[str, str]]:
    """A catalogue file's items, every row checked; any bad row refuses the file (CatalogueError)."""
    table = imports.read_table(path, WHAT, lookup(), REQUIRED, TEMPLATE, CatalogueError)
    items = check_items(table)
    imports.refuse_if_bad(table, WHAT, CatalogueError)
    if not items:
        raise CatalogueError(f"{WHAT}文件 {path} 没有任何事项：只有表头的文件不能用来清空目录")
    return items


def require_department(con: duckdb.DuckDBPyConnection, dept_id: str) -> None:
    if not con.execute("SELECT 1 FROM departments WHERE dept_id = $d", {"d": dept_id}).fetchall():
        raise InputError(f"部门 {dept_id} 不在数据库中：请先运行 sgs crawl 导入城市配置（或 sgs departments import），"
                         "或检查 --dept")


def current(con: duckdb.DuckDBPyConnection, dept_id: str) -> list[dict[str, str]]:
    """The department's catalogue as stored, in the template's fields (missing text as ''), by code."""
    cur = con.execute(f"SELECT {', '.join(f'coalesce({c}, {chr(39)}{chr(39)})' for c in FIELDS)} "
                      "FROM catalogue_items WHERE dept_id = $d ORDER BY item_code", {"d": dept_id})
    return [dict(zip(FIELDS, row)) for row in cur.fetchall()]


def _same(a: list[dict[str, str]], b: list[dict[str, str]]) -> bool:
    return sorted(tuple(i[c] for c in FIELDS) for i in a) == sorted(tuple(i[c] for c in FIELDS) for i in b)


def replace(con: duckdb.DuckDBPyConnection, dept_id: str, items: list[dict[str, str]], origin: str, ref: str,
            sha256: str | None, at: datetime | None = None) -> Outcome:
    """Make ``items`` the department's catalogue (one transaction), unless it already is (无变化)."""
    if _same(current(con, dept_id), items):
        return Outcome(len(items), False)
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM catalogue_items WHERE dept_id = $d", {"d": dept_id})
        con.executemany("INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis, agency, origin) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(dept_id, i["item_code"], i["kind"], i["name"], i["basis"] or None, i["agency"] or None,
                          origin) for i in items])
        con.execute("INSERT INTO imports VALUES ('catalogue', ?, ?, ?, ?, ?, ?)",
                    [dept_id, origin, ref, sha256, len(items), at or datetime.now()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return Outcome(len(items), True)


def import_catalogue(con: duckdb.DuckDBPyConnection, path: str | Path, dept_id: str) -> Outcome:
    """Import one department's catalogue file, replacing its catalogue (all or nothing; 无变化 when equal)."""
    import hashlib

    path = Path(path)
    require_department(con, dept_id)
    items = parse(path)
    return replace(con, dept_id, items, "import", str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def export_rows(con: duckdb.DuckDBPyConnection, dept_id: str) -> list[list[Any]]:
    """The department's catalogue as template rows (序号 first, 事项类型 in words) for the export."""
    require_department(con, dept_id)
    return [[n, i["item_code"], i["name"], KIND_NAMES[i["kind"]], i["basis"], i["agency"]]
            for n, i in enumerate(current(con, dept_id), 1)]


# --- an assessor's entries on the dashboard ---------------------------------------------------------

def entry_table(rows: list[dict[str, Any]]) -> imports.Table:
    """Rows as the dashboard's editor gives them (template headers as keys) as a table to check."""
    header = list(TEMPLATE.values())
    cells = [[_text(r.get(h)) for h in header] for r in rows]
    return imports.Table(Path("看板录入"), header, {c: i for i, c in enumerate(TEMPLATE)},
                         [(n, c) for n, c in enumerate(cells, 1) if any(c)])


def _text(value: Any) -> str:
    """A cell of the editor as text: a new row's empty cell is None or NaN."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def save_entry(paths: Paths, dept_id: str, rows: list[dict[str, Any]], username: str) -> int:
    """Check an assessor's edited catalogue (every row; any bad row refuses it all) and append it to the
    workbench; returns the entry's id. It takes effect at the next scoring run (``apply_pending``)."""
    if not dept_id:
        raise CatalogueError("请先选择部门。")
    table = entry_table(rows)
    items = check_items(table)
    if table.problems:
        raise CatalogueError("\n".join(("录入的事项目录有错误，未保存：", *imports.problem_lines(table.problems))))
    if not items:
        raise CatalogueError("事项目录不能为空：至少录入一个事项。")
    with closing(corrections.connect(paths, _WORKBENCH)) as con, con:
        cur = con.execute("INSERT INTO catalogue_entries (dept_id, items, username, at) VALUES (?, ?, ?, ?)",
                          (dept_id, json.dumps(items, ensure_ascii=False), username, corrections.now_text()))
        return int(cur.lastrowid or 0)


def entries(paths: Paths, dept_id: str | None = None) -> list[dict[str, Any]]:
    """The workbench's catalogue entries (newest first), of one department when given."""
    if not corrections.store_path(paths).exists():
        return []
    where, args = ("WHERE dept_id = ?", (dept_id,)) if dept_id else ("", ())
    with closing(corrections.connect(paths, _WORKBENCH)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(f"SELECT * FROM catalogue_entries {where} ORDER BY id DESC", args).fetchall()
    return [{**dict(r), "items": json.loads(r["items"])} for r in rows]


def ref_of(entry_id: int) -> str:
    return f"workbench:{entry_id}"


def apply_pending(con: duckdb.DuckDBPyConnection, paths: Paths | None = None) -> list[tuple[str, Outcome]]:
    """Apply each department's newest dashboard entry not yet applied and not older than the department's
    last catalogue import; returns (dept_id, outcome) of the entries looked at. ``paths`` defaults to the
    deployment of the connection's database file (nothing for an in-memory database)."""
    paths = paths or corrections.paths_of(con)
    if paths is None:
        return []
    done: list[tuple[str, Outcome]] = []
    newest: dict[str, dict[str, Any]] = {}
    for e in entries(paths):
        newest.setdefault(e["dept_id"], e)
    for dept_id, e in sorted(newest.items()):
        last = con.execute("SELECT max(imported_at), bool_or(ref = $ref) FROM imports "
                           "WHERE target = 'catalogue' AND dept_id = $d", {"d": dept_id, "ref": ref_of(e["id"])})
        last_at, applied = last.fetchall()[0]
        at = datetime.fromisoformat(e["at"])
        if applied or (last_at is not None and last_at > at) or not _known(con, dept_id):
            continue
        done.append((dept_id, replace(con, dept_id, e["items"], "dashboard", ref_of(e["id"]), None, at)))
    return done


def _known(con: duckdb.DuckDBPyConnection, dept_id: str) -> bool:
    return bool(con.execute("SELECT 1 FROM departments WHERE dept_id = $d", {"d": dept_id}).fetchall())

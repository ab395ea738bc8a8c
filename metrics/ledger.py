"""Decision ledgers (办件台账) into the ``ledger`` table: the decisions a department actually made.

A ledger comes from the service hall (政务服务大厅) or the department itself, as CSV (UTF-8 or GB18030) or
XLSX, with Chinese headers (决定书文号, 行政相对人名称, 决定日期, …) or the standard's codes (CF_WSH, …). It
lets the rules see what was decided but never published (clause 五), penalties revoked but still online
(clause 九), 简易程序 penalties and columns that stopped updating.

An import is all or nothing (``metrics.imports``, shared with the catalogue and registry imports): every
row is checked first, and a file with any bad row is refused with every bad row named (file, row — 1-based
under the header —, column, reason in Chinese). A title row or two above the header (as exports have) is
skipped; blank rows are ignored. Re-importing the same file name for the same department and kind replaces
the earlier import; the same bytes again change nothing (无变化).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.normalize import EARLIEST_DATE, LATEST_DATE, clean_text, parse_date
from core import standard
from core.standard import synonym_map
from core.errors import InputError
from core.vocab import KIND_LABELS, KINDS
from metrics import imports

# ledger column → extra header texts beyond the registry's names and synonyms for the kind's field
EXTRA_HEADERS = {
    "wsh": ("文书号", "决定书文号", "决定文书号", "文号", "WSH"),
    "xdr_mc": ("相对人名称", "申请人", "当事人", "XDR_MC"),
    "jdrq": ("决定日期", "办结日期", "JDRQ"),
    "item": ("事项名称", "办理事项", "审批事项", "处罚事项", "ITEM"),
    "procedure": ("办理程序", "适用程序", "程序", "PROCEDURE"),
    "status": ("办件状态", "决定状态", "状态", "STATUS"),
    "revoked_on": ("撤销日期", "撤回日期", "REVOKED_ON"),
}
REGISTRY_FIELD = {"wsh": "WSH", "xdr_mc": "XDR_MC", "jdrq": "JDRQ"}  # ledger column → standard suffix
REQUIRED = ("wsh", "jdrq")
HEADER_NAMES = {"wsh": "决定书文号", "xdr_mc": "行政相对人名称", "jdrq": "决定日期", "item": "事项名称",
                "procedure": "办理程序", "status": "办件状态", "revoked_on": "撤销日期"}
SIMPLE, ORDINARY = "简易程序", "普通程序"
VALID, REVOKED = "有效", "撤销"
# dates are read by the crawler's one parser (core.normalize.parse_date), plausibility included
DATE_HINT = f"（应为 {EARLIEST_DATE} 至 {LATEST_DATE} 之间的日期，如 2026-03-05 或 2026年3月5日）"


class LedgerError(InputError, ValueError):
    """The ledger cannot be imported; the message names the file, row and column."""


@dataclass(frozen=True)
class ImportResult:
    ledger_id: str
    rows: int
    changed: bool = True  # False: the same file was imported before (无变化), nothing written


def header_map(kind: str) -> dict[str, str]:
    """Normalised header text → ledger column, for one kind."""
    std, names = standard.load(kind), synonym_map(kind)
    out = {imports.key(h): col for col, heads in EXTRA_HEADERS.items() for h in heads}
    for label, code in names.items():
        for col, suffix in REGISTRY_FIELD.items():
            if code == std.prefixed(suffix):
                out[label.upper() if label.isascii() else label] = col
    return out


def parse(path: Path, kind: str) -> list[dict[str, Any]]:
    """Check and normalise every row (``metrics.imports``: the header found under any title rows, every bad
    row listed, the file refused whole)."""
    # the header is the first of the first rows naming every required column — the ledger's own columns,
    # not any two registry fields: a ledger is not a 双公示 table
    table = imports.read_table(path, "台账", header_map(kind), REQUIRED, HEADER_NAMES, LedgerError)
    out = []
    for n, row in table.rows:
        cell = {col: clean_text(row[i]) if i < len(row) else None for col, i in table.columns.items()}
        if (checked := _row(table, n, cell)) is not None:
            out.append(checked)
    imports.refuse_if_bad(table, "台账", LedgerError)
    return out


def _row(table: imports.Table, n: int, cell: dict[str, Any]) -> dict[str, Any] | None:
    """One row normalised, or None after noting its first problem on the table."""
    def fail(col: str, why: str) -> None:  # noted on the table; the row is left out
        table.fail(n, col, why)

    if not cell.get("wsh"):
        fail("wsh", "决定书文号为空")
        return None
    jdrq = parse_date(cell.get("jdrq") or "")
    if not jdrq:
        fail("jdrq", f"“{cell.get('jdrq') or ''}”不是有效日期{DATE_HINT}")
        return None
    revoked_on = None
    if cell.get("revoked_on"):
        revoked_on = parse_date(cell["revoked_on"])
        if not revoked_on:
            fail("revoked_on", f"“{cell['revoked_on']}”不是有效日期{DATE_HINT}")
            return None
    status = _status(cell.get("status"), revoked_on)
    if status is None:
        fail("status", f"“{cell['status']}”不是可识别的状态（有效、已撤销）")
        return None
    procedure = _procedure(cell.get("procedure"))
    if procedure is False:
        fail("procedure", f"“{cell['procedure']}”不是可识别的程序（简易程序、普通程序）")
        return None
    return {"row_no": n, "wsh": cell["wsh"], "xdr_mc": cell.get("xdr_mc"), "jdrq": jdrq, "item": cell.get("item"),
            "procedure": procedure, "status": status, "revoked_on": revoked_on}


def _status(text: str | None, revoked_on: str | None) -> str | None:
    if not text:
        return REVOKED if revoked_on else VALID
    if "撤销" in text or "撤回" in text:
        return REVOKED
    if any(w in text for w in ("有效", "正常", "办结", "已决定")):
        return VALID
    return None


def _procedure(text: str | None) -> str | None | bool:
    if not text:
        return None
    if "简易" in text or "当场" in text:
        return SIMPLE
    if "普通" in text or "一般" in text:
        return ORDINARY
    return False


def import_ledger(con: duckdb.DuckDBPyConnection, path: str | Path, dept_id: str, kind: str) -> ImportResult:
    """Import one ledger file for a department and kind, replacing an earlier import of the same file."""
    path = Path(path)
    if kind not in KINDS:
        raise LedgerError(f"台账类别 {kind!r} 无效，应为 {' 或 '.join(f'{k}（{v}）' for k, v in KIND_LABELS.items())}")
    if not path.is_file():
        raise LedgerError(f"台账文件 {path} 不存在")
    if not con.execute("SELECT 1 FROM departments WHERE dept_id = $dept", {"dept": dept_id}).fetchall():
        raise LedgerError(f"部门 {dept_id} 不在数据库中：请先运行 sgs crawl 导入城市配置，或检查 --dept")
    rows = parse(path, kind)
    ledger_id = hashlib.md5(f"{dept_id}|{kind}|{path.name}".encode()).hexdigest()
    table = pa.Table.from_pylist([{**r, "ledger_id": ledger_id, "dept_id": dept_id, "kind": kind} for r in rows],
                                 schema=pa.schema([("ledger_id", pa.string()), ("row_no", pa.int32()),
                                                   ("dept_id", pa.string()), ("kind", pa.string()),
                                                   ("wsh", pa.string()), ("xdr_mc", pa.string()),
                                                   ("jdrq", pa.string()), ("item", pa.string()),
                                                   ("procedure", pa.string()), ("status", pa.string()),
                                                   ("revoked_on", pa.string())]))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    before = con.execute("SELECT sha256 FROM ledger_files WHERE ledger_id = $id", {"id": ledger_id}).fetchall()
    if before and before[0][0] == sha:
        return ImportResult(ledger_id, len(rows), changed=False)
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM ledger WHERE ledger_id = $id", {"id": ledger_id})
        con.execute("DELETE FROM ledger_files WHERE ledger_id = $id", {"id": ledger_id})
        con.register("_sgs_ledger", table)
        con.execute("""INSERT INTO ledger SELECT ledger_id, row_no, dept_id, kind, wsh, xdr_mc, CAST(jdrq AS DATE),
                       item, procedure, status, CAST(revoked_on AS DATE) FROM _sgs_ledger""")
        con.unregister("_sgs_ledger")
        con.execute("INSERT INTO ledger_files VALUES ($id, $dept, $kind, $file, $sha, $rows, now())",
                    {"id": ledger_id, "dept": dept_id, "kind": kind, "file": str(path), "sha": sha, "rows": len(rows)})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return ImportResult(ledger_id, len(rows))

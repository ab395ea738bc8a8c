"""The demo city's decision ledgers (办件台账): rows from the city, files beside ``city.toml``, and loading
them into a working database the way a deployment would (``metrics.ledger.import_ledger``).

A ledger lists every decision of its department and kind in the assessed quarters — published or not — with
the procedure (简易程序 for penalties whose 文书号 says 简罚) and the status (撤销, with its date, for revoked
ones). Files are ``ledgers/<dept_id>_<kind>.csv`` with Chinese headers, except the first, written as XLSX,
so the demo exercises both readers.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from democity.model import DemoCity, DemoRecord

HEADERS = ("序号", "事项名称", "行政相对人名称", "决定书文号", "决定日期", "办理程序", "办件状态", "撤销日期")
FOLDER = "ledgers"


@dataclass(frozen=True)
class LedgerRow:
    wsh: str
    xdr_mc: str
    jdrq: date
    item: str
    procedure: str  # 简易程序 | 普通程序
    status: str  # 有效 | 撤销
    revoked_on: date | None


def ledger_rows(city: DemoCity, dept_id: str, kind: str) -> list[LedgerRow]:
    """The department's decisions of the kind in the assessed quarters, in date order (republications not
    repeated: a ledger lists decisions, not publications)."""
    decisions = [r for r in (*city.records, *city.unpublished)
                 if r.dept_id == dept_id and r.kind == kind and r.current and not r.duplicate_of]
    return [_row(r) for r in sorted(decisions, key=lambda r: (r.jdrq, r.wsh))]


def _row(r: DemoRecord) -> LedgerRow:
    item = r.values.get("CF_WFXW", "") if r.kind == "cf" else ""
    return LedgerRow(r.wsh, r.xdr_mc, r.jdrq, item, "简易程序" if r.simple else "普通程序",
                     "撤销" if r.revoked_on else "有效", r.revoked_on)


def write_ledgers(city: DemoCity, out_dir: Path) -> list[Path]:
    """Write every ledger of the city under ``out_dir/ledgers``; returns the paths."""
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (dept_id, kind) in enumerate(city.ledgers):
        rows = [(n, x.item, x.xdr_mc, x.wsh, x.jdrq, x.procedure, x.status, x.revoked_on)
                for n, x in enumerate(ledger_rows(city, dept_id, kind), 1)]
        path = folder / f"{dept_id}_{kind}.{'xlsx' if i == 0 else 'csv'}"
        (_write_xlsx if i == 0 else _write_csv)(path, rows)
        paths.append(path)
    return paths


def _write_csv(path: Path, rows: list[tuple]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        out.writerows([[v.isoformat() if isinstance(v, date) else ("" if v is None else v) for v in row]
                       for row in rows])


def _write_xlsx(path: Path, rows: list[tuple]) -> None:
    """The ledger as an office's system exports it: dates as date cells (yyyy-mm-dd), the rest as text."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd", "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False}) as book:
        sheet = book.add_worksheet("办件台账")
        sheet.write_row(0, 0, HEADERS)
        for r, row in enumerate(rows, 1):
            sheet.write_row(r, 0, list(row))


def load_ledgers(con: duckdb.DuckDBPyConnection, out_dir: Path) -> int:
    """Import every ledger file under ``out_dir/ledgers`` (after the crawl loaded the departments)."""
    from metrics.ledger import import_ledger

    paths = sorted((Path(out_dir) / FOLDER).glob("*_*.*"))
    for path in paths:
        dept_id, kind = path.stem.rsplit("_", 1)
        import_ledger(con, path, dept_id, kind)
    return len(paths)

"""Credit repair (信用修复, 长治（十）): the portal's repair register into ``credit_repairs``, and the one check of
each grant against the policy, across every penalty sgs knows of the subject.

Clause (十): a subject may apply for repair after the shortest publication period of three months; 严重失信
penalties, and a subject penalised again within a year after a repair, are not repaired; the portal then
takes the record down. ``sgs repair import FILE`` reads the register (CSV/XLSX: 相对人名称, 统一社会信用代码/
证件号码, 文书号, 修复日期), all or nothing; a grant already stored is left as it was, so importing the same
file again changes nothing. The rules ``repair_still_shown`` (the penalty still online after the grant) and
``repair_grant_invalid`` (the grant itself) read the table; ``grant_check_sql`` is shared by that rule and the
dashboard's 信用修复核查 list (shown there when the credit office is not a scored department).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core import standard
from core.normalize import clean_prose, normalise_identifier, parse_date
from metrics.checks._policy import load_policy
from metrics.checks._sql import as_date, enum_has_any, stated_date
from metrics.objections import ObjectionError, read_rows

HEADERS: dict[str, tuple[str, ...]] = {
    "subject": ("相对人名称", "行政相对人名称", "主体名称", "申请人"),
    "subject_code": ("统一社会信用代码", "证件号码", "统一社会信用代码/证件号码", "信用代码"),
    "wsh": ("文书号", "决定书文号", "行政处罚决定书文号", "处罚决定书文号"),
    "granted_on": ("修复日期", "准予修复日期", "修复时间", "办结日期"),
}
REQUIRED = ("subject", "wsh", "granted_on")


class RepairError(ObjectionError):
    """The repair register cannot be imported (every bad row named)."""


def repair_id(subject: str, code: str | None, wsh: str, granted_on: str) -> str:
    return hashlib.md5(f"{code or subject}|{wsh}|{granted_on}".encode()).hexdigest()


def import_file(con: duckdb.DuckDBPyConnection, path: str | Path) -> tuple[int, int]:
    """Import one repair register, all or nothing; returns (rows in the file, grants new to the table)."""
    path = Path(path)
    rows, problems = [], []
    for n, cell in read_rows(path, HEADERS, REQUIRED, "信用修复文件"):
        subject, wsh = clean_prose(cell.get("subject")), normalise_identifier(cell.get("wsh"))
        granted = parse_date(cell.get("granted_on") or "")
        why = [w for w, bad in (("相对人名称为空", not subject), ("文书号为空", not wsh),
                                (f"修复日期“{cell.get('granted_on') or ''}”不是有效日期（如 2026-10-09）", not granted))
               if bad]
        problems += [f"第{n}行：{w}" for w in why]
        if not why:
            code = normalise_identifier(cell.get("subject_code"))
            rows.append({"repair_id": repair_id(str(subject), code, str(wsh), str(granted)), "subject": subject,
                         "subject_code": code, "wsh": wsh, "granted_on": granted, "row_no": n})
    if problems:
        raise RepairError(f"信用修复文件 {path} 未导入（有问题的行须全部改正后重新导入）：" + "；".join(problems))
    if not rows:
        raise RepairError(f"信用修复文件 {path} 没有数据行")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("repair_id", pa.string()), ("subject", pa.string()), ("subject_code", pa.string()), ("wsh", pa.string()),
        ("granted_on", pa.string()), ("row_no", pa.int32())]))
    now = datetime.now()
    con.execute("BEGIN")
    try:
        before = con.execute("SELECT count(*) FROM credit_repairs").fetchall()[0][0]
        con.register("_sgs_repairs", table)
        con.execute("""INSERT INTO credit_repairs
            SELECT repair_id, any_value(subject), any_value(subject_code), any_value(wsh),
                   CAST(any_value(granted_on) AS DATE), $sha, min(row_no), $now
            FROM _sgs_repairs WHERE repair_id NOT IN (SELECT repair_id FROM credit_repairs) GROUP BY repair_id""",
                    {"sha": sha, "now": now})
        con.unregister("_sgs_repairs")
        con.execute("INSERT INTO repair_files SELECT $sha, $file, $n, $now WHERE $sha NOT IN "
                    "(SELECT sha256 FROM repair_files)", {"sha": sha, "file": path.name, "n": len(rows), "now": now})
        added = con.execute("SELECT count(*) FROM credit_repairs").fetchall()[0][0] - before
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows), int(added)


def penalties_sql() -> str:
    """(repair columns…, dept_id, channel, url, fetch_id, last_seen, source_id, _jdrq, _stated, _seen, _serious):
    each grant with every stored penalty record (both channels, every department) it repairs — the same
    文书号, and the same subject by name or by code (credit code or ID number)."""
    serious = enum_has_any(standard.enums()["CFLB"], "coalesce(p.CF_CFLB, '')", load_policy().serious_categories)
    return f"""(SELECT r.*, p.dept_id, p.channel, p.url, p.fetch_id, p.last_seen, p.source_id,
               {as_date('p.CF_JDRQ')} AS _jdrq, {stated_date('p')} AS _stated, CAST(p.first_seen AS DATE) AS _seen,
               {serious} AS _serious
        FROM credit_repairs r JOIN cf_records p ON p.CF_WSH = r.wsh
             AND (p.CF_XDR_MC = r.subject OR r.subject_code IN (p.CF_XDR_SHXYM, p.CF_XDR_ZJHM)))"""


def grant_check_sql(min_months: int, start: str, end: str) -> str:
    """One row per grant dated in [start, end] (SQL DATE expressions) that the policy refuses or that the
    evidence cannot settle: (repair_id, subject, subject_code, wsh, granted_on, dept_id, url, fetch_id, verdict
    'invalid' | 'unverified', message). Invalid: granted before ``min_months`` of publication (counted from the
    decision date, or from the publication date a page states credibly), a 严重 penalty, or a subject penalised
    again (any department) within a year after an earlier repair. Unverified: no stored penalty matches the
    grant, or only the first-seen day (not a stated date) says when it was published and that leaves it open."""
    grants = f"""(SELECT repair_id, any_value(subject) AS subject, any_value(subject_code) AS subject_code,
            any_value(wsh) AS wsh, any_value(granted_on) AS granted_on,
            arg_min(dept_id, (channel <> 'site', url)) AS dept_id, arg_min(url, (channel <> 'site', url)) AS url,
            arg_min(fetch_id, (channel <> 'site', url)) AS fetch_id,
            min(_jdrq) AS jdrq, min(_stated) AS stated, min(_seen) AS seen, bool_or(_serious) AS serious,
            count(*) AS n_records
        FROM {penalties_sql()} GROUP BY repair_id)"""
    months = f"INTERVAL {int(min_months)} MONTH"
    again = """(SELECT g.repair_id, max(e.granted_on) AS earlier FROM credit_repairs e JOIN credit_repairs g
        ON e.granted_on < g.granted_on AND e.repair_id <> g.repair_id
           AND (e.subject_code = g.subject_code OR (e.subject_code IS NULL OR g.subject_code IS NULL)
                AND e.subject = g.subject) GROUP BY g.repair_id)"""
    reasons = f"""list_filter([
        CASE WHEN g.jdrq IS NOT NULL AND g.granted_on < g.jdrq + {months}
             THEN '处罚决定日期' || CAST(g.jdrq AS VARCHAR) || '，修复于' || CAST(g.granted_on AS VARCHAR)
                  || '，未满最短公示期{int(min_months)}个月' END,
        CASE WHEN NOT (g.jdrq IS NOT NULL AND g.granted_on < g.jdrq + {months})
                  AND g.stated IS NOT NULL AND g.granted_on < g.stated + {months}
             THEN '公示日期' || CAST(g.stated AS VARCHAR) || '，修复于' || CAST(g.granted_on AS VARCHAR)
                  || '，公示未满{int(min_months)}个月' END,
        CASE WHEN g.serious THEN '该处罚属严重失信行为（处罚类别），不予信用修复' END,
        CASE WHEN a.earlier IS NOT NULL AND g.jdrq > a.earlier AND g.jdrq <= a.earlier + INTERVAL 1 YEAR
             THEN '该主体于' || CAST(a.earlier AS VARCHAR) || '信用修复后一年内（' || CAST(g.jdrq AS VARCHAR)
                  || '）再次受到行政处罚，不予信用修复' END], lambda x: x IS NOT NULL)"""
    open_early = (f"g.stated IS NULL AND g.granted_on < g.seen + {months} "
                  f"AND (g.jdrq IS NULL OR g.granted_on >= g.jdrq + {months})")
    unverified = f"""CASE WHEN g.repair_id IS NULL THEN '未采集到文书号为' || r.wsh || '的该主体处罚记录，无法核对修复条件'
        WHEN {open_early} THEN '页面未标明公示日期，首次采集于' || CAST(g.seen AS VARCHAR)
             || '，无法核验修复时（' || CAST(g.granted_on AS VARCHAR) || '）是否已公示满{int(min_months)}个月' END"""
    return f"""SELECT * FROM (
        SELECT r.repair_id, r.subject, r.subject_code, r.wsh, r.granted_on, g.dept_id, g.url, g.fetch_id,
               CASE WHEN len({reasons}) > 0 THEN 'invalid' WHEN ({unverified}) IS NOT NULL THEN 'unverified' END
                   AS verdict,
               CASE WHEN len({reasons}) > 0 THEN '信用修复于' || CAST(r.granted_on AS VARCHAR) || '获准，不符合条件：'
                        || array_to_string({reasons}, '；') ELSE {unverified} END AS message
        FROM credit_repairs r LEFT JOIN {grants} g USING (repair_id) LEFT JOIN {again} a USING (repair_id)
        WHERE r.granted_on BETWEEN {start} AND {end}) WHERE verdict IS NOT NULL"""


def credit_office_rows(con: duckdb.DuckDBPyConnection, min_months: int, start: str, end: str) -> list[dict[str, Any]]:
    """The grant check's rows as dicts (the 信用修复核查 list)."""
    cur = con.execute(grant_check_sql(min_months, start, end) + " ORDER BY granted_on, wsh")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


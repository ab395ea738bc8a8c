"""The correction loop's store: every step a finding takes after scoring found it, in ``workbench.sqlite3``.

Why here and in SQLite: the people who act on findings (assessors deciding, department clerks answering)
work in the dashboard, which must never write the working database (a crawl may hold its lock) nor a
published snapshot (immutable). So their steps go to ``workbench.sqlite3`` beside the working database
(many Streamlit sessions, each writing a row now and then: SQLite's WAL locking handles exactly that), and the
pipeline reads them back when it scores (``metrics.scoring`` applies the current statuses, so a waived finding
deducts nothing) and when it verifies rectifications after a crawl (``metrics.verify``).

One table, ``decisions``, is the whole history: a row per step (who, role, when, why, the note, the new
page's URL, an attachment, the evidence a verification cites), never updated or deleted. A finding's status
is its latest row's. Which step may follow which, and who may take it, is decided once, in ``ACTIONS``.
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from core.errors import InputError
from core.settings import Paths
from core.vocab import FINDING_STATUSES
from metrics.checks._sql import lit

STATUSES: dict[str, str] = FINDING_STATUSES
OPEN = "open"
WAIVED = "waived"  # the one status that takes a finding out of the deductions
# a finding a department still has to act on (逾期未整改 when its deadline passed: is_overdue)
UNRESOLVED = ("open", "confirmed")


@dataclass(frozen=True)
class Action:
    """One kind of step: the status it leads to, its Chinese label, who may take it, from which statuses,
    and whether a reason is required."""

    status: str
    label: str
    roles: tuple[str, ...]
    after: tuple[str, ...]
    needs_reason: bool = False


_ASSESSOR = ("assessor",)
_DEPARTMENT = ("department",)
_SYSTEM = ("system",)  # the verification after a crawl (metrics.verify), never a person
ACTIONS: dict[str, Action] = {
    "confirm": Action("confirmed", "确认", _ASSESSOR, ("open", "fixed")),
    "waive": Action("waived", "豁免", _ASSESSOR, ("open", "confirmed", "fixed", "objected"), needs_reason=True),
    "reopen": Action("open", "重新打开", _ASSESSOR, ("confirmed", "waived", "closed", "fixed", "objected")),
    "report_fixed": Action("fixed", "报告已整改", _DEPARTMENT, UNRESOLVED, needs_reason=True),
    "object": Action("objected", "提出异议", _DEPARTMENT, UNRESOLVED, needs_reason=True),
    "accept_objection": Action("waived", "异议成立", _ASSESSOR, ("objected",), needs_reason=True),
    "reject_objection": Action("confirmed", "异议不成立", _ASSESSOR, ("objected",), needs_reason=True),
    "verified": Action("closed", "复核：已整改", _SYSTEM, ("fixed",), needs_reason=True),
    "verify_failed": Action("open", "复核：未整改", _SYSTEM, ("fixed",), needs_reason=True),
}
# what the form asks for as the reason of each action (the page's label)
REASON_LABELS: dict[str, str] = {
    "waive": "豁免理由", "report_fixed": "整改说明", "object": "异议理由",
    "accept_objection": "认定理由", "reject_objection": "不予采纳的理由（将反馈给部门）",
}

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# an attachment's type is decided by its first bytes, never by its name or the browser's word
ATTACHMENT_TYPES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
)
MIME_BY_SUFFIX = {suffix: mime for _, suffix, mime in ATTACHMENT_TYPES}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL,
    action     TEXT NOT NULL,      -- a key of ACTIONS
    status     TEXT NOT NULL,      -- the status it leads to
    reason     TEXT,               -- why (required where ACTIONS says so)
    username   TEXT NOT NULL,
    at         TEXT NOT NULL       -- ISO local time
);
CREATE INDEX IF NOT EXISTS decisions_finding ON decisions (finding_id, id);
"""
# columns added since the first version (a store written before them is migrated in place)
_ADDED = {"period": "TEXT", "dept_id": "TEXT", "role": "TEXT", "url": "TEXT", "attachment": "TEXT",
          "attachment_name": "TEXT", "fetch_id": "TEXT", "ref_fetch_id": "TEXT"}
HISTORY_COLUMNS = ["id", "finding_id", "period", "dept_id", "at", "username", "role", "action", "status", "reason",
                   "url", "attachment", "attachment_name", "fetch_id", "ref_fetch_id"]


class WorkbenchError(InputError, ValueError):
    """A step that cannot be recorded as asked (Chinese message for the page)."""


def is_overdue(status: str | None, deadline: date | None, today: date) -> bool:
    """逾期未整改: still unresolved and today is after the period's remediation deadline (the deadline day itself
    is in time; a period never issued has no deadline). The one definition: notices, report, dashboard."""
    return deadline is not None and today > deadline and status in UNRESOLVED


def store_path(paths: Paths) -> Path:
    return paths.root / "workbench.sqlite3"


def attachments_dir(paths: Paths) -> Path:
    return paths.root / "attachments"


def connect(paths: Paths, schema: str = "") -> sqlite3.Connection:
    """Open briefly (``closing(connect(...))``); WAL lets readers and the one writer of the moment proceed
    together. ``schema`` is a caller's own tables (the dashboard's access log) created beside the decisions."""
    paths.root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(store_path(paths), timeout=10)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(_SCHEMA + schema)
    have = {row[1] for row in con.execute("PRAGMA table_info(decisions)")}
    for column, sql_type in _ADDED.items():
        if column not in have:
            con.execute(f"ALTER TABLE decisions ADD COLUMN {column} {sql_type}")
    return con


def now_text() -> str:
    return datetime.now().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Finding:
    """What a step needs to know of the finding it is about (from the snapshot's ``findings`` row)."""

    finding_id: str
    period: str
    dept_id: str
    status: str  # its current status (the store's latest, else the snapshot's)


@dataclass(frozen=True)
class Attachment:
    """An uploaded file, checked: its bytes, and the name the uploader gave it."""

    data: bytes
    name: str


def check_attachment(data: bytes, name: str) -> str:
    """The stored suffix of an attachment whose content is a PDF, PNG or JPEG within the size limit."""
    if not data:
        raise WorkbenchError(f"附件 {name} 是空文件。")
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise WorkbenchError(f"附件 {name} 超过 {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。")
    for magic, suffix, _ in ATTACHMENT_TYPES:
        if data.startswith(magic):
            return suffix
    raise WorkbenchError(f"附件 {name} 不是 PDF、PNG 或 JPEG 文件（按文件内容判断），请转换后再上传。")


def _save_attachment(paths: Paths, attachment: Attachment) -> str:
    """Store by content hash (the same file twice is one file); the stored name is all a row keeps."""
    suffix = check_attachment(attachment.data, attachment.name)
    stored = f"{hashlib.sha256(attachment.data).hexdigest()}.{suffix}"
    folder = attachments_dir(paths)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(attachment.data)
        tmp.replace(target)
    return stored


def read_attachment(paths: Paths, stored: str) -> tuple[bytes, str]:
    """An attachment's bytes and MIME type (checked again: a stored name is only ever our own hash.suffix)."""
    if not re.fullmatch(r"[0-9a-f]{64}\.(pdf|png|jpg)", stored or ""):
        raise WorkbenchError("附件编号无效。")
    data = (attachments_dir(paths) / stored).read_bytes()
    return data, MIME_BY_SUFFIX[stored.rsplit(".", 1)[1]]


def _check(action: str, role: str, finding: Finding, reason: str | None, scope: str | None) -> Action:
    """The step's definition, once it is known to be allowed: role, scope, the status it follows, reason."""
    step = ACTIONS.get(action)
    if step is None:
        raise WorkbenchError(f"未知操作 {action!r}")
    if role not in step.roles:
        raise WorkbenchError(f"当前角色不能执行“{step.label}”。")
    if role == "department" and finding.dept_id != scope:
        raise WorkbenchError("只能处理本部门的问题。")
    if not finding.finding_id:
        raise WorkbenchError("该问题没有编号（finding_id），无法记录处理结果。")
    if finding.status not in step.after:
        now = STATUSES.get(finding.status, finding.status)
        raise WorkbenchError(f"问题当前状态为“{now}”，不能执行“{step.label}”。")
    if step.needs_reason and not reason:
        raise WorkbenchError(f"“{step.label}”必须填写{REASON_LABELS.get(action, '理由')}。")
    return step


def record(paths: Paths, findings: Sequence[Finding], action: str, *, username: str, role: str,
           reason: str | None = None, scope: str | None = None, url: str | None = None,
           attachment: Attachment | None = None, fetch_id: str | None = None,
           ref_fetch_id: str | None = None) -> int:
    """Append one step for each finding, all or none (several at once from a page's selection); returns how
    many were recorded. ``scope`` is a department user's department: a step on another's finding is refused."""
    reason = (reason or "").strip() or None
    url = (url or "").strip() or None
    if url and not re.match(r"https?://", url):
        raise WorkbenchError(f"整改后页面地址应以 http:// 或 https:// 开头：{url}")
    steps = [(f, _check(action, role, f, reason, scope)) for f in findings]
    stored = _save_attachment(paths, attachment) if attachment is not None else None
    at = now_text()
    with closing(connect(paths)) as con, con:
        con.executemany(
            "INSERT INTO decisions (finding_id, period, dept_id, action, status, reason, username, role, at, url, "
            "attachment, attachment_name, fetch_id, ref_fetch_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(f.finding_id, f.period, f.dept_id, action, step.status, reason, username, role, at, url, stored,
              attachment.name if attachment else None, fetch_id, ref_fetch_id) for f, step in steps])
    return len(steps)


def record_decision(paths: Paths, finding_id: str, action: str, username: str, reason: str | None = None, *,
                    status: str = OPEN, period: str | None = None, dept_id: str | None = None) -> None:
    """One assessor's decision on one finding (the 问题清单 form's call)."""
    record(paths, [Finding(finding_id, period or "", dept_id or "", status)], action, username=username,
           role="assessor", reason=reason)


_EMPTY_CURRENT = ("finding_id", "status", "reason", "username", "at", "action", "id")


def latest(paths: Paths, period: str | None = None) -> pd.DataFrame:
    """Every finding's current status (its latest step): finding_id, status, reason, username, at, action, id
    — of one period when given."""
    if not store_path(paths).exists():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _EMPTY_CURRENT})
    where = "AND period = ?" if period else ""
    with closing(connect(paths)) as con:
        return pd.read_sql_query(
            f"""SELECT finding_id, status, reason, username, at, action, id FROM decisions d
                WHERE id = (SELECT max(id) FROM decisions WHERE finding_id = d.finding_id) {where}""",
            con, params=(period,) if period else ())


def version(paths: Paths) -> int:
    """The newest step's id: part of cache keys, so a step shows on the next run."""
    if not store_path(paths).exists():
        return 0
    with closing(connect(paths)) as con:
        return int(con.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0])


def history(paths: Paths, finding_ids: str | Iterable[str]) -> pd.DataFrame:
    """The steps of one finding (or several), oldest first."""
    ids = [finding_ids] if isinstance(finding_ids, str) else list(finding_ids)
    if not store_path(paths).exists() or not ids:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    marks = ",".join("?" * len(ids))
    with closing(connect(paths)) as con:
        return pd.read_sql_query(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM decisions "
                                 f"WHERE finding_id IN ({marks}) ORDER BY id", con, params=ids)


def steps(paths: Paths, *, actions: Iterable[str] | None = None, since_id: int = 0) -> pd.DataFrame:
    """Every step (of the given actions, after ``since_id``), oldest first: digests and the verification."""
    if not store_path(paths).exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    chosen = list(actions or ACTIONS)
    marks = ",".join("?" * len(chosen))
    with closing(connect(paths)) as con:
        return pd.read_sql_query(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM decisions "
                                 f"WHERE action IN ({marks}) AND id > ? ORDER BY id", con, params=[*chosen, since_id])


def paths_of(con: duckdb.DuckDBPyConnection) -> Paths | None:
    """The deployment whose DuckDB file ``con`` has open (None in memory): where its store is. How every
    pipeline step that reads the store (scoring's statuses, the rules' registers, catalogue entries) finds it."""
    found = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Paths(Path(found[0][0])) if found and found[0][0] else None


def apply_to_findings(con: duckdb.DuckDBPyConnection, period: str, statuses: pd.DataFrame | None = None) -> None:
    """Give the period's new findings their current status (``statuses``: finding_id → status; by default the
    store's beside the database file) and define ``_sgs_findings``, the findings that deduct: every one but
    the waived. Called by ``metrics.scoring`` inside its transaction; a waived finding stays in ``findings``,
    shown apart."""
    if statuses is None:
        paths = paths_of(con)
        statuses = latest(paths, period) if paths is not None else None
    if statuses is not None and len(statuses):
        con.register("_sgs_current", statuses[["finding_id", "status"]])
        try:
            con.execute("""UPDATE findings SET status = c.status FROM _sgs_current c
                           WHERE findings.period = $period AND findings.finding_id = c.finding_id""",
                        {"period": period})
        finally:
            con.unregister("_sgs_current")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _sgs_findings AS SELECT * FROM findings "
                f"WHERE period = {lit(period)} AND status <> {lit(WAIVED)}")

"""Findings of 书面检查 and 实地核查, recorded by hand: what the assessment finds off the web, scored like any other.

The policy assesses by 网络监测, 书面检查 (documents the department submits) and 实地核查 (a visit). An assessor
records each problem found that way — department, kind, method, severity, the day, the record's 文书号 or the
page's URL when there is one, what is wrong, and the evidence file (PDF/PNG/JPEG, checked by content like an
objection's attachment, ``metrics.corrections``) — on the dashboard (录入检查问题) or with ``sgs inspection add``.
The dashboard never writes DuckDB, so entries live in ``workbench.sqlite3``; the rule
``metrics/checks/manual_inspection.py`` reads the period's entries (by the inspection day) when scoring and
emits them as findings: on the record when its 文书号 matches one of the department's assessed records, else
on the department (saying the record was not found online when a 文书号 was given).
"""
from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import date
from typing import Any

from core.normalize import clean_text, parse_date
from core.privacy import mask_text
from core.settings import Paths
from core.vocab import KIND_LABELS, SEVERITIES
from metrics import corrections
from metrics.corrections import Attachment, WorkbenchError

METHODS = {"written": "书面检查", "onsite": "实地核查"}
MAX_TEXT = 2000

_WORKBENCH = """
CREATE TABLE IF NOT EXISTS inspections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dept_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,   -- xk | cf
    method          TEXT NOT NULL,   -- a key of METHODS
    severity        TEXT NOT NULL,   -- a key of core.vocab.SEVERITIES (chosen by the assessor)
    inspected_on    TEXT NOT NULL,   -- ISO date: the period the finding belongs to
    wsh             TEXT,            -- the record's 文书号 (normalised like crawled ones), if any
    url             TEXT,            -- the page concerned, if any
    description     TEXT NOT NULL,
    attachment      TEXT NOT NULL,   -- the evidence's stored name (metrics.corrections: sha256.suffix)
    attachment_name TEXT,            -- the name the uploader gave it
    username        TEXT NOT NULL,
    at              TEXT NOT NULL    -- ISO local time of the entry
);
"""
COLUMNS = ("id", "dept_id", "kind", "method", "severity", "inspected_on", "wsh", "url", "description",
           "attachment", "attachment_name", "username", "at")


class InspectionError(WorkbenchError):
    """An entry that cannot be recorded as given (Chinese message naming the field and the fix)."""


def _checked(dept_id: str, kind: str, method: str, severity: str, inspected_on: str | date, description: str,
             url: str | None, today: date) -> tuple[str, str]:
    """The day (ISO) and the description, once every field is known to be right."""
    if not dept_id:
        raise InspectionError("请选择被检查的部门。")
    if kind not in KIND_LABELS:
        raise InspectionError(f"类别应为 {'、'.join(f'{k}（{v}）' for k, v in KIND_LABELS.items())}，而不是 {kind!r}。")
    if method not in METHODS:
        raise InspectionError(f"检查方式应为 {'、'.join(f'{k}（{v}）' for k, v in METHODS.items())}，而不是 {method!r}。")
    if severity not in SEVERITIES:
        raise InspectionError(f"严重程度应为 {'、'.join(f'{k}（{v}）' for k, v in SEVERITIES.items())}，而不是 {severity!r}。")
    day = inspected_on.isoformat() if isinstance(inspected_on, date) else parse_date(inspected_on or "")
    if not day:
        raise InspectionError(f"检查日期“{inspected_on}”不是有效日期（如 2026-09-15）。")
    if day > today.isoformat():
        raise InspectionError(f"检查日期 {day} 晚于今天，请核对。")
    text = (description or "").strip()
    if not text:
        raise InspectionError("请填写问题描述：检查发现了什么问题。")
    if len(text) > MAX_TEXT:
        raise InspectionError(f"问题描述超过 {MAX_TEXT} 个字符，请精简。")
    if url and not re.match(r"https?://\S+$", url):
        raise InspectionError(f"页面地址应以 http:// 或 https:// 开头：{mask_text(url)}")
    return day, text


def add(paths: Paths, *, dept_id: str, kind: str, method: str, severity: str, inspected_on: str | date,
        description: str, evidence: Attachment | None, username: str, wsh: str | None = None,
        url: str | None = None, today: date | None = None) -> int:
    """Record one finding of an inspection (all fields checked, the evidence stored); returns its id."""
    url = (url or "").strip() or None
    day, text = _checked(dept_id, kind, method, severity, inspected_on, description, url, today or date.today())
    if evidence is None:
        raise InspectionError("请上传证据文件（检查记录、照片或文书的 PDF、PNG 或 JPEG）。")
    stored = corrections._save_attachment(paths, evidence)
    with closing(corrections.connect(paths, _WORKBENCH)) as con, con:
        cur = con.execute(
            "INSERT INTO inspections (dept_id, kind, method, severity, inspected_on, wsh, url, description, "
            "attachment, attachment_name, username, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (dept_id, kind, method, severity, day, clean_text(wsh or ""), url, text, stored, evidence.name,
             username, corrections.now_text()))
        return int(cur.lastrowid or 0)


def entries(paths: Paths, start: date | None = None, end: date | None = None,
            dept_id: str | None = None) -> list[dict[str, Any]]:
    """The recorded entries (inspection day within ``start``–``end`` when given), newest first."""
    if not corrections.store_path(paths).exists():
        return []
    where, args = ["1 = 1"], []
    if start is not None and end is not None:
        where.append("inspected_on BETWEEN ? AND ?")
        args += [start.isoformat(), end.isoformat()]
    if dept_id:
        where.append("dept_id = ?")
        args.append(dept_id)
    with closing(corrections.connect(paths, _WORKBENCH)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM inspections WHERE {' AND '.join(where)} "
                           "ORDER BY id DESC", args).fetchall()
    return [dict(r) for r in rows]


def finding_text(e: dict[str, Any]) -> tuple[str, str, str]:
    """A finding's (field, value, message) for an entry: the method, the entry's number and evidence, and
    the description with its day, severity and who recorded it (masked: an assessor may have typed an ID)."""
    message = (f"{METHODS[e['method']]}发现（{e['inspected_on']}，{SEVERITIES[e['severity']]}）：{e['description']}"
               f"。证据文件 {e['attachment']}，{e['username']} 录入")
    return METHODS[e["method"]], f"检查记录 #{e['id']}", mask_text(message)

"""Subjects' objections (异议) to published records, in ``workbench.sqlite3``: entered, routed, answered.

长治市实施意见（九）: a subject who finds a 双公示 record wrong, incomplete or published too long (错误、遗漏、
超期公示) objects to the credit portal (信用长治), which checks with the department that made the decision and,
by that department's written answer, keeps, amends or withdraws the record (维持、修改或者撤下). sgs keeps that
loop: the credit office (an assessor) enters each objection on the 信用异议 page or imports the portal's list
(``sgs objections import``); it goes to the deciding department, which must answer in writing by a deadline
(received + the scheme's ``[objections] answer_workdays`` working days, fixed when the objection is entered so
the department is told one date); the rules ``objection_unanswered`` and ``objection_outcome_not_applied``
then check the answer's date and, on the next crawls, that the outcome was carried out.

Why here: the people who enter and answer objections work in the dashboard, which never writes DuckDB — the
same reason as ``metrics.corrections``, whose store (and its ``connect``) this module shares. Everything is
append-only: an objection row is never changed; each answer is a new row (the latest states the outcome, the
first says whether the department answered in time — a late answer is accepted, the lateness stands).
"""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.attachments import read_file
from core.errors import InputError
from core.normalize import clean_prose, clean_text, normalise_identifier, parse_date
from core.periods import parse_period
from core.settings import Paths
from core.vocab import KIND_LABELS
from core.workdays import Calendar, default_calendar
from metrics.corrections import connect, now_text, paths_of, store_path
from metrics.scheme import load_scheme, scheme_path

TYPES: dict[str, str] = {"error": "错误", "omission": "遗漏", "overdue": "超期公示"}  # 长治（九）
OUTCOMES: dict[str, str] = {"keep": "维持", "amend": "修改", "withdraw": "撤下"}
# the rules that judge only what people enter or import here (objections, the repair register): the demo city
# has none, so its ground truth carries none of them (tests/test_e2e.py)
INPUT_RULES = ("objection_unanswered", "objection_outcome_not_applied", "repair_still_shown", "repair_grant_invalid")
STATES: dict[str, str] = {"pending": "待答复", "overdue": "逾期未答复", "answered": "已答复", "late": "逾期答复"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS objections (
    objection_id TEXT PRIMARY KEY,   -- md5 of dept, kind, 文书号, subject, type, received: the same one twice is one
    dept_id      TEXT NOT NULL,      -- the department that made the decision (answers it)
    kind         TEXT NOT NULL,      -- xk | cf
    wsh          TEXT NOT NULL,      -- the record's 文书号
    subject      TEXT NOT NULL,      -- 相对人名称
    subject_id   TEXT,               -- credit code or ID number as received (masked wherever shown)
    type         TEXT NOT NULL,      -- a key of TYPES
    content      TEXT,
    received     TEXT NOT NULL,      -- ISO date the portal received it
    deadline     TEXT NOT NULL,      -- ISO date the written answer is due (scheme's working days)
    username     TEXT NOT NULL,
    at           TEXT NOT NULL,
    source       TEXT                -- the imported file's name, NULL when entered on the page
);
CREATE TABLE IF NOT EXISTS objection_answers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    objection_id TEXT NOT NULL,
    answer       TEXT NOT NULL,      -- the department's written answer
    outcome      TEXT NOT NULL,      -- a key of OUTCOMES
    username     TEXT NOT NULL,
    role         TEXT NOT NULL,
    at           TEXT NOT NULL       -- ISO local time: its date is the answer's date
);
CREATE INDEX IF NOT EXISTS objection_answers_id ON objection_answers (objection_id, id);
"""

COLUMNS = ["objection_id", "dept_id", "kind", "wsh", "subject", "subject_id", "type", "content", "received",
           "deadline", "username", "at", "source", "first_answer_on", "answer", "outcome", "answered_by",
           "answered_at", "n_answers"]


class ObjectionError(InputError, ValueError):
    """An objection, answer or file that cannot be taken as given (Chinese message naming what and the fix)."""


@dataclass(frozen=True)
class Objection:
    dept_id: str
    kind: str
    wsh: str
    subject: str
    type: str
    received: str  # ISO date
    subject_id: str | None = None
    content: str | None = None

    @property
    def objection_id(self) -> str:
        key = "|".join((self.dept_id, self.kind, self.wsh, self.subject, self.type, self.received))
        return hashlib.md5(key.encode()).hexdigest()


def open_store(paths: Paths) -> sqlite3.Connection:
    return connect(paths, SCHEMA)


def answer_deadline(received: date, calendar: Calendar | None = None, workdays: int | None = None) -> date:
    """The written answer's due date: ``workdays`` (default: the received year's scheme, ``[objections]
    answer_workdays``) official working days after the day received, that day not counted."""
    if workdays is None:
        workdays = load_scheme(scheme_path(parse_period(f"{received:%Y-%m}"))).objection_answer_workdays
    return (calendar or default_calendar()).add_workdays(received, workdays)


def check(item: Objection, departments: Mapping[str, str]) -> list[str]:
    """Every problem of one objection (empty when it can be stored); ``departments`` is dept_id → name."""
    problems = []
    if item.dept_id not in departments:
        problems.append(f"部门“{item.dept_id}”不在部门名单中（应为部门编号或全称）")
    if item.kind not in KIND_LABELS:
        problems.append(f"类别“{item.kind}”应为 许可 或 处罚")
    if not item.wsh:
        problems.append("文书号为空")
    if not item.subject:
        problems.append("相对人名称为空")
    if item.type not in TYPES:
        problems.append(f"异议类型“{item.type}”应为 {'、'.join(TYPES.values())} 之一")
    if not parse_date(item.received or ""):
        problems.append(f"收到日期“{item.received}”不是有效日期（如 2026-10-09）")
    return problems


def add(paths: Paths, items: Sequence[Objection], departments: Mapping[str, str], *, username: str,
        source: str | None = None, calendar: Calendar | None = None) -> int:
    """Store objections, all or none; returns how many were new (one already stored is left as it was).
    文书号 and codes are normalised as the crawl stores them, so the rules match the record."""
    items = [replace(i, wsh=normalise_identifier(i.wsh) or "", subject_id=normalise_identifier(i.subject_id),
                     subject=(clean_prose(i.subject) or ""), content=clean_prose(i.content)) for i in items]
    problems = [f"第{n}条：{p}" for n, item in enumerate(items, 1) for p in check(item, departments)]
    if problems:
        raise ObjectionError("；".join(problems))
    at = now_text()
    rows = [(i.objection_id, i.dept_id, i.kind, i.wsh, i.subject, i.subject_id, i.type, i.content, i.received,
             answer_deadline(date.fromisoformat(i.received), calendar).isoformat(), username, at, source)
            for i in items]
    with closing(open_store(paths)) as con, con:
        before = con.total_changes
        con.executemany("INSERT OR IGNORE INTO objections VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        return con.total_changes - before


def answer(paths: Paths, objection_id: str, text: str, outcome: str, *, username: str, role: str,
           scope: str | None) -> None:
    """The deciding department's written answer (its own objections only); a late one is taken too."""
    text = (text or "").strip()
    if role != "department":
        raise ObjectionError("异议由作出决定的部门书面答复：请使用部门账号。")
    if outcome not in OUTCOMES:
        raise ObjectionError(f"处理结果应为 {'、'.join(OUTCOMES.values())} 之一。")
    if not text:
        raise ObjectionError("请填写书面答复意见。")
    with closing(open_store(paths)) as con, con:
        row = con.execute("SELECT dept_id FROM objections WHERE objection_id = ?", (objection_id,)).fetchone()
        if row is None:
            raise ObjectionError("没有这条异议。")
        if row[0] != scope:
            raise ObjectionError("只能答复本部门的异议。")
        con.execute("INSERT INTO objection_answers (objection_id, answer, outcome, username, role, at) "
                    "VALUES (?,?,?,?,?,?)", (objection_id, text, outcome, username, role, now_text()))


def table(paths: Paths, scope: str | None = None) -> pd.DataFrame:
    """Every objection (of one department when ``scope``) with its first answer's date and its latest answer."""
    if not store_path(paths).exists():
        return pd.DataFrame(columns=COLUMNS)
    with closing(open_store(paths)) as con:
        return pd.read_sql_query(f"""
            SELECT o.*, f.first_answer_on, a.answer, a.outcome, a.username AS answered_by, a.at AS answered_at,
                   coalesce(f.n, 0) AS n_answers
            FROM objections o
            LEFT JOIN (SELECT objection_id, substr(min(at), 1, 10) AS first_answer_on, count(*) AS n, max(id) AS last
                       FROM objection_answers GROUP BY objection_id) f USING (objection_id)
            LEFT JOIN objection_answers a ON a.id = f.last
            WHERE ? IS NULL OR o.dept_id = ? ORDER BY o.received DESC, o.objection_id""",
            con, params=(scope, scope))[COLUMNS]


def state(row: Mapping[Any, Any], today: date) -> str:
    """待答复 / 逾期未答复 / 已答复 / 逾期答复 of one ``table`` row on ``today``."""
    first, deadline = row.get("first_answer_on"), str(row["deadline"])
    if not isinstance(first, str) or not first:
        return "overdue" if today.isoformat() > deadline else "pending"
    return "late" if first > deadline else "answered"


def answers(paths: Paths, objection_id: str) -> pd.DataFrame:
    """One objection's answers, oldest first (its history: entered, then each answer)."""
    if not store_path(paths).exists():
        return pd.DataFrame(columns=["id", "answer", "outcome", "username", "role", "at"])
    with closing(open_store(paths)) as con:
        return pd.read_sql_query("SELECT id, answer, outcome, username, role, at FROM objection_answers "
                                 "WHERE objection_id = ? ORDER BY id", con, params=(objection_id,))


# --- import ------------------------------------------------------------------------------------------

HEADERS: dict[str, tuple[str, ...]] = {
    "subject": ("相对人名称", "行政相对人名称", "申请人", "主体名称"),
    "subject_id": ("统一社会信用代码", "证件号码", "统一社会信用代码/证件号码", "信用代码"),
    "dept": ("部门", "决定部门", "作出决定部门", "部门编号"),
    "kind": ("类别", "信息类别", "许可/处罚"),
    "wsh": ("文书号", "决定书文号", "行政决定文书号"),
    "type": ("异议类型", "类型"),
    "content": ("异议内容", "异议理由", "内容"),
    "received": ("收到日期", "受理日期", "申请日期"),
}
REQUIRED = ("subject", "dept", "kind", "wsh", "type", "received")


def read_rows(path: Path, headers: Mapping[str, tuple[str, ...]], required: Sequence[str],
              what: str) -> list[tuple[int, dict[str, str | None]]]:
    """(data row number, column → cleaned text) for every non-blank row of a CSV/XLSX whose header names every
    ``required`` column; a header in the first 5 rows (a title row above it is skipped)."""
    try:
        rows = [r for r in read_file(Path(path)) if any(c.strip() for c in r)]
    except ValueError as exc:
        raise ObjectionError(f"{what}{exc}") from None
    lookup = {h: col for col, names in headers.items() for h in names}
    for at, header in enumerate(rows[:5]):
        columns = {}
        for i, head in enumerate(header):
            col = lookup.get((clean_text(head) or "").replace(" ", ""))
            if col and col not in columns:
                columns[col] = i
        if all(c in columns for c in required):
            break
    else:
        names = "、".join(headers[c][0] for c in required)
        raise ObjectionError(f"{what} {path} 的表头应包含：{names}（在前 5 行中未找到）")
    return [(n, {c: clean_prose(row[i]) if i < len(row) else None for c, i in columns.items()})
            for n, row in enumerate(rows[at + 1:], 1)]


def department_ids(departments: Mapping[str, str], text: str | None) -> str:
    """A department cell (its id or its full name) as the id; unknown text is returned as is (then refused)."""
    text = (text or "").strip()
    by_name = {name: dept for dept, name in departments.items()}
    return text if text in departments else by_name.get(text, text)


def _kind(text: str | None) -> str:
    text = (text or "").strip()
    return {"许可": "xk", "行政许可": "xk", "处罚": "cf", "行政处罚": "cf"}.get(text, text.lower())


def _type(text: str | None) -> str:
    by_word = {v: k for k, v in TYPES.items()}
    text = (text or "").strip()
    return by_word.get(text, text)


def import_file(paths: Paths, path: str | Path, departments: Mapping[str, str], *, username: str,
                calendar: Calendar | None = None) -> tuple[int, int]:
    """Import the portal's objection list, all or nothing: every bad row is named (row number and reason) and
    nothing is stored; a row already stored is skipped, so importing the same file again changes nothing.
    Returns (rows in the file, rows new)."""
    path = Path(path)
    items, problems = [], []
    for n, cell in read_rows(path, HEADERS, REQUIRED, "异议文件"):
        received = parse_date(cell.get("received") or "") or (cell.get("received") or "")
        item = Objection(department_ids(departments, cell.get("dept")), _kind(cell.get("kind")),
                         cell.get("wsh") or "", cell.get("subject") or "", _type(cell.get("type")), received,
                         cell.get("subject_id"), cell.get("content"))
        problems += [f"第{n}行：{p}" for p in check(item, departments)]
        items.append(item)
    if problems:
        raise ObjectionError(f"异议文件 {path} 未导入（有问题的行须全部改正后重新导入）：" + "；".join(problems))
    if not items:
        raise ObjectionError(f"异议文件 {path} 没有数据行")
    return len(items), add(paths, items, departments, username=username, source=path.name, calendar=calendar)


# --- for the rules -------------------------------------------------------------------------------------

RULE_TABLE = "_sgs_objections"


def stage(con: duckdb.DuckDBPyConnection, calendar: Calendar, apply_workdays: int) -> str:
    """The store's objections as the temp table ``_sgs_objections`` for the rules' SQL: each with its deadline,
    the first answer's date (``first_answer_on``), the latest answer's outcome and date, and ``apply_due``: the
    day by which that outcome must show (``apply_workdays`` after the latest answer). Empty without a store."""
    paths = paths_of(con)
    rows = table(paths) if paths is not None else pd.DataFrame(columns=COLUMNS)
    def day(value: object) -> date | None:
        return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None

    records = rows.to_dict("records")
    answered = [day(r["answered_at"]) for r in records]
    frame = pa.table({
        **{c: pa.array([r[c] if isinstance(r[c], str) else None for r in records], pa.string()) for c in ("objection_id", "dept_id", "kind", "wsh",
                                                                         "type", "outcome")},
        **{c: pa.array([day(r[c]) for r in records], pa.date32()) for c in ("received", "deadline",
                                                                             "first_answer_on")},
        "answered_on": pa.array(answered, pa.date32()),
        "apply_due": pa.array([calendar.add_workdays(d, apply_workdays) if d else None for d in answered],
                              pa.date32()),
    })
    con.register("_sgs_objections_df", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {RULE_TABLE} AS SELECT * FROM _sgs_objections_df")
    finally:
        con.unregister("_sgs_objections_df")
    return RULE_TABLE

"""The daily digests: what each department has to act on today, and the credit office's overview.

Why files first and mail second: a digest is a document the office keeps (``<root>/digests/<date>/``, one
Markdown file per department plus ``credit-office.md``, UTF-8), and mail is only its delivery
(``reports.mail``), which may be configured or not, and may fail without losing the day's digest.

A department's digest: the findings new since its last digest (``digests/state.sqlite3`` remembers the day
each finding was first listed and the last correction step each day's digests reported; a rerun on the same
day writes the same digest again, so a run killed before sending repeats it whole), remediation deadlines in
the next 5 working days, findings overdue (逾期未整改: still open or confirmed after the period's deadline,
``metrics.versions.deadline``), its findings the re-crawl verified or reopened, and the assessor's answers
to its objections. The credit office's: totals by status, the queue waiting for an assessor (objections,
rectifications awaiting verification), overdue per department. Read from the published snapshot plus the
correction store; every line is masked (``core.privacy``) before it is written.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from core.privacy import mask_text
from core.settings import Paths
from core.standard import field_name
from core.vocab import FINDING_STATUSES
from core.workdays import Calendar, default_calendar
from metrics import corrections, versions
from metrics.checks import all_rules

SOON_WORKDAYS = 5
CREDIT_OFFICE = "credit-office"
# listed: the day a finding was first listed; marks: the newest correction step each day's digests reported
_STATE = """CREATE TABLE IF NOT EXISTS listed (finding_id TEXT PRIMARY KEY, day TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (day TEXT PRIMARY KEY, last_step INTEGER NOT NULL);"""


@dataclass
class Digest:
    """One digest: for a department (``dept_id``) or the credit office (``CREDIT_OFFICE``)."""

    dept_id: str
    name: str
    subject: str
    body: str
    counts: dict[str, int] = field(default_factory=dict)


def digest_dir(paths: Paths, day: date) -> Path:
    return paths.root / "digests" / f"{day:%Y-%m-%d}"


def _state(paths: Paths) -> sqlite3.Connection:
    folder = paths.root / "digests"
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "state.sqlite3")
    con.executescript(_STATE)
    return con


def _findings(con: duckdb.DuckDBPyConnection, paths: Paths, periods: list[str]) -> pd.DataFrame:
    """The periods' findings with their current status (the store's latest step, else the snapshot's)."""
    df = con.execute("""SELECT f.finding_id, f.period, f.dept_id, f.kind, f.rule_id, f.field, f.value, f.wsh,
                               f.url, f.status FROM findings f WHERE f.period IN (SELECT unnest($p))
                        ORDER BY f.dept_id, f.period, f.rule_id, f.wsh""", {"p": periods}).df()
    current = corrections.latest(paths)
    if len(current):
        now = dict(zip(current["finding_id"], current["status"]))
        df["status"] = [now.get(i, s) for i, s in zip(df["finding_id"], df["status"])]
    return df


def _line(row: pd.Series, names: dict[str, str]) -> str:
    what = names.get(row["rule_id"], row["rule_id"])
    where = f"文书号 {row['wsh']}" if isinstance(row["wsh"], str) and row["wsh"] else "部门层面"
    label = field_name(row["kind"], row["field"]) or ""
    value = f"：{label} {row['value']}" if isinstance(row["value"], str) and row["value"] else ""
    return mask_text(f"- [{row['period']}] {what}（{where}{value}）")


def _deadlines(con: duckdb.DuckDBPyConnection, periods: Iterable[str]) -> dict[str, date]:
    out = {}
    for p in periods:
        d = versions.deadline(con, p)
        if d is not None:
            out[p] = d
    return out


@dataclass
class _Day:
    """What every digest of one day shares."""

    today: date
    findings: pd.DataFrame
    deadlines: dict[str, date]
    soon_until: date
    names: dict[str, str]
    steps: pd.DataFrame
    listed: set[str]
    periods: list[str]

    def scope(self) -> str:
        return f"评估期间：{'、'.join(self.periods) or '（本次无已评分期间）'}"

    def unresolved(self) -> pd.Series:
        return self.findings["status"].isin(corrections.UNRESOLVED)

    def overdue(self) -> pd.DataFrame:
        late = [p for p, d in self.deadlines.items() if self.today > d]
        return self.findings[self.unresolved() & self.findings["period"].isin(late)]

    def due_soon(self) -> pd.DataFrame:
        soon = [p for p, d in self.deadlines.items() if self.today <= d <= self.soon_until]
        return self.findings[self.unresolved() & self.findings["period"].isin(soon)]


def _section(title: str, lines: list[str], empty: str) -> list[str]:
    return [f"## {title}（{len(lines)}）", "", *(lines or [f"（{empty}）"]), ""]


def _department(day: _Day, dept_id: str, name: str) -> Digest:
    mine = day.findings[day.findings["dept_id"] == dept_id]
    new = mine[~mine["finding_id"].isin(day.listed)]
    soon = day.due_soon()
    soon = soon[soon["dept_id"] == dept_id]
    overdue = day.overdue()
    overdue = overdue[overdue["dept_id"] == dept_id]
    steps = day.steps[day.steps["dept_id"] == dept_id]
    verified = steps[steps["action"].isin(("verified", "verify_failed"))]
    answers = steps[steps["action"].isin(("accept_objection", "reject_objection"))]
    labels = {a: s.label for a, s in corrections.ACTIONS.items()}
    soon_lines = [f"{_line(r, day.names)}，整改期限 {day.deadlines[r['period']]}" for _, r in soon.iterrows()]
    body = [f"# {name} 双公示每日摘要（{day.today:%Y-%m-%d}）", "", day.scope(), "",
            *_section("新发现的问题", [_line(r, day.names) for _, r in new.iterrows()], "无新问题"),
            *_section(f"{SOON_WORKDAYS} 个工作日内到期", soon_lines, "无"),
            *_section("逾期未整改", [f"{_line(r, day.names)}，整改期限 {day.deadlines[r['period']]} 已过"
                                     for _, r in overdue.iterrows()], "无"),
            *_section("整改复核结果", [mask_text(f"- {labels[s['action']]}：{s['reason']}")
                                       for _, s in verified.iterrows()], "无"),
            *_section("异议答复", [mask_text(f"- {labels[s['action']]}：{s['reason']}")
                                   for _, s in answers.iterrows()], "无"),
            "请登录双公示监测平台“部门自查”页面查看详情并处理。"]
    counts = {"new": len(new), "soon": len(soon), "overdue": len(overdue), "verified": len(verified),
              "answers": len(answers)}
    subject = (f"【双公示每日摘要】{name} {day.today:%Y-%m-%d}：新问题 {len(new)} 个，逾期 {len(overdue)} 个")
    return Digest(dept_id, name, mask_text(subject), mask_text("\n".join(body)) + "\n", counts)


def _credit_office(day: _Day, depts: pd.DataFrame) -> Digest:
    f = day.findings
    totals = [f"- {FINDING_STATUSES.get(str(s), str(s))}：{n}"
              for s, n in f["status"].value_counts().sort_index().items()]
    names = {str(d): str(n) for d, n in zip(depts["dept_id"], depts["name"])}
    waiting = f[f["status"].isin(("objected", "fixed"))]
    queue = waiting.groupby(["dept_id", "status"]).size().reset_index(name="n")
    queue_lines = [f"- {names.get(d, d)}：{FINDING_STATUSES[s]} {n} 个"
                   for d, s, n in zip(queue["dept_id"], queue["status"], queue["n"])]
    overdue = day.overdue().groupby("dept_id").size().sort_values(ascending=False)
    overdue_lines = [f"- {names.get(str(d), str(d))}：{n} 个" for d, n in overdue.items()]
    body = [f"# 信用办 双公示每日摘要（{day.today:%Y-%m-%d}）", "", day.scope(), "",
            *_section("问题总数（按状态）", totals, "本期无问题"),
            *_section("待审核（异议、待复核的整改）", queue_lines, "无待审核事项"),
            *_section("逾期未整改（按部门）", overdue_lines, "无逾期"), ""]
    n_objected = int((f["status"] == "objected").sum())
    subject = (f"【双公示每日摘要】信用办 {day.today:%Y-%m-%d}：异议待审 {n_objected} 个，"
               f"逾期未整改 {int(overdue.sum())} 个")
    return Digest(CREDIT_OFFICE, "信用办", mask_text(subject), mask_text("\n".join(body)) + "\n",
                  {"findings": len(f), "objected": n_objected, "overdue": int(overdue.sum())})


@dataclass
class DayDigests:
    """A day's digests and the newest correction step they report (``mark_listed`` keeps it)."""

    digests: list[Digest]
    last_step: int


def build_digests(con: duckdb.DuckDBPyConnection, paths: Paths, today: date, periods: list[str], *,
                  calendar: Calendar | None = None) -> DayDigests:
    """Every department's digest and the credit office's, from the published snapshot ``con`` (nothing is
    written; ``mark_listed`` records what they listed once they were written)."""
    calendar = calendar or default_calendar()
    with closing(_state(paths)) as state:  # since the last earlier day's digests: a rerun today repeats today's
        listed = {r[0] for r in state.execute("SELECT finding_id FROM listed WHERE day < ?", (today.isoformat(),))}
        since = state.execute("SELECT last_step FROM marks WHERE day < ? ORDER BY day DESC LIMIT 1",
                              (today.isoformat(),)).fetchone()
    last_step = corrections.version(paths)
    steps = corrections.steps(paths, since_id=int(since[0]) if since else 0)
    steps = steps[steps["id"] <= last_step]
    day = _Day(today, _findings(con, paths, periods), _deadlines(con, periods),
               calendar.add_workdays(today, SOON_WORKDAYS), {r.id: r.name for r in all_rules()}, steps, listed,
               list(periods))
    depts = con.execute("SELECT dept_id, name FROM departments ORDER BY dept_id").df()
    digests = [*(_department(day, d, n) for d, n in zip(depts["dept_id"], depts["name"])), _credit_office(day, depts)]
    return DayDigests(digests, last_step)


def write_digests(paths: Paths, today: date, digests: list[Digest]) -> Path:
    """Write the day's digests (``<dept_id>.md``, ``credit-office.md``) under ``digests/<date>/``; each file is
    written under a temporary name first, so a reader never sees half a digest."""
    folder = digest_dir(paths, today)
    folder.mkdir(parents=True, exist_ok=True)
    for d in digests:
        target = folder / f"{d.dept_id}.md"
        tmp = target.with_suffix(".md.tmp")
        tmp.write_text(f"主题：{d.subject}\n\n{d.body}", encoding="utf-8")
        tmp.replace(target)
    return folder


def mark_listed(con: duckdb.DuckDBPyConnection, paths: Paths, today: date, periods: list[str],
                last_step: int) -> None:
    """Remember the findings today's digests listed and the last step they reported: the next day's digests
    list what came after."""
    ids = con.execute("SELECT finding_id FROM findings WHERE period IN (SELECT unnest($p))", {"p": periods}).fetchall()
    with closing(_state(paths)) as state, state:
        state.executemany("INSERT OR IGNORE INTO listed VALUES (?, ?)", [(i[0], today.isoformat()) for i in ids])
        state.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (today.isoformat(), last_step))

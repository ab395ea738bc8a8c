"""Everything the documents of one scored period say, read once from a published snapshot.

The figures come from the same functions the dashboard calls (``metrics.results`` for the headline, rankings
and problem counts, ``metrics.explain`` for each department's deductions and findings), so a number in a
document is the number on the screen. Nothing here masks: the writers pass every string through
``core.privacy`` as they write it (one place per format, so nothing can skip it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from core.settings import Paths
from metrics import results, versions
from metrics.explain import ExplainError, explain, explain_period
from metrics.checks._sql import decided_in
from core.periods import Period, PeriodError, parse_period
from core.errors import SgsError


class ReportError(SgsError, ValueError):
    """The documents cannot be written (unknown, unscored or empty period, unwritable folder); in Chinese."""


@dataclass
class PeriodData:
    """One period's results as the documents print them; ``scope`` set → one department's share only."""

    period: Period
    scheme_version: str
    computed_at: datetime  # when the period was scored
    cutoff: datetime  # the data cut-off: the newest archived fetch at scoring time (else computed_at)
    headline: dict[str, Any]
    ranking: pd.DataFrame  # metrics.results.department_ranking (with standing, standing_name, n_unverified)
    counties: pd.DataFrame  # metrics.results.county_ranking
    problems: pd.DataFrame  # metrics.results.problem_counts
    explained: dict[str, dict[str, Any]]  # dept_id → metrics.explain result, in rank order
    departments: dict[str, dict[str, Any]]  # dept_id → name, county, liaison, liaison_phone
    fetched: dict[str, datetime]  # fetch_id → fetched_at of the findings' evidence
    n_ranked: int  # departments ranked in the period (the "of N" of a rank)
    n_in_county: dict[str, int] = field(default_factory=dict)  # ranked departments per county
    scope: str | None = None
    unverified: pd.DataFrame = field(default_factory=pd.DataFrame)  # metrics.results.unverified: 未能核验 rows
    # metrics.versions.version_info: the issued version these documents are (draft False), or for live results
    # of a period issued before its latest version (draft True); None for a period never issued
    version: dict[str, Any] | None = None
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # version 2+: metrics.versions.version_changes
    overdue: dict[str, int] = field(default_factory=dict)  # dept_id → 逾期未整改 (metrics.versions.overdue)
    overdue_on: date | None = None  # the day the overdue counts are of

    @property
    def version_label(self) -> str:
        """"版本 1（2026-12-05 签发）" (or the draft's words; "" for a period never issued)."""
        return versions.version_label(self.version)

    @property
    def frozen(self) -> bool:
        """Whether these are an issued version's documents (dates and deadline are the version's)."""
        return self.version is not None and not self.version["draft"]

    def waived_of(self, dept_id: str) -> list[dict[str, Any]]:
        """A department's waived findings (豁免: they deduct nothing), each with reason and who decided."""
        return list((self.explained.get(dept_id) or {}).get("waived") or [])

    def changes_of(self, dept_id: str | None) -> list[dict[str, Any]]:
        """The version's changes (one department's when given)."""
        if self.changes.empty:
            return []
        rows = self.changes if dept_id is None else self.changes[self.changes["dept_id"] == dept_id]
        return results.df_records(rows)

    @property
    def title_period(self) -> str:
        """2026年第三季度 / 2026年7月, as the documents name the period."""
        p = self.period
        if p.is_quarter:
            return f"{p.start.year}年第{'一二三四'[(p.start.month - 1) // 3]}季度"
        return f"{p.start.year}年{p.start.month}月"

    def findings_of(self, dept_id: str) -> list[dict[str, Any]]:
        """A department's findings, each with its rule and indicator names, in the order of its deductions."""
        e = self.explained.get(dept_id)
        if e is None:
            return []
        return [{**f, "rule_id": d["rule_id"], "rule_name": d["rule_name"], "indicator_name": d["indicator_name"],
                 "fetched_at": self.fetched.get(f["fetch_id"])}
                for d in e["deductions"] for f in d["findings"]]


    def unverified_of(self, dept_id: str) -> list[dict[str, Any]]:
        """A department's 未能核验 rows (record ones by 文书号, a department-level one first)."""
        if self.unverified.empty:
            return []
        return results.df_records(self.unverified[self.unverified["dept_id"] == dept_id])


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> Any:
    return con.execute(sql, params).fetchall()[0][0]


def _records_in(con: duckdb.DuckDBPyConnection, p: Period) -> int:
    """Records on departments' own sites decided in the period (what scoring would assess)."""
    return sum(_one(con, f"SELECT count(*) FROM {k}_records r WHERE channel = 'site' AND {decided_in(k, p)}", [])
               for k in ("xk", "cf"))


def check_period(con: duckdb.DuckDBPyConnection, text: str) -> Period:
    """The period, if it was scored and assessed something; a ReportError saying what to do otherwise."""
    try:
        p = parse_period(text)
    except PeriodError as exc:
        raise ReportError(str(exc)) from None
    scored, assessed = con.execute("SELECT count(*), coalesce(sum(n_records), 0) FROM scores WHERE period = ?",
                                   [p.label]).fetchall()[0]
    if not scored:
        if _records_in(con, p) == 0:
            raise ReportError(f"评估期间 {p.label}（{p.start} 至 {p.end}）是空期间：没有决定日期在该期间的记录，"
                              "也没有评分，无法生成报告。请换一个期间。")
        raise ReportError(f"评估期间 {p.label} 还没有评分：请先运行 sgs score --period {p.label}，再生成报告。")
    if not assessed:
        raise ReportError(f"评估期间 {p.label} 没有纳入评估的记录（各部门评估记录数均为 0），无法生成报告。")
    return p


def load(con: duckdb.DuckDBPyConnection, text: str, scope: str | None = None, *, paths: Paths | None = None,
         today: date | None = None) -> PeriodData:
    """Read a scored period; with ``scope`` (a department id) only that department's rows and findings are
    read — the dashboard builds a department's notice from this, so the scope is enforced by the queries.
    ``con`` may be an issued version's file (``metrics.versions.open_version``): the documents are then that
    version's. ``paths`` locates the correction store (default: beside ``con``'s file); ``today`` is the day
    逾期未整改 is counted on (the report date; an issued version's own date for a version)."""
    p = check_period(con, text)
    info = versions.version_info(con, p.label)
    on = info["issued_on"] if info and not info["draft"] else today or date.today()
    overdue = versions.overdue(con, paths, p.label, on)
    version, computed_at = con.execute(
        "SELECT min(scheme_version), max(computed_at) FROM scores WHERE period = ?", [p.label]).fetchall()[0]
    cutoff = _one(con, "SELECT max(fetched_at) FROM fetches WHERE fetched_at <= ?", [computed_at]) or computed_at
    explained = results_explained(con, p.label, scope, paths)
    fetch_ids = sorted({f["fetch_id"] for e in explained.values() for d in e["deductions"] for f in d["findings"]
                        if f["fetch_id"]})
    fetched = dict(con.execute("SELECT fetch_id, fetched_at FROM fetches WHERE fetch_id IN "
                               "(SELECT unnest(?::VARCHAR[]))", [fetch_ids]).fetchall()) if fetch_ids else {}
    depts = con.execute("SELECT dept_id, name, county, liaison, liaison_phone FROM departments "
                        "WHERE ($scope IS NULL OR dept_id = $scope)", {"scope": scope}).df()
    counts = con.execute("SELECT county, count(*) FROM scores WHERE period = ? AND standing = 'ranked' "
                         "GROUP BY county", [p.label]).fetchall()
    return PeriodData(
        period=p, scheme_version=version, computed_at=computed_at, cutoff=cutoff,
        headline=results.headline(con, p.label, scope),
        ranking=results.department_ranking(con, p.label, scope),
        counties=results.county_ranking(con, p.label, scope),
        problems=results.problem_counts(con, p.label, scope),
        explained=explained,
        departments={r["dept_id"]: r for r in results.df_records(depts)},
        fetched=fetched,
        n_ranked=int(_one(con, "SELECT count(*) FROM scores WHERE period = ? AND standing = 'ranked'", [p.label])),
        n_in_county={c: int(n) for c, n in counts},
        scope=scope,
        unverified=results.unverified(con, p.label, scope),
        version=info,
        changes=versions.version_changes(con),
        overdue={d: n for d, n in overdue.items() if scope is None or d == scope},
        overdue_on=on,
    )


def results_explained(con: duckdb.DuckDBPyConnection, period: str, scope: str | None,
                      paths: Paths | None = None) -> dict[str, dict[str, Any]]:
    """Every department's explanation, or the one department's in scope (``metrics.explain``)."""
    if scope is None:
        return explain_period(con, period, paths)
    try:
        return {scope: explain(con, period, scope, paths)}
    except ExplainError:
        return {}


def deadline(report_date: date, workdays: int) -> date:
    """The remediation deadline: ``workdays`` official working days after the report date."""
    from core.workdays import default_calendar

    return default_calendar().add_workdays(report_date, workdays)

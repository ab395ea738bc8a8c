"""The 部门自查 page's queries: the departments the viewer may choose, a department's score and how it was made,
its findings by indicator and rule, and its 未能核验 rows (never deducted; the department checks them)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from dashboard.auth import Viewer
from dashboard.queries.findings import _counts, _decided, _lookup_records
from dashboard.queries.shared import (PAGE_SIZE, RULE_NAMES, _cached, _cursor, _frame, _in_scope, _name, _on, _records,
                                      _scoped, _shown_url, previous_period)
from metrics import results, versions
from core.privacy import mask_text


@_cached()
def departments(snapshot: str, viewer: Viewer) -> pd.DataFrame:
    """The departments the viewer may see (id, name, county), grouped by county."""
    return _frame(
        snapshot,
        f"""
        SELECT dept_id, name, county
        FROM departments
        WHERE {_in_scope()}
        ORDER BY county = '市本级' DESC, county, name, dept_id
        """,
        _scoped(viewer),
    )


@_cached()
def department_labels(snapshot: str, viewer: Viewer) -> dict[str, str]:
    """The department picker's options in the list's order, id → 名称（区县）: made once per snapshot and scope
    from the cached list, not rebuilt row by row on every rerun (5,000 departments on a province)."""
    depts = departments(snapshot, viewer)
    return {d: f"{n}（{c}）" for d, n, c in zip(depts["dept_id"], depts["name"], depts["county"])}


# Beyond this many departments (a province) 部门自查's picker asks for the 县区 first: one list of thousands is
# hard to choose from, and it went to the browser whole on every run of the page (5,000 names, 200 KiB).
PICKER_LIMIT = 300


@_cached()
def departments_by_county(snapshot: str, viewer: Viewer) -> dict[str, list[str]]:
    """县区 → its departments' ids, both in the list's order: the province's picker asks for the county first."""
    depts = departments(snapshot, viewer)
    grouped: dict[str, list[str]] = {}
    for dept_id, county in zip(depts["dept_id"], depts["county"]):
        grouped.setdefault(str(county), []).append(str(dept_id))
    return grouped


@_cached()
def department_score(snapshot: str, viewer: Viewer, period: str, dept_id: str) -> dict[str, Any] | None:
    """One department's score row (with ``standing`` and ``n_unverified``) and the sizes of the rankings it is
    placed in (ranked departments only); None outside the scope."""
    df = _frame(
        snapshot,
        f"""
        SELECT s.*, coalesce(d.name, s.dept_id) AS name,
               coalesce(s.prev_total, p.total) AS prev_total_shown, coalesce(s.prev_rank, p.rank) AS prev_rank_shown,
               (SELECT count(*) FROM scores WHERE period = $period AND standing = 'ranked') AS n_ranked,
               (SELECT count(*) FROM scores x WHERE x.period = $period AND x.county = s.county
                                               AND x.standing = 'ranked') AS n_in_county
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN scores p ON p.period = $prev AND p.dept_id = s.dept_id
        WHERE s.period = $period AND s.dept_id = $dept AND {_in_scope("s.dept_id")}
        """,
        _scoped(viewer, period=period, prev=previous_period(period), dept=dept_id),
    )
    rows = _records(df)
    return rows[0] if rows else None


@_cached()
def deductions(snapshot: str, viewer: Viewer, period: str, dept_id: str) -> pd.DataFrame:
    """How the department's score was made: one row per rule that cost points (``total = 100 − Σ points``)."""
    df = _frame(
        snapshot,
        f"""
        SELECT indicator, rule_id, n_findings, n_records, points, how
        FROM deductions
        WHERE period = $period AND dept_id = $dept AND {_in_scope()}
        ORDER BY points DESC, rule_id
        """,
        _scoped(viewer, period=period, dept=dept_id),
    )
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    return df


@_cached()
def finding_counts(snapshot: str, viewer: Viewer, period: str, dept_id: str | None) -> dict[str, int]:
    """Number of findings per indicator for a department (or all the viewer sees) and period (from the
    period's counts the lists use: no query of its own)."""
    counts = _counts(snapshot, viewer.scope, period, dept_id).groupby("indicator")["n"].sum()
    return {str(k): int(v) for k, v in counts.items()}


@_cached()
def rules_found(snapshot: str, viewer: Viewer, period: str, dept_id: str | None) -> list[str]:
    """The rule ids with findings in the period (the rule filter's options)."""
    return sorted(str(r) for r in _counts(snapshot, viewer.scope, period, dept_id)["rule_id"].unique())


# --- 未能核验: what the evidence could not decide (never deducted; the department checks it) --------

@_cached()
def unverified_total(snapshot: str, viewer: Viewer, period: str, dept_id: str | None = None) -> int:
    """How many 未能核验 rows the department (or all the viewer sees) has in the period."""
    return _on(snapshot, results.unverified_total, period, viewer.scope, dept_id)


@_cached()
def unverified(snapshot: str, viewer: Viewer, period: str, dept_id: str | None = None,
               limit: int | None = PAGE_SIZE, offset: int = 0, mask_names: bool = False) -> pd.DataFrame:
    """One page of the 未能核验 rows (``metrics.results.unverified``, limited to the viewer's scope in SQL),
    each with its record's 相对人名称 and 决定日期, masked like the findings."""
    with _cursor(snapshot) as con:
        df = results.unverified(con, period, viewer.scope, dept_id, limit, offset)
        records = _lookup_records(con, df).rename(columns={"wsh": "rec_wsh"})
    df = df.merge(records, how="left", on=["kind", "record_key"])
    df["n"] = range(offset + 1, offset + len(df) + 1)
    for col in ("wsh", "what", "reason", "jdrq"):
        df[col] = df[col].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url"] = df["url"].map(_shown_url)
    return df.drop(columns=["rec_url"])  # the record's own URL, unmasked, is not shown here


# --- the correction loop: where the department's findings stand, and by when ------------------------

@_cached()
def status_counts(snapshot: str, viewer: Viewer, period: str, dept_id: str | None, wb_version: int = 0) -> dict[str, int]:
    """How many of the period's findings are in each current status (the store's latest step, else the
    snapshot's), for a department (or all the viewer sees): the period's counts by the snapshot's status,
    the decided findings moved to their current one."""
    counts = _counts(snapshot, viewer.scope, period, dept_id).groupby("status")["n"].sum()
    decided = _decided(snapshot, viewer.scope, period, dept_id, wb_version)
    now = (counts.sub(decided.groupby("status").size(), fill_value=0)
           .add(decided.groupby("current").size(), fill_value=0))
    return {str(k): int(v) for k, v in now.items() if v > 0}


@_cached()
def deadline(snapshot: str, period: str) -> date | None:
    """The period's remediation deadline (``metrics.versions.deadline``), None before it was first issued
    (or in a snapshot written before issued versions existed)."""
    try:
        return _on(snapshot, versions.deadline, period)
    except duckdb.CatalogException:
        return None


def workdays_left(until: date, today: date) -> int | None:
    """Working days after today up to and including ``until`` (0 when past), None when the calendar does
    not know a year in between."""
    from core.workdays import CalendarError, default_calendar

    calendar = default_calendar()
    try:
        return sum(calendar.is_workday(today + timedelta(days=i)) for i in range(1, (until - today).days + 1))
    except CalendarError:
        return None

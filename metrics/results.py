"""A scored period as people read it: headline figures, department and county rankings with the change since
the period before, and the problems counted per rule.

One place for these queries so the dashboard (``dashboard.queries``, which adds its caching, the viewer and the
workbench's decisions) and the documents (``reports``) show the same numbers. Each function takes an open
connection (a published snapshot) and an optional ``scope``: a department id that limits the answer to that
department (the dashboard passes the viewer's scope; ``None`` is everything).
"""
from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from metrics.checks import INDICATORS, all_rules
from metrics.periods import PeriodError, parse_period

RULE_NAMES: dict[str, str] = {r.id: r.name for r in all_rules()}
# each grade's colour in every chart, on the dashboard and in the report (the scheme's grade names)
GRADE_COLORS: dict[str, str] = {"优秀": "#2e7d32", "良好": "#1976d2", "合格": "#f9a825", "不合格": "#c62828"}


def previous_period(period: str) -> str | None:
    """The period before, of the same granularity (month → month, quarter → quarter)."""
    try:
        return parse_period(period).previous().label
    except PeriodError:
        return None


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas.NA (a value a page shows as a dash)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def headline(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None,
             decisions: pd.DataFrame | None = None) -> dict[str, Any]:
    """City-wide figures for a period and the period before (keys ``prev_*``), within ``scope``.

    The rates are the shares of assessed records with no finding of the indicator, i.e. the department
    sub-scores weighted by their record counts (a plain mean would let a department with three records weigh
    as much as one with three thousand). ``n_open`` counts findings still open: by the workbench's latest
    decision when ``decisions`` (finding_id, status) is given, else by the findings' own status.
    """
    if decisions is None:
        decisions = pd.DataFrame({"finding_id": pd.Series(dtype="string"), "status": pd.Series(dtype="string")})
    con.register("_decisions", decisions)
    rates = ",\n".join(
        f"sum({i} * n_records) / nullif(sum(n_records) FILTER (WHERE {i} IS NOT NULL), 0) AS {i}" for i in INDICATORS)
    prev = previous_period(period) or period
    try:
        rows = con.execute(
            f"""
            WITH s AS (
                SELECT period, count(*) AS n_departments, CAST(coalesce(sum(n_records), 0) AS BIGINT) AS n_records,
                       avg(total) AS avg_total, {rates}
                FROM scores
                WHERE period IN ($period, $prev) AND ($scope IS NULL OR dept_id = $scope)
                GROUP BY period),
            f AS (
                SELECT f.period, count(*) AS n_findings,
                       count(*) FILTER (WHERE coalesce(d.status, f.status) = 'open') AS n_open
                FROM findings f LEFT JOIN _decisions d USING (finding_id)
                WHERE f.period IN ($period, $prev) AND ($scope IS NULL OR f.dept_id = $scope)
                GROUP BY f.period)
            SELECT p.period, s.* EXCLUDE (period), coalesce(f.n_findings, 0) AS n_findings,
                   coalesce(f.n_open, 0) AS n_open
            FROM (SELECT unnest([$period, $prev]) AS period) p
            LEFT JOIN s USING (period) LEFT JOIN f USING (period)
            """,
            {"period": period, "prev": prev, "scope": scope}).df()
    finally:
        con.unregister("_decisions")
    by_period = {r["period"]: r for r in df_records(rows)}
    now = dict(by_period.get(period) or {})
    before = by_period.get(previous_period(period)) or {}
    now.update({f"prev_{k}": v for k, v in before.items() if k != "period"})
    return now


def df_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with pandas' missing markers turned into None."""
    return [{k: (None if is_missing(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def department_ranking(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None) -> pd.DataFrame:
    """Departments' scores in rank order with the change since the period before.

    ``prev_total``/``prev_rank`` come from the scoring run when it wrote them, else from the previous
    period's row in the same database.
    """
    return con.execute(
        """
        SELECT s.rank, s.dept_id, coalesce(d.name, s.dept_id) AS name, s.county, s.n_records,
               s.timeliness, s.completeness, s.accuracy, s.compliance, s.total, s.grade, s.county_rank,
               coalesce(s.prev_total, p.total) AS prev_total, coalesce(s.prev_rank, p.rank) AS prev_rank,
               s.total - coalesce(s.prev_total, p.total) AS change
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN scores p ON p.period = $prev AND p.dept_id = s.dept_id
        WHERE s.period = $period AND ($scope IS NULL OR s.dept_id = $scope)
        ORDER BY s.rank NULLS LAST, s.total DESC NULLS LAST, s.dept_id
        """,
        {"period": period, "prev": previous_period(period), "scope": scope}).df()


def county_ranking(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None) -> pd.DataFrame:
    """Counties' (and 市本级's) scores in rank order with their change; with a scope, its county only."""
    return con.execute(
        """
        SELECT c.rank, c.county, c.n_departments, c.n_records, c.timeliness, c.completeness, c.accuracy,
               c.compliance, c.total, c.grade,
               coalesce(c.prev_total, p.total) AS prev_total, coalesce(c.prev_rank, p.rank) AS prev_rank,
               c.total - coalesce(c.prev_total, p.total) AS change
        FROM county_scores c
        LEFT JOIN county_scores p ON p.period = $prev AND p.county = c.county
        WHERE c.period = $period
          AND ($scope IS NULL OR c.county IN (SELECT county FROM departments WHERE dept_id = $scope))
        ORDER BY c.rank NULLS LAST, c.total DESC NULLS LAST, c.county
        """,
        {"period": period, "prev": previous_period(period), "scope": scope}).df()


def problem_counts(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None) -> pd.DataFrame:
    """Findings per rule for the period, most frequent first: the worst problems and the indicator breakdown."""
    df = con.execute(
        """
        SELECT f.indicator, f.rule_id, count(*) AS n_findings, count(DISTINCT f.dept_id) AS n_departments
        FROM findings f
        WHERE f.period = $period AND ($scope IS NULL OR f.dept_id = $scope)
        GROUP BY ALL
        ORDER BY n_findings DESC, f.rule_id
        """,
        {"period": period, "scope": scope}).df()
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    df["indicator_name"] = df["indicator"].map(lambda i: INDICATORS.get(i, i))
    return df

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

from core.vocab import INDICATORS, RANKED, STANDINGS
from metrics.checks import all_rules
from core.periods import PeriodError, parse_period

# what a person reads for each standing that is not ranked: one plain sentence (dashboard, report, notice)
STANDING_NOTES: dict[str, str] = {
    "no_records": "本期没有决定日期在评估期间内的公示记录，也没有部门层面的问题，没有可评估的内容，因此不排名、不评等级。",
    "insufficient_evidence": "本期评估记录中，无法核验是否按时公示的记录所占比例超过评分方案规定的上限{share}，"
                             "得分不能与其他部门相比，因此不排名、不评等级。",
}
# 未能核验: what could not be checked, per rule (a question, not an accusation)
UNVERIFIED_WHAT: dict[str, str] = {
    "late_publication": "是否按时在本部门网站公示",
    "portal_late": "是否按时在信用网站公示",
    "column_stale": "专栏是否按时更新",
}
UNVERIFIED_NOTE = ("“未能核验”指现有采集存档既不能证明该记录按时公示，也不能证明其逾期公示（例如网站未标明公示日期、"
                   "首次采集时已过公示期限而此前没有该栏目的完整采集）。未能核验的记录不扣分，单独列出，请部门核实。")

RULE_NAMES: dict[str, str] = {r.id: r.name for r in all_rules()}


def standing_name(standing: Any) -> str:
    """A standing's Chinese name (an unknown one as it is; missing → ranked, as before schema 006)."""
    return STANDINGS.get(standing or RANKED, str(standing))


def standing_note(standing: Any, max_share: float | None = None) -> str:
    """The plain sentence that says why a department is not ranked ("" for a ranked one); ``max_share`` is
    the scheme's ``[ranking] max_unverified_share``, printed when known."""
    note = STANDING_NOTES.get(standing or RANKED, "")
    return note.format(share="" if max_share is None else f"（{max_share:.0%}）")


def unverified_what(rule_id: str) -> str:
    """What a 未能核验 row could not check, in words a clerk understands."""
    return UNVERIFIED_WHAT.get(rule_id, f"是否存在“{RULE_NAMES.get(rule_id, rule_id)}”问题")


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

    ``n_departments`` and ``n_records`` count every scored department and its assessed records;
    ``n_ranked``, ``n_no_records`` and ``n_insufficient`` split the departments by standing, and
    ``n_unverified`` counts the assessed records whose timeliness could not be verified. The mean total and
    the rates are over ranked departments only, like the county scores: an unranked department's score is
    not comparable. The rates are the shares of assessed records with no finding of the indicator, i.e. the
    department sub-scores weighted by their record counts (a plain mean would let a department with three
    records weigh as much as one with three thousand). ``n_open`` counts findings still open: by the
    workbench's latest decision when ``decisions`` (finding_id, status) is given, else by the findings' own
    status. ``n_findings`` leaves out the waived findings (they deduct nothing); ``n_waived`` counts them.
    """
    if decisions is None:
        decisions = pd.DataFrame({"finding_id": pd.Series(dtype="string"), "status": pd.Series(dtype="string")})
    con.register("_decisions", decisions)
    ranked = "standing = 'ranked'"
    rates = ",\n".join(
        f"sum({i} * n_records) FILTER (WHERE {ranked}) / nullif(sum(n_records) FILTER (WHERE {i} IS NOT NULL "
        f"AND {ranked}), 0) AS {i}" for i in INDICATORS)
    prev = previous_period(period) or period
    try:
        rows = con.execute(
            f"""
            WITH s AS (
                SELECT period, count(*) AS n_departments, CAST(coalesce(sum(n_records), 0) AS BIGINT) AS n_records,
                       avg(total) FILTER (WHERE {ranked}) AS avg_total, {rates},
                       count(*) FILTER (WHERE {ranked}) AS n_ranked,
                       count(*) FILTER (WHERE standing = 'no_records') AS n_no_records,
                       count(*) FILTER (WHERE standing = 'insufficient_evidence') AS n_insufficient,
                       CAST(coalesce(sum(n_unverified), 0) AS BIGINT) AS n_unverified
                FROM scores
                WHERE period IN ($period, $prev) AND ($scope IS NULL OR dept_id = $scope)
                GROUP BY period),
            f AS (
                SELECT f.period, count(*) FILTER (WHERE f.status <> 'waived') AS n_findings,
                       count(*) FILTER (WHERE f.status = 'waived') AS n_waived,
                       count(*) FILTER (WHERE coalesce(d.status, f.status) = 'open') AS n_open
                FROM findings f LEFT JOIN _decisions d USING (finding_id)
                WHERE f.period IN ($period, $prev) AND ($scope IS NULL OR f.dept_id = $scope)
                GROUP BY f.period)
            SELECT p.period, s.* EXCLUDE (period), coalesce(f.n_findings, 0) AS n_findings,
                   coalesce(f.n_waived, 0) AS n_waived, coalesce(f.n_open, 0) AS n_open
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
    return [{str(k): (None if is_missing(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def department_ranking(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None) -> pd.DataFrame:
    """Departments' scores in rank order with the change since the period before, then the departments not
    ranked (证据不足 first, then 本期无公示记录; each by county and name, not by score).

    ``standing`` and ``standing_name`` say whether and why not a department is ranked; ``n_unverified`` its
    assessed records whose timeliness could not be verified. ``prev_total``/``prev_rank`` come from the
    scoring run when it wrote them, else from the previous period's row in the same database.
    """
    df = con.execute(
        """
        SELECT s.rank, s.dept_id, coalesce(d.name, s.dept_id) AS name, s.county, s.n_records,
               coalesce(s.n_unverified, 0) AS n_unverified, coalesce(s.standing, 'ranked') AS standing,
               s.timeliness, s.completeness, s.accuracy, s.compliance, s.total, s.grade, s.county_rank,
               coalesce(s.prev_total, p.total) AS prev_total, coalesce(s.prev_rank, p.rank) AS prev_rank,
               s.total - coalesce(s.prev_total, p.total) AS change
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN scores p ON p.period = $prev AND p.dept_id = s.dept_id
        WHERE s.period = $period AND ($scope IS NULL OR s.dept_id = $scope)
        ORDER BY s.rank IS NULL, CASE s.standing WHEN 'insufficient_evidence' THEN 1 WHEN 'no_records' THEN 2
                 ELSE 3 END, s.rank, s.total DESC NULLS LAST, CASE WHEN s.rank IS NOT NULL THEN s.dept_id END,
                 s.county = '市本级' DESC, s.county, name, s.dept_id
        """,
        {"period": period, "prev": previous_period(period), "scope": scope}).df()
    df["standing_name"] = df["standing"].map(standing_name)
    return df


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
    """Findings per rule for the period, most frequent first: the worst problems and the indicator breakdown.
    Waived findings (豁免: they deduct nothing) are not counted here; ``waived_total`` counts them."""
    df = con.execute(
        """
        SELECT f.indicator, f.rule_id, count(*) AS n_findings, count(DISTINCT f.dept_id) AS n_departments
        FROM findings f
        WHERE f.period = $period AND ($scope IS NULL OR f.dept_id = $scope) AND f.status <> 'waived'
        GROUP BY ALL
        ORDER BY n_findings DESC, f.rule_id
        """,
        {"period": period, "scope": scope}).df()
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    df["indicator_name"] = df["indicator"].map(lambda i: INDICATORS.get(i, i))
    return df


def waived_total(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None) -> int:
    """How many of the period's findings were waived (豁免 or an objection accepted), within ``scope``."""
    return int(con.execute("SELECT count(*) FROM findings WHERE period = $period AND status = 'waived' "
                           "AND ($scope IS NULL OR dept_id = $scope)", {"period": period, "scope": scope}).fetchall()[0][0])


def unverified(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None,
               dept_id: str | None = None, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """What the evidence could not decide (未能核验) in the period, by department, kind and 文书号: one row
    per record (``record_key`` NULL: the department as a whole) and rule, with the reason in Chinese, what
    could not be checked (``what``), the page and the archived response (``fetch_id``, ``fetched_at``).
    Not masked: each reader masks as it shows or writes (``dashboard.queries``, ``reports``)."""
    df = con.execute(
        """
        SELECT u.dept_id, coalesce(d.name, u.dept_id) AS dept_name, u.kind, u.record_key, u.channel, u.rule_id,
               u.wsh, u.reason, u.url, u.fetch_id, fe.fetched_at
        FROM unverified u
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN fetches fe ON fe.fetch_id = u.fetch_id
        WHERE u.period = $period AND ($scope IS NULL OR u.dept_id = $scope) AND ($dept IS NULL OR u.dept_id = $dept)
        ORDER BY d.county = '市本级' DESC, d.county, dept_name, u.dept_id, u.kind DESC, u.wsh NULLS FIRST,
                 u.rule_id, u.record_key
        LIMIT $limit OFFSET $offset
        """,
        {"period": period, "scope": scope, "dept": dept_id, "limit": limit, "offset": offset}).df()
    df["what"] = df["rule_id"].map(unverified_what)
    return df


def unverified_total(con: duckdb.DuckDBPyConnection, period: str, scope: str | None = None,
                     dept_id: str | None = None) -> int:
    """How many 未能核验 rows ``unverified`` would return (for a pager)."""
    return int(con.execute(
        "SELECT count(*) FROM unverified WHERE period = $period AND ($scope IS NULL OR dept_id = $scope) "
        "AND ($dept IS NULL OR dept_id = $dept)", {"period": period, "scope": scope, "dept": dept_id}).fetchall()[0][0])


def monthly_trend(con: duckdb.DuckDBPyConnection, scope: str | None = None) -> pd.DataFrame:
    """Mean total by month, city-wide (county ``全市``) and per county, oldest month first (the 总览 trend chart
    and the 简报's reading of it)."""
    df = con.execute(
        """SELECT period, coalesce(county, '全市') AS county, avg(total) AS total
           FROM scores
           WHERE regexp_full_match(period, '\\d{4}-\\d{2}') AND ($scope IS NULL OR dept_id = $scope)
           GROUP BY GROUPING SETS ((period), (period, county))
           ORDER BY period, county""", {"scope": scope}).df()
    return df


def finding_numbers(period: str = "$period") -> str:
    """A relation (finding_id, seq): each finding's number within its department and period — the same 序号
    on the dashboard, in the Excel list, the notice and the workbook. The order is the notice's: findings that
    deduct first (waived ones last), by indicator in the scheme's order, the rule costing most points first,
    then by rule, 文书号 (department-level findings first), field and id. Stable until the period is rescored."""
    indicator = "CASE f.indicator " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(INDICATORS)) + " ELSE 99 END"
    return f"""(SELECT f.finding_id, row_number() OVER (
                    PARTITION BY f.period, f.dept_id
                    ORDER BY f.status = 'waived', {indicator}, coalesce(p.points, 0) DESC, f.rule_id,
                             f.wsh NULLS FIRST, f.field NULLS FIRST, f.finding_id) AS seq
                FROM findings f LEFT JOIN deductions p
                     ON p.period = f.period AND p.dept_id = f.dept_id AND p.rule_id = f.rule_id
                WHERE f.period = {period})"""

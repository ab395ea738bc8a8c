"""Scores a period: runs every rule, writes findings, deductions, department and county scores, grades, ranks.

Everything is set-based SQL in DuckDB, in one transaction per period: the period's findings are replaced
in place (written once, not staged and copied — millions of rows at a province's scale), deductions and
scores are staged in temporary tables from them and then replace the period's rows. A failing rule, a bad
scheme or an unknown calendar year rolls everything back, so a rerun never duplicates and an error never
leaves a half-scored period.

The model (docs/scoring.md): every department in ``departments`` starts at 100 and loses points. A
department's assessed records are its records on its own site whose decision date (``*_JDRQ``; the first-seen
day when that is not a date) falls in the period. Each rule deducts by the scheme — ``rate``: points × the
share of assessed records with a finding of the rule; ``fixed``: points per such record; plus ``dept_points``
per department-level finding (record_key NULL) — capped per rule, rounded to 2 decimals, and then capped per
indicator at its weight (the rule taking most first). The total is 100 − Σ points exactly; an indicator's
sub-score is 100 × (weight − its points) / weight. Grades come from the scheme; ranks are by total, ties
sharing a rank; a county's scores are the means of its departments'. ``prev_total``/``prev_rank`` come from the
previous period of the same granularity.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core import codes, standard, vocab
from core.errors import SgsError
from core.periods import Period, parse_period
from core.vocab import INDICATORS
from core.workdays import Calendar, default_calendar
from metrics import catalogue, corrections
from metrics.budget import kind_tables, scoring_settings
from metrics.checks import Check, Context, Rule, all_checks, all_rules
from metrics.checks._fold import Test, folded_sql
from metrics.checks._sql import as_date, decided_in, lit, register_macros as register_mask_macros, stated_date
from metrics.scheme import HOWS, Scheme, SchemeError, load_scheme, scheme_path as scheme_path_for

__all__ = ["SchemeError", "ScoringError", "Scheme", "load_scheme", "score_period", "department_scores"]

FINDING_COLUMNS = ("finding_id", "period", "dept_id", "kind", "record_key", "channel", "rule_id", "indicator",
                   "severity", "field", "value", "message", "url", "fetch_id", "status", "wsh", "subject", "ref_fetch_id")
SCORE_KEYS = ("period", "dept_id", "name", "county", "n_records", *INDICATORS, "total", "grade", "rank",
              "county_rank", "prev_total", "prev_rank", "scheme_version", "n_unverified", "standing")
DEDUCTION_COLUMNS = ("period", "dept_id", "indicator", "rule_id", "n_findings", "n_records", "points", "how",
                     "scheme_version")


class ScoringError(SgsError, RuntimeError):
    """The period cannot be scored (explained in Chinese for the person running the command)."""


# --- staging -------------------------------------------------------------------------------------

def assessed_table(kind: str) -> str:
    return f"assessed_{kind}"


def helper_columns(kind: str, alias: str) -> str:
    """The helper columns every rule may use (Context's docstring): ``_jdrq``, ``_fbrq``, ``_stated``, ``_seen``."""
    jdrq = standard.load(kind).prefixed("JDRQ")
    return (f"{as_date(f'{alias}.{jdrq}')} AS _jdrq, {as_date(f'{alias}.FBRQ')} AS _fbrq, "
            f"{stated_date(alias)} AS _stated, CAST({alias}.first_seen AS DATE) AS _seen")


def stage_assessed(con: duckdb.DuckDBPyConnection, period: Period, records: str = "{kind}_records",
                   count: bool = True) -> int:
    """Define ``assessed_<kind>``: the period's site records of known departments, with helper columns.

    ``_jdrq``/``_fbrq`` are the decision and stated publication dates as DATE (NULL when not a date);
    ``_stated`` is the stated date when credible (not after the day sgs first saw the record), ``_seen``
    that first-seen day: the evidence the timeliness rules judge by. Returns the number of records.

    A temporary *view* over the one record table, not a copy: a province's records do not fit in memory
    twice, and each rule then reads only the compressed columns it needs (docs/bench-score.md). Records of
    departments no longer configured are dropped where findings meet their evidence (``stage_findings``).
    ``records`` names another record relation per kind (metrics.incremental: the changed departments' part).
    """
    total = 0
    for kind in vocab.KINDS:
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {assessed_table(kind)} AS
            SELECT r.*, {helper_columns(kind, 'r')}
            FROM {records.format(kind=kind)} r
            WHERE r.channel = 'site' AND {decided_in(kind, period, 'r')}""")
        total += 0 if not count else con.execute(f"SELECT count(*) FROM {assessed_table(kind)} "
                                                 "WHERE dept_id IN (SELECT dept_id FROM departments)").fetchall()[0][0]
    return total


def _record_rows(kind: str, rule: Rule, sql: str) -> str:
    """A rule's (record_key, field, value, message[, ref_fetch_id]) rows tagged with kind and rule."""
    return (f"SELECT {lit(kind)} AS kind, {lit(rule.id)} AS rule_id, "
            f"f.* REPLACE (CAST(f.value AS VARCHAR) AS value) FROM ({sql}) f")


# the shape every rule's record rows are unioned into (BY NAME: a rule without ``ref_fetch_id`` gets NULL)
_RECORD_SHAPE = ("SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS rule_id, NULL::VARCHAR AS record_key, "
                 "NULL::VARCHAR AS field, NULL::VARCHAR AS value, NULL::VARCHAR AS message, "
                 "NULL::VARCHAR AS ref_fetch_id WHERE false")


def _wrap_department(period: Period, kind: str, rule: Rule, sql: str) -> str:
    """A department-level rule's (dept_id, field, value, message, url, fetch_id) rows as findings rows."""
    return f"""SELECT {lit(period.label)} AS period, f.dept_id, {lit(kind)} AS kind, NULL::VARCHAR AS record_key,
       'site' AS channel, {lit(rule.id)} AS rule_id, {lit(rule.indicator)} AS indicator,
       {lit(rule.severity)} AS severity, f.field, CAST(f.value AS VARCHAR) AS value, f.message, f.url, f.fetch_id,
       'open' AS status, NULL::VARCHAR AS wsh, NULL::VARCHAR AS subject, NULL::VARCHAR AS ref_fetch_id
FROM ({sql}) f"""


# A finding's identity: the same problem found again in a rescoring gets the same id.
FINDING_ID_SQL = ("md5(concat_ws('|', period, dept_id, kind, rule_id, coalesce(record_key, ''), "
                  "coalesce(field, ''), coalesce(url, ''), coalesce(value, '')))")


def stage_findings(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, calendar: Calendar,
                   as_of: date, checks: tuple[Check, ...] | None = None, into: str = "findings") -> int:
    """Run the rules over the assessed records straight into ``findings``; returns the period's row count.

    Inside ``score_period``'s transaction, after the period's old findings were deleted: the rows written
    once, where they belong, not staged and copied (docs/bench-score.md); a failure rolls the period back.
    Per kind, the rules' record rows — the per-field tests of every rule folded into one scan of the records
    (``checks._fold``) — are unioned and joined to their records' evidence (department, page URL, fetch id,
    文书号, name) once, in one INSERT per kind (one for both held both kinds' evidence in memory at once and
    spilled), then the kind's department rows; its rule tables are dropped before the next kind
    (``metrics.budget``). ``into``: another findings-shaped table (metrics.incremental). Raises CalendarError."""
    codes.register_macros(con)
    register_mask_macros(con)
    checks = checks if checks is not None else all_checks()
    for kind in vocab.KINDS:
        with kind_tables(con):  # the kind's rule tables dropped once its findings are written (metrics.budget)
            _stage_kind(con, period, kind, scheme, calendar, as_of, checks, into)
    return int(con.execute(f"SELECT count(*) FROM {into} WHERE period = $period",
                           {"period": period.label}).fetchall()[0][0])


def _stage_kind(con: duckdb.DuckDBPyConnection, period: Period, kind: str, scheme: Scheme, calendar: Calendar,
                as_of: date, checks: tuple[Check, ...], into: str) -> None:
    """One kind's findings (``stage_findings``): its record rows in one INSERT, then its department rows."""
    rules = ", ".join(f"({lit(c.rule.id)}, {lit(c.rule.indicator)}, {lit(c.rule.severity)})" for c in checks)
    ctx = Context(kind, assessed_table(kind), as_of, scheme.max_workdays, calendar, period, scheme.rule_params)
    record_rows, tests, department_rows = [], [], []  # type: list[str], list[tuple[str, Test]], list[str]
    for check in checks:
        if check.prepare:
            check.prepare(con, ctx)
        if check.record_tests and check.findings_sql:  # folded into one scan below (checks._fold)
            tests += [(check.rule.id, t) for t in check.record_tests(ctx)]
        elif check.findings_sql and (sql := check.findings_sql(ctx)):
            record_rows.append(_record_rows(kind, check.rule, sql))
        if check.department_sql and (dept_sql := check.department_sql(ctx)):
            department_rows.append(_wrap_department(period, kind, check.rule, dept_sql))
        stage_unverified(con, period, ctx, check)
    if folded := folded_sql(ctx.source, tests):
        record_rows.append(f"SELECT {lit(kind)} AS kind, * FROM ({folded})")
    if record_rows:
        _insert_findings(con, into, f"""
            SELECT {lit(period.label)} AS period, a.dept_id, f.kind, f.record_key, a.channel, f.rule_id,
                   m.indicator, m.severity, f.field, f.value, f.message, a.url, a.fetch_id, 'open' AS status,
                   a.{kind.upper()}_WSH AS wsh, a.{kind.upper()}_XDR_MC AS subject, f.ref_fetch_id
            FROM ({' UNION ALL BY NAME '.join([_RECORD_SHAPE, *record_rows])}) f
                 JOIN (SELECT * FROM {assessed_table(kind)} WHERE dept_id IN (SELECT dept_id FROM departments)) a
                      USING (record_key)
                 JOIN (VALUES {rules}) m(rule_id, indicator, severity) USING (rule_id)""")
    if department_rows:
        _insert_findings(con, into, " UNION ALL ".join(department_rows))


def stage_unverified(con: duckdb.DuckDBPyConnection, period: Period, ctx: Context, check: Check) -> None:
    """Write what the rule's evidence could not decide (未能核验) into ``unverified``: record rows joined
    to their records' department and evidence, department rows as they come. Never deducted."""
    values = {"period": period.label, "kind": ctx.kind, "rule": check.rule.id}
    if check.unverified_sql and (sql := check.unverified_sql(ctx)):
        wsh = ctx.std.prefixed("WSH")
        con.execute(f"""INSERT INTO unverified BY NAME
            SELECT $period AS period, a.dept_id, $kind AS kind, u.record_key, a.channel, $rule AS rule_id,
                   u.reason, a.url, a.fetch_id, a.{wsh} AS wsh
            FROM ({sql}) u JOIN {ctx.source} a USING (record_key)
            WHERE a.dept_id IN (SELECT dept_id FROM departments)""", values)
    if check.unverified_department_sql and (sql := check.unverified_department_sql(ctx)):
        con.execute(f"""INSERT INTO unverified BY NAME
            SELECT $period AS period, u.dept_id, $kind AS kind, 'site' AS channel, $rule AS rule_id,
                   u.reason, u.url, u.fetch_id FROM ({sql}) u WHERE u.dept_id IN (SELECT dept_id FROM departments)""",
                    values)


def _insert_findings(con: duckdb.DuckDBPyConnection, into: str, rows_sql: str) -> None:
    """Append findings rows (every column but the id, in FINDING_COLUMNS order) with their stable ids."""
    con.execute(f"INSERT INTO {into} ({', '.join(FINDING_COLUMNS)}) SELECT {FINDING_ID_SQL} AS finding_id, * "
                f"FROM ({rows_sql})")


# --- deductions and scores -------------------------------------------------------------------------

POINTS = "DECIMAL(18,2)"  # points are exact to the cent, so Σ points and 100 − Σ are exact too


def _rule_table(scheme: Scheme, checks: tuple[Check, ...]) -> str:
    """A VALUES relation of every rule's indicator and deduction under the scheme."""
    rows = []
    for check in checks:
        d, r = scheme.deduction(check.rule), check.rule
        rows.append(f"({lit(r.id)}, {lit(r.indicator)}, {lit(d.how)}, {d.points}::DOUBLE, {d.dept_points}::DOUBLE, "
                    f"{d.cap}::DOUBLE, {scheme.weights[r.indicator]}::{POINTS}, {lit(scheme.names[r.indicator])})")
    return (f"(VALUES {', '.join(rows)}) AS p(rule_id, indicator, how, points, dept_points, cap, weight, "
            f"indicator_name)")


def _how_sql() -> str:
    """The Chinese explanation of one deduction row, e.g. ``按比例：3/12 条记录 × 30 分 = 7.50 分``."""
    return f"""concat(
        CASE WHEN n_rec > 0 THEN CASE how
            WHEN 'rate' THEN printf('{HOWS["rate"]}：%d/%d 条记录 × %g 分', n_rec, n_records, points)
            ELSE printf('{HOWS["fixed"]}：%d 条记录 × %g 分', n_rec, points) END END,
        CASE WHEN n_rec > 0 AND n_dept > 0 THEN '；' END,
        CASE WHEN n_dept > 0 THEN printf('部门层面问题 %d 个 × %g 分', n_dept, dept_points) END,
        printf(' = %.2f 分', raw),
        CASE WHEN raw > cap THEN printf('，本项封顶 %g 分', cap) END,
        CASE WHEN points_after < rule_points
             THEN printf('，%s扣分已达权重 %g 分，本项计 %.2f 分', indicator_name, weight, points_after) END)"""


def stage_deductions(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme,
                     checks: tuple[Check, ...] | None = None, redo: str | None = None) -> None:
    """``_sgs_departments`` (every department with its assessed-record count) and ``_sgs_deductions``.

    Within a department and indicator the rules are applied largest first (ties by rule id), each taking at
    most what is left of the indicator's weight, so the rows add up exactly to what the indicator lost.
    ``redo`` (SELECT of dept_id, metrics.incremental): only their findings are read, the others' rows kept.
    """
    findings = "_sgs_findings" if redo is None else f"(SELECT * FROM _sgs_findings WHERE dept_id IN ({redo}))"
    records = " UNION ALL ".join(f"SELECT dept_id FROM {assessed_table(k)}" for k in vocab.KINDS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_departments AS
        SELECT d.dept_id, d.county, coalesce(n.n_records, 0)::INTEGER AS n_records
        FROM departments d LEFT JOIN (SELECT dept_id, count(*) AS n_records FROM ({records}) GROUP BY dept_id) n
             USING (dept_id)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_deductions AS
        WITH hits AS (  -- records with findings (distinct first: cheaper than count(DISTINCT (kind, key)))
            SELECT dept_id, rule_id, sum(n_rec)::BIGINT AS n_rec, sum(n_dept)::BIGINT AS n_dept FROM (
                SELECT dept_id, rule_id, count(*) AS n_rec, 0 AS n_dept
                FROM (SELECT DISTINCT dept_id, rule_id, kind, record_key FROM {findings}
                      WHERE record_key IS NOT NULL) GROUP BY ALL
                UNION ALL
                SELECT dept_id, rule_id, 0, count(*) FROM {findings} WHERE record_key IS NULL GROUP BY ALL)
            GROUP BY ALL),
        cents AS (  -- in whole cents, rounded half up in integer arithmetic, so no float ever decides a cent
            SELECT h.dept_id, h.rule_id, h.n_rec, h.n_dept, d.n_records, p.*,
                   CASE p.how WHEN 'rate'
                        THEN (round(p.points * 100)::BIGINT * h.n_rec * 2 + greatest(d.n_records, 1))
                             // (2 * greatest(d.n_records, 1))
                        ELSE round(p.points * 100)::BIGINT * h.n_rec END
                   + round(p.dept_points * 100)::BIGINT * h.n_dept AS raw_cents
            FROM hits h JOIN _sgs_departments d USING (dept_id)
                 JOIN {_rule_table(scheme, checks or all_checks())} USING (rule_id)),
        raw AS (SELECT *, raw_cents::DECIMAL(18,0) * 0.01::DECIMAL(3,2) AS raw FROM cents),
        capped AS (SELECT *, least(raw, round(cap * 100)::DECIMAL(18,0) * 0.01::DECIMAL(3,2))::{POINTS}
                             AS rule_points FROM raw),
        ordered AS (
            SELECT *, coalesce(sum(rule_points) OVER (
                       PARTITION BY dept_id, indicator ORDER BY rule_points DESC, rule_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS taken_before
            FROM capped),
        final AS (SELECT *, greatest(least(rule_points, weight - taken_before), 0)::{POINTS} AS points_after
                  FROM ordered)
        SELECT $period AS period, dept_id, indicator, rule_id, (n_rec + n_dept)::INTEGER AS n_findings,
               n_records, points_after AS points, {_how_sql()} AS how, $version AS scheme_version
        FROM final""", {"period": period.label, "version": scheme.version})
    if redo is not None:
        con.execute(f"INSERT INTO _sgs_deductions BY NAME SELECT {', '.join(DEDUCTION_COLUMNS)} FROM deductions "
                    f"WHERE period = $p AND dept_id NOT IN ({redo})", {"p": period.label})


def _standing_sql(scheme: Scheme) -> str:
    """SQL over ``lost``'s row ``l``: whether the department is ranked (docs/scoring.md, "Who is ranked").

    ``no_records``: nothing assessed and no department-level finding (a department whose portal records
    or ledger show decisions has its 专栏未设置或无公示 finding and is ranked with it), unless the scheme
    ranks such departments; ``insufficient_evidence``: more than the scheme's share of its assessed records
    could not have their timeliness verified."""
    has_findings = "l.dept_id IN (SELECT DISTINCT dept_id FROM _sgs_findings)"  # distinct: no hash of every finding
    empty = "false" if scheme.rank_without_records else f"l.n_records = 0 AND NOT {has_findings}"
    return (f"CASE WHEN {empty} THEN 'no_records' "
            f"WHEN l.n_records > 0 AND coalesce(u.n_unverified, 0) > {scheme.max_unverified_share} * l.n_records "
            f"THEN 'insufficient_evidence' ELSE 'ranked' END")


def mean_sql(c: str) -> str:
    """SQL: a mean of cent figures (≥ 0) rounded half up to the cent exactly (a float mean put 92.855 at 92.85)."""
    return f"CASE WHEN count({c}) > 0 THEN ((2 * sum(round({c} * 100)::BIGINT) + count({c})) // (2 * count({c}))) / 100 END"


def stage_scores(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, computed_at: datetime) -> None:
    """Department scores into ``_sgs_scores`` and county scores into ``_sgs_county_scores`` (from deductions)."""
    lost = ", ".join(f"coalesce(sum(x.points) FILTER (WHERE x.indicator = {lit(i)}), 0)::{POINTS} AS lost_{i}"
                     for i in INDICATORS)
    subs = ", ".join(f"CASE WHEN {w} > 0 THEN round(100 * ({w} - lost_{i}) / {w}, 2)::DOUBLE END AS {i}"
                     for i, w in scheme.weights.items())
    total = f"(100 - ({' + '.join(f'lost_{i}' for i in INDICATORS)}))::DOUBLE"
    prev = period.previous().label
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_scores AS
        WITH lost AS (
            SELECT d.dept_id, d.county, d.n_records, {lost}
            FROM _sgs_departments d LEFT JOIN _sgs_deductions x USING (dept_id)
            GROUP BY d.dept_id, d.county, d.n_records),
        totals AS (SELECT l.*, {total} AS total, coalesce(u.n_unverified, 0)::INTEGER AS n_unverified,
                          {_standing_sql(scheme)} AS standing
                   FROM lost l LEFT JOIN (SELECT dept_id, count(DISTINCT (kind, record_key)) AS n_unverified
                                          FROM unverified WHERE period = $period AND record_key IS NOT NULL
                                          GROUP BY dept_id) u USING (dept_id))
        SELECT $period AS period, t.dept_id, t.county, t.n_records, {subs}, t.total,
               CASE WHEN t.standing = 'ranked' THEN {scheme.grade_sql('t.total')} END AS grade,
               CASE WHEN t.standing = 'ranked' THEN RANK() OVER (PARTITION BY t.standing ORDER BY t.total DESC) END
                   AS rank,
               CASE WHEN t.standing = 'ranked'
                    THEN RANK() OVER (PARTITION BY t.standing, t.county ORDER BY t.total DESC) END AS county_rank,
               p.total AS prev_total, p.rank AS prev_rank, t.n_unverified, t.standing,
               $version AS scheme_version, $computed_at AS computed_at
        FROM totals t LEFT JOIN scores p ON p.period = $prev AND p.dept_id = t.dept_id""",
                {"period": period.label, "prev": prev, "version": scheme.version, "computed_at": computed_at})
    means = ", ".join(f"{mean_sql(f's.{i}')} AS {i}" for i in INDICATORS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_county_scores AS
        WITH c AS (
            SELECT s.period, s.county, count(*) AS n_departments, sum(s.n_records) AS n_records, {means},
                   {mean_sql('s.total')} AS total, s.scheme_version, s.computed_at
            FROM _sgs_scores s WHERE s.standing = 'ranked'
            GROUP BY s.period, s.county, s.scheme_version, s.computed_at)
        SELECT c.*, {scheme.grade_sql('c.total')} AS grade, RANK() OVER (ORDER BY c.total DESC) AS rank,
               p.total AS prev_total, p.rank AS prev_rank
        FROM c LEFT JOIN county_scores p ON p.period = $prev AND p.county = c.county""", {"prev": prev})


def _write(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """Replace the period's deductions and scores with the staged ones (inside score_period's transaction).

    The next period's ``prev_*`` columns, when it was scored already, are refreshed from the new scores.
    """
    nxt = {"next": period.next().label}
    for table in ("deductions", "scores", "county_scores"):
        con.execute(f"DELETE FROM {table} WHERE period = $period", {"period": period.label})
    con.execute(f"INSERT INTO deductions ({', '.join(DEDUCTION_COLUMNS)}) "
                f"SELECT {', '.join(DEDUCTION_COLUMNS)} FROM _sgs_deductions")
    con.execute("INSERT INTO scores BY NAME SELECT * FROM _sgs_scores")
    con.execute("INSERT INTO county_scores BY NAME SELECT * FROM _sgs_county_scores")
    con.execute("""UPDATE scores SET prev_total = s.total, prev_rank = s.rank FROM _sgs_scores s
                    WHERE scores.period = $next AND scores.dept_id = s.dept_id""", nxt)
    con.execute("""UPDATE county_scores SET prev_total = s.total, prev_rank = s.rank FROM _sgs_county_scores s
                    WHERE county_scores.period = $next AND county_scores.county = s.county""", nxt)


def department_scores(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    """The period's stored department scores with names, ordered by rank."""
    cur = con.execute(f"""
        SELECT {', '.join('d.name' if k == 'name' else f's.{k}' for k in SCORE_KEYS)}
        FROM scores s JOIN departments d ON d.dept_id = s.dept_id
        WHERE s.period = $period ORDER BY s.rank, s.dept_id""", {"period": period.label})
    return [dict(zip(SCORE_KEYS, row)) for row in cur.fetchall()]


def score_period(con: duckdb.DuckDBPyConnection, period: Period, *, scheme_path: str | Path | None = None,
                 calendar: Calendar | None = None, as_of: date | None = None, checks: tuple[Check, ...] | None = None,
                 statuses: pd.DataFrame | None = None, full: bool = False) -> list[dict[str, Any]]:
    """Score one period with its year's scheme (or ``scheme_path``); the department scores ordered by rank.

    The findings take their current status from the correction store beside the database (``statuses``,
    finding_id → status, replaces it): a waived finding deducts nothing. ``checks`` replaces the discovered
    rules (tests). Only departments whose inputs changed are rerun unless ``full`` (metrics.incremental).
    Raises ScoringError when the period has no assessed records at all (nothing is written then), SchemeError
    for a missing or bad scheme file and CalendarError for a decision year the working-day calendar lacks.
    """
    from metrics import incremental  # it builds on this module's staging

    catalogue.apply_pending(con)  # an assessor's catalogue entries take effect at the next scoring
    if stage_assessed(con, period) == 0:
        raise ScoringError(
            f"评估期间 {period.label}（{period.start} 至 {period.end}）没有可评估的记录："
            "各部门网站上没有决定日期落在该期间的记录。请先运行 sgs crawl，或换一个期间。")
    scheme = load_scheme(scheme_path if scheme_path is not None else scheme_path_for(period))
    with scoring_settings(con):  # the memory budget, no insertion order (metrics.budget)
        con.execute("BEGIN")  # all or nothing: a failing rule or calendar leaves the period as it was
        try:
            redo = incremental.stage_period(con, period, scheme, calendar or default_calendar(),
                                            as_of or date.today(), checks or all_checks(), full=full)
            corrections.apply_to_findings(con, period.label, statuses)
            stage_deductions(con, period, scheme, checks, incremental.touched(con, period) if redo else None)
            stage_scores(con, period, scheme, datetime.now())
            _write(con, period)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return department_scores(con, period)

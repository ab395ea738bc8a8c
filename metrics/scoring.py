"""Scores a period: runs every rule, writes findings, department and county scores, grades and ranks.

Everything is set-based SQL in DuckDB. The steps are staged in temporary tables first (assessed records,
findings, scores), so a failing rule or an unknown calendar year stops the run before anything is written;
the write itself is one transaction that replaces the period's rows, so a rerun never duplicates and an error
never leaves a half-scored period.

Scoring (ARCHITECTURE.md): a department's assessed records are its records on its own site whose decision
date (``*_JDRQ``; the first-seen day when that is not a date) falls in the period. An indicator's sub-score is
100 × the share of assessed records with no finding of that indicator; the total is the scheme's weighted
mean; grades come from the scheme's lines; ranks are by total, ties sharing a rank. A county's scores are the
means of its departments'.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from metrics import codes, standard
from metrics.checks import INDICATORS, Check, Context, Rule, all_checks, all_rules
from metrics.checks._sql import lit
from metrics.checks._sql import register_macros as register_mask_macros
from metrics.periods import Period
from metrics.workdays import Calendar, default_calendar
from sgs.settings import DEFAULT_SCHEME

FINDING_COLUMNS = ("finding_id", "period", "dept_id", "kind", "record_key", "channel", "rule_id", "indicator",
                   "severity", "field", "value", "message", "url", "fetch_id", "status")
SCORE_KEYS = ("period", "dept_id", "name", "county", "n_records", *INDICATORS, "total", "grade", "rank",
              "county_rank", "scheme_version")


class ScoringError(RuntimeError):
    """The period cannot be scored (explained in Chinese for the person running the command)."""


class SchemeError(ValueError):
    """The scoring scheme file is missing, unreadable or lacks a key; the message names file and key."""


# --- the scheme ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scheme:
    version: str
    max_workdays: int
    weights: dict[str, float]  # indicator → weight, for every indicator the rules use
    names: dict[str, str]  # indicator → 中文名
    grades: tuple[tuple[str, float], ...]  # (grade, lowest total), highest line first

    def grade_sql(self, expr: str) -> str:
        """SQL CASE giving the grade of a total; below every line → the lowest grade."""
        whens = " ".join(f"WHEN {expr} >= {low} THEN {lit(name)}" for name, low in self.grades)
        return f"CASE {whens} ELSE {lit(self.grades[-1][0])} END"

    def total_sql(self, column: str = "raw_{}") -> str:
        """SQL of the weighted mean of the sub-score columns."""
        terms = " + ".join(f"{w} * {column.format(ind)}" for ind, w in self.weights.items())
        return f"({terms}) / {sum(self.weights.values())}"


def _get(doc: dict, path: Path, key: str, kinds: type | tuple[type, ...]):
    """The value at a dotted key, or a SchemeError naming the file and the key."""
    value = doc
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise SchemeError(f"评分方案文件 {path} 缺少 {key}")
        value = value[part]
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise SchemeError(f"评分方案文件 {path} 中 {key} 的值 {value!r} 类型不对")
    return value


def load_scheme(path: str | Path = DEFAULT_SCHEME) -> Scheme:
    """Read a scheme TOML file (see data/schemes/default.toml for the documented format)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemeError(f"评分方案文件 {path} 不存在") from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError(f"评分方案文件 {path} 不是有效的 TOML：{exc}") from None
    extra = set(doc.get("indicators", {})) - set(INDICATORS)
    if extra:
        raise SchemeError(f"评分方案文件 {path} 中 indicators.{sorted(extra)[0]} 不是已知指标（{', '.join(INDICATORS)}）")
    weights = {i: float(_get(doc, path, f"indicators.{i}.weight", (int, float))) for i in INDICATORS}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise SchemeError(f"评分方案文件 {path} 中 indicators.*.weight 须非负且合计大于 0")
    lines = _get(doc, path, "grades", dict)
    grades = tuple(sorted(((g, float(_get(doc, path, f"grades.{g}", (int, float)))) for g in lines),
                          key=lambda gl: -gl[1]))
    if not grades:
        raise SchemeError(f"评分方案文件 {path} 中 grades 为空")
    return Scheme(
        version=_get(doc, path, "version", str),
        max_workdays=_get(doc, path, "timeliness.max_workdays", int),
        weights=weights,
        names={i: _get(doc, path, f"indicators.{i}.name", str) for i in INDICATORS},
        grades=grades,
    )


def rules_catalogue() -> list[dict]:
    """Every rule as a plain dict (id, name, indicator, clause, severity), for docs and the dashboard."""
    return [{k: getattr(r, k) for k in ("id", "name", "indicator", "clause", "severity")} for r in all_rules()]


# --- staging -------------------------------------------------------------------------------------

def assessed_table(kind: str) -> str:
    return f"assessed_{kind}"


def stage_assessed(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """Create ``assessed_<kind>``: the period's site records of known departments, with helper columns.

    ``_jdrq``/``_fbrq`` are the decision and stated publication dates as DATE (NULL when not a date);
    ``_pub_date`` is the publication date the timeliness rule judges: the stated date when it is a date not
    after the day sgs first saw the record, else that first-seen day. Returns the number of records.
    """
    total = 0
    for kind in standard.KINDS:
        jdrq = standard.load(kind).prefixed("JDRQ")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {assessed_table(kind)} AS
            SELECT r.*, TRY_CAST(r.{jdrq} AS DATE) AS _jdrq, TRY_CAST(r.FBRQ AS DATE) AS _fbrq,
                   CASE WHEN TRY_CAST(r.FBRQ AS DATE) <= CAST(r.first_seen AS DATE) THEN TRY_CAST(r.FBRQ AS DATE)
                        ELSE CAST(r.first_seen AS DATE) END AS _pub_date,
                   d.county AS _county
            FROM {kind}_records r JOIN departments d ON d.dept_id = r.dept_id
            WHERE r.channel = 'site'
              AND coalesce(TRY_CAST(r.{jdrq} AS DATE), CAST(r.first_seen AS DATE))
                  BETWEEN DATE '{period.start.isoformat()}' AND DATE '{period.end.isoformat()}'""")
        total += con.execute(f"SELECT count(*) FROM {assessed_table(kind)}").fetchall()[0][0]
    return total


def _wrap(period: Period, kind: str, rule: Rule, sql: str) -> str:
    """A rule's (record_key, field, value, message) rows as full findings rows, evidence from the record."""
    return f"""SELECT {lit(period.label)} AS period, a.dept_id, {lit(kind)} AS kind, f.record_key, a.channel,
       {lit(rule.id)} AS rule_id, {lit(rule.indicator)} AS indicator, {lit(rule.severity)} AS severity,
       f.field, CAST(f.value AS VARCHAR) AS value, f.message, a.url, a.fetch_id, 'open' AS status
FROM ({sql}) f JOIN {assessed_table(kind)} a ON a.record_key = f.record_key"""


def _wrap_department(period: Period, kind: str, rule: Rule, sql: str) -> str:
    """A department-level rule's (dept_id, field, value, message, url, fetch_id) rows as findings rows."""
    return f"""SELECT {lit(period.label)} AS period, f.dept_id, {lit(kind)} AS kind, NULL::VARCHAR AS record_key,
       'site' AS channel, {lit(rule.id)} AS rule_id, {lit(rule.indicator)} AS indicator,
       {lit(rule.severity)} AS severity, f.field, CAST(f.value AS VARCHAR) AS value, f.message, f.url, f.fetch_id,
       'open' AS status
FROM ({sql}) f"""


# A finding's identity: the same problem found again in a rescoring gets the same id.
FINDING_ID_SQL = ("md5(concat_ws('|', period, dept_id, kind, rule_id, coalesce(record_key, ''), "
                  "coalesce(field, ''), coalesce(url, ''), coalesce(value, '')))")


def stage_findings(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, calendar: Calendar,
                   as_of: date, checks: tuple[Check, ...] | None = None) -> int:
    """Run the rules over the assessed tables into temp table ``_sgs_findings``; returns its row count.

    Raises metrics.workdays.CalendarError when a decision falls in a year the calendar does not know.
    """
    codes.register_macros(con)
    register_mask_macros(con)
    selects = []
    for kind in standard.KINDS:
        ctx = Context(kind, assessed_table(kind), as_of, scheme.max_workdays, calendar, period)
        for check in checks if checks is not None else all_checks():
            if check.prepare:
                check.prepare(con, ctx)
            sql = check.findings_sql(ctx)
            if sql:
                selects.append(_wrap(period, kind, check.rule, sql))
            dept_sql = check.department_sql(ctx) if check.department_sql else None
            if dept_sql:
                selects.append(_wrap_department(period, kind, check.rule, dept_sql))
    empty = f"SELECT {', '.join(FINDING_COLUMNS[1:])} FROM findings WHERE false"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_findings AS "
                f"SELECT {FINDING_ID_SQL} AS finding_id, * FROM ({' UNION ALL '.join(selects) or empty})")
    return con.execute("SELECT count(*) FROM _sgs_findings").fetchall()[0][0]


def stage_scores(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, computed_at: datetime) -> None:
    """Department scores into temp table ``_sgs_scores`` and county scores into ``_sgs_county_scores``."""
    records = " UNION ALL ".join(
        f"SELECT dept_id, _county AS county, {lit(k)} AS kind, record_key FROM {assessed_table(k)}"
        for k in standard.KINDS)
    flags = ", ".join(f"bool_or(h.indicator = {lit(i)}) IS TRUE AS hit_{i}" for i in INDICATORS)
    subs = ", ".join(f"100.0::DOUBLE * count_if(NOT hit_{i}) / count(*) AS raw_{i}" for i in INDICATORS)
    rounded = ", ".join(f"round(raw_{i}, 2) AS {i}" for i in INDICATORS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_scores AS
        WITH recs AS ({records}),
        hits AS (SELECT DISTINCT kind, record_key, indicator FROM _sgs_findings),
        flags AS (SELECT r.dept_id, r.county, r.kind, r.record_key, {flags}
                  FROM recs r LEFT JOIN hits h ON h.kind = r.kind AND h.record_key = r.record_key
                  GROUP BY r.dept_id, r.county, r.kind, r.record_key),
        subs AS (SELECT dept_id, county, count(*) AS n_records, {subs} FROM flags GROUP BY dept_id, county),
        totals AS (SELECT *, {scheme.total_sql()} AS raw_total FROM subs)
        SELECT {lit(period.label)} AS period, dept_id, county, n_records, {rounded},
               round(raw_total, 2) AS total, {scheme.grade_sql('raw_total')} AS grade,
               RANK() OVER (ORDER BY round(raw_total, 2) DESC) AS rank,
               RANK() OVER (PARTITION BY county ORDER BY round(raw_total, 2) DESC) AS county_rank,
               {lit(scheme.version)} AS scheme_version, $computed_at AS computed_at
        FROM totals""", {"computed_at": computed_at})
    means = ", ".join(f"round(avg({i}), 2) AS {i}" for i in INDICATORS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _sgs_county_scores AS
        SELECT period, county, count(*) AS n_departments, sum(n_records) AS n_records, {means},
               round(avg(total), 2) AS total, {scheme.grade_sql('avg(total)')} AS grade,
               RANK() OVER (ORDER BY round(avg(total), 2) DESC) AS rank, scheme_version, computed_at
        FROM _sgs_scores GROUP BY period, county, scheme_version, computed_at""")


def _write(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """Replace the period's findings and scores with the staged ones, all or nothing."""
    con.execute("BEGIN")
    try:
        for table in ("findings", "scores", "county_scores"):
            con.execute(f"DELETE FROM {table} WHERE period = ?", [period.label])
        con.execute(f"INSERT INTO findings ({', '.join(FINDING_COLUMNS)}) "
                    f"SELECT {', '.join(FINDING_COLUMNS)} FROM _sgs_findings")
        con.execute("INSERT INTO scores BY NAME SELECT * FROM _sgs_scores")
        con.execute("INSERT INTO county_scores BY NAME SELECT * FROM _sgs_county_scores")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def department_scores(con: duckdb.DuckDBPyConnection, period: Period) -> list[dict]:
    """The period's stored department scores with names, ordered by rank."""
    cur = con.execute(f"""
        SELECT {', '.join('d.name' if k == 'name' else f's.{k}' for k in SCORE_KEYS)}
        FROM scores s JOIN departments d ON d.dept_id = s.dept_id
        WHERE s.period = ? ORDER BY s.rank, s.dept_id""", [period.label])
    return [dict(zip(SCORE_KEYS, row)) for row in cur.fetchall()]


def score_period(con: duckdb.DuckDBPyConnection, period: Period, *, scheme_path: str | Path = DEFAULT_SCHEME,
                 calendar: Calendar | None = None, as_of: date | None = None) -> list[dict]:
    """Score one period and return the department scores ordered by rank.

    Raises ScoringError when the period has no assessed records (nothing is written then), SchemeError for a
    bad scheme file and CalendarError for a decision year the working-day calendar does not cover.
    """
    scheme = load_scheme(scheme_path)
    if stage_assessed(con, period) == 0:
        raise ScoringError(
            f"评估期间 {period.label}（{period.start} 至 {period.end}）没有可评估的记录："
            "各部门网站上没有决定日期落在该期间的记录。请先运行 sgs crawl，或换一个期间。")
    stage_findings(con, period, scheme, calendar or default_calendar(), as_of or date.today())
    stage_scores(con, period, scheme, datetime.now())
    _write(con, period)
    return department_scores(con, period)

"""Incremental scoring: after a crawl, only the departments whose inputs changed get their record findings rerun.

A daily run rescores this month and quarter after every crawl; at a province's 10 M records a full run is a
minute of two cores even when 1 % of the records changed. The result must be exactly a full rescore's
(tests/test_incremental.py compares every row), so the rules are split by what their rows depend on:

* **Per department**: the record-level SQL (``findings_sql``, ``unverified_sql`` and their ``prepare``) of
  every rule but ``GLOBAL_RULES``, and the department-level parts of ``OWN_PORTAL_RULES``. What they read for
  a department is hashed per department (``stage_fingerprints``): its assessed records (every column but
  ``last_seen``, which no record rule reads), its site 文书号 of every period (duplicate_record), the portal
  records with the same 文书号 (portal_missing/late/inconsistent, whoever they are attributed to) and those
  attributed to it, its ledger (简易程序), its catalogue items and its department row (agency code). Only
  departments whose hash moved are rerun, on their part of the records (``_stage_part``: small temp tables
  that the assessed views and the rules' ``records_table`` then name); the others keep their rows.
* **Everyone, every time** (cheap, a few rows per department): every department-level part
  (``department_sql``, ``unverified_department_sql``) — their evidence is the column's latest page, which moves
  with every crawl, and they read last_seen, availability, objections, repairs — plus ``GLOBAL_RULES``, the
  record rules that read something not per department (date_order's message names the as-of day;
  manual_inspection reads the workbench's entries).
* Statuses, deductions, scores, grades, ranks, county means and prev_* are recomputed for everyone.

A **full** rescore instead (``score_runs.why`` says which): asked (``sgs score --full``); the period's first
scoring, or no scores stored; the context changed — the code of metrics/ and core/ or the data files the
rules read (standard, policy), the migrations, the scheme, the calendar, the rule set (``context_key``); a
complete walk of a column that had ended by the last scoring appeared, changed or vanished (the sightings
the timeliness rules rest on: a walk ending later cannot precede a record stored before it, so new walks
alone change nothing already scored); or the changed departments hold more than ``MAX_PART`` of the records.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

import duckdb

from core import standard, vocab
from core.periods import Period
from core.settings import POLICY_DIR, STANDARD_DIR
from core.workdays import Calendar
from metrics.checks import Check, Context
from metrics.checks._sql import complete_walks, decided_in, lit
from metrics.scheme import Scheme

__all__ = ["GLOBAL_RULES", "stage_period", "last_run", "context_key"]

# record rules whose rows depend on more than the department's own inputs: rerun for everyone every time
GLOBAL_RULES = frozenset({"date_order", "manual_inspection"})
# department-level parts that read only the department's own portal records and ledger: rerun per department
OWN_PORTAL_RULES = frozenset({"unmasked_personal", "portal_forbidden"})
MAX_PART = 0.25  # above this share of the assessed records to rerun, a full rescore is as quick: full
PART = "_sgs_part_{kind}_records"  # the changed departments' site records and the portal records they can meet
CODE_DIRS = ("metrics", "core")  # any change to a rule, a helper or a macro: full
DATA_DIRS = (STANDARD_DIR, POLICY_DIR)  # the field registry and the dated policy facts the rules read
_ROOT = Path(__file__).resolve().parent.parent


def context_key(scheme: Scheme, calendar: Calendar, checks: tuple[Check, ...]) -> str:
    """sha256 of what every department's findings share: code, data files, scheme, calendar, rules, schema."""
    h = hashlib.sha256()
    files = [p for d in CODE_DIRS for ext in ("*.py", "*.sql") for p in sorted((_ROOT / d).rglob(ext))]
    files += [p for d in DATA_DIRS for p in sorted(Path(str(d)).rglob("*")) if p.is_file()]
    files += sorted(p for d in calendar.schedule_dirs for p in Path(d).glob("*.toml"))
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(repr(scheme).encode())
    h.update(metadata.version("chinesecalendar").encode())
    h.update(",".join(c.rule.id for c in checks).encode())
    return h.hexdigest()


def _columns(con: duckdb.DuckDBPyConnection, table: str, alias: str, skip: tuple[str, ...] = ()) -> str:
    """Every column of ``table`` (as ``alias.col``) but ``skip``, for a hash of the whole row."""
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND schema_name = 'main' "
                       "ORDER BY column_index", {"t": table}).fetchall()
    return ", ".join(f"{alias}.{r[0]}" for r in rows if r[0] not in skip)


def _parts(con: duckdb.DuckDBPyConnection, period: Period) -> list[str]:
    """SELECTs of (dept_id, part, h): one hashed row per input a department's record findings read. Each
    record table is read once per channel (a record's hash computed once, used by two parts)."""
    parts = []
    for kind in vocab.KINDS:
        wsh = standard.load(kind).prefixed("WSH")
        cols = _columns(con, f"{kind}_records", "r", ("last_seen",))
        site = (f"(SELECT r.dept_id, r.record_key, r.{wsh} AS wsh, CASE WHEN {decided_in(kind, period, 'r')} "
                f"THEN hash({cols}) END AS h FROM {kind}_records r WHERE r.channel = 'site')")
        portal = (f"(SELECT r.dept_id, r.{wsh} AS wsh, hash({cols}) AS h FROM {kind}_records r "
                  "WHERE r.channel = 'portal')")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_site_h AS SELECT * FROM {site}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_portal_h_{kind} AS SELECT * FROM {portal}")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_parts_{kind} AS
            SELECT dept_id, 'rec_{kind}' AS part, h FROM _sgs_site_h WHERE h IS NOT NULL
            UNION ALL SELECT dept_id, 'dup_{kind}', hash(record_key, wsh) FROM _sgs_site_h WHERE wsh <> ''
            UNION ALL SELECT a.dept_id, 'portal_{kind}', p.h
                FROM (SELECT DISTINCT dept_id, wsh FROM _sgs_site_h WHERE h IS NOT NULL) a
                JOIN (SELECT wsh, bit_xor(h) AS h FROM _sgs_portal_h_{kind} WHERE wsh IS NOT NULL GROUP BY wsh) p
                USING (wsh)
            UNION ALL SELECT dept_id, 'own_{kind}', h FROM _sgs_portal_h_{kind}""")
        con.execute(f"DROP TABLE _sgs_site_h; DROP TABLE _sgs_portal_h_{kind}")
        parts.append(f"SELECT * FROM _sgs_parts_{kind}")
    for table in ("ledger", "catalogue_items", "departments"):
        parts.append(f"SELECT t.dept_id, {lit(table)}, hash({_columns(con, table, 't')}) FROM {table} t")
    return parts


def stage_fingerprints(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """``_sgs_inputs`` (dept_id, fingerprint, n_records) for every configured department, over the full
    assessed views: per input an order-free bit_xor of row hashes and a count, combined in a fixed order."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_inputs AS
        WITH p AS (SELECT dept_id, part, bit_xor(h) AS h, count(*) AS n
                   FROM ({' UNION ALL '.join(_parts(con, period))}) WHERE dept_id IS NOT NULL GROUP BY ALL)
        SELECT d.dept_id, hash(coalesce(string_agg(p.part || ':' || p.h || ':' || p.n, '|' ORDER BY p.part), ''))
                   AS fingerprint,
               coalesce(sum(p.n) FILTER (WHERE p.part LIKE 'rec_%'), 0)::INTEGER AS n_records
        FROM departments d LEFT JOIN p USING (dept_id) GROUP BY d.dept_id""")
    for kind in vocab.KINDS:
        con.execute(f"DROP TABLE _sgs_parts_{kind}")


def _walks(con: duckdb.DuckDBPyConnection, until: datetime | None) -> tuple[datetime | None, int]:
    """The latest complete walk's end and the hash of the walks that had ended by ``until`` (all if None)."""
    where = "" if until is None else "WHERE finished_at <= $until"
    row = con.execute(f"""SELECT max(finished_at), coalesce(bit_xor(hash(source_id, crawl_id, started_at,
                              finished_at, fetch_id, url)), 0) FROM {complete_walks()} w {where}""",
                      {} if until is None else {"until": until}).fetchall()[0]
    return row[0], int(row[1])


def _why_full(con: duckdb.DuckDBPyConnection, period: Period, context: str) -> str | None:
    """Why this period must be rescored in full (Chinese, for ``score_runs.why``), or None."""
    run = con.execute("SELECT context, walks_until, walks_hash FROM score_runs WHERE period = $p",
                      {"p": period.label}).fetchall()
    if not run or not con.execute("SELECT count(*) FROM scores WHERE period = $p", {"p": period.label}).fetchall()[0][0]:
        return "本期首次评分"
    if run[0][0] != context:
        return "规则代码、评分方案、工作日历或规则集已变化"
    if run[0][1] is not None and _walks(con, run[0][1])[1] != run[0][2]:
        return "此前已完成的栏目完整采集记录有变化"
    return None


@dataclass(frozen=True)
class _Part(Context):
    """A rule's context in the changed departments' pass: ``records_table`` is their part (``PART``), so a
    rule reading stored records beyond the assessed ones (repeated 文书号, portal copies) reads only those."""

    @property
    def records_table(self) -> str:
        return PART.format(kind=self.kind)


def _in_part(build: Callable[[Context], str | None] | None, department: bool = False
             ) -> Callable[[Context], str | None] | None:
    """``build`` run on the part's context; a department-level SELECT kept to the changed departments."""
    if build is None:
        return None

    def part(ctx: Context) -> str | None:
        sql = build(_Part(**{f.name: getattr(ctx, f.name) for f in fields(ctx)}))
        return f"SELECT * FROM ({sql}) WHERE dept_id IN (SELECT dept_id FROM _sgs_redo)" if sql and department else sql
    return part


def _prepare_in_part(prepare: Callable[[duckdb.DuckDBPyConnection, Context], None] | None
                     ) -> Callable[[duckdb.DuckDBPyConnection, Context], None] | None:
    """A rule's set-up run on the part's context."""
    if prepare is None:
        return None
    return lambda con, ctx: prepare(con, _Part(**{f.name: getattr(ctx, f.name) for f in fields(ctx)}))


def _split(checks: tuple[Check, ...]) -> tuple[tuple[Check, ...], tuple[Check, ...]]:
    """(parts rerun for the changed departments on their part of the records, parts rerun for everyone)."""
    mine, everyone = [], []
    for c in checks:
        if c.rule.id in GLOBAL_RULES:
            everyone.append(c)
            continue
        own = c.rule.id in OWN_PORTAL_RULES
        if c.findings_sql or c.unverified_sql or own:
            mine.append(Check(c.rule, _in_part(c.findings_sql), _prepare_in_part(c.prepare),
                              _in_part(c.department_sql, True) if own else None, _in_part(c.unverified_sql),
                              _in_part(c.unverified_department_sql, True) if own else None))
        if (c.department_sql or c.unverified_department_sql) and not own:
            everyone.append(replace(c, findings_sql=None, unverified_sql=None))
    return tuple(mine), tuple(everyone)


def _share(con: duckdb.DuckDBPyConnection) -> float:
    """The changed departments' share of the assessed records (known from the fingerprints: nothing read)."""
    part, total = con.execute("""SELECT coalesce(sum(n_records) FILTER (WHERE dept_id IN (SELECT dept_id
                                                                             FROM _sgs_redo)), 0),
                                        coalesce(sum(n_records), 0) FROM _sgs_inputs""").fetchall()[0]
    return int(part) / max(1, int(total))


def _stage_part(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """``PART`` per kind: the changed departments' site records (every period: repeats are counted over all)
    and the portal records sharing their assessed 文书号 or attributed to them; the assessed views then over
    it. Small tables, so each rule reads a few columns of few rows."""
    redo = "dept_id IN (SELECT dept_id FROM _sgs_redo)"
    for kind in vocab.KINDS:
        wsh = standard.load(kind).prefixed("WSH")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_site_{kind} AS SELECT * FROM {kind}_records "
                    f"WHERE channel = 'site' AND {redo}")
        assessed = f"SELECT {wsh} FROM _sgs_site_{kind} r WHERE {decided_in(kind, period, 'r')}"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {PART.format(kind=kind)} AS
            SELECT * FROM _sgs_site_{kind} UNION ALL
            SELECT * FROM {kind}_records WHERE channel = 'portal' AND ({wsh} IN ({assessed}) OR {redo})""")
        con.execute(f"DROP TABLE _sgs_site_{kind}")


def _changed(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """``_sgs_redo``: departments whose fingerprint differs from the stored one (new and gone ones too)."""
    con.execute("""CREATE OR REPLACE TEMP TABLE _sgs_redo AS
        SELECT coalesce(n.dept_id, o.dept_id) AS dept_id FROM _sgs_inputs n
        FULL JOIN (SELECT * FROM score_inputs WHERE period = $p) o USING (dept_id)
        WHERE n.fingerprint IS DISTINCT FROM o.fingerprint""", {"p": period.label})
    return int(con.execute("SELECT count(*) FROM _sgs_redo").fetchall()[0][0])


def _forget(con: duckdb.DuckDBPyConnection, period: Period, everyone: tuple[Check, ...]) -> None:
    """Delete the rows about to be recomputed: the rows of the rules rerun for everyone, and every row of
    the changed departments (and of departments no longer configured)."""
    def ids(rules: frozenset[str]) -> str:
        return ", ".join(lit(r) for r in sorted(rules)) or "NULL"
    whole = ids(GLOBAL_RULES & {c.rule.id for c in everyone})
    for table in ("findings", "unverified"):
        con.execute(f"""DELETE FROM {table} WHERE period = $p AND (rule_id IN ({whole})
                        OR (record_key IS NULL AND rule_id NOT IN ({ids(OWN_PORTAL_RULES)}))
                        OR dept_id IN (SELECT dept_id FROM _sgs_redo)
                        OR dept_id NOT IN (SELECT dept_id FROM departments))""", {"p": period.label})
    # statuses are applied afresh by corrections.apply_to_findings, as on findings just written
    con.execute("UPDATE findings SET status = 'open' WHERE period = $p AND status <> 'open'", {"p": period.label})


def stage_period(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, calendar: Calendar, as_of: date,
                 checks: tuple[Check, ...], *, full: bool = False) -> None:
    """Write the period's findings and unverified rows, in full or for the changed departments only, inside
    ``metrics.scoring.score_period``'s transaction (the assessed views defined); record what was done."""
    from metrics.scoring import stage_assessed, stage_findings

    context = context_key(scheme, calendar, checks)
    stage_fingerprints(con, period)
    why = "要求完整重算（--full）" if full else _why_full(con, period, context)
    if why is None:
        n = _changed(con, period)
        if (share := _share(con)) > MAX_PART:
            why = f"输入有变化的部门共有 {share:.0%} 的记录，完整重算更快"
    if why is None:
        mine, everyone = _split(checks)
        _forget(con, period, everyone)
        if mine and n:
            _stage_part(con, period)
            stage_assessed(con, period, PART, count=False)
            stage_findings(con, period, scheme, calendar, as_of, mine)
            stage_assessed(con, period, count=False)
        if everyone:
            stage_findings(con, period, scheme, calendar, as_of, everyone)
        mode, why = "incremental", f"{n} 个部门的输入有变化"
    else:
        for table in ("findings", "unverified"):
            con.execute(f"DELETE FROM {table} WHERE period = $p", {"p": period.label})
        stage_findings(con, period, scheme, calendar, as_of, checks)
        mode, n = "full", int(con.execute("SELECT count(*) FROM _sgs_inputs").fetchall()[0][0])
    until, walks = _walks(con, None)
    values = {"p": period.label}
    con.execute("DELETE FROM score_inputs WHERE period = $p", values)
    con.execute("INSERT INTO score_inputs SELECT $p, dept_id, fingerprint, n_records FROM _sgs_inputs", values)
    con.execute("DELETE FROM score_runs WHERE period = $p", values)
    con.execute("INSERT INTO score_runs VALUES ($p, $context, $until, $walks, $mode, $why, $n, $at)",
                {**values, "context": context, "until": until, "walks": walks, "mode": mode, "why": why, "n": n,
                 "at": datetime.now()})


def last_run(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[str, str, int] | None:
    """(mode, why, departments rescored) of the period's last scoring, for the command's message."""
    rows = con.execute("SELECT mode, why, n_rescored FROM score_runs WHERE period = $p",
                       {"p": period.label}).fetchall()
    return (str(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None

"""Incremental scoring: after a crawl, only the departments whose inputs changed get their findings rerun.

A daily run rescores this month and quarter after every crawl; at a province's 10 M records a full run is a
minute of two cores even when 1 % of the records changed. The result must be exactly a full rescore's
(tests/test_incremental.py compares every row), so the rules are split by what their rows depend on:

* **Per department**: the record-level SQL (``findings_sql``, ``unverified_sql`` and their ``prepare``) of
  every rule, and the department-level parts of ``OWN_RULES``. What they read for a department is hashed per
  department (``stage_fingerprints``) from each record's stored hash (``core.store.hash_records``, written
  when the record is saved: one 8-byte column read, not ~45 hashed): its site records of every period, the
  portal records sharing their 文书号 (portal_missing/late/inconsistent, whoever they are attributed to) and
  those attributed to it, its ledger (简易程序), its catalogue items and its department row (agency code).
  Departments whose hash moved (and ``_extra``'s: inspection entries, date_order when the as-of day moved)
  are rerun on their part of the records (``_stage_part``: small temp tables that the assessed views and the
  rules' ``records_table`` then name); the others keep their rows.
* **Per department when few moved** (``LOCAL_RULES``): department-level rules reading the department's
  records with last_seen, ledger files, sources and its column's latest page — a second hash, ``evidence``.
  A crawl revisiting every column moves them all, and these rules then run for everyone.
* **Everyone, every time**: the other department-level parts (availability, walks, objections, repairs, the
  as-of day). Statuses, scores, grades, ranks, county means and prev_* are recomputed for everyone;
  deductions for the departments whose findings or statuses moved (``touched``), the others' rows kept.

The new findings are merged into the stored ones by difference (``_merge``), so an unchanged finding is not
written again (rewriting them all filled the write-ahead log past its checkpoint threshold).

A **full** rescore instead (``score_runs.why`` says which): asked (``sgs score --full``); the period's first
scoring, or no scores stored; the context changed — the code of metrics/ and core/ or the data files the
rules read (standard, policy), the migrations, the scheme, the calendar, the rule set (``context_key``); a
complete walk of a column that had ended by the last scoring appeared, changed or vanished (the sightings
the timeliness rules rest on: a walk ending later cannot precede a record stored before it, so new walks
alone change nothing already scored); or the changed departments hold more than ``MAX_PART`` of the records.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from core import standard, store, vocab
from core.periods import Period
from core.settings import POLICY_DIR, STANDARD_DIR
from core.store import ROW_HASH
from core.workdays import Calendar
from metrics import corrections, inspections
from metrics.checks import Check, Context
from metrics.checks._sql import column_evidence, complete_walks, lit
from metrics.scheme import Scheme

__all__ = ["OWN_RULES", "stage_period", "touched", "last_run", "context_key"]

# department-level parts rerun per department like the record rules: they read only the department's own
# portal records and ledger, or (manual_inspection) the assessor's entries, whose departments are rerun (_extra)
OWN_RULES = frozenset({"unmasked_personal", "portal_forbidden", "manual_inspection"})
# department-level rules whose rows read only the department's records (with last_seen), ledger, catalogue,
# sources and its column's latest page (the ``evidence`` fingerprint): rerun per department when the departments
# whose fingerprints moved stay within MAX_PART, else for everyone (a crawl revisiting every column moves them all)
LOCAL_RULES = frozenset({"ledger_unpublished", "column_not_set", "catalogue_missing", "revoked_online",
                         "overdue_publication"})
MAX_PART = 0.25  # above this share of the assessed records to rerun, a full rescore is as quick: full
LIGHT = ("common_subexpressions", "in_clause")  # DuckDB optimizers off for the part's statements (_planned_lightly)
PART = "_sgs_part_{kind}_records"  # the changed departments' site records and the portal records they can meet
ASSESSED = "_sgs_part_assessed_{kind}"  # the assessed records of the part, a table (``_materialise``)
NEW = "_sgs_new_findings"  # the rerun parts' findings, merged into ``findings`` by difference (``_merge``)
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


def _columns(con: duckdb.DuckDBPyConnection, table: str, alias: str) -> str:
    """Every column of ``table`` (as ``alias.col``), for a hash of the whole row."""
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND schema_name = 'main' "
                       "ORDER BY column_index", {"t": table}).fetchall()
    return ", ".join(f"{alias}.{r[0]}" for r in rows)


def _parts(con: duckdb.DuckDBPyConnection, calendar: Calendar) -> list[str]:
    """SELECTs of (dept_id, part, h, n): per department and input an order-free bit_xor of row hashes and a
    count. Records are read by their stored hash (``core.store.hash_records``): one 8-byte column, not ~45.
    A department's site records of every period count (a superset of its assessed ones: repeats are counted
    over all periods, and a change elsewhere merely reruns it). 文书号 are matched by their 64-bit hash
    (integer keys: 0.17 against 0.27 s of CPU on 1 M records; two colliding 文书号 merely rerun more), and
    the portal part is a sum over the (site record, portal record) pairs sharing one, not a XOR over distinct
    文书号 of per-文书号 aggregates: no grouping of every site and portal record first (0.09 against 0.25 s
    of CPU for ``cf`` on 1 M records); a repeated 文书号 counts its pairs twice, which changes nothing. Parts
    named ``e:…`` are what ``LOCAL_RULES`` read besides: last_seen, sources, the column's latest page per kind,
    the ledger's file names."""
    parts = [f"SELECT dept_id, 'e:sources' AS part, bit_xor(hash({_columns(con, 'sources', 't')})) AS h, "
             "count(*) AS n FROM sources t GROUP BY dept_id",
             f"SELECT l.dept_id, 'e:ledger_files', bit_xor(hash({_columns(con, 'ledger_files', 't')})), count(*) "
             "FROM ledger_files t JOIN (SELECT DISTINCT ledger_id, dept_id FROM ledger) l USING (ledger_id) GROUP BY ALL"]
    for kind in vocab.KINDS:
        store.hash_records(con, kind)  # rows written outside upsert_records (row_hash NULL)
        wsh, t = standard.load(kind).prefixed("WSH"), f"{kind}_records"
        parts += [f"SELECT dept_id, 'rec_{kind}', bit_xor({ROW_HASH}), count(*) FROM {t} "
                  "WHERE channel = 'site' GROUP BY dept_id",
                  f"SELECT dept_id, 'own_{kind}', bit_xor({ROW_HASH}), count(*) FROM {t} WHERE channel = 'portal' "
                  "GROUP BY dept_id",
                  f"""SELECT s.dept_id, 'portal_{kind}', sum(hash(s.w, p.{ROW_HASH})::HUGEINT), count(*)
                      FROM (SELECT dept_id, hash({wsh}) AS w FROM {t} WHERE channel = 'site' AND {wsh} <> '') s
                      JOIN (SELECT hash({wsh}) AS w, {ROW_HASH} FROM {t} WHERE channel = 'portal') p USING (w)
                      GROUP BY s.dept_id""",
                  f"SELECT dept_id, 'e:seen_{kind}', bit_xor(hash({ROW_HASH}, last_seen)), count(*) FROM {t} "
                  "GROUP BY dept_id",
                  f"SELECT dept_id, 'e:column_{kind}', bit_xor(hash(url, fetch_id)), count(*) "
                  f"FROM {column_evidence(Context(kind, '', date.min, calendar=calendar))} GROUP BY dept_id"]
    for table in ("ledger", "catalogue_items", "departments"):
        parts.append(f"SELECT t.dept_id, {lit(table)}, bit_xor(hash({_columns(con, table, 't')})), count(*) "
                     f"FROM {table} t GROUP BY t.dept_id")
    return parts


def stage_fingerprints(con: duckdb.DuckDBPyConnection, calendar: Calendar) -> None:
    """``_sgs_inputs`` (dept_id, fingerprint, n_records, evidence) for every configured department: its
    inputs' (part, hash, count) combined in a fixed order, the record rules' and ``LOCAL_RULES``' extra
    (``evidence``) apart; n_records = its site records (for ``MAX_PART``)."""
    def combined(where: str) -> str:
        return (f"hash(coalesce(string_agg(p.part || ':' || p.h || ':' || p.n, '|' ORDER BY p.part) "
                f"FILTER (WHERE {where}), ''))")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_inputs AS
        WITH p AS (SELECT * FROM ({' UNION ALL '.join(_parts(con, calendar))}) WHERE dept_id IS NOT NULL)
        SELECT d.dept_id, {combined("p.part NOT LIKE 'e:%'")} AS fingerprint,
               coalesce(sum(p.n) FILTER (WHERE p.part LIKE 'rec_%'), 0)::INTEGER AS n_records,
               {combined("p.part LIKE 'e:%'")} AS evidence
        FROM departments d LEFT JOIN p USING (dept_id) GROUP BY d.dept_id""")


def _walks(con: duckdb.DuckDBPyConnection, until: datetime | None) -> tuple[datetime | None, int]:
    """The latest complete walk's end and the hash of the walks that had ended by ``until`` (all if None)."""
    where = "" if until is None else "WHERE finished_at <= $until"
    row = con.execute(f"""SELECT max(finished_at), coalesce(bit_xor(hash(source_id, crawl_id, started_at,
                              finished_at, fetch_id, url)), 0) FROM {complete_walks()} w {where}""",
                      {} if until is None else {"until": until}).fetchall()[0]
    return row[0], int(row[1])


def _why_full(con: duckdb.DuckDBPyConnection, period: Period, context: str) -> str | None:
    """Why this period must be rescored in full (Chinese, for ``score_runs.why``), or None."""
    run = con.execute("SELECT context, walks_until, walks_hash, as_of FROM score_runs WHERE period = $p",
                      {"p": period.label}).fetchall()
    if not run or not con.execute("SELECT count(*) FROM scores WHERE period = $p", {"p": period.label}).fetchall()[0][0]:
        return "本期首次评分"
    if run[0][0] != context:
        return "规则代码、评分方案、工作日历或规则集已变化"
    if run[0][1] is not None and _walks(con, run[0][1])[1] != run[0][2]:
        return "此前已完成的栏目完整采集记录有变化"
    return "上次评分未记录评估基准日" if run[0][3] is None else None


@dataclass(frozen=True)
class _Part(Context):
    """A rule's context in the changed departments' pass: ``records_table`` is their part (``PART``), so a
    rule reading stored records beyond the assessed ones (repeated 文书号, portal copies) reads only those."""

    @property
    def records_table(self) -> str:
        return PART.format(kind=self.kind)


def _part_of(ctx: Context) -> _Part:
    """The same context, its ``records_table`` the part's."""
    return _Part(**{f.name: getattr(ctx, f.name) for f in fields(ctx)})


def _in_part(build: Callable[..., Any] | None, department: bool = False) -> Callable[..., Any] | None:
    """``build`` (a rule's SQL builder, ``prepare``, or ``record_tests``: kept, so the part folds the tests into
    one scan per kind as a full scoring does, checks._fold) run on the part's context, its last argument; a
    department-level SELECT kept to the changed departments."""
    if build is None:
        return None

    def part(*args: Any) -> Any:
        sql = build(*args[:-1], _part_of(args[-1]))
        return f"SELECT * FROM ({sql}) WHERE dept_id IN (SELECT dept_id FROM _sgs_redo)" if sql and department else sql
    return part


def _split(checks: tuple[Check, ...], local: bool) -> tuple[tuple[Check, ...], tuple[Check, ...]]:
    """(parts rerun for the changed departments on their part of the records, parts rerun for everyone);
    ``local``: ``LOCAL_RULES`` among the first."""
    mine, everyone = [], []
    for c in checks:
        own = c.rule.id in OWN_RULES or (local and c.rule.id in LOCAL_RULES)
        if c.findings_sql or c.unverified_sql or own:
            mine.append(Check(c.rule, _in_part(c.findings_sql), _in_part(c.prepare),
                              _in_part(c.department_sql, True) if own else None, _in_part(c.unverified_sql),
                              _in_part(c.unverified_department_sql, True) if own else None, _in_part(c.record_tests)))
        if (c.department_sql or c.unverified_department_sql) and not own:
            everyone.append(replace(c, findings_sql=None, unverified_sql=None))
    return tuple(mine), tuple(everyone)


@contextmanager
def _planned_lightly(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``LIGHT`` off for the part's statements, then restored (docs/bench-score.md, rounds 5–6: common subexpressions
    cost more to seek than to run; ``in_clause`` probes a mark join per enum list for every record, outside the CASE
    guarding it). A failed statement aborts the transaction (no SET): ``score_period`` restores it after ROLLBACK."""
    before = str(con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0])
    con.execute(f"SET disabled_optimizers = {lit(','.join(filter(None, (before, *LIGHT))))}")
    try:
        yield
    finally:
        with suppress(duckdb.TransactionException):
            con.execute(f"SET disabled_optimizers = {lit(before)}")


def _share(con: duckdb.DuckDBPyConnection, redo: str = "SELECT dept_id FROM _sgs_redo") -> float:
    """The share of the site records held by the departments ``redo`` selects (from the fingerprints)."""
    part, total = con.execute(f"""SELECT coalesce(sum(n_records) FILTER (WHERE dept_id IN ({redo})), 0),
                                         coalesce(sum(n_records), 0) FROM _sgs_inputs""").fetchall()[0]
    return int(part) / max(1, int(total))


def _stage_part(con: duckdb.DuckDBPyConnection) -> None:
    """``PART`` per kind: the changed departments' records (site records of every period: repeats are counted
    over all; portal records attributed to them) and the portal records sharing a 文书号 with their site
    records (a superset of those the assessed ones can meet); the assessed views then over it. Small tables,
    so each rule reads a few columns of few rows. Their row ids first (three columns read), then the rows by
    id: a department's records lie in every row group, and one filtered scan decompressed every column of
    each (0.37 against 0.20 s of CPU for 45 k of 1 M records)."""
    redo = "dept_id IN (SELECT dept_id FROM _sgs_redo)"
    for kind in vocab.KINDS:
        wsh = standard.load(kind).prefixed("WSH")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_part_rows AS SELECT rowid AS r FROM {kind}_records
            WHERE {redo} OR (channel = 'portal' AND {wsh} IN (
                SELECT {wsh} FROM {kind}_records WHERE channel = 'site' AND {redo}))""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {PART.format(kind=kind)} AS
            SELECT * FROM {kind}_records WHERE rowid IN (SELECT r FROM _sgs_part_rows)""")


def _materialise(con: duckdb.DuckDBPyConnection) -> None:
    """The assessed views over the part made tables (``ASSESSED``): a few thousand rows, and each of ~40
    rules would otherwise recompute their helper columns and period filter (the dates parsed) per scan."""
    from metrics.scoring import assessed_table

    for kind in vocab.KINDS:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ASSESSED.format(kind=kind)} AS SELECT * FROM {assessed_table(kind)}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {assessed_table(kind)} AS SELECT * FROM {ASSESSED.format(kind=kind)}")


def _extra(con: duckdb.DuckDBPyConnection, period: Period, as_of: date) -> str:
    """SELECT of the departments to rerun whatever their fingerprint: unconfigured ones with records or
    findings; for ``manual_inspection``, those with an assessor's entry in the period or a finding of it
    (entries live in the workbench, not in DuckDB); when the as-of day moved, for ``date_order``'s 晚于评估基准日,
    those with a decision after the earlier day (the one record rule reading the day)."""
    from metrics.scoring import assessed_table  # it builds on this module's staging

    paths = corrections.paths_of(con)
    found = [e["dept_id"] for e in inspections.entries(paths, period.start, period.end)] if paths else []
    sql = [f"SELECT dept_id FROM (VALUES {', '.join(f'({lit(d)})' for d in sorted(set(found)))}) v(dept_id)"
           if found else "SELECT NULL::VARCHAR AS dept_id WHERE false",
           f"SELECT dept_id FROM findings WHERE period = {lit(period.label)} AND rule_id = 'manual_inspection'"]
    # departments no longer (or never) configured whose records remain: department-level rules still give
    # them rows in a full rescore, so they are always rerun (their rows are deleted by _forget)
    unknown = "dept_id NOT IN (SELECT dept_id FROM departments)"
    sql += [f"SELECT dept_id FROM {k}_records WHERE {unknown}" for k in vocab.KINDS]
    sql.append(f"SELECT dept_id FROM findings WHERE period = {lit(period.label)} AND {unknown}")
    before = con.execute("SELECT as_of FROM score_runs WHERE period = $p", {"p": period.label}).fetchall()
    if before and before[0][0] is not None and before[0][0] != as_of:
        day = lit(min(before[0][0], as_of).isoformat())
        sql += [f"SELECT dept_id FROM {assessed_table(k)} WHERE _jdrq > DATE {day}" for k in vocab.KINDS]
    return " UNION ".join(sql)


def _changed(con: duckdb.DuckDBPyConnection, period: Period, as_of: date) -> tuple[int, bool]:
    """``_sgs_redo``: departments whose fingerprint differs from the stored one (new and gone ones too),
    and ``_extra``'s; with those whose ``evidence`` moved too when they stay within ``MAX_PART`` (then
    ``LOCAL_RULES`` are rerun per department: True). Returns (departments, local)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_redo_all AS
        SELECT coalesce(n.dept_id, o.dept_id) AS dept_id, n.fingerprint IS DISTINCT FROM o.fingerprint AS records
        FROM _sgs_inputs n FULL JOIN (SELECT * FROM score_inputs WHERE period = $p) o USING (dept_id)
        WHERE n.fingerprint IS DISTINCT FROM o.fingerprint OR n.evidence IS DISTINCT FROM o.evidence
        UNION SELECT dept_id, true FROM ({_extra(con, period, as_of)}) WHERE dept_id IS NOT NULL""", {"p": period.label})
    local = _share(con, "SELECT dept_id FROM _sgs_redo_all") <= MAX_PART
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_redo AS SELECT DISTINCT dept_id FROM _sgs_redo_all "
                f"{'' if local else 'WHERE records'}")
    return int(con.execute("SELECT count(*) FROM _sgs_redo").fetchall()[0][0]), local


def _forget(con: duckdb.DuckDBPyConnection, period: Period, local: bool) -> str:
    """The rows about to be recomputed (returned as a WHERE): the department-level rows rerun for everyone,
    and every row of the changed departments (and of departments no longer configured). Their unverified
    rows are deleted; their findings are merged by difference (``_merge``). ``_sgs_dirty`` starts with the
    changed departments and those with a finding not open (statuses are applied afresh)."""
    own = ", ".join(lit(r) for r in sorted(OWN_RULES | (LOCAL_RULES if local else frozenset())))
    scope = (f"period = $p AND ((record_key IS NULL AND rule_id NOT IN ({own})) "
             "OR dept_id IN (SELECT dept_id FROM _sgs_redo) OR dept_id NOT IN (SELECT dept_id FROM departments))")
    con.execute(f"DELETE FROM unverified WHERE {scope}", {"p": period.label})
    con.execute("""CREATE OR REPLACE TEMP TABLE _sgs_dirty AS SELECT dept_id FROM _sgs_redo
                   UNION SELECT dept_id FROM findings WHERE period = $p AND status <> 'open'""", {"p": period.label})
    # statuses are applied afresh by corrections.apply_to_findings, as on findings just written
    con.execute("UPDATE findings SET status = 'open' WHERE period = $p AND status <> 'open'", {"p": period.label})
    return scope


def _merge(con: duckdb.DuckDBPyConnection, period: Period, scope: str) -> None:
    """Replace the stored findings in ``scope`` with the new ones (``NEW``) by difference: a row with the
    same id and the same 64-bit hash of every column (status aside), once on both sides, is kept; the others
    are deleted and the new ones inserted. The old rows are kept as (row id, id, department, hash): their
    columns are read once and hashed, not copied and then compared column by column. Most of a
    changed department's findings are as before, and writing each again filled the write-ahead log past its
    checkpoint threshold (a checkpoint: a quarter of the run's CPU on 1 M records, docs/bench-score.md).
    The departments of the rows that went or came join ``_sgs_dirty``."""
    from metrics.scoring import FINDING_COLUMNS

    row = f"hash({', '.join(c for c in FINDING_COLUMNS if c != 'status')})"  # every column but the status
    values = {"p": period.label}
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_old_rows AS SELECT rowid AS r FROM findings WHERE {scope}",
                values)  # by row id, as ``_stage_part``
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sgs_old AS SELECT rowid AS _row, finding_id, dept_id, {row} AS _h "
                "FROM findings WHERE rowid IN (SELECT r FROM _sgs_old_rows)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _sgs_kept AS SELECT o.finding_id FROM _sgs_old o
                    JOIN (SELECT finding_id, {row} AS _h FROM {NEW}) n USING (finding_id, _h)
                    GROUP BY o.finding_id HAVING count(*) = 1""")
    gone = "_sgs_old WHERE finding_id NOT IN (SELECT finding_id FROM _sgs_kept)"
    came = f"{NEW} WHERE finding_id NOT IN (SELECT finding_id FROM _sgs_kept)"
    con.execute(f"INSERT INTO _sgs_dirty SELECT dept_id FROM {gone} UNION SELECT dept_id FROM {came}")
    con.execute(f"DELETE FROM findings WHERE rowid IN (SELECT _row FROM {gone})")
    con.execute(f"INSERT INTO findings SELECT * FROM {came}")


def touched(con: duckdb.DuckDBPyConnection, period: Period) -> str:
    """After the statuses were applied: a SELECT of the departments whose deductions may have moved (a finding
    rerun, gone or come, or a status not open before or now); the others keep their stored deductions."""
    con.execute("INSERT INTO _sgs_dirty SELECT dept_id FROM findings WHERE period = $p AND status <> 'open'",
                {"p": period.label})
    return "SELECT dept_id FROM _sgs_dirty WHERE dept_id IS NOT NULL"


def stage_period(con: duckdb.DuckDBPyConnection, period: Period, scheme: Scheme, calendar: Calendar, as_of: date,
                 checks: tuple[Check, ...], *, full: bool = False) -> bool:
    """Write the period's findings and unverified rows, in full or for the changed departments only, inside
    ``metrics.scoring.score_period``'s transaction (the assessed views defined); record what was done.
    True when incremental (then ``touched`` says whose deductions to recompute)."""
    from metrics.scoring import stage_assessed, stage_findings

    context = context_key(scheme, calendar, checks)
    stage_fingerprints(con, calendar)
    why = "要求完整重算（--full）" if full else _why_full(con, period, context)
    if why is None:
        n, local = _changed(con, period, as_of)
        if (share := _share(con)) > MAX_PART:
            why = f"输入有变化的部门共有 {share:.0%} 的记录，完整重算更快"
    if why is None:
        mine, everyone = _split(checks, local)
        scope = _forget(con, period, local)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {NEW} AS SELECT * FROM findings WHERE false")
        if mine and n:
            with _planned_lightly(con):
                _stage_part(con)
                stage_assessed(con, period, PART, count=False)
                _materialise(con)
                stage_findings(con, period, scheme, calendar, as_of, mine, into=NEW)
            stage_assessed(con, period, count=False)
        if everyone:
            stage_findings(con, period, scheme, calendar, as_of, everyone, into=NEW)
        _merge(con, period, scope)
        mode, why = "incremental", f"{n} 个部门的输入有变化"
    else:
        for table in ("findings", "unverified"):
            con.execute(f"DELETE FROM {table} WHERE period = $p", {"p": period.label})
        stage_findings(con, period, scheme, calendar, as_of, checks)
        mode, n = "full", int(con.execute("SELECT count(*) FROM _sgs_inputs").fetchall()[0][0])
    until, walks = _walks(con, None)
    values = {"p": period.label}
    con.execute("DELETE FROM score_inputs WHERE period = $p", values)
    con.execute("INSERT INTO score_inputs SELECT $p, dept_id, fingerprint, n_records, evidence FROM _sgs_inputs",
                values)
    con.execute("DELETE FROM score_runs WHERE period = $p", values)
    con.execute("INSERT INTO score_runs VALUES ($p, $context, $until, $walks, $mode, $why, $n, $at, $as_of)",
                {**values, "context": context, "until": until, "walks": walks, "mode": mode, "why": why, "n": n,
                 "at": datetime.now(), "as_of": as_of})
    return mode == "incremental"


def last_run(con: duckdb.DuckDBPyConnection, period: Period) -> tuple[str, str, int] | None:
    """(mode, why, departments rescored) of the period's last scoring, for the command's message."""
    rows = con.execute("SELECT mode, why, n_rescored FROM score_runs WHERE period = $p",
                       {"p": period.label}).fetchall()
    return (str(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None

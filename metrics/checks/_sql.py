"""SQL building blocks shared by the rule modules: literals, masking, enum tests, per-field unions.

Everything field-specific comes from the registry (``core.standard``), so a rule names a *property*
(``required == "R"``, ``check == "uscc"``, ``enum``) and never a list of codes.

How a value gets into SQL (one way, everywhere in metrics/):

* Identifiers — tables, columns, the registry's codes (``CF_JDRQ``) — are spliced with f-strings: SQL has no
  parameters for names.
* A value from outside (a period, a department or ledger id, a date, a version) in a statement executed right
  there goes as a DuckDB named parameter, ``$name``, with a dict: ``con.execute("… WHERE period = $period",
  {"period": period.label})``. Named, not ``?``: a statement that uses a value twice names it once, and the
  dict says which value is which.
* A value in SQL that is *composed* to run inside another statement — a rule's ``findings_sql``, which
  scoring unions into one INSERT, or a temporary view (DuckDB cannot prepare ``CREATE VIEW``) — goes through
  the literal helpers here: ``lit`` (text), ``lit_list``, ``day`` (a date). Never a bare ``'{value}'``.
  A number the code has made a number (``int(ctx.max_workdays)``, a scheme's weight) is spliced as it is.

Two decisions every rule shares are written once here: when a record counts as decided in a period
(``decided_in``, used by scoring's assessed records and by the rules reading other tables) and a record's
publication day by the evidence (``published_on``: the credible stated date, else the day sgs first saw it).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb

from core.normalize import EARLIEST_DATE, LATEST_DATE
from core.periods import Period
from core import privacy, standard
from core.vocab import CHANNEL_NAMES
from metrics.checks import Context
# the enumeration tests live in metrics.checks._enums; the rules import them from here
from metrics.checks._enums import canonical as canonical, enum_has_any as enum_has_any  # noqa: F401
from metrics.checks._enums import enum_hint as enum_hint, enum_ok as enum_ok  # noqa: F401
from metrics.checks._enums import item_ok as item_ok, parts as parts  # noqa: F401

# Finding values and messages never carry an unmasked ID or mobile number: personal fields are masked
# whole, other text has ID-like and mobile-like runs masked (core.privacy's macros).
register_macros = privacy.register_macros


def lit(text: str) -> str:
    """A SQL string literal (quotes doubled), for registry text spliced into generated SQL."""
    return "'" + text.replace("'", "''") + "'"


def lit_list(items: Iterable[str]) -> str:
    """A SQL list literal ``['a', 'b']``."""
    return "[" + ", ".join(lit(i) for i in items) + "]"


def label(f: standard.Field) -> str:
    """How a message names a field: its Chinese name, e.g. ``证件号码`` — the words a clerk knows (the
    finding's ``field`` column keeps the code for whoever needs it)."""
    return f.name


def shown(f: standard.Field, expr: str) -> str:
    """The value as a finding may show it: personal numbers masked, free text scrubbed, credit codes as is."""
    if f.personal or f.check == "ric":
        return f"sgs_mask_id({expr})"
    if f.check == "uscc":
        return expr
    return f"sgs_mask_text({expr})"


def quoted(f: standard.Field, expr: str) -> str:
    """A message fragment ``“value”`` of the (masked) value."""
    return f"'“' || {shown(f, expr)} || '”'"


# Stored records (``<kind>_records``) hold text without surrounding whitespace (core.store.upsert_records),
# so the rules joining them on 文书号 (duplicate and portal rules) compare it as stored: a trim() on both sides
# of those joins cost seconds on a province's 17 M rows. Rules that also check uploaded files (sgs validate)
# keep trimming, as do emptiness tests (``present``).


def present(expr: str) -> str:
    """True when a stored value holds something (NULL and blank both count as absent). A value starting with
    printable ASCII or a character from U+3001 on does — a byte comparison, a tenth of trim()'s cost (a copy
    per value); only the others are trimmed (tests/test_validate_startup.py holds the two forms equal)."""
    return (f"CASE WHEN ({expr} >= '!' AND {expr} < '\u0080') OR {expr} >= '\u3001' THEN true "
            f"ELSE nullif(trim({expr}), '') IS NOT NULL END")


def page_read(alias: str | None = None) -> str:
    """SQL true for a record whose detail page was read (or that has none: its list row is the record).

    Why: a record whose detail page answered 404 (the department's ``dead_link`` problem) or could not be
    read holds only its list row; the fields only that page held are unknown, not proven missing, so the
    completeness rules skip such records instead of adding a second finding for the same problem
    (``detail_status``, core.store.RECORD_META_COLUMNS)."""
    return f"{alias + '.' if alias else ''}detail_status IS NULL"


def union_all(selects: Iterable[str | None]) -> str | None:
    """Join SELECTs with UNION ALL; None when there is nothing to select."""
    parts = [s for s in selects if s]
    return "\nUNION ALL\n".join(parts) if parts else None


def finding(source: str, field: str, value: str, message: str, where: str, key: str = "record_key") -> str:
    """One finding SELECT: record key, field code, value and message expressions over ``source`` (``key``
    names the assessed record's key column when ``source`` is a join, e.g. ``a.record_key``)."""
    return (f"SELECT {key} AS record_key, {lit(field)} AS field, CAST({value} AS VARCHAR) AS value, "
            f"{message} AS message FROM {source} WHERE {where}")


def registry_fields(std: standard.Standard, with_page_fields: bool = False) -> tuple[standard.Field, ...]:
    """The kind's registry fields, plus the page fields (``FBRQ``) when a rule also covers those."""
    return (*std.fields, *standard.page_fields()) if with_page_fields else std.fields


def failing_values(con: duckdb.DuckDBPyConnection, ctx: Context, codes: Iterable[str], ok_macro: str, name: str) -> str:
    """Temp table ``name`` of the distinct non-NULL values of fields ``codes`` in ``ctx.source`` that fail
    ``ok_macro`` (``uscc_ok``/``ric_ok``, core.codes); returns the name, for ``value IN (SELECT value …)``.

    Why: the check-character macros run list lambdas, far too slow for every row of a province (10 M rows,
    minutes), while a province has few distinct codes. The distinct values are stored first and the valid
    ones deleted: in a single query DuckDB pushes the check below the DISTINCT (docs/bench-score.md)."""
    values = " UNION ".join(f"SELECT {c} AS value FROM {ctx.source}" for c in codes)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT value FROM ({values}) WHERE value IS NOT NULL")
    con.execute(f"DELETE FROM {name} WHERE {ok_macro}(value)")
    return name


# --- periods, channels and evidence for the rules beyond one record -------------------------------

def day(d: date) -> str:
    """A SQL DATE literal."""
    return f"DATE '{d.isoformat()}'"


def as_date(expr: str) -> str:
    """A stored value as a DATE when it is a plausible date, else NULL: the SQL side of the one decision in
    ``core.normalize.plausible_date``. DuckDB's cast alone takes ``0001-01-01``, ``9999-12-31`` and
    two-digit years (``26-1-5`` is the year 26), which the normaliser keeps as text for date_invalid to name;
    every rule reads record dates through this, so such a value is never a date to one rule and not another."""
    cast = f"TRY_CAST({expr} AS DATE)"
    return f"(CASE WHEN {cast} BETWEEN {day(EARLIEST_DATE)} AND {day(LATEST_DATE)} THEN {cast} END)"


def decided_in(kind: str, period: Period, alias: str = "r") -> str:
    """SQL true when a stored record's decision date (its first-seen day when that is not a date) is in
    ``period``: the one period membership — the assessed site records (metrics.scoring.stage_assessed) and the
    rules reading other records (``decided_in_period``) use it."""
    jdrq = standard.load(kind).prefixed("JDRQ")
    return (f"coalesce({as_date(f'{alias}.{jdrq}')}, CAST({alias}.first_seen AS DATE)) "
            f"BETWEEN {day(period.start)} AND {day(period.end)}")


def decided_in_period(ctx: Context, alias: str = "r") -> str:
    """``decided_in`` for the rule's kind and ``ctx.period``."""
    assert ctx.period is not None, "called only for a scored period"
    return decided_in(ctx.kind, ctx.period, alias)


def stated_date(alias: str) -> str:
    """The publication date a stored record's page states (``FBRQ``) as a DATE, when it is credible: a real
    date not after the day sgs first saw the record (a page cannot have been published after we saw it).
    NULL otherwise — then only sightings can say when it was published (``sightings``)."""
    fbrq = as_date(f"{alias}.FBRQ")
    return f"CASE WHEN {fbrq} <= CAST({alias}.first_seen AS DATE) THEN {fbrq} END"


def published_on(stated: str, seen: str) -> str:
    """SQL: the day a record was published by the evidence — the credible stated date (``stated_date``), else
    the day sgs first saw it (it was published by then). ``stated`` and ``seen`` are DATE expressions."""
    return f"coalesce({stated}, {seen})"


def portal_records(ctx: Context, attributed: bool = True) -> str:
    """The kind's portal records with ``_jdrq`` and ``_stated``; only those attributed to a department
    unless ``attributed`` is false (rules that match by 文书号 alone, like portal_missing)."""
    jdrq = ctx.std.prefixed("JDRQ")
    only = " AND p.dept_id IS NOT NULL" if attributed else ""
    return (f"(SELECT p.*, {as_date(f'p.{jdrq}')} AS _jdrq, {stated_date('p')} AS _stated "
            f"FROM {ctx.records_table} p WHERE p.channel = 'portal'{only})")


# --- evidence of when a record was published -------------------------------------------------------
# A verdict on timeliness rests on evidence only (docs/scoring.md, "What the evidence cannot decide"):
# a date the page states, or sightings — the day sgs first saw the record (it was published by then) and
# the last complete crawl of its column before that which did not list it (it was published after).

def complete_walks() -> str:
    """(source_id, crawl_id, started_at, finished_at, fetch_id, url): every complete walk of a source — a
    run that ended ``ok``, so every page of its list was read — with the first list page it archived, the
    evidence of what the column listed at that time."""
    return """(SELECT w.source_id, w.crawl_id, w.started_at, w.finished_at, l.fetch_id, l.url
        FROM source_runs w LEFT JOIN (
            SELECT crawl_id, source_id, arg_min(fetch_id, fetched_at) AS fetch_id, arg_min(url, fetched_at) AS url
            FROM fetches WHERE role = 'list' AND warc_file IS NOT NULL GROUP BY ALL) l USING (crawl_id, source_id)
        WHERE w.status = 'ok' AND w.finished_at IS NOT NULL)"""


def sightings(records: str) -> str:
    """``records`` (a relation with record_key, source_id and first_seen) with ``absent_at``,
    ``absent_fetch_id`` and ``absent_url``: the start of the latest complete walk of the record's source
    that ended before the record was first seen — the record was not yet listed then (observed absence).
    NULL when no such walk exists (the record was there at the column's first complete crawl).

    An ASOF join (the latest walk per record), not a join with every walk: a column crawled daily for a
    year has hundreds of walks."""
    return f"""(SELECT r.*, w.started_at AS absent_at, w.fetch_id AS absent_fetch_id, w.url AS absent_url
        FROM {records} r ASOF LEFT JOIN {complete_walks()} w
             ON r.source_id = w.source_id AND r.first_seen > w.finished_at)"""


VERDICTS = ("late_stated", "late_absent", "unverified")  # besides on time


def verdict(stated: str, seen: str, absent_at: str, deadline: str) -> str:
    """SQL: how the evidence judges a publication against ``deadline`` — ``late_stated`` (the stated date
    is after it), ``late_absent`` (a complete crawl made after it did not list the record yet),
    ``on_time`` (stated on or before it, or first seen by then) or ``unverified`` (neither proves anything:
    undated, first seen after the deadline, and no complete crawl after the deadline before that)."""
    return (f"CASE WHEN {stated} IS NOT NULL THEN CASE WHEN {stated} > {deadline} THEN 'late_stated' "
            f"ELSE 'on_time' END WHEN {seen} <= {deadline} THEN 'on_time' "
            f"WHEN CAST({absent_at} AS DATE) > {deadline} THEN 'late_absent' ELSE 'unverified' END")


def evidence_text(verdict_col: str, stated: str, fbrq: str, seen: str, absent_at: str, where: str) -> str:
    """SQL: the sentence saying what the verdict rests on (``where`` names the channel: 页面, 信用网站)."""
    return f"""CASE {verdict_col}
        WHEN 'late_stated' THEN '{where}标明的发布日期为' || CAST({stated} AS VARCHAR)
        WHEN 'late_absent' THEN '{where}未标明可采信的发布日期；' || strftime({absent_at}, '%Y-%m-%d %H:%M')
             || ' 完整采集该栏目时尚未列出该记录，' || CAST({seen} AS VARCHAR) || ' 首次采集到'
        ELSE CASE WHEN {fbrq} IS NOT NULL THEN '{where}标明的发布日期' || CAST({fbrq} AS VARCHAR) || '晚于首次采集日，不予采信；'
                  ELSE '{where}未标明发布日期；' END
             || '首次采集于' || CAST({seen} AS VARCHAR) || '，已过公示期限，'
             || CASE WHEN {absent_at} IS NULL THEN '此前没有该栏目的完整采集'
                     ELSE '此前最近一次完整采集（' || strftime({absent_at}, '%Y-%m-%d') || '）未过期限' END
             || '，无法核验是否按时公示' END"""


def late_findings(table: str, deadline_text: str, evidence: str, stated: str, seen: str) -> str:
    """SQL: the late findings of a table of verdicts (``t.verdict``, ``t.deadline``, ``t.absent_at``,
    ``t.absent_fetch_id`` and the columns ``stated``/``seen``): one wording of lateness for the site and the
    portal — the deadline, what the verdict rests on, and by how many days (at least, when only an observed
    absence shows it); the crawl that did not list the record is cited as ``ref_fetch_id``."""
    late_by = (f"date_diff('day', t.deadline, CASE t.verdict WHEN 'late_stated' THEN t.{stated} "
               "ELSE CAST(t.absent_at AS DATE) END)")
    message = (f"{deadline_text} || {evidence} || '，逾期' "
               f"|| CASE WHEN t.verdict = 'late_absent' THEN '至少' ELSE '' END || CAST({late_by} AS VARCHAR) || '天'")
    return f"""
SELECT t.record_key, 'FBRQ' AS field, CAST({published_on(f't.{stated}', f't.{seen}')} AS VARCHAR) AS value,
       {message} AS message, t.absent_fetch_id AS ref_fetch_id
FROM {table} t WHERE t.verdict IN ('late_stated', 'late_absent')"""


def materialize(con: duckdb.DuckDBPyConnection, name: str, rows_sql: str) -> str:
    """Store a rule's finding rows in temp table ``name`` (from its ``prepare``); its findings_sql reads them.

    Why: scoring runs every rule in one INSERT, and DuckDB holds every join's hash table of that statement at
    once. A rule whose join is large (millions of portal rows) runs on its own instead, so the big statement
    keeps to its memory limit (it ran out of a 3 GB limit on a province, docs/bench-score.md)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {rows_sql}")
    return name


def portal_dates_table(ctx: Context) -> str:
    """The name of the kind's table made by ``portal_dates`` (a rule's SQL names it; its prepare makes it)."""
    return f"portal_dates_{ctx.kind}"


def portal_dates(con: duckdb.DuckDBPyConnection, ctx: Context) -> str:
    """Temp table ``portal_dates_<kind>``: every 文书号 on the credit portal (stored trimmed) with the evidence of
    when it was published there — ``stated`` (the earliest credible 公示日期), ``seen`` (the day sgs first
    saw it), and for an undated one ``absent_at``/``absent_fetch_id`` (the last complete crawl of the portal
    channel before that, which did not list it: ``sightings``); returns its name. Made once per scoring run
    and kind (``ctx.prepared``): portal_missing and portal_late both match site records against it, and
    building it is the expensive part of both (millions of portal rows grouped)."""
    name = portal_dates_table(ctx)
    if name not in ctx.prepared:
        wsh = ctx.std.prefixed("WSH")
        rows = (f"(SELECT {wsh} AS wsh, record_key, source_id, first_seen, _stated "
                f"FROM {portal_records(ctx, attributed=False)} WHERE {wsh} IS NOT NULL)")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT wsh, min(_stated) AS stated, CAST(min(first_seen) AS DATE) AS seen,
                   arg_min(absent_at, first_seen) AS absent_at, arg_min(absent_fetch_id, first_seen) AS absent_fetch_id
            FROM (SELECT * FROM {sightings(f"(SELECT * FROM {rows} WHERE _stated IS NULL)")}
                  UNION ALL BY NAME SELECT * FROM {rows} WHERE _stated IS NOT NULL)
            GROUP BY wsh""")
        ctx.prepared.add(name)
    return name


def column_evidence(ctx: Context) -> str:
    """(dept_id, url, fetch_id): the department's 双公示 column as last archived — the first page fetched
    of its site source of this kind in the latest crawl, else of its other kind. Department-level findings
    (nothing published, catalogue absent, column stale) point there: it is what the column showed."""
    return f"""(SELECT dept_id, url, fetch_id FROM (
        SELECT s.dept_id, f.url, f.fetch_id, row_number() OVER (
            PARTITION BY s.dept_id ORDER BY (s.kind = {lit(ctx.kind)}) DESC, c.started_at DESC, f.fetched_at) AS n
        FROM sources s JOIN fetches f ON f.source_id = s.source_id JOIN crawls c ON c.crawl_id = f.crawl_id
        WHERE s.channel = 'site' AND s.dept_id IS NOT NULL AND f.warc_file IS NOT NULL AND f.status < 400)
      WHERE n = 1)"""


def department_rows(dept: str, field: str | None, value: str, message: str, url: str, fetch_id: str, source: str,
                    where: str = "true", field_expr: str | None = None) -> str:
    """One department-level SELECT: (dept_id, field, value, message, url, fetch_id) over ``source``; the field
    is the code ``field``, or the SQL ``field_expr`` when it varies by row."""
    return (f"SELECT {dept} AS dept_id, {field_expr or lit(field or '')} AS field, CAST({value} AS VARCHAR) AS value, "
            f"{message} AS message, {url} AS url, {fetch_id} AS fetch_id FROM {source} WHERE {where}")


def simple_procedure(ctx: Context, alias: str) -> str:
    """SQL true for a penalty decided under 简易程序 (data/policy/publication_periods.toml says how it is
    recognised: marks in the 文书号, in 处罚内容 or 备注, or a ledger row of the same department saying so)."""
    from metrics.checks._policy import load_policy

    if ctx.kind != "cf":
        return "false"
    policy = load_policy()
    wsh = f"coalesce({alias}.CF_WSH, '')"
    text = f"coalesce({alias}.CF_NR, '') || ' ' || coalesce({alias}.BZ, '')"
    marks = [f"contains({wsh}, {lit(m)})" for m in policy.wsh_marks]
    marks += [f"contains({text}, {lit(m)})" for m in policy.text_marks]
    # an uncorrelated IN (a hash semi join), not a correlated EXISTS: DuckDB would materialise every column
    # of the records for the correlated form (docs/bench-score.md); coalesced, as EXISTS is never NULL
    marks.append(f"coalesce(({alias}.dept_id, trim({alias}.CF_WSH)) IN (SELECT dept_id, wsh FROM ledger "
                 f"WHERE kind = 'cf' AND procedure = '简易程序'), false)")
    return "(" + " OR ".join(marks) + ")"


def natural_person(ctx: Context, alias: str) -> str:
    """SQL true for a record whose 相对人类别 (through its aliases) is 自然人; NULL counts as not."""
    column = f"{alias}.{ctx.std.prefixed('XDR_LB')}"
    return f"coalesce({canonical(standard.enums()['XDR_LB'], f'trim({column})')} = '自然人', false)"


def availability_sql(ctx: Context, problem: str, what: str) -> str | None:
    """Department-level rows for one availability problem the crawler recorded (table ``availability``).

    A period is judged by the crawls that ran in it; a period assessed after the fact (no crawl ran in it)
    by the first crawl after its end — the state first observed once the period was over.
    """
    if ctx.period is None:
        return None
    start, end = day(ctx.period.start), day(ctx.period.end)
    crawls = f"""(SELECT crawl_id FROM crawls WHERE CAST(started_at AS DATE) BETWEEN {start} AND {end}
        UNION ALL
        SELECT * FROM (SELECT crawl_id FROM crawls WHERE CAST(started_at AS DATE) > {end}
                       AND NOT EXISTS (SELECT 1 FROM crawls WHERE CAST(started_at AS DATE) BETWEEN {start} AND {end})
                       ORDER BY started_at LIMIT 1))"""
    events = f"""(SELECT * FROM availability WHERE dept_id IS NOT NULL AND kind = {lit(ctx.kind)}
        AND problem = {lit(problem)} AND crawl_id IN {crawls}
        QUALIFY row_number() OVER (PARTITION BY dept_id, url ORDER BY observed_at DESC) = 1) a"""
    message = f"{lit(what + '：')} || a.detail || '（' || a.url || '）'"
    return department_rows("a.dept_id", "URL", "a.url", message, "a.url", "a.fetch_id", events)


def channel_words(column: str) -> str:
    """SQL: where a record is published, as its department reads it in a message (本部门网站 / 信用网站,
    the words of ``core.vocab.CHANNEL_NAMES``)."""
    return f"CASE {column} WHEN 'portal' THEN {lit(CHANNEL_NAMES['portal'])} ELSE {lit('本' + CHANNEL_NAMES['site'])} END"

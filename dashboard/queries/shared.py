"""Every query the dashboard runs, on the current published snapshot only, filtered for the viewer.

Why this shape:

* The working database belongs to the pipeline (one writer, no readers beside it), so a query opens the
  published snapshot read-only through ``core.store.open_snapshot``, runs, and closes. No connection
  outlives a call: DuckDB connections are not thread-safe and Streamlit serves sessions from many threads.
* Access is enforced here, not in the pages: every function about departments' data takes the ``Viewer``
  and its SQL carries ``($scope IS NULL OR dept_id = $scope)``, so a department user's queries return only
  its own department whatever department id a page, widget or URL parameter passes in.
* Results are cached with ``st.cache_data`` keyed by the snapshot's *file name* (the first argument of every
  cached function) and the viewer. Snapshots are immutable, so a cached answer never goes stale; a new
  publish changes the name and therefore the key. Queries that show a finding's status also take the
  workbench's version (its newest decision id), so a decision shows on the next run.
* Big tables are never scanned for a page: rankings come from ``scores``/``county_scores``/``deductions``,
  findings are paged in SQL (ORDER BY … LIMIT/OFFSET) and joined to their records only for the page.
* Pages call these functions and never write SQL. Every value taken from records or findings comes back
  masked (``core.privacy``); natural persons' names too when the users file asks for it. So do the URLs and
  error texts of crawls, findings and archived pages (a detail page named after its subject's ID number): the
  archive keeps the real URL, the screen shows it masked.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable

import pandas as pd
import streamlit as st

from dashboard import workbench
from dashboard.auth import Viewer
from metrics import results
from core import standard, store
from metrics.checks import INDICATORS
from core.periods import PeriodError, parse_period
from core.privacy import holds_personal, mask_person_name, mask_text, mask_whole
from metrics.scoring import load_scheme
from core.settings import resolve_paths

RULE_NAMES: dict[str, str] = results.RULE_NAMES
KIND_LABELS: dict[str, str] = {"xk": "许可", "cf": "处罚"}
PERSON = "自然人"
GRADES: tuple[str, ...] = tuple(name for name, _ in load_scheme().grades)  # best first, from the scheme
PAGE_SIZE = 50
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_CACHE = {"max_entries": 512, "show_spinner": False}
_INDICATOR_ORDER = "CASE f.indicator " + " ".join(
    f"WHEN '{k}' THEN {i}" for i, k in enumerate(INDICATORS, 1)) + " ELSE 9 END"


# --- the snapshot -------------------------------------------------------------------------------

def snapshot_name() -> str | None:
    """The current snapshot's file name (the cache key), or None before anything was published.

    Read on every script run (it is one small file) so a publish shows on the next interaction.
    """
    snap = store.current_snapshot(resolve_paths())
    return snap.name if snap is not None else None


def _frame(snapshot: str, sql: str, params: dict[str, Any] | None = None,
           tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Run one parameterised query on the named snapshot, opened read-only just for this call.

    ``tables`` are registered as views first (the workbench's decisions, which live outside the snapshot).
    """
    con = store.open_snapshot(resolve_paths(), snapshot)
    try:
        for name, df in (tables or {}).items():
            con.register(name, df)
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def _on(snapshot: str, query: Callable[..., Any], *args: Any) -> Any:
    """Call one of the shared queries (``metrics.results``) on the named snapshot, opened just for this call."""
    con = store.open_snapshot(resolve_paths(), snapshot)
    try:
        return query(con, *args)
    finally:
        con.close()


def _decisions() -> dict[str, pd.DataFrame]:
    """The workbench's latest decision per finding, as a table the findings queries join."""
    df = workbench.latest(resolve_paths())
    return {"_decisions": df.astype({c: "string" for c in df.columns})}


_records = results.df_records  # rows as dicts, pandas' missing markers as None
_missing = results.is_missing


# --- periods and data time (no department's data: the same for every viewer) ---------------------

def period_sort_key(period: str) -> tuple:
    """Order periods by the day they end, a quarter after its last month (string order would put
    ``2026Q1`` after ``2026-12``); shapes sgs does not know sort first."""
    try:
        p = parse_period(period)
    except PeriodError:
        return (date.min, False)
    return (p.end, p.is_quarter)


previous_period = results.previous_period  # one definition, shared with the reports


@st.cache_data(**_CACHE)
def periods(snapshot: str) -> list[str]:
    """Periods that have scores, latest first."""
    df = _frame(snapshot, "SELECT DISTINCT period FROM scores")
    return sorted(df["period"].tolist(), key=period_sort_key, reverse=True)


@st.cache_data(**_CACHE)
def data_time(snapshot: str) -> datetime | None:
    """When the snapshot's scores were computed (the newest ``computed_at``)."""
    value = _frame(snapshot, "SELECT max(computed_at) AS t FROM scores")["t"].iloc[0]
    return None if _missing(value) else pd.Timestamp(value).to_pydatetime()


# --- overview -----------------------------------------------------------------------------------

@st.cache_data(**_CACHE)
def headline(snapshot: str, viewer: Viewer, period: str, wb_version: int = 0) -> dict[str, Any]:
    """City-wide figures for a period and the period before (``metrics.results.headline``), for the viewer's
    scope; open findings follow the workbench."""
    decisions = _decisions()["_decisions"]
    return _on(snapshot, results.headline, period, viewer.scope, decisions)


@st.cache_data(**_CACHE)
def department_ranking(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Departments' scores in rank order with the change since the period before (``metrics.results``)."""
    return _on(snapshot, results.department_ranking, period, viewer.scope)


@st.cache_data(**_CACHE)
def county_ranking(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Counties' (and 市本级's) scores in rank order with their change; a department user sees its county."""
    return _on(snapshot, results.county_ranking, period, viewer.scope)


@st.cache_data(**_CACHE)
def trend(snapshot: str, viewer: Viewer) -> pd.DataFrame:
    """Mean total by month, city-wide (county ``全市``) and per county, for the trend chart."""
    df = _frame(
        snapshot,
        """
        SELECT period, coalesce(county, '全市') AS county, avg(total) AS total
        FROM scores
        WHERE regexp_full_match(period, '\\d{4}-\\d{2}') AND ($scope IS NULL OR dept_id = $scope)
        GROUP BY GROUPING SETS ((period), (period, county))
        """,
        {"scope": viewer.scope},
    )
    return df.sort_values(["period", "county"], key=lambda s: s.map(period_sort_key) if s.name == "period" else s)


@st.cache_data(**_CACHE)
def problem_counts(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Findings per rule for the period, most frequent first (``metrics.results.problem_counts``)."""
    return _on(snapshot, results.problem_counts, period, viewer.scope)


# --- departments --------------------------------------------------------------------------------

@st.cache_data(**_CACHE)
def departments(snapshot: str, viewer: Viewer) -> pd.DataFrame:
    """The departments the viewer may see (id, name, county), grouped by county."""
    return _frame(
        snapshot,
        """
        SELECT dept_id, name, county
        FROM departments
        WHERE ($scope IS NULL OR dept_id = $scope)
        ORDER BY county = '市本级' DESC, county, name, dept_id
        """,
        {"scope": viewer.scope},
    )


@st.cache_data(**_CACHE)
def department_score(snapshot: str, viewer: Viewer, period: str, dept_id: str) -> dict[str, Any] | None:
    """One department's score row (with ``standing`` and ``n_unverified``) and the sizes of the rankings it is
    placed in (ranked departments only); None outside the scope."""
    df = _frame(
        snapshot,
        """
        SELECT s.*, coalesce(d.name, s.dept_id) AS name,
               coalesce(s.prev_total, p.total) AS prev_total_shown, coalesce(s.prev_rank, p.rank) AS prev_rank_shown,
               (SELECT count(*) FROM scores WHERE period = $period AND standing = 'ranked') AS n_ranked,
               (SELECT count(*) FROM scores x WHERE x.period = $period AND x.county = s.county
                                               AND x.standing = 'ranked') AS n_in_county
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN scores p ON p.period = $prev AND p.dept_id = s.dept_id
        WHERE s.period = $period AND s.dept_id = $dept AND ($scope IS NULL OR s.dept_id = $scope)
        """,
        {"period": period, "prev": previous_period(period), "dept": dept_id, "scope": viewer.scope},
    )
    rows = _records(df)
    return rows[0] if rows else None


@st.cache_data(**_CACHE)
def deductions(snapshot: str, viewer: Viewer, period: str, dept_id: str) -> pd.DataFrame:
    """How the department's score was made: one row per rule that cost points (``total = 100 − Σ points``)."""
    df = _frame(
        snapshot,
        """
        SELECT indicator, rule_id, n_findings, n_records, points, how
        FROM deductions
        WHERE period = $period AND dept_id = $dept AND ($scope IS NULL OR dept_id = $scope)
        ORDER BY points DESC, rule_id
        """,
        {"period": period, "dept": dept_id, "scope": viewer.scope},
    )
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    return df


@st.cache_data(**_CACHE)
def finding_counts(snapshot: str, viewer: Viewer, period: str, dept_id: str | None) -> dict[str, int]:
    """Number of findings per indicator for a department (or all the viewer sees) and period."""
    df = _frame(
        snapshot,
        """
        SELECT indicator, count(*) AS n
        FROM findings
        WHERE period = $period AND ($dept IS NULL OR dept_id = $dept) AND ($scope IS NULL OR dept_id = $scope)
        GROUP BY indicator
        """,
        {"period": period, "dept": dept_id, "scope": viewer.scope},
    )
    return {str(r["indicator"]): int(r["n"]) for r in _records(df)}


@st.cache_data(**_CACHE)
def rules_found(snapshot: str, viewer: Viewer, period: str, dept_id: str | None) -> list[str]:
    """The rule ids with findings in the period (the rule filter's options)."""
    df = _frame(snapshot, """
        SELECT DISTINCT rule_id FROM findings
        WHERE period = $period AND ($dept IS NULL OR dept_id = $dept) AND ($scope IS NULL OR dept_id = $scope)
        ORDER BY rule_id""", {"period": period, "dept": dept_id, "scope": viewer.scope})
    return df["rule_id"].tolist()


# --- 未能核验: what the evidence could not decide (never deducted; the department checks it) --------

@st.cache_data(**_CACHE)
def unverified_total(snapshot: str, viewer: Viewer, period: str, dept_id: str | None = None) -> int:
    """How many 未能核验 rows the department (or all the viewer sees) has in the period."""
    return _on(snapshot, results.unverified_total, period, viewer.scope, dept_id)


@st.cache_data(**_CACHE)
def unverified(snapshot: str, viewer: Viewer, period: str, dept_id: str | None = None,
               limit: int | None = PAGE_SIZE, offset: int = 0, mask_names: bool = False) -> pd.DataFrame:
    """One page of the 未能核验 rows (``metrics.results.unverified``, limited to the viewer's scope in SQL),
    each with its record's 相对人名称 and 决定日期, masked like the findings."""
    con = store.open_snapshot(resolve_paths(), snapshot)
    try:
        df = results.unverified(con, period, viewer.scope, dept_id, limit, offset)
        records = _lookup_records(con, df).rename(columns={"wsh": "rec_wsh"})
    finally:
        con.close()
    df = df.merge(records, how="left", on=["kind", "record_key"])
    df["n"] = range(offset + 1, offset + len(df) + 1)
    for col in ("wsh", "what", "reason", "jdrq"):
        df[col] = df[col].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url"] = df["url"].map(_shown_url)
    return df.drop(columns=["rec_url"])  # the record's own URL, unmasked, is not shown here


# --- findings: the remediation list and the assessor's list --------------------------------------

def _findings_where(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause for the findings filters; only the filters given join anything."""
    where = ["f.period = $period", "($scope IS NULL OR f.dept_id = $scope)"]
    params = {"period": filters["period"], "scope": filters["scope"]}
    for key, column in (("dept_id", "f.dept_id"), ("indicator", "f.indicator"), ("rule_id", "f.rule_id")):
        if filters.get(key):
            where.append(f"{column} = ${key}")
            params[key] = filters[key]
    if filters.get("status"):
        where.append("coalesce(dec.status, f.status) = $status")
        params["status"] = filters["status"]
    if filters.get("search"):
        # the finding carries its record's 文书号 and 相对人名称 (schema 005): a scan of the period's findings,
        # not of every record
        where.append("""(contains(f.message, $search) OR contains(f.value, $search)
            OR contains(f.wsh, $search) OR contains(f.subject, $search))""")
        params["search"] = filters["search"]
    return " AND ".join(where), params


def _filters(viewer: Viewer, period: str, dept_id: str | None, indicator: str | None, rule_id: str | None,
             status: str | None, search: str | None) -> dict[str, Any]:
    return {"scope": viewer.scope, "period": period, "dept_id": dept_id, "indicator": indicator,
            "rule_id": rule_id, "status": status, "search": (search or "").strip() or None}


@st.cache_data(**_CACHE)
def findings_total(snapshot: str, viewer: Viewer, period: str, *, dept_id: str | None = None,
                   indicator: str | None = None, rule_id: str | None = None, status: str | None = None,
                   search: str | None = None, wb_version: int = 0) -> int:
    """How many findings match the filters (for the pager)."""
    where, params = _findings_where(_filters(viewer, period, dept_id, indicator, rule_id, status, search))
    df = _frame(snapshot, f"SELECT count(*) AS n FROM findings f LEFT JOIN _decisions dec USING (finding_id) "
                          f"WHERE {where}", params, _decisions())
    return int(df["n"].iloc[0])


@st.cache_data(**_CACHE)
def findings(snapshot: str, viewer: Viewer, period: str, *, dept_id: str | None = None,
             indicator: str | None = None, rule_id: str | None = None, status: str | None = None,
             search: str | None = None, limit: int | None = PAGE_SIZE, offset: int = 0, wb_version: int = 0,
             mask_names: bool = False) -> pd.DataFrame:
    """One page of findings (``limit=None``: all, for the Excel download), with record and evidence.

    The record gives the 文书号 and 相对人名称 people search their own systems by; the fetch gives the
    archived copy (``warc_file#offset``) that proves what the page said when it was read. The page of
    findings is cut first and only its rows are joined to records, so a page costs the same on a province.
    """
    where, params = _findings_where(_filters(viewer, period, dept_id, indicator, rule_id, status, search))
    params.update(limit=limit, offset=offset)
    order = f"{_INDICATOR_ORDER}, f.dept_id, f.kind, f.rule_id, f.record_key NULLS LAST, f.field NULLS LAST, f.finding_id"
    con = store.open_snapshot(resolve_paths(), snapshot)
    try:
        for name, table in _decisions().items():
            con.register(name, table)
        df = con.execute(f"""
            SELECT f.finding_id, f.period, f.dept_id, coalesce(d.name, f.dept_id) AS dept_name, f.kind, f.record_key,
                   f.rule_id, f.indicator, f.severity, f.field, f.value, f.message, f.url, f.fetch_id, f.ref_fetch_id,
                   coalesce(dec.status, f.status) AS status, dec.reason AS decision_reason,
                   dec.username AS decided_by, dec.at AS decided_at
            FROM findings f LEFT JOIN _decisions dec USING (finding_id) LEFT JOIN departments d USING (dept_id)
            WHERE {where}
            ORDER BY {order}
            LIMIT $limit OFFSET $offset""", params).df()
        df["n"] = range(offset + 1, offset + len(df) + 1)  # the row's place in the whole filtered list
        records = _lookup_records(con, df)
        df = df.merge(records, how="left", on=["kind", "record_key"])
        df["evidence"] = df["fetch_id"].where(df["fetch_id"].notna(), df["rec_fetch_id"])
        df["page_url"] = df["url"].where(df["url"].notna(), df["rec_url"])
        df = df.merge(_lookup_fetches(con, df["evidence"]), how="left", on="evidence")
    finally:
        con.close()
    for col in ("value", "message", "wsh"):
        df[col] = df[col].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url_personal"] = df["page_url"].map(holds_personal)  # shown masked: no longer a working link
    df["url"] = df["page_url"].map(_shown_url)
    df = df.drop(columns=["page_url", "rec_url"])
    df["field_name"] = [field_name(k, c) for k, c in zip(df["kind"], df["field"])]
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    df["status_name"] = df["status"].map(lambda s: workbench.STATUSES.get(s, s))
    df["archive"] = [
        f"{w}#{int(o)}" if not _missing(w) and not _missing(o) else None
        for w, o in zip(df["warc_file"], df["warc_offset"])
    ]
    return df


def _in_list(values) -> str:
    """A SQL list literal of keys, so DuckDB looks them up in the primary-key index (a join would scan)."""
    keys = sorted({str(v) for v in values if isinstance(v, str)})
    return "(" + ", ".join("'" + k.replace("'", "''") + "'" for k in keys) + ")" if keys else "(NULL)"


def _lookup_records(con, page: pd.DataFrame) -> pd.DataFrame:
    """The page's records (文书号, 相对人名称 and 类别, 决定日期, url, fetch) by primary key, one indexed lookup
    per kind."""
    parts = [pd.DataFrame({c: pd.Series(dtype="str") for c in
                           ("kind", "record_key", "wsh", "xdr_mc", "xdr_lb", "jdrq", "rec_url", "rec_fetch_id")})]
    for kind in standard.KINDS:
        keys = page.loc[page["kind"] == kind, "record_key"].dropna()
        if keys.empty:  # an empty IN list would not use the index
            continue
        k = kind.upper()
        parts.append(con.execute(
            f"""SELECT '{kind}' AS kind, record_key, {k}_WSH AS wsh, {k}_XDR_MC AS xdr_mc, {k}_XDR_LB AS xdr_lb,
                       {k}_JDRQ AS jdrq, url AS rec_url, fetch_id AS rec_fetch_id
                FROM {store.record_table(kind)} WHERE record_key IN {_in_list(keys)}""").df())
    return pd.concat(parts, ignore_index=True)


def _lookup_fetches(con, fetch_ids: pd.Series) -> pd.DataFrame:
    if fetch_ids.dropna().empty:
        return pd.DataFrame({"evidence": pd.Series(dtype="str"), "fetched_at": pd.Series(dtype="datetime64[us]"),
                             "warc_file": pd.Series(dtype="str"), "warc_offset": pd.Series(dtype="Int64")})
    return con.execute(f"""SELECT fetch_id AS evidence, fetched_at, warc_file, warc_offset FROM fetches
                           WHERE fetch_id IN {_in_list(fetch_ids)}""").df()


def _name(value: Any, category: Any, mask_names: bool) -> Any:
    """A 相对人名称 as shown: masked text, and a natural person's name reduced to the surname if configured."""
    value = mask_text(value)
    return mask_person_name(value) if mask_names and category == PERSON else value


def _web_url(url: Any) -> str | None:
    """Only http(s) addresses become links: a page's URL is crawled input and must not carry a script."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else None


def _shown_url(url: Any) -> str | None:
    """A page's URL as shown: an http(s) address, ID and mobile numbers in it masked."""
    return mask_text(_web_url(url))


def _masked(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The crawl's texts (URLs, error messages) with ID and mobile numbers masked, for display."""
    for col in columns:
        df[col] = df[col].map(mask_text)
    return df


field_name = standard.field_name  # one definition, shared with the reports


# --- one finding: its record, its evidence, a revealed value --------------------------------------

def shown_value(kind: str, code: str, value: Any, *, category: Any = None, mask_names: bool = False) -> Any:
    """A record field as the dashboard shows it: personal and ID fields masked whole, names if configured,
    credit codes as they are (public data about organisations), everything else with ID/phone runs masked."""
    if not isinstance(value, str):
        return value
    try:
        f = standard.load(kind).get(code)
    except (KeyError, FileNotFoundError):
        return mask_text(value)
    if f.personal or f.check == "ric":
        return mask_whole(value)
    if f.check == "uscc":
        return value
    if mask_names and category == PERSON and code.endswith("XDR_MC"):
        return mask_person_name(mask_text(value))
    return mask_text(value)


def maskable(kind: str, code: str) -> bool:
    """Fields whose value is masked whole on screen, i.e. that an assessor may reveal."""
    try:
        f = standard.load(kind).get(code)
    except (KeyError, FileNotFoundError):
        return False
    return f.personal or f.check == "ric" or code.endswith("XDR_MC")


@st.cache_data(**_CACHE)
def record_fields(snapshot: str, viewer: Viewer, kind: str, record_key: str, mask_names: bool = False) -> pd.DataFrame:
    """A record's standard fields in registry order (code, name, value shown), empty outside the scope."""
    if kind not in standard.KINDS:
        return pd.DataFrame(columns=["code", "name", "value"])
    df = _frame(snapshot, f"SELECT * FROM {store.record_table(kind)} "
                          "WHERE record_key = $key AND ($scope IS NULL OR dept_id = $scope)",
                {"key": record_key, "scope": viewer.scope})
    if df.empty:
        return pd.DataFrame(columns=["code", "name", "value"])
    row = _records(df)[0]
    category = row.get(f"{kind.upper()}_XDR_LB")
    fields = [(f.code, f.name) for f in standard.load(kind).fields] + [(f.code, f.name) for f in standard.page_fields()]
    return pd.DataFrame([
        {"code": code, "name": name,
         "value": shown_value(kind, code, row.get(code), category=category, mask_names=mask_names)}
        for code, name in fields if code in row])


def reveal(viewer: Viewer, snapshot: str, kind: str, record_key: str, code: str,
           finding_id: str | None = None) -> str | None:
    """One record field's unmasked value for an assessor, logged in the workbench store *before* it is read.

    Never cached: each reveal is one log row. Raises PermissionError for anyone but an assessor.
    """
    if not viewer.can_decide:
        raise PermissionError("只有评估人员可以查看原值。")
    if kind not in standard.KINDS or code not in store.record_columns(kind):
        raise ValueError(f"未知字段 {kind}/{code}")
    paths = resolve_paths()
    dept = _frame(snapshot, f"SELECT dept_id FROM {store.record_table(kind)} WHERE record_key = $key",
                  {"key": record_key})
    dept_id = None if dept.empty else dept["dept_id"].iloc[0]
    workbench.log_reveal(paths, viewer.username, field=code, dept_id=dept_id, kind=kind, record_key=record_key,
                         finding_id=finding_id)
    df = _frame(snapshot, f'SELECT "{code}" AS v FROM {store.record_table(kind)} WHERE record_key = $key',
                {"key": record_key})
    return None if df.empty or _missing(df["v"].iloc[0]) else str(df["v"].iloc[0])


@st.cache_data(**_CACHE)
def fetch_row(snapshot: str, viewer: Viewer, fetch_id: str) -> dict[str, Any] | None:
    """The archived response's index row, if the viewer may see it (a department: its own sources' pages and
    the pages its findings and 未能核验 rows cite, e.g. a credit-portal page)."""
    df = _frame(
        snapshot,
        """
        SELECT fe.fetch_id, fe.url, fe.fetched_at, fe.status, fe.content_type, fe.warc_file, fe.warc_offset,
               fe.sha256, s.dept_id
        FROM fetches fe LEFT JOIN sources s USING (source_id)
        WHERE fe.fetch_id = $fetch AND ($scope IS NULL OR s.dept_id = $scope
              OR fe.fetch_id IN (SELECT fetch_id FROM findings WHERE dept_id = $scope)
              OR fe.fetch_id IN (SELECT ref_fetch_id FROM findings WHERE dept_id = $scope)
              OR fe.fetch_id IN (SELECT fetch_id FROM unverified WHERE dept_id = $scope))
        """,
        {"fetch": fetch_id, "scope": viewer.scope},
    )
    rows = _records(df)
    if rows:
        rows[0]["url"] = mask_text(rows[0]["url"])  # shown with the archived page; the archive keeps it whole
    return rows[0] if rows else None


def archived_body(viewer: Viewer, snapshot: str, fetch_id: str) -> tuple[dict[str, Any], bytes] | None:
    """The archived response (index row, body) the viewer may see, read from the WARC archive; None if none."""
    from crawlers.archive import read_record  # the archive's one reader (ARCHITECTURE: evidence view)

    row = fetch_row(snapshot, viewer, fetch_id)
    if row is None or not row.get("warc_file") or row.get("warc_offset") is None:
        return None
    _headers, body = read_record(resolve_paths(), row["warc_file"], int(row["warc_offset"]))
    return row, body


# --- subjects, catalogues, sources ----------------------------------------------------------------

@st.cache_data(**_CACHE)
def subject_records(snapshot: str, viewer: Viewer, text: str, limit: int = 500, mask_names: bool = False) -> pd.DataFrame:
    """Every licensing and penalty record of a subject across departments: by exact 统一社会信用代码 when the
    text is one (18 characters), else by name (contains)."""
    text = (text or "").strip()
    if len(text) < 2:
        return pd.DataFrame()
    code = bool(_CREDIT_CODE.fullmatch(text.upper()))  # a code is matched exactly, anything else as a name part
    text = text.upper() if code else text
    parts = [
        f"""SELECT '{k}' AS kind, r.dept_id, coalesce(d.name, r.dept_id) AS dept_name, r.channel,
                   r.{k.upper()}_WSH AS wsh, r.{k.upper()}_XDR_MC AS xdr_mc, r.{k.upper()}_XDR_LB AS xdr_lb,
                   r.{k.upper()}_XDR_SHXYM AS shxym, r.{k.upper()}_JDRQ AS jdrq, r.url
            FROM {k}_records r LEFT JOIN departments d USING (dept_id)
            WHERE {f"r.{k.upper()}_XDR_SHXYM = $text" if code else f"contains(r.{k.upper()}_XDR_MC, $text)"}
              AND ($scope IS NULL OR r.dept_id = $scope)"""
        for k in standard.KINDS]
    df = _frame(snapshot, " UNION ALL ".join(parts) + " ORDER BY jdrq DESC NULLS LAST, kind, wsh LIMIT $limit",
                {"text": text, "scope": viewer.scope, "limit": limit})
    df["wsh"] = df["wsh"].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url"] = df["url"].map(_shown_url)
    return df


@st.cache_data(**_CACHE)
def catalogue(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Each 事项目录 item with the number of the period's records that name it (its coverage).

    A record names an item when its text holds the item's name (许可: 文书名称, 许可内容, 证书名称; 处罚:
    违法行为类型, 处罚事由) or, for a penalty, cites the item's basis as its 处罚依据.
    """
    p = parse_period(period)
    return _frame(
        snapshot,
        """
        WITH xk AS (SELECT dept_id, concat_ws(' ', XK_XKWS, XK_NR, XK_XKZS) AS t, NULL AS yj FROM xk_records
                    WHERE channel = 'site' AND XK_JDRQ BETWEEN $start AND $end AND ($scope IS NULL OR dept_id = $scope)),
             cf AS (SELECT dept_id, concat_ws(' ', CF_WFXW, CF_SY) AS t, CF_YJ AS yj FROM cf_records
                    WHERE channel = 'site' AND CF_JDRQ BETWEEN $start AND $end AND ($scope IS NULL OR dept_id = $scope))
        SELECT i.dept_id, coalesce(d.name, i.dept_id) AS dept_name, d.county, i.kind, i.item_code, i.name, i.basis,
               (SELECT count(*) FROM xk r WHERE i.kind = 'xk' AND r.dept_id = i.dept_id AND contains(r.t, i.name))
             + (SELECT count(*) FROM cf r WHERE i.kind = 'cf' AND r.dept_id = i.dept_id
                                            AND (contains(r.t, i.name) OR r.yj = i.basis)) AS n_records
        FROM catalogue_items i LEFT JOIN departments d USING (dept_id)
        WHERE ($scope IS NULL OR i.dept_id = $scope)
        ORDER BY d.county = '市本级' DESC, d.county, dept_name, i.kind DESC, i.item_code
        """,
        {"start": p.start.isoformat(), "end": p.end.isoformat(), "scope": viewer.scope},
    )


_FETCHED = """
    SELECT source_id, max(fetched_at) AS fetched_at, count(*) AS pages,
           count(*) FILTER (WHERE error IS NOT NULL OR status IS NULL OR status >= 400) AS errors,
           arg_max(error, fetched_at) FILTER (WHERE error IS NOT NULL) AS message
    FROM fetches WHERE source_id IS NOT NULL
    GROUP BY source_id, crawl_id
    QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY max(fetched_at) DESC) = 1"""


@st.cache_data(**_CACHE)
def source_status(snapshot: str, viewer: Viewer) -> pd.DataFrame:
    """Each source's last crawl: from ``source_runs`` when the crawler wrote them, else from its fetches
    (the fallback scans the fetches index, so it runs only for a snapshot without any source runs); the
    entry URL and the error message masked."""
    has_runs = bool(_frame(snapshot, "SELECT EXISTS (SELECT 1 FROM source_runs) AS x")["x"].iloc[0])
    fetched = "SELECT NULL::VARCHAR AS source_id, NULL::TIMESTAMP AS fetched_at, NULL::BIGINT AS pages, " \
              "NULL::BIGINT AS errors, NULL::VARCHAR AS message WHERE false" if has_runs else _FETCHED
    return _masked(_frame(
        snapshot,
        f"""
        WITH last_run AS (
            SELECT * FROM source_runs QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY started_at DESC) = 1),
        fetched AS ({fetched}),
        problems AS (SELECT source_id, count(*) AS n_problems FROM availability GROUP BY source_id)
        SELECT s.source_id, s.dept_id, coalesce(d.name, '信用网站') AS dept_name, s.channel, s.kind, s.start_url,
               coalesce(r.started_at, f.fetched_at) AS last_crawl,
               coalesce(r.status, CASE WHEN f.source_id IS NULL THEN NULL WHEN f.errors = 0 THEN 'ok'
                                       WHEN f.errors < f.pages THEN 'degraded' ELSE 'failed' END) AS status,
               coalesce(r.pages, f.pages) AS pages, r.records, coalesce(r.errors, f.errors) AS errors,
               coalesce(r.message, f.message) AS message, coalesce(p.n_problems, 0) AS n_problems
        FROM sources s
        LEFT JOIN departments d USING (dept_id)
        LEFT JOIN last_run r USING (source_id)
        LEFT JOIN fetched f USING (source_id)
        LEFT JOIN problems p USING (source_id)
        WHERE ($scope IS NULL OR s.dept_id = $scope)
        ORDER BY s.dept_id NULLS LAST, s.channel, s.kind
        """,
        {"scope": viewer.scope},
    ), "start_url", "message")


@st.cache_data(**_CACHE)
def source_runs(snapshot: str, viewer: Viewer, source_id: str | None = None, limit: int = 200) -> pd.DataFrame:
    """The crawl history of the viewer's sources, newest first (error messages masked)."""
    return _masked(_frame(
        snapshot,
        """
        SELECT r.started_at, r.source_id, r.status, r.pages, r.records, r.errors, r.message, r.crawl_id
        FROM source_runs r JOIN sources s USING (source_id)
        WHERE ($source IS NULL OR r.source_id = $source) AND ($scope IS NULL OR s.dept_id = $scope)
        ORDER BY r.started_at DESC LIMIT $limit
        """,
        {"source": source_id, "scope": viewer.scope, "limit": limit},
    ), "message")


@st.cache_data(**_CACHE)
def availability(snapshot: str, viewer: Viewer, source_id: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Problems crawls found with the viewer's sources (unreachable, column missing, …), newest first; the
    URL and the detail masked."""
    return _masked(_frame(
        snapshot,
        """
        SELECT a.observed_at, a.source_id, coalesce(d.name, '信用网站') AS dept_name, a.problem, a.url, a.detail
        FROM availability a LEFT JOIN departments d USING (dept_id)
        WHERE ($source IS NULL OR a.source_id = $source) AND ($scope IS NULL OR a.dept_id = $scope)
        ORDER BY a.observed_at DESC LIMIT $limit
        """,
        {"source": source_id, "scope": viewer.scope, "limit": limit},
    ), "url", "detail")


# --- documents (reports/): built on the first download, cached per snapshot, period and day -------------

DOCUMENT_ROLES = ("leader", "assessor")


@st.cache_data(max_entries=16, show_spinner=False)
def report_document(snapshot: str, viewer: Viewer, period: str, kind: str, day: str) -> bytes:
    """The assessment report (``kind="report"``) or workbook (``"workbook"``) of the period, for leaders and
    assessors only; ``day`` is the report date (the deadline counts from it)."""
    from reports import build as reports  # matplotlib and python-docx load only when a document is asked for

    if viewer.role not in DOCUMENT_ROLES:
        raise PermissionError("只有领导和评估人员可以下载评估报告和评估工作簿。")
    build = {"report": reports.report_bytes, "workbook": reports.workbook_bytes}[kind]
    return _on(snapshot, build, period, date.fromisoformat(day))


@st.cache_data(max_entries=64, show_spinner=False)
def notice_document(snapshot: str, viewer: Viewer, period: str, dept_id: str, day: str) -> bytes | None:
    """A department's remediation notice, built from queries limited to the viewer's scope: a department
    user asking for another department's notice gets None (its rows are never read)."""
    from reports import build as reports

    return _on(snapshot, reports.notice_bytes, period, dept_id, viewer.scope, date.fromisoformat(day))

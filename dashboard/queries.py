"""Every query the dashboard runs, on the current published snapshot only.

Why this shape:

* The working database belongs to the pipeline (one writer, no readers beside it), so a query opens the
  published snapshot read-only through ``metrics.store.open_snapshot``, runs, and closes. No connection
  outlives a call: DuckDB connections are not thread-safe and Streamlit serves sessions from many threads.
* Results are cached with ``st.cache_data`` keyed by the snapshot's *file name* (the first argument of every
  cached function). Snapshots are immutable, so a cached answer never goes stale; a new publish changes the
  name and therefore the key. (If a publish lands between reading the name and opening the file, the entry
  holds the newer data under the older name; the next rerun asks for the newer name anyway.)
* Pages call these functions and never write SQL, so a schema change touches this file only. Every value
  taken from records or findings comes back masked (``metrics.privacy``).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from metrics.privacy import mask_text
from metrics import standard, store
from metrics.periods import PeriodError, parse_period
from metrics.scoring import load_scheme
from metrics.checks import INDICATORS, all_rules
from sgs.settings import resolve_paths

RULE_NAMES: dict[str, str] = {r.id: r.name for r in all_rules()}
KIND_LABELS: dict[str, str] = {"xk": "许可", "cf": "处罚"}
GRADES: tuple[str, ...] = tuple(name for name, _ in load_scheme().grades)  # best first, from the scheme
_CACHE = {"max_entries": 512, "show_spinner": False}


# --- the snapshot -------------------------------------------------------------------------------

def snapshot_name() -> str | None:
    """The current snapshot's file name (the cache key), or None before anything was published.

    Read on every script run (it is one small file) so a publish shows on the next interaction.
    """
    snap = store.current_snapshot(resolve_paths())
    return snap.name if snap is not None else None


def _frame(snapshot: str, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one parameterised query on the named snapshot, opened read-only just for this call."""
    con = store.open_snapshot(resolve_paths(), snapshot)
    try:
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with pandas' missing markers turned into None (easier for pages to test)."""
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --- periods and data time ----------------------------------------------------------------------

def period_sort_key(period: str) -> tuple:
    """Order periods by the day they end, a quarter after its last month (string order would put
    ``2026Q1`` after ``2026-12``); shapes sgs does not know sort first."""
    try:
        p = parse_period(period)
    except PeriodError:
        return (date.min, False)
    return (p.end, p.is_quarter)


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
def headline(snapshot: str, period: str) -> dict[str, Any]:
    """City-wide figures for one period.

    The rates are the shares of assessed records with no finding of the indicator, i.e. the
    department sub-scores weighted by their record counts (a plain mean would let a department with
    three records weigh as much as one with three thousand).
    """
    df = _frame(
        snapshot,
        """
        SELECT count(*)                                   AS n_departments,
               CAST(coalesce(sum(n_records), 0) AS BIGINT) AS n_records,
               avg(total)                                 AS avg_total,
               sum(timeliness * n_records)   / nullif(sum(n_records) FILTER (WHERE timeliness IS NOT NULL), 0)
                                                          AS timeliness,
               sum(completeness * n_records) / nullif(sum(n_records) FILTER (WHERE completeness IS NOT NULL), 0)
                                                          AS completeness,
               sum(accuracy * n_records)     / nullif(sum(n_records) FILTER (WHERE accuracy IS NOT NULL), 0)
                                                          AS accuracy,
               (SELECT count(*) FROM findings WHERE period = $period) AS n_findings
        FROM scores
        WHERE period = $period
        """,
        {"period": period},
    )
    return _records(df)[0]


@st.cache_data(**_CACHE)
def department_ranking(snapshot: str, period: str) -> pd.DataFrame:
    """Departments' scores for one period in rank order (ties share a rank, then by total and id)."""
    return _frame(
        snapshot,
        """
        SELECT s.rank, s.dept_id, coalesce(d.name, s.dept_id) AS name, s.county, s.n_records,
               s.timeliness, s.completeness, s.accuracy, s.total, s.grade, s.county_rank
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        WHERE s.period = $period
        ORDER BY s.rank NULLS LAST, s.total DESC NULLS LAST, s.dept_id
        """,
        {"period": period},
    )


@st.cache_data(**_CACHE)
def county_ranking(snapshot: str, period: str) -> pd.DataFrame:
    """Counties' (and 市本级's) scores for one period in rank order."""
    return _frame(
        snapshot,
        """
        SELECT rank, county, n_departments, n_records, timeliness, completeness, accuracy, total, grade
        FROM county_scores
        WHERE period = $period
        ORDER BY rank NULLS LAST, total DESC NULLS LAST, county
        """,
        {"period": period},
    )


# --- one department -----------------------------------------------------------------------------

@st.cache_data(**_CACHE)
def departments(snapshot: str) -> pd.DataFrame:
    """Every configured department (id, name, county), grouped by county."""
    return _frame(
        snapshot,
        """
        SELECT dept_id, name, county
        FROM departments
        ORDER BY county = '市本级' DESC, county, name, dept_id
        """
    )


@st.cache_data(**_CACHE)
def department_score(snapshot: str, period: str, dept_id: str) -> dict[str, Any] | None:
    """One department's score row for a period, with the sizes of the rankings it is placed in."""
    df = _frame(
        snapshot,
        """
        SELECT s.*, coalesce(d.name, s.dept_id) AS name,
               (SELECT count(*) FROM scores WHERE period = $period) AS n_ranked,
               (SELECT count(*) FROM scores x WHERE x.period = $period AND x.county = s.county) AS n_in_county
        FROM scores s
        LEFT JOIN departments d USING (dept_id)
        WHERE s.period = $period AND s.dept_id = $dept
        """,
        {"period": period, "dept": dept_id},
    )
    rows = _records(df)
    return rows[0] if rows else None


@st.cache_data(**_CACHE)
def finding_counts(snapshot: str, period: str, dept_id: str) -> dict[str, int]:
    """Number of findings per indicator for one department and period (for the filter's labels)."""
    df = _frame(
        snapshot,
        """
        SELECT indicator, count(*) AS n
        FROM findings
        WHERE period = $period AND dept_id = $dept
        GROUP BY indicator
        """,
        {"period": period, "dept": dept_id},
    )
    return {str(r["indicator"]): int(r["n"]) for r in _records(df)}


@st.cache_data(**_CACHE)
def remediation(snapshot: str, period: str, dept_id: str, indicator: str | None = None) -> pd.DataFrame:
    """The department's 整改清单: one row per finding, with the record it is about and its evidence.

    The record gives the 文书号 and 相对人名称 people search their own systems by; the fetch gives the
    archived copy (``warc_file#offset``) that proves what the page said when it was read. Text taken from
    records and findings is masked here, so no page can forget to.
    """
    df = _frame(
        snapshot,
        """
        SELECT f.indicator, f.kind, f.rule_id, f.severity, f.field, f.value, f.message, f.status,
               coalesce(x.XK_WSH, c.CF_WSH)       AS wsh,
               coalesce(x.XK_XDR_MC, c.CF_XDR_MC) AS xdr_mc,
               coalesce(f.url, x.url, c.url)      AS url,
               fe.fetched_at, fe.warc_file, fe.warc_offset
        FROM findings f
        LEFT JOIN xk_records x ON f.kind = 'xk' AND x.record_key = f.record_key
        LEFT JOIN cf_records c ON f.kind = 'cf' AND c.record_key = f.record_key
        LEFT JOIN fetches fe ON fe.fetch_id = coalesce(f.fetch_id, x.fetch_id, c.fetch_id)
        WHERE f.period = $period AND f.dept_id = $dept
          AND ($indicator IS NULL OR f.indicator = $indicator)
        ORDER BY CASE f.indicator WHEN 'timeliness' THEN 1 WHEN 'completeness' THEN 2
                                  WHEN 'accuracy' THEN 3 ELSE 4 END,
                 f.kind, wsh NULLS LAST, f.field NULLS LAST, f.rule_id, f.message
        """,
        {"period": period, "dept": dept_id, "indicator": indicator},
    )
    for col in ("value", "message", "wsh", "xdr_mc"):
        df[col] = df[col].map(mask_text)
    df["url"] = df["url"].map(_web_url)
    df["field_name"] = [field_name(k, c) for k, c in zip(df["kind"], df["field"])]
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    df["archive"] = [
        f"{w}#{int(o)}" if not _missing(w) and not _missing(o) else None
        for w, o in zip(df["warc_file"], df["warc_offset"])
    ]
    return df


def _web_url(url: Any) -> str | None:
    """Only http(s) addresses become links: a page's URL is crawled input and must not carry a script."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else None


def field_name(kind: str | None, code: str | None) -> str | None:
    """The Chinese name of a standard code (``CF_WSH`` → 行政处罚决定书文号), or None when unknown."""
    if not isinstance(code, str) or not code:
        return None
    if kind in standard.KINDS:
        try:
            return standard.load(kind).get(code).name
        except (KeyError, FileNotFoundError):
            pass
    return next((f.name for f in standard.page_fields() if f.code == code), None)

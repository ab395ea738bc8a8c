"""What every page's queries share: the snapshot and its cache, the one scope filter, the masking glue, labels.

The underscored helpers are the query layer's own (the page modules beside this one import them); pages call
the page modules' functions and never write SQL. See the package's docstring for why the layer has this shape.
"""
from __future__ import annotations

import functools
import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pandas as pd
import streamlit as st

from metrics import corrections
from dashboard.auth import Viewer
from metrics import results
from core import store, vocab
from core.periods import PeriodError, parse_period
from core.privacy import mask_person_name, mask_text
from metrics.scoring import load_scheme
from core.settings import Paths, resolve_paths

__all__ = ["RULE_NAMES", "PERSON", "GRADES", "PAGE_SIZE", "snapshot_name",
           "period_sort_key", "previous_period", "periods", "data_time", "stale_decisions"]

RULE_NAMES: dict[str, str] = results.RULE_NAMES
PERSON = "自然人"
GRADES: tuple[str, ...] = tuple(name for name, _ in load_scheme().grades)  # best first, from the scheme
PAGE_SIZE = 50


QUERY_LOG = "SGS_QUERY_LOG"  # a file: each cache miss's function and seconds, one JSON line (bench/page_speed.py)


def _cached(max_entries: int = 512) -> Callable[[Callable[..., Any]], Any]:
    """The snapshot cache: ``st.cache_data`` keyed by the arguments, the snapshot's file name first.

    Snapshots are immutable and a publish changes the name, so an entry never goes stale; ``max_entries``
    bounds the memory (documents are big: they keep fewer). The viewer counts by its scope only (what a query
    may return differs by department — and on a province's dashboard by city — never by person or between
    leader and assessor; what a role may *do* is checked outside the cache), so the second person opening a
    page meets a warm cache — on a province a cold 总览 is seconds of scans. With ``SGS_QUERY_LOG`` set, every
    miss is timed (what the server spends on a page, apart from the browser's drawing).
    """
    cache = st.cache_data(max_entries=max_entries, show_spinner=False, hash_funcs={Viewer: _viewer_key})
    log = os.environ.get(QUERY_LOG)
    return cache if not log else lambda fn: cache(_timed(fn, log))


def _viewer_key(viewer: Viewer) -> str:
    """What a cached query's answer may depend on: the department a viewer is limited to (none: everything)
    and, on a province's dashboard, the city (a city's credit office sees its city only: without the city in
    the key, a leader's cached ranking would be served to a city's office, or a refusal skipped)."""
    return f"scope:{viewer.scope}|city:{viewer.city}"


def _timed(fn: Callable[..., Any], log: str) -> Callable[..., Any]:
    """``fn`` appending its wall time to the query log on every call (only misses reach it)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            line = {"at": time.time(), "fn": f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}",
                    "s": round(time.perf_counter() - started, 4)}
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
    return run


# --- the one scope filter: the viewer's department, enforced in SQL --------------------------------

def _in_scope(column: str = "dept_id", *also: str) -> str:
    """The SQL condition that limits rows to what the viewer may see, the one way every query writes it.

    ``$scope`` NULL (a leader or assessor) passes every row; a department passes only rows whose ``column`` is
    its own, or that one of ``also`` lets through (e.g. a page its findings cite). Pair with ``_scoped``.
    """
    return "(" + " OR ".join(("$scope IS NULL", f"{column} = $scope", *also)) + ")"


def _scoped(viewer: Viewer, **params: Any) -> dict[str, Any]:
    """A query's parameters plus ``$scope``, the viewer's department (None for a city-wide role)."""
    return {**params, "scope": viewer.scope}


# --- the snapshot -------------------------------------------------------------------------------

def snapshot_name() -> str | None:
    """The current snapshot's file name (the cache key), or None before anything was published.

    Read on every script run (it is one small file) so a publish shows on the next interaction.
    """
    snap = store.current_snapshot(resolve_paths())
    return snap.name if snap is not None else None


def _deployment(snapshot: str) -> Paths:
    """The deployment a snapshot belongs to: this dashboard's own for a snapshot's file name, or — for the
    absolute path of a city's snapshot that a province's dashboard opens (``province.city_snapshot``) — that
    city's folder (``…/<city>/published/<name>``), whose archive holds its pages."""
    path = Path(snapshot)
    return resolve_paths(path.parent.parent / "sgs.duckdb") if path.is_absolute() else resolve_paths()


@dataclass
class _Open:
    """A snapshot's connection kept open for the process, the queries running on it, and whether a newer
    snapshot of its deployment replaced it (closed once the last of those queries is done)."""

    con: duckdb.DuckDBPyConnection
    legacy: bool  # published before schema 6: each cursor needs ``core.store``'s compatibility views
    running: int = 0
    retired: bool = False


_OPEN: dict[Path, _Open] = {}  # snapshot file → its connection, one per deployment (a province: per city)
_OPEN_LOCK = threading.Lock()


def _open(snapshot: str) -> _Open:
    """The snapshot's one read-only connection for this process, opened on first use.

    Why kept open: opening a 10 M-record snapshot and reading its catalogue, indexes and first blocks is most
    of a cold page (a department's first visit paid it on every query); one connection keeps DuckDB's caches
    warm across sessions and reruns. Snapshots are immutable, so sharing is safe; each query takes its own
    cursor (DuckDB connections are not thread-safe, cursors are). When a newer snapshot of the same deployment
    is asked for (a publish), the older one is retired: closed as soon as no query runs on it.
    """
    paths = _deployment(snapshot)
    path = paths.published / snapshot
    with _OPEN_LOCK:
        entry = _OPEN.get(path)
        if entry is None:
            con = store.open_snapshot(paths, snapshot)
            legacy = con.execute("SELECT coalesce(max(version), 0) < 6 FROM schema_version").fetchall()[0][0]
            entry = _OPEN[path] = _Open(con, bool(legacy))
            for old in [p for p in _OPEN if p.parent == path.parent and p != path]:
                _retire(_OPEN.pop(old))
        entry.running += 1
        return entry


def _retire(entry: _Open) -> None:
    """Close a replaced snapshot's connection now, or when its last running query ends (under the lock)."""
    entry.retired = True
    if entry.running == 0:
        entry.con.close()


@contextmanager
def _cursor(snapshot: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the snapshot's open connection for one query (its own registered tables and temp views)."""
    entry = _open(snapshot)
    try:
        cur = entry.con.cursor()
        try:
            if entry.legacy:
                store.evidence_views(cur)
            yield cur
        finally:
            cur.close()
    finally:
        with _OPEN_LOCK:
            entry.running -= 1
            if entry.retired and entry.running == 0:
                entry.con.close()


def close_snapshots() -> None:
    """Close every open snapshot (tests; a process about to end needs nothing)."""
    with _OPEN_LOCK:
        while _OPEN:
            _retire(_OPEN.popitem()[1])


def _frame(snapshot: str, sql: str, params: dict[str, Any] | None = None,
           tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Run one parameterised query on the named snapshot (a cursor of its open connection).

    ``tables`` are registered as views first (the workbench's decisions, which live outside the snapshot).
    """
    with _cursor(snapshot) as con:
        for name, df in (tables or {}).items():
            con.register(name, df)
        return con.execute(sql, params or {}).df()


def load_record_keys(snapshot: str) -> None:
    """Read each record table's key column by looking up a key no record has: the open snapshot then holds
    the key index in memory before the first finding's record is opened (``dashboard.warmup``). No row is
    returned, so nothing personal is read or kept."""
    for kind in vocab.KINDS:
        _frame(snapshot, f"SELECT count(*) AS n FROM {store.record_table(kind)} WHERE record_key IN ('')")


def _on(snapshot: str, query: Callable[..., Any], *args: Any) -> Any:
    """Call one of the shared queries (``metrics.results``) on the named snapshot (a cursor of its open
    connection)."""
    with _cursor(snapshot) as con:
        return query(con, *args)


def _decisions() -> dict[str, pd.DataFrame]:
    """The workbench's latest decision per finding, as a table the findings queries join."""
    df = corrections.latest(resolve_paths())
    return {"_decisions": df.astype({c: "string" for c in df.columns})}


@_cached()
def stale_decisions(snapshot: str, viewer: Viewer, period: str, wb_version: int = 0) -> int:
    """How many of the period's findings (that the viewer sees) the store has waived or un-waived since the
    snapshot was scored: decisions its scores do not reflect yet (a rescore applies them). Only ``waived``
    changes a deduction, so a report of a fix or an objection does not make the scores stale."""
    waived = corrections.WAIVED
    decisions = _decisions()
    if decisions["_decisions"].empty:  # nothing decided yet: no scan of the period's findings
        return 0
    df = _frame(snapshot, f"""
        SELECT count(*) AS n FROM findings f JOIN _decisions dec USING (finding_id)
        WHERE f.period = $period AND {_in_scope("f.dept_id")}
          AND ((f.status = '{waived}') <> (dec.status = '{waived}'))""",
                _scoped(viewer, period=period), decisions)
    return int(df["n"].iloc[0])


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


@_cached()
def periods(snapshot: str) -> list[str]:
    """Periods that have scores, latest first."""
    df = _frame(snapshot, "SELECT DISTINCT period FROM scores")
    return sorted(df["period"].tolist(), key=period_sort_key, reverse=True)


@_cached()
def data_time(snapshot: str) -> datetime | None:
    """When the snapshot's scores were computed (the newest ``computed_at``)."""
    value = _frame(snapshot, "SELECT max(computed_at) AS t FROM scores")["t"].iloc[0]
    return None if _missing(value) else pd.Timestamp(value).to_pydatetime()


# --- masking glue: what records, findings and crawls show (``core.privacy`` masks) -----------------

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

"""What ``sgs serve`` does once at start, before anyone logs in, so the first login does not pay it.

Measured on 10 M records (docs/bench-dashboard.md): a department's first login spent over a second of server
CPU importing the pages' libraries (pandas, plotly, the query modules), opening the snapshot and reading its
record tables' keys — work that is the same for every user. This does that work at start: it imports those
modules, opens the published snapshot the process keeps open (``queries.shared``), and looks up a key no
record has in each records table, which reads the key column and returns no record. It runs no query of any
department, fills no cache a page reads, and keeps no personal data. Then ``gc.freeze()`` moves all those
long-lived objects out of the garbage collector's sight, so later collections do not walk them on every rerun.
A failure here is only a slower first login, never a dashboard that does not start.

Then, in the background, and again whenever a publish brings a new snapshot (``prefill_in_background``,
called by every script run and by the server's sweep every 30 s), it computes the city-wide figures that every
leader's and assessor's first visit of the new snapshot would otherwise wait for: 总览's headline, rankings and
problem counts, the period's findings counts behind 问题清单, and the 事项目录 coverage (each a scan of the
period's millions of rows: 0.5–2 s apiece on 10 M records, docs/bench-dashboard.md). They are aggregates
without personal data, cached under the city-wide scope exactly as the first leader's visit would have cached
them; a department's own figures are not guessed.
"""
from __future__ import annotations

import gc
import importlib
import logging
import threading
import time

log = logging.getLogger(__name__)

# the pages' heavy imports (dashboard/views/*.py import these at their top; a page script itself is not
# imported: running it is Streamlit's job)
MODULES = ("pandas", "plotly.express", "plotly.graph_objects", "metrics.results", "metrics.verify",
           "metrics.readings", "metrics.objections", "metrics.inspections", "metrics.catalogue",
           "dashboard.queries.overview", "dashboard.queries.department", "dashboard.queries.findings",
           "dashboard.queries.evidence", "dashboard.queries.subjects", "dashboard.queries.catalogue",
           "dashboard.queries.sources", "dashboard.queries.objections", "dashboard.queries.documents",
           "dashboard.views._common", "dashboard.views._finding", "dashboard.views._stale",
           "dashboard.views._verification",
           "crawlers.archive",  # a finding's archived page (evidence.archived_body): warcio, and httpx behind it
           "pandas.io.formats.style")  # the finding's fields table is styled (jinja2)


def run() -> float:
    """Import, open, read the record keys, freeze; the seconds it took (logged)."""
    started = time.perf_counter()
    for name in MODULES:
        importlib.import_module(name)
    from dashboard.queries import shared  # imported above; named here for the type checker

    snapshot = shared.snapshot_name()
    if snapshot is not None:  # nothing published yet: the first page says so, nothing to open
        shared.load_record_keys(snapshot)
    gc.collect()
    gc.freeze()
    seconds = time.perf_counter() - started
    log.info("dashboard warmed up in %.2f s (snapshot %s)", seconds, snapshot)
    return seconds


def start_prefilling() -> threading.Thread | None:
    """From now on (``sgs serve``), prefill every new snapshot in the background, the current one first."""
    global _SERVING
    _SERVING = True
    from dashboard.queries import shared

    snapshot = shared.snapshot_name()
    return prefill_in_background(snapshot) if snapshot is not None else None


_SERVING = False  # between ``start_prefilling`` and ``stop_prefilling`` (``sgs serve``); AppTest runs none
_PREFILLED: set[str] = set()
_PREFILL_LOCK = threading.Lock()


def stop_prefilling() -> None:
    """No more background prefills (the server is stopping); one already running ends on its own."""
    global _SERVING
    _SERVING = False


def prefill_in_background(snapshot: str) -> threading.Thread | None:
    """Start ``prefill`` for a snapshot not yet prefilled in this process (a daemon thread; its thread, or
    None when there is nothing to do). Cheap to call on every script run."""
    with _PREFILL_LOCK:
        if not _SERVING or snapshot in _PREFILLED:
            return None
        _PREFILLED.add(snapshot)
    thread = threading.Thread(target=_prefill_logged, args=(snapshot,), name="sgs-prefill", daemon=True)
    thread.start()
    return thread


def _prefill_logged(snapshot: str) -> None:
    started = time.perf_counter()
    try:
        prefill(snapshot)
    except Exception:  # noqa: BLE001 - a failed prefill is a slower first visit, never a broken page
        log.exception("prefill of snapshot %s failed", snapshot)
        return
    log.info("city-wide figures of %s prefilled in %.2f s", snapshot, time.perf_counter() - started)


def prefill(snapshot: str) -> None:
    """Compute and cache the latest period's city-wide figures (see the module's docstring)."""
    from core.settings import resolve_paths
    from dashboard.auth import Viewer
    from dashboard.queries import catalogue, findings, overview, shared
    from metrics import corrections

    periods = shared.periods(snapshot)
    if not periods:
        return
    period = periods[0]  # the sidebar's default
    city_wide = Viewer("prefill", "预先计算", "leader")  # cached under every leader's and assessor's key
    overview.headline(snapshot, city_wide, period, corrections.version(resolve_paths()))
    overview.department_ranking(snapshot, city_wide, period)
    overview.county_ranking(snapshot, city_wide, period)
    overview.problem_counts(snapshot, city_wide, period)
    overview.trend(snapshot, city_wide)
    findings.period_counts(snapshot, city_wide, period)
    catalogue.catalogue(snapshot, city_wide, period)

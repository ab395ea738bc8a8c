"""What ``sgs serve`` does once at start, before anyone logs in, so the first login does not pay it.

Measured on 10 M records (docs/bench-dashboard.md): a department's first login spent over a second of server
CPU importing the pages' libraries (pandas, plotly, the query modules), opening the snapshot and reading its
record tables' keys — work that is the same for every user. This does that work at start: it imports those
modules, opens the published snapshot the process keeps open (``queries.shared``), and looks up a key no
record has in each records table, which reads the key column and returns no record. It runs no query of any
department, fills no cache a page reads, and keeps no personal data. Then ``gc.freeze()`` moves all those
long-lived objects out of the garbage collector's sight, so later collections do not walk them on every rerun.
A failure here is only a slower first login, never a dashboard that does not start.
"""
from __future__ import annotations

import gc
import importlib
import logging
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
           "dashboard.views._verification")


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

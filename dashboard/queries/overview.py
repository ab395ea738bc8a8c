"""The 总览 page's queries: headline figures, the rankings, the trend and the problems, for the viewer's scope.

Most are ``metrics.results`` (one set of queries with the reports) run on the snapshot and cached here.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _decisions, _on
from metrics import results


@_cached()
def headline(snapshot: str, viewer: Viewer, period: str, wb_version: int = 0) -> dict[str, Any]:
    """City-wide figures for a period and the period before (``metrics.results.headline``), for the viewer's
    scope; open findings follow the workbench."""
    decisions = _decisions()["_decisions"]
    return _on(snapshot, results.headline, period, viewer.scope, decisions)


@_cached()
def department_ranking(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Departments' scores in rank order with the change since the period before (``metrics.results``)."""
    return _on(snapshot, results.department_ranking, period, viewer.scope)


@_cached()
def county_ranking(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Counties' (and 市本级's) scores in rank order with their change; a department user sees its county."""
    return _on(snapshot, results.county_ranking, period, viewer.scope)


@_cached()
def trend(snapshot: str, viewer: Viewer) -> pd.DataFrame:
    """Mean total by month, city-wide (county ``全市``) and per county, for the trend chart
    (``metrics.results.monthly_trend``)."""
    return _on(snapshot, results.monthly_trend, viewer.scope)


@_cached()
def problem_counts(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Findings per rule for the period, most frequent first (``metrics.results.problem_counts``)."""
    return _on(snapshot, results.problem_counts, period, viewer.scope)

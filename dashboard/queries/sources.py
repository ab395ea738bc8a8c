"""The 采集状态 page's queries: each of the viewer's sources' last crawl, their crawl history and the problems
crawls found, with URLs and error messages masked (a page named after its subject's ID number)."""
from __future__ import annotations

import pandas as pd

from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _frame, _in_scope, _masked, _scoped

_FETCHED = """
    SELECT source_id, max(fetched_at) AS fetched_at, count(*) AS pages,
           count(*) FILTER (WHERE error IS NOT NULL OR status IS NULL OR status >= 400) AS errors,
           arg_max(error, fetched_at) FILTER (WHERE error IS NOT NULL) AS message
    FROM fetches WHERE source_id IS NOT NULL
    GROUP BY source_id, crawl_id
    QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY max(fetched_at) DESC) = 1"""


@_cached()
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
        WHERE {_in_scope("s.dept_id")}
        ORDER BY s.dept_id NULLS LAST, s.channel, s.kind
        """,
        _scoped(viewer),
    ), "start_url", "message")


@_cached()
def source_runs(snapshot: str, viewer: Viewer, source_id: str | None = None, limit: int = 200) -> pd.DataFrame:
    """The crawl history of the viewer's sources, newest first (error messages masked)."""
    return _masked(_frame(
        snapshot,
        f"""
        SELECT r.started_at, r.source_id, r.status, r.pages, r.records, r.errors, r.message, r.crawl_id
        FROM source_runs r JOIN sources s USING (source_id)
        WHERE ($source IS NULL OR r.source_id = $source) AND {_in_scope("s.dept_id")}
        ORDER BY r.started_at DESC LIMIT $limit
        """,
        _scoped(viewer, source=source_id, limit=limit),
    ), "message")


@_cached()
def availability(snapshot: str, viewer: Viewer, source_id: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Problems crawls found with the viewer's sources (unreachable, column missing, …), newest first; the
    URL and the detail masked."""
    return _masked(_frame(
        snapshot,
        f"""
        SELECT a.observed_at, a.source_id, coalesce(d.name, '信用网站') AS dept_name, a.problem, a.url, a.detail
        FROM availability a LEFT JOIN departments d USING (dept_id)
        WHERE ($source IS NULL OR a.source_id = $source) AND {_in_scope("a.dept_id")}
        ORDER BY a.observed_at DESC LIMIT $limit
        """,
        _scoped(viewer, source=source_id, limit=limit),
    ), "url", "detail")

"""The 事项目录 page's query: each catalogue item of the viewer's departments with the records that name it."""
from __future__ import annotations

import pandas as pd

from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _frame, _in_scope, _scoped
from core.periods import parse_period
from metrics.checks._sql import decided_in


@_cached()
def catalogue(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """Each 事项目录 item with the number of the period's records that name it (its coverage); a record is the
    period's as scoring decides (``decided_in``).

    A record names an item when its text holds the item's name (许可: 文书名称, 许可内容, 证书名称; 处罚:
    违法行为类型, 处罚事由) or, for a penalty, cites the item's basis as its 处罚依据.
    """
    p = parse_period(period)
    return _frame(
        snapshot,
        f"""
        WITH xk AS (SELECT dept_id, concat_ws(' ', XK_XKWS, XK_NR, XK_XKZS) AS t, NULL AS yj FROM xk_records r
                    WHERE channel = 'site' AND {decided_in('xk', p)} AND {_in_scope()}),
             cf AS (SELECT dept_id, concat_ws(' ', CF_WFXW, CF_SY) AS t, CF_YJ AS yj FROM cf_records r
                    WHERE channel = 'site' AND {decided_in('cf', p)} AND {_in_scope()})
        SELECT i.dept_id, coalesce(d.name, i.dept_id) AS dept_name, d.county, i.kind, i.item_code, i.name, i.basis,
               (SELECT count(*) FROM xk r WHERE i.kind = 'xk' AND r.dept_id = i.dept_id AND contains(r.t, i.name))
             + (SELECT count(*) FROM cf r WHERE i.kind = 'cf' AND r.dept_id = i.dept_id
                                            AND (contains(r.t, i.name) OR r.yj = i.basis)) AS n_records
        FROM catalogue_items i LEFT JOIN departments d USING (dept_id)
        WHERE {_in_scope("i.dept_id")}
        ORDER BY d.county = '市本级' DESC, d.county, dept_name, i.kind DESC, i.item_code
        """,
        _scoped(viewer),
    )


@_cached()
def department_items(snapshot: str, viewer: Viewer, dept_id: str) -> pd.DataFrame:
    """One department's catalogue as stored (the template's columns and where each item came from)."""
    return _frame(
        snapshot,
        f"""SELECT item_code, kind, name, coalesce(basis, '') AS basis, coalesce(agency, '') AS agency, origin
            FROM catalogue_items WHERE dept_id = $dept AND {_in_scope()} ORDER BY item_code""",
        _scoped(viewer, dept=dept_id),
    )


@_cached()
def applied_entries(snapshot: str) -> set[str]:
    """The refs (``workbench:<id>``) of the dashboard's catalogue entries the snapshot's pipeline applied."""
    df = _frame(snapshot, "SELECT ref FROM imports WHERE origin = 'dashboard'")
    return set(df["ref"])

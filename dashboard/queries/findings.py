"""The findings lists (问题清单 and a department's 整改 list): filtered, paged in SQL, joined to their records
and evidence only for the page, masked.

The page of findings is cut first and only its rows are joined to records, so a page costs the same on a
province; the record lookups here serve the 未能核验 list too (``department``).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from metrics import corrections, results
from dashboard.auth import Viewer
from dashboard.queries.shared import (PAGE_SIZE, RULE_NAMES, _cached, _cursor, _decisions, _frame, _in_scope,
                                      _missing, _name, _records, _shown_url)
from core import standard, store
from core.privacy import holds_personal, mask_text
from core.settings import resolve_paths
from core import vocab


def _findings_where(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause for the findings filters; only the filters given join anything."""
    where = ["f.period = $period", _in_scope("f.dept_id")]
    params = {"period": filters["period"], "scope": filters["scope"]}
    for key, column in (("dept_id", "f.dept_id"), ("indicator", "f.indicator"), ("rule_id", "f.rule_id")):
        if filters.get(key):
            where.append(f"{column} = ${key}")
            params[key] = filters[key]
    if filters.get("status"):  # one status, or several (the 待审队列: objected and fixed)
        statuses = filters["status"]
        where.append("list_contains($status, coalesce(dec.status, f.status))")
        params["status"] = [statuses] if isinstance(statuses, str) else list(statuses)
    if filters.get("search"):
        # the finding carries its record's 文书号 and 相对人名称 (schema 005): a scan of the period's findings,
        # not of every record
        where.append("""(contains(f.message, $search) OR contains(f.value, $search)
            OR contains(f.wsh, $search) OR contains(f.subject, $search))""")
        params["search"] = filters["search"]
    return " AND ".join(where), params


Statuses = str | tuple[str, ...] | None  # one status or several (a tuple: cache keys must be hashable)


def _filters(viewer: Viewer, period: str, dept_id: str | None, indicator: str | None, rule_id: str | None,
             status: Statuses, search: str | None) -> dict[str, Any]:
    return {"scope": viewer.scope, "period": period, "dept_id": dept_id, "indicator": indicator,
            "rule_id": rule_id, "status": status, "search": (search or "").strip() or None}


@_cached()
def findings_total(snapshot: str, viewer: Viewer, period: str, *, dept_id: str | None = None,
                   indicator: str | None = None, rule_id: str | None = None, status: Statuses = None,
                   search: str | None = None, wb_version: int = 0) -> int:
    """How many findings match the filters (for the pager)."""
    return int(_per_department(snapshot, _filters(viewer, period, dept_id, indicator, rule_id, status, search),
                               wb_version)["n"].sum())


@_cached()
def _per_department(snapshot: str, filters: dict[str, Any], wb_version: int) -> pd.DataFrame:
    """How many findings match the filters in each department, in the list's department order: the pager's
    total, and which departments a page falls in (so only theirs are numbered, see ``findings``).

    Without a search, from the period's counts (``_counts``, one scan per snapshot, a department's a row group
    or two) and the decided findings (``_decided``): a new status, indicator or rule filter costs no scan of
    the period's findings. A finding counts under its current status: the workbench's latest decision, else
    the snapshot's."""
    if filters.get("search"):
        return _searched(snapshot, filters, wb_version)
    counts = _counts(snapshot, filters["scope"], filters["period"], filters.get("dept_id"))
    decided = _decided(snapshot, filters["scope"], filters["period"], filters.get("dept_id"), wb_version)
    for key in ("indicator", "rule_id"):
        if filters.get(key):
            counts, decided = (df[df[key] == filters[key]] for df in (counts, decided))
    n = counts.groupby("dept_id")["n"].sum()
    if filters.get("status"):
        statuses = [filters["status"]] if isinstance(filters["status"], str) else list(filters["status"])
        n = (counts[counts["status"].isin(statuses)].groupby("dept_id")["n"].sum()  # by the snapshot's status,
             .sub(decided[decided["status"].isin(statuses)].groupby("dept_id").size(), fill_value=0)  # but decided
             .add(decided[decided["current"].isin(statuses)].groupby("dept_id").size(), fill_value=0))
    per = n[n > 0].astype("int64").rename("n").reset_index()
    per = per.merge(_department_names(snapshot), how="left", on="dept_id")
    per["dept_name"] = per["dept_name"].fillna(per["dept_id"])
    return per.sort_values(["dept_name", "dept_id"], ignore_index=True)[["dept_id", "dept_name", "n"]]


def period_counts(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """The period's findings in the viewer's scope counted by department, indicator, rule and status: the one
    scan behind 问题清单's pager and 部门自查's counts (``dashboard.warmup`` fills it after a publish)."""
    return _counts(snapshot, viewer.scope, period, None)


@_cached()
def _counts(snapshot: str, scope: str | None, period: str, dept_id: str | None) -> pd.DataFrame:
    """The period's findings (a department's, or all in scope) counted by department, indicator, rule and the
    snapshot's status."""
    return _frame(snapshot, f"""SELECT dept_id, indicator, rule_id, status, count(*) AS n FROM findings
                                WHERE period = $period AND ($dept IS NULL OR dept_id = $dept) AND {_in_scope()}
                                GROUP BY ALL""", {"period": period, "dept": dept_id, "scope": scope})


@_cached()
def _decided(snapshot: str, scope: str | None, period: str, dept_id: str | None, wb_version: int) -> pd.DataFrame:
    """The period's findings the workbench has a decision on: the snapshot's status and the current one."""
    decisions = _decisions()
    if decisions["_decisions"].empty:  # nothing decided yet: no scan of the period's findings
        return pd.DataFrame({c: pd.Series(dtype="str") for c in ("dept_id", "indicator", "rule_id", "status", "current")})
    return _frame(snapshot, f"""
        SELECT f.dept_id, f.indicator, f.rule_id, f.status, dec.status AS current
        FROM findings f JOIN _decisions dec USING (finding_id)
        WHERE f.period = $period AND ($dept IS NULL OR f.dept_id = $dept) AND {_in_scope("f.dept_id")}""",
                  {"period": period, "dept": dept_id, "scope": scope}, decisions)


@_cached()
def _department_names(snapshot: str) -> pd.DataFrame:
    return _frame(snapshot, "SELECT dept_id, name AS dept_name FROM departments")


def _searched(snapshot: str, filters: dict[str, Any], wb_version: int) -> pd.DataFrame:
    """``_per_department`` for a search: a scan of the period's findings' texts."""
    where, params = _findings_where(filters)
    # the latest decision (one per finding) matters only to a status filter: without one, no join of millions
    decided = "LEFT JOIN _decisions dec USING (finding_id)" if filters.get("status") else ""
    return _frame(snapshot, f"""SELECT f.dept_id, any_value(coalesce(d.name, f.dept_id)) AS dept_name, count(*) AS n
                                FROM findings f {decided} LEFT JOIN departments d USING (dept_id)
                                WHERE {where} GROUP BY f.dept_id ORDER BY dept_name, f.dept_id""",
                  params, _decisions())


def _page_departments(counts: pd.DataFrame, limit: int | None, offset: int) -> tuple[list[str], int]:
    """The departments the rows ``offset`` … ``offset + limit`` fall in, and the offset within their rows."""
    ends = counts["n"].cumsum()
    starts = ends - counts["n"]
    if limit is None:
        on_page = ends > offset
    else:
        on_page = (ends > offset) & (starts < offset + limit)
    chosen = counts[on_page]
    skip = offset - int(starts[on_page].iloc[0]) if not chosen.empty else 0
    return chosen["dept_id"].tolist(), skip


@_cached()
def findings(snapshot: str, viewer: Viewer, period: str, *, dept_id: str | None = None,
             indicator: str | None = None, rule_id: str | None = None, status: Statuses = None,
             search: str | None = None, limit: int | None = PAGE_SIZE, offset: int = 0, wb_version: int = 0,
             mask_names: bool = False) -> pd.DataFrame:
    """One page of findings (``limit=None``: all, for the Excel download), with record and evidence.

    The record gives the 文书号 and 相对人名称 people search their own systems by; the fetch gives the
    archived copy (``warc_file#offset``) that proves what the page said when it was read. The page of
    findings is cut first and only its rows are joined to records, so a page costs the same on a province.
    """
    chosen = _filters(viewer, period, dept_id, indicator, rule_id, status, search)
    # The 序号 is a finding's place among all its department's findings (a window over them): numbered for
    # the page's departments only, not for the period's millions (3–13 s on 1 M records).
    # (the departments come in the list's order: ``_per_department`` orders them as the ORDER BY below does)
    depts, skip = _page_departments(_per_department(snapshot, chosen, wb_version), limit, offset)
    where, params = _findings_where(chosen)
    on_page = f"f.dept_id IN {_in_list(depts)}"  # a literal list: DuckDB skips the other departments' rows
    where += f" AND {on_page}"
    numbers = results.finding_numbers(f"$period AND {on_page}")
    params.update(limit=limit, offset=skip)
    with _cursor(snapshot) as con:
        for name, table in _decisions().items():
            con.register(name, table)
        df = con.execute(f"""
            SELECT f.finding_id, f.period, f.dept_id, coalesce(d.name, f.dept_id) AS dept_name, f.kind, f.record_key,
                   f.rule_id, f.indicator, f.severity, f.field, f.value, f.message, f.url, f.fetch_id, f.ref_fetch_id,
                   coalesce(dec.status, f.status) AS status, dec.reason AS decision_reason,
                   dec.username AS decided_by, dec.at AS decided_at, dec.action AS decided_action, n.seq AS n
            FROM findings f JOIN {numbers} n USING (finding_id)
                 LEFT JOIN _decisions dec USING (finding_id) LEFT JOIN departments d USING (dept_id)
            WHERE {where}
            ORDER BY dept_name, f.dept_id, n.seq
            LIMIT $limit OFFSET $offset""", params).df()  # by department name, then n: the 序号 it has everywhere
        records = _lookup_records(con, df)
        df = df.merge(records, how="left", on=["kind", "record_key"])
        df["evidence"] = df["fetch_id"].where(df["fetch_id"].notna(), df["rec_fetch_id"])
        df["page_url"] = df["url"].where(df["url"].notna(), df["rec_url"])
        df = df.merge(_lookup_fetches(con, df["evidence"]), how="left", on="evidence")
    return _shown(df, mask_names)


def _shown(df: pd.DataFrame, mask_names: bool) -> pd.DataFrame:
    """A page of findings as the lists show it: masked, named in Chinese, the archived copy as ``file#offset``."""
    for col in ("value", "message", "wsh"):
        df[col] = df[col].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url_personal"] = df["page_url"].map(holds_personal)  # shown masked: no longer a working link
    df["url"] = df["page_url"].map(_shown_url)
    df = df.drop(columns=["page_url", "rec_url"])
    df["field_name"] = [standard.field_name(k, c) for k, c in zip(df["kind"], df["field"])]
    df["rule_name"] = df["rule_id"].map(lambda r: RULE_NAMES.get(r, r))
    df["status_name"] = df["status"].map(lambda s: corrections.STATUSES.get(s, s))
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
    for kind in vocab.KINDS:
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


# --- the correction loop: who may act on which findings, the queue, the answers ------------------

QUEUE_STATUSES = ("objected", "fixed")  # 待审队列: an objection to decide, a rectification to check
OVERDUE = "逾期未整改"


def targets(snapshot: str, viewer: Viewer, period: str, finding_ids: list[str]) -> list[corrections.Finding]:
    """The chosen findings the viewer may act on, with their current status (never cached: a step just taken
    must count). A department's query returns only its own, whatever ids a widget sent."""
    if not finding_ids:
        return []
    df = _frame(snapshot, f"""
        SELECT f.finding_id, f.period, f.dept_id, coalesce(dec.status, f.status) AS status
        FROM findings f LEFT JOIN _decisions dec USING (finding_id)
        WHERE f.period = $period AND list_contains($ids, f.finding_id) AND {_in_scope("f.dept_id")}""",
                {"period": period, "ids": list(finding_ids), "scope": viewer.scope}, _decisions())
    return [corrections.Finding(str(r["finding_id"]), str(r["period"]), str(r["dept_id"]), str(r["status"]))
            for r in _records(df)]


def act(snapshot: str, viewer: Viewer, period: str, finding_ids: list[str], action: str, *,
        reason: str | None = None, url: str | None = None,
        attachment: corrections.Attachment | None = None) -> int:
    """Record one step on the chosen findings as the viewer (role and department from the login, never from
    the page), all or none; a finding outside the viewer's scope is refused here and again by the store."""
    if not finding_ids:
        raise corrections.WorkbenchError("请先选择要处理的问题。")
    found = targets(snapshot, viewer, period, finding_ids)
    if len(found) != len(set(finding_ids)):
        raise corrections.WorkbenchError("所选问题中有不属于本部门或本期的问题，未作任何处理。")
    return corrections.record(resolve_paths(), found, action, username=viewer.username, role=viewer.role,
                              reason=reason, scope=viewer.scope, url=url, attachment=attachment)


def allowed_actions(role: str, statuses: list[str]) -> list[str]:
    """The steps ``corrections.ACTIONS`` lets this role take from every one of these statuses."""
    return [a for a, step in corrections.ACTIONS.items()
            if role in step.roles and statuses and all(s in step.after for s in statuses)]


def answers(viewer: Viewer, finding_ids: list[str]) -> pd.DataFrame:
    """Each finding's latest step in full (reason, URL, attachment): what a department answered, for the
    queue; a department viewer gets its own findings' only."""
    hist = corrections.history(resolve_paths(), finding_ids)
    if viewer.scope is not None:
        hist = hist[hist["dept_id"] == viewer.scope]
    return hist.drop_duplicates("finding_id", keep="last").set_index("finding_id")

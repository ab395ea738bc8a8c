"""One finding's evidence: its record's fields as shown, a value revealed to an assessor (logged first), and the
archived page the viewer may see (its index row and its body from the WARC archive)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard import workbench
from dashboard.auth import Viewer
from dashboard.queries.findings import _in_list
from dashboard.queries.shared import PERSON, _cached, _deployment, _frame, _in_scope, _missing, _records, _scoped
from core import standard, store
from core.privacy import mask_person_name, mask_text, mask_whole
from core.settings import resolve_paths
from core import vocab

field_name = standard.field_name  # one definition, shared with the reports


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


def _by_key(snapshot: str, viewer: Viewer, kind: str, record_key: str, columns: str = "*") -> dict[str, Any] | None:
    """A record found by its primary key, then checked against the viewer's scope; None if missing or outside it.

    Why key first: DuckDB pushes ``record_key IN ('…')`` alone into the scan and skips the blocks whose key
    range cannot hold it (0.05 s on 10 M records), but not ANDed with the scope's OR (1.5 s, every block of the
    table read); the scope is then the same rule applied to the one row found (a department never gets
    another department's record).
    """
    df = _frame(snapshot, f"SELECT dept_id AS _scope_dept, {columns} FROM {store.record_table(kind)} "
                          f"WHERE record_key IN {_in_list([record_key])}")  # a literal key: the index
    rows = _records(df)
    if not rows or (viewer.scope is not None and rows[0]["_scope_dept"] != viewer.scope):
        return None
    return {k: v for k, v in rows[0].items() if k != "_scope_dept"}


@_cached()
def record_fields(snapshot: str, viewer: Viewer, kind: str, record_key: str, mask_names: bool = False) -> pd.DataFrame:
    """A record's standard fields in registry order (code, name, value shown), empty outside the scope."""
    if kind not in vocab.KINDS:
        return pd.DataFrame(columns=["code", "name", "value"])
    row = _by_key(snapshot, viewer, kind, record_key)
    if row is None:
        return pd.DataFrame(columns=["code", "name", "value"])
    category = row.get(f"{kind.upper()}_XDR_LB")
    fields = [(f.code, f.name) for f in standard.load(kind).fields] + [(f.code, f.name) for f in standard.page_fields()]
    return pd.DataFrame([
        {"code": code, "name": name,
         "value": shown_value(kind, code, row.get(code), category=category, mask_names=mask_names)}
        for code, name in fields if code in row])


@_cached()
def site_masked(snapshot: str, viewer: Viewer, kind: str, record_key: str, codes: tuple[str, ...]) -> set[str]:
    """Which of a record's fields the site itself published masked (the stored value already holds ``*``): no
    original exists to reveal. Only a yes/no per field is read, never the value, so nothing is logged."""
    known = [c for c in codes if kind in vocab.KINDS and c in store.record_columns(kind)]
    if not known:
        return set()
    flags = ", ".join(f'coalesce(contains("{c}", \'*\'), false) AS "{c}"' for c in known)
    row = _by_key(snapshot, viewer, kind, record_key, flags)
    return set() if row is None else {c for c in known if bool(row[c])}


def reveal(viewer: Viewer, snapshot: str, kind: str, record_key: str, code: str,
           finding_id: str | None = None) -> str | None:
    """One record field's unmasked value for an assessor, logged in the workbench store *before* it is read.

    Never cached: each reveal is one log row. Raises PermissionError for anyone but an assessor.
    """
    if not viewer.can_decide:
        raise PermissionError("只有评估人员可以查看原值。")
    if kind not in vocab.KINDS or code not in store.record_columns(kind):
        raise ValueError(f"未知字段 {kind}/{code}")
    paths = resolve_paths()
    dept = _frame(snapshot, f"SELECT dept_id FROM {store.record_table(kind)} "
                            f"WHERE record_key IN {_in_list([record_key])}")  # a literal key: the index
    dept_id = None if dept.empty else dept["dept_id"].iloc[0]
    workbench.log_reveal(paths, viewer.username, field=code, dept_id=dept_id, kind=kind, record_key=record_key,
                         finding_id=finding_id)
    df = _frame(snapshot, f'SELECT "{code}" AS v FROM {store.record_table(kind)} '
                          f'WHERE record_key IN {_in_list([record_key])}')
    return None if df.empty or _missing(df["v"].iloc[0]) else str(df["v"].iloc[0])


@_cached()
def fetch_row(snapshot: str, viewer: Viewer, fetch_id: str) -> dict[str, Any] | None:
    """The archived response's index row, if the viewer may see it (a department: its own sources' pages and
    the pages its findings and 未能核验 rows cite, e.g. a credit-portal page)."""
    cited = ("fe.fetch_id IN (SELECT fetch_id FROM findings WHERE dept_id = $scope)",
             "fe.fetch_id IN (SELECT ref_fetch_id FROM findings WHERE dept_id = $scope)",
             "fe.fetch_id IN (SELECT fetch_id FROM unverified WHERE dept_id = $scope)")
    df = _frame(
        snapshot,
        f"""
        SELECT fe.fetch_id, fe.url, fe.fetched_at, fe.status, fe.content_type, fe.warc_file, fe.warc_offset,
               fe.sha256, s.dept_id, o.fetched_at AS original_at,
               coalesce(o.warc_file, fe.warc_file) AS body_file, coalesce(o.warc_offset, fe.warc_offset) AS body_offset
        FROM fetches fe LEFT JOIN sources s USING (source_id)
             LEFT JOIN fetches o ON o.fetch_id = fe.revisit_of  -- an unchanged page: its bytes are the original's
        WHERE fe.fetch_id = $fetch AND {_in_scope("s.dept_id", *cited)}
        """,
        _scoped(viewer, fetch=fetch_id),
    )
    rows = _records(df)
    if rows:
        rows[0]["url"] = mask_text(rows[0]["url"])  # shown with the archived page; the archive keeps it whole
    return rows[0] if rows else None


def archived_body(viewer: Viewer, snapshot: str, fetch_id: str) -> tuple[dict[str, Any], bytes] | None:
    """The archived response (index row, body) the viewer may see, read from the WARC archive; None if none.

    A page seen unchanged (304, or the same bytes) is archived as a revisit record naming its original
    (``revisit_of``): its body is the original's, read from there (``original_at`` says since when)."""
    from crawlers.archive import read_record  # the archive's one reader (ARCHITECTURE: evidence view)

    row = fetch_row(snapshot, viewer, fetch_id)
    if row is None or not row.get("body_file") or row.get("body_offset") is None:
        return None
    _headers, body = read_record(_deployment(snapshot), row["body_file"], int(row["body_offset"]))
    return row, body

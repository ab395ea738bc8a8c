"""全省排名 (a province's dashboard): the roll-up of the province's store (``metrics.rollup``: the Parquet tree
``sgs score --cities … --out STORE`` and ``sgs run --cities …`` write) and, on demand, one city's own
partitions — its counties, departments and findings.

Where the store is: ``SGS_PROVINCE`` (``sgs serve --province STORE``), a folder or an ``s3://…`` URL. Nothing
here reads a city's working database: the store is what the province has.

Who sees what, enforced here, not in the page: a user whose users-file entry names a ``city`` (a city's credit
office) gets that city's rows only — the ranking is cut to its own row, and asking for another city's
counties, departments or findings raises ``CityRefused`` whatever city a widget or URL passed. Leaders and
assessors without a city see every city. The findings come back as the 问题清单 shows them: the same columns,
masked by the same code (``findings._shown``); their status is the one the city's scoring applied.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from core import store as db_store
from core.settings import resolve_paths
from core.vocab import INDICATORS
from dashboard.auth import Viewer
from dashboard.queries.findings import _shown
from dashboard.queries.shared import PAGE_SIZE, _cached, period_sort_key
from metrics import results, rollup

PROVINCE_ENV = "SGS_PROVINCE"
CITIES_ENV = "SGS_CITIES"  # the cities' folders (sgs serve --cities): a finding's archived page is its city's
MIN_ROLES = ("leader", "assessor")  # departments have no province view


class CityRefused(PermissionError):
    """The viewer asked for a city that is not theirs; the message says so in Chinese."""


def store() -> str | None:
    """The province's store this dashboard reads (``SGS_PROVINCE``), None when it is a city's dashboard only."""
    chosen = os.environ.get(PROVINCE_ENV, "").strip()
    return chosen or None


def city_snapshot(viewer: Viewer, city: str, province: str | None = None) -> str | None:
    """The absolute path of the city's current published snapshot, for one finding's detail (its record and
    the archived page, read by ``dashboard.queries.evidence`` from the city's own folder and archive); None
    when the dashboard was not given the cities' folders (``SGS_CITIES``) or the city has published nothing.

    The city's folder is ``<SGS_CITIES>/<city>``, or ``<SGS_CITIES>/<province>/<city>`` in a nation's layout
    (``sgs.cluster.city_folders``); ``province`` comes from the roll-up. Read on every run (one small file), so
    a city's newer publish shows at once. Refused outside the viewer's scope, as every city's data is."""
    _allowed(viewer, city)
    root = os.environ.get(CITIES_ENV, "").strip()
    names = [n for n in (province, city) if n is not None]
    if not root or any(Path(n).name != n or n in ("", ".", "..") for n in names):  # ?city=../… opens nothing
        return None
    folder = Path(root).expanduser().resolve() / (province or "") / city
    snap = db_store.current_snapshot(resolve_paths(folder / "sgs.duckdb"))
    return str(snap) if snap is not None else None


stamp = rollup.stamp  # the cache key of the store's current roll-ups (read on every run: a new one shows at once)


def _allowed(viewer: Viewer, city: str) -> None:
    """Refuse a city outside the viewer's scope (and any viewer without a province role)."""
    if viewer.role not in MIN_ROLES:
        raise CityRefused("部门账号无权查看全省数据。")
    if viewer.city is not None and city != viewer.city:
        raise CityRefused(f"本账号只能查看{viewer.city}的数据，无权查看{city}。")


def _only(viewer: Viewer, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a province-wide frame the viewer may see (the ``city`` column)."""
    if viewer.role not in MIN_ROLES:
        raise CityRefused("部门账号无权查看全省数据。")
    if viewer.city is None or frame.empty:
        return frame.reset_index(drop=True)
    return frame[frame["city"] == viewer.city].reset_index(drop=True)


@_cached()
def periods(where: str, version: str) -> list[str]:
    """The periods the store has a roll-up of, latest first (the same for every viewer: no city's data)."""
    return sorted(rollup.periods(where), key=period_sort_key, reverse=True)


def _change(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["change"] = frame["total"] - frame["prev_total"]
    return frame


PROVINCE, NATION = rollup.PROVINCE, rollup.NATION


@_cached()
def level(where: str, version: str, period: str) -> str:
    """全国 when the period's roll-up holds cities of several provinces (a nation's store), else 全省: what the
    page is called. The same for every viewer (it names no city)."""
    return rollup.read_rollup(where, period).level


def title() -> str:
    """The page's name in the menu: 全国排名 or 全省排名 by the latest roll-up (全省排名 until one is readable)."""
    where = store()
    try:
        version = stamp(where) if where is not None else ""
        latest = periods(where, version) if where is not None else []
        return f"{level(where, version, latest[0]) if latest else PROVINCE}排名"
    except (OSError, ValueError):  # an unreachable store: the page itself says what is wrong
        return f"{PROVINCE}排名"


def report(where: str, viewer: Viewer, period: str) -> bytes:
    """The period's 全省（全国）评估报告 (.docx, ``reports.province``): every city's rank, so a province's leader's
    or assessor's only; a city's user is refused it (the report shows cities it may not see)."""
    from reports.province import report_bytes

    if viewer.role not in MIN_ROLES or viewer.city is not None:
        raise CityRefused("全省评估报告列出所有城市的排名，只有全省的领导和评估人员可以下载。")
    return report_bytes(where, period)


@_cached()
def cities(where: str, version: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """The province's city ranking as rolled up (rank, city, total, grade, sub-scores, departments, records,
    previous total and rank, ``change``), cut to the viewer's city for a city's user."""
    return _change(_only(viewer, rollup.read_rollup(where, period).cities))


@_cached()
def counties(where: str, version: str, viewer: Viewer, period: str, city: str) -> pd.DataFrame:
    """One city's counties from the roll-up (province-wide ``rank`` and the city's own ``city_rank``)."""
    _allowed(viewer, city)
    frame = rollup.read_rollup(where, period).counties
    return _change(frame[frame["city"] == city].sort_values(["city_rank", "county"]).reset_index(drop=True))


def _kind(where: str, kind: str, period: str, city: str) -> pd.DataFrame:
    return rollup.read_kind(where, kind, period, [city]).drop(columns=["city"], errors="ignore")


@_cached()
def departments(where: str, version: str, viewer: Viewer, period: str, city: str,
                county: str | None = None) -> pd.DataFrame:
    """A city's department scores for the period from its own partition (one county's, or all), named."""
    _allowed(viewer, city)
    scores = _kind(where, "scores", period, city)
    if scores.empty:
        return scores
    if county is not None:
        scores = scores[scores["county"] == county]
    names = _kind(where, "departments", period, city)
    named = dict(zip(names["dept_id"], names["name"])) if not names.empty else {}
    scores = scores.assign(name=[named.get(d, d) for d in scores["dept_id"]])
    scores["change"] = scores["total"] - scores["prev_total"]
    cols = ["dept_id", "name", "county", "rank", "county_rank", "total", "grade", *INDICATORS, "n_records",
            "standing", "prev_total", "prev_rank", "change"]
    return scores[[c for c in cols if c in scores.columns]].sort_values(
        ["rank", "dept_id"], na_position="last").reset_index(drop=True)


def _numbered(findings: pd.DataFrame, deductions: pd.DataFrame, period: str) -> pd.DataFrame:
    """Each finding's 序号 in its department, by the same SQL as everywhere (``results.finding_numbers``)."""
    con = duckdb.connect()
    try:
        con.register("findings", findings)
        con.register("deductions", deductions if not deductions.empty else pd.DataFrame(
            {"period": pd.Series(dtype="str"), "dept_id": pd.Series(dtype="str"),
             "rule_id": pd.Series(dtype="str"), "points": pd.Series(dtype="float")}))
        return con.execute(f"SELECT * FROM {results.finding_numbers()}", {"period": period}).df()
    finally:
        con.close()


def _records(where: str, period: str, city: str) -> pd.DataFrame:
    """The period's records of the city as the lists join them (文书号, 相对人, 类别, 决定日期, page, fetch)."""
    parts = [pd.DataFrame({c: pd.Series(dtype="str") for c in
                           ("kind", "record_key", "wsh", "xdr_mc", "xdr_lb", "jdrq", "rec_url", "rec_fetch_id")})]
    for kind in ("xk", "cf"):
        frame = _kind(where, f"{kind}_records", period, city)
        if frame.empty:
            continue
        k = kind.upper()
        part = pd.DataFrame({"kind": kind, "record_key": frame["record_key"], "wsh": frame[f"{k}_WSH"],
                             "xdr_mc": frame[f"{k}_XDR_MC"], "xdr_lb": frame[f"{k}_XDR_LB"],
                             "jdrq": frame[f"{k}_JDRQ"], "rec_url": frame["url"], "rec_fetch_id": frame["fetch_id"]})
        parts.append(part.drop_duplicates(["kind", "record_key"]))
    return pd.concat(parts, ignore_index=True)


def _department_findings(where: str, period: str, city: str, dept_id: str) -> pd.DataFrame:
    findings = _kind(where, "findings", period, city)
    if findings.empty:
        return findings
    return findings[findings["dept_id"] == dept_id]


@_cached()
def findings_total(where: str, version: str, viewer: Viewer, period: str, city: str, dept_id: str) -> int:
    """How many findings the department has in the period (for the pager)."""
    _allowed(viewer, city)
    return len(_department_findings(where, period, city, dept_id))


@_cached()
def findings(where: str, version: str, viewer: Viewer, period: str, city: str, dept_id: str, *,
             limit: int | None = PAGE_SIZE, offset: int = 0, mask_names: bool = False) -> pd.DataFrame:
    """One page of a department's findings from the city's partitions, in the 问题清单's shape and masking
    (``_finding.findings_table`` reads it), numbered as there; the status is the one scoring applied."""
    _allowed(viewer, city)
    df = _department_findings(where, period, city, dept_id)
    if df.empty:
        return df
    numbers = _numbered(df, _kind(where, "deductions", period, city), period)
    df = df.merge(numbers.rename(columns={"seq": "n"}), on="finding_id").sort_values("n")
    df = df.iloc[offset: None if limit is None else offset + limit].rename(columns={"wsh": "f_wsh"})
    names = _kind(where, "departments", period, city)
    named = dict(zip(names["dept_id"], names["name"])) if not names.empty else {}
    df = df.assign(dept_name=[named.get(d, d) for d in df["dept_id"]], decision_reason=None, decided_by=None,
                   decided_at=None, decided_action=None)
    df = df.merge(_records(where, period, city), how="left", on=["kind", "record_key"])
    # a record outside the period's partition: the finding's own copy of its 文书号 and 相对人 (schema 005)
    for col, own in (("wsh", "f_wsh"), ("xdr_mc", "subject")):
        df[col] = df[col].astype(object).where(df[col].notna(), df[own].astype(object))
    df["evidence"] = df["fetch_id"].where(df["fetch_id"].notna(), df["rec_fetch_id"])
    df["page_url"] = df["url"].where(df["url"].notna(), df["rec_url"])
    fetches = _kind(where, "fetches", period, city)
    if fetches.empty:
        fetches = pd.DataFrame({c: pd.Series(dtype="object") for c in ("fetch_id", "fetched_at", "warc_file",
                                                                         "warc_offset")})
    df = df.merge(fetches.rename(columns={"fetch_id": "evidence"}), how="left", on="evidence")
    shown = _shown(df.reset_index(drop=True), mask_names)
    return shown.assign(xdr_mc=shown["xdr_mc"].astype(object))  # a page of column-level findings only: no names


"""The documents (``reports/``) the dashboard offers as downloads: built on the first download, cached per
snapshot, period, day, version and the correction store's newest step; who may have which is decided here,
not by the page that shows the button.

``version`` None: the documents of the live results (a period issued before says 修订稿，未签发); a number:
that issued version's documents, built from its frozen file (``metrics.versions.open_version``), with the
version's own date and deadline (``day`` is then not used)."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from core.settings import resolve_paths
from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _on
from metrics import corrections, versions

DOCUMENT_ROLES = ("leader", "assessor")


def issued_versions(snapshot: str, viewer: Viewer, period: str) -> list[dict[str, Any]]:
    """The period's issued versions, oldest first (version, issued_on, deadline, issued_by, note): what a page
    offers to download besides the live documents ([] before the first issue or on a pre-007 snapshot). The
    same for every viewer: the list names no department."""
    return _issued(snapshot, period)


@_cached(max_entries=64)
def _issued(snapshot: str, period: str) -> list[dict[str, Any]]:
    return _on(snapshot, versions.issued, period)


def report_document(snapshot: str, viewer: Viewer, period: str, kind: str, day: str,
                    version: int | None = None) -> bytes:
    """The assessment report (``kind="report"``), workbook (``"workbook"``) or one-page 简报 (``"brief"``, or
    ``"brief_pdf"`` through LibreOffice) of the period, for leaders and assessors only; ``day`` is the report date
    (the deadline counts from it)."""
    if viewer.role not in DOCUMENT_ROLES:
        raise PermissionError("只有领导和评估人员可以下载评估报告和评估工作簿。")
    return _report(snapshot, period, kind, day, version, corrections.version(resolve_paths()))


@_cached(max_entries=16)
def _report(snapshot: str, period: str, kind: str, day: str, version: int | None, decisions: int) -> bytes:
    from reports import build as reports  # matplotlib and python-docx load only when a document is asked for

    build = {"report": reports.report_bytes, "workbook": reports.workbook_bytes, "brief": reports.brief_bytes,
             "brief_pdf": reports.brief_pdf_bytes}[kind]
    return _built(snapshot, period, version, build, period, date.fromisoformat(day))


def notice_document(snapshot: str, viewer: Viewer, period: str, dept_id: str, day: str,
                    version: int | None = None) -> Any:
    """A department's remediation notice (bytes), built from queries limited to the viewer's scope: a
    department user asking for another department's notice gets None (its rows are never read). Typed as
    the cached function was (``Any``): the page that offers it only ever asks for the viewer's own."""
    return _notice(snapshot, viewer.scope, period, dept_id, day, version, corrections.version(resolve_paths()))


@_cached(max_entries=64)
def _notice(snapshot: str, scope: str | None, period: str, dept_id: str, day: str, version: int | None,
            decisions: int) -> bytes | None:
    from reports import build as reports

    return _built(snapshot, period, version, reports.notice_bytes, period, dept_id, scope, date.fromisoformat(day))


def _built(snapshot: str, period: str, version: int | None, build: Callable[..., Any], *args: Any) -> Any:
    """``build`` on the snapshot, or on the issued version's file (an unknown version: VersionError)."""
    paths = resolve_paths()
    if version is None:
        return _on(snapshot, lambda con: build(con, *args, paths=paths))
    con = versions.open_version(paths, period, version)
    try:
        return build(con, *args, paths=paths)
    finally:
        con.close()

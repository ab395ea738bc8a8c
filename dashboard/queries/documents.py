"""The documents (``reports/``) the dashboard offers as downloads: built on the first download, cached per
snapshot, period and day; who may have which is decided here, not by the page that shows the button."""
from __future__ import annotations

from datetime import date

from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _on

DOCUMENT_ROLES = ("leader", "assessor")


@_cached(max_entries=16)
def report_document(snapshot: str, viewer: Viewer, period: str, kind: str, day: str) -> bytes:
    """The assessment report (``kind="report"``) or workbook (``"workbook"``) of the period, for leaders and
    assessors only; ``day`` is the report date (the deadline counts from it)."""
    from reports import build as reports  # matplotlib and python-docx load only when a document is asked for

    if viewer.role not in DOCUMENT_ROLES:
        raise PermissionError("只有领导和评估人员可以下载评估报告和评估工作簿。")
    build = {"report": reports.report_bytes, "workbook": reports.workbook_bytes}[kind]
    return _on(snapshot, build, period, date.fromisoformat(day))


@_cached(max_entries=64)
def notice_document(snapshot: str, viewer: Viewer, period: str, dept_id: str, day: str) -> bytes | None:
    """A department's remediation notice, built from queries limited to the viewer's scope: a department
    user asking for another department's notice gets None (its rows are never read)."""
    from reports import build as reports

    return _on(snapshot, reports.notice_bytes, period, dept_id, viewer.scope, date.fromisoformat(day))

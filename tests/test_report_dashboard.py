"""The documents as dashboard downloads on the demo city: leaders and assessors get the report and the
workbook on 总览; a department user gets only its own notice, and the query it is built from refuses any
other department."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from docx import Document

from conftest import QUARTERS
from dashboard import auth
from dashboard.queries import documents, overview, shared
from dashboard_city import app, login, run

pytestmark = pytest.mark.usefixtures("fresh_caches")

PERIOD = QUARTERS[-1]


def _labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


@pytest.mark.parametrize("role", ["leader", "assessor"])
def test_leaders_and_assessors_download_report_and_workbook(demo_dashboard, role) -> None:
    at = login(app(), role, f"{role}-demo")
    at.switch_page("dashboard/views/overview.py")
    run(at)
    assert _labels(at) == ["下载简报（Word，一页）", "下载简报（PDF）", "下载评估报告（Word）", "下载评估工作簿（Excel）"]
    viewer = auth.Viewer(role, role, role)
    snap = shared.snapshot_name()
    day = date.today().isoformat()
    report = Document(io.BytesIO(documents.report_document(snap, viewer, PERIOD, "report", day)))
    assert report.paragraphs[0].text == "2026年第三季度双公示工作评估报告"
    brief = Document(io.BytesIO(documents.report_document(snap, viewer, PERIOD, "brief", day)))
    assert brief.paragraphs[0].text == "2026年第三季度双公示工作简报"
    ranking = overview.department_ranking(snap, viewer, PERIOD)
    weakest = ranking[ranking["standing"] == "ranked"].sort_values(["rank", "name"], ascending=[False, True])
    right_half = [row.cells[6].text for row in brief.tables[0].rows[1:]]
    assert right_half == weakest["name"].head(5).tolist()  # the five weakest, weakest first
    if brief_pdf_possible():
        assert documents.report_document(snap, viewer, PERIOD, "brief_pdf", day).startswith(b"%PDF-")
    book = openpyxl.load_workbook(io.BytesIO(documents.report_document(snap, viewer, PERIOD, "workbook", day)))
    shown = overview.department_ranking(snap, viewer, PERIOD)
    assert [r[1] for r in book["部门排名"].iter_rows(min_row=2, values_only=True)] == shown["dept_id"].tolist()


def brief_pdf_possible() -> bool:
    """LibreOffice converts the 简报 to PDF; .ci/run installs it (tests/test_report_pdf.py fails without it on CI)."""
    from reports.brief import soffice

    return soffice() is not None


def test_department_downloads_only_its_own_notice(demo_dashboard) -> None:
    _paths, depts = demo_dashboard
    (own, own_name), (other, other_name) = depts[0], depts[1]
    at = login(app(), own, f"{own}-demo")
    at.switch_page("dashboard/views/department.py")
    run(at)
    labels = _labels(at)
    assert "下载整改通知书（Word）" in labels
    assert not any("评估报告" in x or "评估工作簿" in x for x in labels)
    viewer = auth.Viewer(own, own_name, "department", own)
    snap, day = shared.snapshot_name(), date.today().isoformat()
    mine = Document(io.BytesIO(documents.notice_document(snap, viewer, PERIOD, own, day)))
    text = "\n".join(p.text for p in mine.paragraphs)
    assert own_name in text and other_name not in text
    assert documents.notice_document(snap, viewer, PERIOD, other, day) is None  # the query refuses, not the page
    with pytest.raises(PermissionError):
        documents.report_document(snap, viewer, PERIOD, "report", day)

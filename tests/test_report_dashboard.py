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


def test_a_finding_has_the_same_number_everywhere(demo_dashboard) -> None:
    """序号 of a finding in its department's list on the dashboard = in the Excel list = in the notice = in the
    workbook (metrics.results.finding_numbers), whatever filter or page the list was read with."""
    from dashboard.queries import findings
    from dashboard.views import _finding
    from reports import notice

    _paths, _depts = demo_dashboard
    leader = auth.Viewer("leader", "leader", "leader")
    snap, day = shared.snapshot_name(), date.today().isoformat()
    listed = findings.findings(snap, leader, PERIOD, limit=None)
    dept = listed["dept_id"].value_counts().index[0]  # the department with most findings
    mine = listed[listed["dept_id"] == dept]
    numbers = dict(zip(mine["finding_id"], mine["n"]))
    assert sorted(numbers.values()) == list(range(1, len(numbers) + 1))
    late = findings.findings(snap, leader, PERIOD, dept_id=dept, indicator="timeliness", limit=None)
    assert dict(zip(late["finding_id"], late["n"])) == {f: numbers[f] for f in late["finding_id"]}  # filtered
    sheet = openpyxl.load_workbook(io.BytesIO(_finding.excel(_finding.findings_table(mine), "整改清单")))["整改清单"]
    head, *rows = list(sheet.values)
    assert {r[head.index("问题编号")]: r[head.index("序号")] for r in rows} == numbers
    book = openpyxl.load_workbook(io.BytesIO(documents.report_document(snap, leader, PERIOD, "workbook", day)))
    head, *rows = list(book["问题清单"].values)
    in_book = {r[head.index("问题编号")]: r[head.index("序号")] for r in rows if r[head.index("部门编号")] == dept}
    assert in_book == {f: n for f, n in numbers.items() if mine.set_index("finding_id").loc[f, "status"] != "waived"}
    doc = Document(io.BytesIO(documents.notice_document(snap, leader, PERIOD, dept, day)))
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells] == notice.FINDING_HEADERS)
    shown = {(int(r.cells[0].text), r.cells[1].text) for r in table.rows[1:]}
    assert shown == {(numbers[f], r) for f, r in zip(mine["finding_id"], mine["rule_name"]) if f in in_book}

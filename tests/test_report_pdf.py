"""The real consumer of a .docx is an office suite: LibreOffice (headless) converts the report and a notice to
PDF, which must have pages, and the Chinese text must come through as text (pdftotext, when poppler-utils is
installed). Skipped only on a developer machine without LibreOffice; on CI (``CI=true``) that fails, since
``.ci/run`` installs it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import QUARTERS
from core import store
from reports import build

ON_CI = os.environ.get("CI", "").lower() == "true"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def soffice() -> str:
    if SOFFICE is None:
        if ON_CI:
            pytest.fail("CI=true 但找不到 soffice：.ci/run 应已用 apt-get 安装 libreoffice-writer-nogui。")
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-writer-nogui); on CI this test fails")
    return SOFFICE


def _to_pdf(soffice: str, docx: Path, out: Path, profile: Path) -> Path:
    """Convert with a private profile, so parallel runs (and a user's open LibreOffice) never collide."""
    run = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                          "--convert-to", "pdf", "--outdir", str(out), str(docx)],
                         capture_output=True, text=True, timeout=180)
    pdf = out / (docx.stem + ".pdf")
    assert run.returncode == 0 and pdf.exists(), run.stderr
    return pdf


def test_report_and_notice_convert_to_pdf_with_pages(demo_run, soffice, tmp_path) -> None:
    con = store.open_snapshot(demo_run.paths)
    try:
        written = build.write_all(con, QUARTERS[-1], tmp_path / "docs")
    finally:
        con.close()
    worst = max(written.notices, key=lambda d: written.notices[d].stat().st_size)
    for docx, at_least in ((written.report, 5), (written.notices[worst], 2)):
        pdf = _to_pdf(soffice, docx, tmp_path / "pdf", tmp_path / "profile")
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
        assert pages >= at_least, (docx.name, pages)
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout
            assert "整改" in text and "2026" in text  # Chinese came through as text, not boxes


def _cell_tokens(docx: Path) -> Counter:
    """The short cells of a document's tables (numbers and words of at most three characters, e.g. 100.0,
    不合格, +2.9): how often each occurs in the document's tables."""
    import docx as python_docx

    doc = python_docx.Document(str(docx))
    cells = Counter()
    for t in doc.tables:
        for row in t.rows[1:]:
            for cell in row.cells:
                value = cell.text.strip()
                if value and (re.fullmatch(r"[+\-]?\d[\d,.]*%?", value) or len(value) <= 3):
                    cells[value] += 1
    return cells


def assert_no_cell_breaks(soffice: str, docx: Path, tmp_path: Path) -> int:
    """Rendered by LibreOffice, no table cell breaks a number or a short word across lines: every such cell's
    text occurs whole in the PDF's text at least as often as the tables hold it. Returns the PDF's pages."""
    pdf = _to_pdf(soffice, docx, tmp_path / "pdf", tmp_path / "profile")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    tokens = Counter()
    for line in text.splitlines():
        for token in re.split(r"\s+", line.strip()):
            tokens[token] += 1
    broken = {cell: (n, tokens[cell]) for cell, n in _cell_tokens(docx).items() if tokens[cell] < n}
    assert not broken, f"{docx.name}: cells broken across lines (cell: in tables, whole in the PDF): {broken}"
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))


def test_documents_keep_every_number_and_short_word_whole(demo_run, soffice, tmp_path) -> None:
    """The 公文 read as 公文: the report's ranking tables fit their columns (no "100.0/0", "不合/格"), a notice's
    tables too, and the 简报 stays one page."""
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext 未安装：.ci/run 应已安装 poppler-utils。") if ON_CI else pytest.skip("no pdftotext")
    con = store.open_snapshot(demo_run.paths)
    try:
        written = build.write_all(con, QUARTERS[-1], tmp_path / "docs")
    finally:
        con.close()
    worst = max(written.notices, key=lambda d: written.notices[d].stat().st_size)
    assert assert_no_cell_breaks(soffice, written.brief, tmp_path) == 1
    assert assert_no_cell_breaks(soffice, written.report, tmp_path) >= 5
    assert assert_no_cell_breaks(soffice, written.notices[worst], tmp_path) >= 1

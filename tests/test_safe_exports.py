"""What we write is data, never code: the usual formula-injection payloads, put into crawled and imported
values of a small city (``dashboard_city``, a real DuckDB published through the store), reach every
spreadsheet the project writes — the 整改清单 download (部门自查), the same list as 问题清单 shows it, the
assessment workbook as ``sgs report`` writes it and as the dashboard's 总览 offers it — through the real code
paths. Each file is opened back twice: with openpyxl, and as its sheet XML (every part unzipped and scanned):
no formula cell, no formula-string cell, no link, no external/DDE link anywhere, and each payload is there as
text, exactly. CSV (``reports.sheets.write_csv``) gets OWASP's single-quote prefix.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from lxml import etree
from typer.testing import CliRunner

from dashboard import auth
from dashboard.queries import documents, findings, shared
from dashboard.views import _finding
from dashboard_city import app, build_city, login, write_test_users
from core import store
from reports import sheets
from sgs.cli import app as cli
from core.settings import Paths, resolve_paths

PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://evil","x")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    'DDE("cmd";"/C calc";"!A0")',
    '=DDE("cmd";"/C calc";"!A0")',
]
PERIOD = "2026Q3"
EVIL_DEPT = "=HYPERLINK(\"http://evil\",\"x\")"  # a department name from the city file, as imported
Q3_FINDINGS = ["fid-2026Q3-d_jtj-4-completeness", "fid-2026Q3-d_scj-1-accuracy", "fid-2026Q3-d_scj-1-timeliness",
               "fid-2026Q3-d_scj-2-completeness", "fid-2026Q3-d_scj-3-accuracy"]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def hostile(con) -> None:
    """Payloads in every kind of text that reaches a file: the findings' value and message (from crawled
    pages), the records' 相对人名称, the 未能核验 reasons, the deductions' 计算方法 and a department's name
    (from the city file); deductions so the workbook lists the findings (they add up to each total)."""
    for n, fid in enumerate(Q3_FINDINGS):
        con.execute("UPDATE findings SET value = ?, message = ? WHERE finding_id = ?",
                    [PAYLOADS[2 * n], PAYLOADS[2 * n + 1], fid])
    for n, key in enumerate(["rk1", "rk2", "rk4"]):
        con.execute("UPDATE cf_records SET CF_XDR_MC = ? WHERE record_key = ?", [PAYLOADS[n], key])
    con.execute("UPDATE xk_records SET XK_XDR_MC = ? WHERE record_key = 'rk3'", [PAYLOADS[3]])
    for n, (event, reason) in enumerate(zip(con.execute("SELECT rowid FROM unverified ORDER BY rowid").fetchall(),
                                            PAYLOADS[4:])):
        con.execute("UPDATE unverified SET reason = ? WHERE rowid = ?", [reason, event[0]])
    con.execute("UPDATE departments SET name = ? WHERE dept_id = 'd_jtj'", [EVIL_DEPT])
    store.insert_rows(con, "deductions", [
        {"period": PERIOD, "dept_id": d, "indicator": ind, "rule_id": f"{ind}_rule", "n_findings": 1,
         "n_records": 3, "points": points, "how": how, "scheme_version": "default-1"}
        for d, ind, points, how in [("d_scj", "timeliness", 8.0, PAYLOADS[7]), ("d_scj", "completeness", 10.0,
                                    PAYLOADS[8]), ("d_scj", "accuracy", 7.0, PAYLOADS[9]),
                                   ("d_jtj", "completeness", 47.2, PAYLOADS[0])]])


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Paths:
    paths = resolve_paths(tmp_path_factory.mktemp("hostile") / "sgs.duckdb")
    build_city(paths, extra=hostile)
    return paths


@pytest.fixture()
def env(city: Paths, monkeypatch) -> Paths:
    monkeypatch.setenv("SGS_DB", str(city.db))
    monkeypatch.setenv("SGS_USERS", str(write_test_users(city.root / "users.toml")))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    import streamlit as st
    st.cache_data.clear()
    yield city
    st.cache_data.clear()


# --- reading a written file back ----------------------------------------------------------------------

def _unescape(text: str) -> str:
    """OOXML's ``_xHHHH_`` escape of control characters (ST_Xstring), which Excel decodes and openpyxl
    does not: a CR is stored as ``_x000D_``."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text)


def xml_texts(data: bytes) -> list[str]:
    """Every text cell of every sheet, read from the XML; fails on anything that is or calls code."""
    z = zipfile.ZipFile(BytesIO(data))
    names = z.namelist()
    assert not [n for n in names if "externalLink" in n or n.endswith(".bin") or "connections" in n], names
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        root = etree.fromstring(z.read("xl/sharedStrings.xml"))
        shared = ["".join(si.itertext()) for si in root.iter(f"{MAIN}si")]
    texts = []
    for name in names:
        if not name.endswith(".xml"):
            continue
        root = etree.fromstring(z.read(name))
        assert not root.xpath("//*[local-name()='f' or local-name()='ddeLink' or local-name()='hyperlink']"), name
        if not name.startswith("xl/worksheets/"):
            continue
        for c in root.iter(f"{MAIN}c"):
            kind = c.get("t", "n")
            assert kind in ("s", "inlineStr", "n", "b"), (name, c.get("r"), kind)  # "str": a formula's result
            if kind == "s":
                texts.append(shared[int(c.findtext(f"{MAIN}v"))])
            elif kind == "inlineStr":
                texts.append("".join(c.find(f"{MAIN}is").itertext()))
    return [_unescape(t) for t in texts]


def openpyxl_texts(data: bytes) -> list[str]:
    """Every text cell as openpyxl reads it; no cell is a formula, and formula-like text carries the quote
    prefix (editing it in Excel keeps it text)."""
    book = openpyxl.load_workbook(BytesIO(data))
    texts = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    text = _unescape(cell.value)
                    texts.append(text)
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    assert cell.quotePrefix == sheets.looks_like_formula(text), (ws.title, cell.coordinate, text)
    return texts


def assert_data_only(data: bytes, expected: list[str]) -> None:
    """No formula in the file, and each expected text is a cell's whole text."""
    by_xml, by_openpyxl = xml_texts(data), openpyxl_texts(data)
    assert sorted(by_xml) == sorted(by_openpyxl)
    missing = [p for p in expected if p not in by_xml]
    assert not missing, missing


# --- the hazard, reproduced ---------------------------------------------------------------------------

def test_pandas_through_openpyxl_made_crawled_text_live_formulas() -> None:
    """What the 整改清单 download did before ``reports.sheets``: pandas' openpyxl engine writes every string
    beginning with "=" as a formula — a crawled ``=HYPERLINK(…)`` or ``=cmd|…`` became live in Excel."""
    out = BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        pd.DataFrame({"问题值": PAYLOADS}).to_excel(writer, index=False)
    cells = {c.value: c.data_type for c in openpyxl.load_workbook(BytesIO(out.getvalue())).active["A"][1:]}
    assert cells['=HYPERLINK("http://evil","x")'] == "f" and cells["=cmd|' /C calc'!A0"] == "f"
    with pytest.raises(AssertionError):
        xml_texts(out.getvalue())


# --- the writer itself ------------------------------------------------------------------------------

@pytest.mark.parametrize("streamed", [True, False], ids=["file-constant-memory", "buffer"])
def test_writer_keeps_text_as_text_and_numbers_as_numbers(tmp_path: Path, streamed: bool) -> None:
    others = ["http://evil.example/x", "1e5", "00123", " =1+1", "a=1"]
    when = datetime(2026, 10, 7, 8, 30)
    columns = [("文本", 30, None), ("数", 8, "int"), ("分", 8, "score"), ("时间", 17, "time"), ("日", 12, "date")]
    rows = [[text, 7, 97.456, when, date(2026, 10, 7)] for text in [*PAYLOADS, *others]]
    target = tmp_path / "w.xlsx" if streamed else BytesIO()
    with sheets.Book(target) as book:
        assert book.wb.constant_memory == streamed  # a file is streamed to disk row by row
        book.sheet("=1+1", columns, rows)
    data = target.read_bytes() if streamed else target.getvalue()
    assert_data_only(data, PAYLOADS + others)
    ws = openpyxl.load_workbook(BytesIO(data)).active
    assert ws.title == "=1+1"
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert [v[1:] for v in values] == [(7, 97.46, when, datetime(2026, 10, 7))] * len(rows)
    assert [_unescape(v[0]) for v in values][:len(PAYLOADS)] == PAYLOADS
    assert values[len(PAYLOADS) + 2][0] == "00123"  # not the number 123


def test_frame_types_columns_by_dtype() -> None:
    df = pd.DataFrame({"序号": [1, 2], "问题值": PAYLOADS[:2], "抓取时间": pd.to_datetime(
        ["2026-10-07 08:01", None]).tz_localize("Asia/Shanghai"), "分": [1.5, float("nan")]})
    data = sheets.xlsx_bytes(df, "整改清单")
    assert_data_only(data, PAYLOADS[:2])
    ws = openpyxl.load_workbook(BytesIO(data))["整改清单"]
    assert list(ws.iter_rows(values_only=True)) == [
        ("序号", "问题值", "抓取时间", "分"), (1, PAYLOADS[0], datetime(2026, 10, 7, 8, 1), 1.5),
        (2, PAYLOADS[1], None, None)]  # the wall-clock time as shown; missing values are empty cells
    assert ws["C2"].number_format == "yyyy-mm-dd hh:mm"


def test_identifiers_sgs_minted_stay_whole_and_personal_numbers_are_masked() -> None:
    """A finding's id is a hash whose digits can look like a mobile number (…c19724747343…, met in a test run):
    a "key" column writes it as is, so 问题编号 still finds the finding; a text column masks the same run."""
    minted, phone = "1f0c19724747343a", "电话 13912345678"
    df = pd.DataFrame({"问题编号": [minted], "问题说明": [phone], "备注": [minted]})
    ws = openpyxl.load_workbook(BytesIO(sheets.xlsx_bytes(df, "整改清单")))["整改清单"]
    assert list(ws.iter_rows(min_row=2, values_only=True)) == [(minted, "电话 139****5678", "1f0c197****7343a")]


def test_csv_gets_the_owasp_prefix() -> None:
    out = io.StringIO(newline="")
    sheets.write_csv(out, ["值", "数"], [[p, -1.5] for p in PAYLOADS] + [["普通文本", None]])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == ["值", "数"]
    assert [r[0] for r in rows[1:-1]] == [("'" + p if p[0] in "=+-@\t\r" else p) for p in PAYLOADS]
    assert {r[1] for r in rows[1:-1]} == {"-1.5"} and rows[-1] == ["普通文本", ""]  # numbers are not text
    assert all(line.startswith('"') for line in out.getvalue().split("\r\n") if line)  # every field quoted


# --- every download, through the real code paths ---------------------------------------------------------

def test_remediation_list_download_is_data_only(env: Paths) -> None:
    """部门自查's 整改清单 as each department downloads it (the page's own query, table and writer)."""
    snap = shared.snapshot_name()
    seen: list[str] = []
    for dept in ("d_scj", "d_jtj"):
        who = auth.Viewer(dept, dept, "department", dept)
        df = findings.findings(snap, who, PERIOD, dept_id=dept, limit=None)
        data = _finding.excel(_finding.findings_table(df), "整改清单")
        assert_data_only(data, [])
        seen += xml_texts(data)
    assert not [p for p in PAYLOADS if p not in seen]
    at = login(app(), "jtj")  # the page itself renders the hostile rows and offers the download
    assert "Excel" in at.get("download_button")[0].proto.label


def test_findings_list_as_assessors_see_it_is_data_only(env: Paths) -> None:
    """问题清单's table (with the department column, a hostile department name among them) as a file."""
    snap = shared.snapshot_name()
    judge = auth.Viewer("judge", "judge", "assessor")
    df = findings.findings(snap, judge, PERIOD, limit=None)
    assert_data_only(_finding.excel(_finding.findings_table(df, with_department=True), "问题清单"),
                     [*PAYLOADS, EVIL_DEPT])


def test_report_workbook_is_data_only(env: Paths, tmp_path: Path) -> None:
    """``sgs report`` (a streamed file) and 总览's workbook download (in memory): 说明, rankings, 扣分明细,
    问题清单, 未能核验 and the departments' sheets."""
    result = CliRunner().invoke(cli, ["report", "--period", PERIOD, "--out", str(tmp_path), "--db", str(env.db),
                                      "--date", "2026-10-12"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / f"{PERIOD}-双公示评估工作簿.xlsx").read_bytes()
    assert_data_only(written, [*PAYLOADS, EVIL_DEPT])
    book = openpyxl.load_workbook(BytesIO(written))
    ranked = {r[1]: r[2] for r in book["部门排名"].iter_rows(min_row=2, values_only=True)}
    assert ranked["d_jtj"] == EVIL_DEPT
    head, *rows = book["问题清单"].iter_rows(values_only=True)
    listed = [_unescape(r[head.index("值")]) for r in rows]
    assert sorted(listed) == sorted(PAYLOADS[0::2])  # 值 of the five findings, exactly
    leader = auth.Viewer("boss", "boss", "leader")
    offered = documents.report_document(shared.snapshot_name(), leader, PERIOD, "workbook", "2026-10-12")
    assert_data_only(offered, [*PAYLOADS, EVIL_DEPT])
    assert sorted(xml_texts(offered)) == sorted(xml_texts(written))

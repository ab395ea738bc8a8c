"""sgs validate on real CSV and XLSX files: the same rule modules as scoring, clear exits for unreadable files."""
from __future__ import annotations

import csv
import json
from datetime import datetime

import openpyxl
import pytest
from typer.testing import CliRunner

from core import standard
from metrics.checks import all_checks
from metrics.validate import checks_before_publication, validate_file
from sgs.cli import app
from tests.test_checks import AS_OF, BASE, make_ric, make_uscc, wsh

runner = CliRunner()
BAD_CODE = make_uscc()[:17] + ("0" if make_uscc()[17] != "0" else "1")
BAD_ID = make_ric()[:17] + ("0" if make_ric()[17] != "0" else "1")


def _names(kind: str) -> dict[str, str]:
    """Standard code → the Chinese header the national template prints."""
    return {f.code: f.name for f in (*standard.load(kind).fields, *standard.page_fields())}


def _rows(kind: str, *overrides: dict) -> list[dict]:
    return [{**BASE[kind], f"{kind.upper()}_WSH": wsh(kind, str(n)), **o} for n, o in enumerate(overrides, 1)]


def _codes(records: list[dict]) -> list[str]:
    return list(dict.fromkeys(c for r in records for c in r))


def write_csv(path, kind: str, records: list[dict], encoding: str = "utf-8", chinese: bool = True):
    names = _names(kind)
    codes = _codes(records)
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow([names[c] if chinese else c for c in codes])
        for r in records:
            w.writerow(["" if r.get(c) is None else r[c] for c in codes])
    return path


def write_xlsx(path, kind: str, records: list[dict], title: str | None = None):
    names = _names(kind)
    codes = _codes(records)
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])  # a title row above the header, as templates have
    sheet.append([names[c] for c in codes])
    for r in records:
        sheet.append([r.get(c) for c in codes])
    book.save(path)
    return path


def test_only_rules_needing_nothing_else_run():
    ids = {c.rule.id for c in checks_before_publication()}
    assert "late_publication" not in ids and "portal_missing" not in ids
    assert ids == {c.rule.id for c in all_checks() if not c.rule.needs} and "credit_code_invalid" in ids


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_clean_csv_in_each_encoding(tmp_path, encoding):
    path = write_csv(tmp_path / "cf.csv", "cf", _rows("cf", {}, {"CF_XDR_MC": "长治市另一家公司"}), encoding)
    assert validate_file(path, "cf", as_of=AS_OF) == []
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert result.exit_code == 0, result.output
    assert "未发现问题" in result.stderr and result.stdout == ""


def test_codes_as_headers(tmp_path):
    path = write_csv(tmp_path / "cf.csv", "cf", _rows("cf", {"CF_XDR_SHXYM": BAD_CODE}), chinese=False)
    assert [(p.row, p.field, p.rule) for p in validate_file(path, "cf", as_of=AS_OF)] == \
        [(2, "CF_XDR_SHXYM", "credit_code_invalid")]  # the spreadsheet's row: the header is row 1


def test_xlsx_problems_as_json(tmp_path):
    records = _rows("cf", {}, {"CF_XDR_SHXYM": BAD_CODE}, {"CF_SY": None},
                    {"CF_XDR_LB": "自然人", "CF_XDR_SHXYM": None, "CF_XDR_ZJLX": "身份证", "CF_XDR_ZJHM": BAD_ID})
    records[0]["CF_JDRQ"] = datetime(2026, 9, 25)  # a real Excel date cell
    records[0]["CF_NR_FK"] = 2.0  # a number cell
    path = write_xlsx(tmp_path / "处罚.xlsx", "cf", records, title="2026年9月行政处罚信息")
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf", "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    got = report["problems"]
    assert all(set(p) == {"row", "field", "rule", "message", "sheet"} for p in got)
    # the title is row 1 and the header row 2, so the records are rows 3 to 6 as the spreadsheet numbers them
    assert report["header_rows"] == [{"sheet": "Sheet", "row": 2}] and report["unrecognised_columns"] == []
    assert {(p["row"], p["field"], p["rule"]) for p in got} == {
        (4, "CF_XDR_SHXYM", "credit_code_invalid"), (5, "CF_SY", "required_missing"),
        (6, "CF_XDR_ZJHM", "id_number_invalid")}
    assert BAD_ID not in result.stdout and BAD_ID[:6] + "********" in result.stdout  # personal data masked
    text = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert text.exit_code == 1
    lines = text.stdout.splitlines()
    assert lines[0] == "行号为表格中的行号（表头为第 2 行）。"
    assert lines[lines.index("问题明细：") + 1].startswith("第 4 行\tCF_XDR_SHXYM\tcredit_code_invalid\t")
    assert "3 个问题" in text.stderr


def test_same_findings_as_scoring(tmp_path):
    """A file and the same records crawled and scored give the same (row, field, rule) for these rules."""
    from core import store
    from metrics.scoring import score_period
    from core.settings import Paths
    from tests.test_checks import PERIOD, add

    variants = [{"XK_YXQZ": "2026-09-26", "XK_YXQZI": "2026-09-25"}, {"XK_XKLB": "特别"}, {"XK_XDR_MC": None},
                {"XK_XDR_SHXYM": "00000000000000000X"}, {"XK_JDRQ": "2026-09-31"}]
    path = write_csv(tmp_path / "xk.csv", "xk", _rows("xk", *variants))
    from_file = {(p.row - 1, p.field, p.rule) for p in validate_file(path, "xk", as_of=AS_OF)}  # header: row 1
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市市场监督管理局', '市本级')")
    for n, v in enumerate(variants, start=1):
        add(con, "xk", str(n), **v)
    score_period(con, PERIOD, as_of=AS_OF)
    allowed = {c.rule.id for c in checks_before_publication()}
    scored = {(int(k), f, r) for k, f, r in con.execute("SELECT record_key, field, rule_id FROM findings").fetchall()
              if r in allowed}
    con.close()
    assert from_file == scored and len(from_file) >= 4


@pytest.mark.parametrize("name, content, reason", [
    ("missing.csv", None, "不存在"),
    ("notes.txt", b"a,b,c\n", "不是 CSV 或 XLSX"),
    ("binary.csv", b"\xff\xfe\xff\x00\xff" * 10, "编码无法识别"),
    ("noheader.csv", "甲,乙,丙\n1,2,3\n".encode(), "没有可识别的表头"),
    ("broken.xlsx", b"not a zip", "不是有效的 XLSX"),
])
def test_unreadable_files_exit_2_with_the_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert result.exit_code == 2, result.output
    assert reason in result.stderr and name in result.stderr


def test_wrong_kind_reports_the_kinds_required_fields(tmp_path):
    """A penalty file checked as licences: the shared 相对人 columns are read, the licence's own are missing."""
    path = write_csv(tmp_path / "cf.csv", "cf", _rows("cf", {}))
    result = runner.invoke(app, ["validate", str(path), "--kind", "xk", "--format", "json"])
    assert result.exit_code == 1
    got = {(p["field"], p["rule"]) for p in json.loads(result.stdout)["problems"]}
    assert ("XK_WSH", "required_missing") in got and ("XK_XDR_MC", "required_missing") not in got

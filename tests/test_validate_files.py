"""sgs validate on files as departments and regulators really publish them: names in use, units in headers,
columns outside the standard, values written as people write them, several sheets, and a large table."""
from __future__ import annotations

import csv
import json

import openpyxl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from metrics.validate import check_file, read_records, text_lines
from sgs.cli import app
from tests.test_checks import AS_OF, BASE, wsh

runner = CliRunner()

# A regulator's penalty table: its own column names (none of them the standard's 790号 names except 处罚依据),
# in its own order, with columns the standard does not have.
REGULATOR = {
    "序号": None, "当事人名称": "CF_XDR_MC", "当事人类型": "CF_XDR_LB", "统一社会信用代码": "CF_XDR_SHXYM",
    "法定代表人": "CF_FRDB", "行政处罚决定书文号": "CF_WSH", "违法行为类型": "CF_WFXW",
    "主要违法违规事实": "CF_SY", "处罚依据": "CF_YJ", "处罚类型": "CF_CFLB", "处罚内容": "CF_NR",
    "罚款金额(元)": "CF_NR_FK", "作出处罚决定的日期": "CF_JDRQ", "处罚有效期": "CF_YXQ", "作出决定机关": "CF_CFJG",
    "处罚机关统一社会信用代码": "CF_CFJGDM", "数据来源单位": "CF_SJLY",
    "数据来源单位统一社会信用代码": "CF_SJLYDM", "案件来源": None, "联系电话": None,
}


def regulator_row(n: int, **values: str | None) -> list[str | None]:
    """One row of the regulator's table: BASE's record, the fine in 元 (2 万元 = 20000 元), overrides by code."""
    record = {**BASE["cf"], "CF_WSH": wsh("cf", str(n)), "CF_NR_FK": "20000", **values}
    return [str(n) if header == "序号" else "来电" if header == "案件来源" else "0355-1234567" if header == "联系电话"
            else record.get(code) for header, code in REGULATOR.items()]


def write_book(path, sheets: dict[str, list[list]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def regulator_file(tmp_path, *rows: list, headers: list[str] | None = None, above: int = 0):
    body = [[f"2026年第{i + 1}号公示"] for i in range(above)] + [headers or list(REGULATOR), *rows]
    return write_book(tmp_path / "处罚公示.xlsx", {"行政处罚": body})


def test_a_regulators_table_has_no_false_missing_field(tmp_path):
    path = regulator_file(tmp_path, regulator_row(1), regulator_row(2, CF_XDR_MC="长治市另一家公司"))
    report = check_file(path, "cf", as_of=AS_OF)
    assert report.problems == []
    assert [(c.column, c.header) for c in report.unrecognised] == [("S", "案件来源"), ("T", "联系电话")]  # 序号 is layout


@pytest.mark.parametrize("header", ["作出决定时间", "作出处罚决定的日期", "处罚决定日期（格式为：YYYY/MM/DD）", "做出处罚的日期"])
def test_decision_date_names_in_use(tmp_path, header):
    headers = [header if h == "作出处罚决定的日期" else h for h in REGULATOR]
    path = regulator_file(tmp_path, regulator_row(1), headers=headers)
    assert check_file(path, "cf", as_of=AS_OF).problems == []


def test_fine_in_yuan_is_converted_and_a_wan_yuan_header_is_not(tmp_path):
    path = regulator_file(tmp_path, regulator_row(1, CF_NR_FK="11000"), regulator_row(2, CF_NR_FK="1.1万元"))
    records, _ = read_records(path, "cf")
    assert [r["CF_NR_FK"] for r in records.rows] == ["1.1", "1.1"]
    wan = [h.replace("(元)", "（万元）") for h in REGULATOR]
    records, _ = read_records(regulator_file(tmp_path, regulator_row(1, CF_NR_FK="2"), headers=wan), "cf")
    assert records.rows[0]["CF_NR_FK"] == "2"


def test_an_unknown_unit_is_not_guessed(tmp_path):
    headers = [h.replace("(元)", "(美元)") for h in REGULATOR]
    report = check_file(regulator_file(tmp_path, regulator_row(1), headers=headers), "cf", as_of=AS_OF)
    assert "罚款金额(美元)" in [c.header for c in report.unrecognised]
    assert ("CF_NR_FK", "conditional_missing") in {(p.field, p.rule) for p in report.problems}


def test_unrecognised_columns_come_first(tmp_path):
    path = regulator_file(tmp_path, regulator_row(1, CF_XDR_SHXYM="123"))
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("未识别的列（共 2 列，已忽略") and "序号" not in lines[1] and "联系电话" in lines[1]
    assert "字段名或字段代码" in lines[2]
    got = json.loads(runner.invoke(app, ["validate", str(path), "--kind", "cf", "-f", "json"]).stdout)
    assert {"sheet": "行政处罚", "column": "T", "header": "联系电话"} in got["unrecognised_columns"]


@pytest.mark.parametrize("category, ok", [("警告、罚款", True), ("罚款；警告", True), ("警告，罚款", True),
                                          ("罚款、责令改正", False)])
def test_several_categories_as_people_separate_them(tmp_path, category, ok):
    report = check_file(regulator_file(tmp_path, regulator_row(1, CF_CFLB=category)), "cf", as_of=AS_OF)
    bad = [p for p in report.problems if p.rule == "enum_invalid"]
    assert (bad == []) == ok
    if not ok:
        assert "多项时以“;”分隔" in bad[0].message


def test_dates_and_amounts_as_people_write_them(tmp_path):
    rows = [regulator_row(n, CF_JDRQ=d, CF_NR_FK=a) for n, (d, a) in enumerate(
        [("2025年2月14日", "1.1万元"), ("2025.2.14", "11000元"), ("2025/02/14", "壹万元"), ("20250214", "11,000")], 1)]
    path = regulator_file(tmp_path, *rows)
    records, _ = read_records(path, "cf")
    assert {r["CF_JDRQ"] for r in records.rows} == {"2025-02-14"}
    assert [r["CF_NR_FK"] for r in records.rows] == ["1.1", "1.1", "1", "1.1"]
    assert check_file(path, "cf", as_of=AS_OF).problems == []


def test_wrong_values_are_told_how_to_write_them(tmp_path):
    path = regulator_file(tmp_path, regulator_row(1, CF_NR_FK="若干"), regulator_row(2, CF_JDRQ="2026-02-30"))
    messages = {(p.row, p.rule): p.message for p in check_file(path, "cf", as_of=AS_OF).problems}
    assert "罚款金额应为以万元为单位的数字，如 0.5" in messages[(2, "fine_implausible")]
    assert "日期应写作 2025-02-14" in messages[(3, "date_invalid")]


def test_validity_before_the_decision_is_reported(tmp_path):
    path = regulator_file(tmp_path, regulator_row(1, CF_YXQ="2026-09-24"), regulator_row(2))
    got = [(p.row, p.field, p.rule) for p in check_file(path, "cf", as_of=AS_OF).problems]
    assert got == [(2, "CF_YXQ", "date_order")]


def test_a_number_given_twice_names_both_rows(tmp_path):
    rows = [regulator_row(n) for n in range(1, 7)]
    rows[5][list(REGULATOR).index("行政处罚决定书文号")] = wsh("cf", "2")  # spreadsheet row 7 repeats row 3
    problems = [p for p in check_file(regulator_file(tmp_path, *rows), "cf", as_of=AS_OF).problems]
    assert [(p.row, p.rule) for p in problems] == [(3, "duplicate_record"), (7, "duplicate_record")]
    assert problems[0].message.startswith("第 3 行与第 7 行文书号相同")


@pytest.mark.parametrize("above, first", [(0, 2), (2, 4)])
def test_rows_are_the_spreadsheets_own(tmp_path, above, first):
    path = regulator_file(tmp_path, regulator_row(1, CF_XDR_SHXYM="123"), regulator_row(2), above=above)
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert f"行号为表格中的行号（表头为第 {above + 1} 行）。" in result.stdout.splitlines()
    assert f"\n第 {first} 行\tCF_XDR_SHXYM\tcredit_code_invalid\t" in result.stdout


def test_csv_rows_are_its_lines(tmp_path):
    path = tmp_path / "处罚.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerows([list(REGULATOR), regulator_row(1), [], regulator_row(2, CF_XDR_SHXYM="123")])
    assert [(p.row, p.sheet) for p in check_file(path, "cf", as_of=AS_OF).problems] == [(4, None)]


def test_every_sheet_with_a_header_is_read_and_named(tmp_path):
    path = write_book(tmp_path / "全年.xlsx", {
        "说明": [["本表按月公示行政处罚信息"], ["填报单位：长治市生态环境局"]],
        "一月": [list(REGULATOR), regulator_row(1), regulator_row(2, CF_XDR_SHXYM="123")],
        "二月": [["二月行政处罚"], list(REGULATOR), regulator_row(3, CF_JDRQ="待定"), regulator_row(2)],
    })
    report = check_file(path, "cf", as_of=AS_OF)
    got = {(p.sheet, p.row, p.rule) for p in report.problems}
    assert {("一月", 3, "credit_code_invalid"), ("二月", 3, "date_invalid")} <= got
    # the same 文书号 on 一月 row 3 and 二月 row 4, named with their sheets
    dup = [p for p in report.problems if p.rule == "duplicate_record"]
    assert {(p.sheet, p.row) for p in dup} == {("一月", 3), ("二月", 4)}
    assert dup[0].message.startswith("工作表“一月”第 3 行与工作表“二月”第 4 行文书号相同")
    assert report.skipped_sheets == ["说明"]
    lines = text_lines(report)
    assert "工作表“说明”没有可识别的表头，未检查。" in lines
    assert "行号为表格中的行号（工作表“一月”表头为第 1 行，工作表“二月”表头为第 2 行）。" in lines
    assert any(line.startswith("工作表“二月”第 3 行\tCF_JDRQ\tdate_invalid\t") for line in lines)


def test_a_large_file_summary_first(tmp_path):
    """10,000 rows, 25 columns of which 20 are not the standard's: the summary per field, then one line a problem."""
    path = tmp_path / "large.xlsx"
    write_large(path, 10_000)
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("未识别的列（共 20 列")
    summary = lines.index(next(line for line in lines if line.startswith("问题汇总")))
    details = lines.index("问题明细：")
    assert summary < details and lines[summary + 1].strip().startswith("CF_")
    got = json.loads(runner.invoke(app, ["validate", str(path), "--kind", "cf", "-f", "json"]).stdout)
    summary_rows = [(s["field"], s["rule"], s["rows"]) for s in got["summary"]]
    # the file lacks most required fields: each is missing on every row, then the two planted value problems
    assert ("CF_SY", "required_missing", 10_000) in summary_rows and ("CF_XDR_MC", "required_missing", 10_000) \
        not in summary_rows
    assert summary_rows[-2:] == [("CF_XDR_SHXYM", "credit_code_invalid", 1000), ("CF_JDRQ", "date_invalid", 500)]
    assert len(lines) - details - 1 == len(got["problems"]) == sum(n for *_, n in summary_rows)
    assert len(got["unrecognised_columns"]) == 20 and lines[summary + 1].endswith("\t10000 行（文件中没有这一列）")


LARGE_STANDARD = ("CF_XDR_MC", "CF_WSH", "CF_XDR_SHXYM", "CF_JDRQ", "CF_CFLB")


def write_large(path, n: int) -> None:
    """A table as an export carries it: 5 of the standard's columns and 20 of the system's own (XlsxWriter,
    streamed). Every tenth row has a bad credit code, every twentieth a date that is not one."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("导出")
    names = ["当事人名称", "行政处罚决定书文号", "统一社会信用代码", "作出处罚决定的日期", "处罚类别"]
    sheet.write_row(0, 0, names + [f"系统字段{i}" for i in range(1, 21)])
    base = BASE["cf"]
    for r in range(1, n + 1):
        code = "123" if r % 10 == 0 else base["CF_XDR_SHXYM"]
        jdrq = "2025-02-30" if r % 20 == 5 else "2025年2月14日"
        sheet.write_row(r, 0, [f"企业{r}", f"长环罚〔2025〕{r}号", code, jdrq, "警告"] + [f"值{r}-{i}" for i in range(20)])
    book.close()


@pytest.mark.parametrize("above", [0, 4, 5])
@pytest.mark.parametrize("headers", [["当事人名称", "经办人"], ["当事人名称", "行政处罚决定书文号", "经办人"],
                                     ["当事人名称", "行政处罚决定书文号", "作出处罚决定的日期"]])
def test_validate_finds_a_header_exactly_where_the_crawl_does(tmp_path, above, headers):
    """One rule for a table's header (core.tables.header_row): a file ``sgs validate`` reads is a file the crawl
    reads when it is published, and a file the crawl cannot read is refused before publication."""
    from core.attachments import read_sheets
    from crawlers import extract

    row = [{"当事人名称": "长治市某某公司", "行政处罚决定书文号": wsh("cf", "1"),
            "作出处罚决定的日期": "2026-03-05"}.get(h, "无") for h in headers]
    path = write_book(tmp_path / "处罚.xlsx", {"行政处罚": [[f"标题{i}"] for i in range(above)] + [headers, row]})
    crawled = [r for _, rows in read_sheets(path) for r in extract.table_records(rows, "cf")]
    try:
        read_records(path, "cf")
        validated = True
    except ValueError as exc:
        assert "没有可识别的表头" in str(exc)
        validated = False
    recognised = len([h for h in headers if h != "经办人"])
    assert validated == bool(crawled) == (above < 5 and recognised >= 2)

"""Importing decision ledgers (办件台账): CSV and XLSX, Chinese headers or codes, clear errors, all or nothing."""
from __future__ import annotations

import openpyxl
import pytest
from typer.testing import CliRunner

from core import store
from metrics.ledger import LedgerError, import_ledger
from sgs.cli import app
from core.settings import Paths

CSV = """序号,事项名称,行政相对人名称,行政处罚决定书文号,处罚决定日期,办理程序,办件状态,撤销日期
1,违反大气污染防治法,某某公司,长环罚〔2026〕1号,2026年9月25日,普通程序,已办结,
2,违反大气污染防治法,张三,长环简罚〔2026〕2号,2026/09/26,简易程序,,
3,违反大气污染防治法,某某商店,长环罚〔2026〕3号,20260927,一般程序,已撤销,2026-10-08
"""


@pytest.fixture
def con(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级')")
    yield con
    con.close()


def rows(con):
    return con.execute("SELECT row_no, wsh, xdr_mc, CAST(jdrq AS VARCHAR), item, procedure, status, "
                       "CAST(revoked_on AS VARCHAR) FROM ledger ORDER BY row_no").fetchall()


def test_csv_with_chinese_headers(con, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    result = import_ledger(con, path, "d1", "cf")
    assert result.rows == 3
    assert rows(con) == [
        (1, "长环罚〔2026〕1号", "某某公司", "2026-09-25", "违反大气污染防治法", "普通程序", "有效", None),
        (2, "长环简罚〔2026〕2号", "张三", "2026-09-26", "违反大气污染防治法", "简易程序", "有效", None),
        (3, "长环罚〔2026〕3号", "某某商店", "2026-09-27", "违反大气污染防治法", "普通程序", "撤销", "2026-10-08"),
    ]
    sha = con.execute("SELECT sha256, n_rows FROM ledger_files").fetchall()
    assert len(sha) == 1 and sha[0][1] == 3 and len(sha[0][0]) == 64


def test_gb18030_csv_and_reimport_replaces(con, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_bytes(CSV.encode("gb18030"))
    import_ledger(con, path, "d1", "cf")
    path.write_bytes("\n".join(CSV.splitlines()[:2]).encode("gb18030"))
    import_ledger(con, path, "d1", "cf")
    assert [r[1] for r in rows(con)] == ["长环罚〔2026〕1号"]


def test_xlsx_with_standard_codes(con, tmp_path):
    from datetime import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["示范市市场监督管理局行政许可办件台账（2026年第三季度）"])  # a title row above the header
    sheet.append(["XK_WSH", "XK_XDR_MC", "XK_JDRQ"])
    sheet.append(["长市监许〔2026〕5号", "某某餐饮店", datetime(2026, 9, 25)])
    sheet.append(["长市监许〔2026〕6号", "某某超市", "2026-09-28"])
    path = tmp_path / "xk.xlsx"
    book.save(path)
    assert import_ledger(con, path, "d1", "xk").rows == 2
    assert [(r[1], r[3], r[6]) for r in rows(con)] == [("长市监许〔2026〕5号", "2026-09-25", "有效"),
                                                       ("长市监许〔2026〕6号", "2026-09-28", "有效")]


@pytest.mark.parametrize("text, message", [
    ("文书号,相对人\n长环罚〔2026〕1号,某某\n", "缺少列：决定日期"),
    ("决定书文号,决定日期\n长环罚〔2026〕1号,2026-09-25\n长环罚〔2026〕2号,待定\n", "第2行“决定日期”列：“待定”不是有效日期"),
    ("决定书文号,决定日期\n,2026-09-25\n", "第1行“决定书文号”列：决定书文号为空"),
    ("决定书文号,决定日期,办件状态\n长环罚〔2026〕1号,2026-09-25,作废中\n", "第1行“办件状态”列"),
    ("", "是空的"),
])
def test_bad_ledgers_are_refused_whole(con, tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LedgerError, match=message) as err:
        import_ledger(con, path, "d1", "cf")
    assert str(path) in str(err.value)
    assert rows(con) == [] and con.execute("SELECT count(*) FROM ledger_files").fetchall()[0][0] == 0


def test_unknown_department_and_kind(con, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(LedgerError, match="部门 nobody"):
        import_ledger(con, path, "nobody", "cf")
    with pytest.raises(LedgerError, match="台账类别"):
        import_ledger(con, path, "d1", "zz")


def test_cli_ledger_import(tmp_path):
    db = tmp_path / "sgs.duckdb"
    con = store.connect(Paths(db))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级')")
    con.close()
    path = tmp_path / "l.csv"
    path.write_text(CSV, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "import", str(path), "--dept", "d1", "--kind", "cf", "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert "3 条" in ok.output
    bad = runner.invoke(app, ["ledger", "import", str(tmp_path / "none.csv"), "--dept", "d1", "--kind", "cf",
                              "--db", str(db)])
    assert bad.exit_code == 2 and "不存在" in bad.output

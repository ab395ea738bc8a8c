"""Implausible dates are not dates, alike in the parser, ``sgs validate``, ``sgs ledger import`` and the rules.

One decision (``core.normalize.plausible_date``: 1949-10-01 to 2099-12-31, the standard's 长期有效 date)
and its SQL side (``metrics.checks._sql.as_date``): year 26, 0001-01-01, 9999-12-31 and ISO week dates are
refused by the one parser, flagged by date_invalid, and never compared as dates by another rule.
"""
from __future__ import annotations

import json
from datetime import datetime

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from core.normalize import normalise_date, parse_date
from metrics.checks._sql import as_date
from metrics.ledger import LedgerError, import_ledger
from metrics.validate import validate_file
from sgs.cli import app
from tests.test_checks import add, findings, score
from tests.test_checks import con as con  # noqa: F401  (the rule tests' database fixture)
from tests.test_validate import _rows, write_csv

runner = CliRunner()

IMPLAUSIBLE = ["26-1-5", "26/01/05", "0026-01-05", "0001-01-01", "9999-12-31", "2026-W05-1", "2026-W05",
               "1949-09-30", "2100-01-01", "1900年1月1日", "-2026-01-05"]
PLAUSIBLE = {"1949-10-01": "1949-10-01", "2099-12-31": "2099-12-31", "2026年3月5日": "2026-03-05",
             "2026/3/5": "2026-03-05", "20260305": "2026-03-05", "2026-03-05 10:30": "2026-03-05"}


@pytest.mark.parametrize("text", IMPLAUSIBLE)
def test_the_parser_refuses_implausible_dates_and_keeps_the_text(text):
    assert parse_date(text) is None
    assert normalise_date(text) == text  # kept as printed: evidence for date_invalid


@pytest.mark.parametrize("text, iso", PLAUSIBLE.items())
def test_the_parser_reads_plausible_dates(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize("text", [*IMPLAUSIBLE, *PLAUSIBLE])
def test_sql_agrees_with_the_parser(text):
    """DuckDB's cast alone takes year 26 and 9999-12-31; ``as_date`` is a date exactly when the parser's
    ISO output is (stored records hold that output, or the raw text it refused)."""
    stored = normalise_date(text)
    got = duckdb.connect().execute(f"SELECT CAST({as_date('v')} AS VARCHAR) FROM (SELECT ? AS v)", [stored]).fetchone()[0]
    assert got == parse_date(text)


# --- sgs validate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["26-1-5", "0001-01-01", "9999-12-31", "2026-W05-1"])
def test_validate_flags_implausible_dates(tmp_path, text):
    path = write_csv(tmp_path / "cf.csv", "cf", _rows("cf", {}, {"CF_YXQ": text}, {"FBRQ": text}))
    got = {(p.row, p.field, p.rule) for p in validate_file(path, "cf")}
    assert got == {(3, "CF_YXQ", "date_invalid"), (4, "FBRQ", "date_invalid")}
    result = runner.invoke(app, ["validate", str(path), "--kind", "cf", "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(p["field"] == "CF_YXQ" and text in p["message"] and "2099-12-31" in p["message"] for p in problems)


def test_validate_flags_an_implausible_decision_date_once(tmp_path):
    """A decision date of 0001-01-01 is date_invalid's, not also a date_order 'earlier than' finding."""
    path = write_csv(tmp_path / "cf.csv", "cf", _rows("cf", {"CF_JDRQ": "0001-01-01"}))
    assert {(p.field, p.rule) for p in validate_file(path, "cf")} == {("CF_JDRQ", "date_invalid")}


# --- the rules over stored records ----------------------------------------------------------------

def test_rules_flag_implausible_dates_and_compare_none(con):  # noqa: F811
    add(con, "xk", "ok")
    add(con, "xk", "week", XK_YXQZI="2026-W05-1")
    add(con, "xk", "placeholder", XK_YXQZI="9999-12-31")
    add(con, "xk", "two-digit", XK_YXQZ="26-9-25")
    add(con, "cf", "ancient", CF_YXQ="0001-01-01")  # would be "处罚有效期早于决定日期" if read as a date
    score(con)
    assert {(k, f) for k, _, f, _ in findings(con, "date_invalid")} == {
        ("week", "XK_YXQZI"), ("placeholder", "XK_YXQZI"), ("two-digit", "XK_YXQZ"), ("ancient", "CF_YXQ")}
    assert findings(con, "date_order") == set()


# --- sgs ledger import ---------------------------------------------------------------------------

@pytest.fixture
def ledger_db(tmp_path):
    from core import store
    from core.settings import Paths

    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级')")
    yield con
    con.close()


@pytest.mark.parametrize("text", ["26-1-5", "0001-01-01", "9999-12-31", "2026-W05-1", "1900年1月1日"])
def test_ledger_refuses_implausible_dates(ledger_db, tmp_path, text):
    path = tmp_path / "台账.csv"
    path.write_text(f"决定书文号,决定日期,撤销日期\n长环罚〔2026〕1号,2026-09-25,\n长环罚〔2026〕2号,{text},\n",
                    encoding="utf-8")
    with pytest.raises(LedgerError, match=f"第2行“决定日期”列：“{text}”不是有效日期"):
        import_ledger(ledger_db, path, "d1", "cf")
    path.write_text(f"决定书文号,决定日期,撤销日期\n长环罚〔2026〕1号,2026-09-25,{text}\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="第1行“撤销日期”列"):
        import_ledger(ledger_db, path, "d1", "cf")
    assert ledger_db.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0


def test_ledger_refuses_an_excel_date_cell_of_year_1900(ledger_db, tmp_path):
    """Excel's day 1 (a date cell typed as 1) is 1900-01-01: a real cell type, an implausible date."""
    book = openpyxl.Workbook()
    book.active.append(["决定书文号", "决定日期"])
    book.active.append(["长环罚〔2026〕1号", datetime(1900, 1, 1)])
    path = tmp_path / "台账.xlsx"
    book.save(path)
    with pytest.raises(LedgerError, match="第1行“决定日期”列"):
        import_ledger(ledger_db, path, "d1", "cf")


def test_ledger_import_cli_names_the_date_and_exits_2(tmp_path):
    from core import store
    from core.settings import Paths

    db = tmp_path / "sgs.duckdb"
    con = store.connect(Paths(db))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级')")
    con.close()
    path = tmp_path / "台账.csv"
    path.write_text("决定书文号,决定日期\n长环罚〔2026〕1号,9999-12-31\n", encoding="utf-8")
    result = runner.invoke(app, ["ledger", "import", str(path), "--dept", "d1", "--kind", "cf", "--db", str(db)])
    assert result.exit_code == 2 and "9999-12-31" in result.output and "Traceback" not in result.output

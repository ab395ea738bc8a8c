"""Subjects' objections and credit repair (长治（九）（十）): the imports (good, bad row, repeated), the answer's
rules (the deciding department only, late answers taken), and the 信用异议 page through AppTest — the credit
office enters, the department answers, another department sees nothing of it."""
from __future__ import annotations

from contextlib import closing
from datetime import date

import openpyxl
import pytest
import streamlit as st
from typer.testing import CliRunner

from core import store
from core.settings import Paths, resolve_paths
from dashboard_city import app, build_city, login, run, table, write_test_users
from metrics import objections, repairs
from metrics.scheme import SchemeError, load_scheme
from sgs.cli import app as cli

PAGE = "dashboard/views/objections.py"
NAMES = {"d_scj": "市市场监督管理局", "d_jtj": "潞州区交通运输局"}
GOOD = """相对人名称,统一社会信用代码,部门,类别,文书号,异议类型,异议内容,收到日期
长治市惠民超市有限公司,91140400MA0K3L7Q0X,市市场监督管理局,处罚,长市监罚〔2026〕16号,错误,处罚金额有误,2026-09-01
李某某,140402199003151234,d_jtj,处罚,潞交罚〔2026〕3号,超期公示,公示期已满,2026年9月29日
"""
BAD = """相对人名称,部门,类别,文书号,异议类型,收到日期
长治市惠民超市有限公司,市市场监督管理局,处罚,长市监罚〔2026〕16号,错误,2026-09-01
,市气象局,罚款,潞交罚〔2026〕3号,不服,待定
"""


@pytest.fixture()
def city(tmp_path, monkeypatch):
    paths = resolve_paths(tmp_path / "sgs.duckdb")
    build_city(paths)
    monkeypatch.setenv("SGS_DB", str(paths.db))
    monkeypatch.setenv("SGS_USERS", str(write_test_users(paths.root / "users.toml")))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    st.cache_data.clear()
    yield paths
    st.cache_data.clear()


def stored(paths: Paths) -> list[tuple]:
    with closing(objections.open_store(paths)) as con:
        return con.execute("SELECT dept_id, kind, wsh, subject, subject_id, type, received, deadline FROM objections "
                           "ORDER BY received").fetchall()


# --- objections: the store and the import -------------------------------------------------------------

def test_deadline_counts_working_days():
    assert load_scheme().objection_answer_workdays == 5
    assert objections.answer_deadline(date(2026, 9, 1)) == date(2026, 9, 8)
    assert objections.answer_deadline(date(2026, 9, 29)) == date(2026, 10, 12)  # National Day off, Saturday 10-10 a workday


def test_scheme_refuses_unknown_and_bad_objection_keys(tmp_path):
    text = (load_scheme().path).read_text(encoding="utf-8")
    for bad, message in (("answer_workdays = 0", "objections.answer_workdays 应为正整数"),
                         ("answer_days = 5", "objections.answer_days 不是已知的键")):
        path = tmp_path / "2026.toml"
        path.write_text(text.replace("answer_workdays = 5", bad), encoding="utf-8")
        with pytest.raises(SchemeError, match=message):
            load_scheme(path)


def test_import_good_file_then_again_changes_nothing(tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    path = tmp_path / "异议.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert objections.import_file(paths, path, NAMES, username="import") == (2, 2)
    expected = [("d_scj", "cf", "长市监罚〔2026〕16号", "长治市惠民超市有限公司", "91140400MA0K3L7Q0X", "error",
                 "2026-09-01", "2026-09-08"),
                ("d_jtj", "cf", "潞交罚〔2026〕3号", "李某某", "140402199003151234", "overdue", "2026-09-29",
                 "2026-10-12")]
    assert stored(paths) == expected
    assert objections.import_file(paths, path, NAMES, username="import") == (2, 0)
    assert stored(paths) == expected


def test_import_xlsx_with_a_title_row(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["信用长治 异议受理清单"])
    for line in GOOD.splitlines():
        sheet.append(line.split(","))
    path = tmp_path / "异议.xlsx"
    book.save(path)
    paths = Paths(tmp_path / "sgs.duckdb")
    assert objections.import_file(paths, path, NAMES, username="import") == (2, 2)


def test_bad_file_refused_whole_naming_every_row(tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    path = tmp_path / "bad.csv"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(objections.ObjectionError) as err:
        objections.import_file(paths, path, NAMES, username="import")
    message = str(err.value)
    assert str(path) in message and "第1行" not in message
    for part in ("第2行：部门“市气象局”不在部门名单中", "第2行：类别“罚款”应为 许可 或 处罚", "第2行：相对人名称为空",
                 "第2行：异议类型“不服”应为 错误、遗漏、超期公示 之一", "第2行：收到日期“待定”不是有效日期"):
        assert part in message
    assert stored(paths) == []
    path.write_text("名称,日期\n某,2026-09-01\n", encoding="utf-8")
    with pytest.raises(objections.ObjectionError, match="表头应包含：相对人名称、部门、类别、文书号、异议类型、收到日期"):
        objections.import_file(paths, path, NAMES, username="import")


def test_answers_only_by_the_deciding_department(tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    item = objections.Objection("d_scj", "cf", "长市监罚〔2026〕16号", "某公司", "error", "2026-09-01")
    objections.add(paths, [item], NAMES, username="judge")
    oid = objections.table(paths)["objection_id"][0]
    with pytest.raises(objections.ObjectionError, match="只能答复本部门"):
        objections.answer(paths, oid, "已核实", "keep", username="jtj", role="department", scope="d_jtj")
    with pytest.raises(objections.ObjectionError, match="部门账号"):
        objections.answer(paths, oid, "已核实", "keep", username="judge", role="assessor", scope=None)
    with pytest.raises(objections.ObjectionError, match="书面答复意见"):
        objections.answer(paths, oid, "  ", "keep", username="scj", role="department", scope="d_scj")
    objections.answer(paths, oid, "金额已更正", "amend", username="scj", role="department", scope="d_scj")
    objections.answer(paths, oid, "补充说明", "amend", username="scj", role="department", scope="d_scj")
    row = objections.table(paths).to_dict("records")[0]
    assert (row["outcome"], row["answer"], row["n_answers"]) == ("amend", "补充说明", 2)
    assert objections.state(row, date.today()) == "late"  # answered today, long after 2026-09-08: taken, late
    assert objections.answers(paths, oid)["answer"].tolist() == ["金额已更正", "补充说明"]  # nothing replaced


def test_cli_objections_import(city: Paths, tmp_path):
    path = tmp_path / "异议.csv"
    path.write_text(GOOD, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["objections", "import", str(path), "--db", str(city.db)])
    assert ok.exit_code == 0 and "2 条异议，其中新增 2 条" in ok.output, ok.output
    again = runner.invoke(cli, ["objections", "import", str(path), "--db", str(city.db)])
    assert again.exit_code == 0 and "新增 0 条" in again.output
    path.write_text(BAD, encoding="utf-8")
    bad = runner.invoke(cli, ["objections", "import", str(path), "--db", str(city.db)])
    assert bad.exit_code == 2 and "第2行" in bad.output and "Traceback" not in bad.output
    assert len(stored(city)) == 2


# --- repairs -------------------------------------------------------------------------------------------

REPAIRS = """相对人名称,统一社会信用代码,文书号,修复日期
长治市惠民超市有限公司,91140400MA0K3L7Q0X,长市监罚〔2026〕16号,2026-10-09
张某某,140402199003151234,长市监罚 〔2026〕15号,2026年10月12日
"""


def repair_rows(con) -> list[tuple]:
    return con.execute("SELECT subject, subject_code, wsh, CAST(granted_on AS VARCHAR), row_no FROM credit_repairs "
                       "ORDER BY row_no").fetchall()


def test_repair_import_good_bad_repeat(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    try:
        path = tmp_path / "修复.csv"
        path.write_text(REPAIRS, encoding="utf-8")
        assert repairs.import_file(con, path) == (2, 2)
        expected = [("长治市惠民超市有限公司", "91140400MA0K3L7Q0X", "长市监罚〔2026〕16号", "2026-10-09", 1),
                    ("张某某", "140402199003151234", "长市监罚〔2026〕15号", "2026-10-12", 2)]
        assert repair_rows(con) == expected
        assert repairs.import_file(con, path) == (2, 0)
        assert repair_rows(con) == expected
        assert con.execute("SELECT count(*) FROM repair_files").fetchall()[0][0] == 1
        bad = tmp_path / "bad.csv"
        bad.write_text(REPAIRS + "某公司,,,2026-02-30\n", encoding="utf-8")
        with pytest.raises(repairs.RepairError) as err:
            repairs.import_file(con, bad)
        assert "第3行：文书号为空" in str(err.value) and "第3行：修复日期“2026-02-30”不是有效日期" in str(err.value)
        assert repair_rows(con) == expected and con.execute("SELECT count(*) FROM repair_files").fetchall()[0][0] == 1
    finally:
        con.close()


def test_cli_repair_import(city: Paths, tmp_path):
    path = tmp_path / "修复.csv"
    path.write_text(REPAIRS, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["repair", "import", str(path), "--db", str(city.db)])
    assert ok.exit_code == 0 and "2 条修复记录，其中新增 2 条" in ok.output, ok.output
    missing = runner.invoke(cli, ["repair", "import", str(tmp_path / "none.csv"), "--db", str(city.db)])
    assert missing.exit_code == 2 and "不存在" in missing.output


# --- the page ------------------------------------------------------------------------------------------

def _button(at, key: str):
    return next(b for b in at.button if b.key == key)


def test_assessor_enters_department_answers_other_department_sees_nothing(city: Paths) -> None:
    at = login(app(), "judge")
    at.switch_page(PAGE)
    run(at)
    assert table(at, "objections").empty
    at.selectbox(key="obj_dept").set_value("d_scj")
    at.selectbox(key="obj_type").set_value("error")
    at.text_input(key="obj_wsh").input("长市监罚〔2026〕16号")
    at.text_input(key="obj_subject").input("长治市惠民超市有限公司")
    at.text_input(key="obj_subject_id").input("140402199003151234")
    at.date_input(key="obj_received").set_value(date(2026, 9, 1))
    at.text_area(key="obj_content").input("处罚金额有误")
    _button(at, "obj_add").click()
    run(at)
    rows = table(at, "objections")
    assert rows[["部门", "文书号", "证件号码", "异议类型", "答复期限", "状态"]].values.tolist() == [
        ["市市场监督管理局", "长市监罚〔2026〕16号", "140402********1234", "错误", "2026-09-08", "逾期未答复"]]
    assert "140402199003151234" not in rows.to_string()
    # the department that made the decision answers, late: taken, and the lateness shows
    dept = login(app(), "scj")
    dept.switch_page(PAGE)
    run(dept)
    assert len(table(dept, "objections")) == 1
    dept.radio(key="obj_outcome").set_value("amend")
    dept.text_area(key="obj_answer").input("经核实，罚款金额录入有误，已更正")
    _button(dept, "obj_submit").click()
    run(dept)
    rows = table(dept, "objections")
    assert rows[["状态", "处理结果", "答复人"]].values.tolist() == [["逾期答复", "修改", "scj"]]
    assert table(dept, "obj_history")["答复意见"].tolist() == ["经核实，罚款金额录入有误，已更正"]
    # another department sees none of it, and cannot answer it
    other = login(app(), "jtj")
    other.switch_page(PAGE)
    run(other)
    assert table(other, "objections").empty
    assert not [b for b in other.button if b.key == "obj_submit"]
    # a leader reads everything, enters nothing
    boss = login(app(), "boss")
    boss.switch_page(PAGE)
    run(boss)
    assert len(table(boss, "objections")) == 1 and not [b for b in boss.button if b.key == "obj_add"]


def test_assessor_sees_repair_checks_unscored(city: Paths, tmp_path) -> None:
    con = store.connect(city)
    try:
        path = tmp_path / "修复.csv"
        path.write_text("相对人名称,统一社会信用代码,文书号,修复日期\n长治市惠民超市有限公司,,长市监罚〔2026〕16号,2026-09-15\n",
                        encoding="utf-8")
        repairs.import_file(con, path)
        store.publish(con, city)
    finally:
        con.close()
    at = login(app(), "judge")
    at.switch_page(PAGE)
    run(at)
    rows = table(at, "repair_checks")
    assert rows[["文书号", "核查结果"]].values.tolist() == [["长市监罚〔2026〕16号", "不符合条件"]]
    assert "未满最短公示期3个月" in rows["说明"][0]
    (note,) = [c.value for c in at.caption if "信用办" in c.value]  # which setting of which file, in plain words
    assert "不计入任何部门的得分" in note and "评分方案 2026.toml" in note and "credit_office 填为信用办的部门编号" in note
    assert "[objections]" not in note


def test_repair_checks_name_the_credit_office_when_the_scheme_does(city: Paths, monkeypatch) -> None:
    from dashboard.queries import objections as queries

    monkeypatch.setattr(queries, "credit_office", lambda period: "d_scj")  # as a scheme naming it would answer
    at = login(app(), "judge")
    at.switch_page(PAGE)
    run(at)
    (note,) = [c.value for c in at.caption if "信用办" in c.value]
    assert note == "下列核查结果中不符合条件的，计入信用办（市市场监督管理局）的得分（问题类型“信用修复不符合条件”）。"

"""Inputs beyond the crawl: 事项目录 and 部门登记表 imports (all or nothing, 无变化 on repeat), the export round
trip, the config sync keeping imported rows, an assessor's catalogue entries applied by the pipeline, and the
ledger import on the same row checker."""
from __future__ import annotations

import openpyxl
import pytest
from typer.testing import CliRunner

from core import store
from core.cityconfig import load_city
from core.settings import Paths
from metrics import catalogue
from metrics.catalogue import CatalogueError, import_catalogue
from metrics.ledger import LedgerError, import_ledger
from metrics.registry import RegistryError, import_registry
from sgs.cli import app
from tests.test_checks import make_uscc

CITY = """
[city]
name = "测试市"
[[departments]]
id = "d1"
name = "市生态环境局"
county = "市本级"
[[departments.catalogue]]
code = "C1"
kind = "cf"
name = "露天焚烧"
[[departments]]
id = "d2"
name = "市交通运输局"
county = "市本级"
liaison = "李四"
[[departments.catalogue]]
code = "T1"
kind = "xk"
name = "道路运输经营许可"
[[sources]]
id = "d1-cf"
channel = "site"
kind = "cf"
dept = "d1"
start_url = "http://127.0.0.1:1/cf/"
"""
GOOD = ("某局行政处罚事项目录\n"  # a title row above the header, as exports have
        "序号,事项编码,事项名称,事项类型,设定依据,实施主体\n"
        "1,X1,占道经营,行政处罚,《城市市容和环境卫生管理条例》第三十六条,市生态环境局\n"
        "2,X2,排污许可,行政许可,《排污许可管理条例》,\n")
BAD = ("事项编码,事项名称,事项类型,设定依据\n"
       "X1,占道经营,行政处罚,\n"
       "X2,,行政处罚,\n"      # row 2: no name
       "X3,某事项,行政确认,\n"  # row 3: not a licence or a penalty
       "X1,重复,行政处罚,\n")   # row 4: duplicate code
RUNNER = CliRunner()


@pytest.fixture
def city(tmp_path):
    (tmp_path / "city.toml").write_text(CITY, encoding="utf-8")
    return load_city(tmp_path / "city.toml")


@pytest.fixture
def con(tmp_path, city):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    store.save_city(con, city)
    yield con
    con.close()


def items(con, dept="d1"):
    return con.execute("SELECT item_code, kind, name, coalesce(basis, ''), coalesce(agency, ''), origin "
                       "FROM catalogue_items WHERE dept_id = ? ORDER BY item_code", [dept]).fetchall()


def snapshot(con):
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("departments", "catalogue_items", "imports", "ledger", "ledger_files")}


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_catalogue_import_then_same_file_is_no_change(con, tmp_path):
    path = write(tmp_path, "目录.csv", GOOD, "gb18030")
    assert import_catalogue(con, path, "d1") == catalogue.Outcome(2, True)
    assert items(con) == [("X1", "cf", "占道经营", "《城市市容和环境卫生管理条例》第三十六条", "市生态环境局", "import"),
                          ("X2", "xk", "排污许可", "《排污许可管理条例》", "", "import")]
    before = snapshot(con)
    assert import_catalogue(con, path, "d1") == catalogue.Outcome(2, False)
    assert snapshot(con) == before
    assert con.execute("SELECT count(*) FROM imports").fetchall() == [(1,)]


def test_catalogue_with_bad_rows_is_refused_whole(con, tmp_path):
    before = snapshot(con)
    with pytest.raises(CatalogueError) as err:
        import_catalogue(con, write(tmp_path, "bad.csv", BAD), "d1")
    lines = str(err.value).splitlines()
    assert "3 处错误（涉及 3 行）" in lines[0] and "数据库未改变" in lines[0]
    assert lines[1:] == ["  第2行“事项名称”列：事项名称为空",
                         "  第3行“事项类型”列：“行政确认”不是可识别的事项类型（应为 行政许可 或 行政处罚）",
                         "  第4行“事项编码”列：事项编码“X1”与第1行重复"]
    assert snapshot(con) == before


def test_catalogue_cli_export_import_round_trip(con, tmp_path):
    import_catalogue(con, write(tmp_path, "目录.csv", GOOD), "d1")
    con.close()
    db, out = str(tmp_path / "sgs.duckdb"), tmp_path / "out" / "目录.xlsx"
    result = RUNNER.invoke(app, ["catalogue", "export", "--dept", "d1", "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["序号", "事项编码", "事项名称", "事项类型", "设定依据", "实施主体"]
    assert [r[1:4] for r in rows[1:]] == [["X1", "占道经营", "行政处罚"], ["X2", "排污许可", "行政许可"]]
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)  # text cells, never formulas
    result = RUNNER.invoke(app, ["catalogue", "import", str(out), "--dept", "d1", "--db", db])
    assert result.exit_code == 0 and "无变化" in result.output, result.output
    bad = RUNNER.invoke(app, ["catalogue", "import", str(write(tmp_path, "bad.csv", BAD)), "--dept", "d1", "--db", db])
    assert bad.exit_code == 2 and "第4行" in bad.output


def test_hostile_or_unreadable_file_is_refused(con, tmp_path):
    fake = tmp_path / "目录.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a workbook" * 10)
    with pytest.raises(CatalogueError, match="不是有效的 XLSX 文件"):
        import_catalogue(con, fake, "d1")
    with pytest.raises(CatalogueError, match="缺少列：事项名称、事项类型"):
        import_catalogue(con, write(tmp_path, "x.csv", "事项编码,备注\nX1,a\n"), "d1")
    with pytest.raises(Exception, match="部门 nobody 不在数据库中"):
        import_catalogue(con, write(tmp_path, "g.csv", GOOD), "nobody")


def test_config_sync_keeps_imported_rows(con, city, tmp_path):
    """Imports win: the next crawl's sync replaces only the city file's own rows."""
    import_catalogue(con, write(tmp_path, "目录.csv", GOOD), "d1")
    import_registry(con, write(tmp_path, "部门.csv", f"部门编号,部门名称,所属县区,统一社会信用代码\n"
                                                    f"d2,长治市交通运输局,市本级,{make_uscc()}\n"
                                                    f"d9,市统计局,潞州区,\n"))
    store.save_city(con, city)  # what every crawl does
    assert [r[0] for r in items(con)] == ["X1", "X2"]  # the imported catalogue, not the file's C1
    assert items(con, "d2") == [("T1", "xk", "道路运输经营许可", "", "", "config")]
    depts = con.execute("SELECT dept_id, name, origin FROM departments ORDER BY dept_id").fetchall()
    assert depts == [("d1", "市生态环境局", "config"), ("d2", "长治市交通运输局", "registry"), ("d9", "市统计局", "registry")]


REGISTRY = ("部门编号,部门名称,所属县区,统一社会信用代码,门户网站,双公示专栏,联络人,联络电话,电子邮箱\n"
            f"d1,市生态环境局,市本级,{make_uscc()},http://sthjj.example.cn/,,张三,0355-2021234,zs@example.gov.cn\n"
            "d3,潞州区市场监督管理局,潞州区,,,,王五,13912345678,\n")


def test_registry_import_and_repeat(con, tmp_path):
    path = write(tmp_path, "部门.csv", REGISTRY)
    assert import_registry(con, path).changed == 2
    got = con.execute("SELECT dept_id, county, liaison, liaison_phone, liaison_email, origin FROM departments "
                      "ORDER BY dept_id").fetchall()
    assert got == [("d1", "市本级", "张三", "0355-2021234", "zs@example.gov.cn", "registry"),
                   ("d2", "市本级", "李四", "", None, "config"),
                   ("d3", "潞州区", "王五", "13912345678", None, "registry")]
    before = snapshot(con)
    assert import_registry(con, path).changed == 0
    assert snapshot(con) == before
    con.close()
    result = RUNNER.invoke(app, ["departments", "import", str(path), "--db", str(tmp_path / "sgs.duckdb")])
    assert result.exit_code == 0 and "无变化" in result.output, result.output


def test_registry_bad_rows_refused_with_phone_masked(con, tmp_path):
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    text = ("部门编号,部门名称,所属县区,统一社会信用代码,门户网站,联络电话,电子邮箱\n"
            f"d1,市生态环境局,市本级,{wrong},sthjj.example.cn,13912345678转,zs\n"
            "d 2,,市本级,,,,\n"
            "d1,重复,市本级,,,,\n")
    before = snapshot(con)
    with pytest.raises(RegistryError) as err:
        import_registry(con, write(tmp_path, "部门.csv", text))
    message = str(err.value)
    for expected in ("第1行“统一社会信用代码”列：", "校验位错误", "第1行“门户网站”列：", "第1行“联络电话”列：“139****5678转”",
                     "第1行“电子邮箱”列", "第2行“部门编号”列：部门编号不能为空，也不能含空格", "第2行“部门名称”列：部门名称为空",
                     "第3行“部门编号”列：部门编号“d1”与第1行重复"):
        assert expected in message, expected
    assert "13912345678" not in message
    assert snapshot(con) == before


def test_ledger_lists_every_bad_row_and_repeat_is_no_change(tmp_path, con):
    path = write(tmp_path, "台账.csv", "决定书文号,决定日期\n长环罚〔2026〕1号,待定\n,2026-09-25\n长环罚〔2026〕3号,2026-09-27\n")
    with pytest.raises(LedgerError) as err:
        import_ledger(con, path, "d1", "cf")
    assert "第1行“决定日期”列：“待定”不是有效日期" in str(err.value)
    assert "第2行“决定书文号”列：决定书文号为空" in str(err.value)
    assert con.execute("SELECT count(*) FROM ledger").fetchall() == [(0,)]
    path.write_text("决定书文号,决定日期\n长环罚〔2026〕3号,2026-09-27\n", encoding="utf-8")
    assert import_ledger(con, path, "d1", "cf").changed
    before = snapshot(con)
    assert not import_ledger(con, path, "d1", "cf").changed
    assert snapshot(con) == before


def test_dashboard_entry_applied_once_by_the_pipeline(con, tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    rows = [{"事项编码": "D1", "事项名称": "夜间施工", "事项类型": "行政许可", "设定依据": "", "实施主体": None}]
    with pytest.raises(CatalogueError, match="第2行“事项类型”列"):
        catalogue.save_entry(paths, "d1", [*rows, {"事项编码": "D2", "事项名称": "x", "事项类型": "备案"}], "assessor")
    assert catalogue.entries(paths) == []
    entry = catalogue.save_entry(paths, "d1", rows, "assessor")
    assert items(con) == [("C1", "cf", "露天焚烧", "", "", "config")]  # not before the next run
    done = catalogue.apply_pending(con)
    assert [(d, o.changed) for d, o in done] == [("d1", True)]
    assert items(con) == [("D1", "xk", "夜间施工", "", "", "dashboard")]
    assert catalogue.apply_pending(con) == []  # applied once
    assert con.execute("SELECT ref FROM imports WHERE origin = 'dashboard'").fetchall() == [(f"workbench:{entry}",)]


def test_file_import_after_an_entry_wins(con, tmp_path):
    paths = Paths(tmp_path / "sgs.duckdb")
    catalogue.save_entry(paths, "d1", [{"事项编码": "D1", "事项名称": "夜间施工", "事项类型": "行政许可"}], "assessor")
    import_catalogue(con, write(tmp_path, "目录.csv", GOOD), "d1")  # after the entry, before the next run
    assert catalogue.apply_pending(con) == []
    assert [r[0] for r in items(con)] == ["X1", "X2"]


def test_catalogue_page_shows_a_pending_entry(tmp_path):
    import streamlit as st

    from dashboard_city import app, city_for_app, login, run

    st.cache_data.clear()
    with city_for_app(tmp_path) as paths:
        catalogue.save_entry(paths, "d_scj", [{"事项编码": "S1", "事项名称": "食品经营许可", "事项类型": "行政许可"}], "judge")
        at = login(app(), "judge")
        at.switch_page("dashboard/views/catalogue.py")
        run(at)
        assert not at.warning  # the first department has no pending entry
        at.selectbox(key="catalogue_dept").set_value("d_scj")
        run(at)
        assert any("尚未生效" in w.value for w in at.warning)
        assert any("下次评分" in c.value for c in at.caption)
        dept = login(app(), "scj")
        dept.switch_page("dashboard/views/catalogue.py")
        run(dept)
        assert not dept.expander  # only assessors enter catalogues
    st.cache_data.clear()


@pytest.mark.parametrize("name", ["far_cell.xlsx", "strings_bomb.xlsx", "rows_bomb.xlsx"])
def test_hostile_workbooks_are_refused_by_every_import(con, tmp_path, name):
    """Read through the one bounded reader: a bomb or a far cell is refused with the limit, nothing written."""
    from test_hostile_files import HOSTILE

    make, says = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(make())
    before = snapshot(con)
    for error, call in ((CatalogueError, lambda: import_catalogue(con, path, "d1")),
                        (RegistryError, lambda: import_registry(con, path))):
        with pytest.raises(error, match=says) as err:
            call()
        assert str(path) in str(err.value)
    assert snapshot(con) == before

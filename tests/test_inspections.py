"""Findings of 书面检查 / 实地核查 recorded by hand (metrics.inspections) and scored by the rule
manual_inspection like any other: passing (no entry), failing (an entry → a finding and a deduction, on the
record when its 文书号 matches), unverifiable online (a 文书号 no published record carries → a department-level
finding saying so), entries of another period, refused entries, and the CLI."""
from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from core import store
from core.settings import Paths
from metrics import inspections
from metrics.corrections import Attachment, attachments_dir
from metrics.corrections import WorkbenchError
from metrics.scoring import score_period
from sgs.cli import app
from tests.test_checks import AS_OF, PERIOD, add, wsh

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RULE = "manual_inspection"


@pytest.fixture
def city(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '市生态环境局', '市本级'), "
                "('d2', '市交通运输局', '市本级')")
    add(con, "cf", "a", dept="d1")
    add(con, "cf", "b", dept="d2")
    yield con, Paths(tmp_path / "sgs.duckdb")
    con.close()


def entry(paths, **fields):
    values = {"dept_id": "d1", "kind": "cf", "method": "onsite", "severity": "high", "inspected_on": "2026-09-15",
              "description": "现场查阅案卷，决定书未送达当事人即已公示", "evidence": Attachment(PNG, "现场照片.png"),
              "username": "assessor1", **fields}
    return inspections.add(paths, **values, today=AS_OF)


def manual(con):
    rows = con.execute("SELECT dept_id, record_key, field, value, message, url FROM findings "
                       "WHERE rule_id = ? ORDER BY value", [RULE]).fetchall()
    return rows


def total(con, dept):
    return {r["dept_id"]: r["total"] for r in score_period(con, PERIOD, as_of=AS_OF)}[dept]


def test_no_entries_no_findings(city):
    con, _ = city
    score_period(con, PERIOD, as_of=AS_OF)
    assert manual(con) == []
    assert con.execute("SELECT count(*) FROM deductions WHERE rule_id = ?", [RULE]).fetchall() == [(0,)]


def test_entries_become_findings_and_deduct(city):
    con, paths = city
    clean = total(con, "d1")
    on_record = entry(paths, wsh=wsh("cf", "a"), method="written")
    on_dept = entry(paths, url="http://127.0.0.1/d1/column")
    outside = entry(paths, inspected_on="2026-06-30")  # another quarter: not this period's
    score_period(con, PERIOD, as_of=AS_OF)
    stored = f"{__import__('hashlib').sha256(PNG).hexdigest()}.png"
    assert (attachments_dir(paths) / stored).read_bytes() == PNG
    got = manual(con)
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in got] == [
        ("d1", "a", "书面检查", f"检查记录 #{on_record}", "http://127.0.0.1/a"),
        ("d1", None, "实地核查", f"检查记录 #{on_dept}", "http://127.0.0.1/d1/column"),
    ]
    assert all(stored in r[4] and "严重" in r[4] and "assessor1 录入" in r[4] for r in got)
    assert f"#{outside}" not in str(got)
    points = con.execute("SELECT sum(points) FROM deductions WHERE rule_id = ? AND dept_id = 'd1'", [RULE]).fetchall()
    assert points[0][0] > 0
    assert total(con, "d1") == pytest.approx(clean - float(points[0][0]))
    assert total(con, "d2") == 100


def test_record_not_found_online_is_a_department_finding(city):
    con, paths = city
    entry(paths, wsh="长环罚〔2026〕999号")
    score_period(con, PERIOD, as_of=AS_OF)
    (dept, key, _, _, message, _), = manual(con)
    assert (dept, key) == ("d1", None)
    assert "文书号 长环罚〔2026〕999号 未在本期网上公示的记录中找到" in message


def test_a_kind_without_entries_reads_no_records(city):
    """Nearly every period has no entry: the rule then gives no SQL at all, so a scoring does not read every
    assessed record for nothing (its department part grouped them all, ~1 % of a province's full rescore);
    with an entry of the kind it does, and only for that kind."""
    from metrics.checks import Context
    from metrics.checks import manual_inspection as rule
    from metrics.scoring import assessed_table, stage_assessed

    con, paths = city
    stage_assessed(con, PERIOD)
    contexts = {k: Context(k, assessed_table(k), AS_OF, period=PERIOD) for k in ("cf", "xk")}
    for ctx in contexts.values():
        rule.prepare(con, ctx)
        assert rule.findings_sql(ctx) is None and rule.department_sql(ctx) is None
    entry(paths, wsh=wsh("cf", "a"))
    for kind, ctx in contexts.items():
        rule.prepare(con, ctx)
        assert (rule.findings_sql(ctx) is None) == (kind == "xk")
        assert (rule.department_sql(ctx) is None) == (kind == "xk")


@pytest.mark.parametrize("fields, message", [
    ({"evidence": Attachment(b"<html>not a picture</html>", "x.png")}, "不是 PDF、PNG 或 JPEG"),
    ({"evidence": None}, "请上传证据文件"),
    ({"inspected_on": "2026-12-31"}, "晚于今天"),
    ({"inspected_on": "某天"}, "不是有效日期"),
    ({"method": "phone"}, "检查方式应为"),
    ({"severity": "huge"}, "严重程度应为"),
    ({"description": "  "}, "请填写问题描述"),
    ({"url": "javascript:alert(1)"}, "页面地址应以"),
])
def test_bad_entries_are_refused(city, fields, message):
    _, paths = city
    with pytest.raises(WorkbenchError, match=message):
        entry(paths, **fields)
    assert inspections.entries(paths) == []


def test_cli_add(city, tmp_path):
    con, paths = city
    store.publish(con, paths)
    evidence = tmp_path / "记录.png"
    evidence.write_bytes(PNG)
    base = ["inspection", "add", "--kind", "cf", "--method", "written", "--date", "2026-09-20",
            "--description", "台账与公示不符", "--evidence", str(evidence), "--user", "assessor2",
            "--db", str(paths.db)]
    result = CliRunner().invoke(app, [*base, "--dept", "d2"])
    assert result.exit_code == 0, result.output
    assert [(e["dept_id"], e["username"], e["inspected_on"]) for e in inspections.entries(paths)] == [
        ("d2", "assessor2", "2026-09-20")]
    assert CliRunner().invoke(app, [*base, "--dept", "nobody"]).exit_code == 2
    evidence.write_text("not an image")
    bad = CliRunner().invoke(app, [*base, "--dept", "d2"])
    assert bad.exit_code == 2 and "PNG" in bad.output
    assert date.fromisoformat(inspections.entries(paths)[0]["inspected_on"]) == date(2026, 9, 20)


# --- the dashboard page -------------------------------------------------------------------------------

PAGE = "dashboard/views/inspection.py"


def test_page_lists_entries_masked_and_refuses_an_entry_without_evidence(tmp_path):
    import streamlit as st

    from dashboard_city import RAW_PHONE, app, city_for_app, login, run, table

    st.cache_data.clear()
    with city_for_app(tmp_path) as paths:
        inspections.add(paths, dept_id="d_scj", kind="cf", method="written", severity="low",
                        inspected_on="2026-09-01", description=f"联系电话 {RAW_PHONE} 公示在页面上",
                        evidence=Attachment(PNG, "a.png"), username="judge", today=AS_OF)
        at = login(app(), "judge")
        at.switch_page(PAGE)
        run(at)
        shown = table(at, "inspection_entries")
        assert list(shown["方式"]) == ["书面检查"] and list(shown["严重程度"]) == ["轻微"]
        assert RAW_PHONE not in shown.to_string() and "139****5678" in shown.to_string()
        at.text_area[0].input("现场发现未公示")
        at.button[0].click()
        run(at)
        assert [e.value for e in at.error] == ["请上传证据文件（检查记录、照片或文书的 PDF、PNG 或 JPEG）。"]
        assert len(inspections.entries(paths)) == 1
        dept = login(app(), "scj")  # not in a department's menu; opened by its address, refused in Chinese
        dept.switch_page(PAGE)
        run(dept)
        assert [e.value for e in dept.error] == ["部门账号无权查看本页面。"] and not dept.dataframe
    st.cache_data.clear()

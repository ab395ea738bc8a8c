"""The period's documents from the demo city (crawled and scored once per session by ``conftest.demo_run``),
opened back with python-docx and openpyxl: the rankings equal ``sgs score --json``, every department has its
notice, the finding counts equal the database, nothing personal is readable, and bad input leaves nothing."""
from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
from docx import Document
from typer.testing import CliRunner

from conftest import QUARTERS
from core import store
from metrics.checks import INDICATORS
from reports import build, notice, sheets, workbook
from reports.data import ReportError, load
from sgs.cli import app
from core.settings import resolve_paths

runner = CliRunner()
PERIOD = QUARTERS[-1]
REPORT_DATE = date(2026, 10, 12)  # a Monday; 15 working days later is Monday 2026-11-02
DUE_TEXT = "2026年11月02日"
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
                       r"(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# identifiers sgs minted (问题编号: an md5; 存档编号: a WARC record's urn:uuid) are printed as they are, by design
# (reports/sheets.py, "key"): a hash's digits can look like a mobile number, so the scans leave them out
MINTED = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])|urn:uuid:[0-9a-f-]{36}")


def personal_text(texts: list[str]) -> str:
    """The documents' text that could hold personal data: everything but the identifiers sgs minted."""
    return MINTED.sub(" ", "\n".join(texts))


@pytest.fixture(scope="module")
def written(demo_run, tmp_path_factory) -> build.Written:
    con = store.open_snapshot(demo_run.paths)
    try:
        return build.write_all(con, PERIOD, tmp_path_factory.mktemp("reports") / "out", report_date=REPORT_DATE)
    finally:
        con.close()


def _sql(paths, sql: str, params: list | None = None) -> list[tuple]:
    con = store.open_snapshot(paths)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def docx_texts(path: Path) -> list[str]:
    """Every paragraph, table cell, header and footer text of a .docx."""
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    texts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for s in doc.sections:
        texts += [p.text for p in (*s.header.paragraphs, *s.footer.paragraphs)]
    return texts


def sheet_texts(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows[1:]]


def _table_headed(doc, *headers: str):
    """The document's first table whose header row starts with ``headers``."""
    return next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:len(headers)] == list(headers))


# --- content -------------------------------------------------------------------------------------------

def test_ranking_rows_equal_score_json(demo_run, written, tmp_path) -> None:
    """Re-score a copy of the demo database with the command line: the documents print its numbers."""
    copy = resolve_paths(tmp_path / "sgs.duckdb")
    shutil.copy(demo_run.paths.db, copy.db)
    result = runner.invoke(app, ["score", "--period", PERIOD, "--json", "--db", str(copy.db)])
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    expected = [[str(s["rank"]), s["name"], s["county"], f"{s['n_records']:,}", f"{s.get('n_unverified') or 0:,}",
                 *(f"{s[i]:.2f}" for i in INDICATORS), f"{s['total']:.2f}", s["grade"]]
                for s in scores if s["rank"] is not None]  # the departments not ranked have their own table
    ranking = Document(str(written.report)).tables[0]
    assert [c.text for c in ranking.rows[0].cells][:11] == ["排名", "部门", "县区", "记录数", "未能核验",
                                                              *INDICATORS.values(), "总分", "等级"]
    assert [r[:11] for r in _rows(ranking)] == expected
    sheet = openpyxl.load_workbook(written.workbook, read_only=True)["部门排名"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[9], r[10]) for r in rows] == [(s["rank"], s["dept_id"], s["total"], s["grade"])
                                                         for s in scores]
    assert [r[5:9] for r in rows] == [tuple(s[i] for i in INDICATORS) for s in scores]
    by_indicator = {(r[0], r[3]): r for r in openpyxl.load_workbook(written.workbook, read_only=True)["指标得分"]
                    .iter_rows(min_row=2, values_only=True)}
    for s in scores:  # a sub-score is what its deductions leave of the indicator's weight
        for ind, name in INDICATORS.items():
            _dept, _name, _county, _ind, weight, sub, lost, _n = by_indicator[(s["dept_id"], name)]
            assert sub == s[ind] and round(100 * (weight - lost) / weight, 2) == pytest.approx(sub, abs=0.011)


def test_county_ranking_equals_the_database(demo_run, written) -> None:
    expected = _sql(demo_run.paths, "SELECT county, total, grade FROM county_scores WHERE period = ? "
                                    "ORDER BY rank, total DESC, county", [PERIOD])
    table = _table_headed(Document(str(written.report)), "排名", "县区", "部门数")
    assert [(r[1], r[8], r[9]) for r in _rows(table)] == [(c, f"{t:.2f}", g) for c, t, g in expected]


def test_documents_state_scheme_cutoff_period_and_deadline(demo_run, written) -> None:
    version, computed = _sql(demo_run.paths, "SELECT min(scheme_version), max(computed_at) FROM scores "
                                             "WHERE period = ?", [PERIOD])[0]
    cutoff = _sql(demo_run.paths, "SELECT max(fetched_at) FROM fetches WHERE fetched_at <= ?", [computed])[0][0]
    for path in (written.report, *written.notices.values()):
        text = "\n".join(docx_texts(path))
        assert version in text and f"数据截止 {cutoff:%Y-%m-%d %H:%M}" in text.replace("：", " ")
        assert PERIOD in text or "2026年第三季度" in text
        assert DUE_TEXT in text and "2026年10月12日" in text
    about = dict(openpyxl.load_workbook(written.workbook, read_only=True)["说明"].iter_rows(min_row=2,
                                                                                          values_only=True))
    assert about["评分方案"] == version and about["整改期限"] == "2026-11-02"
    assert about["数据截止"] == f"{cutoff:%Y-%m-%d %H:%M:%S}"


def test_every_department_has_its_notice(demo_run, written) -> None:
    depts = _sql(demo_run.paths, "SELECT s.dept_id, d.name, s.total, s.rank, d.liaison, d.liaison_phone FROM scores s "
                                 "JOIN departments d USING (dept_id) WHERE s.period = ?", [PERIOD])
    assert set(written.notices) == {d[0] for d in depts} and len(depts) >= 10
    for dept, name, total, rank, liaison, phone in depts:
        path = written.notices[dept]
        assert path.exists() and dept in path.name
        text = "\n".join(docx_texts(path))
        assert text.count(name) >= 1 and f"总分{total:.2f}分" in text and f"全市排名第{rank}名" in text
        assert f"联系人 {liaison}" in text and f"电话 {phone}" in text  # an office number (0990-…) is public


def test_finding_counts_match_the_database(demo_run, written) -> None:
    counts = dict(_sql(demo_run.paths, "SELECT dept_id, count(*) FROM findings WHERE period = ? GROUP BY dept_id",
                       [PERIOD]))
    total = sum(counts.values())
    assert total > 50
    book = openpyxl.load_workbook(written.workbook, read_only=True)
    assert book["问题清单"].max_row - 1 == total
    names = dict(_sql(demo_run.paths, "SELECT dept_id, name FROM departments"))
    for dept, path in written.notices.items():
        doc = Document(str(path))
        listed = len(_rows(_table_headed(doc, *notice.FINDING_HEADERS))) if counts.get(dept) else 0
        assert listed == counts.get(dept, 0), dept
        assert book[names[dept][:31]].max_row - 1 == counts.get(dept, 0)
    report = Document(str(written.report))
    annex = [t for t in report.tables if [c.text for c in t.rows[0].cells] == ["指标", "问题类型", "问题数", "扣分"]]
    assert sum(int(r[2]) for t in annex for r in _rows(t)) == total
    problems = _table_headed(report, "序号", "问题类型", "指标")
    per_rule = dict(_sql(demo_run.paths, "SELECT rule_id, count(*) FROM findings WHERE period = ? GROUP BY 1",
                         [PERIOD]))
    assert sorted((int(r[3].replace(",", "")) for r in _rows(problems)), reverse=True) == \
        sorted(per_rule.values(), reverse=True)[:10]


def test_notice_lists_each_finding_with_evidence(demo_run, written) -> None:
    dept, n = _sql(demo_run.paths, "SELECT dept_id, count(*) AS n FROM findings WHERE period = ? GROUP BY 1 "
                                   "ORDER BY n DESC, dept_id LIMIT 1", [PERIOD])[0]
    urls = {u for (u,) in _sql(demo_run.paths, "SELECT url FROM findings WHERE period = ? AND dept_id = ?",
                               [PERIOD, dept])}
    doc = Document(str(written.notices[dept]))
    rows = _rows(_table_headed(doc, *notice.FINDING_HEADERS))  # 附件1 问题清单
    assert len(rows) == n
    assert {r[5].split("；")[0] for r in rows} == {notice._short_url(u) for u in urls}  # the page, shortened
    assert all("存档 " in r[5] and "［注" in r[5] for r in rows)  # its archive time; the archive id in a note
    notes = {m.group(1): p.text for p in doc.paragraphs if (m := re.match(r"注(\d+)：", p.text))}
    marks = {m for r in rows for m in re.findall(r"［注(\d+)］", r[5])}
    assert marks and marks <= set(notes) and all("存档编号 urn:uuid:" in notes[m] for m in marks)
    texts = [p.text for p in doc.paragraphs]
    requirement = next(i for i, t in enumerate(texts) if "整改情况书面报送" in t)
    assert requirement < texts.index("附件1")  # the body, the requirement and the signature come first


# --- privacy ---------------------------------------------------------------------------------------------

def test_no_unmasked_id_or_mobile_number_anywhere(demo_run, written) -> None:
    raw_ids = {v for (v,) in _sql(demo_run.paths, "SELECT CF_XDR_ZJHM FROM cf_records WHERE CF_XDR_ZJHM IS NOT NULL")
               if ID_NUMBER.fullmatch(v)}
    assert raw_ids, "the demo publishes natural persons' ID numbers; the scan would prove nothing without them"
    texts = [t for p in (written.report, *written.notices.values()) for t in docx_texts(p)]
    texts += sheet_texts(written.workbook)
    joined = personal_text(texts)
    assert not ID_NUMBER.search(joined) and not MOBILE.search(joined)
    assert not any(i in joined for i in raw_ids)
    assert "********" in joined  # the masked ID numbers of 个人信息未脱敏 findings are there, masked


def test_a_personal_number_passed_in_is_masked_in_every_format(demo_run, tmp_path) -> None:
    """The writers mask whatever they are given: plant a raw ID and a mobile number in a finding and a
    liaison's phone, then write a notice and the workbook."""
    con = store.open_snapshot(demo_run.paths)
    try:
        data = load(con, PERIOD)
    finally:
        con.close()
    dept = next(d for d in data.explained if data.findings_of(d))
    finding = data.explained[dept]["deductions"][0]["findings"][0]
    finding["message"] = "相对人身份证号 110101199003074514，手机 13812345678"
    data.departments[dept]["liaison_phone"] = "13912345678"
    scheme, day, due = build.settings(PERIOD, report_date=REPORT_DATE)
    (tmp_path / "n.docx").write_bytes(notice.build(data, dept, scheme, day, due))
    workbook.write(data, scheme, day, due, tmp_path / "w.xlsx")
    for texts in (docx_texts(tmp_path / "n.docx"), sheet_texts(tmp_path / "w.xlsx")):
        joined = personal_text(texts)
        assert "110101********4514" in joined and "138****5678" in joined
        assert not ID_NUMBER.search(joined) and not MOBILE.search(joined)
    assert "139****5678" in "\n".join(docx_texts(tmp_path / "n.docx"))


# --- same data, same documents ---------------------------------------------------------------------------

def test_same_period_and_data_give_the_same_documents(demo_run, written, tmp_path) -> None:
    result = runner.invoke(app, ["report", "--period", PERIOD, "--out", str(tmp_path), "--db", str(demo_run.paths.db),
                                 "--date", REPORT_DATE.isoformat()])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written.report.parent.iterdir())
    assert docx_texts(tmp_path / written.report.name) == docx_texts(written.report)
    assert sheet_texts(tmp_path / written.workbook.name) == sheet_texts(written.workbook)


# --- bad input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("period, code, complaint", [
    ("2026Q5", 2, "无法识别的评估期间"),
    (QUARTERS[-1][:4] + "-08", 1, "还没有评分"),  # a month of the demo: records, but only quarters are scored
    ("2025Q1", 1, "空期间"),
])
def test_bad_period_is_explained_and_writes_nothing(demo_run, tmp_path, period, code, complaint) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "--period", period, "--out", str(out), "--db", str(demo_run.paths.db)])
    assert result.exit_code == code
    assert complaint in result.stderr and "错误" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_output_folder_is_explained(demo_run, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["report", "--period", PERIOD, "--out", str(blocker / "out"),
                                 "--db", str(demo_run.paths.db)])
    assert result.exit_code == 1
    assert "无法写入" in result.stderr and str(blocker) in result.stderr


def test_failure_midway_leaves_no_file_under_a_final_name(demo_run, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{PERIOD}-双公示评估报告.docx").write_bytes(b"an earlier run")
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return b"notice"

    monkeypatch.setattr(notice, "build", failing)
    con = store.open_snapshot(demo_run.paths)
    try:
        with pytest.raises(ReportError, match="无法写入输出文件夹"):
            build.write_all(con, PERIOD, out, report_date=REPORT_DATE)
    finally:
        con.close()
    assert sorted(p.name for p in out.iterdir()) == [f"{PERIOD}-双公示评估报告.docx"]  # no temp files either
    assert (out / f"{PERIOD}-双公示评估报告.docx").read_bytes() == b"an earlier run"


def test_report_without_a_published_snapshot(tmp_path) -> None:
    result = runner.invoke(app, ["report", "--period", PERIOD, "--out", str(tmp_path / "o"),
                                 "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "还没有发布的数据" in result.stderr


def test_remediation_days_come_from_the_scheme(tmp_path) -> None:
    from metrics.scheme import SchemeError, load_scheme
    from core.settings import SCHEMES_DIR

    text = (SCHEMES_DIR / "2026.toml").read_text("utf-8")
    custom = tmp_path / "2026.toml"
    custom.write_text(text.replace("remediation_workdays = 15", "remediation_workdays = 5"), "utf-8")
    assert load_scheme(custom).remediation_workdays == 5
    _, _, due = build.settings(PERIOD, custom, REPORT_DATE)
    assert due == date(2026, 10, 19)
    custom.write_text(text.replace("remediation_workdays = 15", "remediation_workdays = 0"), "utf-8")
    with pytest.raises(SchemeError, match="remediation_workdays"):
        load_scheme(custom)


def test_sheet_names_are_valid_and_unique() -> None:
    book = sheets.Book.__new__(sheets.Book)
    book.names = set()
    names = [book._unique(n) for n in ["市场监督管理局[东城]", "x" * 40, "x" * 40, "Sheet"]]
    assert names[0] == "市场监督管理局_东城_" and len(set(n.lower() for n in names)) == 4
    assert all(len(n) <= 31 for n in names)



def test_report_command_has_help() -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0 and "整改通知书" in result.stdout and "--period" in result.stdout


def test_charts_draw_chinese_with_the_shipped_font(demo_run, recwarn) -> None:
    """No "Glyph … missing" warning: every Chinese label found a glyph in the font shipped by mplfonts."""
    from mplfonts.conf import FONT_DIR

    from reports import charts

    assert charts.cjk_font() == "Noto Sans CJK SC" and Path(FONT_DIR, "NotoSansCJKsc-Regular.otf").exists()
    con = store.open_snapshot(demo_run.paths)
    try:
        data = load(con, PERIOD)
    finally:
        con.close()
    pngs = [charts.grade_distribution(data.ranking, ["优秀", "良好", "合格", "不合格"]),
            charts.county_comparison(data.counties), charts.problem_types(data.problems)]
    assert all(p.startswith(b"\x89PNG") and len(p) > 10_000 for p in pngs)
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_scored_period_without_assessed_records_is_refused(demo_run, tmp_path) -> None:
    copy = resolve_paths(tmp_path / "sgs.duckdb")
    shutil.copy(demo_run.paths.db, copy.db)
    con = store.connect(copy)
    try:
        con.execute("UPDATE scores SET n_records = 0 WHERE period = ?", [PERIOD])
        store.publish(con, copy)
    finally:
        con.close()
    result = runner.invoke(app, ["report", "--period", PERIOD, "--out", str(tmp_path / "out"), "--db", str(copy.db)])
    assert result.exit_code == 1 and "没有纳入评估的记录" in result.stderr
    assert not (tmp_path / "out").exists()


# --- standings and 未能核验 (the small city of tests/dashboard_city.py: one department of each standing) ----

@pytest.fixture(scope="module")
def city_documents(tmp_path_factory):
    """The small city's documents for 2026Q3, with a 未能核验 reason that looks like a spreadsheet formula."""
    from dashboard_city import build_city

    def formula(con) -> None:
        con.execute("UPDATE unverified SET reason = '=HYPERLINK(\"http://example.invalid\",\"点此\")' "
                    "WHERE dept_id = 'd_jyj' AND record_key = 'rk6'")

    paths = resolve_paths(tmp_path_factory.mktemp("city") / "sgs.duckdb")
    build_city(paths, extra=formula)
    con = store.open_snapshot(paths)
    try:
        return build.write_all(con, "2026Q3", tmp_path_factory.mktemp("city-out"), report_date=REPORT_DATE)
    finally:
        con.close()


def test_report_lists_departments_not_ranked_with_their_standing(city_documents) -> None:
    report = Document(str(city_documents.report))
    ranked = _rows(report.tables[0])
    assert [r[1] for r in ranked] == ["市发展和改革委员会", "潞州区生态环境局", "市市场监督管理局", "潞州区交通运输局"]
    assert [r[4] for r in ranked] == ["0", "0", "2", "0"]  # 未能核验, its own column, beside the score
    assert [r[10] for r in ranked] == ["优秀", "良好", "良好", "不合格"]
    unranked = _table_headed(report, "部门", "县区", "记录数", "未能核验", "排名情况")
    assert [r[:5] for r in _rows(unranked)] == [["潞州区教育局", "潞州区", "3", "2", "证据不足"],
                                               ["市卫生健康委员会", "市本级", "0", "0", "本期无公示记录"]]
    text = "\n".join(docx_texts(city_documents.report))
    assert "关于“未能核验”和“证据不足”" in text and "未能核验的记录不扣分" in text and "（50%）" in text
    assert "另有2个部门不参加排名、不评等级（本期无公示记录1个，证据不足1个）" in text
    assert "潞州区教育局（潞州区） 不参加排名：证据不足  未能核验2条" in text  # the annex
    assert "全市参加排名部门平均得分75.03分" in text  # the mean of the four ranked departments only


def test_workbook_has_standings_and_the_unverified_sheet(city_documents) -> None:
    book = openpyxl.load_workbook(city_documents.workbook)
    ranking = book["部门排名"]
    header = [c.value for c in ranking[1]]
    rows = {r[1]: dict(zip(header, r)) for r in ranking.iter_rows(min_row=2, values_only=True)}
    assert rows["d_jyj"]["排名情况"] == "证据不足" and rows["d_jyj"]["排名"] is None and rows["d_jyj"]["等级"] is None
    assert rows["d_wjw"]["排名情况"] == "本期无公示记录"
    assert rows["d_scj"]["排名情况"] == "参加排名" and rows["d_scj"]["未能核验记录数"] == 2
    sheet = book["未能核验"]
    header = [c.value for c in sheet[1]]
    listed = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(listed) == 5 and {r["部门编号"] for r in listed} == {"d_scj", "d_jyj", "d_hbj"}
    assert {r["未能核验的事项"] for r in listed} == {"是否按时在本部门网站公示", "是否按时在信用网站公示", "专栏是否按时更新"}
    assert "（整个专栏）" in {r["文书号"] for r in listed}
    joined = "\n".join(sheet_texts(city_documents.workbook))
    assert "139****5678" in joined and not MOBILE.search(joined)
    formula = next(c for row in sheet.iter_rows(min_row=2) for c in row if str(c.value).startswith("="))
    assert formula.data_type == "s"  # written as text: the spreadsheet holds no formula
    about = dict(book["说明"].iter_rows(min_row=2, values_only=True))
    assert (about["参加排名部门数"], about["本期无公示记录部门数"], about["证据不足部门数"], about["未能核验记录数"]) == (4, 1, 1, 4)


def test_notices_say_the_standing_and_list_records_to_be_checked(city_documents) -> None:
    wjw = "\n".join(docx_texts(city_documents.notices["d_wjw"]))
    assert "本期无公示记录" in wjw and "全市排名第" not in wjw and "等级“" not in wjw
    jyj = "\n".join(docx_texts(city_documents.notices["d_jyj"]))
    assert "证据不足" in jyj and "不参加排名" in jyj and "全市排名第" not in jyj and "（50%）" in jyj
    scj_doc = Document(str(city_documents.notices["d_scj"]))
    scj = "\n".join(docx_texts(city_documents.notices["d_scj"]))
    assert "全市排名第2名（共4个部门）" in scj and "其中2条公示及时性未能核验，列为待核实，不扣分" in scj
    assert "待核实的记录（未能核验，不扣分）" in scj and "需要核实（不扣分）。具体问题及证据见附件" in scj
    checks = _rows(_table_headed(scj_doc, "序号", "文书号", "未能核验的事项"))
    assert [r[1] for r in checks] == ["长市监许〔2026〕301号", "长市监罚〔2026〕16号"]
    assert "139****5678" in checks[1][3] and not MOBILE.search(scj)
    fgw = "\n".join(docx_texts(city_documents.notices["d_fgw"]))
    assert "待核实" not in fgw and "附件2" not in fgw  # nothing to check: no such annex
    clean = [d for d, p in city_documents.notices.items() if "未发现需要整改的问题" in "\n".join(docx_texts(p))]
    for dept in clean:  # a short 无问题 letter: no request to fix "上述问题", no annex
        text = "\n".join(docx_texts(city_documents.notices[dept]))
        assert "上述问题" not in text and "附件" not in text and "整改期限" not in text

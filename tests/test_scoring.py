"""The score model on a small hand-computed city: deductions, caps, grades, ranks, previous periods, reruns."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core import store
from metrics.checks import Check, Rule
from metrics.checks.late_publication import RULE as LATE
from core.periods import parse_period
from metrics.scoring import SchemeError, ScoringError, score_period
from core.workdays import Calendar, CalendarError
from core.settings import SCHEMES_DIR, Paths
from tests.test_checks import AS_OF, LATER, PERIOD, add, make_uscc

SCHEME = SCHEMES_DIR / "2026.toml"
LATE_PUB = {"FBRQ": "2026-10-13", "seen": LATER}  # decided 09-25, due 10-12
NO_FACTS = {"CF_SY": None}  # required field missing → completeness
BAD_CODE = {"CF_CFJGDM": make_uscc()[:17] + ("0" if make_uscc()[17] != "0" else "1")}  # → accuracy

# Hand-computed with data/schemes/2026.toml (weights 30/35/25/10; late 30, required 12, credit code 10 by rate):
#   d1 潞州区 4 records: clean, late, late + missing, bad code
#      late 2/4 × 30 = 15.00, required 1/4 × 12 = 3.00, code 1/4 × 10 = 2.50 → 100 − 20.50 = 79.50 良好
#      sub-scores 100·15/30 = 50, 100·32/35 = 91.43, 100·22.5/25 = 90, compliance 100
#   d2 潞州区 2 records (one licence, one penalty), clean → 100 优秀
#   d3 市本级 3 records, one missing: required 1/3 × 12 = 4.00 → 96.00 优秀, completeness 100·31/35 = 88.57
#   d4 市本级 1 record, clean → 100; d5 市本级, no records at all → still scored, 100, but not ranked
#      (本期无公示记录: the scheme's [ranking] rank_without_records = false), so no grade either
EXPECTED = {  # dept: n, timeliness, completeness, accuracy, compliance, total, grade, rank, county_rank
    "d1": (4, 50.0, 91.43, 90.0, 100.0, 79.5, "良好", 4, 2),
    "d2": (2, 100.0, 100.0, 100.0, 100.0, 100.0, "优秀", 1, 1),
    "d3": (3, 100.0, 88.57, 100.0, 100.0, 96.0, "优秀", 3, 2),
    "d4": (1, 100.0, 100.0, 100.0, 100.0, 100.0, "优秀", 1, 1),
    "d5": (0, 100.0, 100.0, 100.0, 100.0, 100.0, None, None, None),
}
KEYS = ("n_records", "timeliness", "completeness", "accuracy", "compliance", "total", "grade", "rank", "county_rank")


@pytest.fixture
def city(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("""INSERT INTO departments (dept_id, name, county) VALUES
        ('d1', '潞州区生态环境分局', '潞州区'), ('d2', '潞州区市场监督管理局', '潞州区'),
        ('d3', '市生态环境局', '市本级'), ('d4', '市交通运输局', '市本级'), ('d5', '市统计局', '市本级')""")
    for key, fields in {"d1a": {}, "d1b": LATE_PUB, "d1c": {**LATE_PUB, **NO_FACTS}, "d1d": BAD_CODE}.items():
        add(con, "cf", key, dept="d1", **fields)
    add(con, "xk", "d2a", dept="d2")
    add(con, "cf", "d2b", dept="d2")
    for key, fields in {"d3a": {}, "d3b": NO_FACTS, "d3c": {}}.items():
        add(con, "cf", key, dept="d3", **fields)
    add(con, "cf", "d4a", dept="d4")
    add(con, "cf", "d4-q2", dept="d4", CF_JDRQ="2026-06-30", **LATE_PUB)  # another period: not assessed
    yield con
    con.close()


def _counts(con) -> tuple[int, ...]:
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                 for t in ("findings", "deductions", "scores", "county_scores"))


def _deductions(con, period: str = "2026Q3") -> dict[tuple[str, str], tuple]:
    rows = con.execute("SELECT dept_id, rule_id, indicator, n_findings, n_records, points, how, scheme_version "
                       "FROM deductions WHERE period = ?", [period]).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def _custom(tmp_path, **replacements: str):
    """The 2026 scheme with text replaced (old → new), written beside the test."""
    text = SCHEME.read_text(encoding="utf-8")
    for old, new in replacements.values():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "custom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_balanced(con, period: str = "2026Q3") -> None:
    """For every scored department, total = 100 − Σ its deductions, to the cent."""
    rows = con.execute("""SELECT s.dept_id, s.total, coalesce(sum(x.points), 0) FROM scores s
                          LEFT JOIN deductions x USING (period, dept_id) WHERE s.period = ?
                          GROUP BY s.dept_id, s.total""", [period]).fetchall()
    assert rows
    for dept, total, points in rows:
        assert Decimal(str(total)) == Decimal(100) - Decimal(str(points)).quantize(Decimal("0.01")), dept


def test_department_scores_by_hand(city):
    rows = score_period(city, PERIOD, as_of=AS_OF)
    assert [r["dept_id"] for r in rows] == ["d2", "d4", "d3", "d1", "d5"]  # by rank, ties by id; unranked last
    for r in rows:
        assert tuple(r[k] for k in KEYS) == pytest.approx(EXPECTED[r["dept_id"]]), r["dept_id"]
        assert r["scheme_version"] == "sgs-2026.1" and r["period"] == "2026Q3"
    assert rows[-2]["name"] == "潞州区生态环境分局" and rows[-2]["county"] == "潞州区"
    assert [(r["dept_id"], r["standing"]) for r in rows if r["standing"] != "ranked"] == [("d5", "no_records")]
    stored = city.execute("SELECT count(DISTINCT computed_at), min(scheme_version) FROM scores").fetchall()[0]
    assert stored == (1, "sgs-2026.1")
    assert_balanced(city)


def test_deductions_explain_each_point(city):
    score_period(city, PERIOD, as_of=AS_OF)
    got = _deductions(city)
    assert set(got) == {("d1", "late_publication"), ("d1", "required_missing"), ("d1", "credit_code_invalid"),
                        ("d3", "required_missing")}
    assert got[("d1", "late_publication")] == ("timeliness", 2, 4, 15.0, "按比例：2/4 条记录 × 30 分 = 15.00 分",
                                               "sgs-2026.1")
    assert got[("d1", "credit_code_invalid")][:4] == ("accuracy", 1, 4, 2.5)
    assert got[("d3", "required_missing")][:4] == ("completeness", 1, 3, 4.0)


def test_county_scores_are_department_means(city):
    score_period(city, PERIOD, as_of=AS_OF)
    got = {r[0]: r[1:] for r in city.execute(
        """SELECT county, n_departments, n_records, timeliness, completeness, accuracy, compliance, total, grade, rank
           FROM county_scores WHERE period = '2026Q3'""").fetchall()}
    assert got["潞州区"] == pytest.approx((2, 6, 75.0, (91.43 + 100) / 2, 95.0, 100.0, 89.75, "优秀", 2), abs=0.006)
    # d5 (本期无公示记录) is not ranked, so not in its county's mean
    assert got["市本级"] == pytest.approx((2, 4, 100.0, (88.57 + 100) / 2, 100.0, 100.0, 98.0, "优秀", 1), abs=0.006)


def test_rule_cap_then_indicator_cap_largest_first(city, tmp_path):
    """late 2/4 × 100 = 50 is cut to the timeliness weight 30; in accuracy two rules of 20 share the 25."""
    add(city, "cf", "d1e", dept="d1", CF_YXQ="2026-02-30")  # date_invalid, d1 now has 5 records
    scheme = _custom(tmp_path,
                     late=("[rules.late_publication]     # 公示不及时（及时性，严重）：全部记录逾期即扣完及时性 30 分\n"
                           "how = \"rate\"                 # late on every record loses the whole timeliness weight\n"
                           "points = 30\ndept_points = 5\ncap = 30",
                           "[rules.late_publication]\nhow = \"rate\"\npoints = 100\ndept_points = 5\ncap = 100"),
                     code=("points = 10\ndept_points = 5\ncap = 10\n\n[rules.id_number_invalid]",
                           "points = 100\ndept_points = 5\ncap = 100\n\n[rules.id_number_invalid]"),
                     date=("[rules.date_invalid]         # 日期格式错误（准确性，轻微）\nhow = \"rate\"\npoints = 4\n"
                           "dept_points = 1\ncap = 4",
                           "[rules.date_invalid]\nhow = \"rate\"\npoints = 100\ndept_points = 1\ncap = 15"))
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, as_of=AS_OF, scheme_path=scheme)}
    got = _deductions(city)
    assert got[("d1", "late_publication")][3] == 30.0 and "已达权重 30 分" in got[("d1", "late_publication")][4]
    assert got[("d1", "credit_code_invalid")][3] == 20.0  # 1/5 × 100, applied first (larger than date's 15)
    assert got[("d1", "date_invalid")][3] == 5.0  # 1/5 × 100 = 20, capped at 15, then 25 − 20 = 5 left
    assert "本项封顶 15 分" in got[("d1", "date_invalid")][4]
    assert rows["d1"]["timeliness"] == 0.0 and rows["d1"]["accuracy"] == 0.0
    # required 1/5 × 12 = 2.40 → 100 − 30 − 2.40 − 25
    assert rows["d1"]["total"] == pytest.approx(42.6) and rows["d1"]["grade"] == "不合格"
    assert_balanced(city)


def test_fixed_points_per_record(city, tmp_path):
    scheme = _custom(tmp_path, req=("how = \"rate\"\npoints = 12\ndept_points = 3\ncap = 12",
                                    "how = \"fixed\"\npoints = 1.5\ndept_points = 3\ncap = 12"))
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, as_of=AS_OF, scheme_path=scheme)}
    assert rows["d3"]["total"] == 98.5
    assert _deductions(city)[("d3", "required_missing")][4] == "按条：1 条记录 × 1.5 分 = 1.50 分"


def _column_rule(severity: str = "high") -> Check:
    """A department-level rule (as the availability rules are): d5's column could not be reached twice."""
    rule = Rule(id="probe_column", name="专栏无法访问", indicator="completeness", clause="测试", severity=severity)

    def department_sql(ctx):
        if ctx.kind != "cf":
            return None
        return ("SELECT * FROM (VALUES ('d5', NULL, NULL, '专栏无法访问', 'http://127.0.0.1/d5', 'f-d5'), "
                "('d5', NULL, NULL, '专栏无法访问', 'http://127.0.0.1/d5/2', 'f-d5-2')) "
                "t(dept_id, field, value, message, url, fetch_id)")
    return Check(rule, lambda ctx: None, None, department_sql)


def test_department_level_findings_deduct_fixed_points_by_severity(city):
    """A rule the scheme does not list takes its severity's default: 5 points per department-level finding."""
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, as_of=AS_OF, checks=(_column_rule(),))}
    assert rows["d5"]["n_records"] == 0 and rows["d5"]["total"] == 90.0
    assert rows["d5"]["completeness"] == pytest.approx(100 * 25 / 35, abs=0.006)
    assert _deductions(city)[("d5", "probe_column")][1:4] == (2, 0, 10.0)
    assert "部门层面问题 2 个 × 5 分" in _deductions(city)[("d5", "probe_column")][4]
    assert city.execute("SELECT count(*) FROM findings WHERE record_key IS NULL").fetchall()[0][0] == 2
    assert_balanced(city)


def test_rule_parameters_reach_the_rules(city, tmp_path):
    def probe(ctx):
        return (f"SELECT record_key, 'FBRQ' AS field, NULL AS value, "
                f"'limit=' || {ctx.param('late_publication', 'limit', 'default')} AS message FROM {ctx.source}")
    scheme = _custom(tmp_path, p=("points = 30\ndept_points = 5\ncap = 30", "points = 30\ndept_points = 5\ncap = 30\n"
                                                                             "limit = 42"))
    score_period(city, PERIOD, as_of=AS_OF, scheme_path=scheme, checks=(Check(LATE, probe),))
    assert {m for (m,) in city.execute("SELECT DISTINCT message FROM findings").fetchall()} == {"limit=42"}


def test_previous_period_of_the_same_granularity(city):
    add(city, "cf", "d1-q2", dept="d1", CF_JDRQ="2026-06-10", FBRQ="2026-06-11")
    score_period(city, parse_period("2026Q2"), as_of=AS_OF)
    q3 = {r["dept_id"]: r for r in score_period(city, PERIOD, as_of=AS_OF)}
    assert (q3["d1"]["prev_total"], q3["d1"]["prev_rank"]) == (100.0, 1)
    assert (q3["d4"]["prev_total"], q3["d4"]["prev_rank"]) == (70.0, 2)  # its only Q2 record was late: 1/1 × 30;
    # d2, d3, d5 had no Q2 records (本期无公示记录, unranked), so d4 is second behind d1
    county = dict(city.execute("SELECT county, prev_total FROM county_scores WHERE period = '2026Q3'").fetchall())
    assert county["潞州区"] == pytest.approx((100.0 + 100.0) / 2)
    # months: 2026-09's previous is 2026-08 (not scored yet → None), and rescoring a period refreshes the next
    sept = {r["dept_id"]: r for r in score_period(city, parse_period("2026-09"), as_of=AS_OF)}
    assert sept["d1"]["prev_total"] is None
    add(city, "cf", "d1-q2", dept="d1", CF_JDRQ="2026-06-10", FBRQ="2026-06-30", seen=LATER)  # now late
    score_period(city, parse_period("2026Q2"), as_of=AS_OF)
    assert city.execute("SELECT prev_total FROM scores WHERE period = '2026Q3' AND dept_id = 'd1'").fetchall() \
        == [(70.0,)]


def test_rerun_replaces_rather_than_duplicates(city):
    score_period(city, PERIOD, as_of=AS_OF)
    first = _counts(city)
    score_period(city, PERIOD, as_of=AS_OF)
    assert _counts(city) == first == (5, 4, 5, 2)
    add(city, "cf", "d3b", dept="d3")  # the department fixes the record
    rows = score_period(city, PERIOD, as_of=AS_OF)
    assert _counts(city) == (4, 3, 5, 2)
    assert {r["dept_id"]: r["total"] for r in rows}["d3"] == 100.0


def test_empty_period_raises_and_leaves_previous_results(city):
    score_period(city, PERIOD, as_of=AS_OF)
    before = _counts(city)
    with pytest.raises(ScoringError, match="2025Q1"):
        score_period(city, parse_period("2025Q1"), as_of=AS_OF)
    assert _counts(city) == before


def test_a_year_without_scheme_stops_before_writing(city, tmp_path):
    add(city, "cf", "next-year", dept="d1", CF_JDRQ="2027-01-05", FBRQ="2027-01-06")
    before = _counts(city)
    with pytest.raises(SchemeError, match=r"2027Q1.*data/schemes/2027\.toml"):
        score_period(city, parse_period("2027Q1"), as_of=AS_OF)
    assert _counts(city) == before
    paths = Paths(tmp_path / "sgs.duckdb")
    city.close()
    from typer.testing import CliRunner

    from sgs.cli import app

    result = CliRunner().invoke(app, ["score", "--period", "2026Q3", "--db", str(paths.db), "--scheme",
                                      str(_custom(tmp_path, v=('version = "sgs-2026.1"', 'version = "cli"')))])
    assert result.exit_code == 0, result.output
    assert "评分方案 cli" in result.stdout
    result = CliRunner().invoke(app, ["score", "--period", "2027-01", "--db", str(paths.db)])
    assert result.exit_code == 1 and "2027.toml" in result.stderr


def test_failure_while_checking_writes_nothing(city, tmp_path):
    score_period(city, PERIOD, as_of=AS_OF)
    before = city.execute("SELECT * FROM scores ORDER BY dept_id").fetchall()
    (tmp_path / "bad.toml").write_text('year = 2026\nholidays = ["2027-01-01"]\n', encoding="utf-8")
    with pytest.raises(CalendarError):
        score_period(city, PERIOD, as_of=AS_OF, calendar=Calendar((tmp_path,)))
    assert city.execute("SELECT * FROM scores ORDER BY dept_id").fetchall() == before


def test_grades_come_from_the_scheme(city, tmp_path):
    scheme = _custom(tmp_path, v=('version = "sgs-2026.1"', 'version = "t"'), g=('"良好" = 70', '"良好" = 80'))
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, scheme_path=scheme, as_of=AS_OF)}
    assert rows["d1"]["total"] == 79.5 and rows["d1"]["grade"] == "合格"
    assert rows["d1"]["scheme_version"] == "t"
    assert {v for (v,) in city.execute("SELECT DISTINCT scheme_version FROM deductions").fetchall()} == {"t"}


# --- on the demo city ---------------------------------------------------------------------------------

def test_demo_deductions_add_up_for_every_department(demo_run):
    con = store.open_snapshot(demo_run.paths)
    try:
        for quarter in demo_run.scores:
            assert_balanced(con, quarter)
        n_depts = con.execute("SELECT count(*) FROM departments").fetchall()[0][0]
        assert {n for (n,) in con.execute("SELECT count(*) FROM scores GROUP BY period").fetchall()} == {n_depts}
    finally:
        con.close()


def test_explain_every_demo_department(demo_run):
    from metrics.explain import explain

    con = store.open_snapshot(demo_run.paths)
    try:
        for s in demo_run.scores["2026Q3"]:
            e = explain(con, "2026Q3", s["dept_id"])
            assert e["balanced"] and e["total"] == s["total"], s["dept_id"]
            n = con.execute("SELECT count(*) FROM findings WHERE period = '2026Q3' AND dept_id = ?",
                            [s["dept_id"]]).fetchall()[0][0]
            assert sum(len(d["findings"]) for d in e["deductions"]) == n
            for d in e["deductions"]:
                records = {(f["kind"], f["record_key"]) for f in d["findings"] if f["record_key"]}
                assert d["n_findings"] == len(records) + sum(1 for f in d["findings"] if not f["record_key"])
                assert all((f["wsh"] or not f["record_key"]) and f["url"] and f["fetch_id"] for f in d["findings"])
    finally:
        con.close()


def test_explain_command(demo_run):
    import json

    from typer.testing import CliRunner

    from sgs.cli import app

    worst = min(demo_run.scores["2026Q3"], key=lambda s: (s["total"], s["dept_id"]))
    args = ["explain", "--period", "2026Q3", "--dept", worst["dept_id"], "--db", str(demo_run.paths.db)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == worst["total"] and data["deductions"] and data["balanced"]
    text = CliRunner().invoke(app, args)
    assert f"100 − 扣分合计 {100 - worst['total']:.2f} = {worst['total']:.2f}" in text.stdout
    assert data["deductions"][0]["how"] in text.stdout
    missing = CliRunner().invoke(app, ["explain", "--period", "2026Q3", "--dept", "nope", "--db",
                                       str(demo_run.paths.db)])
    assert missing.exit_code == 1 and "nope" in missing.stderr


def test_scoring_runs_under_the_memory_budget_and_restores_the_connection(monkeypatch):
    """SGS_MEMORY_LIMIT is DuckDB's memory_limit while a period is scored (12 GB held by a province's
    scoring without one: docs/bench-score.md); the caller's settings come back after; a bad value is
    refused in Chinese, naming the variable; a kind's rule tables go, tables made before stay."""
    import duckdb

    from metrics.budget import BudgetError, kind_tables, scoring_settings, temp_tables

    con = duckdb.connect()
    setting = lambda name: con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]  # noqa: E731
    before = setting("memory_limit")
    monkeypatch.setenv("SGS_MEMORY_LIMIT", "500MB")
    with scoring_settings(con):
        assert setting("memory_limit") == "476.8 MiB" and setting("preserve_insertion_order") is False
    assert setting("memory_limit")[:2] == before[:2] and setting("preserve_insertion_order") is True
    monkeypatch.setenv("SGS_MEMORY_LIMIT", "lots")
    with pytest.raises(BudgetError, match="SGS_MEMORY_LIMIT"):
        with scoring_settings(con):
            pass
    con.execute("CREATE TEMP TABLE _sgs_inputs AS SELECT 1 AS x")
    with kind_tables(con):
        con.execute("CREATE TEMP TABLE portal_dates_xk AS SELECT 1 AS x")
        con.execute("CREATE TEMP VIEW assessed_xk AS SELECT 1 AS x")
    assert temp_tables(con) == {"_sgs_inputs"}

"""Scores, grades and ranks on a small hand-computed city; empty periods, reruns and scheme errors."""
from __future__ import annotations

import pytest

from metrics import store
from metrics.periods import parse_period
from metrics.scoring import SchemeError, ScoringError, load_scheme, score_period
from metrics.workdays import Calendar, CalendarError
from sgs.settings import DEFAULT_SCHEME, Paths
from tests.test_checks import AS_OF, LATER, PERIOD, add, make_uscc

LATE = {"FBRQ": "2026-10-13", "seen": LATER}  # decided 09-25, due 10-12
NO_FACTS = {"CF_SY": None}  # required field missing → completeness
BAD_CODE = {"CF_CFJGDM": make_uscc()[:17] + ("0" if make_uscc()[17] != "0" else "1")}  # → accuracy

# Hand-computed (weights 40/30/30):
#   d1 潞州区 4 records: clean, late, late + missing, bad code → 50 / 75 / 75, total 65.00 合格
#   d2 潞州区 2 records (one licence, one penalty), clean       → 100 ×3,   total 100.00 优秀
#   d3 市本级 3 records: one missing                            → 100 / 66.67 / 100, total 90.00 优秀
#   d4 市本级 1 record, clean (ties with d2)                    → total 100.00 优秀
EXPECTED = {  # dept: n, timeliness, completeness, accuracy, total, grade, rank, county_rank
    "d1": (4, 50.0, 75.0, 75.0, 65.0, "合格", 4, 2),
    "d2": (2, 100.0, 100.0, 100.0, 100.0, "优秀", 1, 1),
    "d3": (3, 100.0, 66.67, 100.0, 90.0, "优秀", 3, 2),
    "d4": (1, 100.0, 100.0, 100.0, 100.0, "优秀", 1, 1),
}
KEYS = ("n_records", "timeliness", "completeness", "accuracy", "total", "grade", "rank", "county_rank")


@pytest.fixture
def city(tmp_path):
    con = store.connect(Paths(tmp_path / "sgs.duckdb"))
    con.execute("""INSERT INTO departments (dept_id, name, county) VALUES
        ('d1', '潞州区生态环境分局', '潞州区'), ('d2', '潞州区市场监督管理局', '潞州区'),
        ('d3', '市生态环境局', '市本级'), ('d4', '市交通运输局', '市本级')""")
    for key, fields in {"d1a": {}, "d1b": LATE, "d1c": {**LATE, **NO_FACTS}, "d1d": BAD_CODE}.items():
        add(con, "cf", key, dept="d1", **fields)
    add(con, "xk", "d2a", dept="d2")
    add(con, "cf", "d2b", dept="d2")
    for key, fields in {"d3a": {}, "d3b": NO_FACTS, "d3c": {}}.items():
        add(con, "cf", key, dept="d3", **fields)
    add(con, "cf", "d4a", dept="d4")
    add(con, "cf", "d4-q2", dept="d4", CF_JDRQ="2026-06-30", **LATE)  # another period: not assessed
    yield con
    con.close()


def _counts(con) -> tuple[int, int, int]:
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                 for t in ("findings", "scores", "county_scores"))


def test_department_scores_by_hand(city):
    rows = score_period(city, PERIOD, as_of=AS_OF)
    assert [r["dept_id"] for r in rows] == ["d2", "d4", "d3", "d1"]  # by rank, ties by id
    for r in rows:
        assert tuple(r[k] for k in KEYS) == pytest.approx(EXPECTED[r["dept_id"]]), r["dept_id"]
        assert r["scheme_version"] == "sgs-default-2026.1" and r["period"] == "2026Q3"
    assert rows[-1]["name"] == "潞州区生态环境分局" and rows[-1]["county"] == "潞州区"
    stored = city.execute("SELECT count(DISTINCT computed_at), min(scheme_version) FROM scores").fetchall()[0]
    assert stored == (1, "sgs-default-2026.1")


def test_county_scores_are_department_means(city):
    score_period(city, PERIOD, as_of=AS_OF)
    got = {r[0]: r[1:] for r in city.execute(
        """SELECT county, n_departments, n_records, timeliness, completeness, accuracy, total, grade, rank
           FROM county_scores WHERE period = '2026Q3'""").fetchall()}
    assert got["潞州区"] == pytest.approx((2, 6, 75.0, 87.5, 87.5, 82.5, "良好", 2))
    assert got["市本级"][:2] == (2, 4)
    assert got["市本级"][2:] == pytest.approx((100.0, (66.67 + 100) / 2, 100.0, 95.0, "优秀", 1), abs=0.006)


def test_findings_carry_evidence_and_metadata(city):
    score_period(city, PERIOD, as_of=AS_OF)
    rows = city.execute("""SELECT dept_id, kind, record_key, channel, rule_id, indicator, field, url, fetch_id, status
                           FROM findings ORDER BY record_key, rule_id""").fetchall()
    assert ("d1", "cf", "d1b", "site", "late_publication", "timeliness", "FBRQ", "http://127.0.0.1/d1b", "f-d1b",
            "open") in rows
    assert {r[2] for r in rows} == {"d1b", "d1c", "d1d", "d3b"}


def test_rerun_replaces_rather_than_duplicates(city):
    score_period(city, PERIOD, as_of=AS_OF)
    first = _counts(city)
    score_period(city, PERIOD, as_of=AS_OF)
    assert _counts(city) == first == (5, 4, 2)
    add(city, "cf", "d3b", dept="d3")  # the department fixes the record
    rows = score_period(city, PERIOD, as_of=AS_OF)
    assert _counts(city) == (4, 4, 2)
    assert {r["dept_id"]: r["total"] for r in rows}["d3"] == 100.0


def test_empty_period_raises_and_leaves_previous_results(city):
    score_period(city, PERIOD, as_of=AS_OF)
    before = _counts(city)
    with pytest.raises(ScoringError, match="2025Q1"):
        score_period(city, parse_period("2025Q1"), as_of=AS_OF)
    assert _counts(city) == before


def test_failure_while_checking_writes_nothing(city, tmp_path):
    score_period(city, PERIOD, as_of=AS_OF)
    before = city.execute("SELECT * FROM scores ORDER BY dept_id").fetchall()
    (tmp_path / "bad.toml").write_text('year = 2026\nholidays = ["2027-01-01"]\n', encoding="utf-8")
    with pytest.raises(CalendarError):
        score_period(city, PERIOD, as_of=AS_OF, calendar=Calendar((tmp_path,)))
    assert city.execute("SELECT * FROM scores ORDER BY dept_id").fetchall() == before


def test_scheme_weights_and_grades_come_from_the_file(city, tmp_path):
    text = DEFAULT_SCHEME.read_text(encoding="utf-8")
    custom = tmp_path / "custom.toml"
    custom.write_text(text.replace('version = "sgs-default-2026.1"', 'version = "t"')
                      .replace("weight = 40", "weight = 0").replace('"良好" = 70', '"良好" = 80'), encoding="utf-8")
    rows = {r["dept_id"]: r for r in score_period(city, PERIOD, scheme_path=custom, as_of=AS_OF)}
    assert rows["d1"]["total"] == 75.0 and rows["d1"]["grade"] == "合格"  # (30·75 + 30·75) / 60, below 80
    assert rows["d3"]["total"] == pytest.approx(83.33) and rows["d3"]["grade"] == "良好"
    assert rows["d3"]["scheme_version"] == "t"


def test_scheme_errors_name_file_and_key(tmp_path):
    assert load_scheme(DEFAULT_SCHEME).weights == {"timeliness": 40, "completeness": 30, "accuracy": 30, "compliance": 0}
    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_SCHEME.read_text(encoding="utf-8").replace("max_workdays = 7", ""), encoding="utf-8")
    with pytest.raises(SchemeError, match=r"broken\.toml.*timeliness\.max_workdays"):
        load_scheme(broken)
    with pytest.raises(SchemeError, match="不存在"):
        load_scheme(tmp_path / "missing.toml")

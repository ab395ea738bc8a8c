"""Scheme files: one per assessment year, validated on load with the file and key named."""
from __future__ import annotations

import pytest

from metrics.checks import INDICATORS, SEVERITIES, all_rules
from core.periods import parse_period
from metrics.scheme import SchemeError, latest_scheme_path, load_scheme, scheme_path
from core.settings import SCHEMES_DIR

SCHEME = SCHEMES_DIR / "2026.toml"


def _variant(tmp_path, old: str, new: str):
    text = SCHEME.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_2026_scheme():
    s = load_scheme(SCHEME)
    assert s.version == "sgs-2026.1" and s.max_workdays == 7
    assert s.weights == {"timeliness": 30, "completeness": 35, "accuracy": 25, "compliance": 10}
    assert set(s.weights) == set(INDICATORS) and set(s.defaults) == set(SEVERITIES)
    assert [g for g, _ in s.grades] == ["优秀", "良好", "合格", "不合格"]
    late = next(r for r in all_rules() if r.id == "late_publication")
    assert s.deduction(late).points == 30 and s.deduction(late).how == "rate"
    for rule in all_rules():  # no rule can take more than its indicator's weight on its own
        assert s.deduction(rule).cap <= s.weights[rule.indicator], rule.id


def test_scheme_by_the_periods_year():
    assert scheme_path(parse_period("2026-07")) == SCHEME == latest_scheme_path()
    with pytest.raises(SchemeError, match=r"2027Q1.*2027\.toml"):
        scheme_path(parse_period("2027Q1"))


def test_unlisted_rule_takes_its_severitys_default(tmp_path):
    path = _variant(tmp_path, "[rules.date_invalid]", "[rules.date_invalid_unused]")
    with pytest.raises(SchemeError, match="rules.date_invalid_unused"):
        load_scheme(path)
    text = SCHEME.read_text(encoding="utf-8")
    start = text.index("[rules.date_invalid]")
    path.write_text(text[:start] + text[text.index("# --- 等级"):], encoding="utf-8")
    rule = next(r for r in all_rules() if r.id == "date_invalid")
    s = load_scheme(path)
    assert s.deduction(rule) == s.defaults["low"] and s.defaults["low"].points == 2


def test_parameters_only_table_keeps_the_default_deduction(tmp_path):
    path = _variant(tmp_path, "[rules.date_invalid]         # 日期格式错误（准确性，轻微）\nhow = \"rate\"\npoints = 4\n"
                              "dept_points = 1\ncap = 4", "[rules.date_invalid]\nstrict = true")
    s = load_scheme(path)
    rule = next(r for r in all_rules() if r.id == "date_invalid")
    assert s.deduction(rule) == s.defaults["low"]
    assert s.rule_params["date_invalid"] == {"strict": True}
    assert s.rule_params["late_publication"] == {}


@pytest.mark.parametrize("old, new, message", [
    ("max_workdays = 7", "", r"timeliness\.max_workdays"),
    ("weight = 30", "weight = 20", "合计为 100"),
    ("[rules.late_publication]", "[rules.no_such_rule]", r"rules\.no_such_rule.*no_such_rule\.py"),
    ('how = "rate"\npoints = 15', 'how = "sometimes"\npoints = 15', r"rules\.portal_missing\.how"),
    ("[defaults.low]           # 轻微\nhow = \"rate\"\npoints = 2", "[defaults.low]\nhow = \"rate\"\npoints = -2",
     r"defaults\.low.*负"),
    ("[defaults.medium]        # 一般\nhow = \"rate\"\n", "[defaults.medium]\n", r"defaults\.medium\.how"),
    ('version = "sgs-2026.1"', "version = [", "不是有效的 TOML"),
])
def test_scheme_errors_name_file_and_key(tmp_path, old, new, message):
    with pytest.raises(SchemeError, match=r"variant\.toml.*" + message):
        load_scheme(_variant(tmp_path, old, new))


def test_year_must_match_the_file_name(tmp_path):
    path = tmp_path / "2027.toml"
    path.write_text(SCHEME.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SchemeError, match=r"2027\.toml.*year = 2026"):
        load_scheme(path)
    path.write_text(SCHEME.read_text(encoding="utf-8").replace("year = 2026", "year = 2027"), encoding="utf-8")
    assert load_scheme(path).version == "sgs-2026.1"


def test_missing_scheme_file(tmp_path):
    with pytest.raises(SchemeError, match="不存在"):
        load_scheme(tmp_path / "missing.toml")

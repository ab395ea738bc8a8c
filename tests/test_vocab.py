"""The vocabulary is said once (core/vocab.py): the words agree with the rules, the scheme and the data files,
and no product module writes a label dictionary of its own again."""
from __future__ import annotations

import ast
import tomllib

from core import vocab
from core.settings import POLICY_DIR, REPO_ROOT
from metrics.checks import all_checks
from metrics.scheme import load_scheme

PRODUCT = ("core", "crawlers", "metrics", "reports", "dashboard", "democity", "sgs")
PENDING: set[str] = set()  # modules not yet switched to core.vocab (none)


def test_grade_colours_follow_the_schemes_order():
    grades = [name for name, _ in load_scheme().grades]
    colours = vocab.grade_colors(grades)
    assert colours[grades[0]] == vocab.GRADE_PALETTE[0] and colours[grades[-1]] == vocab.GRADE_PALETTE[-1]
    assert len(set(colours.values())) == min(len(grades), len(vocab.GRADE_PALETTE))
    five = vocab.grade_colors(["甲", "乙", "丙", "丁", "戊"])
    assert five["甲"] == vocab.GRADE_PALETTE[0] and five["戊"] == vocab.GRADE_PALETTE[-1]
    assert vocab.grade_colors(["合格"]) == {"合格": vocab.GRADE_PALETTE[0]}


def test_availability_problems_map_to_rules_that_exist():
    checks = {c.rule.id: c for c in all_checks()}
    assert set(vocab.AVAILABILITY_RULES) <= set(vocab.AVAILABILITY)
    for problem, rule_id in vocab.AVAILABILITY_RULES.items():
        check = checks[rule_id]
        assert check.department_sql and check.findings_sql is None, rule_id
        assert check.rule.needs == ("crawl",) and check.rule.indicator == "completeness", rule_id
    assert "runaway_paging" in vocab.AVAILABILITY and "runaway_paging" not in vocab.AVAILABILITY_RULES


def test_penalty_gravity_is_the_policy_files_keys():
    doc = tomllib.loads((POLICY_DIR / "publication_periods.toml").read_text("utf-8"))
    used = {key for rule in doc["rules"] for key in rule if isinstance(rule[key], dict)}
    assert used <= set(vocab.PENALTY_GRAVITY) and "general" in used
    assert set(vocab.PENALTY_GRAVITY) != set(vocab.SEVERITIES)  # two concepts, two names


def test_every_rule_uses_the_vocabularys_words():
    for c in all_checks():
        assert c.rule.indicator in vocab.INDICATORS and c.rule.severity in vocab.SEVERITIES, c.rule.id


def _label_dicts(path) -> list[tuple[int, dict[str, str]]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Dict) and node.keys and all(
                isinstance(k, ast.Constant) and isinstance(k.value, str) and isinstance(v, ast.Constant)
                and isinstance(v.value, str) for k, v in zip(node.keys, node.values)):
            out.append((node.lineno, {k.value: v.value for k, v in zip(node.keys, node.values)}))
    return out


def test_no_module_writes_its_own_label_dictionary():
    """A dictionary literal holding two or more of a vocabulary's (code, word) pairs is a copy of it."""
    words = [d for d in vars(vocab).values() if isinstance(d, dict) and all(isinstance(v, str) for v in d.values())]
    copies = []
    for top in PRODUCT:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT).as_posix()
            if rel == "core/vocab.py" or rel in PENDING:
                continue
            for line, found in _label_dicts(path):
                if any(len(found.items() & d.items()) >= 2 for d in words):
                    copies.append(f"{rel}:{line}")
    assert not copies, f"标签字典应从 core/vocab.py 导入：{copies}"


def test_the_crawler_records_exactly_the_availability_kinds_the_vocabulary_names() -> None:
    from core.vocab import AVAILABILITY
    from crawlers import availability

    assert sorted(availability.KINDS) == sorted(AVAILABILITY)

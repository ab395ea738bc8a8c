"""Dated publication rules from ``data/policy/publication_periods.toml``, in Python and as SQL.

The period a penalty may stay published depends on the rule in force on its decision date (2017, 2019, 2023,
2026 rules) and on its severity; both are data, so a new rule is a new ``[[rules]]`` entry. The same file says
how a 简易程序 penalty is recognised (the standard has no field for it).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from core.settings import POLICY_DIR
from metrics.checks._sql import day as day_literal

POLICY_FILE = POLICY_DIR / "publication_periods.toml"
SEVERITIES = {"light": "轻微", "general": "一般", "serious": "严重"}


@dataclass(frozen=True)
class PeriodRule:
    start: date
    source: str
    max_months: dict[str, int]  # severity → longest publication period (a missing severity: general's)

    def months(self, severity: str) -> int:
        return self.max_months.get(severity, self.max_months["general"])


@dataclass(frozen=True)
class Policy:
    rules: tuple[PeriodRule, ...]  # ordered by start
    serious_categories: tuple[str, ...]
    wsh_marks: tuple[str, ...]
    text_marks: tuple[str, ...]

    def rule_for(self, day: date) -> PeriodRule:
        """The rule in force on ``day``; before the first rule, the first rule."""
        return next((r for r in reversed(self.rules) if r.start <= day), self.rules[0])

    def max_months(self, day: date, severity: str) -> int:
        return self.rule_for(day).months(severity)

    def shortest_months(self) -> int:
        """The shortest publication period any rule gives any severity: no penalty's period ends sooner."""
        return min(r.months(s) for r in self.rules for s in SEVERITIES)

    def months_sql(self, day: str, severity: str) -> str:
        """SQL: the longest period in months for a decision date and a severity ('light'|'general'|'serious')."""
        def by_severity(rule: PeriodRule) -> str:
            whens = " ".join(f"WHEN '{s}' THEN {rule.months(s)}" for s in SEVERITIES)
            return f"(CASE {severity} {whens} END)"
        whens = " ".join(f"WHEN {day} >= {day_literal(r.start)} THEN {by_severity(r)}"
                         for r in reversed(self.rules))
        return f"(CASE {whens} ELSE {by_severity(self.rules[0])} END)"


@lru_cache(maxsize=None)
def load_policy(path: Path = POLICY_FILE) -> Policy:
    """Read the policy file; a malformed one is an error naming the file, never a silent default."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        rules = tuple(sorted(
            (PeriodRule(r["from"], r["source"], {s: int(r[s]["max"]) for s in SEVERITIES if s in r})
             for r in doc["rules"]), key=lambda r: r.start))
        simple = doc["simple_procedure"]
        policy = Policy(rules, tuple(doc["serious_categories"]), tuple(simple["wsh_marks"]),
                        tuple(simple["text_marks"]))
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"公示期限规则文件 {path} 无法读取或格式错误：{exc!r}") from None
    if not rules or any("general" not in r.max_months or not isinstance(r.start, date) for r in rules):
        raise ValueError(f"公示期限规则文件 {path}：每条规则须有日期 from 和 general 期限")
    return policy

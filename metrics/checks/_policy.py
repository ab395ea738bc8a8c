"""Dated publication rules from ``data/policy/publication_periods.toml``, in Python and as SQL.

The period a penalty may stay published depends on the rule in force on its decision date (2017, 2019, 2023,
2026 rules) and on how grave it is (its 处罚情节: ``core.vocab.PENALTY_GRAVITY``, light/general/serious —
not a finding's severity); both are data, so a new rule is a new ``[[rules]]`` entry. The same file says
how a 简易程序 penalty is recognised (the standard has no field for it).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from core.errors import SgsError
from core.settings import POLICY_DIR
from core.vocab import PENALTY_GRAVITY
from metrics.checks._sql import day as day_literal

POLICY_FILE = POLICY_DIR / "publication_periods.toml"


@dataclass(frozen=True)
class PeriodRule:
    start: date
    source: str
    max_months: dict[str, int]  # gravity → longest publication period (a missing gravity: general's)

    def months(self, gravity: str) -> int:
        return self.max_months.get(gravity, self.max_months["general"])


@dataclass(frozen=True)
class Policy:
    rules: tuple[PeriodRule, ...]  # ordered by start
    serious_categories: tuple[str, ...]
    wsh_marks: tuple[str, ...]
    text_marks: tuple[str, ...]

    def rule_for(self, day: date) -> PeriodRule:
        """The rule in force on ``day``; before the first rule, the first rule."""
        return next((r for r in reversed(self.rules) if r.start <= day), self.rules[0])

    def max_months(self, day: date, gravity: str) -> int:
        return self.rule_for(day).months(gravity)

    def shortest_months(self) -> int:
        """The shortest publication period any rule gives any gravity: no penalty's period ends sooner."""
        return min(r.months(s) for r in self.rules for s in PENALTY_GRAVITY)

    def months_sql(self, day: str, gravity: str) -> str:
        """SQL: the longest period in months for a decision date and a gravity ('light'|'general'|'serious')."""
        def by_gravity(rule: PeriodRule) -> str:
            whens = " ".join(f"WHEN '{s}' THEN {rule.months(s)}" for s in PENALTY_GRAVITY)
            return f"(CASE {gravity} {whens} END)"
        whens = " ".join(f"WHEN {day} >= {day_literal(r.start)} THEN {by_gravity(r)}"
                         for r in reversed(self.rules))
        return f"(CASE {whens} ELSE {by_gravity(self.rules[0])} END)"


class PolicyError(SgsError, ValueError):
    """The publication-period policy file is unreadable or wrong; the message names the file (exit 1)."""


@lru_cache(maxsize=None)
def load_policy(path: Path = POLICY_FILE) -> Policy:
    """Read the policy file; a malformed one is an error naming the file, never a silent default."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        rules = tuple(sorted(
            (PeriodRule(r["from"], r["source"], {s: int(r[s]["max"]) for s in PENALTY_GRAVITY if s in r})
             for r in doc["rules"]), key=lambda r: r.start))
        simple = doc["simple_procedure"]
        policy = Policy(rules, tuple(doc["serious_categories"]), tuple(simple["wsh_marks"]),
                        tuple(simple["text_marks"]))
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"公示期限规则文件 {path} 无法读取或格式错误：{exc!r}") from None
    if not rules or any("general" not in r.max_months or not isinstance(r.start, date) for r in rules):
        raise PolicyError(f"公示期限规则文件 {path}：每条规则须有日期 from 和 general 期限")
    return policy

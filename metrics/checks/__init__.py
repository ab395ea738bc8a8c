"""The assessment rules: one module per rule, discovered at run time, each contributing one SQL SELECT.

Adding a rule is adding a file ``metrics/checks/<rule_id>.py`` that defines

* ``RULE = Rule(id=…, name=…, indicator=…, clause=…, severity=…)`` — what the rule is and which policy clause
  or standard it enforces (shown to assessors and departments, so the names are Chinese);
* ``findings_sql(ctx: Context) -> str | None`` — for problems of one record: a SELECT producing
  ``(record_key, field, value, message)`` over ``ctx.source``, the period's assessed site records of one kind
  (``None`` when the rule does not apply to that kind);
* optionally ``prepare(con, ctx) -> None`` — set-up the SELECT needs (e.g. the working-day table);
* optionally ``department_sql(ctx: Context) -> str | None`` — for problems of a department rather than of
  one record (column unreachable, catalogue not published, ledger decision never published): a SELECT
  producing ``(dept_id, field, value, message, url, fetch_id)`` for the period ``ctx.period``. A rule
  defines either builder or both (a department-level rule has no ``findings_sql``).
* optionally ``unverified_sql(ctx) -> str | None`` and ``unverified_department_sql(ctx) -> str | None`` — what
  the evidence could not decide (未能核验: neither a pass nor a finding, never deducted): ``(record_key,
  reason)`` over the assessed records, and ``(dept_id, reason, url, fetch_id)`` for a department. A record
  finding may also carry a ``ref_fetch_id`` column: a second archived response it cites.
* optionally ``record_tests(ctx) -> list[Test]`` — a rule made of per-field tests of one record gives them
  as data (``metrics.checks._fold``; its ``findings_sql`` is then their union), and scoring folds every
  rule's tests into one scan of the records.

Rules are pure SQL and set-based: the scorer (``metrics.scoring``) runs them together in DuckDB, never a
Python loop per record. Shared SQL building blocks live in ``metrics.checks._sql`` (the availability rules'
one builder in ``metrics.checks._availability``); modules whose name starts with ``_`` are not rules. The words
(indicators, severities) are ``core.vocab``'s. CONTRIBUTING.md lists every file a new rule touches.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from core import standard
from core.periods import Period
from core.vocab import INDICATORS, SEVERITIES  # noqa: F401 (still importable from here: metrics.checks.INDICATORS)
from core.workdays import Calendar, default_calendar

if TYPE_CHECKING:
    from metrics.checks._fold import Test

# What a rule may need beyond the record itself. `sgs validate` (a department's file before publication)
# runs only the rules that need nothing else.
NEEDS = {"publication": "公示页面（公示日期、展示内容）", "portal": "信用网站数据", "catalogue": "事项目录", "ledger": "办件台账",
         "crawl": "采集记录", "stored": "已入库的其他记录", "registry": "部门登记信息"}


@dataclass(frozen=True)
class Rule:
    """What a rule is, independent of how it is computed: the contract with ground truth and the dashboard."""

    id: str
    name: str  # 中文名, as assessors call the problem
    indicator: str  # timeliness | completeness | accuracy | compliance
    clause: str  # the policy clause or standard the rule enforces
    severity: str  # high | medium | low
    needs: tuple[str, ...] = ()  # data beyond the record itself (NEEDS); () = checkable before publication

    def __post_init__(self) -> None:
        if unknown := set(self.needs) - set(NEEDS):
            raise ValueError(f"规则 {self.id}：未知依赖 {sorted(unknown)}（应为 {', '.join(NEEDS)} 之中）")
        if self.indicator not in INDICATORS:
            raise ValueError(f"规则 {self.id}：未知指标 {self.indicator!r}（应为 {', '.join(INDICATORS)} 之一）")
        if self.severity not in SEVERITIES:
            raise ValueError(f"规则 {self.id}：未知严重程度 {self.severity!r}（应为 {', '.join(SEVERITIES)} 之一）")


@dataclass(frozen=True)
class Context:
    """Everything a rule's SQL may depend on besides the data: kind, source relation, as-of date, scheme values.

    ``source`` holds the record table's columns (every standard code as VARCHAR, ``FBRQ``, ``record_key``,
    ``dept_id``, ``first_seen``, ``detail_status`` — NULL unless the detail page was not read, …) plus helper
    columns: ``_jdrq`` and ``_fbrq`` (decision and stated publication dates as DATE, NULL when not a date),
    ``_stated`` (the stated date when credible: not after the first-seen day) and ``_seen`` (the first-seen
    day) — the evidence timeliness is judged by.
    """

    kind: str  # xk | cf
    source: str  # relation of assessed site records (see metrics.scoring.stage_assessed)
    as_of: date  # decisions dated after this are in the future
    max_workdays: int = 7  # publication deadline in working days (from the scheme)
    calendar: Calendar = field(default_factory=default_calendar)  # official working days
    period: Period | None = None  # the period being scored (department-level rules need its dates)
    rule_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # scheme [rules.<id>] tables
    # temp tables already made in this run for this kind, shared by several rules' prepare (metrics.checks._sql)
    prepared: set[str] = field(default_factory=set, compare=False, repr=False)

    def param(self, rule_id: str, key: str, default: Any) -> Any:
        """A rule parameter from the scheme's ``[rules.<rule_id>]`` table, or the rule's documented default."""
        return self.rule_params.get(rule_id, {}).get(key, default)

    @cached_property
    def std(self) -> standard.Standard:
        return standard.load(self.kind)

    @property
    def records_table(self) -> str:
        """All stored records of the kind, both channels (portal records live only here)."""
        return f"{self.kind}_records"

    def get(self, code: str) -> standard.Field | None:
        """The registry field with this code, or None when the kind's standard has no such field."""
        try:
            return self.std.get(code)
        except KeyError:
            return None


@dataclass(frozen=True)
class Check:
    """A discovered rule module: its metadata and its SQL builder (plus optional set-up)."""

    rule: Rule
    findings_sql: Callable[[Context], str | None] | None = None  # None: a department-level rule
    prepare: Callable[[duckdb.DuckDBPyConnection, Context], None] | None = None
    department_sql: Callable[[Context], str | None] | None = None
    unverified_sql: Callable[[Context], str | None] | None = None
    unverified_department_sql: Callable[[Context], str | None] | None = None
    # the rule's per-field tests (metrics.checks._fold), folded by scoring into one scan of the records
    # when ``findings_sql`` is also set; a wrapper replacing findings_sql builds a Check without them
    record_tests: Callable[[Context], list[Test]] | None = None


@lru_cache(maxsize=None)
def all_checks() -> tuple[Check, ...]:
    """Every rule module in this package, ordered by id; a malformed module is an error, not skipped."""
    return tuple(_load(name) for name in rule_ids())


def rule_ids() -> list[str]:
    """Every rule's id — its module's name (``_load`` holds them equal) — without importing the modules."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


_NAMES_A_NEED = re.compile(r"""\bneeds\s*=\s*\(\s*["']""")


@lru_cache(maxsize=None)
def record_checks() -> tuple[Check, ...]:
    """The rules needing nothing beyond the record (``needs == ()``, what ``sgs validate`` runs), ordered by id.

    Why not filter ``all_checks()``: some rule modules load the correction store, pandas or pyarrow, a third
    of a second of a clerk's command. A module whose source names a need (``needs=("crawl", …)``) is skipped
    unread; every other one is loaded and judged by its RULE (tests/test_validate_startup.py: the same set)."""
    found = []
    for name in rule_ids():
        if not _NAMES_A_NEED.search((Path(__path__[0]) / f"{name}.py").read_text("utf-8")):
            check = _load(name)
            if not check.rule.needs:
                found.append(check)
    return tuple(found)


@lru_cache(maxsize=None)
def _load(name: str) -> Check:
    """One rule module as a Check; TypeError/ValueError when it is malformed."""
    module = importlib.import_module(f"{__name__}.{name}")
    rule = getattr(module, "RULE", None)
    builders = [getattr(module, b, None) for b in (
        "findings_sql", "prepare", "department_sql", "unverified_sql", "unverified_department_sql",
        "record_tests")]
    if not isinstance(rule, Rule) or not (callable(builders[0]) or callable(builders[2])):
        raise TypeError(f"规则模块 {module.__name__} 须定义 RULE = Rule(...)，以及 findings_sql(ctx) 或 "
                        "department_sql(ctx)（或两者）")
    if rule.id != name:
        raise ValueError(f"规则模块 {module.__name__} 的 RULE.id 为 {rule.id!r}，应与文件名一致")
    return Check(rule, *builders)


def all_rules() -> list[Rule]:
    """The metadata of every rule, ordered by id."""
    return [c.rule for c in all_checks()]


def rules_catalogue() -> list[dict[str, Any]]:
    """Every rule as a plain dict (id, name, indicator, clause, severity), for docs and the dashboard."""
    return [{k: getattr(r, k) for k in ("id", "name", "indicator", "clause", "severity")} for r in all_rules()]

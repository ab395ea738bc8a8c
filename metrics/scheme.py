"""The scoring scheme: one TOML file per assessment year (``data/schemes/<year>.toml``), documented in
docs/scoring.md.

A scheme is data, so an assessor changes weights, points, caps and grade lines without touching code. It is
validated completely on load — every indicator weighted, weights adding up to 100, every ``[rules.<id>]``
naming a rule that exists — so a typo stops the run with the file and key named instead of scoring wrongly.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.vocab import INDICATORS, SEVERITIES, STANDINGS  # noqa: F401 (metrics.scheme.STANDINGS: still importable)
from metrics.checks import Rule, rule_ids
from metrics.checks._sql import lit
from core.periods import Period
from core.settings import SCHEMES_DIR
from core.errors import SgsError

HOWS = {"rate": "按比例", "fixed": "按条"}
DEDUCTION_KEYS = ("how", "points", "dept_points", "cap")  # the rest of a [rules.<id>] table goes to the rule
DEFAULT_OFFICE = "社会信用体系建设工作领导小组办公室"  # [report] defaults (docs/reports.md)
DEFAULT_REMEDIATION_WORKDAYS = 15
DEFAULT_MAX_UNVERIFIED_SHARE = 0.5  # [ranking] default (docs/scoring.md)
# [objections] defaults (docs/corrections.md): working days for a department's written answer to a subject's
# objection, for carrying out its outcome (修改/撤下) and for taking down a repaired penalty; the credit office
OBJECTION_KEYS = {"answer_workdays": 5, "apply_workdays": 7, "repair_withdraw_workdays": 7, "credit_office": ""}
# which rule reads which [objections] key as its parameter (ctx.param)
OBJECTION_PARAMS = {"objection_outcome_not_applied": ("apply_workdays", "grace_workdays"),
                    "repair_still_shown": ("repair_withdraw_workdays", "grace_workdays"),
                    "repair_grant_invalid": ("credit_office", "credit_office")}


class SchemeError(SgsError, ValueError):
    """The scoring scheme file is missing, unreadable or wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Deduction:
    """How one rule takes points from a department (see docs/scoring.md)."""

    how: str  # rate: points × share of assessed records with the finding | fixed: points per such record
    points: float
    dept_points: float  # per department-level finding (record_key NULL)
    cap: float  # the most the rule can take


@dataclass(frozen=True)
class Scheme:
    version: str
    path: Path
    max_workdays: int
    weights: dict[str, float]  # indicator → weight; they add up to 100
    names: dict[str, str]  # indicator → 中文名
    grades: tuple[tuple[str, float], ...]  # (grade, lowest total), highest line first
    defaults: dict[str, Deduction]  # severity → deduction for rules the scheme does not list
    rules: dict[str, Deduction] = field(default_factory=dict)  # rule id → deduction
    rule_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id → parameters for the rule
    office: str = DEFAULT_OFFICE  # [report] office: who issues the report and the notices
    remediation_workdays: int = DEFAULT_REMEDIATION_WORKDAYS  # [report] remediation_workdays: 整改期限, working days after the report date
    rank_without_records: bool = False  # [ranking]: a department with nothing to assess is listed, not ranked
    max_unverified_share: float = DEFAULT_MAX_UNVERIFIED_SHARE  # [ranking]: above it, 证据不足 instead of a rank
    objections: dict[str, Any] = field(default_factory=lambda: dict(OBJECTION_KEYS))  # [objections]

    @property
    def objection_answer_workdays(self) -> int:
        """[objections] answer_workdays: a subject's objection is answered in writing within these working days."""
        return int(self.objections["answer_workdays"])

    def deduction(self, rule: Rule) -> Deduction:
        """The rule's own entry, or its severity's default."""
        return self.rules.get(rule.id) or self.defaults[rule.severity]

    def grade_sql(self, expr: str) -> str:
        """SQL CASE giving the grade of a total; below every line → the lowest grade."""
        whens = " ".join(f"WHEN {expr} >= {low} THEN {lit(name)}" for name, low in self.grades)
        return f"CASE {whens} ELSE {lit(self.grades[-1][0])} END"


def scheme_path(period: Period) -> Path:
    """The scheme file of the period's assessment year; a SchemeError naming the file to add when none."""
    path = SCHEMES_DIR / f"{period.start.year}.toml"
    if not path.exists():
        have = ", ".join(sorted(p.name for p in SCHEMES_DIR.glob("*.toml"))) or "无"
        raise SchemeError(
            f"评估期间 {period.label} 属于 {period.start.year} 年度，但没有该年度的评分方案：请添加 {path}"
            f"（可复制已有方案 {have} 后修改 version 和 year），或用 --scheme 指定方案文件。")
    return path


def latest_scheme_path() -> Path:
    """The newest year's scheme (what pages use for grade names when no period is at hand)."""
    years = sorted(p for p in SCHEMES_DIR.glob("*.toml") if p.stem.isdigit())
    if not years:
        raise SchemeError(f"{SCHEMES_DIR} 中没有评分方案文件（<年>.toml）")
    return years[-1]


def _get(doc: dict[str, Any], path: Path, key: str, kinds: type | tuple[type, ...]) -> Any:
    """The value at a dotted key, or a SchemeError naming the file and the key."""
    value = doc
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise SchemeError(f"评分方案文件 {path} 缺少 {key}")
        value = value[part]
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise SchemeError(f"评分方案文件 {path} 中 {key} 的值 {value!r} 类型不对")
    return value


def _deduction(doc: dict[str, Any], path: Path, key: str) -> Deduction:
    how = _get(doc, path, f"{key}.how", str)
    if how not in HOWS:
        raise SchemeError(f"评分方案文件 {path} 中 {key}.how 为 {how!r}，应为 {' 或 '.join(HOWS)}")
    numbers = {k: float(_get(doc, path, f"{key}.{k}", (int, float))) for k in DEDUCTION_KEYS[1:]}
    if any(v < 0 for v in numbers.values()):
        raise SchemeError(f"评分方案文件 {path} 中 {key} 的分值不能为负")
    return Deduction(how, **numbers)


def _ranking(doc: dict[str, Any], path: Path) -> tuple[bool, float]:
    """The ``[ranking]`` table: who is ranked (docs/scoring.md); absent keys take the defaults."""
    table = _get(doc, path, "ranking", dict) if "ranking" in doc else {}
    if unknown := sorted(set(table) - {"rank_without_records", "max_unverified_share"}):
        raise SchemeError(f"评分方案文件 {path} 中 ranking.{unknown[0]} 不是已知的键"
                          "（应为 rank_without_records 或 max_unverified_share）")
    rank_empty = table.get("rank_without_records", False)
    if not isinstance(rank_empty, bool):
        raise SchemeError(f"评分方案文件 {path} 中 ranking.rank_without_records 应为 true 或 false")
    share = (_get(doc, path, "ranking.max_unverified_share", (int, float)) if "max_unverified_share" in table
             else DEFAULT_MAX_UNVERIFIED_SHARE)
    if not 0 <= share <= 1:
        raise SchemeError(f"评分方案文件 {path} 中 ranking.max_unverified_share 应在 0 到 1 之间（如 0.5）")
    return rank_empty, float(share)


def _objections(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """The ``[objections]`` table (docs/corrections.md); absent keys take ``OBJECTION_KEYS``' defaults."""
    table = _get(doc, path, "objections", dict) if "objections" in doc else {}
    if unknown := sorted(set(table) - set(OBJECTION_KEYS)):
        raise SchemeError(f"评分方案文件 {path} 中 objections.{unknown[0]} 不是已知的键（应为 {'、'.join(OBJECTION_KEYS)} 之一）")
    out = dict(OBJECTION_KEYS)
    for key, default in OBJECTION_KEYS.items():
        if key not in table:
            continue
        value = out[key] = _get(doc, path, f"objections.{key}", type(default))
        if isinstance(value, int) and value < 1:
            raise SchemeError(f"评分方案文件 {path} 中 objections.{key} 应为正整数（工作日数）")
    return out


def load_scheme(path: str | Path | None = None) -> Scheme:
    """Read and validate a scheme file (default: the newest year's)."""
    path = Path(path) if path is not None else latest_scheme_path()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemeError(f"评分方案文件 {path} 不存在") from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError(f"评分方案文件 {path} 不是有效的 TOML：{exc}") from None
    extra = set(doc.get("indicators", {})) - set(INDICATORS)
    if extra:
        raise SchemeError(f"评分方案文件 {path} 中 indicators.{sorted(extra)[0]} 不是已知指标（{', '.join(INDICATORS)}）")
    weights = {i: float(_get(doc, path, f"indicators.{i}.weight", (int, float))) for i in INDICATORS}
    if any(w < 0 for w in weights.values()) or round(sum(weights.values()), 6) != 100:
        raise SchemeError(f"评分方案文件 {path} 中 indicators.*.weight 须非负且合计为 100（现为 {sum(weights.values()):g}）")
    lines = _get(doc, path, "grades", dict)
    grades = tuple(sorted(((g, float(_get(doc, path, f"grades.{g}", (int, float)))) for g in lines),
                          key=lambda gl: -gl[1]))
    if not grades:
        raise SchemeError(f"评分方案文件 {path} 中 grades 为空")
    year = doc.get("year")
    if path.stem.isdigit() and year is not None and year != int(path.stem):
        raise SchemeError(f"评分方案文件 {path} 中 year = {year!r}，与文件名的年度 {path.stem} 不一致")
    known = set(rule_ids())  # the ids, without importing every rule module
    tables = _get(doc, path, "rules", dict) if "rules" in doc else {}
    if unknown := sorted(set(tables) - known):
        raise SchemeError(f"评分方案文件 {path} 中 rules.{unknown[0]} 不是已有规则（metrics/checks/ 中没有 {unknown[0]}.py）")
    report = _get(doc, path, "report", dict) if "report" in doc else {}
    workdays = (_get(doc, path, "report.remediation_workdays", int) if "remediation_workdays" in report
                else DEFAULT_REMEDIATION_WORKDAYS)
    if workdays < 1:
        raise SchemeError(f"评分方案文件 {path} 中 report.remediation_workdays 应为正整数（工作日数）")
    rank_without_records, max_unverified_share = _ranking(doc, path)
    objections = _objections(doc, path)
    rule_params = {r: {k: v for k, v in t.items() if k not in DEDUCTION_KEYS} for r, t in tables.items()}
    for rule_id, (key, param) in OBJECTION_PARAMS.items():
        rule_params.setdefault(rule_id, {}).setdefault(param, objections[key])
    return Scheme(
        objections=objections,
        rank_without_records=rank_without_records,
        max_unverified_share=max_unverified_share,
        office=_get(doc, path, "report.office", str) if "office" in report else DEFAULT_OFFICE,
        remediation_workdays=workdays,
        version=_get(doc, path, "version", str),
        path=path,
        max_workdays=_get(doc, path, "timeliness.max_workdays", int),
        weights=weights,
        names={i: _get(doc, path, f"indicators.{i}.name", str) for i in INDICATORS},
        grades=grades,
        defaults={s: _deduction(doc, path, f"defaults.{s}") for s in SEVERITIES},
        rules={r: _deduction(doc, path, f"rules.{r}") for r, t in tables.items()
               if any(k in t for k in DEDUCTION_KEYS)},
        rule_params=rule_params,
    )

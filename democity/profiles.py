"""Behaviour profiles: how a demo department publishes, and which defects it tends to make.

A profile is a handful of rates, so the ground truth follows from the seed alone. ``noise`` adds the few
random slips any real department makes (a late record, an unpushed one, a stray field error) to a
department that is otherwise of its profile; it never applies to ``messy_formats`` departments, whose
point is that formatting variety alone must produce no finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.vocab import AVAILABILITY_RULES as _PROBLEM_RULES

# The engine's rule ids (a contract with metrics/checks): field-level defects a record may carry.
FIELD_RULES = (
    "required_missing",
    "conditional_missing",
    "credit_code_invalid",
    "credit_code_placeholder",
    "id_number_invalid",
    "enum_invalid",
    "date_order",
    "date_invalid",
    "fine_implausible",
    "wsh_format",
    "agency_code_mismatch",
    "unmasked_personal",
)
# Record-level rules, independent of field defects.
LATE_RULE = "late_publication"
PORTAL_RULE = "portal_missing"
# Record-level rules that follow from a department's quirks (democity.model.QUIRKS) and the city's data.
TRAIT_RULES = ("portal_late", "catalogue_unmatched", "duplicate_record", "portal_inconsistent")
# Department-level rules (findings without a record: the department, its column, its ledger, the portal).
DEPARTMENT_RULES = ("catalogue_missing", "column_not_set", "column_stale", "ledger_unpublished",
                    "overdue_publication", "portal_forbidden", "revoked_online", "unmasked_personal")
ALL_RULES = tuple(dict.fromkeys((*FIELD_RULES, LATE_RULE, PORTAL_RULE, *TRAIT_RULES, *DEPARTMENT_RULES)))
# Rules the demo's ground truth does not carry here: the crawler's availability events (the lead wires
# their ground truth from democity/config.py's ``availability`` key).
AVAILABILITY_RULES = tuple(_PROBLEM_RULES.values())


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    late_rate: float = 0.0  # share of records published after the 7th working day
    defect_rate: float = 0.0  # share of records with one field defect
    defect_rules: dict[str, int] = field(default_factory=dict)  # rule id → weight
    unpushed_rate: float = 0.0  # share of records never pushed to the portal
    messy: bool = False  # dates, codes, amounts and labels printed in varied (valid) forms


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("diligent", "按时发布，字段完整规范"),
        Profile("often_late", "大量记录超过 7 个工作日才发布", late_rate=0.55),
        Profile("sloppy_fields", "必填、条件必填字段缺失，枚举值不规范", defect_rate=0.35,
                defect_rules={"required_missing": 3, "conditional_missing": 3, "enum_invalid": 2, "date_order": 2,
                              "date_invalid": 1, "fine_implausible": 2, "wsh_format": 2}),
        Profile("invalid_codes", "信用代码校验位错误、占位代码、身份证号未脱敏且无效", defect_rate=0.35,
                defect_rules={"credit_code_invalid": 3, "credit_code_placeholder": 1, "id_number_invalid": 6,
                              "agency_code_mismatch": 2, "unmasked_personal": 3}),
        Profile("never_pushes", "从不向信用网站推送", unpushed_rate=1.0),
        Profile("neglected", "无专人负责：多数超期发布，近半未推送，字段差错多（常见于县区）", late_rate=0.75,
                defect_rate=0.3, defect_rules={rule: 1 for rule in FIELD_RULES}, unpushed_rate=0.4),
        Profile("messy_formats", "日期、全角代码、以元计的罚款、同义标签：只是格式，不是错误", messy=True),
    )
}

NOISE = Profile("noise", "少量随机差错", late_rate=0.06, defect_rate=0.04,
                defect_rules={rule: 1 for rule in FIELD_RULES}, unpushed_rate=0.04)


def behaviour(profile: str, noisy: bool) -> Profile:
    """The rates a department actually follows: its profile, with the noise slips added when ``noisy``."""
    base = PROFILES[profile]
    if not noisy or base.messy:
        return base
    return replace(
        base,
        late_rate=max(base.late_rate, NOISE.late_rate),
        unpushed_rate=max(base.unpushed_rate, NOISE.unpushed_rate),
        defect_rate=base.defect_rate or NOISE.defect_rate,
        defect_rules=base.defect_rules or NOISE.defect_rules,
    )

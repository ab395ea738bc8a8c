"""The demo city's data model: its constants, departments, records, defects and the city itself (``DemoCity``,
whose ``manifest`` is the ground truth). ``democity.generate`` builds one from a seed."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from core.cityconfig import CatalogueItem
from core.periods import parse_period
from democity.profiles import LATE_RULE, PORTAL_RULE, Profile, behaviour

# Department quirks beyond the profile rates: each puts one department-level or cross-record rule into the
# ground truth (none touches a clean department: diligent or messy_formats and not noisy).
QUIRKS: dict[str, dict] = {
    "sj-jt": {"catalogue_gap": True},  # its published catalogue lacks an item it decides on
    "dc-cg": {"unpublished_catalogue": ("cf",)},  # a penalty column, no penalty catalogue
    "sj-zr": {"powers_without_column": ("cf",)},  # penalty powers catalogued, no penalty column
    "xs-ny": {"stale_after": date(2026, 8, 14), "ledger": ("cf",)},  # column stopped; ledger shows decisions
    "sj-scjg": {"ledger": ("cf",), "simple_rate": 0.25, "revoked": 2, "push_simple": 1},
    "sj-yj": {"push_persons": 2},  # natural persons' penalties pushed to the portal
    "xs-scjg": {"duplicates": 2},  # republished decisions with the subject spelled otherwise
    "nh-zj": {"inconsistent": 3},  # validity changed on the site, never pushed
    "sj-zj": {"portal_late_rate": 0.3, "old_records": 4},  # pushes late; old penalties still online
    "xs-yj": {"ledger": ("xk",), "unpublished": 3, "old_records": 3},
    "sj-wj": {"quiet": ("2026Q2",)},  # no decision at all in 2026Q2: listed as 本期无公示记录, not ranked
}
OLD_YEARS = (2019, 2025)  # old decisions (still online) are dated in these years

CITY_NAME = "示范市"
YEAR = 2026
QUARTERS = tuple(parse_period(q) for q in ("2026Q2", "2026Q3"))  # the decisions span these
LAST_PUBLICATION = date(2026, 11, 10)  # no FBRQ or portal date after this: before any realistic test run
ON_TIME_WORKDAYS = 7
LATE_WORKDAYS = (8, 25)
PAGE_SIZE = 10
DIVISIONS = {"市本级": "990100", "东城区": "990102", "西山县": "990121", "南湖县": "990122"}  # fictional
BOTH = ("xk", "cf")
ORG, SHOP, PERSON = "法人及非法人组织", "个体工商户", "自然人"


@dataclass(frozen=True)
class DemoDepartment:
    id: str
    name: str
    county: str
    division: str
    domain: str
    abbr: str
    profile: str
    noisy: bool
    paging: str  # "query" | "next_link"
    kinds: tuple[str, ...]
    credit_code: str
    liaison: str
    liaison_phone: str
    catalogue: tuple[CatalogueItem, ...]  # the 事项目录 as published (city.toml)
    labels: dict[str, dict[str, str]]  # kind → code → the label its detail pages print
    powers: tuple[CatalogueItem, ...] = ()  # every item it decides on (records draw from these)

    @property
    def quirks(self) -> dict:
        return QUIRKS.get(self.id, {})

    @property
    def behaviour(self) -> Profile:
        return behaviour(self.profile, self.noisy)


@dataclass(frozen=True)
class Defect:
    rule_id: str
    field: str


@dataclass(frozen=True)
class DepartmentDefect:
    """A finding without a record key: the department, its column, its ledger, or a portal record."""

    dept_id: str
    kind: str
    rule_id: str
    field: str
    value: str | None  # the finding's value (a 文书号, a date, a masked text) or None
    period: str


@dataclass(frozen=True)
class Fix:
    """A department's correction of one record on its own site, shown from ``day`` on: ``site`` replaces
    those printed fields (``democity.staged.fix_for``). The ground truth (``manifest``) describes the city
    before any fix; a test that applies fixes expects their records' defects gone from its next crawl."""

    record_id: str
    day: date
    site: dict[str, str]
    removed: bool = False  # taken down instead: the site no longer lists it

    def apply(self, records: dict[str, DemoRecord]) -> None:
        """Correct (or take down) the record among those a site shows (``Site.set_as_of``)."""
        record = records.pop(self.record_id, None)
        if record is not None and not self.removed:
            records[self.record_id] = replace(record, site={**record.site, **self.site})


@dataclass(frozen=True)
class DemoRecord:
    id: str
    dept_id: str
    kind: str
    values: dict[str, str]  # normalised truth as published; a missing field is absent
    site: dict[str, str]  # as the site prints it; absent = no row, "" = empty cell
    jdrq: date
    fbrq: date
    fbrq_text: str  # FBRQ as the site prints it
    gsrq: date  # portal publication date (meaningful only when on_portal)
    late: bool
    on_portal: bool
    field_defect: Defect | None
    simple: bool = False  # a 简易程序 penalty (文书号 marked 简罚)
    revoked_on: date | None = None  # revoked (the ledger says so), still online
    portal_overrides: dict[str, str] = field(default_factory=dict)  # values the portal still shows (not pushed)
    duplicate_of: str | None = None  # id of the record this one republishes
    extra: tuple[Defect, ...] = ()  # record-level defects that follow from the city (see democity.truth)

    @property
    def portal_values(self) -> dict[str, str]:
        """The portal's copy of the values (the site's, unless a change was never pushed)."""
        return {**self.values, **self.portal_overrides}

    @property
    def wsh(self) -> str:
        return self.values[f"{self.kind.upper()}_WSH"]

    @property
    def xdr_mc(self) -> str:
        return self.values[f"{self.kind.upper()}_XDR_MC"]

    @property
    def period(self) -> str:
        return period_of(self.jdrq)

    @property
    def portal_exempt(self) -> bool:
        """Penalties on natural persons and 简易程序 penalties stay off the credit portal (长治（三））."""
        return self.kind == "cf" and (self.values.get("CF_XDR_LB") == "自然人" or self.simple)

    @property
    def current(self) -> bool:
        """Decided in the quarters the demo assesses (old decisions are only still online)."""
        return self.period in {q.label for q in QUARTERS}

    def defects(self) -> list[Defect]:
        """Every record-level finding the engine should make on this record's site publication."""
        out = [self.field_defect] if self.field_defect else []
        if self.field_defect and self.field_defect.rule_id == "id_number_invalid":
            out.append(Defect("unmasked_personal", self.field_defect.field))  # shown in full, and wrong
        if self.late:
            out.append(Defect(LATE_RULE, "FBRQ"))
        if not self.on_portal and not self.portal_exempt:
            out.append(Defect(PORTAL_RULE, f"{self.kind.upper()}_WSH"))
        return out + list(self.extra)


@dataclass(frozen=True)
class DemoCity:
    seed: int
    name: str
    departments: tuple[DemoDepartment, ...]
    records: tuple[DemoRecord, ...]  # everything on the department sites (old decisions included)
    unpublished: tuple[DemoRecord, ...] = ()  # decisions only a ledger shows
    ledgers: tuple[tuple[str, str], ...] = ()  # (dept_id, kind) with a ledger file
    department_defects: tuple[DepartmentDefect, ...] = ()

    def department(self, dept_id: str) -> DemoDepartment:
        return next(d for d in self.departments if d.id == dept_id)

    def manifest(self) -> dict:
        """The ground truth tests compare the pipeline with (``ground_truth.json``).

        ``defects`` lists every finding the engine should make in the assessed quarters: record-level ones
        (``level`` "record", identified by ``wsh``) and department-level ones (``level`` "department",
        ``wsh`` null, identified by the finding's ``value``). Each department entry carries, per quarter, its
        record count and its defects counted by rule.
        """
        return {
            "seed": self.seed,
            "city": self.name,
            "departments": [{"id": d.id, "name": d.name, "county": d.county, "profile": d.profile,
                             "credit_code": d.credit_code, "periods": self._department_totals(d.id)}
                            for d in self.departments],
            "records": [{"dept_id": r.dept_id, "kind": r.kind, "wsh": r.wsh, "xdr_mc": r.xdr_mc,
                         "jdrq": r.jdrq.isoformat(), "fbrq": r.fbrq.isoformat(), "period": r.period,
                         "on_portal": r.on_portal, "portal_exempt": r.portal_exempt, "late": r.late}
                        for r in self.records],
            "ledgers": [{"dept_id": d, "kind": k} for d, k in self.ledgers],
            "defects": self.defect_list(),
            "unverified": self.unverified_list(),
        }

    def unverified_list(self) -> list[dict]:
        """Every record whose timeliness the evidence cannot decide (未能核验), per rule: democity.truth."""
        from democity.truth import unverified_list

        return unverified_list(self)

    def defect_list(self) -> list[dict]:
        """Every expected finding of the assessed quarters, record-level first."""
        out = [{"dept_id": r.dept_id, "kind": r.kind, "wsh": r.wsh, "xdr_mc": r.xdr_mc, "rule_id": d.rule_id,
                "field": d.field, "period": r.period, "level": "record", "value": None}
               for r in self.records if r.current for d in r.defects()]
        out += [{"dept_id": d.dept_id, "kind": d.kind, "wsh": None, "xdr_mc": None, "rule_id": d.rule_id,
                 "field": d.field,
                 "period": d.period, "level": "department", "value": d.value} for d in self.department_defects]
        return out

    def _department_totals(self, dept_id: str) -> dict[str, dict]:
        """{period: {"records": n, "defects": {rule_id: n}}} for one department (assessed quarters)."""
        out: dict[str, dict] = {q.label: {"records": 0, "defects": {}} for q in QUARTERS}
        for r in self.records:
            if r.dept_id == dept_id and r.current:
                out[r.period]["records"] += 1
        for d in self.defect_list():
            if d["dept_id"] == dept_id:
                counts = out[d["period"]]["defects"]
                counts[d["rule_id"]] = counts.get(d["rule_id"], 0) + 1
        return {p: v for p, v in out.items() if v["records"] or v["defects"]}


def period_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"

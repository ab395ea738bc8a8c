"""The seeded demo city 示范市: departments, their records, the defects injected into them, the ground truth.

Everything follows from ``random.Random(seed)`` in a fixed order (never the global generator, never the
clock), so one seed is one city, byte for byte, and a test can compare the whole pipeline with the manifest.

A record is kept twice: ``values`` is the truth as published in normalised form (ISO dates, 万元, half-width
codes; a missing field is absent), and ``site`` is the text the department's page prints (the same values,
in a ``messy_formats`` department's varied spellings; a missing field is absent or ``""``, an empty cell).
At most one field defect per record, so defects never mask each other; lateness and portal pushing are
drawn independently of it. Department quirks (``QUIRKS``: a stale column, ledgers, revoked penalties,
republished decisions, unpushed changes, old penalties still online, catalogue gaps) are applied by
``democity.quirks``, and what follows from the whole city (department-level findings, portal lateness,
duplicates, records outside the catalogue) is computed by ``democity.truth``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from core import standard
from core.codes import USCC_PLACEHOLDER
from core.periods import parse_period
from core.privacy import mask_whole
from core.standard import normalise_label, synonym_map
from democity import workdays as cal  # the city's own working days, not the rules'
from core.cityconfig import CatalogueItem

from democity import codes
from democity.domains import BRANDS, DOMAINS, GIVEN_CHARS, PERSON_CATEGORIES, SURNAMES, Domain, LicenceItem, PenaltyItem
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

# id, name, county, domain, 文号 abbreviation, profile, noisy, paging style, kinds handled
_DEPARTMENTS = (
    ("sj-hb", "示范市生态环境局", "市本级", "env", "示环", "diligent", False, "query", BOTH),
    ("sj-scjg", "示范市市场监督管理局", "市本级", "market", "示市监", "often_late", True, "next_link", BOTH),
    ("sj-jt", "示范市交通运输局", "市本级", "transport", "示交", "diligent", True, "query", BOTH),
    ("sj-zj", "示范市住房和城乡建设局", "市本级", "housing", "示建", "sloppy_fields", False, "next_link", BOTH),
    ("sj-wj", "示范市卫生健康委员会", "市本级", "health", "示卫", "diligent", False, "next_link", BOTH),
    ("sj-yj", "示范市应急管理局", "市本级", "safety", "示应急", "invalid_codes", False, "query", BOTH),
    ("sj-wl", "示范市文化广电和旅游局", "市本级", "culture", "示文旅", "messy_formats", False, "next_link", BOTH),
    ("sj-zr", "示范市自然资源和规划局", "市本级", "land", "示自然资源", "diligent", True, "query", ("xk",)),
    ("dc-scjg", "东城区市场监督管理局", "东城区", "market", "东市监", "messy_formats", False, "query", BOTH),
    ("dc-cg", "东城区城市管理局", "东城区", "urban", "东城管", "invalid_codes", False, "next_link", ("cf",)),
    ("dc-wj", "东城区卫生健康局", "东城区", "health", "东卫", "diligent", False, "query", BOTH),
    ("xs-scjg", "西山县市场监督管理局", "西山县", "market", "西市监", "never_pushes", False, "next_link", BOTH),
    ("xs-ny", "西山县农业农村局", "西山县", "agri", "西农", "diligent", True, "query", BOTH),
    ("xs-yj", "西山县应急管理局", "西山县", "safety", "西应急", "neglected", False, "next_link", BOTH),
    ("nh-jt", "南湖县交通运输局", "南湖县", "transport", "南交", "sloppy_fields", False, "query", BOTH),
    ("nh-zj", "南湖县住房和城乡建设局", "南湖县", "housing", "南建", "diligent", True, "next_link", BOTH),
)

# Invalid enumeration values a sloppy department types (each checked invalid at import time below).
BAD_ENUMS = {
    "CFLB": ("罚没", "罚款、责令改正", "经济处罚"),  # 责令改正 is an order, not a penalty category
    "XKLB": ("一般", "行政许可", "其他"),
    "XK_ZT": ("正常", "在用"),
    "XDR_LB": ("企业法人", "企业", "单位"),
}
# Labels a messy department always prints in a synonym (the rest it varies at random).
_FORCED_SYNONYMS = {"cf": {"CF_XDR_MC": "当事人", "CF_JDRQ": "决定日期", "CF_CFLB": "处罚种类"},
                    "xk": {"XK_XDR_MC": "申请人", "XK_JDRQ": "决定日期"}}
_REQUIRED_DROPPABLE = {
    "cf": ("CF_WFXW", "CF_SY", "CF_YJ", "CF_NR", "CF_YXQ", "CF_CFJG", "CF_SJLY"),
    "xk": ("XK_XKWS", "XK_NR", "XK_YXQZ", "XK_YXQZI", "XK_XKJG", "XK_XKLB", "XK_ZT", "XK_LYDW"),
}
ORG, SHOP, PERSON = "法人及非法人组织", "个体工商户", "自然人"
_FINES_YUAN = {PERSON: (200, 500, 1000, 2000), SHOP: (500, 1000, 2000, 5000, 10000, 20000),
               ORG: (2000, 5000, 10000, 20000, 30000, 50000, 100000, 200000)}


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


def build(seed: int = 2026) -> DemoCity:
    """The demo city for ``seed``: the same seed always gives the same city."""
    from democity import quirks, truth

    rng = random.Random(seed)
    departments = tuple(_department(rng, *row) for row in _DEPARTMENTS)
    records: list[DemoRecord] = []
    for dept in departments:
        for kind in dept.kinds:
            records.extend(_records(rng, dept, kind, start_index=len(records)))
    city = quirks.apply(rng, DemoCity(seed, CITY_NAME, departments, tuple(records)))
    return truth.complete(city)


# --- departments ---------------------------------------------------------------------------------

def _department(rng: random.Random, dept_id: str, name: str, county: str, domain: str, abbr: str,
                profile: str, noisy: bool, paging: str, kinds: tuple[str, ...]) -> DemoDepartment:
    division = DIVISIONS[county]
    dom = DOMAINS[domain]
    catalogue: list[CatalogueItem] = []
    for kind in kinds:
        items = dom.licences if kind == "xk" else dom.penalties
        chosen = rng.sample(items, rng.randint(3, min(6, len(items))))
        catalogue += [CatalogueItem(f"{dept_id}-{kind}-{i:02d}", kind, it.name, it.basis)
                      for i, it in enumerate(chosen, 1)]
    quirks = QUIRKS.get(dept_id, {})
    for kind in quirks.get("powers_without_column", ()):
        items = dom.licences if kind == "xk" else dom.penalties
        catalogue += [CatalogueItem(f"{dept_id}-{kind}-{i:02d}", kind, it.name, it.basis)
                      for i, it in enumerate(items[:3], 1)]
    powers = tuple(catalogue)
    published = [c for c in catalogue if c.kind not in quirks.get("unpublished_catalogue", ())]
    if quirks.get("catalogue_gap"):
        published.remove(next(c for c in published if c.kind == kinds[0]))
    messy = behaviour(profile, noisy).messy
    labels = {kind: _labels(rng, kind, messy) for kind in kinds}
    return DemoDepartment(
        dept_id, name, county, division, domain, abbr, profile, noisy, paging, kinds,
        credit_code=codes.credit_code(rng, "11", division),
        liaison=_person_name(rng), liaison_phone=f"0990-{rng.randint(60000000, 89999999)}",
        catalogue=tuple(published), labels=labels, powers=powers,
    )


def _labels(rng: random.Random, kind: str, messy: bool) -> dict[str, str]:
    """Field code → printed label: the registry name, or for a messy department often a synonym.

    Only synonyms the registry maps back to the same field are used, so a label never becomes ambiguous.
    """
    std = standard.load(kind)
    labels = {f.code: f.name for f in std.fields}
    if not messy:
        return labels
    lookup = synonym_map(kind)
    for f in std.fields:
        usable = [s for s in f.synonyms if lookup.get(normalise_label(s)) == f.code]
        if usable and rng.random() < 0.35:
            labels[f.code] = rng.choice(usable)
    labels.update(_FORCED_SYNONYMS[kind])
    return labels


# --- records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Subject:
    category: str  # ORG, SHOP or PERSON
    name: str
    code: str  # credit code, or the full ID number of a person
    representative: str


def _records(rng: random.Random, dept: DemoDepartment, kind: str, start_index: int) -> list[DemoRecord]:
    """One department's records of one kind over both quarters, numbered in date order."""
    days: list[date] = []
    for quarter in QUARTERS:
        first, last = quarter.start, quarter.end
        workdays = [first + timedelta(n) for n in range((last - first).days + 1)]
        workdays = [d for d in workdays if cal.is_workday(d)]
        days += rng.choices(workdays, k=rng.randint(6, 15))
    days.sort()
    items = [c for c in dept.powers if c.kind == kind]
    beh, n, quirks = dept.behaviour, len(days), dept.quirks
    flags = zip(_quota(rng, n, beh.defect_rate), _quota(rng, n, beh.late_rate), _quota(rng, n, beh.unpushed_rate),
                _quota(rng, n, quirks.get("simple_rate", 0.0) if kind == "cf" else 0.0),
                _quota(rng, n, quirks.get("portal_late_rate", 0.0)))
    number = rng.randint(1, 40)
    out = []
    for i, (jdrq, (damaged, late, unpushed, simple, portal_late)) in enumerate(zip(days, flags)):
        mark = "许" if kind == "xk" else "简罚" if simple else "罚"
        wsh = f"{dept.abbr}{mark}〔{jdrq.year}〕{number}号"
        number += rng.randint(1, 3)
        item = rng.choice(items)
        out.append(_record(rng, dept, kind, f"{kind}{start_index + i + 1:05d}", wsh, item.name, jdrq,
                           damaged, late, not unpushed, simple=simple, portal_late=portal_late))
    return out


def _quota(rng: random.Random, n: int, rate: float) -> list[bool]:
    """Which of ``n`` records get a trait: ``rate × n`` of them (rounded at random), chosen at random.

    A quota rather than a coin per record, so a profile shows in every column instead of by luck.
    """
    k = min(n, int(rate * n) + (rng.random() < rate * n % 1))
    chosen = set(rng.sample(range(n), k))
    return [i in chosen for i in range(n)]


def _record(rng: random.Random, dept: DemoDepartment, kind: str, rid: str, wsh: str, item_name: str,
            jdrq: date, damaged: bool, late: bool, on_portal: bool, *, simple: bool = False,
            portal_late: bool = False) -> DemoRecord:
    beh = dept.behaviour
    dom = DOMAINS[dept.domain]
    subject = _subject(rng, dom, kind)
    if kind == "cf":
        item = next(p for p in dom.penalties if p.name == item_name)
        values = _cf_values(rng, dept, dom, item, subject, wsh, jdrq, simple)
    else:
        item = next(x for x in dom.licences if x.name == item_name)
        values = _xk_values(rng, dept, item, subject, wsh, jdrq)
    defect = _inject(rng, kind, values, subject, beh) if damaged else None
    fbrq, gsrq = _publication_dates(rng, jdrq, late, portal_late)
    site = _printed(rng, kind, values, beh.messy)
    if defect and defect.rule_id.endswith("_missing") and rng.random() < 0.5:
        site[defect.field] = ""  # an empty cell rather than an absent row
    fbrq_text = _print_date(rng, fbrq) if beh.messy else fbrq.isoformat()
    record = DemoRecord(rid, dept.id, kind, values, site, jdrq, fbrq, fbrq_text, gsrq, late, on_portal, defect,
                        simple=simple)
    return replace(record, on_portal=False) if record.portal_exempt else record


def _subject(rng: random.Random, dom: Domain, kind: str) -> _Subject:
    """Companies and 个体工商户 for both kinds; natural persons only receive penalties."""
    weights = (0.75 - dom.person_share, 0.25, dom.person_share) if kind == "cf" else (0.75, 0.25, 0.0)
    category = rng.choices((ORG, SHOP, PERSON), weights)[0]
    division = rng.choice(list(DIVISIONS.values()))
    place = rng.choice(("示范市", "示范市", "东城区", "西山县", "南湖县"))
    if category == ORG:
        name = f"{place}{rng.choice(BRANDS)}{rng.choice(dom.industries)}有限公司"
        return _Subject(ORG, name, codes.credit_code(rng, "91", division), _person_name(rng))
    if category == SHOP:
        owner = _person_name(rng)
        name = f"{place}{owner[0]}记{rng.choice(dom.shops)}"
        return _Subject(SHOP, name, codes.credit_code(rng, "92", division), owner)
    person = _person_name(rng)
    return _Subject(PERSON, person, codes.id_number(rng, division), person)


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def _subject_values(prefix: str, subject: _Subject) -> dict[str, str]:
    out = {f"{prefix}_XDR_MC": subject.name, f"{prefix}_XDR_LB": subject.category}
    if subject.category == PERSON:
        out |= {f"{prefix}_XDR_ZJLX": "身份证", f"{prefix}_XDR_ZJHM": mask_whole(subject.code)}
    else:
        out |= {f"{prefix}_XDR_SHXYM": subject.code, f"{prefix}_FRDB": subject.representative}
    return out


def _cf_values(rng: random.Random, dept: DemoDepartment, dom: Domain, item: PenaltyItem, subject: _Subject,
               wsh: str, jdrq: date, simple: bool = False) -> dict[str, str]:
    categories = rng.choice(PERSON_CATEGORIES if subject.category == PERSON else item.categories)
    if simple:
        categories = "警告"  # 简易程序: a warning on the spot
    certificate = next((x.certificate for x in dom.licences if x.certificate), "营业执照")
    values = _subject_values("CF", subject)
    content: list[str] = []
    for cat in categories.split(";"):
        if cat == "罚款":
            yuan = rng.choice(_FINES_YUAN[subject.category])
            values["CF_NR_FK"] = _wan(yuan)
            content.append(f"罚款人民币{yuan}元")
        elif cat in ("没收违法所得", "没收非法财物"):
            yuan = rng.randrange(500, 60000, 100)
            values["CF_NR_WFFF"] = _wan(yuan)
            content.append(f"{cat}{yuan}元" if cat == "没收违法所得" else f"没收非法财物(价值{yuan}元)")
        elif cat in ("暂扣许可证件", "吊销许可证件"):
            values["CF_NR_ZKDX"] = f"{certificate}(编号{dept.abbr}{YEAR}{rng.randrange(10000):04d})"
            content.append(f"{cat[:2]}{certificate}" + ("三个月" if cat.startswith("暂扣") else ""))
        else:
            content.append(cat)
    values |= {
        "CF_WSH": wsh,
        "CF_WFXW": item.name,
        "CF_SY": f"经查，当事人存在{item.name}的违法行为，事实清楚，证据确凿。",
        "CF_YJ": item.basis,
        "CF_CFLB": categories,
        "CF_NR": "，".join(content) + "。",
        "CF_JDRQ": jdrq.isoformat(),
        "CF_YXQ": (jdrq + timedelta(days=364)).isoformat(),
        "CF_CFJG": dept.name,
        "CF_CFJGDM": dept.credit_code,
        "CF_SJLY": dept.name,
        "CF_SJLYDM": dept.credit_code,
    }
    if rng.random() < 0.7:
        values["CF_GSJZQ"] = (jdrq + timedelta(days=364)).isoformat()
    return values


def _xk_values(rng: random.Random, dept: DemoDepartment, item: LicenceItem, subject: _Subject, wsh: str,
               jdrq: date) -> dict[str, str]:
    values = _subject_values("XK", subject)
    until = date(2099, 12, 31) if rng.random() < 0.15 else jdrq.replace(year=jdrq.year + rng.choice((3, 5))) - timedelta(days=1)
    values |= {
        "XK_XKWS": rng.choice(("准予行政许可决定书", f"{item.name}决定书")),
        "XK_WSH": wsh,
        "XK_XKLB": item.category,
        "XK_NR": f"准予{subject.name}{item.name}申请。",
        "XK_JDRQ": jdrq.isoformat(),
        "XK_YXQZ": jdrq.isoformat(),
        "XK_YXQZI": until.isoformat(),
        "XK_XKJG": dept.name,
        "XK_XKJGDM": dept.credit_code,
        "XK_ZT": rng.choice(("1", "1", "有效")),
        "XK_LYDW": dept.name,
        "XK_LYDWDM": dept.credit_code,
    }
    if item.certificate:
        values["XK_XKZS"] = item.certificate
        values["XK_XKBH"] = f"{dept.abbr}{YEAR}{rng.randrange(100000):05d}"
    return values


def _yuan(wan: str) -> str:
    """万元 text → 元 as plain decimal text ("0.5" → "5000"), for pages that print fines in 元."""
    return format((Decimal(wan) * 10000).normalize(), "f")


def _wan(yuan: int) -> str:
    """元 → the standard's 万元, as plain decimal text (5000 → "0.5")."""
    return format((Decimal(yuan) / 10000).normalize(), "f")


# --- defects -------------------------------------------------------------------------------------

def _candidates(rule: str, kind: str, values: dict[str, str], subject: _Subject) -> list[str]:
    """Fields of this record that ``rule`` can damage without affecting any other rule's judgement."""
    p = kind.upper()
    has_code = subject.category in (ORG, SHOP)
    if rule == "required_missing":
        return list(_REQUIRED_DROPPABLE[kind])
    if rule == "conditional_missing":
        out = [f"{p}_XDR_SHXYM"] if has_code else [f"{p}_XDR_ZJHM"]
        if subject.category == ORG:
            out.append(f"{p}_FRDB")
        out += [c for c in ("CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX") if c in values]
        return out
    if rule == "credit_code_invalid":
        agency = ("CF_CFJGDM", "CF_SJLYDM") if kind == "cf" else ("XK_XKJGDM", "XK_LYDWDM")
        return ([f"{p}_XDR_SHXYM"] if has_code else []) + list(agency)
    if rule == "credit_code_placeholder":
        return [f"{p}_XDR_SHXYM"] if has_code else []
    if rule == "id_number_invalid":
        return [f"{p}_XDR_ZJHM"] if subject.category == PERSON else []
    if rule == "enum_invalid":
        out = ["CF_CFLB"] if kind == "cf" else ["XK_XKLB", "XK_ZT"]
        return out + ([f"{p}_XDR_LB"] if subject.category == ORG else [])
    if rule == "date_order":
        return ["XK_YXQZI"] if kind == "xk" else []
    if rule == "date_invalid":
        return ["CF_YXQ"] if kind == "cf" else ["XK_YXQZI"]
    if rule == "fine_implausible":
        return ["CF_NR_FK"] if "CF_NR_FK" in values else []
    if rule == "wsh_format":
        return [f"{p}_WSH"]
    if rule == "agency_code_mismatch":
        return ["CF_CFJGDM" if kind == "cf" else "XK_XKJGDM"]
    if rule == "unmasked_personal":
        return [f"{p}_XDR_ZJHM"] if subject.category == PERSON else ["CF_SY" if kind == "cf" else "XK_NR"]
    raise ValueError(rule)


def _inject(rng: random.Random, kind: str, values: dict[str, str], subject: _Subject,
            beh: Profile) -> Defect | None:
    """Damage one field of ``values`` in place, by a rule the department's behaviour makes (None when no
    rule of its applies to this record)."""
    options = {r: c for r in sorted(beh.defect_rules) if (c := _candidates(r, kind, values, subject))}
    if not options:
        return None
    rule = rng.choices(list(options), [beh.defect_rules[r] for r in options])[0]
    code = rng.choice(options[rule])
    if rule in ("required_missing", "conditional_missing"):
        del values[code]
    elif rule == "credit_code_invalid":
        values[code] = codes.wrong_credit_check(rng, values[code])
    elif rule == "credit_code_placeholder":
        values[code] = USCC_PLACEHOLDER
    elif rule == "id_number_invalid":
        values[code] = codes.wrong_id_check(rng, subject.code)
    elif rule == "enum_invalid":
        values[code] = rng.choice(BAD_ENUMS[standard.load(kind).get(code).enum])
    elif rule == "date_order":
        start = date.fromisoformat(values["XK_YXQZ"])
        values[code] = (start - timedelta(days=rng.randint(1, 365))).isoformat()
    elif rule == "date_invalid":  # "long-term" in words where the standard wants 2099-12-31
        values[code] = "长期"
    elif rule == "fine_implausible":  # typed in 元 (implausibly many 万元), or a zero
        yuan = _yuan(values[code])
        values[code] = yuan if Decimal(yuan) > 1000 else "0"
    elif rule == "wsh_format":  # brackets dropped, or the closing 号 forgotten
        values[code] = rng.choice((values[code].replace("〔", "").replace("〕", ""), values[code].removesuffix("号")))
    elif rule == "agency_code_mismatch":  # a valid code, but another agency's (the superior's)
        values[code] = codes.credit_code(rng, "11", values[code][2:8])
    elif rule == "unmasked_personal":  # the full ID number, or a mobile number in the text
        if code.endswith("ZJHM"):
            values[code] = subject.code
        else:
            values[code] += f"（联系电话1{rng.choice('3589')}{rng.randrange(10 ** 9):09d}）"
    return Defect(rule, code)


def _check_bad_enums() -> None:
    enums = standard.enums()
    for key, bad in BAD_ENUMS.items():
        for value in bad:
            assert not enums[key].is_valid(enums[key].canonical(value)), (key, value)


_check_bad_enums()


# --- publication ---------------------------------------------------------------------------------

def _publication_dates(rng: random.Random, jdrq: date, late: bool, portal_late: bool = False) -> tuple[date, date]:
    """(FBRQ, portal date) in working days after the decision; an on-time record stays on time on the
    portal too unless ``portal_late`` (pushed after the deadline), and neither date passes
    ``LAST_PUBLICATION``."""
    offset = rng.randint(*LATE_WORKDAYS) if late else rng.randint(0, ON_TIME_WORKDAYS)
    while cal.add_workdays(jdrq, offset) > LAST_PUBLICATION:
        offset -= 1
    extra = rng.randint(1, 3)
    if portal_late and not late:
        extra = ON_TIME_WORKDAYS + rng.randint(1, 8) - offset
    elif not late:
        extra = min(extra, ON_TIME_WORKDAYS - offset)
    while extra > 0 and cal.add_workdays(jdrq, offset + extra) > LAST_PUBLICATION:
        extra -= 1
    return cal.add_workdays(jdrq, offset), cal.add_workdays(jdrq, offset + extra)


# --- printing ------------------------------------------------------------------------------------

def _printed(rng: random.Random, kind: str, values: dict[str, str], messy: bool) -> dict[str, str]:
    """The site's text for each value: as is, or for a messy department in another valid spelling."""
    if not messy:
        return dict(values)
    std = standard.load(kind)
    out = {}
    for code, value in values.items():
        f = std.get(code)
        if f.type == "date" and _is_iso(value):
            value = _print_date(rng, date.fromisoformat(value))
        elif f.type == "amount":
            value = rng.choice((_yuan(value) + "元", f"{value}万元", value))
        elif f.check and rng.random() < 0.4:
            value = codes.full_width(value)
        elif f.enum == "CFLB" and rng.random() < 0.5:
            value = value.replace(";", "；")
        out[code] = value
    return out


def _is_iso(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


def _print_date(rng: random.Random, day: date) -> str:
    return rng.choice((day.isoformat(), f"{day.year}年{day.month}月{day.day}日", f"{day:%Y%m%d}", f"{day:%Y/%m/%d}"))

"""The demo city's departments: who they are, the 事项目录 they publish and the labels their pages print."""
from __future__ import annotations

import random
from collections.abc import Sequence

from core import standard
from core.cityconfig import CatalogueItem
from core.standard import normalise_label, synonym_map
from democity import codes
from democity.domains import DOMAINS, Domain, LicenceItem, PenaltyItem
from democity.model import BOTH, DIVISIONS, QUIRKS, DemoDepartment
from democity.profiles import behaviour
from democity.values import _person_name

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
# Labels a messy department always prints in a synonym (the rest it varies at random).
_FORCED_SYNONYMS = {"cf": {"CF_XDR_MC": "当事人", "CF_JDRQ": "决定日期", "CF_CFLB": "处罚种类"},
                    "xk": {"XK_XDR_MC": "申请人", "XK_JDRQ": "决定日期"}}


def _department(rng: random.Random, dept_id: str, name: str, county: str, domain: str, abbr: str,
                profile: str, noisy: bool, paging: str, kinds: tuple[str, ...]) -> DemoDepartment:
    division = DIVISIONS[county]
    dom = DOMAINS[domain]
    catalogue: list[CatalogueItem] = []
    for kind in kinds:
        items = _items(dom, kind)
        chosen = rng.sample(items, rng.randint(3, min(6, len(items))))
        catalogue += [CatalogueItem(f"{dept_id}-{kind}-{i:02d}", kind, it.name, it.basis)
                      for i, it in enumerate(chosen, 1)]
    quirks = QUIRKS.get(dept_id, {})
    for kind in quirks.get("powers_without_column", ()):
        items = _items(dom, kind)
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


def _items(dom: Domain, kind: str) -> Sequence[LicenceItem | PenaltyItem]:
    """The matters a department of the domain decides, of one kind (licences or penalties)."""
    if kind == "xk":
        return dom.licences
    return dom.penalties

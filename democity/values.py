"""A demo record's values: its subject (a company, a 个体工商户 or a person), the fields of a penalty or a
licence in the standard's normalised form, and how a department's page prints them."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core import standard
from core.privacy import mask_whole
from democity import codes
from democity.domains import BRANDS, GIVEN_CHARS, PERSON_CATEGORIES, SURNAMES, Domain, LicenceItem, PenaltyItem
from democity.model import DIVISIONS, ORG, PERSON, SHOP, YEAR, DemoDepartment

_FINES_YUAN = {PERSON: (200, 500, 1000, 2000), SHOP: (500, 1000, 2000, 5000, 10000, 20000),
               ORG: (2000, 5000, 10000, 20000, 30000, 50000, 100000, 200000)}


@dataclass(frozen=True)
class _Subject:
    category: str  # ORG, SHOP or PERSON
    name: str
    code: str  # credit code, or the full ID number of a person
    representative: str



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
        out |= {f"{prefix}_XDR_ZJLX": "身份证", f"{prefix}_XDR_ZJHM": mask_whole(subject.code) or ""}
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

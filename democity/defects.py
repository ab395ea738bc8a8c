"""The field defects injected into demo records: which fields a rule can damage without disturbing another
rule's judgement, and how each rule damages one."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from core import standard
from core.codes import USCC_PLACEHOLDER
from democity import codes
from democity.model import ORG, PERSON, SHOP, Defect
from democity.profiles import Profile
from democity.values import _Subject, _yuan

# Invalid enumeration values a sloppy department types (each checked invalid at import time below).
BAD_ENUMS = {
    "CFLB": ("罚没", "罚款、责令改正", "经济处罚"),  # 责令改正 is an order, not a penalty category
    "XKLB": ("一般", "行政许可", "其他"),
    "XK_ZT": ("正常", "在用"),
    "XDR_LB": ("企业法人", "企业", "单位"),
}
_REQUIRED_DROPPABLE = {
    "cf": ("CF_WFXW", "CF_SY", "CF_YJ", "CF_NR", "CF_YXQ", "CF_CFJG", "CF_SJLY"),
    "xk": ("XK_XKWS", "XK_NR", "XK_YXQZ", "XK_YXQZI", "XK_XKJG", "XK_XKLB", "XK_ZT", "XK_LYDW"),
}


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
        enum = standard.load(kind).get(code).enum
        assert enum is not None, f"{code} has no enumeration"
        values[code] = rng.choice(BAD_ENUMS[enum])
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

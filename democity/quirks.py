"""Department quirks (``democity.model.QUIRKS``) applied to a generated city: the defects that are not one
damaged field — a column that stopped updating, decisions only a ledger shows, revoked penalties still
online, penalties pushed to the portal that must not be there, republished decisions, changes never pushed,
old penalties still online past their publication period, and a quarter without any decision.

Applied after every department's records exist, in department order, with the city's own generator, so the
seed alone still decides everything.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from core.normalize import LATEST_DATE
from democity.generate import _record
from democity.model import LAST_PUBLICATION, OLD_YEARS, ORG, PERSON, SHOP, DemoCity, DemoDepartment, DemoRecord
from democity.values import _print_date
from democity import workdays as cal  # the city's own working days, not the rules'


def apply(rng: random.Random, city: DemoCity) -> DemoCity:
    records, unpublished, ledgers = list(city.records), [], []
    for dept in city.departments:
        q = dept.quirks
        if not q:
            continue

        def mine(kind: str, test=lambda r: True) -> list[DemoRecord]:
            return [r for r in records if r.dept_id == dept.id and r.kind == kind and test(r)]

        def pick(candidates: list[DemoRecord], n: int) -> list[DemoRecord]:
            return rng.sample(candidates, min(n, len(candidates)))

        def swap(old: DemoRecord, new: DemoRecord) -> None:
            records[records.index(old)] = new

        for r in [x for x in records if x.dept_id == dept.id and x.period in q.get("quiet", ())]:
            records.remove(r)  # it decided nothing that quarter: no record anywhere (本期无公示记录)
        gone: list[DemoRecord] = []
        if "stale_after" in q:  # the column stopped: nothing published after the day
            gone += mine("cf", lambda r: r.fbrq > q["stale_after"])
        if "unpublished" in q:
            gone += pick(mine(q["ledger"][0], lambda r: r not in gone), q["unpublished"])
        for r in gone:
            records.remove(r)
            unpublished.append(replace(r, on_portal=False))
        for r in pick(mine("cf", lambda r: not r.simple), q.get("revoked", 0)):
            swap(r, replace(r, revoked_on=min(r.jdrq + timedelta(days=rng.randint(5, 30)), LAST_PUBLICATION)))
        for r in pick(mine("cf", lambda r: r.simple), q.get("push_simple", 0)):
            swap(r, replace(r, on_portal=True))
        for r in pick(mine("cf", lambda r: r.values.get("CF_XDR_LB") == PERSON), q.get("push_persons", 0)):
            swap(r, replace(r, on_portal=True))
        for r in pick([x for k in dept.kinds for x in mine(k, _republishable)], q.get("duplicates", 0)):
            records.insert(records.index(r) + 1, _republished(r, f"{r.id}d"))
        for r in pick([x for k in dept.kinds for x in mine(k, lambda r: r.on_portal and not r.field_defect)],
                      q.get("inconsistent", 0)):
            swap(r, _changed_on_site(rng, dept, r))
        records += [_old_record(rng, dept, f"{dept.id.replace('-', '')}old{i}", i) for i in range(q.get("old_records", 0))]
        ledgers += [(dept.id, kind) for kind in q.get("ledger", ())]
    return replace(city, records=tuple(records), unpublished=tuple(unpublished), ledgers=tuple(ledgers))


def _republishable(r: DemoRecord) -> bool:
    p = r.kind.upper()
    return not r.field_defect and not r.on_portal and r.values.get(f"{p}_XDR_LB") in (ORG, SHOP)


def _republished(r: DemoRecord, rid: str) -> DemoRecord:
    """The same decision published again, the subject's name written otherwise (so a record of its own)."""
    code = f"{r.kind.upper()}_XDR_MC"
    name = r.values[code]
    other = name.replace("有限公司", "有限责任公司") if name.endswith("有限公司") else f"{name}（个体工商户）"
    return replace(r, id=rid, values={**r.values, code: other}, site={**r.site, code: other}, duplicate_of=r.id)


def _changed_on_site(rng: random.Random, dept: DemoDepartment, r: DemoRecord) -> DemoRecord:
    """The validity extended on the site by a year; the portal keeps the value first pushed. A long-term
    validity (2099-12-31, the latest plausible date) cannot be extended: the site gives it an end a year
    earlier instead, still a change the portal does not show."""
    code = "XK_YXQZI" if r.kind == "xk" else "CF_YXQ"
    old = r.values[code]
    new = date.fromisoformat(old) + timedelta(days=365)
    if new > LATEST_DATE:
        new = date.fromisoformat(old) - timedelta(days=365)
    printed = _print_date(rng, new) if dept.behaviour.messy else new.isoformat()
    return replace(r, values={**r.values, code: new.isoformat()}, site={**r.site, code: printed},
                   portal_overrides={code: old})


def _old_record(rng: random.Random, dept: DemoDepartment, rid: str, i: int) -> DemoRecord:
    """A penalty decided years ago, published on time then, still on the site (the portal withdrew it)."""
    day = date(rng.randint(*OLD_YEARS), rng.randint(1, 12), rng.randint(1, 28))
    while not cal.is_workday(day):
        day += timedelta(days=1)
    item = rng.choice([c for c in dept.powers if c.kind == "cf"])
    wsh = f"{dept.abbr}罚〔{day.year}〕{500 + i}号"
    return _record(rng, dept, "cf", rid, wsh, item.name, day, False, False, False)

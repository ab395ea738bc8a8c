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

This module draws the records in order; the data model and constants are ``democity.model``, the departments
``democity.departments``, a record's values ``democity.values`` and its field defects ``democity.defects``.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from democity import workdays as cal  # the city's own working days, not the rules'
from democity.defects import _inject
from democity.departments import _DEPARTMENTS, _department
from democity.domains import DOMAINS
from democity.model import (CITY_NAME, LAST_PUBLICATION, LATE_WORKDAYS, ON_TIME_WORKDAYS, QUARTERS, DemoCity,
                            DemoDepartment, DemoRecord)
from democity.values import _cf_values, _print_date, _printed, _subject, _xk_values


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


# --- records -------------------------------------------------------------------------------------

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
        penalty = next(p for p in dom.penalties if p.name == item_name)
        values = _cf_values(rng, dept, dom, penalty, subject, wsh, jdrq, simple)
    else:
        licence = next(x for x in dom.licences if x.name == item_name)
        values = _xk_values(rng, dept, licence, subject, wsh, jdrq)
    defect = _inject(rng, kind, values, subject, beh) if damaged else None
    fbrq, gsrq = _publication_dates(rng, jdrq, late, portal_late)
    site = _printed(rng, kind, values, beh.messy)
    if defect and defect.rule_id.endswith("_missing") and rng.random() < 0.5:
        site[defect.field] = ""  # an empty cell rather than an absent row
    fbrq_text = _print_date(rng, fbrq) if beh.messy else fbrq.isoformat()
    record = DemoRecord(rid, dept.id, kind, values, site, jdrq, fbrq, fbrq_text, gsrq, late, on_portal, defect,
                        simple=simple)
    return replace(record, on_portal=False) if record.portal_exempt else record



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

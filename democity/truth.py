"""The demo city's ground truth beyond single damaged fields: what follows from the city as a whole.

Record-level: pushed late to the portal, outside the published catalogue, republished, changed on the site but
not on the portal. Department-level (per assessed quarter): catalogue not published, powers without a
column, a stale column, ledger decisions never published, penalties online past their period or after
revocation, forbidden penalties and unmasked numbers on the portal.

Computed from the generated records with the written policy (docs/rules.md) and the policy's own data files
read as plain TOML (publication periods and 简易程序 marks, the scheme's deadlines), independently of the
SQL and the Python that the engine runs: nothing here imports ``metrics`` (tests/test_democity.py enforces
it), and working days are counted by ``democity.workdays``, not by the rules' calendar — an oracle sharing
code with what it checks could not catch that code's mistakes. So the end-to-end test compares two readings
of the same rules. The assessment runs after the demo's last publication day, so every record counts as still
online (``last_seen`` is the crawl, after every period and every publication period's end checked here).
"""
from __future__ import annotations

import calendar as months
import tomllib
from collections import Counter
from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from core import standard
from core.normalize import normalise_record
from core.privacy import mask_text
from core.settings import POLICY_DIR, SCHEMES_DIR
from democity.model import QUARTERS, DemoCity, DemoDepartment, DemoRecord, Defect, DepartmentDefect
from democity.ledgers import ledger_rows
from democity.pages import UNDATED_PORTAL
from democity.staged import portal_verdict
from democity.workdays import add_workdays, workdays_between

# docs/rules.md, catalogue_unmatched: an item's name is looked for in these two fields, the first one named
MATCH_FIELDS = {"cf": ("CF_WFXW", "CF_SY"), "xk": ("XK_XKWS", "XK_NR")}
STALE_DEFAULT = 20  # docs/rules.md, column_stale: ``workdays`` when the scheme does not set it


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _scheme() -> dict[str, Any]:
    """The scheme of the demo's assessment year, as plain data (the deadlines the rules are given)."""
    return _toml(SCHEMES_DIR / f"{QUARTERS[0].start.year}.toml")


@lru_cache(maxsize=None)
def _policy() -> dict[str, Any]:
    """data/policy/publication_periods.toml as plain data."""
    return _toml(POLICY_DIR / "publication_periods.toml")


def deadline() -> int:
    """Working days to publish a decision: the scheme's ``[timeliness] max_workdays``."""
    return int(_scheme()["timeliness"]["max_workdays"])


def stale_workdays() -> int:
    """Working days a column may go without an update: the scheme's ``[rules.column_stale] workdays``."""
    return int(_scheme().get("rules", {}).get("column_stale", {}).get("workdays", STALE_DEFAULT))


def complete(city: DemoCity) -> DemoCity:
    city = replace(city, records=tuple(replace(r, extra=tuple(_record_extras(city, r))) for r in city.records))
    return replace(city, department_defects=tuple(_department_defects(city)))


# --- record level --------------------------------------------------------------------------------

def _record_extras(city: DemoCity, r: DemoRecord) -> list[Defect]:
    p = r.kind.upper()
    out = []
    if r.on_portal and portal_timeliness(r) == "late":
        out.append(Defect("portal_late", "FBRQ"))
    if not _in_catalogue(city.department(r.dept_id), r):
        out.append(Defect("catalogue_unmatched", MATCH_FIELDS[r.kind][0]))
    same = Counter((x.dept_id, x.kind, x.wsh) for x in city.records)
    if same[(r.dept_id, r.kind, r.wsh)] > 1:
        out.append(Defect("duplicate_record", f"{p}_WSH"))
    if r.on_portal:
        out += [Defect("portal_inconsistent", code) for code in r.portal_overrides]
    return out


def portal_timeliness(r: DemoRecord) -> str:
    """``on_time``, ``late`` or ``unverified`` on the credit portal: by the 公示日期 it states, or — on a channel
    that states none (``UNDATED_PORTAL``) — by what the staged crawls saw (``democity.staged``)."""
    if r.kind in UNDATED_PORTAL:
        return portal_verdict(r.jdrq, r.gsrq, deadline())
    return "late" if r.gsrq > add_workdays(r.jdrq, deadline()) else "on_time"


def unverified_list(city: DemoCity) -> list[dict]:
    """What the evidence cannot decide in the assessed quarters (未能核验): portal copies on the undated
    channel first seen after their deadline with no crawl after the deadline before that."""
    return [{"dept_id": r.dept_id, "kind": r.kind, "wsh": r.wsh, "rule_id": "portal_late", "period": r.period}
            for r in city.records if r.current and r.on_portal and portal_timeliness(r) == "unverified"]


def _in_catalogue(dept: DemoDepartment, r: DemoRecord) -> bool:
    """Matched as catalogue_unmatched documents; a department without a catalogue of the kind: not judged."""
    items = [c.name.replace(" ", "") for c in dept.catalogue if c.kind == r.kind]
    text = "|".join(r.values.get(f, "").replace(" ", "") for f in MATCH_FIELDS[r.kind])
    return not items or any(name in text for name in items)


# --- department level ----------------------------------------------------------------------------

def _department_defects(city: DemoCity) -> list[DepartmentDefect]:
    out = []
    for q in QUARTERS:
        for dept in city.departments:
            out += _catalogue_and_column(city, dept, q.label)
            for kind in dept.kinds:
                out += _stale(city, dept, kind, q)
            for dept_id, kind in city.ledgers:
                if dept_id == dept.id:
                    out += _ledger_unpublished(city, dept, kind, q)
        for r in city.records:
            out += _online_too_long(city, r, q) + _on_portal(r, q)
    return out


def _catalogue_and_column(city: DemoCity, dept: DemoDepartment, period: str) -> list[DepartmentDefect]:
    catalogued = {c.kind for c in dept.catalogue}
    out = [DepartmentDefect(dept.id, k, "catalogue_missing", "CATALOGUE", None, period)
           for k in dept.kinds if k not in catalogued]
    published = {r.kind for r in city.records if r.dept_id == dept.id}
    out += [DepartmentDefect(dept.id, k, "column_not_set", "COLUMN", None, period)
            for k in sorted(catalogued) if k not in published]
    return out


def _stale(city: DemoCity, dept: DemoDepartment, kind: str, q) -> list[DepartmentDefect]:
    """Not updated for more than N working days before the quarter's end while decisions were made."""
    ref = q.end
    pubs = [r.fbrq for r in city.records if r.dept_id == dept.id and r.kind == kind and r.fbrq <= ref]
    last = max(pubs, default=None)
    decisions = [r.jdrq for r in city.records if r.dept_id == dept.id and r.kind == kind and r.on_portal]
    if (dept.id, kind) in city.ledgers:
        decisions += [x.jdrq for x in ledger_rows(city, dept.id, kind)]
    after = [d for d in decisions if q.start <= d <= ref and (last is None or d > last)]
    if not after:
        return []
    if last is not None and workdays_between(last, ref) <= stale_workdays():
        return []
    return [DepartmentDefect(dept.id, kind, "column_stale", "FBRQ", last.isoformat() if last else None, q.label)]


def _ledger_unpublished(city: DemoCity, dept: DemoDepartment, kind: str, q) -> list[DepartmentDefect]:
    online = {r.wsh for r in city.records if r.dept_id == dept.id and r.kind == kind}
    return [DepartmentDefect(dept.id, kind, "ledger_unpublished", f"{kind.upper()}_WSH", x.wsh, q.label)
            for x in ledger_rows(city, dept.id, kind)
            if x.status == "有效" and q.start <= x.jdrq <= q.end and x.wsh not in online]


def _channels(r: DemoRecord) -> list[date]:
    """The publication date on each channel the record is on (site, then portal)."""
    return [r.fbrq] + ([r.gsrq] if r.on_portal else [])


def _online_too_long(city: DemoCity, r: DemoRecord, q) -> list[DepartmentDefect]:
    if r.kind != "cf":
        return []
    out = []
    ends = _publication_ends(city, r)
    out += [DepartmentDefect(r.dept_id, "cf", "overdue_publication", "CF_WSH", r.wsh, q.label)
            for pub in _channels(r) if pub <= q.end and ends < q.end]
    if r.revoked_on and r.revoked_on <= q.end:
        out += [DepartmentDefect(r.dept_id, "cf", "revoked_online", "CF_WSH", r.wsh, q.label) for _ in _channels(r)]
    return out


def _publication_ends(city: DemoCity, r: DemoRecord) -> date:
    cflb = standard.enums()["CFLB"]
    items = {cflb.canonical(x.strip()) for x in r.values.get("CF_CFLB", "").split(";")}
    severity = ("light" if _simple(city, r) else
                "serious" if items & set(_policy()["serious_categories"]) else "general")
    ends = _add_months(r.jdrq, _max_months(r.jdrq, severity))
    until = r.values.get("CF_GSJZQ")
    return min(ends, date.fromisoformat(until)) if until else ends


def _simple(city: DemoCity, r: DemoRecord) -> bool:
    """简易程序 as the policy file says it is recognised (文书号 marks, content marks, the ledger)."""
    marks = _policy()["simple_procedure"]
    text = r.values.get("CF_NR", "") + " " + r.values.get("BZ", "")
    by_ledger = (r.dept_id, "cf") in city.ledgers and r.simple and r.current
    return (any(m in r.wsh for m in marks["wsh_marks"]) or any(m in text for m in marks["text_marks"])
            or by_ledger)


def _max_months(day: date, severity: str) -> int:
    """As the policy file's header says: the last rule whose ``from`` is on or before the decision date
    (older decisions: the first rule); a severity the rule does not name is judged as ``general``."""
    rules = sorted(_policy()["rules"], key=lambda x: x["from"])
    rule = next((x for x in reversed(rules) if x["from"] <= day), rules[0])
    return int(rule.get(severity, rule["general"])["max"])


def _add_months(day: date, n: int) -> date:
    """``day`` plus ``n`` months, clamped to the month's end (as SQL date + INTERVAL does)."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, months.monthrange(year, month)[1]))


def _on_portal(r: DemoRecord, q) -> list[DepartmentDefect]:
    """Portal copies decided in the quarter: forbidden penalties, unmasked numbers."""
    if not r.on_portal or r.period != q.label:
        return []
    out = []
    if r.portal_exempt:  # on the portal although exempt: a natural person or 简易程序
        out.append(DepartmentDefect(r.dept_id, "cf", "portal_forbidden", "CF_WSH", r.wsh, q.label))
    stored = normalise_record(r.kind, r.portal_values)  # as the crawler stores the portal's copy
    for f in standard.load(r.kind).fields:
        value = stored.get(f.code)
        if value and f.check != "uscc" and f.type not in ("date", "amount") and not f.enum and mask_text(value) != value:
            out.append(DepartmentDefect(r.dept_id, r.kind, "unmasked_personal", f.code, mask_text(value), q.label))
    return out

"""A season of monitoring, replayed: the demo city crawled on the dates a deployment would have crawled it.

Timeliness is judged on evidence only (docs/scoring.md): a record's stated date, or when crawls saw it.
The demo's credit portal states no 公示日期 for licences (``pages.UNDATED_PORTAL``), so their portal
timeliness rests on sightings, and one crawl after the fact could prove nothing. Here the server shows the
city as it stood on each crawl's day (``Site.set_as_of``) and each crawl runs with that day's clock:

- the whole city on ``FULL`` days (monitoring begins on the first, so what was already overdue then is
  未能核验);
- the credit portal alone every ``PORTAL_EVERY`` days in between (``sgs crawl --source``), as a credit office
  reads the portal more often than every department's site.

``democity.truth`` derives each record's verdict (on time, late by observed absence, unverifiable) from
the same schedule, so the end-to-end test compares the engine with it.

A department may also correct a record after the fact (``Fix``, ``fix_for``: ``Site.set_fixes``): the site
shows the corrected record from the fix's day on, so the re-crawl verification (``metrics.verify``) has a
fixed page and an unchanged one to tell apart. No fix is applied unless a test asks for one, so the ground
truth stays the city as generated.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from core.privacy import mask_whole
from democity.model import LAST_PUBLICATION, DemoCity, DemoRecord, Fix
from democity.workdays import add_workdays

FULL = (date(2026, 5, 6), date(2026, 7, 8), date(2026, 9, 9), date(2026, 11, 16))
PORTAL_EVERY = 7  # days
CRAWL_TIME = time(9, 0)
PORTAL_SOURCES = ("portal-xk", "portal-cf")

assert FULL[-1] > LAST_PUBLICATION  # the last crawl sees everything the city ever publishes


def schedule() -> list[tuple[date, bool]]:
    """(day, whole city?) for every crawl, in order."""
    portal = {FULL[0] + timedelta(days=n) for n in range(0, (FULL[-1] - FULL[0]).days, PORTAL_EVERY)}
    days = sorted(portal | set(FULL))
    return [(d, d in FULL) for d in days]


def portal_crawl_days() -> list[date]:
    """The days the portal was walked (every crawl walks it)."""
    return [d for d, _ in schedule()]


def first_sighting(appears: date, days: list[date]) -> tuple[date | None, date | None]:
    """(the day of the crawl that first saw a record published on ``appears``, the crawl before it) — by the
    server's rule: a crawl on day D sees what was published on or before D."""
    seen = next((d for d in days if d >= appears), None)
    before = [d for d in days if d < appears]
    return seen, (before[-1] if before else None)


def portal_verdict(jdrq: date, appears: date, workdays: int) -> str:
    """How the evidence of the staged crawls judges an undated portal record: ``on_time``, ``late`` (a crawl
    after the deadline did not list it) or ``unverified`` — the rule of metrics.checks._sql.verdict,
    restated here from the schedule so the ground truth does not share the engine's code."""
    deadline = add_workdays(jdrq, workdays)
    seen, absent = first_sighting(appears, portal_crawl_days())
    if seen is not None and seen <= deadline:
        return "on_time"
    if absent is not None and absent > deadline:
        return "late"
    return "unverified"


def fixable(record: DemoRecord) -> bool:
    """Whether ``fix_for`` can correct the record's field defect: an ID number shown in full, which the
    department then masks (the correction a clerk makes most often)."""
    d = record.field_defect
    return d is not None and d.rule_id == "unmasked_personal" and d.field.endswith("_XDR_ZJHM")


def fix_for(record: DemoRecord, day: date) -> Fix:
    """The department's correction of ``record`` from ``day`` on: its ID number masked on the site."""
    if not fixable(record):
        raise ValueError(f"no correction known for {record.id} ({record.field_defect})")
    code = record.field_defect.field  # type: ignore[union-attr]
    return Fix(record.id, day, {code: mask_whole(record.site[code]) or ""})


def take_down(record: DemoRecord, day: date) -> Fix:
    """The department takes ``record`` off its site from ``day`` on (the fix for 超期公示, not for a wrong field)."""
    return Fix(record.id, day, {}, removed=True)


def fixable_records(city: DemoCity) -> list[DemoRecord]:
    """The assessed records ``fix_for`` can correct, in the city's order."""
    return [r for r in city.records if r.current and fixable(r)]


def clock_at(day: date) -> Callable[[], datetime]:
    """A clock that reads ``day`` at CRAWL_TIME when the crawl starts and runs on from there."""
    origin, start = datetime.combine(day, CRAWL_TIME), datetime.now()
    return lambda: origin + (datetime.now() - start)


def run_staged_crawls(city, server, paths, *, quiet: bool = True, say: Callable[[str], None] = lambda _: None):
    """Crawl ``city`` (core.cityconfig.City of the served demo) on every scheduled day; returns the last whole-
    city crawl's summary. The server is left showing everything."""
    from crawlers.crawl import run_crawl

    summary = None
    try:
        for day, full in schedule():
            server.site.set_as_of(day)
            result = run_crawl(city, paths, quiet=quiet, clock=clock_at(day), only=None if full else PORTAL_SOURCES)
            say(f"{day}：{'全市' if full else '信用网站'}抓取 {result.records} 条记录")
            if full:
                summary = result
    finally:
        server.site.set_as_of(None)
    return summary

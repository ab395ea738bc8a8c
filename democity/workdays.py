"""The demo city's own count of official working days, straight from the ``chinesecalendar`` package.

The city is built and judged on this count, not on ``core.workdays``: that module is what the rules count
deadlines with (``add_workdays``, the SQL ``workdays`` table), so a ground truth counting with it would share
any off-by-one it had. The demo's days all lie in years the package knows, and the repository ships no
schedule file (``data/calendars/``) that would make the two sources differ.

Counting follows the legal convention the rules cite: the decision day is not counted; day 1 is the first
working day after it.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_workday(day: date) -> bool:
    """An official working day: not a statutory holiday, and a weekday or a 调休 make-up day."""
    return bool(chinese_calendar.is_workday(day))


def add_workdays(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        n -= is_workday(day)
    return day


def workdays_between(after: date, until: date) -> int:
    """Working days in (``after``, ``until``]: how long a column went without an update by ``until``."""
    return sum(is_workday(after + timedelta(days=n)) for n in range(1, (until - after).days + 1))

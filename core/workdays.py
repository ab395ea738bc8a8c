"""The official working-day calendar: statutory holidays off, 调休 make-up weekend days on.

Years come from the ``chinesecalendar`` package, or from a schedule file ``<year>.toml`` in the schedule
folders (``data/calendars/``, those of the ``SGS_CALENDARS`` setting and any a command adds) — a file wins over the package, so a correction or
next year's State Council notice is a data change. A year known to neither is refused, never guessed.

Counting follows the legal convention: the decision day is not counted; day 1 is the first working day
after it; publication on or before the 7th working day is on time.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import chinese_calendar
import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

from core.settings import CALENDARS_DIR, calendar_dirs
from core.errors import SgsError


class CalendarError(SgsError, ValueError):
    """A year the calendar does not know; the message says how to supply it."""


@dataclass(frozen=True)
class Schedule:
    """One year's official arrangement: weekdays off and weekend days worked."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def load_schedule(path: Path) -> Schedule:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        year = int(doc["year"])
        hol = frozenset(date.fromisoformat(d) for d in doc.get("holidays", []))
        work = frozenset(date.fromisoformat(d) for d in doc.get("workdays", []))
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise CalendarError(f"节假日安排文件 {path} 格式错误：{exc}") from None
    wrong = [d for d in hol | work if d.year != year]
    if wrong:
        raise CalendarError(f"节假日安排文件 {path} 写的是 {year} 年，却含有 {wrong[0]}")
    return Schedule(year, hol, work, str(doc.get("source", path.name)))


@dataclass
class Calendar:
    schedule_dirs: tuple[Path, ...] = (CALENDARS_DIR,)
    _checked: set[int] = field(default_factory=set)

    @cached_property
    def schedules(self) -> dict[int, Schedule]:
        found: dict[int, Schedule] = {}
        for folder in self.schedule_dirs:
            for path in sorted(Path(folder).glob("*.toml")):
                sched = load_schedule(path)
                found[sched.year] = sched
        return found

    def ensure_year(self, year: int) -> None:
        """Refuse a year that neither a schedule file nor the package covers."""
        if year in self.schedules or year in self._checked:
            return
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            folder = self.schedule_dirs[0]
            raise CalendarError(
                f"{year} 年的法定节假日和调休安排不在 chinesecalendar 中，无法计算工作日。"
                f"请按国务院办公厅公布的安排在 {folder / f'{year}.toml'} 提供日程文件"
                f"（格式见 {CALENDARS_DIR / 'README.md'}）。"
            ) from None
        self._checked.add(year)

    def is_workday(self, day: date) -> bool:
        self.ensure_year(day.year)
        sched = self.schedules.get(day.year)
        return sched.is_workday(day) if sched else chinese_calendar.is_workday(day)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself is not counted)."""
        day, left = start, n
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def table(self, start: date, end: date) -> pa.Table:
        """Every day in [start, end] with ``is_workday`` and ``wd_index`` (working days so far)."""
        days, flags, index, count = [], [], [], 0
        day = start
        while day <= end:
            work = self.is_workday(day)
            count += work
            days.append(day)
            flags.append(work)
            index.append(count)
            day += timedelta(days=1)
        import pyarrow as pa  # here, not at the top: ``sgs validate`` loads the calendar but never builds a table

        return pa.table({"day": days, "is_workday": flags, "wd_index": index})

    def register(self, con: duckdb.DuckDBPyConnection, start: date, end: date, name: str = "workdays") -> None:
        """Make the calendar a table for set-based SQL (deadlines become a join, not a loop)."""
        con.register(f"_{name}", self.table(start, end))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _{name}")
        con.unregister(f"_{name}")


def default_calendar(extra_dirs: tuple[Path, ...] = ()) -> Calendar:
    """The shipped schedules, then the deployment's (``SGS_CALENDARS``), then a command's own: a later folder's
    file for a year wins. A configured folder that does not exist is refused, naming the setting."""
    configured = calendar_dirs()
    for folder in configured:
        if not folder.is_dir():
            raise CalendarError(f"环境变量 SGS_CALENDARS 指定的节假日安排文件夹 {folder} 不存在或不是文件夹。")
    return Calendar((CALENDARS_DIR, *configured, *extra_dirs))

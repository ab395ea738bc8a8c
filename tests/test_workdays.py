"""The official working-day calendar: holidays, 调休 make-up days, year boundaries, uncovered years."""
from __future__ import annotations

import os
from datetime import date

import duckdb
import pytest

from core.workdays import Calendar, CalendarError, default_calendar


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return default_calendar()


def _deadline_sql(cal: Calendar, decided: date, n: int = 7) -> date:
    """The deadline as the scorer computes it: a join on the registered working-day table."""
    con = duckdb.connect()
    try:
        cal.register(con, decided, date(decided.year + 1, 1, 31) if decided.month == 12 else
                     date(decided.year, decided.month + 1, 28))
        return con.execute(
            """SELECT d.day FROM workdays j JOIN workdays d ON d.is_workday AND d.wd_index = j.wd_index + ?
               WHERE j.day = ?""", [n, decided]).fetchall()[0][0]
    finally:
        con.close()


def test_national_day_2026_policy_example(cal):
    """Decided 09-25 (中秋, a day off): 09-28/29/30, 10-08/09, Saturday 10-10 (调休) and 10-12."""
    assert not cal.is_workday(date(2026, 9, 25))
    assert cal.add_workdays(date(2026, 9, 25), 7) == date(2026, 10, 12)
    assert _deadline_sql(cal, date(2026, 9, 25)) == date(2026, 10, 12)


def test_spring_festival_2026(cal):
    assert not any(cal.is_workday(date(2026, 2, d)) for d in range(15, 24))  # 02-15 … 02-23 off
    assert cal.is_workday(date(2026, 2, 14)) and cal.is_workday(date(2026, 2, 28))  # Saturdays worked
    assert cal.add_workdays(date(2026, 2, 13), 7) == date(2026, 3, 2)
    assert _deadline_sql(cal, date(2026, 2, 13)) == date(2026, 3, 2)


def test_make_up_saturday_counts(cal):
    """Saturday 2026-10-10 is a 调休 working day; the Saturday after is not."""
    assert cal.is_workday(date(2026, 10, 10)) and not cal.is_workday(date(2026, 10, 17))
    assert cal.add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_year_boundary_with_new_year(cal):
    """Decided 2025-12-31: 2026-01-01..03 off, Sunday 01-04 worked, so the 7th working day is 01-12."""
    assert cal.is_workday(date(2026, 1, 4)) and not cal.is_workday(date(2026, 1, 2))
    assert cal.add_workdays(date(2025, 12, 31), 7) == date(2026, 1, 12)
    assert _deadline_sql(cal, date(2025, 12, 31)) == date(2026, 1, 12)


def test_uncovered_year_is_refused(cal):
    with pytest.raises(CalendarError, match="2035"):
        cal.is_workday(date(2035, 5, 6))
    with pytest.raises(CalendarError, match="2099"):
        cal.table(date(2099, 1, 1), date(2099, 1, 10))


def test_user_schedule_file_covers_a_year(tmp_path):
    (tmp_path / "2035.toml").write_text(
        'year = 2035\nsource = "测试安排"\nholidays = ["2035-01-01", "2035-01-02"]\nworkdays = ["2035-01-06"]\n',
        encoding="utf-8")
    cal = default_calendar((tmp_path,))
    assert not cal.is_workday(date(2035, 1, 1)) and not cal.is_workday(date(2035, 1, 2))
    assert cal.is_workday(date(2035, 1, 6))  # a Saturday made a working day
    assert cal.is_workday(date(2035, 1, 3)) and not cal.is_workday(date(2035, 1, 7))  # ordinary days
    assert cal.add_workdays(date(2035, 1, 1), 7) == date(2035, 1, 10)  # 3,4,5,6(Sat),8,9,10


def test_deployment_schedules_reach_every_default_calendar(tmp_path, monkeypatch):
    """SGS_CALENDARS: the office's own folder counts wherever a deadline is counted (default_calendar), and a
    later folder's file wins; a folder that is not there is refused in Chinese, naming the setting."""
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    for folder, holidays in ((theirs, '["2035-01-01"]'), (ours, '["2035-01-01", "2035-01-02"]')):
        folder.mkdir()
        (folder / "2035.toml").write_text(f'year = 2035\nholidays = {holidays}\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="2035"):
        default_calendar().is_workday(date(2035, 1, 2))
    monkeypatch.setenv("SGS_CALENDARS", str(theirs))
    assert default_calendar().is_workday(date(2035, 1, 2))
    assert not default_calendar((ours,)).is_workday(date(2035, 1, 2))  # a command's own folder comes last
    monkeypatch.setenv("SGS_CALENDARS", f"{theirs}{os.pathsep}{tmp_path / 'missing'}")
    with pytest.raises(CalendarError, match="SGS_CALENDARS.*missing"):
        default_calendar()


def test_schedule_file_for_the_wrong_year_is_an_error(tmp_path):
    (tmp_path / "2035.toml").write_text('year = 2035\nholidays = ["2036-01-01"]\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="2036-01-01"):
        Calendar((tmp_path,)).schedules

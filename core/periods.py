"""Assessment periods: a quarter (``2026Q3``) or a month (``2026-07``), as assessors name them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from core.errors import InputError

_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-?(0[1-9]|1[0-2])")


class PeriodError(InputError, ValueError):
    """The text is not a period sgs knows."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.label

    def previous(self) -> "Period":
        return parse_period(_shift(self, -1))

    def next(self) -> "Period":
        """The following period of the same granularity (2026Q3 → 2026Q4, 2026-12 → 2027-01)."""
        return parse_period(_shift(self, 1))

    def months(self) -> list["Period"]:
        if not self.is_quarter:
            return [self]
        return [parse_period(f"{self.start.year}-{m:02d}") for m in range(self.start.month, self.start.month + 3)]


def parse_period(text: str) -> Period:
    t = (text or "").strip()
    if m := _QUARTER.fullmatch(t):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        return Period(f"{year}Q{q}", start, _month_end(date(year, 3 * q, 1)))
    if m := _MONTH.fullmatch(t):
        start = date(int(m[1]), int(m[2]), 1)
        return Period(f"{start:%Y-%m}", start, _month_end(start))
    raise PeriodError(f"无法识别的评估期间 {text!r}：季度写作 2026Q3，月份写作 2026-07。")


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _shift(p: Period, step: int) -> str:
    if p.is_quarter:
        q = (p.start.month - 1) // 3 + step
        return f"{p.start.year + q // 4}Q{q % 4 + 1}"
    m = p.start.month - 1 + step
    return f"{p.start.year + m // 12}-{m % 12 + 1:02d}"

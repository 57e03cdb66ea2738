"""Evaluation years, as-of dates and the Quý I window (spec §5–§6, digest §6.2, §12.3, §12.13).

Every date rule of the scoring core lives here so that "which year does this belong to" has one answer: an
evaluation year Y of a unit type runs from the day after its period end in Y−1 to its period end in Y (KDC
01/11–31/10, the others 16/11–15/11), a snapshot belongs to the year containing its month's last day, and a
monthly run looks at the year containing the run month's last day, as of that day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from datetime import date


@lru_cache(maxsize=512)
def month_end(period: str) -> date:
    """Last day of a YYYY-MM month: the day a snapshot describes and a monthly run is as of."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


@dataclass(frozen=True)
class Window:
    """One evaluation year of one unit type, seen as of a day.

    `final` marks the annual evaluation (`report --year`): it never answers "not due yet".
    """

    unit_type: str
    year: int
    start: date
    end: date
    as_of: date
    final: bool

    @property
    def ended(self) -> bool:
        """A period has ended when the as-of day is on or after its last day (spec §6)."""
        return self.as_of >= self.end

    @property
    def q1_start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def q1_end(self) -> date:
        return date(self.year, 3, 31)

    @property
    def q1_open(self) -> bool:
        """Quý I has not closed yet: an unmet khoản-1 criterion is still "chưa đến hạn" (digest §12.3)."""
        return self.as_of <= self.q1_end

    def in_q1(self, day: date) -> bool:
        return self.q1_start <= day <= self.q1_end

    def counts(self, day: date) -> bool:
        """An event dated `day` counts in this window: inside the year and not after the as-of day."""
        return self.start <= day <= min(self.end, self.as_of)

    @cached_property     # asked for by every criterion of every unit (writes __dict__: fine on a frozen class)
    def months(self) -> tuple[str, ...]:
        """The months whose snapshots belong to this year: those whose last day lies inside the period."""
        months, period = [], month_of(self.start)
        while month_end(period) <= self.end:
            if month_end(period) >= self.start:
                months.append(period)
            period = next_month(period)
        return tuple(months)

    @property
    def closing_months(self) -> tuple[str, str]:
        """The month the period ends in and the next one: year-end results for this year may arrive then (§12.8)."""
        return month_of(self.end), next_month(month_of(self.end))

    @cached_property     # asked for by every unit
    def snapshot_months(self) -> tuple[frozenset[str], frozenset[str]]:
        """The months whose snapshots give this year's values: (ordinary fields, year-end fields). A year-end
        result may come from the closing months, and the previous year's closing months keep theirs (§12.8)."""
        own = frozenset(self.months)
        return own, (own - set(self.previous().closing_months)) | set(self.closing_months)

    def previous(self) -> Window:
        """The whole previous evaluation year, as of its end: the YoY baseline (digest §12.4)."""
        return self._previous

    @cached_property     # asked for by every unit: one object, so its own `months` is computed once too
    def _previous(self) -> Window:
        start, end = self.start.replace(year=self.start.year - 1), self.end.replace(year=self.end.year - 1)
        return replace(self, year=self.year - 1, start=start, end=end, as_of=end, final=True)


def window(info, *, period: str | None = None, year: int | None = None) -> Window:
    """The window a run scores for one unit type (catalog UnitTypeInfo): a monthly `period` or the final `year`."""
    if (period is None) == (year is None):
        raise ValueError("score() needs exactly one of period='YYYY-MM' or year=Y")
    as_of = month_end(period) if period is not None else None
    y = info.year_of(as_of) if as_of else year
    start, end = info.period(y)
    return Window(info.code, y, start, end, as_of or end, final=period is None)

"""When recurring messages fall due: the regular check-in, the monthly Wheel, digests and
summaries, each at a local hour in the person's own time zone. Occurrences are computed
from local dates, so an hour stays the same local hour across daylight-saving changes."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FREQUENCIES = ("daily", "weekly", "fortnightly", "monthly")


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    weekday: int  # 0 = Monday; used by weekly and fortnightly
    hour: int
    zone: ZoneInfo

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.hour), tzinfo=self.zone).astimezone(UTC)

    def first_after(self, moment: datetime, start: date | None = None) -> datetime:
        """The first occurrence strictly after ``moment``. A monthly series falls on the
        day of the month of ``start`` (the local date of ``moment`` when not given)."""
        local = moment.astimezone(self.zone).date()
        if self.frequency == "monthly":
            anchor = start or local
            day = _month_day(local.year, local.month, anchor.day)
            while self._at(day) <= moment:
                day = add_month(day, anchor.day)
            return self._at(day)
        day = local
        if self.frequency != "daily":
            day += timedelta(days=(self.weekday - day.weekday()) % 7)
        while self._at(day) <= moment:
            day += timedelta(days=1 if self.frequency == "daily" else 7)
        return self._at(day)

    def following(self, occurrence: datetime, anchor_day: int | None = None) -> datetime:
        """The occurrence after ``occurrence``."""
        day = occurrence.astimezone(self.zone).date()
        if self.frequency == "monthly":
            return self._at(add_month(day, anchor_day or day.day))
        step = {"daily": 1, "weekly": 7, "fortnightly": 14}[self.frequency]
        return self._at(day + timedelta(days=step))


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_month(day: date, anchor_day: int) -> date:
    """The same day of the next month (the month's last day when it is shorter)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return _month_day(year, month, anchor_day)

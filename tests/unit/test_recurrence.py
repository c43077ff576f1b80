"""Recurring occurrences in a person's own time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.recurrence import Recurrence, add_month

RIGA = ZoneInfo("Europe/Riga")


def test_weekly_keeps_the_local_hour_across_the_last_sunday_of_march() -> None:
    monday_ten = Recurrence("weekly", 0, 10, RIGA)
    first = monday_ten.first_after(datetime(2027, 3, 17, 12, tzinfo=UTC))
    assert first == datetime(2027, 3, 22, 8, tzinfo=UTC)  # UTC+2
    after_change = monday_ten.following(first)
    assert after_change == datetime(2027, 3, 29, 7, tzinfo=UTC)  # UTC+3 from 28 March
    assert after_change.astimezone(RIGA).hour == 10


def test_weekly_keeps_the_local_hour_across_the_last_sunday_of_october() -> None:
    monday_ten = Recurrence("weekly", 0, 10, RIGA)
    first = monday_ten.first_after(datetime(2026, 10, 20, tzinfo=UTC))
    assert first == datetime(2026, 10, 26, 8, tzinfo=UTC)  # UTC+2 from 25 October
    assert monday_ten.following(datetime(2026, 10, 19, 7, tzinfo=UTC)) == first


def test_the_first_occurrence_is_strictly_later() -> None:
    monday_ten = Recurrence("weekly", 0, 10, RIGA)
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 10:00 in Riga
    assert monday_ten.first_after(at) == datetime(2026, 12, 7, 8, tzinfo=UTC)
    assert monday_ten.first_after(at - timedelta(hours=1)) == at


def test_daily_fortnightly_and_monthly() -> None:
    daily = Recurrence("daily", 0, 9, RIGA)
    assert daily.first_after(datetime(2026, 11, 25, 7, 30, tzinfo=UTC)) == datetime(
        2026, 11, 26, 7, tzinfo=UTC
    )
    fortnightly = Recurrence("fortnightly", 2, 18, RIGA)
    first = fortnightly.first_after(datetime(2026, 11, 25, 7, tzinfo=UTC))
    assert first == datetime(2026, 11, 25, 16, tzinfo=UTC)
    assert fortnightly.following(first) == datetime(2026, 12, 9, 16, tzinfo=UTC)
    monthly = Recurrence("monthly", 0, 10, RIGA)
    january = monthly.first_after(datetime(2027, 1, 31, 9, tzinfo=UTC), start=date(2027, 1, 31))
    assert january == datetime(2027, 2, 28, 8, tzinfo=UTC)
    assert monthly.following(january, anchor_day=31) == datetime(2027, 3, 31, 7, tzinfo=UTC)


def test_a_month_later_keeps_the_day_where_the_month_has_it() -> None:
    assert add_month(date(2026, 12, 15), 15) == date(2027, 1, 15)
    assert add_month(date(2027, 1, 31), 31) == date(2027, 2, 28)
    assert add_month(date(2027, 2, 28), 31) == date(2027, 3, 31)

"""Quiet hours and pauses, in the person's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.quiet import allowed_at, in_quiet_hours

RIGA = ZoneInfo("Europe/Riga")


def test_a_message_due_at_night_waits_for_the_morning() -> None:
    # 23:30 in Riga (UTC+2 in November) is quiet; it goes at 08:00 local the next day.
    due = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    assert allowed_at(due, RIGA, 21, 8) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    # 05:00 local is quiet too; it goes at 08:00 the same day.
    early = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert allowed_at(early, RIGA, 21, 8) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    noon = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert allowed_at(noon, RIGA, 21, 8) == noon


def test_quiet_hours_end_at_local_time_across_daylight_saving() -> None:
    # The night of the last Sunday of March 2027: the morning after is in summer time (UTC+3).
    night = datetime(2027, 3, 27, 22, 0, tzinfo=UTC)
    assert allowed_at(night, RIGA, 21, 8) == datetime(2027, 3, 28, 5, 0, tzinfo=UTC)


def test_a_pause_defers_and_quiet_hours_still_count_after_it() -> None:
    due = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    paused = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # 22:00 local: quiet
    assert allowed_at(due, RIGA, 21, 8, paused) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_no_quiet_hours_when_from_equals_to() -> None:
    due = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
    assert allowed_at(due, RIGA, 0, 0) == due


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(0, 23),
    st.integers(0, 23),
)
def test_the_allowed_moment_is_never_earlier_and_never_quiet(
    naive: datetime, quiet_from: int, quiet_to: int
) -> None:
    due = naive.replace(tzinfo=UTC)
    at = allowed_at(due, RIGA, quiet_from, quiet_to)
    assert at >= due
    assert not in_quiet_hours(at.astimezone(RIGA).hour, quiet_from, quiet_to)

"""Quiet hours and pauses, in the person's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.quiet import allowed_at, in_quiet_hours, last_before_quiet

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


ZONES = ("Europe/Riga", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")
# The nights around daylight-saving changes east and west of UTC (Riga, New York, Sydney).
CHANGES = (
    datetime(2027, 3, 14, 7),
    datetime(2027, 3, 28, 1),
    datetime(2027, 4, 4, 16),
    datetime(2027, 10, 3, 16),
    datetime(2027, 10, 31, 1),
    datetime(2027, 11, 7, 6),
)


def moments() -> st.SearchStrategy[datetime]:
    """Any moment, or one within two days of a daylight-saving change."""
    near_change = st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(CHANGES),
        st.integers(-48 * 60, 48 * 60),
    )
    anywhere = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1))
    return st.one_of(near_change, anywhere).map(lambda naive: naive.replace(tzinfo=UTC))


@given(moments(), st.sampled_from(ZONES), st.integers(0, 23), st.integers(0, 23))
def test_the_allowed_moment_is_the_first_that_is_not_quiet(
    due: datetime, name: str, quiet_from: int, quiet_to: int
) -> None:
    zone = ZoneInfo(name)
    at = allowed_at(due, zone, quiet_from, quiet_to)
    assert at >= due
    assert not in_quiet_hours(at.astimezone(zone).hour, quiet_from, quiet_to)
    # Nothing earlier would do: every minute from the due moment to it is quiet.
    if at > due:
        assert at - due <= timedelta(hours=25)
        step = max(timedelta(minutes=1), (at - due) / 200)
        moment = due
        while moment < at:
            assert in_quiet_hours(moment.astimezone(zone).hour, quiet_from, quiet_to)
            moment += step
        assert in_quiet_hours(
            (at - timedelta(minutes=1)).astimezone(zone).hour, quiet_from, quiet_to
        )


@given(moments(), st.sampled_from(ZONES), moments())
def test_after_a_pause_the_quiet_hours_still_count(
    due: datetime, name: str, paused_until: datetime
) -> None:
    zone = ZoneInfo(name)
    at = allowed_at(due, zone, 21, 8, paused_until)
    assert at >= max(due, paused_until)
    assert not in_quiet_hours(at.astimezone(zone).hour, 21, 8)


def test_new_york_s_quiet_hours_end_at_eight_across_both_changes() -> None:
    new_york = ZoneInfo("America/New_York")
    # The night of 13 to 14 March 2027: 08:00 is EDT (UTC-4) the morning after.
    assert allowed_at(datetime(2027, 3, 14, 3, 0, tzinfo=UTC), new_york, 21, 8) == datetime(
        2027, 3, 14, 12, 0, tzinfo=UTC
    )
    # The night of 6 to 7 November 2027: 08:00 is EST (UTC-5) again.
    assert allowed_at(datetime(2027, 11, 7, 3, 0, tzinfo=UTC), new_york, 21, 8) == datetime(
        2027, 11, 7, 13, 0, tzinfo=UTC
    )


def test_a_reminder_due_at_night_comes_the_evening_before() -> None:
    # 06:30 in Riga is quiet (21-08): the last minute before is 20:59 the evening before.
    dawn = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    assert last_before_quiet(dawn, RIGA, 21, 8) == datetime(2026, 11, 29, 18, 59, tzinfo=UTC)
    # 22:00 in New York is quiet since 21:00 the same evening.
    new_york = ZoneInfo("America/New_York")
    late = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert last_before_quiet(late, new_york, 21, 8) == datetime(2026, 12, 1, 1, 59, tzinfo=UTC)
    noon = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert last_before_quiet(noon, RIGA, 21, 8) == noon


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(["Europe/Riga", "America/New_York", "Asia/Tokyo"]),
    st.integers(0, 23),
    st.integers(0, 23),
)
def test_what_comes_before_quiet_hours_is_never_in_them(
    naive: datetime, zone_name: str, quiet_from: int, quiet_to: int
) -> None:
    zone = ZoneInfo(zone_name)
    moment = naive.replace(tzinfo=UTC)
    before = last_before_quiet(moment, zone, quiet_from, quiet_to)
    assert before <= moment
    assert not in_quiet_hours(before.astimezone(zone).hour, quiet_from, quiet_to)
    assert moment - before < timedelta(hours=25)

"""When the bot may start a message to a person: not in their quiet hours, not while
they paused reminders."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(hour: int, quiet_from: int, quiet_to: int) -> bool:
    if quiet_from == quiet_to:
        return False
    if quiet_from > quiet_to:  # over midnight, such as 21-08
        return hour >= quiet_from or hour < quiet_to
    return quiet_from <= hour < quiet_to


def allowed_at(
    moment: datetime,
    zone: ZoneInfo,
    quiet_from: int,
    quiet_to: int,
    paused_until: datetime | None = None,
) -> datetime:
    """The first moment at or after ``moment`` (UTC) that is neither paused nor quiet."""
    at = max(moment, paused_until) if paused_until is not None else moment
    local = at.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet_from, quiet_to):
        return at
    day = local.date() if local.hour < quiet_to else local.date() + timedelta(days=1)
    return datetime.combine(day, time(quiet_to), tzinfo=zone).astimezone(UTC)


def last_before_quiet(moment: datetime, zone: ZoneInfo, quiet_from: int, quiet_to: int) -> datetime:
    """``moment`` (UTC) itself when it is not quiet, else the last minute before the quiet
    hours it falls in began: a reminder due in the night comes the evening before."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet_from, quiet_to):
        return moment
    began = local.date() if local.hour >= quiet_from else local.date() - timedelta(days=1)
    start = datetime.combine(began, time(quiet_from), tzinfo=zone)
    return (start - timedelta(minutes=1)).astimezone(UTC)

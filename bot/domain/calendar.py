"""A meeting as a calendar invitation (RFC 5545), and the times that suit both sides of a
pair, from the availability they gave in their intakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.domain.texts import Msg, msg_from_json, msg_to_json

MEETING_LENGTH = timedelta(hours=1)
PRODUCT = "-//mentorbot//meetings//EN"

# What each availability choice of the intake means, in the person's own time: the days
# (Monday is 0) and the hours.
SLOTS: dict[str, tuple[frozenset[int], time, time]] = {
    "weekday_morning": (frozenset(range(5)), time(8), time(12)),
    "weekday_day": (frozenset(range(5)), time(12), time(17)),
    "weekday_evening": (frozenset(range(5)), time(17), time(21)),
    "weekend": (frozenset({5, 6}), time(10), time(18)),
}


@dataclass(frozen=True)
class CalendarEvent:
    """One version of a meeting's event: the same ``uid`` for every change and the
    cancellation, each with a higher ``sequence``, so a calendar updates the one event."""

    uid: str
    sequence: int
    starts_at: datetime
    zone: ZoneInfo
    summary: Msg
    description: Msg | None = None
    location: str = ""
    cancelled: bool = False

    @property
    def file_name(self) -> str:
        return "meeting-cancelled.ics" if self.cancelled else "meeting.ics"

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "sequence": self.sequence,
            "starts_at": self.starts_at.astimezone(UTC).isoformat(),
            "zone": self.zone.key,
            "summary": msg_to_json(self.summary),
            "description": msg_to_json(self.description) if self.description else None,
            "location": self.location,
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalendarEvent:
        return cls(
            uid=data["uid"],
            sequence=data["sequence"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            zone=ZoneInfo(data["zone"]),
            summary=msg_from_json(data["summary"]),
            description=msg_from_json(data["description"]) if data["description"] else None,
            location=data["location"],
            cancelled=data["cancelled"],
        )


def calendar_file(
    invitation: CalendarEvent, summary: str, description: str, stamp: datetime
) -> bytes:
    """The .ics file, its times in the reader's own zone (with that zone's definition);
    ``summary`` and ``description`` are the invitation's texts in the reader's language."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if invitation.cancelled else "PUBLISH")
    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    local = invitation.starts_at.astimezone(invitation.zone)
    event.add("dtstart", local)
    event.add("dtend", local + MEETING_LENGTH)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if invitation.location:
        event.add("location", invitation.location)
        event.add("url", invitation.location)
    event.add("status", "CANCELLED" if invitation.cancelled else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _windows(
    slots: frozenset[str], zone: ZoneInfo, days: list[date]
) -> list[tuple[datetime, datetime]]:
    """The person's available hours on those days, as UTC intervals."""
    windows = []
    for day in days:
        for name in slots:
            weekdays, start, end = SLOTS[name]
            if day.weekday() in weekdays:
                windows.append(
                    (
                        datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
                        datetime.combine(day, end, tzinfo=zone).astimezone(UTC),
                    )
                )
    return sorted(windows)


def common_times(
    first: tuple[frozenset[str], ZoneInfo],
    second: tuple[frozenset[str], ZoneInfo],
    after: datetime,
    days: int = 7,
    limit: int = 3,
) -> list[tuple[datetime, datetime]]:
    """The first few stretches of at least a meeting's length in the coming ``days`` when
    both are available (each side's availability in their own zone, daylight saving
    included), as UTC intervals, the earliest first."""
    # From the next half hour: a meeting is set at a round time.
    after = after.astimezone(UTC).replace(second=0, microsecond=0)
    after += timedelta(minutes=-after.minute % 30)
    start_day = after.date() - timedelta(days=1)
    span = [start_day + timedelta(days=n) for n in range(days + 2)]
    found = []
    for a_start, a_end in _windows(first[0], first[1], span):
        for b_start, b_end in _windows(second[0], second[1], span):
            start, end = (
                max(a_start, b_start, after),
                min(a_end, b_end, after + timedelta(days=days)),
            )
            if end - start >= MEETING_LENGTH:
                found.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged[:limit]

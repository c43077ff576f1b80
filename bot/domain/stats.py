"""A cohort's figures, as the statistics page shows them; and the small sums behind them.
Pure: the queries that feed it are in bot/storage/stats.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.domain.pairs import PairStatus

PENDING_PAIRS = (PairStatus.PROPOSED, PairStatus.REQUESTED)


@dataclass
class CohortStats:
    cohort: str
    # (role, membership status) -> people
    people: dict[tuple[str, str], int] = field(default_factory=dict)
    # pair status -> pairs
    pairs: dict[str, int] = field(default_factory=dict)
    mentees: int = 0
    matched_mentees: int = 0
    # hours from a pair's start to its first relayed message, for each pair that has one
    first_contact_hours: list[float] = field(default_factory=list)
    # dialog id -> finished sessions
    dialogs: dict[str, int] = field(default_factory=dict)
    checkins_asked: int = 0
    checkins_answered: int = 0
    checkins_done: int = 0
    # (Monday of the week, average mood, check-ins)
    mood: list[tuple[date, float, int]] = field(default_factory=list)
    commitments: dict[str, int] = field(default_factory=dict)  # done, overdue, open, dropped
    # area -> (average change from the first to the latest rating, people with two ratings)
    wheel_change: dict[str, tuple[float, int]] = field(default_factory=dict)

    def pair_count(self, *statuses: str) -> int:
        return sum(self.pairs.get(status, 0) for status in statuses)

    @property
    def match_rate(self) -> float | None:
        return self.matched_mentees / self.mentees if self.mentees else None

    @property
    def median_first_contact_hours(self) -> float | None:
        return median(self.first_contact_hours)

    @property
    def checkin_response_rate(self) -> float | None:
        return self.checkins_answered / self.checkins_asked if self.checkins_asked else None


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def weekly(days: Iterable[tuple[date, int, int]]) -> list[tuple[date, float, int]]:
    """(day, sum, count) per day -> (Monday, average, count) per week, oldest first."""
    weeks: dict[date, tuple[int, int]] = {}
    for day, total, count in days:
        monday = day - timedelta(days=day.weekday())
        before = weeks.get(monday, (0, 0))
        weeks[monday] = (before[0] + total, before[1] + count)
    return [
        (monday, total / count, count) for monday, (total, count) in sorted(weeks.items()) if count
    ]


def stats_to_json(stats: CohortStats) -> dict[str, Any]:
    """The figures as kept once the cohort's people's data is purged (cohort_statistics)."""
    return {
        "cohort": stats.cohort,
        "people": [[role, status, n] for (role, status), n in stats.people.items()],
        "pairs": stats.pairs,
        "mentees": stats.mentees,
        "matched_mentees": stats.matched_mentees,
        "first_contact_hours": stats.first_contact_hours,
        "dialogs": stats.dialogs,
        "checkins_asked": stats.checkins_asked,
        "checkins_answered": stats.checkins_answered,
        "checkins_done": stats.checkins_done,
        "mood": [[monday.isoformat(), average, n] for monday, average, n in stats.mood],
        "commitments": stats.commitments,
        "wheel_change": {area: [change, n] for area, (change, n) in stats.wheel_change.items()},
    }


def stats_from_json(data: dict[str, Any]) -> CohortStats:
    return CohortStats(
        cohort=str(data["cohort"]),
        people={(role, status): int(n) for role, status, n in data["people"]},
        pairs={k: int(v) for k, v in data["pairs"].items()},
        mentees=int(data["mentees"]),
        matched_mentees=int(data["matched_mentees"]),
        first_contact_hours=[float(h) for h in data["first_contact_hours"]],
        dialogs={k: int(v) for k, v in data["dialogs"].items()},
        checkins_asked=int(data["checkins_asked"]),
        checkins_answered=int(data["checkins_answered"]),
        checkins_done=int(data["checkins_done"]),
        mood=[(date.fromisoformat(d), float(a), int(n)) for d, a, n in data["mood"]],
        commitments={k: int(v) for k, v in data["commitments"].items()},
        wheel_change={k: (float(c), int(n)) for k, (c, n) in data["wheel_change"].items()},
    )

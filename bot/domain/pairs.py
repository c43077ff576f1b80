"""A mentoring pair's states and the moves between them. Pure: the services apply them.

    proposed  -> active | excluded           (the coordinator approves or excludes)
    requested -> active | declined | expired (the mentor answers, or does not in time)
    active    -> paused | ended
    paused    -> active | ended

A pair is born proposed (by matching) or requested (by a mentee who chooses); ended,
excluded, declined and expired are final. A new proposal deletes the old proposed pairs
rather than moving them. Below them, a running pair's health: a traffic light and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.texts import Msg


class PairStatus(StrEnum):
    PROPOSED = "proposed"
    REQUESTED = "requested"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"
    EXCLUDED = "excluded"
    DECLINED = "declined"
    EXPIRED = "expired"


# The states a pair can be created in.
INITIAL = frozenset({PairStatus.PROPOSED, PairStatus.REQUESTED})
TRANSITIONS: dict[PairStatus, frozenset[PairStatus]] = {
    PairStatus.PROPOSED: frozenset({PairStatus.ACTIVE, PairStatus.EXCLUDED}),
    PairStatus.REQUESTED: frozenset({PairStatus.ACTIVE, PairStatus.DECLINED, PairStatus.EXPIRED}),
    PairStatus.ACTIVE: frozenset({PairStatus.PAUSED, PairStatus.ENDED}),
    PairStatus.PAUSED: frozenset({PairStatus.ACTIVE, PairStatus.ENDED}),
    PairStatus.ENDED: frozenset(),
    PairStatus.EXCLUDED: frozenset(),
    PairStatus.DECLINED: frozenset(),
    PairStatus.EXPIRED: frozenset(),
}
# A pair in one of these states keeps the mentor's place taken.
HOLDING = (PairStatus.ACTIVE, PairStatus.PAUSED, PairStatus.REQUESTED)
# Pairs in these states are never proposed or suggested again.
SPENT = (PairStatus.EXCLUDED, PairStatus.ENDED, PairStatus.DECLINED, PairStatus.EXPIRED)
# The pairs a coordinator manages (/pairs): they can be paused, resumed or ended.
RUNNING = (PairStatus.ACTIVE, PairStatus.PAUSED)


class ForbiddenTransition(ValueError):
    def __init__(self, current: str, to: str) -> None:
        super().__init__(f"a pair cannot go from {current} to {to}")
        self.current, self.to = current, to


def can_move(current: str, to: str) -> bool:
    """Whether a pair in ``current`` may go to ``to`` (either may be any text: an unknown
    state allows nothing)."""
    try:
        return PairStatus(to) in TRANSITIONS[PairStatus(current)]
    except ValueError:
        return False


def move(current: str, to: PairStatus) -> PairStatus:
    """The new state, or ForbiddenTransition."""
    if not can_move(current, to):
        raise ForbiddenTransition(current, to)
    return to


# A pair's health (bot/services/pulse.py decides it) -------------------------------


class Light(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def symbol(self) -> str:
        return {"green": "🟢", "amber": "🟡", "red": "🔴"}[self.value]


@dataclass
class Health:
    """A pair's traffic light and why."""

    light: Light = Light.GREEN
    reasons: list[Msg] = field(default_factory=list)

    def worse(self, light: Light, reason: Msg) -> None:
        order = list(Light)
        if order.index(light) > order.index(self.light):
            self.light = light
        self.reasons.append(reason)

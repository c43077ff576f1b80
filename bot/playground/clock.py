"""The playground's time: the wall clock moved forward by as much as the page asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ShiftedClock:
    """A Clock (bot/services/clock.py) that runs with the wall clock, ``ahead`` in front."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def advance(self, by: timedelta) -> None:
        if by <= timedelta():
            raise ValueError("the playground's time only moves forward")
        self.ahead += by

"""Telegram's limits: how long a message must wait before it may go, and which goes first.

All messages together: a token bucket (default 25 a second, under Telegram's 30).
One chat: a schedule of reserved moments, about one a second in a private chat and
one every three seconds in a group (20 a minute). Lanes: what a person is waiting for
goes before what the bot starts on its schedule, and both before bulk sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

# Tokens come this much slower than the configured rate: requests do not arrive exactly as
# spaced, and the rate's 26th message must not reach Telegram within the second of the first.
SPACING_MARGIN = 1.02
# A sleep ends a little late (the event loop's turn comes when it comes): the bucket may
# hold this many seconds' worth beyond its one token, so that lateness is not lost from
# the rate, and still no second holds more than the rate (1 + 0.25 + 24.5 < 26 at 25/s).
LATENESS_SECONDS = 0.01


class Lane(IntEnum):
    """Claim order: a lower lane's due rows are claimed first."""

    PERSON = 0  # caused by what someone just did, or a reminder of their own
    SCHEDULED = 1  # check-ins, digests, nudges: the bot's own schedule
    BULK = 2  # one row per recipient of a broadcast or a poll


# Outbox kinds by lane (the constants live with the services that write them;
# tests/unit/test_pacing.py checks these names against them). Any other kind is SCHEDULED.
PERSON_KINDS = frozenset(
    {"relay", "summary", "notice", "meeting", "commitment_reminder", "meet_reminder"}
)
BULK_KINDS = frozenset({"broadcast", "poll", "quiz"})


def lane_of(kind: str) -> Lane:
    if kind in PERSON_KINDS:
        return Lane.PERSON
    if kind in BULK_KINDS:
        return Lane.BULK
    return Lane.SCHEDULED


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0 when one is there now)."""
        self._refill(now)
        # A token earned but for a rounding error is there.
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate

    def empty(self, now: float) -> None:
        """No token until the next one is earned (after Telegram asked for a pause)."""
        self.tokens, self.updated = 0.0, now

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


def send_rate(rate: float, now: float) -> TokenBucket:
    """The bucket of a configured rate: no burst above it, none of it lost to late sleeps."""
    spaced = rate / SPACING_MARGIN
    return TokenBucket(spaced, burst=1.0 + LATENESS_SECONDS * spaced, updated=now)


@dataclass
class ChatSchedule:
    # A tenth above Telegram's figures: requests do not arrive exactly as spaced.
    private_interval: float = 1.1
    group_interval: float = 3.3
    next_free: dict[int, float] = field(default_factory=dict)

    def reserve(self, chat_id: int, now: float) -> float:
        """Book the chat's next free moment; returns how long from now that is."""
        start = max(now, self.next_free.get(chat_id, now))
        interval = self.group_interval if chat_id < 0 else self.private_interval
        self.next_free[chat_id] = start + interval
        if len(self.next_free) > 100_000:
            self.next_free = {c: t for c, t in self.next_free.items() if t > now}
        return start - now

    def release(self, chat_id: int, delay: float, now: float) -> None:
        """Give back a moment booked ``delay`` from now that will not be used."""
        interval = self.group_interval if chat_id < 0 else self.private_interval
        if self.next_free.get(chat_id) == now + delay + interval:
            self.next_free[chat_id] = now + delay

"""How fast one person may send updates: a token bucket each.

A person may send ``burst`` updates at once and then ``rate`` a second; what comes faster
is dropped. The first update dropped in a flood is the one to answer with a request to
slow down; the rest of the flood is dropped silently. A flood is over once the person's
bucket is full again (they have been calm for ``burst / rate`` seconds at most): a full
bucket is as good as none, so it is forgotten, and memory holds only the people who sent
something lately. The messages of one album (Telegram sends each photo of an album as a
message of its own) take one token between them.

Time is passed in (seconds on any steady clock); nothing here sleeps or waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.domain.pacing import TokenBucket


class Verdict(Enum):
    PASS = "pass"  # handle the update
    WARN = "warn"  # drop it, and ask the person to slow down
    DROP = "drop"  # drop it; the person was asked already


@dataclass
class _Bucket(TokenBucket):
    warned: bool = False
    album: str | None = None  # the album of the last update let through


class FloodLimit:
    def __init__(self, burst: int, rate: float) -> None:
        """``burst`` updates at once, then ``rate`` a second; either 0: no limit."""
        self.burst = burst
        self.rate = rate
        self.buckets: dict[int, _Bucket] = {}
        self.swept = 0.0
        # A bucket not touched for this long is full again.
        self.refill_seconds = burst / rate if self.enabled else 0.0

    @property
    def enabled(self) -> bool:
        return self.burst > 0 and self.rate > 0

    def check(self, person: int, now: float, album: str | None = None) -> Verdict:
        """Whether the update ``person`` sent at ``now`` (from ``album``, if part of one)
        is let through; a token is taken if it is."""
        if not self.enabled:
            return Verdict.PASS
        if now - self.swept >= self.refill_seconds:
            self.forget_idle(now)
        bucket = self.buckets.get(person)
        if bucket is None:
            bucket = self.buckets[person] = _Bucket(self.rate, self.burst, updated=now)
        if album is not None and album == bucket.album:
            return Verdict.PASS
        if bucket.wait(now) > 0:
            if bucket.warned:
                return Verdict.DROP
            bucket.warned = True
            return Verdict.WARN
        if bucket.tokens >= self.burst:
            bucket.warned = False  # calm long enough: any earlier flood is over
        bucket.take(now)
        bucket.album = album
        return Verdict.PASS

    def forget_idle(self, now: float) -> None:
        """Drop the buckets that are full again: they are as good as new ones."""
        self.swept = now
        for person in [p for p, b in self.buckets.items() if self._full(b, now)]:
            del self.buckets[person]

    def _full(self, bucket: _Bucket, now: float) -> bool:
        bucket.wait(now)
        return bucket.tokens >= self.burst

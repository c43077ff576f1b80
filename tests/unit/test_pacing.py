"""The send rate: no burst above it after a quiet spell, and an empty bucket after
Telegram asked for a pause."""

from __future__ import annotations

from bot.domain.pacing import SPACING_MARGIN, Lane, TokenBucket, lane_of, send_rate


def sent_in_one_second(bucket: TokenBucket, start: float) -> int:
    now, sent = start, 0
    while now < start + 1.0:
        wait = bucket.wait(now)
        if wait > 0:
            now += wait
            continue
        bucket.take(now)
        sent += 1
    return sent


def test_after_a_quiet_minute_no_more_than_the_rate_goes_in_a_second() -> None:
    bucket = TokenBucket(25.0, burst=1.0, updated=0.0)
    assert sent_in_one_second(bucket, 60.0) <= 25


def test_the_configured_rate_is_never_exceeded_in_any_second() -> None:
    bucket = send_rate(25.0, 0.0)
    assert sent_in_one_second(bucket, 60.0) <= 25
    # Sending as fast as it lets: every window of a second, wherever it starts.
    now, moments = 0.0, []
    while len(moments) < 500:
        wait = bucket.wait(now)
        if wait > 0:
            now += wait
            continue
        bucket.take(now)
        moments.append(now)
    assert all(later - moments[i] > 1.0 for i, later in enumerate(moments[25:]))


def test_sleeps_that_end_late_cost_nothing_of_the_rate() -> None:
    """The event loop wakes a sleeper a few milliseconds late: the time is not lost."""
    bucket = send_rate(25.0, 0.0)
    now, sent = 0.0, 0
    while sent < 500:
        wait = bucket.wait(now)
        if wait > 0:
            now += wait + 0.004
            continue
        bucket.take(now)
        sent += 1
    assert now <= 500 / (25.0 / SPACING_MARGIN) * 1.005


def test_after_a_pause_the_next_token_is_earned_first() -> None:
    bucket = TokenBucket(25.0, burst=1.0, updated=0.0)
    bucket.empty(10.0)
    assert bucket.wait(10.0) == 1 / 25


def test_the_lanes_name_the_kinds_the_services_write() -> None:
    from bot.services.broadcasts import KIND as BROADCAST
    from bot.services.meetings import MEET_REMINDER
    from bot.services.polls import POLL, QUIZ
    from bot.services.schedule import CHECKIN_INVITE, DIGEST
    from bot.storage.conversation import RELAY, SUMMARY

    assert {lane_of(kind) for kind in (RELAY, SUMMARY, MEET_REMINDER)} == {Lane.PERSON}
    assert {lane_of(kind) for kind in (CHECKIN_INVITE, DIGEST, "nudge")} == {Lane.SCHEDULED}
    assert {lane_of(kind) for kind in (BROADCAST, POLL, QUIZ)} == {Lane.BULK}

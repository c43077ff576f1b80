"""The per-person flood limit: a burst at once, a steady rate after, one warning per flood."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.flood import FloodLimit, Verdict

PASS, WARN, DROP = Verdict.PASS, Verdict.WARN, Verdict.DROP


def test_a_burst_passes_then_one_warning_then_silence() -> None:
    limit = FloodLimit(burst=8, rate=2.0)
    verdicts = [limit.check(1, 100.0) for _ in range(50)]
    assert verdicts == [PASS] * 8 + [WARN] + [DROP] * 41


def test_tokens_come_back_at_the_rate() -> None:
    limit = FloodLimit(burst=3, rate=2.0)
    assert [limit.check(1, 0.0) for _ in range(4)] == [PASS, PASS, PASS, WARN]
    assert limit.check(1, 0.4) is DROP  # 0.8 of a token
    assert limit.check(1, 0.5) is PASS  # one token after half a second
    assert limit.check(1, 0.5) is DROP  # still the same flood: no second warning
    assert [limit.check(1, 1.5) for _ in range(3)] == [PASS, PASS, DROP]


def test_a_new_flood_after_calm_is_warned_again() -> None:
    limit = FloodLimit(burst=2, rate=1.0)
    assert [limit.check(1, 0.0) for _ in range(3)] == [PASS, PASS, WARN]
    # Two seconds of calm fill the bucket: the flood is over.
    assert [limit.check(1, 2.0) for _ in range(4)] == [PASS, PASS, WARN, DROP]


def test_people_have_buckets_of_their_own() -> None:
    limit = FloodLimit(burst=2, rate=1.0)
    assert [limit.check(1, 0.0) for _ in range(3)] == [PASS, PASS, WARN]
    assert [limit.check(2, 0.0) for _ in range(2)] == [PASS, PASS]


def test_an_album_takes_one_token() -> None:
    limit = FloodLimit(burst=2, rate=1.0)
    assert [limit.check(1, 0.0, album="a") for _ in range(10)] == [PASS] * 10
    assert limit.check(1, 0.0) is PASS
    assert limit.check(1, 0.0, album="b") is WARN
    assert limit.check(1, 0.0, album="b") is DROP  # a dropped album stays dropped


def test_zero_switches_the_limit_off() -> None:
    for limit in (FloodLimit(0, 2.0), FloodLimit(8, 0.0)):
        assert not limit.enabled
        assert {limit.check(1, 0.0) for _ in range(1000)} == {PASS}
        assert not limit.buckets


def test_idle_buckets_are_forgotten() -> None:
    limit = FloodLimit(burst=8, rate=2.0)
    for person in range(10_000):
        limit.check(person, 0.0)
    assert len(limit.buckets) == 10_000
    # Four seconds later every bucket is full again; the next check sweeps them.
    limit.check(0, 4.0)
    assert list(limit.buckets) == [0]


def test_a_clock_going_back_gives_no_tokens() -> None:
    limit = FloodLimit(burst=1, rate=1.0)
    assert limit.check(1, 10.0) is PASS
    assert limit.check(1, 5.0) is WARN
    assert limit.check(1, 10.5) is DROP


@given(
    burst=st.integers(1, 20),
    rate=st.floats(0.1, 20.0),
    gaps=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=300),
)
def test_never_more_pass_than_the_burst_and_the_rate_allow(
    burst: int, rate: float, gaps: list[float]
) -> None:
    limit = FloodLimit(burst, rate)
    now, passed = 0.0, 0
    verdicts = []
    for gap in gaps:
        now += gap
        verdicts.append(limit.check(7, now))
        passed += verdicts[-1] is PASS
        # Never more than the burst plus what the rate has given back since the start.
        assert passed <= burst + rate * now + 1e-6
    # The first update dropped is answered with the warning, and no run of dropped
    # updates holds more than one warning (the person is told once per flood).
    dropped = [v for v in verdicts if v is not PASS]
    assert not dropped or dropped[0] is WARN
    runs = "".join("." if v is PASS else v.value[0] for v in verdicts).split(".")
    assert all("w" not in run[1:] for run in runs)


@given(
    burst=st.integers(1, 20),
    rate=st.floats(0.1, 20.0),
    times=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=200),
)
def test_sending_at_the_rate_is_never_dropped(burst: int, rate: float, times: list[float]) -> None:
    """Someone who sends no faster than the rate (every gap at least 1/rate, give or take
    a float's rounding) always passes."""
    limit = FloodLimit(burst, rate)
    now = 0.0
    for extra in times:
        now += 1.000001 / rate + extra
        assert limit.check(3, now) is PASS


@given(
    people=st.lists(st.integers(1, 50), min_size=1, max_size=400),
    step=st.floats(0.0, 0.5),
)
def test_memory_holds_only_people_seen_lately(people: list[int], step: float) -> None:
    limit = FloodLimit(burst=4, rate=2.0)
    now = 0.0
    seen_at: dict[int, float] = {}
    for person in people:
        now += step
        limit.check(person, now)
        seen_at[person] = now
        # A bucket is full one refill time after its person was last seen at the latest,
        # and sweeps come one refill time apart (at the first check after): anyone kept
        # was seen within two refill times and a step.
        for kept in limit.buckets:
            assert now - seen_at[kept] <= 2 * limit.refill_seconds + step + 1e-9

"""Time the cohort matching at scale: ``python -m tests.bench.bench_matching [mentees mentors]``.

A seeded cohort of 10,000 mentees and 2,000 mentors (capacities 1-15). Each person speaks
one or two of six languages, some much more common than others, and lives at a whole-hour
offset from -8 to +10, so the hard constraints prune most of the 20M pairs. Prints the
feasible pairs, the time to score them and to solve, the total (median of 3 runs), peak
memory, and the optimal matching against the best-score-first greedy one.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import time
import tracemalloc

from bot.domain import matching
from bot.domain.matching import (
    MenteeProfile,
    MentorProfile,
    Preference,
    Weights,
    greedy_match,
    match,
)

LANGUAGES = ["lv", "en", "ru", "pl", "el", "bg"]
LANGUAGE_SHARES = [40, 25, 15, 10, 6, 4]
SLOTS = ["weekday_morning", "weekday_day", "weekday_evening", "weekend"]
FORMATS = ["chat", "call", "video", "in_person"]
TOPICS = list(matching.TOPIC_LABELS)
RUNS = 3
TARGET_S = 5.0
TARGET_MIB = 1024


def languages(rng: random.Random) -> frozenset[str]:
    return frozenset(rng.choices(LANGUAGES, LANGUAGE_SHARES, k=rng.choice([1, 1, 2])))


def some(rng: random.Random, items: list[str], low: int, high: int) -> frozenset[str]:
    return frozenset(rng.sample(items, rng.randint(low, high)))


def preferences(rng: random.Random) -> tuple[Preference, ...]:
    wishes = []
    if rng.random() < 0.1:
        wishes.append(Preference("gender", rng.choice(["female", "male"]), required=True))
    if rng.random() < 0.2:
        wishes.append(Preference("format", "in_person"))
    if rng.random() < 0.2:
        wishes.append(Preference("language", "lv"))
    return tuple(wishes)


def cohort(
    n_mentees: int, n_mentors: int, seed: int = 7
) -> tuple[list[MenteeProfile], list[MentorProfile], list[tuple[int, int]]]:
    rng = random.Random(seed)
    mentees = [
        MenteeProfile(
            id=i,
            languages=languages(rng),
            utc_offset=float(rng.randint(-8, 10)),
            availability=some(rng, SLOTS, 1, 3),
            formats=some(rng, FORMATS, 1, 3),
            topics=some(rng, TOPICS, 1, 4),
            stage=rng.randint(1, 4),
            preferences=preferences(rng),
        )
        for i in range(n_mentees)
    ]
    # The first hundred mentor ids are also mentee ids: people who are both.
    mentors = [
        MentorProfile(
            id=n_mentees - 100 + j,
            languages=languages(rng),
            utc_offset=float(rng.randint(-8, 10)),
            availability=some(rng, SLOTS, 1, 4),
            formats=some(rng, FORMATS, 1, 4),
            expertise=some(rng, TOPICS, 2, 6),
            years_experience=rng.randint(1, 30),
            capacity=rng.randint(1, 15),
            attributes={"gender": rng.choice(["female", "male"])},
        )
        for j in range(n_mentors)
    ]
    excluded = [
        (rng.randrange(n_mentees), n_mentees - 100 + rng.randrange(n_mentors))
        for _ in range(n_mentees // 10)
    ]
    return mentees, mentors, excluded


def main() -> None:
    n_mentees, n_mentors = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (10_000, 2_000)
    mentees, mentors, excluded = cohort(n_mentees, n_mentors)
    weights = Weights()
    print(f"{n_mentees} mentees, {n_mentors} mentors, {sum(m.capacity for m in mentors)} places")

    prepare_s, solve_s, total_s = [], [], []
    for _ in range(RUNS):
        # The phases through the module's internals, then match() end to end.
        start = time.perf_counter()
        arrays, candidates = matching._prepare(mentees, mentors, weights, excluded, 0)
        prepared = time.perf_counter()
        eligible = candidates.eligible
        e, r, value = candidates.e[eligible], candidates.r[eligible], candidates.value[eligible]
        matching._optimal(arrays, e, r, value, "most_matched")
        prepare_s.append(prepared - start)
        solve_s.append(time.perf_counter() - prepared)
        feasible = len(e)
        del arrays, candidates, eligible, e, r, value
        start = time.perf_counter()
        optimal = match(mentees, mentors, weights, excluded)
        total_s.append(time.perf_counter() - start)

    tracemalloc.start()
    match(mentees, mentors, weights, excluded)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    greedy_start = time.perf_counter()
    greedy = greedy_match(mentees, mentors, weights, excluded)
    greedy_s = time.perf_counter() - greedy_start

    total = statistics.median(total_s)
    print(f"feasible pairs: {feasible:,} of {n_mentees * n_mentors:,}")
    print(f"find, score pairs: {statistics.median(prepare_s):6.2f} s  (median of {RUNS})")
    print(f"solve:             {statistics.median(solve_s):6.2f} s")
    print(f"match(), in all:   {total:6.2f} s  (scores, solve, reasons)")
    print(f"greedy_match():    {greedy_s:6.2f} s")
    peak_mib = traced_peak / 2**20
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory: {peak_mib:.0f} MiB traced in match(), {rss_mib:.0f} MiB process RSS")
    print(f"{'':<14}{'matched':>9}{'total score':>13}{'mean':>7}")
    for name, result in (("match", optimal), ("greedy", greedy)):
        mean = result.total / max(len(result.pairs), 1)
        print(f"{name:<14}{len(result.pairs):>9}{result.total:>13}{mean:>7.1f}")
    print(
        f"match / greedy: {len(optimal.pairs) / max(len(greedy.pairs), 1):.4f} matched, "
        f"{optimal.total / max(greedy.total, 1):.4f} total score"
    )
    verdict = "meets" if total <= TARGET_S and rss_mib <= TARGET_MIB else "MISSES"
    print(f"target: <= {TARGET_S:.0f} s and <= {TARGET_MIB} MiB, {verdict} it")


if __name__ == "__main__":
    main()

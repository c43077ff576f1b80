"""Scores and the cohort matching, the matching proved optimal against brute force."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import coo_array

from bot.domain import matching
from bot.domain.matching import (
    Matching,
    MenteeProfile,
    MentorProfile,
    Mode,
    Preference,
    Weights,
    greedy_match,
    match,
    score,
)
from bot.domain.texts import Msg

WEIGHTS = Weights()


def mentee(id: int = 1, **fields: Any) -> MenteeProfile:
    values: dict[str, Any] = {
        "languages": frozenset({"lv"}),
        "utc_offset": 2.0,
        "availability": frozenset({"weekend"}),
        "formats": frozenset({"video"}),
        "topics": frozenset({"career"}),
        "stage": 2,
    }
    return MenteeProfile(id=id, **(values | fields))


def mentor(id: int = 101, **fields: Any) -> MentorProfile:
    values: dict[str, Any] = {
        "languages": frozenset({"lv"}),
        "utc_offset": 2.0,
        "availability": frozenset({"weekend"}),
        "formats": frozenset({"video"}),
        "expertise": frozenset({"career"}),
        "years_experience": 6,
        "capacity": 1,
        "attributes": {"gender": "female"},
    }
    return MentorProfile(id=id, **(values | fields))


def value(who: MenteeProfile, whom: MentorProfile) -> int:
    result = score(who, whom, WEIGHTS)
    assert result is not None
    return result.value


# Scores ---------------------------------------------------------------------------


def test_a_perfect_fit_scores_100_with_the_strongest_reasons_first() -> None:
    wants = (Preference("gender", "female"), Preference("format", "video", required=True))
    result = score(mentee(preferences=wants), mentor(), WEIGHTS)
    assert result is not None
    assert result.value == 100
    # topics 35, then time zone and availability at 15 each, in the order of the components
    assert result.reasons == (
        Msg("expertise covers {topics}", {"topics": [Msg("Career")]}),
        Msg("same time zone"),
        Msg("available at the same times"),
    )


@pytest.mark.parametrize(
    ("who", "whom"),
    [
        (mentee(languages=frozenset({"pl"})), mentor(languages=frozenset({"lv", "en"}))),
        (mentee(utc_offset=-4.0), mentor(utc_offset=2.5)),
        (mentee(preferences=(Preference("gender", "male", required=True),)), mentor()),
        (mentee(preferences=(Preference("language", "ru", required=True),)), mentor()),
        (mentee(), mentor(capacity=0)),
    ],
    ids=["no shared language", "too far in time", "gender required", "language required", "full"],
)
def test_a_failed_hard_constraint_gives_no_score(who: MenteeProfile, whom: MentorProfile) -> None:
    assert score(who, whom, WEIGHTS) is None


def test_the_time_zone_limit_is_inclusive_and_the_distance_plain() -> None:
    assert score(mentee(utc_offset=-4.0), mentor(utc_offset=2.0), WEIGHTS) is not None
    assert score(mentee(utc_offset=-4.5), mentor(utc_offset=2.0), WEIGHTS) is None
    # -11 and +13 are a day apart, not the same time: offsets do not wrap around.
    assert score(mentee(utc_offset=-11.0), mentor(utc_offset=13.0), WEIGHTS) is None
    weak: dict[str, Any] = {
        "topics": frozenset({"health"}),
        "availability": frozenset({"weekday_morning"}),
    }
    half = score(mentee(utc_offset=5.5, **weak), mentor(utc_offset=2.0), WEIGHTS)
    assert half is not None and Msg("{hours} h apart", {"hours": "3.5"}) in half.reasons


def test_reasons_name_the_shared_languages_and_fall_back_to_the_code() -> None:
    # Nothing in common but languages and format: they lead the reasons.
    who = mentee(languages=frozenset({"lv", "en", "fi"}), topics=frozenset({"health"}))
    whom = mentor(
        languages=frozenset({"en", "lv", "fi"}),
        utc_offset=-4.0,
        availability=frozenset({"weekday_morning"}),
    )
    result = score(who, whom, WEIGHTS)
    assert result is not None
    languages = [Msg("Latvian"), Msg("English"), Msg("{code}", {"code": "fi"})]
    assert result.reasons[:2] == (
        Msg("both speak {languages}", {"languages": languages}),
        Msg("both like the same way of meeting"),
    )


def test_weights_steer_the_score() -> None:
    who, whom = mentee(topics=frozenset({"health", "career"})), mentor()
    nothing = dict.fromkeys(
        ["languages", "timezone", "availability", "format", "preferences", "experience"], 0
    )
    result = score(who, whom, Weights(topics=1, **nothing))
    assert result is not None and result.value == 50
    with pytest.raises(ValueError):
        Weights(topics=0, **nothing)


# Random cohorts -----------------------------------------------------------------

LANGUAGES = ["lv", "en", "ru"]
SLOTS = ["weekday_morning", "weekday_evening", "weekend"]
FORMATS = ["chat", "video", "in_person"]
TOPICS = ["career", "health", "leadership", "studies"]
WISHES = [
    Preference("gender", "female", required=True),
    Preference("gender", "female"),
    Preference("gender", "male"),
    Preference("format", "in_person"),
    Preference("language", "en"),
    Preference("language", "ru", required=True),
]


def subset(items: list[str], min_size: int = 0) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(items), min_size=min_size)


# sampled_from leans towards its first items.
offsets = st.sampled_from([2.0, 3.0, 0.0, 5.5, -3.5, 1.0, 9.0, -5.0])

# Mostly Latvian speakers, so that most random pairs can talk.
spoken = st.sampled_from([{"lv"}, {"lv", "en"}, {"en"}, {"lv", "ru"}, {"ru"}]).map(frozenset)

mentee_fields: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "languages": spoken,
        "utc_offset": offsets,
        "availability": subset(SLOTS),
        "formats": subset(FORMATS),
        "topics": subset(TOPICS),
        "stage": st.integers(1, 4),
        "preferences": st.lists(st.sampled_from(WISHES), max_size=1).map(tuple),
    }
)
mentor_fields: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "languages": spoken,
        "utc_offset": offsets,
        "availability": subset(SLOTS),
        "formats": subset(FORMATS),
        "expertise": subset(TOPICS),
        "years_experience": st.integers(0, 20),
        "capacity": st.sampled_from([1, 2, 3, 0]),
        "attributes": st.sampled_from([{"gender": "female"}, {"gender": "male"}, {}]),
    }
)


@st.composite
def cohorts(
    draw: st.DrawFn, max_mentees: int = 6, max_mentors: int = 4
) -> tuple[list[MenteeProfile], list[MentorProfile], list[tuple[int, int]]]:
    mentees = [
        MenteeProfile(id=i, **draw(mentee_fields)) for i in range(draw(st.integers(1, max_mentees)))
    ]
    # Mentor ids may also be mentee ids: a person who is both is never matched with themselves.
    first_id = draw(st.integers(0, max_mentees))
    mentors = [
        MentorProfile(id=first_id + j, **draw(mentor_fields))
        for j in range(draw(st.integers(1, max_mentors)))
    ]
    all_pairs = [(a.id, b.id) for a in mentees for b in mentors]
    excluded = draw(st.lists(st.sampled_from(all_pairs), max_size=4)) if all_pairs else []
    return mentees, mentors, excluded


def allowed(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    excluded: list[tuple[int, int]],
    min_score: int,
) -> list[list[tuple[int, int]]]:
    """Per mentee, the (mentor index, score) pairs a matching may use."""
    options = []
    for a in mentees:
        mine = []
        for j, b in enumerate(mentors):
            s = score(a, b, WEIGHTS)
            if s is None or a.id == b.id or (a.id, b.id) in excluded:
                continue
            if s.value >= min_score:
                mine.append((j, s.value))
        options.append(mine)
    return options


def brute_force(
    options: list[list[tuple[int, int]]], capacities: list[int], mode: Mode
) -> tuple[int, int]:
    """The best (matched, total score) over every valid assignment."""
    best = (0, 0)
    places = list(capacities)

    def key(matched: int, total: int) -> tuple[int, int]:
        return (matched, total) if mode == "most_matched" else (0, total)

    def walk(i: int, matched: int, total: int) -> None:
        nonlocal best
        if i == len(options):
            if key(matched, total) > key(*best):
                best = (matched, total)
            return
        walk(i + 1, matched, total)
        for j, value in options[i]:
            if places[j] > 0:
                places[j] -= 1
                walk(i + 1, matched + 1, total + value)
                places[j] += 1

    walk(0, 0, 0)
    return best


def assert_valid(
    result: Matching,
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    excluded: list[tuple[int, int]],
    min_score: int,
) -> None:
    mentee_by_id = {m.id: m for m in mentees}
    mentor_by_id = {m.id: m for m in mentors}
    for pair in result.pairs:
        assert pair.mentee_id != pair.mentor_id
        assert (pair.mentee_id, pair.mentor_id) not in excluded
        expected = score(mentee_by_id[pair.mentee_id], mentor_by_id[pair.mentor_id], WEIGHTS)
        assert expected == pair.score
        assert pair.score.value >= min_score
    taken = Counter(p.mentor_id for p in result.pairs)
    assert all(taken[j] <= mentor_by_id[j].capacity for j in taken)
    matched = [p.mentee_id for p in result.pairs]
    assert len(matched) == len(set(matched))
    assert set(matched) | set(result.unmatched) == set(mentee_by_id)
    assert not set(matched) & set(result.unmatched)


@contextmanager
def starting_from(sparse: bool) -> Iterator[None]:
    """With a sparse start (one pair per mentee, none per mentor), the first restricted
    problem is rarely the whole one, and the dual certificate has to find what is missing."""
    if not sparse:
        yield
        return
    with (
        patch.object(matching, "_FIRST_PER_MENTEE", 1),
        patch.object(matching, "_FIRST_PER_PLACE", 0),
    ):
        yield


@settings(max_examples=300, deadline=None)
@given(
    cohort=cohorts(),
    mode=st.sampled_from(["most_matched", "best_scores"]),
    min_score=st.sampled_from([0, 40, 60, 80]),
    sparse_start=st.booleans(),
)
def test_match_is_optimal(
    cohort: tuple[list[MenteeProfile], list[MentorProfile], list[tuple[int, int]]],
    mode: Mode,
    min_score: int,
    sparse_start: bool,
) -> None:
    mentees, mentors, excluded = cohort
    with starting_from(sparse_start):
        result = match(mentees, mentors, WEIGHTS, excluded, mode, min_score=min_score)
    threshold = min_score if mode == "best_scores" else 0
    assert_valid(result, mentees, mentors, excluded, threshold)
    options = allowed(mentees, mentors, excluded, threshold)
    best_matched, best_total = brute_force(options, [m.capacity for m in mentors], mode)
    if mode == "most_matched":
        assert len(result.pairs) == best_matched
    assert result.total == best_total


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["most_matched", "best_scores"]),
    sparse_start=st.booleans(),
)
def test_match_equals_the_linear_programme_on_larger_cohorts(
    seed: int, mode: Mode, sparse_start: bool
) -> None:
    """Too large for brute force, so against the LP, which is integral for b-matching."""
    rng = np.random.default_rng(seed)
    mentees = [
        MenteeProfile(
            id=i,
            languages=frozenset(rng.choice(LANGUAGES, size=rng.integers(1, 3), replace=False)),
            utc_offset=float(rng.integers(-3, 4)),
            availability=frozenset(rng.choice(SLOTS, size=rng.integers(0, 3), replace=False)),
            formats=frozenset(rng.choice(FORMATS, size=rng.integers(0, 3), replace=False)),
            topics=frozenset(rng.choice(TOPICS, size=rng.integers(0, 4), replace=False)),
            stage=int(rng.integers(1, 5)),
        )
        for i in range(80)
    ]
    mentors = [
        MentorProfile(
            id=1000 + j,
            languages=frozenset(rng.choice(LANGUAGES, size=rng.integers(1, 3), replace=False)),
            utc_offset=float(rng.integers(-3, 4)),
            availability=frozenset(rng.choice(SLOTS, size=rng.integers(1, 4), replace=False)),
            formats=frozenset(rng.choice(FORMATS, size=rng.integers(1, 4), replace=False)),
            expertise=frozenset(rng.choice(TOPICS, size=rng.integers(1, 4), replace=False)),
            years_experience=int(rng.integers(0, 20)),
            capacity=int(rng.integers(0, 5)),
        )
        for j in range(20)
    ]
    threshold = 60 if mode == "best_scores" else 0
    with starting_from(sparse_start):
        result = match(mentees, mentors, WEIGHTS, (), mode, min_score=threshold)
    assert_valid(result, mentees, mentors, [], threshold)

    options = allowed(mentees, mentors, [], threshold)
    e = [i for i, mine in enumerate(options) for _ in mine]
    r = [j for mine in options for j, _ in mine]
    value = np.array([v for mine in options for _, v in mine], dtype=float)
    constraints = coo_array(
        (np.ones(2 * len(e)), (e + [len(mentees) + j for j in r], [*range(len(e))] * 2)),
        shape=(len(mentees) + len(mentors), len(e)),
    )
    limits = [1] * len(mentees) + [m.capacity for m in mentors]
    if mode == "most_matched":
        most = linprog(-np.ones(len(e)), A_ub=constraints, b_ub=limits, bounds=(0, 1))
        assert len(result.pairs) == round(-most.fun)
        best = linprog(
            -value,
            A_ub=constraints,
            b_ub=limits,
            A_eq=np.ones((1, len(e))),
            b_eq=[round(-most.fun)],
            bounds=(0, 1),
        )
    else:
        best = linprog(-value, A_ub=constraints, b_ub=limits, bounds=(0, 1))
    assert result.total == round(-best.fun)


# Greedy ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cohort=cohorts(), min_score=st.sampled_from([0, 50]))
def test_greedy_is_never_better(
    cohort: tuple[list[MenteeProfile], list[MentorProfile], list[tuple[int, int]]],
    min_score: int,
) -> None:
    mentees, mentors, excluded = cohort
    greedy = greedy_match(mentees, mentors, WEIGHTS, excluded, min_score=min_score)
    assert_valid(greedy, mentees, mentors, excluded, min_score)
    most = match(mentees, mentors, WEIGHTS, excluded)
    assert (len(greedy.pairs), greedy.total) <= (len(most.pairs), most.total)
    best = match(mentees, mentors, WEIGHTS, excluded, "best_scores", min_score=min_score)
    assert greedy.total <= best.total


def test_greedy_takes_the_best_pair_and_strands_a_mentee() -> None:
    # Anna fits Ilze best of all; Boris speaks only Russian, so only Ilze can take him.
    # Greedy gives Ilze's one place to Anna; the optimum sends Anna to Jānis instead.
    anna = mentee(1, languages=frozenset({"lv", "en"}))
    boris = mentee(2, languages=frozenset({"ru"}), topics=frozenset({"health"}))
    ilze = mentor(101, languages=frozenset({"lv", "en", "ru"}))
    janis = mentor(102, languages=frozenset({"lv"}), utc_offset=0.0)
    assert value(anna, ilze) == 100
    assert value(boris, ilze) < 100
    assert value(anna, janis) < 100

    greedy = greedy_match([anna, boris], [ilze, janis], WEIGHTS)
    assert [(p.mentee_id, p.mentor_id, p.score.value) for p in greedy.pairs] == [(1, 101, 100)]
    assert greedy.unmatched == {2: Msg("no capacity left with suitable mentors")}

    for mode in ("most_matched", "best_scores"):
        best = match([anna, boris], [ilze, janis], WEIGHTS, mode=mode)
        assert [(p.mentee_id, p.mentor_id) for p in best.pairs] == [(1, 102), (2, 101)]
        assert best.total > greedy.total and not best.unmatched


# Modes and the reasons for the unmatched ---------------------------------------------


def test_best_scores_leaves_out_a_weak_pair_that_most_matched_takes() -> None:
    weak = mentee(2, topics=frozenset({"health"}), availability=frozenset({"weekday_morning"}))
    cohort = ([mentee(1), weak], [mentor(capacity=2)])
    most = match(*cohort, WEIGHTS)
    best = match(*cohort, WEIGHTS, mode="best_scores", min_score=80)
    assert len(most.pairs) == 2
    assert [p.mentee_id for p in best.pairs] == [1]
    assert best.unmatched == {2: Msg("no mentor scored high enough")}


@pytest.mark.parametrize(
    ("who", "excluded", "reason"),
    [
        (mentee(languages=frozenset({"pl"})), (), Msg("no mentor shares a language")),
        (mentee(utc_offset=-8.0), (), Msg("no mentor within {hours} h", {"hours": 6})),
        (
            mentee(preferences=(Preference("gender", "male", required=True),)),
            (),
            Msg("no mentor meets the required preferences"),
        ),
        (mentee(), ((1, 101),), Msg("every suitable mentor was proposed before")),
        # The only Latvian-speaking mentor is the mentee themselves.
        (mentee(101), (), Msg("no mentor shares a language")),
    ],
    ids=["language", "time zone", "required preference", "excluded", "self"],
)
def test_the_reason_for_an_unmatched_mentee(
    who: MenteeProfile, excluded: tuple[tuple[int, int], ...], reason: Msg
) -> None:
    mentors = [
        mentor(101),
        mentor(102, languages=frozenset({"en"}), utc_offset=3.0, capacity=0),
        mentor(103, languages=frozenset({"en"}), utc_offset=3.0),
    ]
    assert match([who], mentors, WEIGHTS, excluded).unmatched == {who.id: reason}


def test_capacity_exhausted() -> None:
    result = match([mentee(1), mentee(2), mentee(3)], [mentor(capacity=2)], WEIGHTS)
    assert len(result.pairs) == 2
    assert list(result.unmatched.values()) == [Msg("no capacity left with suitable mentors")]
    assert match([mentee()], [mentor(capacity=0)], WEIGHTS).unmatched == {
        1: Msg("no capacity left with suitable mentors")
    }


def test_ids_must_be_unique() -> None:
    with pytest.raises(ValueError):
        match([mentee(1), mentee(1)], [mentor()], WEIGHTS)


def test_an_empty_cohort() -> None:
    assert match([], [], WEIGHTS) == Matching((), {})
    assert match([mentee()], [], WEIGHTS).unmatched == {1: Msg("no mentor shares a language")}


@settings(max_examples=200, deadline=None)
@given(
    who=mentee_fields,
    whom=mentor_fields,
    weights=st.builds(
        Weights,
        topics=st.integers(0, 50),
        languages=st.integers(0, 50),
        timezone=st.integers(0, 50),
        availability=st.integers(0, 50),
        format=st.integers(1, 50),
        preferences=st.integers(0, 50),
        experience=st.integers(0, 50),
        max_timezone_hours=st.sampled_from([0.0, 3.0, 6.0, 12.0]),
    ),
)
def test_the_score_stays_within_0_and_100(
    who: dict[str, Any], whom: dict[str, Any], weights: Weights
) -> None:
    result = score(MenteeProfile(id=1, **who), MentorProfile(id=2, **whom), weights)
    if result is not None:
        assert 0 <= result.value <= 100
        assert len(result.reasons) <= matching.REASONS_SHOWN

"""Matching mentees to mentors in a cohort: a score for each pair and an optimal matching.

Pure: the caller loads the profiles, computes each person's UTC offset for the cohort's
dates and stores the result. Offsets lie in [-12, +14] and the distance between two people
is the plain difference: the world's time zones do not wrap around (+14 and -12 are 26 hours
apart, not 2), so no modular arithmetic is needed.

``match`` is exact. Its optimisation problem is a bipartite b-matching over the feasible
pairs (each mentor takes up to ``capacity`` mentees, each mentee at most one mentor); it is
solved on a sparse subset of the pairs and then proved optimal for all of them by a dual
certificate (see ``_optimal``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from bot.domain.texts import N_, Msg, Value, plural_msg


class MatchingMode(StrEnum):
    MOST_MATCHED = "most_matched"
    BEST_SCORES = "best_scores"


Mode: TypeAlias = MatchingMode
Ints: TypeAlias = npt.NDArray[np.int64]
Floats: TypeAlias = npt.NDArray[np.float64]
Bits: TypeAlias = npt.NDArray[np.uint64]
Bools: TypeAlias = npt.NDArray[np.bool_]
Item = TypeVar("Item", str, tuple[str, str])

BEST_SCORES_MIN_SCORE = 40
REASONS_SHOWN = 3
# Pairs handled at once: large enough for numpy to be efficient, small enough for the
# temporaries of a component to stay in tens of MB.
_SCORE_BATCH = 1 << 19

LANGUAGE_NAMES: Mapping[str, str] = {
    "lv": N_("Latvian"),
    "en": N_("English"),
    "ru": N_("Russian"),
    "pl": N_("Polish"),
    "el": N_("Greek"),
    "bg": N_("Bulgarian"),
    "de": N_("German"),
}

TOPIC_LABELS: Mapping[str, str] = {
    "family": N_("Family and friends"),
    "partner": N_("Significant other"),
    "career": N_("Career"),
    "finances": N_("Finances"),
    "health": N_("Health"),
    "home": N_("Home environment"),
    "fun": N_("Fun and recreation"),
    "growth": N_("Personal growth"),
    "career_change": N_("Career change"),
    "leadership": N_("Leadership"),
    "entrepreneurship": N_("Entrepreneurship"),
    "studies": N_("Studies"),
    "job_search": N_("Job search"),
}


@dataclass(frozen=True)
class Preference:
    """What a mentee wants of a mentor: ``("gender", "female")``, ``("language", "lv")``.

    ``attribute`` is "language", "format", "availability", "expertise" (membership in the
    mentor's set) or a key of ``MentorProfile.attributes`` (equality). A required preference
    is a hard constraint; a nice-to-have one adds to the score.
    """

    attribute: str
    value: str
    required: bool = False


@dataclass(frozen=True)
class MenteeProfile:
    """A mentee as matching sees them.

    ``languages`` are ISO codes; ``utc_offset`` is in hours; ``availability`` holds slots
    such as "weekday_evening" or "weekend"; ``formats`` "chat", "call", "video",
    "in_person"; ``topics`` what they want help with, in the vocabulary of ``TOPIC_LABELS``
    (plus any other codes); ``stage`` runs from 1 (just starting) to 4 (advanced).
    """

    id: int
    languages: frozenset[str]
    utc_offset: float
    availability: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    stage: int = 1
    preferences: tuple[Preference, ...] = ()


@dataclass(frozen=True)
class MentorProfile:
    """A mentor: the same vocabularies as ``MenteeProfile``; ``capacity`` is the number of
    places left; ``attributes`` holds what preferences may ask for, such as "gender"."""

    id: int
    languages: frozenset[str]
    utc_offset: float
    availability: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    expertise: frozenset[str] = frozenset()
    years_experience: int = 0
    capacity: int = 1
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Weights:
    """How much each component counts; the score is their weighted mean, 0-100.

    ``max_timezone_hours`` is a hard limit: people further apart are never paired.
    """

    topics: float = 35
    languages: float = 10
    timezone: float = 15
    availability: float = 15
    format: float = 10
    preferences: float = 10
    experience: float = 5
    max_timezone_hours: float = 6.0

    def __post_init__(self) -> None:
        if min(self.vector()) < 0 or sum(self.vector()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        if self.max_timezone_hours < 0:
            raise ValueError("max_timezone_hours must be non-negative")

    def vector(self) -> tuple[float, ...]:
        """The weights in the order of the score components."""
        return (
            self.topics,
            self.languages,
            self.timezone,
            self.availability,
            self.format,
            self.preferences,
            self.experience,
        )


@dataclass(frozen=True)
class Score:
    value: int
    reasons: tuple[Msg, ...]


@dataclass(frozen=True)
class Pair:
    mentee_id: int
    mentor_id: int
    score: Score


@dataclass(frozen=True)
class Matching:
    pairs: tuple[Pair, ...]
    unmatched: Mapping[int, Msg]

    @property
    def total(self) -> int:
        return sum(pair.score.value for pair in self.pairs)


# Scoring one pair --------------------------------------------------------------


def score(mentee: MenteeProfile, mentor: MentorProfile, weights: Weights) -> Score | None:
    """How well ``mentor`` suits ``mentee``, or None when a hard constraint fails.

    Hard constraints: a shared language, offsets at most ``max_timezone_hours`` apart, every
    required preference met and a free place with the mentor. Ids and earlier exclusions are
    the business of ``match``.
    """
    if not (
        mentee.languages & mentor.languages
        and abs(mentee.utc_offset - mentor.utc_offset) <= weights.max_timezone_hours
        and mentor.capacity > 0
        and all(_meets(mentor, p) for p in mentee.preferences if p.required)
    ):
        return None
    cohort = _Cohort.build([mentee], [mentor])
    first = np.zeros(1, dtype=np.int64)
    return _scores(cohort, [mentee], [mentor], first, first, weights)[0]


def _meets(mentor: MentorProfile, preference: Preference) -> bool:
    sets = {
        "language": mentor.languages,
        "format": mentor.formats,
        "availability": mentor.availability,
        "expertise": mentor.expertise,
    }
    if preference.attribute in sets:
        return preference.value in sets[preference.attribute]
    return mentor.attributes.get(preference.attribute) == preference.value


# Matching a cohort -------------------------------------------------------------


def match(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    weights: Weights,
    excluded: Collection[tuple[int, int]] = (),
    mode: Mode = MatchingMode.MOST_MATCHED,
    *,
    min_score: int = BEST_SCORES_MIN_SCORE,
) -> Matching:
    """An optimal matching.

    ``most_matched`` matches as many mentees as possible and, among those matchings, has the
    highest total score. ``best_scores`` proposes only pairs scoring at least ``min_score``
    (ignored in ``most_matched``) and has the highest total score. ``excluded`` holds
    ``(mentee_id, mentor_id)`` pairs never to propose, such as ones declined or ended before.
    """
    threshold = min_score if mode == MatchingMode.BEST_SCORES else 0
    cohort, candidates = _prepare(mentees, mentors, weights, excluded, threshold)
    eligible = candidates.eligible
    e, r = candidates.e[eligible], candidates.r[eligible]
    chosen = _optimal(cohort, e, r, candidates.value[eligible], mode)
    return _result(cohort, candidates, mentees, mentors, weights, chosen, threshold)


def greedy_match(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    weights: Weights,
    excluded: Collection[tuple[int, int]] = (),
    *,
    min_score: int = 0,
) -> Matching:
    """Best score first: take each pair, highest score first, while both sides are free.

    A baseline for ``match``; never better, often a little worse.
    """
    cohort, candidates = _prepare(mentees, mentors, weights, excluded, min_score)
    eligible = candidates.eligible
    e, r, value = candidates.e[eligible], candidates.r[eligible], candidates.value[eligible]
    places = cohort.r_capacity.tolist()
    chosen = [-1] * len(mentees)
    by_score_e, by_score_r = _by_score(e, r, value)
    for start in range(0, len(by_score_e), _SCORE_BATCH):
        end = start + _SCORE_BATCH
        for i, j in zip(
            by_score_e[start:end].tolist(), by_score_r[start:end].tolist(), strict=True
        ):
            if chosen[i] < 0 and places[j] > 0:
                chosen[i] = j
                places[j] -= 1
    return _result(
        cohort, candidates, mentees, mentors, weights, np.array(chosen, dtype=np.int64), min_score
    )


def _by_score(e: Ints, r: Ints, value: Ints) -> tuple[Ints, Ints]:
    order = np.lexsort((r, e, -value))
    return e[order], r[order]


@dataclass(frozen=True)
class _Candidates:
    """Mentee-mentor index pairs that share a language and are near enough in time.

    ``value`` is the score where ``feasible`` (every hard constraint holds and the pair is not
    excluded), else 0; ``eligible`` is feasible with the score at least the threshold.
    """

    e: Ints
    r: Ints
    meets_required: Bools
    open: Bools
    feasible: Bools
    value: Ints
    eligible: Bools


def _prepare(
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    weights: Weights,
    excluded: Collection[tuple[int, int]],
    min_score: int,
) -> tuple[_Cohort, _Candidates]:
    for people, role in ((mentees, "mentee"), (mentors, "mentor")):
        if len({p.id for p in people}) != len(people):
            raise ValueError(f"{role} ids must be unique")
    cohort = _Cohort.build(mentees, mentors)
    e, r = _near_pairs(cohort, weights.max_timezone_hours)
    meets_required = ~np.any(cohort.e_required[e] & ~cohort.r_meets[r], axis=1)
    open_ = meets_required & (cohort.r_capacity[r] > 0)
    feasible = open_ & ~_excluded(cohort, e, r, excluded)
    value = np.zeros(len(e), dtype=np.int64)
    scored = np.flatnonzero(feasible)
    for start in range(0, len(scored), _SCORE_BATCH):
        batch = scored[start : start + _SCORE_BATCH]
        value[batch] = _values(_components(cohort, e[batch], r[batch], weights), weights)
    eligible = feasible & (value >= min_score)
    return cohort, _Candidates(e, r, meets_required, open_, feasible, value, eligible)


def _excluded(cohort: _Cohort, e: Ints, r: Ints, excluded: Collection[tuple[int, int]]) -> Bools:
    mentee_index = {pid: i for i, pid in enumerate(cohort.e_ids.tolist())}
    mentor_index = {pid: j for j, pid in enumerate(cohort.r_ids.tolist())}
    n_r = len(cohort.r_ids)
    codes = np.array(
        sorted(
            mentee_index[a] * n_r + mentor_index[b]
            for a, b in excluded
            if a in mentee_index and b in mentor_index
        ),
        dtype=np.int64,
    )
    if not len(codes):
        return np.zeros(len(e), dtype=np.bool_)
    pair_codes = e * n_r + r
    at = np.minimum(np.searchsorted(codes, pair_codes), len(codes) - 1)
    found: Bools = codes[at] == pair_codes
    return found


def _result(
    cohort: _Cohort,
    candidates: _Candidates,
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    weights: Weights,
    chosen: Ints,
    min_score: int,
) -> Matching:
    e = np.flatnonzero(chosen >= 0)
    scores = _scores(cohort, mentees, mentors, e, chosen[e], weights)
    pairs = tuple(
        Pair(mentees[i].id, mentors[j].id, s)
        for i, j, s in zip(e.tolist(), chosen[e].tolist(), scores, strict=True)
    )
    unmatched = _unmatched_reasons(cohort, candidates, mentees, mentors, weights, chosen, min_score)
    return Matching(pairs, unmatched)


# Why a mentee was left unmatched, as the mentee is told (by the reason's message id).
FOR_MENTEE: Mapping[str, Msg] = {
    N_("no mentor within {hours} h"): plural_msg(
        "none of the mentors lives within {hours} hour of your time zone",
        "none of the mentors lives within {hours} hours of your time zone",
        "hours",
        {},
    ),
    N_("no mentor shares a language"): Msg(N_("none of the mentors speaks a language you speak")),
    N_("no mentor meets the required preferences"): Msg(
        N_("no mentor meets the wishes you marked as a must")
    ),
    N_("every suitable mentor was proposed before"): Msg(
        N_("the mentors who suit you have already been tried")
    ),
    N_("no mentor scored high enough"): Msg(
        N_("no mentor fits what you are looking for well enough")
    ),
    N_("no capacity left with suitable mentors"): Msg(
        N_("the mentors who suit you have no free place left")
    ),
}


def for_mentee(reason: Msg) -> Msg:
    """An unmatched reason in the words a mentee is told."""
    told = FOR_MENTEE.get(reason.id)
    return reason if told is None else replace(told, values=reason.values)


def _unmatched_reasons(
    cohort: _Cohort,
    candidates: _Candidates,
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    weights: Weights,
    chosen: Ints,
    min_score: int,
) -> dict[int, Msg]:
    """Why each unmatched mentee is unmatched: the first hard constraint that no mentor passes."""
    n_e = len(mentees)
    e = candidates.e

    def per_mentee(mask: Bools) -> Ints:
        counted: Ints = np.bincount(e[mask], minlength=n_e)
        return counted

    near = per_mentee(np.ones(len(e), dtype=np.bool_))
    meeting = per_mentee(candidates.meets_required)
    open_ = per_mentee(candidates.open)
    feasible = per_mentee(candidates.feasible)
    best = np.full(n_e, -1, dtype=np.int64)
    np.maximum.at(best, e[candidates.feasible], candidates.value[candidates.feasible])

    speakers: dict[str, int] = {}
    for mentor in mentors:
        for language in mentor.languages:
            speakers[language] = speakers.get(language, 0) + 1
    mentor_by_id = {m.id: m for m in mentors}

    reasons: dict[int, Msg] = {}
    for i in np.flatnonzero(chosen < 0).tolist():
        mentee = mentees[i]
        if near[i] == 0:
            itself = mentor_by_id.get(mentee.id)
            own = len(mentee.languages & itself.languages) if itself else 0
            if sum(speakers.get(language, 0) for language in mentee.languages) > own:
                hours = _hours(weights.max_timezone_hours)
                reasons[mentee.id] = Msg(N_("no mentor within {hours} h"), {"hours": hours})
            else:
                reasons[mentee.id] = Msg(N_("no mentor shares a language"))
        elif meeting[i] == 0:
            reasons[mentee.id] = Msg(N_("no mentor meets the required preferences"))
        elif open_[i] > 0 and feasible[i] == 0:
            reasons[mentee.id] = Msg(N_("every suitable mentor was proposed before"))
        elif 0 <= best[i] < min_score:
            reasons[mentee.id] = Msg(N_("no mentor scored high enough"))
        else:
            reasons[mentee.id] = Msg(N_("no capacity left with suitable mentors"))
    return reasons


def _hours(hours: float) -> Value:
    # A whole number renders as a number; half and quarter hours as the person would write them.
    return int(hours) if float(hours).is_integer() else f"{hours:g}"


# The cohort as arrays ------------------------------------------------------------


@dataclass(frozen=True)
class _Cohort:
    """Profiles as arrays: sets as bit sets over the cohort's vocabulary, one row a person."""

    n_languages: int
    e_ids: Ints
    e_languages: Bits
    e_offset: Floats
    e_availability: Bits
    e_formats: Bits
    e_topics: Bits
    e_nice: Bits
    e_required: Bits
    e_stage: Ints
    r_ids: Ints
    r_languages: Bits
    r_offset: Floats
    r_availability: Bits
    r_formats: Bits
    r_expertise: Bits
    r_meets: Bits
    r_years: Ints
    r_capacity: Ints

    @classmethod
    def build(cls, mentees: Sequence[MenteeProfile], mentors: Sequence[MentorProfile]) -> _Cohort:
        people: list[MenteeProfile | MentorProfile] = [*mentees, *mentors]
        languages = _vocabulary([p.languages for p in people])
        availability = _vocabulary([p.availability for p in people])
        formats = _vocabulary([p.formats for p in people])
        topics = _vocabulary([m.topics for m in mentees] + [m.expertise for m in mentors])
        wishes = _vocabulary([(p.attribute, p.value) for p in m.preferences] for m in mentees)

        def wished(mentee: MenteeProfile, required: bool) -> list[tuple[str, str]]:
            return [(p.attribute, p.value) for p in mentee.preferences if p.required is required]

        def met(mentor: MentorProfile) -> list[tuple[str, str]]:
            return [(a, v) for a, v in wishes if _meets(mentor, Preference(a, v))]

        return cls(
            n_languages=len(languages),
            e_ids=np.array([m.id for m in mentees], dtype=np.int64),
            e_languages=_bitsets([m.languages for m in mentees], languages),
            e_offset=np.array([m.utc_offset for m in mentees], dtype=np.float64),
            e_availability=_bitsets([m.availability for m in mentees], availability),
            e_formats=_bitsets([m.formats for m in mentees], formats),
            e_topics=_bitsets([m.topics for m in mentees], topics),
            e_nice=_bitsets([wished(m, False) for m in mentees], wishes),
            e_required=_bitsets([wished(m, True) for m in mentees], wishes),
            e_stage=np.array([m.stage for m in mentees], dtype=np.int64),
            r_ids=np.array([m.id for m in mentors], dtype=np.int64),
            r_languages=_bitsets([m.languages for m in mentors], languages),
            r_offset=np.array([m.utc_offset for m in mentors], dtype=np.float64),
            r_availability=_bitsets([m.availability for m in mentors], availability),
            r_formats=_bitsets([m.formats for m in mentors], formats),
            r_expertise=_bitsets([m.expertise for m in mentors], topics),
            r_meets=_bitsets([met(m) for m in mentors], wishes),
            r_years=np.array([m.years_experience for m in mentors], dtype=np.int64),
            r_capacity=np.array([m.capacity for m in mentors], dtype=np.int64),
        )


def _vocabulary(sets: Iterable[Iterable[Item]]) -> dict[Item, int]:
    items: set[Item] = set().union(*sets)
    return {item: n for n, item in enumerate(sorted(items))}


def _bitsets(sets: Sequence[Iterable[Item]], vocabulary: Mapping[Item, int]) -> Bits:
    """One row per set, ``ceil(len(vocabulary) / 64)`` words per row."""
    out = np.zeros((len(sets), max(1, -(-len(vocabulary) // 64))), dtype=np.uint64)
    rows = np.array([row for row, items in enumerate(sets) for _ in items], dtype=np.int64)
    positions = np.array([vocabulary[item] for items in sets for item in items], dtype=np.uint64)
    words = (positions // np.uint64(64)).astype(np.int64)
    np.bitwise_or.at(out, (rows, words), np.left_shift(np.uint64(1), positions % np.uint64(64)))
    return out


def _common(a: Bits, b: Bits) -> Ints:
    counted: Ints = np.bitwise_count(a & b).sum(axis=1, dtype=np.int64)
    return counted


def _size(a: Bits) -> Ints:
    counted: Ints = np.bitwise_count(a).sum(axis=1, dtype=np.int64)
    return counted


def _near_pairs(cohort: _Cohort, max_hours: float) -> tuple[Ints, Ints]:
    """Every (mentee, mentor) index pair sharing a language and at most ``max_hours`` apart,
    except a person with themselves; without the 20M mostly hopeless pairs of a large cohort.

    For each language, the mentors speaking it are sorted by offset, so each mentee's window
    of offsets is a slice found by binary search. A pair sharing several languages is kept
    only under the first of them.
    """
    e_parts, r_parts = [], []
    for language in range(cohort.n_languages):
        word, bit = divmod(language, 64)
        ei = np.flatnonzero((cohort.e_languages[:, word] >> np.uint64(bit)) & np.uint64(1))
        ri = np.flatnonzero((cohort.r_languages[:, word] >> np.uint64(bit)) & np.uint64(1))
        if not len(ei) or not len(ri):
            continue
        ri = ri[np.argsort(cohort.r_offset[ri], kind="stable")]
        offsets = cohort.r_offset[ri]
        # Widened by a hair so that rounding in the bounds drops no pair; the exact test follows.
        lo = np.searchsorted(offsets, cohort.e_offset[ei] - max_hours - 1e-6, side="left")
        hi = np.searchsorted(offsets, cohort.e_offset[ei] + max_hours + 1e-6, side="right")
        e, positions = _expand(ei, lo, hi)
        r = ri[positions]
        earlier = np.zeros(cohort.e_languages.shape[1], dtype=np.uint64)
        earlier[:word] = np.uint64(2**64 - 1)
        earlier[word] = np.uint64((1 << bit) - 1)
        keep = (
            ~np.any(cohort.e_languages[e] & cohort.r_languages[r] & earlier, axis=1)
            & (np.abs(cohort.e_offset[e] - cohort.r_offset[r]) <= max_hours)
            & (cohort.e_ids[e] != cohort.r_ids[r])
        )
        e_parts.append(e[keep])
        r_parts.append(r[keep])
    if not e_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(e_parts), np.concatenate(r_parts)


def _expand(owners: Ints, lo: Ints, hi: Ints) -> tuple[Ints, Ints]:
    """For each owner the positions ``lo..hi-1``: (owner repeated, position), flattened."""
    counts = hi - lo
    starts = np.cumsum(counts) - counts
    owner = np.repeat(owners, counts)
    positions = np.arange(counts.sum(), dtype=np.int64) + np.repeat(lo - starts, counts)
    return owner.astype(np.int64), positions


# Score components ----------------------------------------------------------------


def _components(cohort: _Cohort, e: Ints, r: Ints, weights: Weights) -> Iterator[Floats]:
    """The components in the order of ``Weights.vector``, each in [0, 1], one value per pair.

    One at a time, to keep memory low on millions of pairs; element-wise arithmetic only, so
    a pair's values do not depend on the batch it is in: ``score`` and ``match`` agree to the
    last bit.
    """

    def share(common: Ints, wanted: Ints, when_none: float) -> Floats:
        shared: Floats = np.where(wanted > 0, common / np.maximum(wanted, 1), when_none)
        return shared

    yield share(_common(cohort.e_topics[e], cohort.r_expertise[r]), _size(cohort.e_topics)[e], 0.5)

    # One shared language is most of the value; sharing all the mentee speaks is all of it.
    spoken = _size(cohort.e_languages)[e]
    both = _common(cohort.e_languages[e], cohort.r_languages[r])
    yield np.where(spoken > 1, (4 + (both - 1) / np.maximum(spoken - 1, 1)) / 5, 1.0)

    distance = np.abs(cohort.e_offset[e] - cohort.r_offset[r])
    max_hours = weights.max_timezone_hours
    yield 1 - distance / max_hours if max_hours > 0 else np.ones(len(e))

    yield share(
        _common(cohort.e_availability[e], cohort.r_availability[r]),
        _size(cohort.e_availability)[e],
        0.5,
    )
    yield share(_common(cohort.e_formats[e], cohort.r_formats[r]), _size(cohort.e_formats)[e], 0.5)
    yield share(_common(cohort.e_nice[e], cohort.r_meets[r]), _size(cohort.e_nice)[e], 1.0)

    # Target: three years per stage. Fewer years count fully against the fit; more count half,
    # since a far more experienced mentor still suits, if less close to a beginner's situation.
    gap = cohort.r_years[r] - 3 * cohort.e_stage[e]
    yield 1 - np.minimum(1, np.maximum(-gap, 0) / 10 + np.maximum(gap, 0) / 20)


def _values(components: Iterable[Floats], weights: Weights) -> Ints:
    """The weighted mean of the components on 0-100, rounded half up."""
    total: Floats | float = 0.0
    for weight, component in zip(weights.vector(), components, strict=True):
        total = total + weight * component
    rounded: Ints = np.floor(np.multiply(total, 100) / sum(weights.vector()) + 0.5).astype(np.int64)
    return rounded


def _scores(
    cohort: _Cohort,
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
    e: Ints,
    r: Ints,
    weights: Weights,
) -> list[Score]:
    components = list(_components(cohort, e, r, weights))
    values = _values(components, weights).tolist()
    contributions = (np.array(weights.vector())[:, None] * np.stack(components)).T.tolist()
    return [
        Score(value, _reasons(mentees[i], mentors[j], contribution))
        for i, j, value, contribution in zip(
            e.tolist(), r.tolist(), values, contributions, strict=True
        )
    ]


def _reasons(
    mentee: MenteeProfile, mentor: MentorProfile, contributions: list[float]
) -> tuple[Msg, ...]:
    """The messages for the components that add the most to the score, largest first."""
    topics, languages, timezone, availability, formats, preferences, experience = contributions
    found: list[tuple[float, Msg]] = []
    if covered := mentee.topics & mentor.expertise:
        topic_labels = _labels(covered, TOPIC_LABELS)
        found.append((topics, Msg(N_("expertise covers {topics}"), {"topics": topic_labels})))
    if shared := mentee.languages & mentor.languages:
        names = _labels(shared, LANGUAGE_NAMES)
        found.append((languages, Msg(N_("both speak {languages}"), {"languages": names})))
    distance = abs(mentee.utc_offset - mentor.utc_offset)
    if distance == 0:
        found.append((timezone, Msg(N_("same time zone"))))
    else:
        found.append((timezone, Msg(N_("{hours} h apart"), {"hours": _hours(distance)})))
    if mentee.availability & mentor.availability:
        found.append((availability, Msg(N_("available at the same times"))))
    if mentee.formats & mentor.formats:
        found.append((formats, Msg(N_("both like the same way of meeting"))))
    if any(_meets(mentor, p) for p in mentee.preferences if not p.required):
        found.append((preferences, Msg(N_("meets the preferences"))))
    found.append(
        (
            experience,
            Msg(N_("years of experience: {years}"), {"years": mentor.years_experience}),
        )
    )
    # sorted() is stable: equal contributions keep the order of the components.
    ranked = sorted((item for item in found if item[0] > 0), key=lambda item: -item[0])
    return tuple(message for _, message in ranked[:REASONS_SHOWN])


def _labels(codes: frozenset[str], labels: Mapping[str, str]) -> list[Msg]:
    """Known codes in the table's order as translatable labels, then the others as they are."""
    known = [Msg(labels[code]) for code in labels if code in codes]
    # A code without a label is the caller's own word: a message that is just the value
    # renders it escaped and untranslated, like a str, while the list stays list[Msg].
    others = [Msg("{code}", {"code": code}) for code in sorted(codes - labels.keys())]
    return known + others


# The optimal matching ------------------------------------------------------------

# Pairs in the first restricted problem: the best few of each mentee, and of each mentor a
# few per place; the certificate adds what is missing.
_FIRST_PER_MENTEE = 8
_FIRST_PER_PLACE = 2


def _optimal(cohort: _Cohort, e: Ints, r: Ints, value: Ints, mode: Mode) -> Ints:
    """The mentor index per mentee (-1: unmatched) of a maximum-weight b-matching.

    The weight of a pair is its score, plus in ``most_matched`` a bonus B larger than any
    total score (100 per mentee, plus 1): one more matched mentee then outweighs every
    difference in scores, so the maximum weight has the most mentees and, among those, the
    highest total score.

    The b-matching LP (max sum w x, each mentee <= 1, each mentor <= capacity, 0 <= x) has
    integral vertices (a bipartite incidence matrix is totally unimodular), so the LP dual is
    a certificate: prices u (mentees) and v (mentors), both >= 0, with u_i + v_j >= w_ij for
    every pair and equality for the matched ones, u_i = 0 for an unmatched mentee and v_j = 0
    for a mentor with places left, prove the matching optimal.

    1. Solve the problem restricted to the most promising pairs exactly (``_assign``):
       mentors are expanded into their places (at most as many as they have pairs) and each
       mentee gets an own "unmatched" column of weight 0, so every mentee row can be
       assigned, as LAPJVsp requires.
    2. Compute prices that certify it on the restricted pairs (``_prices``).
    3. Check the prices on all pairs at once. Pairs that violate them are exactly those that
       could improve the matching: add some of them and repeat. The set only grows, so this
       ends, at worst with every pair.
    """
    n_e = len(cohort.e_ids)
    if not len(e):
        return np.full(n_e, -1, dtype=np.int64)
    bonus = 100 * n_e + 1 if mode == MatchingMode.MOST_MATCHED else 0
    weight = value + bonus
    capacity = cohort.r_capacity
    growth = 1
    active = _promising(e, r, value, capacity, n_e, growth)
    while True:
        chosen = _assign(n_e, capacity, e[active], r[active], weight[active])
        u, v = _prices(capacity, e[active], r[active], weight[active], chosen)
        violated = np.flatnonzero(u[e] + v[r] < weight)
        if not len(violated):
            return chosen
        # Adding every violated pair can mean millions when places are scarce; the most
        # promising of them, twice as many each round, usually settle it in a round or two.
        growth *= 2
        pick = _promising(e[violated], r[violated], value[violated], capacity, n_e, growth)
        active[violated[pick]] = True


def _promising(e: Ints, r: Ints, value: Ints, capacity: Ints, n_e: int, growth: int) -> Bools:
    """The best few pairs of each mentee and, per place, of each mentor."""
    per_mentee = growth * _FIRST_PER_MENTEE
    per_mentor = growth * _FIRST_PER_PLACE * capacity
    return _best_of_each(e, r, value, n_e, per_mentee) | _best_of_each(
        r, e, value, len(capacity), per_mentor
    )


def _best_of_each(owner: Ints, other: Ints, value: Ints, n: int, k: int | Ints) -> Bools:
    """The ``k`` best pairs of each of ``n`` owners (``k`` per owner or for all), unsorted.

    Ties at the cut are broken by a hash of the pair rather than by index, so that people
    with many equal options do not all start on the same few of them.
    """
    counts = np.bincount(owner * 101 + value, minlength=n * 101).reshape(n, 101)
    at_least = counts[:, ::-1].cumsum(axis=1)[:, ::-1]
    quota = np.broadcast_to(k, (n,))
    # The lowest score kept: the highest one reached by k pairs (-1: fewer than k pairs).
    cut = ((at_least >= quota[:, None]).sum(axis=1) - 1)[owner]
    best: Bools = value > cut
    room = quota - np.bincount(owner[best], minlength=n)
    tied = np.flatnonzero(value == cut)
    scrambled = (other[tied] * 2654435761 + owner[tied] * 2246822519) % 4294967291
    tied = tied[np.lexsort((scrambled, owner[tied]))]
    rank = np.arange(len(tied)) - np.searchsorted(owner[tied], owner[tied])
    best[tied[rank < room[owner[tied]]]] = True
    return best


def _assign(n_e: int, capacity: Ints, e: Ints, r: Ints, weight: Ints) -> Ints:
    """The exact maximum-weight b-matching over these pairs, by LAPJVsp on expanded places."""
    places = np.minimum(capacity, np.bincount(r, minlength=len(capacity)))
    first_place = np.cumsum(places) - places
    n_places = int(places.sum())
    pair, place = _expand(
        np.arange(len(e), dtype=np.int64), first_place[r], first_place[r] + places[r]
    )
    # Costs are positive (LAPJVsp takes an explicit zero for a missing edge):
    # top - weight for a pair, top for staying unmatched.
    top = float(weight.max()) + 1
    costs = np.concatenate([top - weight[pair].astype(np.float64), np.full(n_e, top)])
    rows = np.concatenate([e[pair], np.arange(n_e)])
    columns = np.concatenate([place, n_places + np.arange(n_e)])
    # SciPy is imported here, when a matching is solved: the bot need not carry it from start.
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    graph = csr_array((costs, (rows, columns)), shape=(n_e, n_places + n_e))
    row, column = min_weight_full_bipartite_matching(graph)
    owner = np.concatenate([np.repeat(np.arange(len(capacity)), places), np.full(n_e, -1)])
    chosen = np.full(n_e, -1, dtype=np.int64)
    chosen[row] = owner[column]
    return chosen


def _prices(capacity: Ints, e: Ints, r: Ints, weight: Ints, chosen: Ints) -> tuple[Ints, Ints]:
    """Dual prices (u per mentee, v per mentor) certifying ``chosen`` on these pairs.

    With u_i = w(i, m(i)) - v_m(i) for a matched mentee and 0 otherwise, the dual conditions
    become difference constraints on the mentor prices alone:
      v_m(i) - v_j <= w(i, m(i)) - w(i, j)   for each other pair (i, j) of a matched mentee,
      0 - v_j <= -w(i, j)                    for each pair of an unmatched mentee,
      v_m(i) - 0 <= w(i, m(i))               (u_i >= 0),
      0 - v_j <= 0 and, for a mentor with places left, v_j - 0 <= 0.
    Shortest distances from a zero node satisfy them all (Bellman-Ford); they exist because
    an optimal matching leaves no negative cycle.
    """
    n_e, n_r = len(chosen), len(capacity)
    matched = chosen >= 0
    full = np.bincount(chosen[matched], minlength=n_r) >= capacity
    own = np.zeros(n_e, dtype=np.int64)
    is_chosen = chosen[e] == r
    own[e[is_chosen]] = weight[is_chosen]
    other = ~is_chosen & matched[e]
    lonely = ~matched[e]
    with_mentor = np.flatnonzero(matched)
    room = np.flatnonzero(~full)
    everyone = np.arange(n_r)
    zero = n_r

    def at_zero(count: int) -> Ints:
        return np.full(count, zero, dtype=np.int64)

    # (source, target, length): price[target] - price[source] <= length.
    constraints = [
        (r[other], chosen[e[other]], own[e[other]] - weight[other]),
        (r[lonely], at_zero(int(lonely.sum())), -weight[lonely]),
        (at_zero(len(with_mentor)), chosen[with_mentor], own[with_mentor]),
        (everyone, at_zero(n_r), np.zeros(n_r, dtype=np.int64)),
        (at_zero(len(room)), room, np.zeros(len(room), dtype=np.int64)),
    ]
    source, target, length = (np.concatenate(column) for column in zip(*constraints, strict=True))

    distance = np.full(n_r + 1, 2**62, dtype=np.int64)
    distance[zero] = 0
    for _ in range(n_r + 1):
        relaxed = distance.copy()
        np.minimum.at(relaxed, target, distance[source] + length)
        if np.array_equal(relaxed, distance):
            v = distance[:n_r]
            u = np.where(matched, own - v[np.maximum(chosen, 0)], 0)
            return u, v
        distance = relaxed
    raise RuntimeError("the restricted matching is not optimal")

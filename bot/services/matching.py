"""Matching: a coordinator's proposal for a cohort (propose, exclude, approve), and in
cohorts where mentees choose, the suggestions a mentee gets, their request to a mentor and
the mentor's answer (or none in time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import intake
from bot.domain.cohorts import CohortMode, CohortSettings, Role, ShareMode
from bot.domain.consent import ConsentKind
from bot.domain.matching import (
    Matching,
    MenteeProfile,
    MentorProfile,
    Score,
    Weights,
    for_mentee,
    match,
    score,
)
from bot.domain.pairs import HOLDING, SPENT, PairStatus
from bot.domain.texts import N_, Msg, msg_to_json
from bot.services.clock import Clock
from bot.services.messages import Notifier, queue_message
from bot.services.pairs import PairService, set_status
from bot.services.profiles import development_stage, display_name
from bot.storage import consents as consent_store
from bot.storage import conversation as conversation_store
from bot.storage import matching as store
from bot.storage import pairs as pair_store
from bot.storage import profiles as profile_store
from bot.storage import repositories as repo
from bot.storage.models import Cohort, Membership, Pair, Person, Profile
from bot.telegram.buttons import RequestAnswer

SUGGESTIONS = 3
# A reminder to finish the intake: a kind that keeps to the person's quiet hours.
INTAKE_REMINDER = "intake_reminder"


@dataclass
class Suggestion:
    mentor: Person
    bio: str
    score: Score


@dataclass
class Proposal:
    cohort: Cohort
    pairs: list[Pair]
    unmatched: dict[int, Msg]
    names: dict[int, str]
    # People who joined the cohort and have not finished the intake: matching leaves them out.
    in_intake: list[Person] = field(default_factory=list)


class MatchingService:
    def __init__(self, pairs: PairService, clock: Clock, default_locale: str = "en") -> None:
        self.pairs = pairs
        self.clock = clock
        self.notifier = Notifier(clock, default_locale)

    # The coordinator's proposal ----------------------------------------------

    async def propose(self, db: AsyncSession, cohort: Cohort) -> Proposal:
        """Run matching for everyone in the cohort without a mentor, and keep the result
        as proposed pairs (replacing an earlier proposal)."""
        now = self.clock.now()
        await pair_store.drop_proposed(db, cohort.id)
        result, members = await self._match(db, cohort, now)
        proposed = [
            Pair(
                cohort_id=cohort.id,
                mentee_id=p.mentee_id,
                mentor_id=p.mentor_id,
                status=PairStatus.PROPOSED,
                score=p.score.value,
                reasons=[msg_to_json(r) for r in p.score.reasons],
                created_at=now,
            )
            for p in result.pairs
        ]
        db.add_all(proposed)
        # Their ids go on the proposal's buttons.
        await db.flush()
        names = {person.id: person.first_name for _, _, person in members}
        intake_people = await store.in_intake(db, cohort.id)
        return Proposal(cohort, proposed, dict(result.unmatched), names, intake_people)

    async def what_if(self, db: AsyncSession, cohort: Cohort, *tried: Weights) -> list[Matching]:
        """Matching of the cohort as things stand, once with each of these weights and
        time-zone limits (the profiles read once); nothing is stored. The dashboard's board
        shows whom the cohort's own leave unmatched and why, and how many more others
        would match."""
        settings = CohortSettings.of(cohort.settings)
        mentees, mentors, excluded, _ = await self._inputs(db, cohort, self.clock.now())
        return [
            match(mentees, mentors, weights, excluded=excluded, mode=settings.matching_mode)
            for weights in tried
        ]

    async def _match(
        self, db: AsyncSession, cohort: Cohort, now: datetime
    ) -> tuple[Matching, list[tuple[Membership, Profile, Person]]]:
        """Matching of the cohort's mentees without a mentor, as things stand."""
        mentees, mentors, excluded, members = await self._inputs(db, cohort, now)
        settings = CohortSettings.of(cohort.settings)
        result = match(
            mentees,
            mentors,
            settings.matching_weights(),
            excluded=excluded,
            mode=settings.matching_mode,
        )
        return result, members

    async def _inputs(
        self, db: AsyncSession, cohort: Cohort, now: datetime
    ) -> tuple[
        list[MenteeProfile],
        list[MentorProfile],
        set[tuple[int, int]],
        list[tuple[Membership, Profile, Person]],
    ]:
        """What matching takes, as things stand: the mentees without a mentor, the mentors
        with their places left, the pairs never to propose again; and the members."""
        members = await store.active_members(db, cohort.id)
        pairs = await pair_store.of_cohort(db, cohort.id)
        taken = {p.mentee_id for p in pairs if p.status in HOLDING}
        load: dict[int, int] = {}
        for p in pairs:
            if p.status in HOLDING:
                load[p.mentor_id] = load.get(p.mentor_id, 0) + 1
        excluded = {(p.mentee_id, p.mentor_id) for p in pairs if p.status in SPENT}
        mentees = [
            await self._as_mentee(db, m.person_id, prof.data, now)
            for m, prof, _ in members
            if m.role == Role.MENTEE and m.person_id not in taken
        ]
        mentors = [
            intake.as_mentor(
                m.person_id,
                prof.data,
                max(0, int(prof.data["capacity"]) - load.get(m.person_id, 0)),
                now,
            )
            for m, prof, _ in members
            if m.role == Role.MENTOR
        ]
        return mentees, mentors, excluded, members

    async def remind_intake(self, db: AsyncSession, cohort: Cohort) -> int:
        """A gentle reminder to each person of the cohort still in the intake, once: one
        reminded before is not reminded again. Its kind keeps to their quiet hours.
        Returns how many were reminded now."""
        waiting = await store.in_intake(db, cohort.id)
        series = {p.id: f"{INTAKE_REMINDER}:{cohort.id}:{p.id}" for p in waiting}
        done = await repo.by_series_keys(db, list(series.values()))
        now = self.clock.now()
        reminded = 0
        for waiting_person in waiting:
            if series[waiting_person.id] in done:
                continue
            queue_message(
                db,
                waiting_person,
                Msg(
                    N_(
                        "A gentle reminder: you started joining {cohort} but have not "
                        "answered all the questions yet. Your answers so far are kept; "
                        "send /continue to go on where you stopped, so that you can be "
                        "matched with a mentor."
                    ),
                    {"cohort": cohort.name},
                ),
                kind=INTAKE_REMINDER,
                now=now,
                default_locale=self.notifier.default_locale,
                series=series[waiting_person.id],
            )
            reminded += 1
        return reminded

    async def proposal(self, db: AsyncSession, cohort: Cohort) -> list[Pair]:
        return await pair_store.proposed(db, cohort.id)

    async def exclude(self, db: AsyncSession, cohort: Cohort, pair_id: int) -> Proposal | None:
        """Leave a proposed pair out and propose again without it (None: it was not in
        the proposal). When nothing is left to propose, the mentees still without a
        mentor are told so, and why."""
        pair = await db.get(Pair, pair_id)
        if pair is None or pair.cohort_id != cohort.id or pair.status != PairStatus.PROPOSED:
            return None
        set_status(pair, PairStatus.EXCLUDED)
        pair.decided_at = self.clock.now()
        proposal = await self.propose(db, cohort)
        if not proposal.pairs:
            await self._tell_unmatched(db, cohort, pair.decided_at)
        return proposal

    async def approve(
        self, db: AsyncSession, cohort: Cohort, pair_ids: Sequence[int] | None = None
    ) -> list[Pair]:
        """Make proposed pairs real (all, or those named); returns them, to introduce.
        Once nothing of the proposal is left, the mentees it left without a mentor are
        told so, and why."""
        now = self.clock.now()
        approved = []
        left = []
        for pair in await self.proposal(db, cohort):
            if pair_ids is None or pair.id in pair_ids:
                set_status(pair, PairStatus.ACTIVE)
                pair.decided_at = now
                approved.append(pair)
            else:
                left.append(pair)
        await db.flush()
        if approved and not left:
            await self._tell_unmatched(db, cohort, now)
        return approved

    async def _tell_unmatched(self, db: AsyncSession, cohort: Cohort, now: datetime) -> None:
        result, members = await self._match(db, cohort, now)
        people = {person.id: person for _, _, person in members}
        for mentee_id, reason in result.unmatched.items():
            mentee = people.get(mentee_id)
            if mentee is None:
                continue
            self.notifier.notify(
                db,
                mentee,
                Msg(
                    N_(
                        "Matching has run in {cohort}, and this time you were not matched "
                        "with a mentor: {reason}. Your coordinator knows and will look for "
                        "a way; you don't need to do anything now."
                    ),
                    {"cohort": cohort.name, "reason": for_mentee(reason)},
                ),
                "notice",
            )

    # What matching reads ------------------------------------------------------

    async def _as_mentee(
        self, db: AsyncSession, mentee_id: int, data: dict[str, Any], now: datetime
    ) -> MenteeProfile:
        mentee = intake.as_mentee(mentee_id, data, now)
        extra = await self.shared_topics(db, mentee_id)
        return replace(mentee, topics=mentee.topics | extra) if extra else mentee

    async def shared_topics(self, db: AsyncSession, mentee_id: int) -> frozenset[str]:
        """What the mentee's coaching sessions add to their topics for matching: the two
        weakest areas of their latest Wheel of Life and the area of their latest GROW goal,
        each only if the mentee shares summaries always or shared that session; the Wheel's
        only with their consent to sharing its ratings."""
        profile = await db.get(Profile, mentee_id)
        always = profile is not None and profile.data.get("share") == ShareMode.ALWAYS

        async def shared(session_id: int) -> bool:
            return always or await conversation_store.was_shared(db, session_id)

        topics: set[str] = set()
        wheels = await repo.finished_wheels(db, mentee_id)
        if (
            wheels
            and await consent_store.has(db, mentee_id, ConsentKind.WHEEL)
            and await shared(wheels[-1][0])
        ):
            ratings = wheels[-1][1]
            topics |= set(sorted(ratings, key=lambda area: (ratings[area], area))[:2])
        latest_goal = await repo.latest_finished(db, mentee_id, "grow")
        if latest_goal is not None and await shared(latest_goal):
            area = (await repo.load_answers(db, latest_goal)).get("goal_area")
            if isinstance(area, str):
                topics.add(area)
        return frozenset(topics)

    # Mentees choosing their mentor ------------------------------------------

    async def suggestions(self, db: AsyncSession, mentee_id: int) -> list[Suggestion]:
        """The best mentors for a mentee in a cohort where mentees choose, with reasons;
        empty when the cohort is coordinator-matched or the mentee already has a mentor or
        a request waiting."""
        membership = await profile_store.current_membership(db, mentee_id)
        profile = await db.get(Profile, mentee_id)
        cohort = await db.get(Cohort, membership.cohort_id) if membership else None
        if (
            cohort is None
            or cohort.mode != CohortMode.MENTEE_CHOOSES
            or profile is None
            or membership is None
            or membership.role != Role.MENTEE
        ):
            return []
        own = await pair_store.of_mentee(db, mentee_id)
        if any(p.status in HOLDING for p in own):
            return []
        spent = {p.mentor_id for p in own if p.status in SPENT}
        now = self.clock.now()
        mentee = await self._as_mentee(db, mentee_id, profile.data, now)
        weights = CohortSettings.of(cohort.settings).matching_weights()
        found = []
        for mentor_profile, mentor in await store.active_mentors(db, cohort.id):
            if mentor.id in spent:
                continue
            held = await pair_store.held_places(db, mentor.id)
            places = max(0, int(mentor_profile.data["capacity"]) - held)
            fit = score(
                mentee, intake.as_mentor(mentor.id, mentor_profile.data, places, now), weights
            )
            if fit is not None:
                found.append(Suggestion(mentor, str(mentor_profile.data.get("bio") or ""), fit))
        found.sort(key=lambda s: -s.score.value)
        return found[:SUGGESTIONS]

    async def request(self, db: AsyncSession, mentee: Person, mentor_id: int) -> Pair | None:
        """The mentee asks one of their suggested mentors; the mentor has the cohort's
        response time to accept."""
        offered = {s.mentor.id: s for s in await self.suggestions(db, mentee.id)}
        membership = await profile_store.current_membership(db, mentee.id)
        if mentor_id not in offered or membership is None:
            return None
        cohort = await db.get(Cohort, membership.cohort_id)
        assert cohort is not None
        now = self.clock.now()
        hours = CohortSettings.of(cohort.settings).response_hours
        chosen = offered[mentor_id]
        pair = Pair(
            cohort_id=cohort.id,
            mentee_id=mentee.id,
            mentor_id=mentor_id,
            status=PairStatus.REQUESTED,
            score=chosen.score.value,
            reasons=[msg_to_json(r) for r in chosen.score.reasons],
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        db.add(pair)
        await db.flush()
        profile = await db.get(Profile, mentee.id)
        data = profile.data if profile else {}
        self.notifier.notify(
            db,
            chosen.mentor,
            Msg(
                N_(
                    "🙋 {name} would like you as their mentor.\n\n"
                    "<i>Occupation and interests:</i> {occupation}\n"
                    "<i>Stage of development:</i> {stage}\n"
                    "<i>First steps:</i> {first_steps}\n\n"
                    "Please answer within {hours} h."
                ),
                {
                    "name": display_name(mentee, profile, pair),
                    "occupation": str(data.get("occupation") or ""),
                    "stage": development_stage(self.pairs.dialogs, data),
                    "first_steps": str(data.get("first_steps") or ""),
                    "hours": hours,
                },
            ),
            "request",
            {"pair": pair.id},
            buttons=[
                [
                    (Msg(N_("✅ Accept")), RequestAnswer(pair=pair.id, answer="yes").pack()),
                    (Msg(N_("Decline")), RequestAnswer(pair=pair.id, answer="no").pack()),
                ]
            ],
        )
        return pair

    async def answer_request(
        self, db: AsyncSession, mentor: Person, pair_id: int, accept: bool
    ) -> Pair | None:
        pair = await db.get(Pair, pair_id)
        if pair is None or pair.mentor_id != mentor.id or pair.status != PairStatus.REQUESTED:
            return None
        set_status(pair, PairStatus.ACTIVE if accept else PairStatus.DECLINED)
        pair.decided_at = self.clock.now()
        if accept:
            await self.pairs.introduce(db, [pair])
            return pair
        mentee = await db.get(Person, pair.mentee_id)
        assert mentee is not None
        self.notifier.notify(
            db,
            mentee,
            Msg(
                N_("The mentor you asked cannot take you on. /mentors shows you other suggestions.")
            ),
            "notice",
            {"pair": pair.id},
        )
        return pair

    async def expire_requests(self, db: AsyncSession) -> int:
        """Requests no mentor answered in time: the mentee chooses again."""
        now = self.clock.now()
        overdue = await pair_store.overdue_requests(db, now)
        for pair in overdue:
            set_status(pair, PairStatus.EXPIRED)
            pair.decided_at = now
            mentee = await db.get(Person, pair.mentee_id)
            if mentee is not None:
                self.notifier.notify(
                    db,
                    mentee,
                    Msg(
                        N_(
                            "The mentor you asked did not answer in time. /mentors shows you other "
                            "suggestions."
                        )
                    ),
                    "notice",
                    {"pair": pair.id},
                )
        return len(overdue)

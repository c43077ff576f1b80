"""Use cases of the programme: cohorts, invites, intake, matching, pairs, relaying."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import intake
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.matching import MenteeProfile, Score, Weights, match, score
from bot.domain.texts import N_, Msg, Value, msg_to_json
from bot.i18n import locale_for
from bot.services import pair_context
from bot.services.clock import Clock
from bot.services.dialogs import DialogService, DialogTurn
from bot.services.messages import Buttons, queue_message
from bot.storage import repositories as repo
from bot.storage.models import (
    Answer,
    Cohort,
    CohortCoordinator,
    DialogSession,
    Invite,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from bot.telegram.buttons import RequestAnswer

MENTEE, MENTOR, COORDINATOR = "mentee", "mentor", "coordinator"
ROLES = (MENTEE, MENTOR)
COHORT_FORM = "cohort_new"
END_FORM = "end_pair"
CLOSING_FORM = "closing"
REPORT_FORM = "report"
CHECKIN = "checkin"
LOW_MOOD = 2
SUGGESTIONS = 3
NUDGE_KINDS = ("nudge", "nudge_alert")
# Cohort settings a coordinator can change, each with its choices (the first is the default).
SETTINGS: dict[str, tuple[Any, ...]] = {
    "matching_mode": ("most_matched", "best_scores"),
    "weights": ("balanced", "topics", "practical"),
    "max_timezone_hours": (6, 3, 9, 12),
    "response_hours": (72, 24, 48, 120),
    "checkins": ("weekly", "fortnightly", "off"),
    # A mentor is nudged after this many hours without an answer, again after twice as many.
    "nudge_hours": (48, 24, 72),
    "no_contact_days": (21, 14, 28),
}
WEIGHT_PRESETS: dict[str, dict[str, float]] = {
    "balanced": {},
    "topics": {"topics": 55, "availability": 10, "timezone": 10},
    "practical": {"topics": 20, "timezone": 25, "availability": 25},
}
# A pair in one of these states keeps the mentor's place taken.
HOLDING = ("active", "paused", "requested")
# Pairs in these states are never proposed or suggested again.
SPENT = ("excluded", "ended", "declined", "expired")
SHARE_MODES = ("ask", "always", "never")


class Redeemed(enum.Enum):
    JOINED = "joined"
    COORDINATOR = "coordinator"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    ALREADY = "already"


@dataclass
class Joining:
    result: Redeemed
    cohort: Cohort | None = None
    role: str | None = None
    turn: DialogTurn | None = None


@dataclass
class CohortView:
    cohort: Cohort
    mentees: int
    mentors: int
    active_pairs: int
    invites: list[Invite]


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


def new_code() -> str:
    """An invite code: 128 random bits, in the characters a deep link allows."""
    return secrets.token_urlsafe(16)


class Relayed(enum.Enum):
    QUEUED = "queued"
    PAUSED = "paused"
    NO_PAIR = "no_pair"
    CHOOSE = "choose"
    UNREACHABLE = "unreachable"
    # It replies to a message of a pair that is over: it goes to nobody else instead.
    ENDED = "ended"


class ProgrammeService:
    def __init__(
        self,
        dialogs: DialogService,
        clock: Clock,
        coordinator_ids: Collection[int] = (),
        default_locale: str = "en",
    ) -> None:
        self.dialogs = dialogs
        self.clock = clock
        self.coordinator_ids = frozenset(coordinator_ids)
        self.default_locale = default_locale
        dialogs.finishers[intake.MENTEE_INTAKE] = self._finish_intake
        dialogs.finishers[intake.MENTOR_INTAKE] = self._finish_intake
        dialogs.finishers[COHORT_FORM] = self._finish_cohort_form
        dialogs.finishers[END_FORM] = self._finish_end
        dialogs.finishers[CLOSING_FORM] = self._finish_closing
        dialogs.finishers[REPORT_FORM] = self._finish_report
        dialogs.finishers[CHECKIN] = self._finish_checkin

    # Roles -------------------------------------------------------------------

    def is_coordinator(self, person: Person | None) -> bool:
        return person is not None and (person.is_coordinator or person.id in self.coordinator_ids)

    async def role_of(self, db: AsyncSession, person_id: int) -> str | None:
        """The person's role in their current cohort, if they are in one."""
        membership = await self._membership(db, person_id)
        return membership.role if membership else None

    async def _membership(self, db: AsyncSession, person_id: int) -> Membership | None:
        result = await db.execute(
            select(Membership)
            .where(Membership.person_id == person_id, Membership.status != "left")
            .order_by(Membership.joined_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    # Cohorts -----------------------------------------------------------------

    async def _finish_cohort_form(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        answers = progress.answers
        await self.create_cohort(
            db,
            person_id,
            str(answers["name"]),
            str(answers["mode"]),
            date.fromisoformat(answers["ends_on"]),
            now,
        )

    async def create_cohort(
        self,
        db: AsyncSession,
        creator_id: int,
        name: str,
        mode: str,
        ends_on: date | None,
        now: datetime,
    ) -> Cohort:
        taken = set((await db.execute(select(Cohort.name))).scalars())
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name} ({n})", n + 1
        cohort = Cohort(
            name=unique,
            mode=mode,
            ends_on=ends_on,
            settings={},
            created_by=creator_id,
            created_at=now,
        )
        db.add(cohort)
        await db.flush()
        db.add(CohortCoordinator(cohort_id=cohort.id, person_id=creator_id))
        for role in ROLES:
            db.add(Invite(code=new_code(), cohort_id=cohort.id, role=role, uses=0, created_at=now))
        await db.flush()
        return cohort

    async def change_setting(self, db: AsyncSession, cohort: Cohort, key: str) -> Any:
        """Move a cohort setting to its next choice; returns the new value."""
        choices = SETTINGS[key]
        current = setting(cohort, key)
        value = choices[(choices.index(current) + 1) % len(choices)]
        cohort.settings = {**cohort.settings, key: value}
        await db.commit()
        return value

    async def create_invite(
        self,
        db: AsyncSession,
        cohort: Cohort,
        role: str,
        expires_at: datetime | None,
        max_uses: int | None,
    ) -> Invite:
        invite = Invite(
            code=new_code(),
            cohort_id=cohort.id,
            role=role,
            expires_at=expires_at,
            max_uses=max_uses,
            uses=0,
            created_at=self.clock.now(),
        )
        db.add(invite)
        await db.commit()
        return invite

    async def coordinated(self, db: AsyncSession, person: Person) -> list[Cohort]:
        """The cohorts this coordinator runs."""
        result = await db.execute(
            select(Cohort)
            .join(CohortCoordinator, CohortCoordinator.cohort_id == Cohort.id)
            .where(CohortCoordinator.person_id == person.id)
            .order_by(Cohort.created_at.desc())
        )
        return list(result.scalars())

    async def cohort_views(self, db: AsyncSession, person: Person) -> list[CohortView]:
        views = []
        for cohort in await self.coordinated(db, person):
            rows = await db.execute(
                select(Membership.role, func.count())
                .where(Membership.cohort_id == cohort.id, Membership.status != "left")
                .group_by(Membership.role)
            )
            counts: dict[str, int] = {role: int(n) for role, n in rows.all()}
            active = await db.scalar(
                select(func.count())
                .select_from(Pair)
                .where(Pair.cohort_id == cohort.id, Pair.status == "active")
            )
            invites = list(
                (
                    await db.execute(
                        select(Invite)
                        .where(Invite.cohort_id == cohort.id)
                        .order_by(Invite.created_at)
                    )
                ).scalars()
            )
            views.append(
                CohortView(
                    cohort, counts.get(MENTEE, 0), counts.get(MENTOR, 0), int(active or 0), invites
                )
            )
        await db.commit()
        return views

    async def cohort_of(self, db: AsyncSession, person: Person, cohort_id: int) -> Cohort | None:
        """A cohort, if this coordinator runs it."""
        return next((c for c in await self.coordinated(db, person) if c.id == cohort_id), None)

    # Joining -------------------------------------------------------------------

    async def join(self, db: AsyncSession, person_id: int, code: str) -> Joining:
        """Use an invite: the person enters the cohort in the invite's role and starts the
        intake. Every way an invite can fail has its own answer."""
        now = self.clock.now()
        invite = await db.get(Invite, code[:32]) if code else None
        if invite is None:
            await db.commit()
            return Joining(Redeemed.UNKNOWN)
        cohort = await db.get(Cohort, invite.cohort_id)
        if invite.expires_at is not None and invite.expires_at <= now:
            await db.commit()
            return Joining(Redeemed.EXPIRED, cohort, invite.role)
        existing = (
            await db.execute(
                select(Membership).where(
                    Membership.cohort_id == invite.cohort_id, Membership.person_id == person_id
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            await db.commit()
            return Joining(Redeemed.ALREADY, cohort, existing.role)
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            await db.commit()
            return Joining(Redeemed.USED_UP, cohort, invite.role)
        invite.uses += 1
        if invite.role == COORDINATOR:
            # Another coordinator brought this person in to help run the cohort.
            person = await db.get(Person, person_id)
            assert person is not None
            person.is_coordinator = True
            if await db.get(CohortCoordinator, (invite.cohort_id, person_id)) is None:
                db.add(CohortCoordinator(cohort_id=invite.cohort_id, person_id=person_id))
            await db.commit()
            return Joining(Redeemed.COORDINATOR, cohort, invite.role)
        db.add(
            Membership(
                cohort_id=invite.cohort_id,
                person_id=person_id,
                role=invite.role,
                status="intake",
                joined_at=now,
            )
        )
        await db.flush()
        turn = await self.dialogs.start(db, person_id, intake.INTAKE_FOR_ROLE[invite.role])
        return Joining(Redeemed.JOINED, cohort, invite.role, turn)

    async def _finish_intake(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        role = MENTEE if dialog.id == intake.MENTEE_INTAKE else MENTOR
        data = (intake.mentee_data if role == MENTEE else intake.mentor_data)(progress.answers)
        profile = await db.get(Profile, person_id)
        if profile is None:
            db.add(Profile(person_id=person_id, role=role, data=data, updated_at=now))
        else:
            profile.role, profile.data, profile.updated_at = role, data, now
        membership = await self._membership(db, person_id)
        if membership is not None and membership.status == "intake":
            membership.status = "active"

    # Matching ------------------------------------------------------------------

    async def propose(self, db: AsyncSession, cohort: Cohort) -> Proposal:
        """Run matching for everyone in the cohort without a mentor, and keep the result
        as proposed pairs (replacing an earlier proposal)."""
        now = self.clock.now()
        await db.execute(delete(Pair).where(Pair.cohort_id == cohort.id, Pair.status == "proposed"))
        members = (
            await db.execute(
                select(Membership, Profile, Person)
                .join(Profile, Profile.person_id == Membership.person_id)
                .join(Person, Person.id == Membership.person_id)
                .where(Membership.cohort_id == cohort.id, Membership.status == "active")
            )
        ).all()
        pairs = list((await db.execute(select(Pair).where(Pair.cohort_id == cohort.id))).scalars())
        taken = {p.mentee_id for p in pairs if p.status in HOLDING}
        load: dict[int, int] = {}
        for p in pairs:
            if p.status in HOLDING:
                load[p.mentor_id] = load.get(p.mentor_id, 0) + 1
        excluded = {(p.mentee_id, p.mentor_id) for p in pairs if p.status in SPENT}
        mentees = [
            await self._as_mentee(db, m.person_id, prof.data, now)
            for m, prof, _ in members
            if m.role == MENTEE and m.person_id not in taken
        ]
        mentors = [
            intake.as_mentor(
                m.person_id,
                prof.data,
                max(0, int(prof.data["capacity"]) - load.get(m.person_id, 0)),
                now,
            )
            for m, prof, _ in members
            if m.role == MENTOR
        ]
        result = match(
            mentees,
            mentors,
            cohort_weights(cohort),
            excluded=excluded,
            mode=setting(cohort, "matching_mode"),
        )
        proposed = [
            Pair(
                cohort_id=cohort.id,
                mentee_id=p.mentee_id,
                mentor_id=p.mentor_id,
                status="proposed",
                score=p.score.value,
                reasons=[msg_to_json(r) for r in p.score.reasons],
                created_at=now,
            )
            for p in result.pairs
        ]
        db.add_all(proposed)
        await db.commit()
        names = {person.id: person.first_name for _, _, person in members}
        return Proposal(cohort, proposed, dict(result.unmatched), names)

    async def proposal(self, db: AsyncSession, cohort: Cohort) -> list[Pair]:
        return list(
            (
                await db.execute(
                    select(Pair)
                    .where(Pair.cohort_id == cohort.id, Pair.status == "proposed")
                    .order_by(Pair.score.desc())
                )
            ).scalars()
        )

    async def exclude(self, db: AsyncSession, cohort: Cohort, pair_id: int) -> bool:
        pair = await db.get(Pair, pair_id)
        if pair is None or pair.cohort_id != cohort.id or pair.status != "proposed":
            await db.commit()
            return False
        pair.status = "excluded"
        pair.decided_at = self.clock.now()
        await db.commit()
        return True

    async def approve(
        self, db: AsyncSession, cohort: Cohort, pair_ids: Sequence[int] | None = None
    ) -> list[Pair]:
        """Make proposed pairs real (all, or those named); returns them, to introduce."""
        now = self.clock.now()
        approved = []
        for pair in await self.proposal(db, cohort):
            if pair_ids is None or pair.id in pair_ids:
                pair.status = "active"
                pair.decided_at = now
                approved.append(pair)
        await db.flush()
        return approved

    async def pairs_of_mentor(self, db: AsyncSession, mentor_id: int) -> list[Pair]:
        return list(
            (
                await db.execute(
                    select(Pair).where(Pair.mentor_id == mentor_id, Pair.status == "active")
                )
            ).scalars()
        )

    async def profile(self, db: AsyncSession, person_id: int) -> Profile | None:
        return await db.get(Profile, person_id)

    # Messages the bot starts --------------------------------------------------

    def notify(
        self,
        db: AsyncSession,
        person: Person,
        msg: Msg,
        kind: str,
        context: dict[str, Any] | None = None,
        buttons: Buttons = (),
    ) -> None:
        """Queue a message to a person, in their language; it is rendered when sent."""
        queue_message(
            db,
            person,
            msg,
            kind=kind,
            now=self.clock.now(),
            default_locale=self.default_locale,
            context=context,
            buttons=buttons,
        )

    async def introduce(self, db: AsyncSession, pairs: Sequence[Pair]) -> None:
        """Tell both sides of each new pair about the other; the mentor also gets the
        mentee's intake (by pseudonym if the mentee chose so)."""
        for pair in pairs:
            mentee = await db.get(Person, pair.mentee_id)
            mentor = await db.get(Person, pair.mentor_id)
            mentee_profile = await db.get(Profile, pair.mentee_id)
            mentor_profile = await db.get(Profile, pair.mentor_id)
            assert mentee and mentor and mentee_profile and mentor_profile
            about = mentor_profile.data
            self.notify(
                db,
                mentee,
                Msg(
                    N_(
                        "🤝 You have a mentor: <b>{name}</b>.\n\n{bio}\n\nWhat you write here now "
                        "goes to your mentor, except while you are in a coaching session."
                    ),
                    {"name": mentor.first_name, "bio": str(about.get("bio") or "")},
                ),
                "introduction",
                {"pair": pair.id},
            )
            data = mentee_profile.data
            self.notify(
                db,
                mentor,
                Msg(
                    N_(
                        "🤝 You have a new mentee: <b>{name}</b>.\n\n"
                        "<i>Occupation and interests:</i> {occupation}\n"
                        "<i>Decision-making style and principles:</i> {decisions}\n"
                        "<i>First steps:</i> {first_steps}\n"
                        "<i>Time zone:</i> {timezone}\n\n"
                        "Reply to their messages here; /mentees lists your mentees."
                    ),
                    {
                        "name": display_name(mentee, mentee_profile, pair),
                        "occupation": str(data.get("occupation") or ""),
                        "decisions": str(data.get("decisions") or ""),
                        "first_steps": str(data.get("first_steps") or ""),
                        "timezone": str(data.get("timezone") or ""),
                    },
                ),
                "introduction",
                {"pair": pair.id},
            )
        await db.commit()

    # Mentees choosing their mentor ------------------------------------------

    async def _as_mentee(
        self, db: AsyncSession, mentee_id: int, data: dict[str, Any], now: datetime
    ) -> MenteeProfile:
        mentee = intake.as_mentee(mentee_id, data, now)
        extra = await self.shared_topics(db, mentee_id)
        return replace(mentee, topics=mentee.topics | extra) if extra else mentee

    async def suggestions(self, db: AsyncSession, mentee_id: int) -> list[Suggestion]:
        """The best mentors for a mentee in a cohort where mentees choose, with reasons;
        empty when the cohort is coordinator-matched or the mentee already has a mentor or
        a request waiting."""
        membership = await self._membership(db, mentee_id)
        profile = await db.get(Profile, mentee_id)
        cohort = await db.get(Cohort, membership.cohort_id) if membership else None
        if (
            cohort is None
            or cohort.mode != "mentee_chooses"
            or profile is None
            or membership is None
            or membership.role != MENTEE
        ):
            return []
        own = list((await db.execute(select(Pair).where(Pair.mentee_id == mentee_id))).scalars())
        if any(p.status in HOLDING for p in own):
            return []
        spent = {p.mentor_id for p in own if p.status in SPENT}
        now = self.clock.now()
        mentee = await self._as_mentee(db, mentee_id, profile.data, now)
        weights = cohort_weights(cohort)
        found = []
        for mentor_profile, mentor in (
            await db.execute(
                select(Profile, Person)
                .select_from(Membership)
                .join(Profile, Profile.person_id == Membership.person_id)
                .join(Person, Person.id == Membership.person_id)
                .where(
                    Membership.cohort_id == cohort.id,
                    Membership.role == MENTOR,
                    Membership.status == "active",
                )
            )
        ).all():
            if mentor.id in spent:
                continue
            held = await db.scalar(
                select(func.count())
                .select_from(Pair)
                .where(Pair.mentor_id == mentor.id, Pair.status.in_(HOLDING))
            )
            places = max(0, int(mentor_profile.data["capacity"]) - int(held or 0))
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
        membership = await self._membership(db, mentee.id)
        if mentor_id not in offered or membership is None:
            await db.commit()
            return None
        cohort = await db.get(Cohort, membership.cohort_id)
        assert cohort is not None
        now = self.clock.now()
        hours = int(setting(cohort, "response_hours"))
        chosen = offered[mentor_id]
        pair = Pair(
            cohort_id=cohort.id,
            mentee_id=mentee.id,
            mentor_id=mentor_id,
            status="requested",
            score=chosen.score.value,
            reasons=[msg_to_json(r) for r in chosen.score.reasons],
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        db.add(pair)
        await db.flush()
        profile = await db.get(Profile, mentee.id)
        data = profile.data if profile else {}
        self.notify(
            db,
            chosen.mentor,
            Msg(
                N_(
                    "🙋 {name} would like you as their mentor.\n\n"
                    "<i>Occupation and interests:</i> {occupation}\n"
                    "<i>First steps:</i> {first_steps}\n\n"
                    "Please answer within {hours} h."
                ),
                {
                    "name": display_name(mentee, profile, pair),
                    "occupation": str(data.get("occupation") or ""),
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
        await db.commit()
        return pair

    async def answer_request(
        self, db: AsyncSession, mentor: Person, pair_id: int, accept: bool
    ) -> Pair | None:
        pair = await db.get(Pair, pair_id)
        if pair is None or pair.mentor_id != mentor.id or pair.status != "requested":
            await db.commit()
            return None
        pair.status = "active" if accept else "declined"
        pair.decided_at = self.clock.now()
        if accept:
            await self.introduce(db, [pair])
            return pair
        mentee = await db.get(Person, pair.mentee_id)
        assert mentee is not None
        self.notify(
            db,
            mentee,
            Msg(
                N_("The mentor you asked cannot take you on. /mentors shows you other suggestions.")
            ),
            "notice",
            {"pair": pair.id},
        )
        await db.commit()
        return pair

    async def alert_quiet_pairs(self, db: AsyncSession) -> int:
        """Pairs with no contact for their cohort's number of days (21 unless set): the
        coordinators are told, once for each such stretch."""
        now = self.clock.now()
        pairs = list((await db.execute(select(Pair).where(Pair.status == "active"))).scalars())
        cohorts = {c.id: c for c in (await db.execute(select(Cohort))).scalars()}
        told = 0
        for pair in pairs:
            limit = now - timedelta(days=setting(cohorts[pair.cohort_id], "no_contact_days"))
            since = pair.last_contact_at or pair.decided_at or pair.created_at
            if since > limit or (pair.quiet_alert_at is not None and pair.quiet_alert_at > since):
                continue
            mentee = await db.get(Person, pair.mentee_id)
            mentor = await db.get(Person, pair.mentor_id)
            assert mentee is not None and mentor is not None
            await self._tell_coordinators(
                db,
                pair,
                Msg(
                    N_(
                        "⚠️ Pair #{pair} ({mentee} and {mentor}) has had no contact for {days} days."
                    ),
                    {
                        "pair": pair.id,
                        "mentee": mentee.first_name,
                        "mentor": mentor.first_name,
                        "days": (now - since).days,
                    },
                ),
            )
            pair.quiet_alert_at = now
            told += 1
        await db.commit()
        return told

    async def expire_requests(self, db: AsyncSession) -> int:
        """Requests no mentor answered in time: the mentee chooses again."""
        now = self.clock.now()
        overdue = list(
            (
                await db.execute(
                    select(Pair).where(Pair.status == "requested", Pair.expires_at <= now)
                )
            ).scalars()
        )
        for pair in overdue:
            pair.status, pair.decided_at = "expired", now
            mentee = await db.get(Person, pair.mentee_id)
            if mentee is not None:
                self.notify(
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
        await db.commit()
        return len(overdue)

    # Sharing, ending, reporting ------------------------------------------------

    async def share_mode(self, db: AsyncSession, person_id: int) -> str:
        profile = await db.get(Profile, person_id)
        return str(profile.data.get("share", "ask")) if profile else "ask"

    async def set_share_mode(self, db: AsyncSession, person_id: int, mode: str) -> bool:
        profile = await db.get(Profile, person_id)
        if profile is None or mode not in SHARE_MODES:
            await db.commit()
            return False
        profile.data = {**profile.data, "share": mode}
        await db.commit()
        return True

    async def mentor_of(self, db: AsyncSession, mentee_id: int) -> Person | None:
        pair = (
            (
                await db.execute(
                    select(Pair).where(Pair.mentee_id == mentee_id, Pair.status == "active")
                )
            )
            .scalars()
            .first()
        )
        return await db.get(Person, pair.mentor_id) if pair else None

    async def share_summary(
        self, db: AsyncSession, mentee: Person, session_id: int, parts: Sequence[str]
    ) -> Person | None:
        """Send a finished session's summary (already rendered in the mentor's language)
        to the mentee's mentor; returns the mentor, or None when there is none."""
        mentor = await self.mentor_of(db, mentee.id)
        if mentor is None:
            await db.commit()
            return None
        for part in parts:
            repo.enqueue(
                db,
                kind="summary",
                chat_id=mentor.id,
                method="sendMessage",
                payload={"text": part},
                now=self.clock.now(),
                context={"from": mentee.id, "session": session_id},
            )
        await db.commit()
        return mentor

    async def shared_topics(self, db: AsyncSession, mentee_id: int) -> frozenset[str]:
        """What the mentee's coaching sessions add to their topics for matching: the two
        weakest areas of their latest Wheel of Life and the area of their latest GROW goal,
        each only if the mentee shares summaries always or shared that session."""
        profile = await db.get(Profile, mentee_id)
        always = profile is not None and profile.data.get("share") == "always"

        async def shared(session_id: int) -> bool:
            if always:
                return True
            sent = await db.scalar(
                select(func.count())
                .select_from(Outgoing)
                .where(
                    Outgoing.kind == "summary",
                    Outgoing.context["session"].as_integer() == session_id,
                )
            )
            return bool(sent)

        topics: set[str] = set()
        wheels = await repo.finished_wheels(db, mentee_id)
        if wheels and await shared(wheels[-1][0]):
            ratings = wheels[-1][1]
            topics |= set(sorted(ratings, key=lambda area: (ratings[area], area))[:2])
        latest_goal = await repo.latest_finished(db, mentee_id, "grow")
        if latest_goal is not None and await shared(latest_goal):
            area = (await repo.load_answers(db, latest_goal)).get("goal_area")
            if isinstance(area, str):
                topics.add(area)
        return frozenset(topics)

    async def start_form(
        self, db: AsyncSession, person: Person, form: str, pair: Pair, restart: bool = True
    ) -> DialogTurn:
        """Start ending this pair, or reporting about it (``restart=False``: go on with
        the form already begun, if any)."""
        await pair_context.begin_form(db, person.id, form, pair)
        return await self.dialogs.start(db, person.id, form, restart=restart)

    async def _finish_end(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        pair = await pair_context.finish_form(db, person_id, dialog.id)
        if pair is None:
            return
        answers = progress.answers
        pair.status, pair.ended_at, pair.ended_by = "ended", now, person_id
        await self._cancel_nudges(db, pair.id)
        pair.end_reason = str(answers.get("reason") or "")
        pair.feedback = {**pair.feedback, str(person_id): _look_back(answers)}
        ender = await db.get(Person, person_id)
        other = await db.get(
            Person, pair.mentor_id if person_id == pair.mentee_id else pair.mentee_id
        )
        assert ender is not None and other is not None
        self.notify(
            db,
            other,
            Msg(
                N_(
                    "Your mentoring relationship has been ended by the other side. "
                    "Reason: {reason}\n\nPlease tell the coordinator how it went: /feedback"
                ),
                {"reason": pair.end_reason},
            ),
            "notice",
            {"pair": pair.id},
        )
        await self._tell_coordinators(
            db,
            pair,
            Msg(
                N_(
                    "Pair #{pair} was ended by {name}. Reason: {reason}\n"
                    "Rating: {rating}/5 · would recommend: {recommend}\nWhat worked: {worked}"
                ),
                {
                    "pair": pair.id,
                    "name": ender.first_name,
                    **_look_back_values(answers),
                    "reason": pair.end_reason,
                },
            ),
        )

    async def feedback_pending(self, db: AsyncSession, person_id: int) -> Pair | None:
        """The person's latest ended pair that still waits for their look back."""
        pairs = (
            await db.execute(
                select(Pair)
                .where(
                    Pair.status == "ended",
                    (Pair.mentee_id == person_id) | (Pair.mentor_id == person_id),
                )
                .order_by(Pair.ended_at.desc())
            )
        ).scalars()
        return next((p for p in pairs if str(person_id) not in p.feedback), None)

    async def _finish_closing(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        pair = await self.feedback_pending(db, person_id)
        person = await db.get(Person, person_id)
        if pair is None or person is None:
            return
        pair.feedback = {**pair.feedback, str(person_id): _look_back(progress.answers)}
        await self._tell_coordinators(
            db,
            pair,
            Msg(
                N_(
                    "{name} looks back on pair #{pair}: rating {rating}/5 · would recommend: "
                    "{recommend}\nWhat worked: {worked}"
                ),
                {"pair": pair.id, "name": person.first_name, **_look_back_values(progress.answers)},
            ),
        )

    async def _finish_report(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        pair = await pair_context.finish_form(db, person_id, dialog.id)
        person = await db.get(Person, person_id)
        if pair is None or person is None:
            return
        await self._tell_coordinators(
            db,
            pair,
            Msg(
                N_(
                    "⚠️ {name} reports a problem in pair #{pair}:\n{problem}\n\n"
                    "/pairs lets you pause or end the pair."
                ),
                {
                    "pair": pair.id,
                    "name": person.first_name,
                    "problem": str(progress.answers.get("problem") or ""),
                },
            ),
        )

    async def _finish_checkin(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        """A check-in: "talked with the mentor" logs a contact; a low mood twice in a row
        is told to the coordinators."""
        pair = await pair_context.mentee_pair(db, person_id)
        if pair is None:
            return
        if progress.answers.get("talked") == "yes":
            pair.last_contact_at = now
        mood = progress.answers.get("mood")
        if not isinstance(mood, int) or mood > LOW_MOOD:
            return
        earlier = await db.execute(
            select(Answer.value)
            .join(DialogSession, DialogSession.id == Answer.session_id)
            .where(
                DialogSession.person_id == person_id,
                DialogSession.dialog_id == CHECKIN,
                DialogSession.status == repo.FINISHED,
                Answer.key == "mood",
            )
            .order_by(DialogSession.finished_at.desc(), DialogSession.id.desc())
            .limit(2)
        )
        moods = [m for m in earlier.scalars() if isinstance(m, int)]
        # The first is this check-in's own mood, already written with its last answer.
        if len(moods) == 2 and all(m <= LOW_MOOD for m in moods):
            mentee = await db.get(Person, person_id)
            assert mentee is not None
            await self._tell_coordinators(
                db,
                pair,
                Msg(
                    N_(
                        "⚠️ {name} (pair #{pair}) answered the mood question with {mood} twice in a "
                        "row. A word from you may help."
                    ),
                    {"name": mentee.first_name, "pair": pair.id, "mood": mood},
                ),
            )

    async def _tell_coordinators(self, db: AsyncSession, pair: Pair, msg: Msg) -> None:
        coordinators = (
            await db.execute(
                select(Person)
                .join(CohortCoordinator, CohortCoordinator.person_id == Person.id)
                .where(CohortCoordinator.cohort_id == pair.cohort_id)
            )
        ).scalars()
        for coordinator in coordinators:
            self.notify(db, coordinator, msg, "alert", {"pair": pair.id})

    async def pairs_of_cohorts(self, db: AsyncSession, coordinator: Person) -> list[Pair]:
        """The pairs, active or paused, of every cohort this coordinator runs."""
        cohort_ids = [c.id for c in await self.coordinated(db, coordinator)]
        return list(
            (
                await db.execute(
                    select(Pair)
                    .where(Pair.cohort_id.in_(cohort_ids), Pair.status.in_(("active", "paused")))
                    .order_by(Pair.cohort_id, Pair.id)
                )
            ).scalars()
        )

    async def set_pair_status(
        self,
        db: AsyncSession,
        coordinator: Person,
        pair_id: int,
        status: str,
        reason: str = "ended by the coordinator",
    ) -> Pair | None:
        """A coordinator pauses, resumes or ends a pair of their cohorts; both sides are told."""
        pair = next(
            (p for p in await self.pairs_of_cohorts(db, coordinator) if p.id == pair_id), None
        )
        if pair is None or status not in ("active", "paused", "ended") or pair.status == status:
            await db.commit()
            return None
        pair.status = status
        if status != "active":
            await self._cancel_nudges(db, pair.id)
        if status == "ended":
            pair.ended_at, pair.ended_by = self.clock.now(), coordinator.id
            pair.end_reason = reason
        notice = {
            "paused": Msg(
                N_(
                    "Your mentoring pair has been paused by the programme "
                    "coordinator; messages are not passed on until it resumes."
                )
            ),
            "active": Msg(
                N_("Your mentoring pair has been resumed: messages are passed on again.")
            ),
            "ended": Msg(
                N_(
                    "Your mentoring relationship has been ended by the programme "
                    "coordinator. Please tell them how it went: /feedback"
                )
            ),
        }[status]
        for side in (pair.mentee_id, pair.mentor_id):
            person = await db.get(Person, side)
            if person is not None:
                self.notify(db, person, notice, "notice", {"pair": pair.id})
        await db.commit()
        return pair

    async def toggle_accepting(self, db: AsyncSession, mentor: Person) -> bool | None:
        """A mentor stops or starts taking new mentees; returns the new state."""
        profile = await db.get(Profile, mentor.id)
        if profile is None or profile.role != MENTOR:
            await db.commit()
            return None
        accepting = not profile.data.get("accepting", True)
        profile.data = {**profile.data, "accepting": accepting}
        await db.commit()
        return accepting

    async def relay(
        self,
        db: AsyncSession,
        sender: Person,
        message_id: int,
        text: str | None,
        reply_to: int | None,
    ) -> Relayed:
        """Pass a message to the other side of the pair it is about (the one of the message
        it replies to, the mentee chosen in /mentees, or the only one), through the outbox."""
        about = await pair_context.resolve(
            db, sender.id, pair_context.Naming(reply_to=reply_to), pair_context.OPEN
        )
        pair = about.pair
        if pair is None or pair.status != "active":
            await db.commit()
            if pair is not None:
                return Relayed.PAUSED
            return {
                pair_context.Found.CHOOSE: Relayed.CHOOSE,
                pair_context.Found.GONE: Relayed.ENDED,
            }.get(about.found, Relayed.NO_PAIR)
        other = await db.get(
            Person, pair.mentor_id if sender.id == pair.mentee_id else pair.mentee_id
        )
        assert other is not None
        if other.unreachable_at is not None:
            await self._alert_unreachable(db, pair, sender, other)
            await db.commit()
            return Relayed.UNREACHABLE
        profile = await db.get(Profile, sender.id)
        name = display_name(sender, profile, pair)
        context = {"pair": pair.id, "from": sender.id}
        locale = locale_for(other, other.telegram_language, self.default_locale)
        now = self.clock.now()
        if text is not None:
            repo.enqueue(
                db,
                kind="relay",
                chat_id=other.id,
                method="sendMessage",
                payload={
                    "msg": msg_to_json(
                        Msg(N_("<b>{name}:</b>\n{text}"), {"name": name, "text": text})
                    ),
                    "locale": locale,
                },
                now=now,
                context=context,
            )
        else:
            self.notify(db, other, Msg(N_("<b>{name}</b> sent:"), {"name": name}), "relay", context)
            repo.enqueue(
                db,
                kind="relay",
                chat_id=other.id,
                method="copyMessage",
                payload={"from_chat_id": sender.id, "message_id": message_id},
                now=now,
                context=context,
            )
        pair.last_contact_at = now
        if sender.id == pair.mentee_id:
            await self._nudge_later(db, pair, sender, other, now)
        else:
            await self._cancel_nudges(db, pair.id)
        await db.commit()
        return Relayed.QUEUED

    async def _nudge_later(
        self, db: AsyncSession, pair: Pair, mentee: Person, mentor: Person, now: datetime
    ) -> None:
        """A mentee's message waits for an answer: the mentor is nudged after the cohort's
        hours (48 unless set) and after twice as many, then the coordinators are told. Only
        the first unanswered message counts."""
        waiting = await db.scalar(
            select(func.count())
            .select_from(Outgoing)
            .where(
                Outgoing.status == "pending",
                Outgoing.kind.in_(NUDGE_KINDS),
                Outgoing.context["pair"].as_integer() == pair.id,
            )
        )
        if waiting:
            return
        profile = await db.get(Profile, mentee.id)
        name = display_name(mentee, profile, pair)
        context = {"pair": pair.id}
        cohort = await db.get(Cohort, pair.cohort_id)
        assert cohort is not None
        first = int(setting(cohort, "nudge_hours"))
        nudge_hours = (first, 2 * first)
        for hours in nudge_hours:
            queue_message(
                db,
                mentor,
                Msg(
                    N_("🔔 {name} wrote to you {hours} h ago and is waiting for your answer."),
                    {"name": name, "hours": hours},
                ),
                kind="nudge",
                now=now,
                due_at=now + timedelta(hours=hours),
                default_locale=self.default_locale,
                context=context,
                # Once the next nudge is due, this one would only repeat it.
                stale_at=now + timedelta(hours=2 * hours) if hours == first else None,
            )
        coordinators = (
            await db.execute(
                select(Person)
                .join(CohortCoordinator, CohortCoordinator.person_id == Person.id)
                .where(CohortCoordinator.cohort_id == pair.cohort_id)
            )
        ).scalars()
        for coordinator in coordinators:
            queue_message(
                db,
                coordinator,
                Msg(
                    N_(
                        "⚠️ Pair #{pair}: {mentee} has waited {hours} h for an answer from {mentor}."
                    ),
                    {
                        "pair": pair.id,
                        "mentee": name,
                        "mentor": mentor.first_name,
                        "hours": nudge_hours[-1],
                    },
                ),
                kind="nudge_alert",
                now=now,
                due_at=now + timedelta(hours=nudge_hours[-1], minutes=1),
                default_locale=self.default_locale,
                context=context,
            )

    async def _cancel_nudges(self, db: AsyncSession, pair_id: int) -> None:
        """The mentor answered: nothing more to nudge about."""
        await db.execute(
            update(Outgoing)
            .where(
                Outgoing.status == "pending",
                Outgoing.kind.in_(NUDGE_KINDS),
                Outgoing.context["pair"].as_integer() == pair_id,
            )
            .values(status="cancelled")
        )

    async def share_contact(self, db: AsyncSession, person: Person, pair: Pair) -> str:
        """The person agrees to swap contacts with the other side of this pair of theirs:
        "waiting" until the other side agrees too (who is asked once), then "swapped" (both
        get the other's profile link)."""
        asked = person.id in pair.contact_consent
        consent = set(pair.contact_consent) | {person.id}
        pair.contact_consent = sorted(consent)
        if consent != {pair.mentee_id, pair.mentor_id} and asked:
            await db.commit()
            return "waiting"
        if consent != {pair.mentee_id, pair.mentor_id}:
            other = await db.get(
                Person, pair.mentor_id if person.id == pair.mentee_id else pair.mentee_id
            )
            assert other is not None
            self.notify(
                db,
                other,
                Msg(
                    N_(
                        "Your mentoring partner would like to swap contacts. If you agree, send "
                        "/contact."
                    )
                ),
                "notice",
                {"pair": pair.id},
            )
            await db.commit()
            return "waiting"
        mentee = await db.get(Person, pair.mentee_id)
        mentor = await db.get(Person, pair.mentor_id)
        assert mentee is not None and mentor is not None
        for reader, shown in ((mentee, mentor), (mentor, mentee)):
            self.notify(
                db,
                reader,
                Msg(
                    N_(
                        "🤝 You both agreed to swap contacts: "
                        '<a href="tg://user?id={id}">{name}</a>.'
                    ),
                    {"id": shown.id, "name": shown.first_name},
                ),
                "notice",
                {"pair": pair.id},
            )
        await db.commit()
        return "swapped"

    async def talk_to(self, db: AsyncSession, mentor: Person, pair_id: int) -> Pair | None:
        """A mentor with several mentees picks whom their next messages go to."""
        pair = next((p for p in await self.pairs_of_mentor(db, mentor.id) if p.id == pair_id), None)
        profile = await db.get(Profile, mentor.id)
        if pair is not None and profile is not None:
            profile.data = {**profile.data, "talking_to": pair.id}
        await db.commit()
        return pair

    async def undeliverable(self, db: AsyncSession, row: Outgoing, status: str) -> None:
        """A relayed message could not be delivered: the sender is told, and so are the
        cohort's coordinators."""
        pair_id, sender_id = row.context.get("pair"), row.context.get("from")
        if row.kind != "relay" or pair_id is None or sender_id is None:
            return
        pair = await db.get(Pair, pair_id)
        sender = await db.get(Person, sender_id)
        other = await db.get(Person, row.chat_id)
        if pair is None or sender is None or other is None:
            return
        await self._alert_unreachable(db, pair, sender, other)
        await db.commit()

    async def _alert_unreachable(
        self, db: AsyncSession, pair: Pair, sender: Person, other: Person
    ) -> None:
        self.notify(
            db,
            sender,
            Msg(
                N_(
                    "Your message could not be delivered: the other side of your pair cannot be "
                    "reached by the bot (they may have blocked it). Your programme coordinator has "
                    "been told."
                )
            ),
            "notice",
        )
        coordinators = (
            await db.execute(
                select(Person)
                .join(CohortCoordinator, CohortCoordinator.person_id == Person.id)
                .where(CohortCoordinator.cohort_id == pair.cohort_id)
            )
        ).scalars()
        for coordinator in coordinators:
            self.notify(
                db,
                coordinator,
                Msg(
                    N_(
                        "⚠️ Pair #{pair}: a message from {sender} could not be delivered to "
                        "{other}, who cannot be reached (blocked the bot?)."
                    ),
                    {"pair": pair.id, "sender": sender.first_name, "other": other.first_name},
                ),
                "alert",
            )


def display_name(person: Person, profile: Profile | None, pair: Pair) -> str:
    """How a mentee is shown to their mentor: by name, or by a pseudonym if they chose."""
    if profile is not None and profile.role == MENTEE and not profile.data.get("show_name"):
        return f"#{pair.id}"
    return person.first_name


def _look_back(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: answers.get(k) for k in ("worked", "rating", "recommend")}


def _look_back_values(answers: dict[str, Any]) -> dict[str, Value]:
    return {
        "rating": int(answers.get("rating") or 0),
        "recommend": Msg(N_("Yes")) if answers.get("recommend") else Msg(N_("No")),
        "worked": str(answers.get("worked") or "—"),
    }


def setting(cohort: Cohort, key: str) -> Any:
    value = cohort.settings.get(key)
    return value if value in SETTINGS[key] else SETTINGS[key][0]


def cohort_weights(cohort: Cohort) -> Weights:
    return Weights(
        **WEIGHT_PRESETS[setting(cohort, "weights")],
        max_timezone_hours=float(setting(cohort, "max_timezone_hours")),
    )

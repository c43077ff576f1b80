"""Mentoring pairs once they exist: introducing both sides, a coordinator pausing, resuming
or ending one, either side ending it or reporting a problem (forms), the look back once it
ended, the mentee's check-ins, and pairs without contact for too long.

Every change of a pair's state goes through ``set_status``, which keeps to the moves of
``bot.domain.pairs``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.pairs import RUNNING, Health, Light, PairStatus, can_move, move
from bot.domain.texts import N_, Msg, Value, plural_msg
from bot.services import pair_context
from bot.services.clock import Clock
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService, DialogTurn
from bot.services.messages import Notifier
from bot.services.profiles import development_stage, display_name
from bot.storage import cohorts as cohort_store
from bot.storage import consents as consent_store
from bot.storage import conversation as conversation_store
from bot.storage import pairs as store
from bot.storage.models import Pair, Person, Profile

if TYPE_CHECKING:
    from bot.services.pulse import PulseService

END_FORM = "end_pair"
CLOSING_FORM = "closing"
REPORT_FORM = "report"
CHECKIN = "checkin"
LOW_MOOD = 2


@dataclass(frozen=True)
class PairLine:
    """A running pair as /pairs shows it."""

    pair: Pair
    cohort: str
    mentee: str
    mentor: str
    # Days without contact, when that is as long as the cohort's limit or longer.
    quiet_days: int | None
    # The mentee's latest mood, when it was low (and they share their mood).
    low_mood: int | None
    health: Health = field(default_factory=Health)

    def shown_by(self, show: str) -> bool:
        if show == "trouble":
            return self.health.light != Light.GREEN
        if show == "quiet":
            return self.quiet_days is not None
        if show == "low":
            return self.low_mood is not None
        return show == "all" or self.pair.status == show


def set_status(pair: Pair, status: PairStatus) -> None:
    """Move a pair to a new state; a move the state machine forbids raises
    ForbiddenTransition."""
    pair.status = move(pair.status, status)


class PairService:
    def __init__(
        self,
        dialogs: DialogService,
        clock: Clock,
        cohorts: CohortService,
        pulse: PulseService,
        default_locale: str = "en",
    ) -> None:
        self.dialogs = dialogs
        self.clock = clock
        self.cohorts = cohorts
        self.pulse = pulse
        self.notifier = Notifier(clock, default_locale)
        dialogs.finishers[END_FORM] = self._finish_end
        dialogs.finishers[CLOSING_FORM] = self._finish_closing
        dialogs.finishers[REPORT_FORM] = self._finish_report
        dialogs.finishers[CHECKIN] = self._finish_checkin

    # Finding pairs -------------------------------------------------------------

    async def active_pair(self, db: AsyncSession, person_id: int) -> Pair | None:
        return await store.active_pair(db, person_id)

    async def paused_pair(self, db: AsyncSession, person_id: int) -> Pair | None:
        return await store.paused_pair(db, person_id)

    async def pairs_of_mentor(self, db: AsyncSession, mentor_id: int) -> list[Pair]:
        return await store.active_of_mentor(db, mentor_id)

    async def pairs_of_cohorts(self, db: AsyncSession, coordinator: Person) -> list[Pair]:
        """The pairs, active or paused, of every cohort this coordinator runs."""
        cohort_ids = [c.id for c in await self.cohorts.coordinated(db, coordinator)]
        return await store.of_cohorts(db, cohort_ids, RUNNING)

    async def running(
        self, db: AsyncSession, coordinator: Person, cohort_id: int, show: str
    ) -> list[PairLine]:
        """The running pairs of the coordinator's cohorts (of one, if ``cohort_id``), as
        /pairs shows them; ``show`` keeps only the active, the paused, those without
        contact for their cohort's days, or those whose mentee's latest mood was low."""
        cohorts = {c.id: c for c in await self.cohorts.coordinated(db, coordinator)}
        ids = [cohort_id] if cohort_id else list(cohorts)
        found = await store.of_cohorts(db, [i for i in ids if i in cohorts], RUNNING)
        names = await store.first_names(db, found)
        moods = await store.shared_latest_moods(db, {p.mentee_id for p in found}, CHECKIN)
        healths = await self.pulse.health(db, found)
        now = self.clock.now()
        lines = []
        for pair in found:
            days = CohortSettings.of(cohorts[pair.cohort_id].settings).no_contact_days
            since = pair.last_contact_at or pair.decided_at or pair.created_at
            quiet = (now - since).days if pair.status == PairStatus.ACTIVE else 0
            mood = moods.get(pair.mentee_id)
            line = PairLine(
                pair,
                cohorts[pair.cohort_id].name,
                names.get(pair.mentee_id, "?"),
                names.get(pair.mentor_id, "?"),
                quiet if quiet >= days else None,
                mood if mood is not None and mood <= LOW_MOOD else None,
                healths[pair.id],
            )
            if line.shown_by(show):
                lines.append(line)
        return lines

    async def names(self, db: AsyncSession, pairs: Sequence[Pair]) -> dict[int, str]:
        """The first names of both sides of these pairs, by person id."""
        return await store.first_names(db, pairs)

    async def feedback_pending(self, db: AsyncSession, person_id: int) -> Pair | None:
        """The person's latest ended pair that still waits for their look back."""
        pairs = await store.ended_of(db, person_id)
        return next((p for p in pairs if str(person_id) not in p.feedback), None)

    # A pair begins ---------------------------------------------------------------

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
            self.notifier.notify(
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
            self.notifier.notify(
                db,
                mentor,
                Msg(
                    N_(
                        "🤝 You have a new mentee: <b>{name}</b>.\n\n"
                        "<i>Occupation and interests:</i> {occupation}\n"
                        "<i>Stage of development:</i> {stage}\n"
                        "<i>Decision-making style and principles:</i> {decisions}\n"
                        "<i>First steps:</i> {first_steps}\n"
                        "<i>Time zone:</i> {timezone}\n\n"
                        "Reply to their messages here; /mentees lists your mentees."
                    ),
                    {
                        "name": display_name(mentee, mentee_profile, pair),
                        "occupation": str(data.get("occupation") or ""),
                        "stage": development_stage(self.dialogs, data),
                        "decisions": str(data.get("decisions") or ""),
                        "first_steps": str(data.get("first_steps") or ""),
                        "timezone": str(data.get("timezone") or ""),
                    },
                ),
                "introduction",
                {"pair": pair.id},
            )

    # The coordinator -------------------------------------------------------------

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
        if pair is None or not can_move(pair.status, status):
            return None
        set_status(pair, PairStatus(status))
        if status != PairStatus.ACTIVE:
            await conversation_store.cancel_nudges(db, pair.id)
        if status == PairStatus.ENDED:
            pair.ended_at, pair.ended_by = self.clock.now(), coordinator.id
            pair.end_reason = reason
        notice = {
            PairStatus.PAUSED: Msg(
                N_(
                    "Your mentoring pair has been paused by the programme "
                    "coordinator; messages are not passed on until it resumes."
                )
            ),
            PairStatus.ACTIVE: Msg(
                N_("Your mentoring pair has been resumed: messages are passed on again.")
            ),
            PairStatus.ENDED: Msg(
                N_(
                    "Your mentoring relationship has been ended by the programme "
                    "coordinator. Please tell them how it went: /feedback"
                )
            ),
        }[PairStatus(status)]
        for side in (pair.mentee_id, pair.mentor_id):
            person = await db.get(Person, side)
            if person is not None:
                self.notifier.notify(db, person, notice, "notice", {"pair": pair.id})
        return pair

    async def alert_quiet_pairs(self, db: AsyncSession) -> int:
        """Pairs with no contact for their cohort's number of days: the coordinators are
        told, once for each such stretch."""
        now = self.clock.now()
        pairs = await store.all_active(db)
        cohorts = await cohort_store.by_id(db)
        told = 0
        for pair in pairs:
            days = CohortSettings.of(cohorts[pair.cohort_id].settings).no_contact_days
            limit = now - timedelta(days=days)
            since = pair.last_contact_at or pair.decided_at or pair.created_at
            if since > limit or (pair.quiet_alert_at is not None and pair.quiet_alert_at > since):
                continue
            mentee = await db.get(Person, pair.mentee_id)
            mentor = await db.get(Person, pair.mentor_id)
            assert mentee is not None and mentor is not None
            await self._tell_coordinators(
                db,
                pair,
                plural_msg(
                    "⚠️ Pair #{pair} ({mentee} and {mentor}) has had no contact for {days} day.",
                    "⚠️ Pair #{pair} ({mentee} and {mentor}) has had no contact for {days} days.",
                    "days",
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
        return told

    async def _tell_coordinators(self, db: AsyncSession, pair: Pair, msg: Msg) -> None:
        await self.notifier.tell_coordinators(db, pair.cohort_id, msg, {"pair": pair.id})

    # Ending, reporting, looking back ------------------------------------------

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
        set_status(pair, PairStatus.ENDED)
        pair.ended_at, pair.ended_by = now, person_id
        await conversation_store.cancel_nudges(db, pair.id)
        pair.end_reason = str(answers.get("reason") or "")
        pair.feedback = {**pair.feedback, str(person_id): _look_back(answers)}
        ender = await db.get(Person, person_id)
        other = await db.get(
            Person, pair.mentor_id if person_id == pair.mentee_id else pair.mentee_id
        )
        assert ender is not None and other is not None
        self.notifier.notify(
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

    # Check-ins -------------------------------------------------------------------

    async def _finish_checkin(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        """A check-in: "talked with the mentor" logs a contact; a low mood twice in a row
        is told to the coordinators, only with the mentee's consent to share their mood."""
        pair = await pair_context.mentee_pair(db, person_id)
        if pair is None:
            return
        if progress.answers.get("talked") == "yes":
            pair.last_contact_at = now
        mood = progress.answers.get("mood")
        if not isinstance(mood, int) or mood > LOW_MOOD:
            return
        # A run begun before the consent was asked can hold a mood without it.
        if not await consent_store.has(db, person_id, ConsentKind.MOOD):
            return
        moods = await store.latest_moods(db, person_id, CHECKIN, 2)
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


def _look_back(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: answers.get(k) for k in ("worked", "rating", "recommend")}


def _look_back_values(answers: dict[str, Any]) -> dict[str, Value]:
    return {
        "rating": int(answers.get("rating") or 0),
        "recommend": Msg(N_("Yes")) if answers.get("recommend") else Msg(N_("No")),
        "worked": str(answers.get("worked") or "—"),
    }

"""The relationship pulse, and a pair's health. 30 days after a pair starts and then every
60, each side is asked two one-tap questions (dialogs/pulse.yaml: how useful, how regular);
the answers go to the programme's coordinators only, as figures. A pair's health folds
what the bot knows of it into one traffic light, with the reasons behind it: the last
contact, the pulse, the mentee's mood (only with their consent to share it), their
commitments done and overdue, and how long each side waits for the other's reply."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings
from bot.domain.consent import ConsentKind
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.pairs import RUNNING, Health, Light, PairStatus
from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.messages import queue_message
from bot.services.pairs import CHECKIN
from bot.services.profiles import display_name
from bot.storage import cohorts as cohort_store
from bot.storage import consents as consent_store
from bot.storage import conversation as conversation_store
from bot.storage import pairs as pairs_store
from bot.storage.models import (
    Commitment,
    Outgoing,
    Pair,
    Person,
    Profile,
    PulseAnswer,
)
from bot.telegram.buttons import PulseStart

PULSE_FORM = "pulse"
PULSE_INVITE = "pulse_invite"
FIRST_PULSE = timedelta(days=30)
PULSE_EVERY = timedelta(days=60)
# What the light looks at. Without contact for the cohort's "no contact" days a pair is
# red (as the coordinators' alert says), for half of them amber.
LOW_MOOD = 2
SLOW_REPLY = timedelta(days=3)
REPLIES_OVER = timedelta(days=60)
OVERDUE_RED = 3


def pulse_round(started: datetime, now: datetime) -> int:
    """The round of the pulse due at ``now`` for a pair started at ``started`` (0: none yet)."""
    if now < started + FIRST_PULSE:
        return 0
    return 1 + (now - started - FIRST_PULSE) // PULSE_EVERY


class PulseService:
    def __init__(
        self,
        dialogs: DialogService,
        followup: FollowUpService,
        clock: Clock,
        default_locale: str,
    ) -> None:
        self.dialogs = dialogs
        self.followup = followup
        self.clock = clock
        self.default_locale = default_locale
        dialogs.finishers[PULSE_FORM] = self._finish

    # Asking ----------------------------------------------------------------------------

    async def ask_due(self, db: AsyncSession) -> int:
        """Queue the pulse's invitation to both sides of every active pair whose round is
        due and not asked yet; returns how many were queued. A round asked by another
        process meanwhile is left to it."""
        now = self.clock.now()
        started = func.coalesce(Pair.decided_at, Pair.created_at)
        pairs = (
            await db.execute(
                select(Pair).where(Pair.status == PairStatus.ACTIVE, started <= now - FIRST_PULSE)
            )
        ).scalars()
        asked = {
            (pair_id, round_)
            for pair_id, round_ in await db.execute(
                select(PulseAnswer.pair_id, func.max(PulseAnswer.round)).group_by(
                    PulseAnswer.pair_id
                )
            )
        }
        queued = 0
        for pair in pairs:
            due = pulse_round(pair.decided_at or pair.created_at, now)
            if due == 0 or (pair.id, due) in asked:
                continue
            try:
                async with db.begin_nested():
                    for side_id in (pair.mentee_id, pair.mentor_id):
                        db.add(
                            PulseAnswer(pair_id=pair.id, person_id=side_id, round=due, asked_at=now)
                        )
                    await db.flush()
            except IntegrityError:
                continue
            for side_id in (pair.mentee_id, pair.mentor_id):
                side = await db.get(Person, side_id)
                if side is None or side.unreachable_at is not None:
                    continue
                queue_message(
                    db,
                    side,
                    Msg(
                        N_(
                            "🌡 How is your mentoring with {name} going? Two quick questions, "
                            "a tap each; only your programme's coordinators see the answers."
                        ),
                        {"name": await self._partner_name(db, pair, side)},
                    ),
                    kind=PULSE_INVITE,
                    now=now,
                    default_locale=self.default_locale,
                    context={"pair": pair.id},
                    buttons=[[(Msg(N_("Answer")), PulseStart(pair=pair.id, round=due).pack())]],
                )
                queued += 1
        return queued

    async def _partner_name(self, db: AsyncSession, pair: Pair, side: Person) -> str:
        if side.id == pair.mentor_id:
            mentee = await db.get(Person, pair.mentee_id)
            assert mentee is not None
            return display_name(mentee, await db.get(Profile, mentee.id), pair)
        mentor = await db.get(Person, pair.mentor_id)
        assert mentor is not None
        return mentor.first_name

    async def open(self, db: AsyncSession, person: Person, pair_id: int, round_: int) -> str:
        """Before the questions are asked: "open" (and this round is the one the answers
        will go to), "done" when answered already, "expired" when a newer round has come
        or the pair is no longer active."""
        pair = await db.get(Pair, pair_id)
        row = await db.scalar(
            select(PulseAnswer).where(
                PulseAnswer.pair_id == pair_id,
                PulseAnswer.person_id == person.id,
                PulseAnswer.round == round_,
            )
        )
        if row is not None and row.answered_at is not None:
            return "done"
        newer = await db.scalar(
            select(func.max(PulseAnswer.round)).where(
                PulseAnswer.pair_id == pair_id, PulseAnswer.person_id == person.id
            )
        )
        if row is None or pair is None or pair.status != PairStatus.ACTIVE or newer != round_:
            return "expired"
        row.started_at = self.clock.now()
        return "open"

    async def _finish(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        row = await db.scalar(
            select(PulseAnswer)
            .where(
                PulseAnswer.person_id == person_id,
                PulseAnswer.started_at.is_not(None),
                PulseAnswer.answered_at.is_(None),
            )
            .order_by(PulseAnswer.started_at.desc())
            .limit(1)
        )
        if row is None:
            return
        useful, regular = progress.answers.get("useful"), progress.answers.get("regular")
        row.useful = useful if isinstance(useful, int) else None
        row.regular = str(regular) if regular else None
        row.answered_at = now

    # Health ------------------------------------------------------------------------------

    async def health(self, db: AsyncSession, pairs: Sequence[Pair]) -> dict[int, Health]:
        """Each pair's light, with a few queries for all of them."""
        now = self.clock.now()
        ids = [pair.id for pair in pairs]
        pulses = await self._latest_pulses(db, ids)
        replies = await self._reply_waits(db, ids, now)
        cohorts = await cohort_store.by_id(db)
        found: dict[int, Health] = {}
        for pair in pairs:
            health = Health()
            cohort = cohorts.get(pair.cohort_id)
            limit = timedelta(
                days=CohortSettings.of(cohort.settings if cohort else None).no_contact_days
            )
            quiet = now - (pair.last_contact_at or pair.decided_at or pair.created_at)
            if quiet >= limit / 2:
                health.worse(
                    Light.RED if quiet >= limit else Light.AMBER,
                    Msg(N_("days without contact: {days}"), {"days": quiet.days}),
                )
            for useful, regular in pulses.get(pair.id, []):
                if useful is not None and useful <= 3:
                    health.worse(
                        Light.RED if useful <= 2 else Light.AMBER,
                        Msg(N_("pulse: usefulness {useful} of 5"), {"useful": useful}),
                    )
                if regular == "rarely":
                    health.worse(Light.AMBER, Msg(N_("pulse: in touch less than monthly")))
            moods = await self._shared_moods(db, pair.mentee_id)
            if moods and moods[0] <= LOW_MOOD:
                twice = len(moods) > 1 and moods[1] <= LOW_MOOD
                health.worse(
                    Light.RED if twice else Light.AMBER,
                    Msg(N_("mood {moods}"), {"moods": " → ".join(str(m) for m in reversed(moods))}),
                )
            done, overdue = await self._commitments(db, pair.mentee_id, now)
            if overdue:
                health.worse(
                    Light.RED if overdue >= OVERDUE_RED else Light.AMBER,
                    Msg(
                        N_("commitments overdue: {overdue}, done: {done}"),
                        {"overdue": overdue, "done": done},
                    ),
                )
            wait = replies.get(pair.id)
            if wait is not None and wait > SLOW_REPLY:
                health.worse(
                    Light.AMBER,
                    Msg(N_("days a reply takes (median): {days}"), {"days": wait.days}),
                )
            found[pair.id] = health
        return found

    async def cohort_health(self, db: AsyncSession, cohort_id: int) -> Msg | None:
        """For /stats: the cohort's running pairs by light, and the pulse's latest answers
        as figures; None while it has no running pair."""
        running = await pairs_store.of_cohorts(db, [cohort_id], RUNNING)
        if not running:
            return None
        lights = Counter(health.light for health in (await self.health(db, running)).values())
        answers = [
            useful
            for side in (await self._latest_pulses(db, [p.id for p in running])).values()
            for useful, _ in side
            if useful is not None
        ]
        text = Msg(
            N_("<b>Pair health</b>: 🟢 {green} · 🟡 {amber} · 🔴 {red} (/pairs says why)"),
            {
                "green": lights[Light.GREEN],
                "amber": lights[Light.AMBER],
                "red": lights[Light.RED],
            },
        )
        if not answers:
            return text
        return Msg(
            N_("{health}\nPulse, latest answers: usefulness {average} of 5 on average ({count})"),
            {
                "health": text,
                "average": f"{statistics.mean(answers):.1f}",
                "count": len(answers),
            },
        )

    async def _latest_pulses(
        self, db: AsyncSession, pair_ids: Sequence[int]
    ) -> dict[int, list[tuple[int | None, str | None]]]:
        """Each side's latest answered pulse, by pair."""
        rows = await db.execute(
            select(
                PulseAnswer.pair_id, PulseAnswer.person_id, PulseAnswer.useful, PulseAnswer.regular
            )
            .where(PulseAnswer.pair_id.in_(pair_ids), PulseAnswer.answered_at.is_not(None))
            .order_by(PulseAnswer.round)
        )
        latest: dict[tuple[int, int], tuple[int | None, str | None]] = {}
        for pair_id, person_id, useful, regular in rows:
            latest[(pair_id, person_id)] = (useful, regular)
        by_pair: dict[int, list[tuple[int | None, str | None]]] = {}
        for (pair_id, _), answer in latest.items():
            by_pair.setdefault(pair_id, []).append(answer)
        return by_pair

    async def _shared_moods(self, db: AsyncSession, mentee_id: int) -> list[int]:
        """The mentee's two latest check-in moods, newest first: none without their consent
        to share their mood."""
        if not await consent_store.has(db, mentee_id, ConsentKind.MOOD):
            return []
        return await pairs_store.latest_moods(db, mentee_id, CHECKIN, 2)

    async def _commitments(
        self, db: AsyncSession, mentee_id: int, now: datetime
    ) -> tuple[int, int]:
        """(done, overdue) of the mentee's commitments, overdue by their own date."""
        today = now.astimezone(await self.followup.zone(db, mentee_id)).date()
        done = await db.scalar(
            select(func.count()).where(
                Commitment.person_id == mentee_id, Commitment.status == "done"
            )
        )
        overdue = await db.scalar(
            select(func.count()).where(
                Commitment.person_id == mentee_id,
                Commitment.status == "open",
                Commitment.due_on < today,
            )
        )
        return int(done or 0), int(overdue or 0)

    async def _reply_waits(
        self, db: AsyncSession, pair_ids: Sequence[int], now: datetime
    ) -> dict[int, timedelta]:
        """By pair: the median time from one side's relayed message to the other side's
        next, over the last 60 days."""
        pair_of = Outgoing.context["pair"].as_integer()
        rows = await db.execute(
            select(pair_of, Outgoing.context["from"].as_integer(), Outgoing.created_at)
            .where(
                Outgoing.kind == conversation_store.RELAY,
                pair_of.in_(pair_ids),
                Outgoing.created_at >= now - REPLIES_OVER,
            )
            .order_by(Outgoing.created_at)
        )
        last: dict[int, tuple[int, datetime]] = {}
        waits: dict[int, list[timedelta]] = {}
        for pair_id, sender, at in rows:
            previous = last.get(pair_id)
            if previous is not None and previous[0] != sender:
                waits.setdefault(pair_id, []).append(at - previous[1])
            if previous is None or previous[0] != sender:
                last[pair_id] = (sender, at)
        return {
            pair_id: timedelta(seconds=statistics.median(w.total_seconds() for w in found))
            for pair_id, found in waits.items()
        }

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

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import CohortSettings
from bot.domain.dialogs import Dialog
from bot.domain.engine import Progress
from bot.domain.pairs import RUNNING, Health, Light, PairStatus
from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.messages import queue_message
from bot.services.pairs import CHECKIN, LOW_MOOD
from bot.services.profiles import partner_name
from bot.storage import cohorts as cohort_store
from bot.storage import pairs as pairs_store
from bot.storage import pulse as store
from bot.storage import repositories as repo
from bot.storage.models import (
    Pair,
    Person,
)
from bot.telegram.buttons import PulseStart

PULSE_FORM = "pulse"
PULSE_INVITE = "pulse_invite"
FIRST_PULSE = timedelta(days=30)
PULSE_EVERY = timedelta(days=60)
# What the light looks at, beside the mood (low at pairs.LOW_MOOD). Without contact for
# the cohort's "no contact" days a pair is red (as the coordinators' alert says), for half
# of them amber.
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
        asked = await store.latest_rounds(db)
        queued = 0
        for pair in await store.started_before(db, now - FIRST_PULSE):
            due = pulse_round(pair.decided_at or pair.created_at, now)
            if due == 0 or asked.get(pair.id) == due or not await store.ask(db, pair, due, now):
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
                        {"name": await partner_name(db, pair, side)},
                    ),
                    kind=PULSE_INVITE,
                    now=now,
                    default_locale=self.default_locale,
                    context={"pair": pair.id},
                    buttons=[[(Msg(N_("Answer")), PulseStart(pair=pair.id, round=due).pack())]],
                )
                queued += 1
        return queued

    async def open(self, db: AsyncSession, person: Person, pair_id: int, round_: int) -> str:
        """Before the questions are asked: "open" (and this round is the one the answers
        will go to), "done" when answered already, "expired" when a newer round has come
        or the pair is no longer active."""
        pair = await db.get(Pair, pair_id)
        row, newer = await store.answer_of(db, pair_id, person.id, round_)
        if row is not None and row.answered_at is not None:
            return "done"
        if row is None or pair is None or pair.status != PairStatus.ACTIVE or newer != round_:
            return "expired"
        row.started_at = self.clock.now()
        return "open"

    async def _finish(
        self, db: AsyncSession, person_id: int, dialog: Dialog, progress: Progress, now: datetime
    ) -> None:
        row = await store.last_opened(db, person_id)
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
        mentee_ids = {pair.mentee_id for pair in pairs}
        pulses = await store.latest_answers(db, ids)
        replies = await self._reply_waits(db, ids, now)
        cohorts = await cohort_store.by_id(db)
        moods = await pairs_store.shared_latest_moods(db, mentee_ids, CHECKIN)
        done, open_due = await store.commitments(db, mentee_ids)
        people, profiles = await repo.people_with_profiles(db, mentee_ids)
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
            mood = moods.get(pair.mentee_id)
            if mood is not None and mood <= LOW_MOOD:
                # Twice in a row is the coordinators' alert; once is worth a look.
                health.worse(Light.AMBER, Msg(N_("latest mood: {mood}"), {"mood": mood}))
            zone = self.followup.zone_of(people.get(pair.mentee_id), profiles.get(pair.mentee_id))
            today = now.astimezone(zone).date()
            overdue = sum(day < today for day in open_due.get(pair.mentee_id, []))
            if overdue:
                health.worse(
                    Light.RED if overdue >= OVERDUE_RED else Light.AMBER,
                    Msg(
                        N_("commitments overdue: {overdue}, done: {done}"),
                        {"overdue": overdue, "done": done.get(pair.mentee_id, 0)},
                    ),
                )
            wait = replies.get(pair.id)
            if wait is not None and wait > SLOW_REPLY:
                health.worse(
                    Light.AMBER,
                    Msg(N_("median days to a reply: {days}"), {"days": wait.days}),
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
            for side in (await store.latest_answers(db, [p.id for p in running])).values()
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

    async def _reply_waits(
        self, db: AsyncSession, pair_ids: Sequence[int], now: datetime
    ) -> dict[int, timedelta]:
        """By pair: the median time from one side's relayed message to the other side's
        next, over the last 60 days."""
        rows = await store.relays(db, pair_ids, now - REPLIES_OVER)
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

"""Following up commitments: a reminder the day before, a one-tap check-in on the day,
and a new date or dropping it when it is not done."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.messages import queue_message
from bot.storage.models import Commitment, Outgoing, Person, Profile
from bot.telegram.buttons import CommitmentButton

# Local time at which reminders and check-ins go out: well outside the quiet hours.
SEND_AT = time(9, 0)
RESCHEDULE_DAYS = (7, 14)
# What a commitment's buttons can say: done, partly done or not yet (a new date is asked
# for), drop it, or a new date so many days on.
ACTIONS = ("done", "partly", "notyet", "drop", *(f"d{days}" for days in RESCHEDULE_DAYS))


class Answered(enum.Enum):
    DONE = "done"
    ASK_DATE = "ask_date"
    MOVED = "moved"
    DROPPED = "dropped"
    EXPIRED = "expired"


def checkin_button(commitment_id: int, action: str) -> str:
    return CommitmentButton(commitment=commitment_id, action=action).pack()


class FollowUpService:
    def __init__(self, clock: Clock, default_timezone: str, default_locale: str) -> None:
        self.clock = clock
        self.default_timezone = default_timezone
        self.default_locale = default_locale

    async def zone(self, db: AsyncSession, person_id: int) -> ZoneInfo:
        """The person's own setting, else their intake's, else the programme's default."""
        person = await db.get(Person, person_id)
        if person is not None and person.timezone:
            return ZoneInfo(person.timezone)
        return self.zone_of(person, await db.get(Profile, person_id))

    def zone_of(self, person: Person | None, profile: Profile | None) -> ZoneInfo:
        if person is not None and person.timezone:
            return ZoneInfo(person.timezone)
        name = profile.data.get("timezone") if profile else None
        return ZoneInfo(name if isinstance(name, str) else self.default_timezone)

    def _moment(self, day: date, zone: ZoneInfo) -> datetime:
        """SEND_AT on that day in the person's zone, as UTC (daylight saving included)."""
        return datetime.combine(day, SEND_AT, tzinfo=zone).astimezone(ZoneInfo("UTC"))

    async def schedule(
        self, db: AsyncSession, person_id: int, commitments: Sequence[Commitment]
    ) -> None:
        """Queue the reminder and the check-in of each commitment (in the caller's unit
        of work)."""
        person = await db.get(Person, person_id)
        if person is None:
            return
        zone = await self.zone(db, person_id)
        now = self.clock.now()
        for commitment in commitments:
            context = {"commitment": commitment.id}
            remind_at = self._moment(commitment.due_on - timedelta(days=1), zone)
            check_at = max(now, self._moment(commitment.due_on, zone))
            if remind_at > now:
                queue_message(
                    db,
                    person,
                    Msg(N_("⏰ Tomorrow: {text}"), {"text": commitment.text}),
                    kind="commitment_reminder",
                    now=now,
                    due_at=remind_at,
                    default_locale=self.default_locale,
                    context=context,
                    # "Tomorrow" makes no sense once the day itself has come.
                    stale_at=check_at,
                )
            queue_message(
                db,
                person,
                Msg(
                    N_("📌 Today is the day for: {text}\nDid you do it?"), {"text": commitment.text}
                ),
                kind="commitment_checkin",
                now=now,
                due_at=check_at,
                default_locale=self.default_locale,
                context=context,
                # Queued rows keep this layout (cm:<commitment>:<action>): it must still
                # parse when they are sent, after an upgrade too.
                buttons=[
                    [
                        (Msg(N_("✅ Done")), checkin_button(commitment.id, "done")),
                        (Msg(N_("Partly")), checkin_button(commitment.id, "partly")),
                        (Msg(N_("Not yet")), checkin_button(commitment.id, "notyet")),
                    ]
                ],
            )

    async def _cancel_pending(self, db: AsyncSession, commitment_id: int) -> None:
        await db.execute(
            update(Outgoing)
            .where(
                Outgoing.status == "pending",
                Outgoing.context["commitment"].as_integer() == commitment_id,
            )
            .values(status="cancelled")
        )

    async def open_commitments(self, db: AsyncSession, person_id: int) -> list[Commitment]:
        result = await db.execute(
            select(Commitment)
            .where(Commitment.person_id == person_id, Commitment.status == "open")
            .order_by(Commitment.due_on, Commitment.id)
        )
        return list(result.scalars())

    async def answer(
        self, db: AsyncSession, person_id: int, commitment_id: int, action: str
    ) -> tuple[Answered, Commitment | None]:
        """A tap on a check-in or on /commitments. An answer to a commitment that is no
        longer open has expired and changes nothing."""
        commitment = await db.get(Commitment, commitment_id)
        if commitment is None or commitment.person_id != person_id or commitment.status != "open":
            return Answered.EXPIRED, commitment
        if action in ("partly", "notyet"):
            return Answered.ASK_DATE, commitment
        if action in ("done", "drop"):
            commitment.status = "done" if action == "done" else "dropped"
            commitment.closed_at = self.clock.now()
            await self._cancel_pending(db, commitment.id)
            return (Answered.DONE if action == "done" else Answered.DROPPED), commitment
        days = int(action[1:]) if action[:1] == "d" and action[1:].isdigit() else 0
        if days not in RESCHEDULE_DAYS:
            return Answered.EXPIRED, commitment
        zone = await self.zone(db, person_id)
        commitment.due_on = self.clock.now().astimezone(zone).date() + timedelta(days=days)
        await self._cancel_pending(db, commitment.id)
        await self.schedule(db, person_id, [commitment])
        return Answered.MOVED, commitment

"""Use cases about the person: who they are, their language, settings and consents,
reachability. (Their copy of their data and its erasure: bot/services/privacy.py.)"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.consent import ConsentKind
from bot.domain.zones import is_zone
from bot.services.clock import Clock
from bot.storage import consents as consent_store
from bot.storage import repositories as repo
from bot.storage.models import Person

KNOWN_PEOPLE = 10_000
# Quiet hours a person can choose from; (0, 0) means none.
QUIET_CHOICES = ((21, 8), (22, 7), (20, 9), (23, 6), (0, 0))
PAUSE_DAYS = (1, 3, 7, 14)
# Hours offered for the regular check-in: all outside the default quiet hours.
CHECKIN_HOURS = tuple(range(8, 21))
# Settings that change when recurring messages come.
SCHEDULE_SETTINGS = ("tz", "wd", "hr", "checkins", "digest")
# Told, in the same unit of work, that a person's recurring messages must follow a change
# of their settings.
ScheduleChanged = Callable[[AsyncSession, Person], Awaitable[None]]
# Told, in the same unit of work, that a person gave or withdrew a consent.
ConsentChanged = Callable[[AsyncSession, int, ConsentKind, bool], Awaitable[None]]


class PeopleService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # People seen lately, as last read or written: most updates need no database
        # work for the person at all.
        self._known: OrderedDict[int, Person] = OrderedDict()
        # Who plans the recurring messages anew when a setting of SCHEDULE_SETTINGS changes.
        self.on_schedule_change: list[ScheduleChanged] = []
        # Who follows a consent given or withdrawn (the dialogs close a run that asks
        # what a withdrawn consent covers).
        self.on_consent_change: list[ConsentChanged] = []

    async def arrive(
        self, db: AsyncSession, person_id: int, first_name: str, telegram_language: str | None
    ) -> Person:
        """The person behind an update, recorded or brought up to date when needed."""
        now = self.clock.now()
        known = self._known.get(person_id)
        if (
            known is not None
            and known.first_name == first_name[:128]
            and known.telegram_language == telegram_language
            and known.unreachable_at is None
            and now - known.last_seen_at < repo.LAST_SEEN_RESOLUTION
        ):
            self._known.move_to_end(person_id)
            return known
        self._known.pop(person_id, None)
        person = await repo.upsert_person(db, person_id, first_name, telegram_language, now)
        # Remembered once the update's unit of work is committed: if it is rolled back,
        # nothing here may say the person is in the database as written.
        event.listen(db.sync_session, "after_commit", lambda _: self._remember(person), once=True)
        return person

    def _remember(self, person: Person) -> None:
        self._known[person.id] = person
        self._known.move_to_end(person.id)
        while len(self._known) > KNOWN_PEOPLE:
            self._known.popitem(last=False)

    def forget(self, person_id: int) -> None:
        """The person changed elsewhere: read them afresh next time."""
        self._known.pop(person_id, None)

    async def change_setting(self, db: AsyncSession, person: Person, name: str, value: str) -> bool:
        """/settings: a time zone, the next quiet-hours choice, a pause of some days, the
        end of a pause, the check-in day and hour, check-ins stopped or restarted, daily or
        weekly digests. False when the value is not one offered. A change of when recurring
        messages come has them planned anew (``on_schedule_change``), in the same unit of
        work."""
        row = await db.get(Person, person.id)
        assert row is not None
        if name == "tz" and is_zone(value):
            row.timezone = value
        elif name == "quiet":
            now = (row.quiet_from, row.quiet_to)
            choices = list(QUIET_CHOICES)
            row.quiet_from, row.quiet_to = choices[
                (choices.index(now) + 1) % len(choices) if now in choices else 0
            ]
        elif name == "pause" and value.isdigit() and int(value) in PAUSE_DAYS:
            row.paused_until = self.clock.now() + timedelta(days=int(value))
        elif name == "resume":
            row.paused_until = None
        elif name == "wd" and value.isdigit() and int(value) < 7:
            row.checkin_weekday = int(value)
        elif name == "hr" and value.isdigit() and int(value) in CHECKIN_HOURS:
            row.checkin_hour = int(value)
        elif name == "checkins" and value in ("on", "off"):
            row.checkins_stopped = value == "off"
        elif name == "digest" and value in ("daily", "weekly"):
            row.digest_daily = value == "daily"
        else:
            return False
        self.forget(person.id)
        if name in SCHEDULE_SETTINGS:
            for listener in self.on_schedule_change:
                await listener(db, row)
        return True

    async def consents(self, db: AsyncSession, person_id: int) -> dict[ConsentKind, bool]:
        """The person's consents as they stand; a kind never decided is missing."""
        return await consent_store.decisions(db, person_id)

    async def set_consent(
        self, db: AsyncSession, person_id: int, kind: ConsentKind, given: bool
    ) -> bool:
        """Give or withdraw a consent, recorded with its time. False when that is what holds
        already (a second tap): nothing is recorded twice."""
        if (await self.consents(db, person_id)).get(kind) is given:
            return False
        consent_store.record(db, person_id, kind, given, self.clock.now())
        for listener in self.on_consent_change:
            await listener(db, person_id, kind, given)
        return True

    async def set_language(self, db: AsyncSession, person: Person, code: str) -> None:
        await repo.set_language(db, person.id, code)
        person.language = code

    async def set_reachable(self, db: AsyncSession, person_id: int, reachable: bool) -> None:
        self._known.pop(person_id, None)
        if reachable:
            await repo.mark_reachable(db, person_id)
        else:
            await repo.mark_unreachable(db, person_id, self.clock.now())

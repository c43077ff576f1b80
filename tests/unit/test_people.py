"""The people service writes in its caller's unit of work: what it remembers of a person
follows what was committed, and a change of settings re-plans in the same unit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.services.people import PeopleService
from bot.storage.database import create_sessionmaker
from bot.storage.models import Person

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


async def test_a_person_is_remembered_only_once_committed(db_engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(db_engine)
    people = PeopleService(Clock())
    async with sessions() as db:
        await people.arrive(db, 7, "Anna", "en")
        # The update failed: its unit of work, the new person with it, is rolled back.
        await db.rollback()
    async with sessions() as db:
        assert await db.get(Person, 7) is None
        # So the next update records them again, instead of taking them as known.
        await people.arrive(db, 7, "Anna", "en")
        await db.commit()
    async with sessions() as db:
        assert await db.get(Person, 7) is not None
        before = len(db.identity_map)
        await people.arrive(db, 7, "Anna", "en")
        assert len(db.identity_map) == before  # known now: nothing read


async def test_a_change_of_when_messages_come_replans_in_the_same_unit(
    db_engine: AsyncEngine,
) -> None:
    sessions = create_sessionmaker(db_engine)
    people = PeopleService(Clock())
    replanned: list[tuple[int, int]] = []

    async def replan(db: AsyncSession, person: Person) -> None:
        assert db.in_transaction()
        replanned.append((person.id, person.checkin_hour))

    people.on_schedule_change.append(replan)
    async with sessions() as db:
        person = await people.arrive(db, 7, "Anna", "en")
        assert await people.change_setting(db, person, "hr", "11")
        assert await people.change_setting(db, person, "quiet", "")
        assert not await people.change_setting(db, person, "hr", "3")
        await db.commit()
    assert replanned == [(7, 11)]

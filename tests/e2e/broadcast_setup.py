"""A programme put straight into the database, for the broadcast tests: a cohort, its
coordinator and its members."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Cohort, CohortCoordinator, Membership, Pair, Person
from bot.telegram.outbox import OutboxSender
from bot.telegram.sender import BotSession, DeliveryMiddleware

Member = tuple[int, str, str | None, str]  # id, first name, Telegram language, role


async def seed_cohort(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    coordinator_id: int,
    members: Iterable[Member],
    name: str = "Riga 2027",
    pairs: Iterable[tuple[int, int, datetime | None]] = (),
) -> int:
    """Returns the cohort's id. Pairs are (mentee, mentor, last contact)."""
    async with sessions() as db:
        if await db.get(Person, coordinator_id) is None:
            db.add(Person(id=coordinator_id, first_name="Dace", created_at=now, last_seen_at=now))
        cohort = Cohort(name=name, mode="coordinator", created_by=coordinator_id, created_at=now)
        db.add(cohort)
        await db.flush()
        db.add(CohortCoordinator(cohort_id=cohort.id, person_id=coordinator_id))
        for person_id, first_name, language, role in members:
            if await db.get(Person, person_id) is None:
                db.add(
                    Person(
                        id=person_id,
                        first_name=first_name,
                        telegram_language=language,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            await db.flush()
            db.add(
                Membership(
                    cohort_id=cohort.id,
                    person_id=person_id,
                    role=role,
                    status="active",
                    joined_at=now,
                )
            )
        for mentee, mentor, contact in pairs:
            db.add(
                Pair(
                    cohort_id=cohort.id,
                    mentee_id=mentee,
                    mentor_id=mentor,
                    status="active",
                    score=50,
                    created_at=now - timedelta(days=60),
                    decided_at=now - timedelta(days=60),
                    last_contact_at=contact,
                )
            )
        await db.commit()
        return cohort.id


class FastTime:
    """Time that runs ``factor`` times faster than the wall clock, for the bot's pacing and
    the stand-in's limits alike: Telegram's limits hold in this time, and a test of
    thousands of messages takes seconds. (The CPU work is real.)"""

    def __init__(self, factor: float, start: datetime) -> None:
        self.factor = factor
        self.start = start
        self.real0 = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self.real0) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.factor)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())


def fast_sender(
    standin: BotAPIStandin,
    sessions: async_sessionmaker[AsyncSession],
    fast: FastTime,
    rate: float,
    on_blocked: Callable[[int], Awaitable[None]],
) -> tuple[Bot, OutboxSender]:
    """A Bot API client with the bot's own session and delivery middleware, and an outbox
    sender, both on fast time."""
    delivery = DeliveryMiddleware(on_blocked, sleep=fast.sleep, monotonic=fast.monotonic)
    session = BotSession(api=TelegramAPIServer.from_base(standin.base_url))
    session.middleware(delivery)
    bot = Bot(standin.token, session=session)
    sender = OutboxSender(
        bot,
        sessions,
        fast,
        rate=rate,
        monotonic=fast.monotonic,
        sleep=fast.sleep,
        paused=delivery.pause_left,
    )
    return bot, sender

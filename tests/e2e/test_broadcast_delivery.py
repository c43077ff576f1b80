"""A broadcast going out through the one sender, against the stand-in enforcing Telegram's
limits (30 messages a second in all, 1 a second per chat, 20 a minute per group). Time runs
faster here (tests/e2e/broadcast_setup.FastTime), for the bot and the stand-in alike."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ROOT
from bot.domain.dialogs import load_dialogs
from bot.services.broadcasts import BroadcastService
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Outgoing, Person
from bot.telegram.outbox import OutboxSender
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import FastTime, fast_sender, seed_cohort
from tests.e2e.standin import BotAPIStandin

COORDINATOR = 42
START = datetime(2026, 11, 25, 9, tzinfo=UTC)


@dataclass
class Rig:
    standin: BotAPIStandin
    sessions: async_sessionmaker[AsyncSession]
    time: FastTime
    bot: Bot
    sender: OutboxSender
    broadcasts: BroadcastService

    async def statuses(self) -> list[str]:
        async with self.sessions() as db:
            query = select(Outgoing.status).order_by(Outgoing.id)
            return list((await db.execute(query)).scalars())

    async def send_all(self) -> None:
        """Run the sender until no row is waiting any more."""
        task = asyncio.create_task(self.sender.run(idle_seconds=0.01))
        try:
            deadline = time.monotonic() + 120
            while any(s in ("pending", "sending") for s in await self.statuses()):
                if time.monotonic() > deadline:
                    raise AssertionError("the broadcast did not finish in time")
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url, TEST_KEYRING)
    await upgrade(made)
    yield made
    await made.dispose()


@contextlib.asynccontextmanager
async def rig(engine: AsyncEngine, factor: float) -> AsyncIterator[Rig]:
    fast = FastTime(factor, START)
    async with BotAPIStandin(clock=fast.monotonic) as standin:
        sessions = create_sessionmaker(engine)

        async def on_blocked(chat_id: int) -> None:
            async with sessions() as db:
                await repo.mark_unreachable(db, chat_id, fast.now())
                await db.commit()

        bot, sender = fast_sender(standin, sessions, fast, 25.0, on_blocked)
        dialogs = DialogService(load_dialogs(ROOT / "dialogs"), fast)
        cohorts = CohortService(dialogs, fast, [COORDINATOR])
        try:
            yield Rig(standin, sessions, fast, bot, sender, BroadcastService(cohorts, fast, "en"))
        finally:
            await bot.session.close()


async def broadcast_to_everyone(
    made: Rig, text: str, content: dict[str, object] | None = None
) -> int:
    async with made.sessions() as db:
        coordinator = await db.get(Person, COORDINATOR)
        assert coordinator is not None
        draft = await made.broadcasts.start(db, coordinator)
        draft.audience = {"kind": "everyone"}
        draft.content = content or {"all": {"method": "sendMessage", "text": text}}
        await made.broadcasts.confirm(db, coordinator, draft, None)
        await db.commit()
        return draft.id


@pytest.mark.postgres  # A thousand rows claimed, sent and recorded by one sender.
async def test_a_thousand_recipients_once_each_within_the_limits(engine: AsyncEngine) -> None:
    async with rig(engine, factor=10) as made:
        members = [(10_000 + n, f"P{n}", "en", "mentee") for n in range(1000)]
        await seed_cohort(made.sessions, START, COORDINATOR, members)
        users = [made.standin.user(m[0], m[1]) for m in members]
        for user in users[:20]:  # blocked the bot; nobody knows yet
            made.standin.block(user)
        async with made.sessions() as db:  # known to have blocked it
            await db.execute(
                update(Person)
                .where(Person.id.in_([u.id for u in users[20:25]]))
                .values(unreachable_at=START)
            )
            await db.commit()
        await broadcast_to_everyone(made, "<b>Programme news</b>")

        async def inject_midway() -> None:
            await made.standin.wait_for(
                lambda: len(made.standin.calls("sendMessage", 200)) >= 300, 60, "300 sent"
            )
            made.standin.inject_429(retry_after=2, count=1, method="sendMessage")

        # When each message leaves the bot, and when the bot hears of the 429: a request
        # already on its way then may reach the stand-in after the 429 and is no fault.
        left: list[tuple[float, object]] = []
        refused_at: list[tuple[float, object]] = []

        class Watch(BaseRequestMiddleware):
            async def __call__(
                self,
                make_request: NextRequestMiddlewareType[TelegramType],
                bot: Bot,
                method: TelegramMethod[TelegramType],
            ) -> Response[TelegramType]:
                chat = getattr(method, "chat_id", None)
                left.append((made.time.monotonic(), chat))
                try:
                    return await make_request(bot, method)
                except TelegramRetryAfter:
                    refused_at.append((made.time.monotonic(), chat))
                    raise

        made.bot.session.middleware(Watch())  # after the bot's own: each try is seen
        injector = asyncio.create_task(inject_midway())
        await made.send_all()
        await injector

        for user in users[25:]:
            assert [m.text for m in made.standin.messages(user)] == ["Programme news"]
        assert all(not made.standin.messages(user) for user in users[:25])
        statuses = await made.statuses()
        assert statuses.count("sent") == 975 and statuses.count("unreachable") == 25
        refused = made.standin.calls(status=429)
        assert len(refused) == 1  # the injected one: the bot's own pace caused none
        [(heard, chat)] = refused_at
        # retry_after honoured for the chat it named; the others were not held up by it.
        again = [moment for moment, to in left if moment > heard and to == chat]
        assert again and min(again) >= heard + 2 - 0.05
        others = [moment for moment, to in left if moment > heard and to != chat]
        assert others and min(others) < heard + 2


async def test_a_group_gets_at_most_twenty_a_minute(engine: AsyncEngine) -> None:
    async with rig(engine, factor=60) as made:  # 30 messages at 20 a minute: 87 s, 1.5 s here
        group = made.standin.group(-100_777, "Cohort chat")
        async with made.sessions() as db:
            for n in range(30):
                repo.enqueue(
                    db,
                    kind="notice",
                    chat_id=group.id,
                    method="sendMessage",
                    payload={"text": f"Notice {n}"},
                    now=made.time.now(),
                )
            await db.commit()
        await made.send_all()
        delivered = sorted(m.text or "" for m in made.standin.messages(group))
        assert delivered == sorted(f"Notice {n}" for n in range(30))
        assert not made.standin.calls(status=429)
        moments = [c.at for c in made.standin.calls("sendMessage", 200)]
        assert all(sum(1 for t in moments if start <= t < start + 60) <= 20 for start in moments)

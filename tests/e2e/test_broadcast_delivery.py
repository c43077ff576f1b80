"""A broadcast going out through the one sender, against the stand-in enforcing Telegram's
limits (30 messages a second in all, 1 a second per chat, 20 a minute per group). Time runs
faster here (tests/e2e/broadcast_setup.FastTime), for the bot and the stand-in alike."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
from bot.i18n import create_i18n
from bot.playground.botapi import BotAPIStandin
from bot.services.broadcasts import BroadcastService
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.storage import repositories as repo
from bot.storage.conversation import RELAY
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Broadcast, Outgoing, Person
from bot.telegram.broadcasts import BroadcastMonitor
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import FastTime, fast_sender, seed_cohort
from tests.e2e.conftest import MovableClock

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
async def rig(engine: AsyncEngine, factor: float, rate: float = 25.0) -> AsyncIterator[Rig]:
    fast = FastTime(factor, START)
    async with BotAPIStandin(clock=fast.monotonic) as standin:
        sessions = create_sessionmaker(engine)

        async def on_blocked(chat_id: int) -> None:
            async with sessions() as db:
                await repo.mark_unreachable(db, chat_id, fast.now())
                await db.commit()

        bot, sender = fast_sender(standin, sessions, fast, rate, on_blocked)
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


async def test_a_relayed_message_mid_broadcast_goes_within_a_second(engine: AsyncEngine) -> None:
    """In real time, at 10 a second: the broadcast's rows are claimed half a second's worth
    at a time, and a person's message is claimed before them at the next claim."""
    async with rig(engine, factor=1, rate=10.0) as made:
        members = [(40_000 + n, f"P{n}", "en", "mentee") for n in range(300)]
        await seed_cohort(made.sessions, START, COORDINATOR, members)
        for member in members:
            made.standin.user(member[0], member[1])
        mentor = made.standin.user(40_999, "Mentor")
        await broadcast_to_everyone(made, "<b>Programme news</b>")
        sending = asyncio.create_task(made.sender.run(idle_seconds=0.05))
        try:
            await made.standin.wait_for(
                lambda: len(made.standin.calls("sendMessage", 200)) >= 30, 30, "30 sent"
            )
            async with made.sessions() as db:
                repo.enqueue(
                    db,
                    kind=RELAY,
                    chat_id=mentor.id,
                    method="sendMessage",
                    payload={"text": "Can we meet on Friday?"},
                    now=made.time.now(),
                )
                await db.commit()
            written = time.monotonic()
            await made.standin.wait_for_message(mentor, contains="Friday", timeout=5)
            took = time.monotonic() - written
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        assert took < 1.0
        # Most of the broadcast is still to go: the message did not wait for it.
        assert len(made.standin.calls("sendMessage", 200)) < 100


async def status_after_a_tick(made: Rig, clock: MovableClock, language: str = "en") -> str:
    """The coordinator's status message of the rig's broadcast once the monitor looked."""
    coordinator = made.standin.user(COORDINATOR, "Dace", language)
    shown = await made.bot.send_message(coordinator.id, "📣 …")
    async with made.sessions() as db:
        broadcast = await db.scalar(select(Broadcast))
        assert broadcast is not None
        broadcast.status_message_id = shown.message_id
        person = await db.get(Person, COORDINATOR)
        assert person is not None
        person.telegram_language = language
        await db.commit()
    renderer = Renderer(create_i18n(str(ROOT / "locales"), "en"))
    monitor = BroadcastMonitor(
        made.bot, made.sessions, clock, made.broadcasts, renderer, made.sender
    )
    await monitor.tick()
    return made.standin.last_message(coordinator).text or ""


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "⏸ Waiting for a stopped worker: another will take over its messages in about 5 s."),
        ("lv", "⏸ Gaida sūtītāju, kas apstājies: tā ziņas pēc apmēram 5 s pārņems cits."),
    ],
)
async def test_a_broadcast_held_by_a_stopped_worker_says_so(
    engine: AsyncEngine, language: str, expected: str
) -> None:
    async with rig(engine, factor=1) as made:
        members = [(41_000 + n, f"P{n}", "en", "mentee") for n in range(20)]
        await seed_cohort(made.sessions, START, COORDINATOR, members)
        await broadcast_to_everyone(made, "News")
        clock = MovableClock(made.time.now())
        async with made.sessions() as db:  # a worker claimed them all, then stopped
            rows = await repo.claim_outgoing(db, clock.now(), 100, made.sender.lease)
            for row in rows:
                row.claimed_at = clock.now() - timedelta(seconds=10)
            await db.commit()
        text = await status_after_a_tick(made, clock, language)
    assert expected in text
    assert "/s" not in text and "a second" not in text and "sekundē" not in text


async def test_the_rate_shown_is_what_was_sent_in_the_last_seconds(engine: AsyncEngine) -> None:
    async with rig(engine, factor=1) as made:
        members = [(42_000 + n, f"P{n}", "en", "mentee") for n in range(100)]
        await seed_cohort(made.sessions, START, COORDINATOR, members)
        await broadcast_to_everyone(made, "News")
        clock = MovableClock(made.time.now())
        async with made.sessions() as db:  # 20 went in the last 4 seconds, 5 a second
            rows = list((await db.execute(select(Outgoing).order_by(Outgoing.id))).scalars())
            for n, row in enumerate(rows[:20]):
                row.status = "sent"
                row.sent_at = clock.now() - timedelta(seconds=4) + timedelta(seconds=n / 5)
            await db.commit()
        text = await status_after_a_tick(made, clock)
    assert "Sent: 20 · failed: 0 · unreachable: 0 · left: 80" in text
    assert "5.0 a second · about 16 s left" in text

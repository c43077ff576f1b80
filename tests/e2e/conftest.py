"""The real bot, polling a stand-in for the Bot API over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import App, create_app, set_commands
from bot.config import Settings
from bot.playground.botapi import BotAPIStandin, SimUser
from bot.services.clock import Clock
from bot.storage.models import Outgoing
from tests.conftest import TEST_DATA_KEY, call_failed
from tests.e2e.processes import Processes
from tests.forkserver import ForkServer

ROOT = Path(__file__).resolve().parents[2]


class MovableClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@dataclass
class Running:
    app: App
    clock: Clock
    task: asyncio.Task[None] = field(init=False)
    ticking: int = 0  # outbox ticks under way (claiming, sending, recording outcomes)

    def __post_init__(self) -> None:
        # The outbox's ticks are counted while they run, whoever starts them (its own loop
        # or a test): the sender is idle when none is under way.
        tick = self.app.outbox.tick

        async def watched() -> int:
            self.ticking += 1
            try:
                return await tick()
            finally:
                self.ticking -= 1

        self.app.outbox.tick = watched  # type: ignore[method-assign]

    def handling(self) -> bool:
        """Updates in hand."""
        return bool(self.app.polling.tasks)

    def sending(self) -> bool:
        """The outbox claiming, sending or recording what it sent."""
        return bool(self.ticking)

    async def outbox_due(self) -> int:
        """Outbox rows due by the clock's now and not yet sent (pending, or claimed and on
        their way). Rows due later do not count: a test that holds them there means it."""
        async with self.app.sessions() as db:
            count = await db.scalar(
                select(func.count())
                .select_from(Outgoing)
                .where(
                    Outgoing.status.in_(("pending", "sending")),
                    Outgoing.due_at <= self.clock.now(),
                )
            )
        return int(count or 0)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.app.polling.drain()
        await self.app.close()


COORDINATOR_ID = 42


def bot_settings(standin: BotAPIStandin, database_url: str, **changes: Any) -> Settings:
    """The tests' people write and press at machine speed, far beyond the flood limit a
    person is held to: as the stand-in's per-chat limit is off for them, so is that limit
    (tests of it set ``flood_burst`` and ``flood_rate``)."""
    changes = {"flood_burst": 0, "data_key": SecretStr(TEST_DATA_KEY), **changes}
    return Settings(
        bot_token=SecretStr(standin.token),
        database_url=database_url,
        telegram_api_url=standin.base_url,
        polling_timeout=2,
        coordinator_ids=[COORDINATOR_ID],
        _env_file=None,  # type: ignore[call-arg]
        **changes,
    )


async def start_bot(
    standin: BotAPIStandin, database_url: str, clock: MovableClock, **settings: Any
) -> Running:
    """The bot, running; ``settings`` change those of the tests."""
    app = await create_app(bot_settings(standin, database_url, **settings), clock)
    await set_commands(app.bot, app.i18n)
    running = Running(app, clock)
    running.task = asyncio.create_task(app.run())
    return running


@pytest.fixture(autouse=True)
def every_callback_answered(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A callback query the bot never answers leaves the button spinning in Telegram: after
    the test, every one that a stand-in delivered must have been answered. Tests marked
    ``unanswered_callbacks_known`` press buttons whose handlers are known not to answer."""
    started: list[BotAPIStandin] = []
    start = BotAPIStandin.start

    async def start_and_record(self: BotAPIStandin) -> None:
        started.append(self)
        await start(self)

    monkeypatch.setattr(BotAPIStandin, "start", start_and_record)
    yield
    if request.node.get_closest_marker("unanswered_callbacks_known") or call_failed(request):
        return
    unanswered = [query for standin in started for query in standin.unanswered_callbacks]
    if unanswered:
        listed = "\n".join(f"  update {update_id}: {data!r}" for update_id, data in unanswered)
        pytest.fail(f"callback queries the bot never answered:\n{listed}", pytrace=False)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandin]:
    # Telegram's per-chat pace is tested on its own; here it would only slow the dialogs down.
    async with BotAPIStandin(chat_limit=None) as server:
        yield server


@pytest.fixture
async def bot(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[Running]:
    running = await start_bot(standin, database_url, clock)
    yield running
    await running.stop()


@pytest.fixture
async def processes(
    standin: BotAPIStandin, database_url: str, forkserver: ForkServer
) -> AsyncIterator[Processes]:
    """The test's `mentorbot` processes (tests/e2e/processes.py), killed at its end."""
    async with Processes(standin, database_url, forkserver) as started:
        yield started


@pytest.fixture
def anna(standin: BotAPIStandin) -> SimUser:
    return standin.user(501, "Anna", "lv")


@pytest.fixture
def ben(standin: BotAPIStandin) -> SimUser:
    return standin.user(502, "Ben <&>", "en")

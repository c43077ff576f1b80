"""The real bot, polling a stand-in for the Bot API over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import App, create_app, set_commands
from bot.config import Settings
from tests.e2e.standin import BotAPIStandin, SimUser

ROOT = Path(__file__).resolve().parents[2]


class MovableClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@dataclass
class Running:
    app: App
    task: asyncio.Task[None]

    def busy(self) -> bool:
        """Updates in hand, or messages in the outbox being sent."""
        return bool(self.app.polling.tasks) or self.app.outbox.pace.locked()

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
    changes = {"flood_burst": 0, **changes}
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
    return Running(app, asyncio.create_task(app.run()))


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
def anna(standin: BotAPIStandin) -> SimUser:
    return standin.user(501, "Anna", "lv")


@pytest.fixture
def ben(standin: BotAPIStandin) -> SimUser:
    return standin.user(502, "Ben <&>", "en")

"""The open-transaction probe (tests/txprobe.py) itself: a Bot API request made while the
task holds an open transaction is caught, with the place that made it; one made after the
commit, or by another task, is not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import DeleteWebhook, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Person
from tests.txprobe import TxProbe

HERE = Path(__file__)


class OfflineSession(BaseSession):
    """Answers every request with True, without a network."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        pass


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}")
    await upgrade(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def probe() -> Iterator[TxProbe]:
    # This file stands for the watched code, so that the requests below count.
    made = TxProbe(code=HERE, plumbing=())
    made.install()
    yield made
    made.uninstall()


def offline_bot(probe: TxProbe) -> Bot:
    session = OfflineSession()
    probe.attach(session)
    return Bot("123456:TEST-token-abcdefghijklmnopqrstuvwxyz", session=session)


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(HERE.read_text().splitlines(), 1) if text in line)


async def test_a_request_inside_an_open_transaction_is_caught(
    probe: TxProbe, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bot = offline_bot(probe)
    async with sessions() as db:
        await db.execute(select(Person))
        await bot(DeleteWebhook())  # the violation
        await db.commit()
        await bot(DeleteWebhook())  # committed: no transaction is open
    [violation] = probe.violations
    assert violation.method == "deleteWebhook"
    assert violation.location == (
        f"tests/unit/{HERE.name}:{line_of('# the violation')} "
        "in test_a_request_inside_an_open_transaction_is_caught"
    )
    assert "1 Bot API requests" in probe.report() and violation.location in probe.report()


async def test_requests_outside_a_transaction_are_not_caught(
    probe: TxProbe, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bot = offline_bot(probe)
    async with sessions() as db:
        await bot(DeleteWebhook())  # the session has not begun a transaction yet
        await db.execute(select(Person))
        await db.rollback()
        await bot(DeleteWebhook())
        await db.execute(select(Person))
    await bot(DeleteWebhook())  # closed
    assert probe.violations == []
    assert probe.report().startswith("No Bot API request")


async def test_another_tasks_transaction_does_not_count(
    probe: TxProbe, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bot = offline_bot(probe)
    holding, done = asyncio.Event(), asyncio.Event()

    async def hold_a_transaction() -> None:
        async with sessions() as db:
            await db.execute(select(Person))
            holding.set()
            await done.wait()

    holder = asyncio.create_task(hold_a_transaction())
    await holding.wait()
    await bot(DeleteWebhook())
    done.set()
    await holder
    assert probe.violations == []


async def test_the_suite_probe_watches_every_bot_session(tx_probe: TxProbe) -> None:
    session = OfflineSession()
    # Attached by the suite's fixture when the session was made.
    assert any(type(m).__name__ == "ProbeMiddleware" for m in session.middleware._middlewares)

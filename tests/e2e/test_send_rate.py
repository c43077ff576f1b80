"""Several processes sending on one PostgreSQL database, against the stand-in enforcing
Telegram's limits: one rate for all of them, and a pause Telegram asks of the whole bot
held by every process."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import BotState
from bot.telegram.outbox import SenderLease
from bot.telegram.sender import PAUSE_KEY
from tests.conftest import TEST_KEYRING, create_postgres_database, drop_postgres_database
from tests.e2e.processes import BotProcess, Processes
from tests.e2e.test_restart import outbox_statuses, queue_for
from tests.forkserver import ForkServer


async def stop(workers: list[BotProcess]) -> None:
    for worker in workers:
        if worker.returncode is None:
            assert await worker.terminate() == 0


async def state(database_url: str, key: str) -> str | None:
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        value = await db.scalar(select(BotState.value).where(BotState.key == key))
    await engine.dispose()
    return value


async def all_recorded(database_url: str, count: int) -> None:
    """Wait until every row says it was sent (the outcome follows the delivery)."""
    for _ in range(1000):
        if await outbox_statuses(database_url) == ["sent"] * count:
            return
        await asyncio.sleep(0.02)


async def test_three_workers_keep_one_rate_in_all(forkserver: ForkServer) -> None:
    database_url = await create_postgres_database()
    try:
        async with (
            BotAPIStandin() as standin,  # 30 a second in all, 1 a second per chat
            Processes(standin, database_url, forkserver) as processes,
        ):
            users = [standin.user(7000 + n, f"R{n}", "en") for n in range(300)]
            await queue_for(database_url, users, "News")
            workers = [processes.worker(OUTBOX_RATE="25") for _ in range(3)]
            try:
                await standin.wait_for(
                    lambda: all(standin.messages(user) for user in users), 60, "every message"
                )
                await all_recorded(database_url, len(users))
            finally:
                await stop(workers)
            assert max(standin.per_second("sendMessage").values()) <= 25
            assert not standin.calls(status=429)
            assert [len(standin.messages(user)) for user in users] == [1] * len(users)
            assert await outbox_statuses(database_url) == ["sent"] * len(users)
    finally:
        await drop_postgres_database(database_url)


async def test_a_pause_for_the_whole_bot_holds_for_the_process_that_takes_over(
    forkserver: ForkServer,
) -> None:
    """Two 429s for two chats at once are Telegram's limit for the whole bot: the sender
    pauses and tells the database; killed during the pause, the process that takes over
    sends nothing until the pause is over, and then no faster than the rate."""
    database_url = await create_postgres_database()
    try:
        async with (
            BotAPIStandin() as standin,
            Processes(standin, database_url, forkserver) as processes,
        ):
            users = [standin.user(8000 + n, f"S{n}", "en") for n in range(150)]
            await queue_for(database_url, users, "News")
            workers = [processes.worker(OUTBOX_RATE="25") for _ in range(2)]
            try:
                await standin.wait_for(
                    lambda: len(standin.calls("sendMessage", 200)) >= 30, 60, "30 sent"
                )
                standin.inject_429(retry_after=6, count=2, method="sendMessage")
                await standin.wait_for(lambda: len(standin.calls(status=429)) == 2, 10, "429s")
                for _ in range(500):
                    if await state(database_url, PAUSE_KEY) is not None:
                        break
                    await asyncio.sleep(0.01)
                owner = await state(database_url, SenderLease.key)
                assert owner is not None
                [sender] = [w for w in workers if f":{w.pid}:" in owner]
                await sender.kill()
                await standin.wait_for(
                    lambda: all(standin.messages(user) for user in users), 60, "every message"
                )
                await all_recorded(database_url, len(users))
            finally:
                await stop(workers)
            paused_at = standin.calls(status=429)[-1].at
            after = [c.at for c in standin.calls("sendMessage", 200) if c.at > paused_at]
            assert min(after) >= paused_at + 6 - 0.1
            assert max(standin.per_second("sendMessage").values()) <= 25
            assert [len(standin.messages(user)) for user in users] == [1] * len(users)
            assert await outbox_statuses(database_url) == ["sent"] * len(users)
    finally:
        await drop_postgres_database(database_url)

"""The inbox and the polling lease, shared by processes on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import InboxUpdate
from bot.telegram.polling import PollerLease
from tests.conftest import TEST_KEYRING

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def update(update_id: int, text: str) -> tuple[int, int, dict[str, object]]:
    return update_id, 5, {"update_id": update_id, "message": {"text": text}}


async def test_an_update_stored_by_two_processes_at_once_is_kept_once_without_an_error(
    database_url: str, db_engine: AsyncEngine
) -> None:
    # Two engines: two processes' connections.
    other = create_engine(database_url, TEST_KEYRING)
    first, second = create_sessionmaker(db_engine), create_sessionmaker(other)
    try:
        async with first() as db:
            assert await repo.store_updates(db, [update(1, "one")], NOW) == [1]
            # Before the first commits, the second stores the same update and a new one.
            racing = asyncio.create_task(store_in(second, [update(1, "one"), update(2, "two")]))
            await asyncio.sleep(0.2)
            await db.commit()
        assert await racing == [2]
        async with first() as db:
            assert await repo.store_updates(db, [update(2, "two")], NOW) == []
            rows = (await db.execute(select(InboxUpdate).order_by(InboxUpdate.update_id))).scalars()
            assert [(row.update_id, row.payload["message"]) for row in rows] == [
                (1, {"text": "one"}),
                (2, {"text": "two"}),
            ]
    finally:
        await other.dispose()


async def store_in(sessions, updates):  # type: ignore[no-untyped-def]
    async with sessions() as db:
        stored = await repo.store_updates(db, updates, NOW)
        await db.commit()
    return stored


async def test_the_polling_lease_is_one_process_s_until_it_runs_out(
    db_engine: AsyncEngine,
) -> None:
    moment = [NOW]
    sessions = create_sessionmaker(db_engine)
    first = PollerLease(sessions, 6, "host:1", lambda: moment[0])
    second = PollerLease(sessions, 6, "host:2", lambda: moment[0])
    assert await first.hold()
    assert not await second.hold()
    moment[0] += timedelta(seconds=5)
    assert await first.hold()  # renewed: six seconds from now
    moment[0] += timedelta(seconds=5)
    assert not await second.hold()
    moment[0] += timedelta(seconds=2)  # the first stopped renewing: its lease ran out
    assert await second.hold()
    assert not await first.hold()
    await second.release()
    assert await first.hold()  # at once after a clean stop

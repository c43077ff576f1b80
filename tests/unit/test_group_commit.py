"""Units of work of many updates in one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.storage.database import create_sessionmaker
from bot.storage.group_commit import GroupWork
from bot.storage.models import BotState

# Storage: on both databases.
pytestmark = pytest.mark.postgres


def setting(key: str, fail: bool = False):  # type: ignore[no-untyped-def]
    async def work(db: AsyncSession) -> str:
        db.add(BotState(key=key, value="v"))
        await db.flush()
        if fail:
            raise ValueError(key)
        return key

    return work


async def stored(db_engine: AsyncEngine) -> list[str]:
    async with create_sessionmaker(db_engine)() as db:
        return list((await db.execute(select(BotState.key).order_by(BotState.key))).scalars())


async def test_units_that_come_together_are_committed_together(db_engine: AsyncEngine) -> None:
    group = GroupWork(create_sessionmaker(db_engine))
    transactions = 0
    sessions = group.sessions

    def counted() -> AsyncSession:
        nonlocal transactions
        transactions += 1
        return sessions()

    group.sessions = counted  # type: ignore[assignment]
    results = await asyncio.gather(*(group.run(setting(f"k{n}")) for n in range(10)))
    assert results == [f"k{n}" for n in range(10)]
    assert sorted(await stored(db_engine)) == sorted(results)
    assert transactions < 10  # the first alone, the rest that queued behind it together


async def test_a_failing_unit_fails_alone(db_engine: AsyncEngine) -> None:
    group = GroupWork(create_sessionmaker(db_engine))
    results = await asyncio.gather(
        group.run(setting("a")),
        group.run(setting("b")),
        group.run(setting("bad", fail=True)),
        group.run(setting("c")),
        return_exceptions=True,
    )
    assert results[:2] == ["a", "b"] and results[3] == "c"
    assert isinstance(results[2], ValueError)
    assert await stored(db_engine) == ["a", "b", "c"]


async def test_a_unit_alone_fails_with_its_own_error(db_engine: AsyncEngine) -> None:
    group = GroupWork(create_sessionmaker(db_engine))
    with pytest.raises(ValueError, match="bad"):
        await group.run(setting("bad", fail=True))
    assert await stored(db_engine) == []


async def test_a_caller_that_stops_waiting_does_not_stop_the_others(
    db_engine: AsyncEngine,
) -> None:
    group = GroupWork(create_sessionmaker(db_engine))
    first = asyncio.create_task(group.run(setting("a")))
    gone = asyncio.create_task(group.run(setting("b")))
    last = asyncio.create_task(group.run(setting("c")))
    await asyncio.sleep(0)
    gone.cancel()
    assert await first == "a" and await last == "c"
    assert gone.cancelled()
    # What the cancelled caller asked for was done: like a reply lost in a crash, the
    # update it came from is handled again and finds it done.
    assert await stored(db_engine) == ["a", "b", "c"]

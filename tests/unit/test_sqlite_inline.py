"""SQLite in the event loop's thread: another process's write lock is waited for asleep."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.storage import database
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import BotState


async def test_a_write_waits_for_another_process_lock_while_the_loop_runs_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mentorbot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other process holds the write lock
    ticks = 0

    async def loop_runs_on() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with create_sessionmaker(engine)() as db:
            db.add(BotState(key="k", value="v"))
            await db.commit()

    ticker = asyncio.create_task(loop_runs_on())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()
    # Blocked by the wait, the loop would not have turned at all; on a busy machine it
    # turns less often than every 10 ms, but it turns.
    assert ticks >= 5
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    ticker.cancel()
    async with create_sessionmaker(engine)() as db:
        assert await db.scalar(select(func.count()).select_from(BotState)) == 1
    other.close()
    await engine.dispose()


async def test_a_lock_held_past_the_timeout_fails_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "LOCK_TIMEOUT", 0.3)
    path = tmp_path / "mentorbot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        async with create_sessionmaker(engine)() as db:
            db.add(BotState(key="k", value="v"))
            await db.commit()
    other.execute("ROLLBACK")
    other.close()
    await engine.dispose()

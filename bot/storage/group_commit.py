"""Many small writes in one transaction, without making any of them wait longer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """Writes each item as soon as it comes, those that come while a write is under way
    joining the next one: one transaction for many items, not one each, and no item waits
    longer than it would for a transaction of its own. ``add`` returns once its item is
    committed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[Item]], Awaitable[None]],
    ) -> None:
        self.sessions = sessions
        self.write = write
        self.lock = asyncio.Lock()
        self.queue: list[tuple[Item, asyncio.Future[None]]] = []

    async def add(self, item: Item) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((item, done))
        async with self.lock:
            if not done.done():
                batch, self.queue = self.queue, []
                try:
                    async with self.sessions() as db:
                        await self.write(db, [queued for queued, _ in batch])
                        await db.commit()
                except BaseException as exc:
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_exception(exc)
                    raise
                for _, waiting in batch:
                    waiting.set_result(None)
        await done


Result = TypeVar("Result")
Work = Callable[[AsyncSession], Awaitable[Result]]


class GroupWork:
    """Units of work of many updates run one after another in one transaction, those that
    come while a group is under way forming the next group. Each unit reads and writes as
    it would alone and must not commit; ``run`` returns its result once the group is
    committed. If any unit of a group fails, the group is rolled back and each unit is run
    again in a transaction of its own, so that one failure fails only its own unit."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.lock = asyncio.Lock()
        self.queue: list[tuple[Work[Any], asyncio.Future[Any]]] = []

    async def run(self, work: Work[Result]) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.queue.append((work, done))
        async with self.lock:
            if not done.done():
                batch, self.queue = self.queue, []
                try:
                    if not await self._together(batch):
                        await self._alone(batch)
                except BaseException as exc:
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_exception(exc)
                    raise
        return await done

    async def _together(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> bool:
        if len(batch) == 1:
            return False
        try:
            async with self.sessions() as db:
                results = [await work(db) for work, _ in batch]
                await db.commit()
        except Exception:  # noqa: BLE001 - each unit is run again alone, and fails alone
            return False
        for (_, waiting), result in zip(batch, results, strict=True):
            waiting.set_result(result)
        return True

    async def _alone(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        for work, waiting in batch:
            try:
                async with self.sessions() as db:
                    result = await work(db)
                    await db.commit()
            except Exception as exc:  # noqa: BLE001 - handed to the unit's caller
                waiting.set_exception(exc)
            else:
                waiting.set_result(result)

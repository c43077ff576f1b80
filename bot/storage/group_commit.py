"""Many small units of work in one transaction, without making any of them wait longer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Entry = TypeVar("Entry")
Item = TypeVar("Item")
Result = TypeVar("Result")
Work = Callable[[AsyncSession], Awaitable[Result]]


def settle(waiting: asyncio.Future[Any], result: Any) -> None:
    """Give a caller its result, unless it has stopped waiting (it was cancelled)."""
    if not waiting.done():
        waiting.set_result(result)


class _Groups(Generic[Entry]):
    """Entries are written as soon as they come, those that come while a group is being
    written forming the next group: one transaction for many entries, not one each, and no
    entry waits longer than it would for a transaction of its own. One task writes the
    groups while there are any; the callers only wait for their own entry."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.queue: list[tuple[Entry, asyncio.Future[Any]]] = []
        self.writer: asyncio.Task[None] | None = None

    def _submit(self, entry: Entry) -> asyncio.Future[Any]:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append((entry, done))
        if self.writer is None:
            self.writer = asyncio.create_task(self._write_all())
        return done

    async def _write_all(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                try:
                    await self._write(batch)
                except BaseException as exc:
                    for _, waiting in batch:
                        if not waiting.done():
                            waiting.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            self.writer = None

    async def _write(self, batch: list[tuple[Entry, asyncio.Future[Any]]]) -> None:
        raise NotImplementedError


class GroupCommit(_Groups[Item]):
    """Items written by ``write`` in groups; ``add`` returns once its item is committed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[Item]], Awaitable[None]],
    ) -> None:
        super().__init__(sessions)
        self.write = write

    async def add(self, item: Item) -> None:
        await self._submit(item)

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Any]]]) -> None:
        async with self.sessions() as db:
            await self.write(db, [item for item, _ in batch])
            await db.commit()
        for _, waiting in batch:
            settle(waiting, None)


class GroupWork(_Groups["Work[Any]"]):
    """Units of work of many updates run one after another in one transaction. Each unit
    reads and writes as it would alone and must not commit; ``run`` returns its result once
    the group is committed. If any unit of a group fails, the group is rolled back and each
    unit is run again in a transaction of its own, so that one failure fails only its own
    unit."""

    async def run(self, work: Work[Result]) -> Result:
        result: Result = await self._submit(work)
        return result

    async def _write(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        if len(batch) > 1 and await self._together(batch):
            return
        for work, waiting in batch:
            try:
                async with self.sessions() as db:
                    result = await work(db)
                    await db.commit()
            except Exception as exc:  # noqa: BLE001 - handed to the unit's caller
                if not waiting.done():
                    waiting.set_exception(exc)
            else:
                settle(waiting, result)

    async def _together(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> bool:
        try:
            async with self.sessions() as db:
                results = [await work(db) for work, _ in batch]
                await db.commit()
        except Exception:  # noqa: BLE001 - each unit is run again alone, and fails alone
            return False
        for (_, waiting), result in zip(batch, results, strict=True):
            settle(waiting, result)
        return True

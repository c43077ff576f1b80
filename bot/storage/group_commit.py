"""Many small writes in one transaction, without making any of them wait longer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

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

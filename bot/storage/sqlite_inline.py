"""SQLite run in the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close) in a thread of its own and
hands the result back through the event loop: four thread hops for one SELECT, each
dearer than the statement itself, since with one connection in WAL mode a statement
takes microseconds. Here the calls run where they are made. SQLAlchemy's aiosqlite
dialect is given this connection (``async_creator``); it offers what the dialect uses
of aiosqlite's.

Waiting for another process's write lock must not stop the event loop: SQLite waits only
briefly itself, and the wait goes on here, asleep, until ``timeout``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_SLICE_MS = 20  # how long SQLite itself waits for a lock before handing back


def _locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self._conn = connection
        self.timeout = timeout
        # The dialect sets the isolation level through aiosqlite's queue of calls.
        self._tx = _RunNow()

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)``, waited for again while another process holds the lock. A call
        refused for the lock has changed nothing, so it can be made again."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as error:
                if not _locked(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(BUSY_SLICE_MS / 1000)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = await self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def checkpoint(self) -> None:
        """A WAL checkpoint that empties the WAL, waited for (asleep) while another
        connection's reader or writer holds it up."""
        deadline = time.monotonic() + self.timeout
        while True:
            busy, _log, _done = await self.run(
                lambda: self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            )
            if not busy or time.monotonic() > deadline:
                return
            await asyncio.sleep(BUSY_SLICE_MS / 1000)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class InlineCursor:
    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._connection.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        await self._connection.run(self._cursor.executemany, sql, list(parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


class _RunNow:
    """aiosqlite's queue of calls, as the dialect uses it: (future, call) is run at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, call = item
        try:
            future.set_result(call())
        except Exception as error:  # noqa: BLE001 - handed to whoever awaits the future
            future.set_exception(error)


def connector(path: str, timeout: float) -> Callable[[], Any]:
    """The ``async_creator`` for a SQLite file at ``path``."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(
            path, timeout=BUSY_SLICE_MS / 1000, isolation_level=None, check_same_thread=False
        )
        return InlineConnection(connection, timeout)

    return connect

"""The data key's check at start-up and its rotation (bot/storage/sealing.py seals).

The database keeps a sealed marker in ``bot_state``, written on the first start with a key:
a later start with no key, or with keys none of which opens the marker, is refused before
anything is read or written. Rotation seals every sealed column's values anew with the
current key, in batches (a rotation stopped midway is finished by running it again, as
long as ``DATA_KEY`` still lists the old key), then the marker.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from sqlalchemy import Column, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage import repositories as repo
from bot.storage.database import LOCK_TIMEOUT
from bot.storage.models import Base
from bot.storage.sealing import TOKEN, DataKeyError, Keyring, SealedJSON, SealedText

log = logging.getLogger(__name__)

MARKER_KEY = "data_key"
MARKER = b"mentorbot"
CLEAR = "clear"  # the marker of a database written with encryption off
BATCH = 500


async def verify(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring | None, *, record: bool = True
) -> bool:
    """Refuse (DataKeyError) keys that cannot open what the database holds. Returns whether
    there was a marker to check them against; without one it is written now, unless not
    ``record`` (``mentorbot check`` only looks)."""
    if record:
        stored = await _marker(sessions, keyring)
    else:
        async with sessions() as db:
            stored = await repo.get_state(db, MARKER_KEY)
    if stored is None or stored == CLEAR:
        return False
    found = TOKEN.match(stored)
    sealed_with = found.group(1) if found else "?"
    if keyring is None:
        raise DataKeyError(
            f"this database's words are sealed (key {sealed_with}): encryption cannot be "
            "switched off for it, and DATA_KEY must hold that key"
        )
    try:
        opened = keyring.open(stored, MARKER_KEY)
    except DataKeyError:
        opened = None
    if opened != MARKER:
        raise DataKeyError(
            f"DATA_KEY does not open this database: its words are sealed with key "
            f"{sealed_with}, and DATA_KEY holds {', '.join(sorted(keyring.openers))}"
        )
    if sealed_with != keyring.current:
        log.warning("the data key is being changed: run `mentorbot rotate-key` to finish")
    return True


async def _marker(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring | None
) -> str | None:
    """The stored marker to check the keys against; None when there was none to check (this
    start writes it: the first, or the first with a key after starts without one). Several
    processes starting at once on a new database race to write it: the losers read the
    winner's."""
    try:
        return await _read_or_write_marker(sessions, keyring)
    except IntegrityError:
        return await _read_or_write_marker(sessions, keyring)


async def _read_or_write_marker(
    sessions: async_sessionmaker[AsyncSession], keyring: Keyring | None
) -> str | None:
    async with sessions() as db:
        stored = await repo.get_state(db, MARKER_KEY)
        if stored is not None and not (stored == CLEAR and keyring is not None):
            return stored
        marker = keyring.seal(MARKER, MARKER_KEY) if keyring is not None else CLEAR
        await repo.set_state(db, MARKER_KEY, marker)
        await db.commit()
    if stored == CLEAR:
        log.warning(
            "encryption is on now: what was stored before stays in the clear until "
            "`mentorbot rotate-key` seals it"
        )
    return None


def sealed_columns() -> list[tuple[Table, Column[object], list[Column[object]]]]:
    """Each table with sealed columns: (table, its key, those columns)."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, SealedJSON | SealedText)]
        if columns:
            (key,) = table.primary_key.columns
            found.append((table, key, columns))
    return found


async def rotate(engine: AsyncEngine, keyring: Keyring) -> dict[str, int]:
    """Seal every sealed value with the current key; the rows rewritten, by table. On
    SQLite the file is then rebuilt, so that no page keeps a value as it was before."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rewritten = {}
    for table, key, columns in sealed_columns():
        rewrite = (
            table.update()
            .where(key == bindparam("b_key"))
            .values({c.name: bindparam(c.name) for c in columns})
        )
        count, last = 0, None
        while True:
            query = select(key, *columns).order_by(key).limit(BATCH)
            if last is not None:
                query = query.where(key > last)
            async with sessions() as db:
                rows = (await db.execute(query)).all()
                if rows:
                    await db.execute(
                        rewrite,
                        [
                            {
                                "b_key": row[0],
                                **{c.name: v for c, v in zip(columns, row[1:], strict=True)},
                            }
                            for row in rows
                        ],
                    )
                    await db.commit()
            if not rows:
                break
            count += len(rows)
            last = rows[-1][0]
        rewritten[table.name] = count
    async with sessions() as db:
        await repo.set_state(db, MARKER_KEY, keyring.seal(MARKER, MARKER_KEY))
        await db.commit()
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, ":memory:"):
        await asyncio.to_thread(compact, str(engine.url.database))
    return rewritten


def compact(path: str) -> None:
    """Rebuild a SQLite file without its free pages, and empty its write-ahead log."""
    connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()

"""Engine, sessions and migrations."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage.sealing import Keyring, attach
from bot.storage.sqlite_inline import connector

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's write lock on SQLite
# The database holds people's words: its file (and SQLite's -wal and -shm beside it,
# which SQLite gives the database file's mode) is its user's only.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_file(path: Path) -> None:
    """Make sure ``path`` exists and only its owner may read or write it."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)


def _private_database(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=PRIVATE_DIR)
    private_file(path)
    for suffix in ("-wal", "-shm"):
        beside = path.with_name(path.name + suffix)
        if beside.exists():
            os.chmod(beside, PRIVATE_FILE)


def create_engine(url: str, keyring: Keyring | None = None) -> AsyncEngine:
    """The engine of the database at ``url``; with a keyring, people's words are sealed
    (bot/storage/sealing.py)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        attach(engine, keyring)
        return engine
    if parsed.database and parsed.database != ":memory:":
        _private_database(Path(parsed.database))
    # One connection: SQLite writes one at a time anyway, and waiting for the pool wakes
    # the moment it is free, where SQLite's own busy wait sleeps in growing steps. Its
    # calls run in the event loop's thread (bot/storage/sqlite_inline.py).
    engine = create_async_engine(
        url,
        async_creator=connector(parsed.database or ":memory:", timeout=LOCK_TIMEOUT),
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off so that every
        # transaction can start with BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # What is deleted or overwritten is overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # Taking the write lock up front makes concurrent writers wait their turn
        # instead of failing when a read snapshot turns out to be stale.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    attach(engine, keyring)
    return engine


async def checkpoint(engine: AsyncEngine) -> None:
    """On SQLite, copy the WAL into the database file and empty it, so that no earlier
    version of a page (with words since erased) is left in it. Outside any transaction;
    nothing to do on PostgreSQL, where deleted rows are gone for every reader."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.checkpoint()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate the schema to the newest revision."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
        if after != before:
            log.info("database schema migrated from %s to %s", before or "nothing", after)

    async with engine.begin() as connection:
        await connection.run_sync(run)

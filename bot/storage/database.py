"""Engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.errors import OperatorError
from bot.storage.sealing import Keyring, attach
from bot.storage.sqlite_inline import connector

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's write lock on SQLite
# The database holds people's words: its file (and SQLite's -wal and -shm beside it,
# which SQLite gives the database file's mode) is its user's only.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# The PostgreSQL advisory lock that one migrating process holds at a time (any number,
# the same for every mentorbot database: "mentorbt" in ASCII).
MIGRATION_LOCK = 0x6D656E746F726274


def json_text(value: Any) -> str:
    """JSON columns' text (a dialog session's state, an outbox row's payload: written on
    every update's path), made by orjson rather than the standard library's encoder."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def json_value(stored: str | bytes | float) -> Any:
    """A JSON column's value. SQLite gives a column of JSON numeric affinity, so a bare
    number comes back as a number, not as its text."""
    return orjson.loads(stored) if isinstance(stored, str | bytes) else stored


JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": json_value}


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
        # A statement's parameters hold people's words: an error's message never shows them.
        engine = create_async_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            hide_parameters=True,
            **JSON_CODEC,
        )
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
        hide_parameters=True,
        **JSON_CODEC,
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


def migrations() -> ScriptDirectory:
    """This version's migrations; an install without them is told to reinstall."""
    try:
        return ScriptDirectory.from_config(alembic_config(""))
    except CommandError:
        raise OperatorError(
            f"the database migrations are missing from this install ({MIGRATIONS}): "
            "reinstall mentorbot"
        ) from None


def describe(url: str) -> str:
    """The database's address without its password, for a line to the operator."""
    return make_url(url).render_as_string(hide_password=True)


async def reach(engine: AsyncEngine) -> None:
    """Connect once, or say in one line why the database cannot be reached."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as exc:
        raise OperatorError(_unreachable(engine, exc)) from None
    except Exception as exc:
        # The PostgreSQL driver's own refusals (no such database, role or password).
        if type(exc).__module__.startswith("asyncpg"):
            raise OperatorError(_unreachable(engine, exc)) from None
        raise


def _unreachable(engine: AsyncEngine, exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, SQLAlchemyError) and hasattr(exc, "orig") else exc
    reason = (
        cause.strerror
        if isinstance(cause, OSError) and cause.strerror
        else str(cause).splitlines()[0]
        if str(cause)
        else ""
    )
    where = describe(engine.url.render_as_string(hide_password=False))
    return (
        f"cannot reach the database at {where} ({type(cause).__name__}: {reason}): check "
        "DATABASE_URL (host, port, user, password, database name) and that the database "
        "server is running"
    )


@dataclass(frozen=True)
class Schema:
    """Where the database's schema is against this version's migrations."""

    current: str | None
    head: str
    known: bool  # current is one of this version's revisions (or there is none yet)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def newer_problem(self) -> str | None:
        if self.known:
            return None
        return (
            f"the database's schema is at revision {self.current}, which this version of "
            f"mentorbot does not know (its newest is {self.head}): a newer mentorbot migrated "
            "it. Run that version, or restore the backup made before the upgrade"
        )


def _schema_of(connection: Connection, script: ScriptDirectory) -> Schema:
    current = MigrationContext.configure(connection).get_current_revision()
    head = script.get_current_head()
    assert head is not None
    known = current is None or current in {r.revision for r in script.walk_revisions()}
    return Schema(current, head, known)


async def schema(engine: AsyncEngine) -> Schema:
    """The database's schema revision against this version's (reached first, see reach)."""
    script = migrations()
    await reach(engine)
    async with engine.connect() as connection:
        return await connection.run_sync(_schema_of, script)


async def require_schema(engine: AsyncEngine) -> None:
    """For a command that works on the database as it is: reachable and migrated."""
    found = await schema(engine)
    problem = found.newer_problem()
    if problem:
        raise OperatorError(problem)
    if not found.up_to_date:
        raise OperatorError(
            f"the database is not migrated (at revision {found.current or 'none'}, this "
            f"version's newest is {found.head}): run `mentorbot db upgrade` (the bot also "
            "migrates it when it starts)"
        )


@contextlib.asynccontextmanager
async def migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """One process migrates at a time, whatever the others are (`run`, `worker`s): on
    PostgreSQL a session-level advisory lock held on a connection of its own, on SQLite a
    file lock beside the database file. The lock goes with the process that dies."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as raw:
            holder = await raw.execution_options(isolation_level="AUTOCOMMIT")
            key = {"key": MIGRATION_LOCK}
            if not await holder.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
                log.info("another process is migrating the database: waiting for it")
                await holder.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                yield
            finally:
                await holder.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    path = Path(database)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is migrating the database: waiting for it")
            await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # and the lock with it


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate the schema to the newest revision, under the migration lock, so that any
    number of processes may start at once on a database in any state. A database this
    version cannot reach, or one a newer version migrated, is an OperatorError."""
    script = migrations()
    await reach(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        before = _schema_of(connection, script)
        problem = before.newer_problem()
        if problem:
            raise OperatorError(problem)
        if before.up_to_date:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
        log.info("database schema migrated from %s to %s", before.current or "nothing", after)

    async with migration_lock(engine), engine.begin() as connection:
        await connection.run_sync(run)

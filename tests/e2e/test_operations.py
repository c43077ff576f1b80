"""Starting the bot as an operator does: each mistake is one line saying what to do, with
status 2 and no traceback; any number of processes may start at once on a database in any
state; `mentorbot check` says what it found."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.playground.botapi import BOT_USERNAME, BotAPIStandin
from bot.storage.database import create_engine, migrations, upgrade
from tests.conftest import (
    TEST_KEYRING,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)
from tests.e2e.processes import environment
from tests.forkserver import ForkServer

OTHER_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
HEAD = migrations().get_current_head()


def refused(result: object) -> str:
    """The one line a refused start ends with (log lines may come before it)."""
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("mentorbot: "), stderr
    return str(last)


async def eventually(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll a process's state (its log, its exit) until ``predicate`` holds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.02)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_token_telegram_refuses_is_one_line(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    env = environment(standin, BOT_TOKEN=OTHER_TOKEN)
    for command in ("run", "worker", "check"):
        line = refused(await asyncio.to_thread(forkserver.run, [command], env, tmp_path))
        assert "401" in line and "@BotFather" in line and "BOT_TOKEN" in line
        assert OTHER_TOKEN not in line


async def test_telegram_out_of_reach_is_one_line(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    env = environment(standin, TELEGRAM_API_URL=f"http://127.0.0.1:{closed_port()}")
    for command in ("run", "worker"):
        line = refused(await asyncio.to_thread(forkserver.run, [command], env, tmp_path))
        assert "cannot reach Telegram" in line and "TELEGRAM_API_URL" in line


async def test_a_database_out_of_reach_is_one_line_without_its_password(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    url = f"postgresql+asyncpg://mentorbot:hunter2@127.0.0.1:{closed_port()}/mentorbot"
    missing = postgres_url().rsplit("/", 1)[0] + "/no_such_database"
    for database_url, reason in ((url, "ConnectionRefusedError"), (missing, "does not exist")):
        env = environment(standin, DATABASE_URL=database_url)
        for command in ("run", "worker", "check", "db"):
            args = [command, "upgrade"] if command == "db" else [command]
            line = refused(await asyncio.to_thread(forkserver.run, args, env, tmp_path))
            assert "cannot reach the database" in line and reason in line, line
            assert "DATABASE_URL" in line and "hunter2" not in line


async def test_a_mistyped_sqlite_path_makes_no_file(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    typo = tmp_path / "dta" / "mentorbot.db"
    env = environment(standin, DATABASE_URL=f"sqlite+aiosqlite:///{typo}")
    for command in ("run", "worker", "check", "db"):
        args = [command, "upgrade"] if command == "db" else [command]
        line = refused(await asyncio.to_thread(forkserver.run, args, env, tmp_path))
        assert str(typo) in line and "does not exist" in line and "DATA_DIR" in line
    assert not typo.parent.exists()


async def test_the_first_start_makes_the_database_in_the_data_directory(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    env = environment(standin, DATA_DIR="state")
    found = await asyncio.to_thread(forkserver.run, ["check"], env, tmp_path)
    assert found.returncode == 0, found.stderr
    assert "does not exist yet: the first start makes it" in found.stdout
    assert not (tmp_path / "state").exists()  # check only looks
    done = await asyncio.to_thread(forkserver.run, ["db", "upgrade"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "state" / "mentorbot.db").is_file()
    found = await asyncio.to_thread(forkserver.run, ["check"], env, tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "dialogs",
        "catalogs",
        "database",
        "data key",
        "telegram",
    ]
    assert f"schema at {HEAD} (up to date)" in lines[2]
    assert "the next start records it" in lines[3]  # no bot has started on it yet
    assert (
        lines[4] == f"telegram: the token is @{BOT_USERNAME}'s (id {standin.token.split(':')[0]})"
    )


@pytest.mark.postgres  # the schema's revision, on both databases
async def test_a_database_newer_than_the_code_is_refused(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path, database_url: str
) -> None:
    engine = create_engine(database_url, TEST_KEYRING)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    await engine.dispose()
    env = environment(standin, DATABASE_URL=database_url)
    for command in ("run", "worker", "check", "purge"):
        line = refused(await asyncio.to_thread(forkserver.run, [command], env, tmp_path))
        assert "revision 0099" in line and "newer mentorbot" in line, line


async def test_a_command_on_a_database_not_migrated_says_how(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    url = await create_postgres_database()
    try:
        env = environment(standin, DATABASE_URL=url)
        line = refused(await asyncio.to_thread(forkserver.run, ["purge"], env, tmp_path))
        assert "not migrated" in line and "mentorbot db upgrade" in line
    finally:
        await drop_postgres_database(url)


async def test_logs_as_json_lines(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path, database_url: str
) -> None:
    env = environment(standin, DATABASE_URL=database_url, LOG_FORMAT="json", LOG_LEVEL="INFO")
    worker = forkserver.spawn(["worker"], env, tmp_path)
    try:
        await eventually(
            lambda: "mentorbot worker is running" in worker.log(), 30, "the worker to start"
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 20) == 0
    lines = [json.loads(line) for line in worker.log().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert {
        "level": "INFO",
        "logger": "bot.app",
        "message": "mentorbot worker is running",
    }.items() <= next(
        line for line in lines if line["logger"] == "bot.app" and line["level"] == "INFO"
    ).items()
    assert standin.token not in worker.log()


# -- migrations under a lock ----------------------------------------------------------------------

ROUNDS = 10
TOGETHER = 3


async def start_together(forkserver: ForkServer, env: dict[str, str], cwd: Path) -> None:
    """``TOGETHER`` workers at once: each must come up (migrated, its data key checked,
    Telegram asked) and stop cleanly."""
    workers = [forkserver.spawn(["worker"], env, cwd) for _ in range(TOGETHER)]

    def all_up() -> bool:
        for worker in workers:
            if worker.returncode is not None:
                raise AssertionError(f"a worker died:\n{worker.log()}")
        return all("mentorbot worker is running" in w.log() for w in workers)

    try:
        await eventually(all_up, 30, "every worker to come up")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(w.wait(), 20) for w in workers]
    assert codes == [0] * TOGETHER, "\n".join(w.log() for w in workers)


async def schema_version(url: str, *, started: bool = True) -> str | None:
    """The database's schema revision; once a bot ``started`` on it, its data key's mark is
    there too."""
    engine = create_engine(url, TEST_KEYRING)
    async with engine.connect() as connection:
        found = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        marker = await connection.scalar(text("SELECT value FROM bot_state WHERE key = 'data_key'"))
    await engine.dispose()
    assert (marker is not None) == started
    return str(found)


@pytest.mark.parametrize("migrated_to", [None, "0005"], ids=["empty", "partly migrated"])
async def test_processes_started_together_on_a_postgresql_all_come_up(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path, migrated_to: str | None
) -> None:
    from alembic import command

    from bot.storage.database import alembic_config

    # An empty database every round; one already at an older revision once.
    for _ in range(ROUNDS if migrated_to is None else 1):
        url = await create_postgres_database()
        try:
            if migrated_to is not None:
                engine = create_engine(url)

                def to_older(connection: object, url: str = url) -> None:
                    config = alembic_config(url)
                    config.attributes["connection"] = connection
                    command.upgrade(config, migrated_to)

                async with engine.begin() as connection:
                    await connection.run_sync(to_older)
                await engine.dispose()
            env = environment(standin, DATABASE_URL=url, LOG_LEVEL="INFO")
            await start_together(forkserver, env, tmp_path)
            assert await schema_version(url) == HEAD
        finally:
            await drop_postgres_database(url)


async def test_processes_started_together_on_a_new_sqlite_all_come_up(
    standin: BotAPIStandin, forkserver: ForkServer, tmp_path: Path
) -> None:
    env = environment(standin, DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="INFO")
    await start_together(forkserver, env, tmp_path)
    assert await schema_version(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'mentorbot.db'}") == HEAD
    # And again on the current schema: nothing to migrate, nobody waits long.
    await start_together(forkserver, env, tmp_path)


async def test_upgrade_waits_for_a_process_holding_the_migration_lock() -> None:
    from bot.storage.database import migration_lock

    url = await create_postgres_database()
    holder = create_engine(url, TEST_KEYRING)
    other = create_engine(url, TEST_KEYRING)
    try:
        async with migration_lock(holder):
            waiting = asyncio.create_task(upgrade(other))
            for _ in range(500):  # until the other process waits for the lock
                async with holder.connect() as connection:
                    queued = await connection.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks"
                            " WHERE locktype = 'advisory' AND NOT granted"
                        )
                    )
                if queued:
                    break
                await asyncio.sleep(0.01)
            assert queued == 1 and not waiting.done()
            assert await schema_version_or_none(url) is None
        await asyncio.wait_for(waiting, 20)
        assert await schema_version(url, started=False) == HEAD
    finally:
        await holder.dispose()
        await other.dispose()
        await drop_postgres_database(url)


async def schema_version_or_none(url: str) -> str | None:
    engine = create_engine(url, TEST_KEYRING)
    async with engine.connect() as connection:
        found = await connection.scalar(
            text(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_name = 'alembic_version'"
            )
        )
    await engine.dispose()
    return None if not found else "migrated"


@pytest.mark.postgres  # the drivers' errors, on both databases
async def test_a_failed_statement_never_shows_its_parameters(database_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(database_url, TEST_KEYRING)
    insert = text("INSERT INTO bot_state (key, value) VALUES (:key, :value)")
    words = {"key": "twice", "value": "what a mentee wrote"}
    try:
        async with engine.begin() as connection:
            await connection.execute(insert, words)
        with pytest.raises(IntegrityError) as failed:
            async with engine.begin() as connection:
                await connection.execute(insert, words)
    finally:
        await engine.dispose()
    assert "what a mentee wrote" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)

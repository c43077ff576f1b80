"""People's words sealed at rest: what the database holds, a wrong or missing key at
start-up, and the key's rotation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import create_app
from bot.playground.botapi import BotAPIStandin
from bot.storage import data_key
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import Answer, Base, BotState, Commitment
from bot.storage.sealing import DataKeyError, Keyring, new_key
from tests.conftest import TEST_DATA_KEY, TEST_KEYRING
from tests.e2e.conftest import ROOT, MovableClock, Running, bot_settings, start_bot
from tests.e2e.people import Person
from tests.e2e.test_dialogs import GROW_TRANSCRIPT, PERSONS_OWN, translator
from tests.forkserver import ForkServer

# What the mentee writes in GROW, as the probes to look for in the stored bytes.
PROBES = [
    "Run 10 km in under an hour",
    "Dark winter evenings",
    "Needs a shower at work",
    "Send my mentor the receipt",
    "Run with the club twice",
]


async def grow(standin: BotAPIStandin, bot: Running) -> Person:
    person = Person(standin, standin.user(610, "Ilze", "en"), bot)
    t = translator(bot, "en")
    for kind, value in GROW_TRANSCRIPT:
        if kind == "write":
            await person.write(value)
        else:
            await person.press(value if value in PERSONS_OWN else t(value))
    return person


async def stored_bytes(database_url: str) -> bytes:
    """Every byte the database holds: on SQLite its file and write-ahead log, on
    PostgreSQL every row of every table, as text."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = [
                row
                for table in Base.metadata.sorted_tables
                for row in (
                    await connection.execute(text(f"SELECT t::text FROM {table.name} t"))
                ).scalars()
            ]
    finally:
        await engine.dispose()
    return "\n".join(rows).encode()


@pytest.mark.postgres
@pytest.mark.parametrize("encrypted", [True, False], ids=["sealed", "clear"])
async def test_the_database_holds_no_word_in_the_clear(
    standin: BotAPIStandin, database_url: str, clock: MovableClock, encrypted: bool
) -> None:
    bot = await start_bot(standin, database_url, clock, encrypt_data=encrypted)
    try:
        person = await grow(standin, bot)
        summary = "\n".join(m.text or "" for m in person.sent())
        # The bot reads what it sealed: the summary gives the mentee's words back.
        assert "Run 10 km in under an hour <b>this</b> spring & summer" in summary
        async with bot.app.sessions() as db:
            texts = (await db.scalars(select(Commitment.text).order_by(Commitment.due_on))).all()
        assert texts[0] == "Sign up at the club"
    finally:
        await bot.stop()
    found = [p for p in PROBES if p.encode() in await stored_bytes(database_url)]
    # With encryption off the same scan finds every probe: it would find them if they were
    # stored in the clear.
    assert found == ([] if encrypted else PROBES)


@pytest.mark.postgres
async def test_a_wrong_or_missing_key_is_refused_at_start_up_with_one_line(
    standin: BotAPIStandin,
    database_url: str,
    clock: MovableClock,
    forkserver: ForkServer,
    tmp_path: Path,
) -> None:
    bot = await start_bot(standin, database_url, clock)
    await bot.stop()
    env = {
        **os.environ,
        "BOT_TOKEN": standin.token,
        "DATABASE_URL": database_url,
        "TELEGRAM_API_URL": standin.base_url,
    }
    polls = len(standin.calls("getUpdates"))
    for key, says in ((new_key(), "DATA_KEY does not open this database"), ("", "not set")):
        errors = tmp_path / f"errors-{bool(key)}.txt"
        errors.touch()
        process = forkserver.spawn(["run"], {**env, "DATA_KEY": key}, ROOT, errors=errors)
        assert await process.wait() == 2
        lines = errors.read_text().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mentorbot: ") and says in lines[0]
        if key:
            assert key not in lines[0]
    assert len(standin.calls("getUpdates")) == polls
    # Nor does the bot start in this process.
    with pytest.raises(DataKeyError):
        await create_app(bot_settings(standin, database_url, data_key=SecretStr(new_key())))


@pytest.mark.postgres
async def test_rotation_keeps_every_answer_readable(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> None:
    bot = await start_bot(standin, database_url, clock)
    try:
        await grow(standin, bot)
    finally:
        await bot.stop()
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        before = sorted((await db.execute(select(Answer.key, Answer.value))).tuples())
    await engine.dispose()

    fresh = new_key()
    both = Keyring.parse(f"{fresh},{TEST_DATA_KEY}")
    engine = create_engine(database_url, both)
    await data_key.verify(create_sessionmaker(engine), both)
    rewritten = await data_key.rotate(engine, both)
    await engine.dispose()
    assert rewritten["answers"] == len(before)

    # Only the new key is needed now, and the old one opens nothing any more.
    engine = create_engine(database_url, Keyring.parse(fresh))
    async with create_sessionmaker(engine)() as db:
        after = sorted((await db.execute(select(Answer.key, Answer.value))).tuples())
    await engine.dispose()
    assert after == before
    assert f"mb1:{TEST_KEYRING.current}:".encode() not in await stored_bytes(database_url)
    with pytest.raises(DataKeyError):
        await create_app(bot_settings(standin, database_url))
    restarted = await start_bot(standin, database_url, clock, data_key=SecretStr(fresh))
    try:
        person = Person(standin, standin.user(610, "Ilze", "en"), restarted)
        (copy,) = await person.write("/mydata")
        assert copy.document is not None and b"Dark winter evenings" in copy.document
    finally:
        await restarted.stop()


async def test_turning_encryption_on_seals_what_was_stored_once_rotated(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> None:
    bot = await start_bot(standin, database_url, clock, encrypt_data=False)
    try:
        await grow(standin, bot)
    finally:
        await bot.stop()
    stored = await stored_bytes(database_url)
    assert all(p.encode() in stored for p in PROBES)
    # Switched on, the bot reads the old words as they are and seals what it writes.
    bot = await start_bot(standin, database_url, clock)
    try:
        person = Person(standin, standin.user(610, "Ilze", "en"), bot)
        (copy,) = await person.write("/mydata")
        assert copy.document is not None and b"Dark winter evenings" in copy.document
    finally:
        await bot.stop()
    engine = create_engine(database_url, TEST_KEYRING)
    await data_key.rotate(engine, TEST_KEYRING)
    await engine.dispose()
    # Rewritten, the values leave no copy behind in the file's free pages either.
    assert [p for p in PROBES if p.encode() in await stored_bytes(database_url)] == []
    # And encryption cannot be switched off again for this database.
    with pytest.raises(DataKeyError):
        await create_app(bot_settings(standin, database_url, encrypt_data=False))


# On SQLite the race cannot happen: BEGIN IMMEDIATE makes the second start wait for the first.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_processes_starting_at_once_on_a_new_database_agree_on_its_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, TEST_KEYRING)
    sessions = create_sessionmaker(engine)
    write = repo.set_state
    raced: list[str] = []

    async def write_just_after_another(db: AsyncSession, key: str, value: str) -> None:
        if key != data_key.MARKER_KEY or raced:
            await write(db, key, value)
            return
        raced.append(key)
        # Both found no marker; the other process, starting at the same moment, writes
        # its own first, then this one inserts as set_state does when it finds no row.
        async with sessions() as other:
            await write(other, key, TEST_KEYRING.seal(data_key.MARKER, key))
            await other.commit()
        await db.execute(insert(BotState), {"key": key, "value": value})

    monkeypatch.setattr(repo, "set_state", write_just_after_another)
    try:
        # This one finds the marker taken, and checks its key against it instead of failing.
        await data_key.verify(sessions, TEST_KEYRING)
        assert raced
        with pytest.raises(DataKeyError):
            await data_key.verify(sessions, Keyring.parse(new_key()))
    finally:
        await engine.dispose()

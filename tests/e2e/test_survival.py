"""The bot's processes outlive a kill (SIGKILL) with scheduled messages in hand, and a
database that goes away for a while: each message goes once, each update is answered once,
and no process ends."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from glob import glob
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import plan_schedule
from bot.config import ROOT as BOT_ROOT
from bot.domain.dialogs import load_dialogs
from bot.playground.botapi import BotAPIStandin, SimUser
from bot.services.broadcasts import BroadcastService
from bot.services.clock import SystemClock
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.schedule import DIGEST, PROGRAMME_SUMMARY, Scheduler
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import InboxUpdate, Outgoing, Person
from bot.telegram.polling import POLLER_KEY, PollerLease
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import seed_cohort
from tests.e2e.conftest import MovableClock, Running, start_bot
from tests.e2e.people import Person as Chat
from tests.e2e.processes import START_SECONDS, BotProcess, Processes, free_port
from tests.e2e.test_operations import eventually
from tests.e2e.test_restart import outbox_statuses, queue_for
from tests.forkserver import ForkServer

COORDINATOR = 42
MENTORS = [(61_000 + n, f"Mentor{n}", "en", "mentor") for n in range(3)]
MENTEES = [(62_000 + n, f"Mentee{n}", "en", "mentee") for n in range(3)]
BROADCAST = "Kick-off on Monday"


async def rows(database_url: str) -> list[Outgoing]:
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        found = list((await db.execute(select(Outgoing).order_by(Outgoing.id))).scalars())
    await engine.dispose()
    return found


async def programme_with_everything_due(database_url: str) -> None:
    """A cohort of three pairs whose mentors' digests and coordinator's summary are due
    now (the schedule's own rows, moved to now), and a broadcast to everyone in it; nobody
    has quiet hours."""
    now = datetime.now(UTC)
    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    pairs = [(mentee[0], mentor[0], now) for mentee, mentor in zip(MENTEES, MENTORS, strict=True)]
    await seed_cohort(sessions, now, COORDINATOR, [*MENTORS, *MENTEES], pairs=pairs)
    clock = SystemClock()
    await plan_schedule(
        sessions, Scheduler(clock, FollowUpService(clock, "Europe/Riga", "en"), "en", 3)
    )
    cohorts = CohortService(DialogService(load_dialogs(BOT_ROOT / "dialogs"), clock), clock)
    broadcasts = BroadcastService(cohorts, clock, "en")
    async with sessions() as db:
        await db.execute(update(Person).values(quiet_from=0, quiet_to=0))
        await db.execute(
            update(Outgoing)
            .where(Outgoing.kind.in_((DIGEST, PROGRAMME_SUMMARY)))
            .values(due_at=now - timedelta(minutes=1))
        )
        coordinator = await db.get(Person, COORDINATOR)
        assert coordinator is not None
        draft = await broadcasts.start(db, coordinator)
        draft.audience = {"kind": "everyone"}
        draft.content = {"all": {"method": "sendMessage", "text": BROADCAST}}
        assert await broadcasts.confirm(db, coordinator, draft, None) == len(MENTORS + MENTEES)
        await db.commit()
    await engine.dispose()


def texts(standin: BotAPIStandin, user: SimUser, contains: str) -> int:
    return sum(contains in (m.text or "") for m in standin.messages(user))


@pytest.mark.postgres  # Claims and their leases.
async def test_killed_holding_digests_a_summary_and_a_broadcast_each_goes_once(
    standin: BotAPIStandin, database_url: str, processes: Processes
) -> None:
    await programme_with_everything_due(database_url)
    now = datetime.now(UTC)
    due = {row.id: row.chat_id for row in await rows(database_url) if row.due_at <= now}
    assert len(due) == len(MENTORS) + 1 + len(MENTORS + MENTEES)
    standin.hold("sendMessage")
    settings = {"COORDINATOR_IDS": str(COORDINATOR), "BROADCAST_STATUS_SECONDS": "0.5"}
    bot = await processes.run(**settings)

    async def all_in_hand() -> bool:
        """Every due row claimed, and a request on its way to each chat (one at a time to
        a chat: a mentor's digest and broadcast go one after the other)."""
        claimed = {row.id for row in await rows(database_url) if row.status == "sending"}
        return claimed >= set(due) and len(standin.held_requests) >= len(set(due.values()))

    for _ in range(int(START_SECONDS / 0.05)):
        if await all_in_hand():
            break
        await asyncio.sleep(0.05)
    assert await all_in_hand(), "the digests, the summary and the broadcast are not in hand"
    # Composed when claimed: they go as they were composed, not composed again.
    composed = [row for row in await rows(database_url) if row.kind in (DIGEST, PROGRAMME_SUMMARY)]
    assert all("parts" in row.payload for row in composed if row.id in due)
    await bot.kill()
    standin.release()
    mentors = [standin.user(m[0], m[1]) for m in MENTORS]
    everyone = [standin.user(m[0], m[1]) for m in MENTORS + MENTEES]
    coordinator = standin.user(COORDINATOR, "Dace")
    assert not any(standin.messages(user) for user in [*everyone, coordinator])

    bot = await processes.run(**settings)
    await standin.wait_for_message(coordinator, contains="is over", timeout=60)
    await standin.wait_for(
        lambda: (
            all(texts(standin, m, "Your mentees") for m in mentors)
            and texts(standin, coordinator, "The programme this week")
        ),
        START_SECONDS,
        "the digests and the summary",
    )
    assert [texts(standin, m, "Your mentees") for m in mentors] == [1] * len(mentors)
    assert texts(standin, coordinator, "The programme this week") == 1
    assert [texts(standin, user, BROADCAST) for user in everyone] == [1] * len(everyone)
    statuses = {row.id: row.status for row in await rows(database_url)}
    assert {statuses[i] for i in due} == {"sent"}
    assert bot.returncode is None


# -- a database that goes away ----------------------------------------------------------------


def postgres_bin() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not found:
        pytest.fail("PostgreSQL is not installed (scripts/postgres.sh installs it)")
    return Path(found[-1])


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of the test's own, which it may stop and start; the shared
    test server is never touched."""

    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://mentorbot@127.0.0.1:{self.port}/mentorbot"

    def _as_owner(self, *command: str) -> None:
        # As root the server runs as the postgres user, as scripts/postgres.sh does.
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def init(self) -> None:
        self._as_owner(
            str(postgres_bin() / "initdb"),
            *("-D", str(self.data), "-U", "mentorbot", "-A", "trust", "-E", "UTF8"),
            *("--no-locale", "--no-sync"),
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c max_connections=150"
        self._as_owner(
            str(postgres_bin() / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "start"),
            *("-o", options),
        )

    def stop(self) -> None:
        self._as_owner(
            str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"
        )


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    if os.getuid() == 0:
        # The postgres user may not enter root's temporary directories.
        home = Path(tempfile.mkdtemp(prefix="mentorbot-pg-", dir="/var/tmp"))
        shutil.chown(home, "postgres")
    else:
        home = tmp_path
    server = PrivatePostgres(home / "data", free_port())
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            server.stop()
        if home != tmp_path:
            shutil.rmtree(home, ignore_errors=True)


async def create_database(server: PrivatePostgres) -> str:
    admin = create_async_engine(
        server.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.exec_driver_sql('CREATE DATABASE "mentorbot"')
    await admin.dispose()
    return server.url


OUTAGE_SECONDS = 10.0


async def test_postgresql_stopped_for_ten_seconds_under_run_and_two_workers(
    standin: BotAPIStandin, forkserver: ForkServer, private_postgres: PrivatePostgres
) -> None:
    database_url = await create_database(private_postgres)
    early = [standin.user(63_000 + n, f"E{n}", "en") for n in range(5)]
    late = [standin.user(64_000 + n, f"L{n}", "en") for n in range(10)]
    writers = [standin.user(65_000 + n, f"W{n}", "en") for n in range(3)]
    await queue_for(database_url, early, "Before the outage")
    async with Processes(standin, database_url, forkserver) as processes:
        bot = await processes.run()
        workers = [processes.worker(listen=True) for _ in range(2)]
        for worker in workers:
            await processes.answering(worker)  # started: migrated, its loops running
        await standin.wait_for(
            lambda: all(standin.messages(user) for user in early), START_SECONDS, "the first"
        )
        # Due a moment after the database goes: queued before, sent after.
        await queue_for(
            database_url, late, "Queued before", due_at=datetime.now(UTC) + timedelta(seconds=2)
        )
        await asyncio.to_thread(private_postgres.stop)
        for user in writers:
            await standin.send_command(user, "/help")
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for a result
        assert not any(standin.messages(user) for user in writers + late)
        await asyncio.to_thread(private_postgres.start)

        await standin.wait_for(
            lambda: all(standin.messages(user) for user in writers + late),
            60,
            "the answers and the queued messages after the outage",
        )
        await asyncio.sleep(3)  # a repeat, if any, would come now: a lease is 2 s
        every: list[BotProcess] = [bot, *workers]
        assert [process.returncode for process in every] == [None] * 3
        assert [len(standin.messages(user)) for user in early + late + writers] == [1] * 18
        assert await outbox_statuses(database_url) == ["sent"] * 15
        for process in every:
            log = process.log()
            assert "Traceback" not in log, log
            failing = [line.split(": ", 1)[1] for line in log.splitlines() if "failing" in line]
            assert len(failing) == len(set(failing)), log  # each loop's outage: one line
        assert [await process.terminate() for process in every] == [0] * 3


# -- the polling loop, in the test's own process ---------------------------------------------


async def set_lease(running: Running, owner: str, seconds: float) -> None:
    """The polling lease given to ``owner`` for ``seconds`` from now (in the past: free)."""
    async with running.app.sessions() as db:
        expiry = PollerLease.stamp(datetime.now(UTC) + timedelta(seconds=seconds))
        await repo.set_state(db, POLLER_KEY, f"{expiry}|{owner}")
        await db.commit()


def polling() -> float | None:
    """What the process's metrics say: 1 while it polls."""
    return REGISTRY.get_sample_value("mentorbot_poller")


async def test_an_update_in_hand_when_polling_stops_and_starts_again_is_answered_once(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> None:
    running = await start_bot(standin, database_url, clock, poller_lease_seconds=0.6)
    try:
        user = standin.user(66_000, "Inga", "en")
        standin.hold("sendMessage")
        await standin.send_command(user, "/help")
        await standin.wait_for(lambda: standin.held_requests, 10, "the reply on its way")
        # Another process takes the lease for a moment, and this one polls again after:
        # the update it still has in hand is not read back as one left over.
        await set_lease(running, "another process", 1.0)
        await eventually(lambda: polling() == 0, 10, "this process to stand by")
        await eventually(lambda: polling() == 1, 10, "this process to poll again")
        standin.release()
        await Chat(standin, user, running).settle()
        assert len(standin.messages(user)) == 1
    finally:
        await running.stop()


async def test_an_update_this_version_cannot_read_is_one_line_without_what_the_person_wrote(
    standin: BotAPIStandin, database_url: str, clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored by an older version and found by the webhook's sweep: marked failed once, in
    a line that quotes nothing of it."""
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        unreadable = {"update_id": 7, "message": {"text": "my private words", "chat": {}}}
        await repo.store_updates(db, [(7, 67_000, unreadable)], clock.now() - timedelta(minutes=1))
        await db.commit()
    caplog.set_level(logging.INFO)
    running = await start_bot(
        standin,
        database_url,
        clock,
        webhook_url="https://bot.example.org/telegram",
        webhook_secret=SecretStr("s3cret"),
        webhook_listen=f"127.0.0.1:{free_port()}",
    )
    try:
        await standin.wait_for(
            lambda: "update 7 is stored in a form this version cannot read" in caplog.messages,
            10,
            "the update to be set aside",
        )
    finally:
        await running.stop()
    async with create_sessionmaker(engine)() as db:
        row = await db.get(InboxUpdate, 7)
    await engine.dispose()
    assert row is not None and (row.failure, row.payload) == ("unreadable", {})
    gc.collect()  # a task whose exception nobody took is logged when it is collected
    assert "my private words" not in caplog.text

"""A broadcast survives the bot being killed (SIGKILL) in the middle: after the restart it
goes on, nobody gets it twice and nobody is skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.config import ROOT as BOT_ROOT
from bot.domain.dialogs import load_dialogs
from bot.playground.botapi import BotAPIStandin
from bot.services.broadcasts import BroadcastService
from bot.services.clock import SystemClock
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Outgoing, Person
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import seed_cohort
from tests.e2e.processes import Processes

# Claims, leases and workers sharing a database: on both databases.
pytestmark = pytest.mark.postgres

COORDINATOR = 42
RECIPIENTS = 150


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin() as server:
        yield server


# The coordinator sees the status change every half second; a killed process's claims
# go again three seconds on.
SETTINGS = {
    "COORDINATOR_IDS": str(COORDINATOR),
    "OUTBOX_LEASE_SECONDS": "3",
    "BROADCAST_STATUS_SECONDS": "0.5",
}


async def sent_rows(database_url: str) -> int:
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        count = await db.scalar(
            select(func.count()).where(Outgoing.kind == "broadcast", Outgoing.status == "sent")
        )
    await engine.dispose()
    return int(count or 0)


async def test_killed_mid_broadcast_it_goes_on_exactly_once(
    standin: BotAPIStandin, database_url: str, processes: Processes
) -> None:
    now = datetime.now(UTC)
    engine = create_engine(database_url, TEST_KEYRING)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    members = [(30_000 + n, f"P{n}", "en", "mentee") for n in range(RECIPIENTS)]
    await seed_cohort(sessions, now, COORDINATOR, members)
    users = [standin.user(m[0], m[1]) for m in members]
    coordinator = standin.user(COORDINATOR, "Dace")
    clock = SystemClock()
    cohorts = CohortService(DialogService(load_dialogs(BOT_ROOT / "dialogs"), clock), clock)
    broadcasts = BroadcastService(cohorts, clock, "en")
    async with sessions() as db:
        person = await db.get(Person, COORDINATOR)
        assert person is not None
        draft = await broadcasts.start(db, person)
        draft.audience = {"kind": "everyone"}
        draft.content = {"all": {"method": "sendMessage", "text": "Kick-off on <b>Monday</b>"}}
        assert await broadcasts.confirm(db, person, draft, None) == RECIPIENTS
        await db.commit()
    await engine.dispose()

    def delivered() -> int:
        return sum(len(standin.messages(user)) for user in users)

    process = await processes.run(**SETTINGS)
    await standin.wait_for(lambda: delivered() >= 40, 30, "40 recipients reached")
    # The network stalls; what was answered is recorded, and the bot dies with
    # requests in flight (they never reach Telegram) and rows it had claimed.
    standin.hold("sendMessage")
    await standin.wait_for(lambda: standin.held_requests, 10, "a request in flight")
    for _ in range(500):
        if await sent_rows(database_url) == delivered():
            break
        await asyncio.sleep(0.01)
    before = delivered()
    assert before < RECIPIENTS
    await process.kill()
    standin.release()

    await processes.run(**SETTINGS)
    report = await standin.wait_for_message(coordinator, contains="is over", timeout=60)
    assert f"{RECIPIENTS} sent, 0 failed" in (report.text or "")
    assert all([m.text for m in standin.messages(user)] == ["Kick-off on Monday"] for user in users)
    assert await sent_rows(database_url) == RECIPIENTS
    assert not standin.calls(status=429)

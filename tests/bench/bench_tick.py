"""One tick of the outbox with many items pending: ``python -m tests.bench.bench_tick``.

Options: ``--backend sqlite|postgresql|both`` (default both; PostgreSQL needs
MENTORBOT_TEST_POSTGRES_URL, which ``. .pg/env`` sets after ``make test``), ``--runs N``.

100,000 pending items over 10,000 people, 1,000 of them due: a tick claims the due ones,
passes them through the gate (quiet hours, pause, stale, daily budget, merging) and sends
them through the real sender to the Bot API stand-in with its limits off. The baseline, in
the same run, is the same tick with only the 1,000 due items in the outbox: the ratio shows
what the 99,000 waiting ones cost. Peak memory is traced (tracemalloc) over one more tick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import plan_schedule
from bot.domain.texts import N_, Msg, msg_to_json
from bot.i18n import create_i18n
from bot.playground.botapi import BotAPIStandin
from bot.services.followup import FollowUpService
from bot.services.schedule import Scheduler
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Cohort, Membership, Outgoing, Person
from bot.storage.sealing import Keyring
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from tests.conftest import (
    POSTGRES_ENV,
    TEST_KEYRING,
    create_postgres_database,
    drop_postgres_database,
)
from tests.e2e.conftest import ROOT, MovableClock

PEOPLE = 10_000
PENDING = 100_000
DUE = 1_000
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TARGET_SECONDS = 2.0
PENDING_LABEL = "100,000 pending"
# The same, with the messages' words stored in the clear: what sealing them costs.
CLEAR_LABEL = "100,000 pending, no encryption"


def outgoing(person_id: int, due_at: datetime, n: int) -> dict[str, Any]:
    return {
        "kind": "commitment_checkin",
        "person_id": person_id,
        "chat_id": person_id,
        "method": "sendMessage",
        "payload": {
            "msg": msg_to_json(Msg(N_("⏰ Tomorrow: {text}"), {"text": f"action {n}"})),
            "locale": "en",
        },
        "context": {},
        "status": "pending",
        "attempts": 0,
        "due_at": due_at,
        "created_at": NOW - timedelta(days=1),
    }


async def seed(engine: AsyncEngine, waiting: int, round_: int) -> None:
    """People, the waiting items (due over the next 30 days) and 1,000 due now."""
    sessions = create_sessionmaker(engine)
    async with sessions() as db:
        if round_ == 0:
            await db.execute(
                insert(Person),
                [
                    {
                        "id": 10_000_000 + n,
                        "first_name": f"P{n}",
                        "created_at": NOW,
                        "last_seen_at": NOW,
                        "timezone": "Europe/Riga",
                        "quiet_from": 21,
                        "quiet_to": 8,
                    }
                    for n in range(PEOPLE)
                ],
            )
            for start in range(0, waiting, 10_000):
                await db.execute(
                    insert(Outgoing),
                    [
                        outgoing(
                            10_000_000 + n % PEOPLE,
                            NOW + timedelta(minutes=10 + n % (30 * 24 * 60)),
                            n,
                        )
                        for n in range(start, min(start + 10_000, waiting))
                    ],
                )
        # Each round's due items go to other people, so no one's daily budget runs out.
        first = round_ * DUE
        await db.execute(
            insert(Outgoing),
            [
                outgoing(10_000_000 + (first + n) % PEOPLE, NOW - timedelta(seconds=n % 60), n)
                for n in range(DUE)
            ],
        )
        await db.commit()


async def measure(
    url: str, waiting: int, runs: int, standin: BotAPIStandin, keyring: Keyring | None
) -> dict[str, float]:
    for n in range(PEOPLE):
        standin.user(10_000_000 + n, f"P{n}", "en")
    engine = create_engine(url, keyring)
    await upgrade(engine)
    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    clock = MovableClock(NOW)
    bot = Bot(
        standin.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url)),
    )
    scheduler = Scheduler(clock, FollowUpService(clock, "Europe/Riga", "en"), "en", budget=3)
    sender = OutboxSender(
        bot,
        sessions,
        clock,
        rate=1_000_000.0,
        batch=DUE,
        lease=timedelta(hours=1),
        renderer=Renderer(create_i18n(str(ROOT / "locales"), "en")),
        gate=scheduler.gate,
    )
    ticks, peaks = [], []
    try:
        # The last round is traced for memory (tracing slows Python down: not timed).
        for round_ in range(runs + 1):
            await seed(engine, waiting if round_ == 0 else 0, round_)
            sent_before = len(standin.calls("sendMessage", status=200))
            traced = round_ == runs
            if traced:
                tracemalloc.start()
            start = time.perf_counter()
            claimed = await sender.tick()
            if traced:
                peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()
            else:
                ticks.append(time.perf_counter() - start)
            sent = len(standin.calls("sendMessage", status=200)) - sent_before
            assert claimed == DUE and sent == DUE, (claimed, sent)
            clock.moment += timedelta(seconds=1)
    finally:
        await bot.session.close()
        await engine.dispose()
    return {"tick": statistics.median(ticks), "peak": statistics.median(peaks)}


async def sweep(url: str) -> tuple[float, float]:
    """The minute's sweep over 10,000 active mentees: the first (every series to start)
    and a steady one (nothing to start)."""
    engine = create_engine(url, TEST_KEYRING)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    clock = MovableClock(NOW)
    scheduler = Scheduler(clock, FollowUpService(clock, "Europe/Riga", "en"), "en", budget=3)
    async with sessions() as db:
        cohort = Cohort(name="bench", mode="coordinator", settings={}, created_by=1, created_at=NOW)
        db.add(cohort)
        await db.flush()
        await db.execute(
            insert(Person),
            [
                {"id": 20_000_000 + n, "first_name": "M", "created_at": NOW, "last_seen_at": NOW}
                for n in range(PEOPLE)
            ],
        )
        await db.execute(
            insert(Membership),
            [
                {
                    "cohort_id": cohort.id,
                    "person_id": 20_000_000 + n,
                    "role": "mentee",
                    "status": "active",
                    "joined_at": NOW,
                }
                for n in range(PEOPLE)
            ],
        )
        await db.commit()
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        await plan_schedule(sessions, scheduler)
        timings.append(time.perf_counter() - start)
    await engine.dispose()
    return timings[0], timings[1]


async def postgres_plan(url: str) -> str:
    engine = create_engine(url, TEST_KEYRING)
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE outbox"))
        # The claim's own statement, as the sender runs it.
        compiled = repo.claimable(NOW, DUE, timedelta(hours=1)).compile(dialect=connection.dialect)
        values = compiled.construct_params()
        rows = await connection.exec_driver_sql(
            f"EXPLAIN {compiled.string}",
            tuple(values[name] for name in compiled.positiontup or ()),
        )
        plan = "\n".join(row[0] for row in rows)
    await engine.dispose()
    return plan


async def run(backend: str, runs: int) -> None:
    print(f"{backend}: {PENDING:,} pending over {PEOPLE:,} people, {DUE:,} due per tick")
    results = {}
    configurations = (
        ("baseline: only the due items", 0, TEST_KEYRING),
        (PENDING_LABEL, PENDING, TEST_KEYRING),
        (CLEAR_LABEL, PENDING, None),
    )
    for label, waiting, keyring in configurations:
        async with BotAPIStandin(global_limit=None, chat_limit=None) as standin:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                    results[label] = await measure(url, waiting, runs, standin, keyring)
            else:
                url = await create_postgres_database()
                try:
                    results[label] = await measure(url, waiting, runs, standin, keyring)
                    if label == PENDING_LABEL:
                        print("PostgreSQL plan of the claim (after ANALYZE):")
                        print(await postgres_plan(url))
                finally:
                    await drop_postgres_database(url)
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            first, steady = await sweep(f"sqlite+aiosqlite:///{Path(folder) / 'sweep.db'}")
    else:
        url = await create_postgres_database()
        try:
            first, steady = await sweep(url)
        finally:
            await drop_postgres_database(url)
    print(
        f"sweep over {PEOPLE:,} active mentees: {first:.2f} s starting every series, "
        f"{steady:.3f} s when all have theirs"
    )
    base = results["baseline: only the due items"]
    print("| | median tick s | ratio | peak traced MiB |")
    print("| --- | --- | --- | --- |")
    for label, figures in results.items():
        print(
            f"| {label} | {figures['tick']:.3f} | {figures['tick'] / base['tick']:.2f} "
            f"| {figures['peak']:.1f} |"
        )
    cost = 1 - results[CLEAR_LABEL]["tick"] / results[PENDING_LABEL]["tick"]
    print(f"encryption at rest costs {cost:.1%} of the tick's throughput (at most 10% allowed)")
    print(f"target: a tick of {DUE:,} due items <= {TARGET_SECONDS} s\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not os.environ.get(POSTGRES_ENV):
        raise SystemExit(f"{POSTGRES_ENV} is not set: run '. .pg/env' after 'make test'")
    for backend in backends:
        asyncio.run(run(backend, args.runs))


if __name__ == "__main__":
    main()

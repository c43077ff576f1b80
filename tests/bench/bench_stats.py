"""Time a cohort's statistics on a large cohort: ``python -m tests.bench.bench_stats``.

Options: ``--mentees N`` (default 2000) and ``--backend sqlite|postgresql|both`` (default
both; PostgreSQL needs MENTORBOT_TEST_POSTGRES_URL, see ``.pg/env``).

Each mentee has a mentor, 12 finished check-ins (mood, talked, note), two Wheels of Life,
one GROW session, 5 commitments and 12 regular check-in invitations; each pair 20 relayed
messages; a second cohort of the same size is beside it. The baseline, in the same run,
only loads the rows a figure-by-figure Python computation would need (the members' finished
sessions with their answers, the pairs' relayed messages, the commitments) without
computing anything. Prints the median of 5 runs of each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.consent import ConsentKind
from bot.services.stats import StatsService
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import (
    Answer,
    Cohort,
    Commitment,
    Consent,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Person,
)
from tests.conftest import (
    POSTGRES_ENV,
    TEST_KEYRING,
    create_postgres_database,
    drop_postgres_database,
)
from tests.unit.test_stats import stats_service

T0 = datetime(2026, 9, 7, 9, tzinfo=UTC)
RUNS = 5
CHECKINS = 12
RELAYS = 20
AREAS = ("family", "partner", "career", "finances", "health", "home", "fun", "growth")


async def seed(db: AsyncSession, mentees: int) -> None:
    async def add(model: Any, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 5000):
            await db.execute(insert(model), rows[start : start + 5000])

    people, members, pairs, sessions, answers = [], [], [], [], []
    outbox, commitments, consents = [], [], []
    session_id = 0
    for cohort_id in (1, 2):
        await db.execute(
            insert(Cohort),
            [
                {
                    "id": cohort_id,
                    "name": f"Cohort {cohort_id}",
                    "mode": "coordinator",
                    "settings": {},
                    "created_by": 1,
                    "created_at": T0,
                }
            ],
        )
        for n in range(mentees):
            mentee, mentor = cohort_id * 1_000_000 + n, cohort_id * 1_000_000 + 500_000 + n
            pair_id = cohort_id * 1_000_000 + n
            for pid, role in ((mentee, "mentee"), (mentor, "mentor")):
                people.append({"id": pid, "first_name": "P", "created_at": T0, "last_seen_at": T0})
                members.append(
                    {
                        "cohort_id": cohort_id,
                        "person_id": pid,
                        "role": role,
                        "status": "active",
                        "joined_at": T0,
                    }
                )
            pairs.append(
                {
                    "id": pair_id,
                    "cohort_id": cohort_id,
                    "mentee_id": mentee,
                    "mentor_id": mentor,
                    "status": "active",
                    "score": 80,
                    "reasons": [],
                    "created_at": T0,
                    "decided_at": T0,
                    "feedback": {},
                    "contact_consent": [],
                }
            )

            def session(
                dialog: str, finished: datetime, values: dict[str, Any], mentee: int = mentee
            ) -> int:
                nonlocal session_id
                session_id += 1
                sessions.append(
                    {
                        "id": session_id,
                        "person_id": mentee,
                        "dialog_id": dialog,
                        "status": "finished",
                        "state": {},
                        "started_at": finished,
                        "updated_at": finished,
                        "finished_at": finished,
                        "version": 1,
                    }
                )
                answers.extend(
                    {"session_id": session_id, "key": k, "value": v, "answered_at": finished}
                    for k, v in values.items()
                )
                return session_id

            # Every mentee consents: the figures count everyone's moods and Wheels.
            consents.extend(
                {"person_id": mentee, "kind": kind, "given": True, "at": T0} for kind in ConsentKind
            )
            grow = session("grow", T0, {"goal": "a goal"})
            for week in range(CHECKINS):
                at = T0 + timedelta(days=7 * week, hours=n % 48)
                session("checkin", at, {"mood": 1 + (n + week) % 5, "talked": "yes", "note": "x"})
                outbox.append(
                    {
                        "kind": "checkin_invite",
                        "person_id": mentee,
                        "chat_id": mentee,
                        "method": "sendMessage",
                        "payload": {},
                        "context": {},
                        "status": "sent",
                        "attempts": 1,
                        "due_at": at,
                        "sent_at": at - timedelta(hours=1),
                        "stale_at": at + timedelta(days=7),
                        "series": f"checkin_invite:{mentee}:{week}",
                        "created_at": at,
                    }
                )
            for month in range(2):
                session(
                    "wheel",
                    T0 + timedelta(days=30 * month),
                    {area: 1 + (n + month + i) % 10 for i, area in enumerate(AREAS)},
                )
            for k in range(RELAYS):
                outbox.append(
                    {
                        "kind": "relay",
                        "person_id": mentor,
                        "chat_id": mentor,
                        "method": "sendMessage",
                        "payload": {"text": "hello"},
                        "context": {"pair": pair_id, "from": mentee},
                        "status": "sent",
                        "attempts": 1,
                        "due_at": T0,
                        "created_at": T0 + timedelta(hours=1 + k + n % 24),
                    }
                )
            commitments.extend(
                {
                    "person_id": mentee,
                    "session_id": grow,
                    "text": "an action",
                    "due_on": date(2026, 10, 1) + timedelta(days=20 * c),
                    "status": ("open", "done", "dropped")[(n + c) % 3],
                    "created_at": T0,
                }
                for c in range(5)
            )
    await add(Person, people)
    await add(Membership, members)
    await add(Pair, pairs)
    await add(DialogSession, sessions)
    await add(Answer, answers)
    await add(Outgoing, outbox)
    await add(Commitment, commitments)
    await add(Consent, consents)
    await db.commit()


async def load_everything(db: AsyncSession, cohort_id: int) -> int:
    members = select(Membership.person_id).where(Membership.cohort_id == cohort_id)
    pairs = select(Pair.id).where(Pair.cohort_id == cohort_id)
    rows = 0
    for query in (
        select(DialogSession, Answer)
        .join(Answer, Answer.session_id == DialogSession.id)
        .where(DialogSession.person_id.in_(members)),
        select(Outgoing).where(
            Outgoing.kind == "relay", Outgoing.context["pair"].as_integer().in_(pairs)
        ),
        select(Outgoing).where(Outgoing.person_id.in_(members), Outgoing.kind == "checkin"),
        select(Commitment).where(Commitment.person_id.in_(members)),
    ):
        rows += len((await db.execute(query)).all())
    await db.commit()
    return rows


async def run(url: str, mentees: int) -> tuple[float, float, int]:
    engine = create_engine(url, TEST_KEYRING)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as db:
        await seed(db, mentees)
    service: StatsService = stats_service()
    ours, naive = [], []
    loaded = 0
    for _ in range(RUNS):
        async with sessions() as db:
            cohort = await db.get(Cohort, 1)
            assert cohort is not None
            start = time.perf_counter()
            stats = await service.cohort_stats(db, cohort)
            ours.append(time.perf_counter() - start)
            assert stats.mentees == mentees and stats.checkins_asked == mentees * CHECKINS
        async with sessions() as db:
            start = time.perf_counter()
            loaded = await load_everything(db, 1)
            naive.append(time.perf_counter() - start)
    await engine.dispose()
    return statistics.median(ours), statistics.median(naive), loaded


async def main(mentees: int, backends: list[str]) -> None:
    print(f"{mentees} mentees with mentors in each of two cohorts; median of {RUNS} runs")
    print("| backend | statistics ms | loading the rows ms | rows loaded |")
    print("| --- | --- | --- | --- |")
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                ours, naive, rows = await run(url, mentees)
        else:
            url = await create_postgres_database()
            try:
                ours, naive, rows = await run(url, mentees)
            finally:
                await drop_postgres_database(url)
        print(f"| {backend} | {ours * 1000:.0f} | {naive * 1000:.0f} | {rows} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_stats")
    parser.add_argument("--mentees", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    chosen = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in chosen and not os.environ.get(POSTGRES_ENV):
        sys.exit(f"{POSTGRES_ENV} is not set: run '. .pg/env' first")
    asyncio.run(main(args.mentees, chosen))

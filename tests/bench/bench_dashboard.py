"""Time the dashboard's pages on a large cohort: ``python -m tests.bench.bench_dashboard``.

A cohort of 500 people on SQLite (300 mentees, 200 mentors taking two each) with 250
active pairs, 50 mentees left for a proposal of 50 pairs (so the board has a proposal and
the unmatched to show), and 3 relayed messages per pair. Each page is fetched over HTTP
from the dashboard as the bot serves it (aiohttp, the coordinator's session cookie), 15
times; the baseline, in the same run, is the sign-in page (a template and no query).
Prints the median of each and its ratio to the baseline; exits 1 if a page's median is
over 300 ms. Options: ``--runs N`` (default 15).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import insert

from bot.app import App, create_app
from bot.config import Settings
from bot.dashboard.auth import COOKIE
from bot.dashboard.server import Dashboard
from bot.storage.models import (
    Cohort,
    CohortCoordinator,
    Membership,
    Outgoing,
    Pair,
    Person,
    Profile,
)
from tests.conftest import TEST_DATA_KEY
from tests.e2e.test_coordinating_a_cohort import mentee_profile, mentor_profile

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
MENTEES, MENTORS, PAIRS = 300, 200, 250
COORDINATOR = 1
LIMIT_MS = 300.0


class FixedClock:
    def now(self) -> datetime:
        return NOW


PAGES = (
    ("cohorts", "/"),
    ("cohort and links", "/cohorts/1"),
    ("people", "/cohorts/1/people"),
    ("people, searched", "/cohorts/1/people?q=p1&role=mentee&status=active"),
    ("matching board", "/cohorts/1/board"),
    ("board, what if", "/cohorts/1/board?hours=12"),
    ("pairs", "/cohorts/1/pairs"),
    ("statistics", "/cohorts/1/stats"),
    ("export: pairs", "/cohorts/1/export/pairs"),
    ("broadcast composer", "/cohorts/1/broadcast"),
)


async def seed(app: App, dashboard: Dashboard) -> str:
    """The cohort, its proposal and the coordinator's session; returns the session's secret."""
    mentees = range(1000, 1000 + MENTEES)
    mentors = range(5000, 5000 + MENTORS)
    async with app.sessions() as db:
        await db.execute(
            insert(Person),
            [
                {"id": pid, "first_name": f"P{pid}", "created_at": NOW, "last_seen_at": NOW}
                for pid in (COORDINATOR, *mentees, *mentors)
            ],
        )
        await db.execute(
            insert(Cohort),
            [
                {
                    "id": 1,
                    "name": "Riga 2027",
                    "mode": "coordinator",
                    "settings": {},
                    "created_by": COORDINATOR,
                    "created_at": NOW,
                }
            ],
        )
        await db.execute(insert(CohortCoordinator), [{"cohort_id": 1, "person_id": COORDINATOR}])
        await db.execute(
            insert(Membership),
            [
                {
                    "cohort_id": 1,
                    "person_id": pid,
                    "role": role,
                    "status": "active",
                    "joined_at": NOW,
                }
                for ids, role in ((mentees, "mentee"), (mentors, "mentor"))
                for pid in ids
            ],
        )
        db.add_all(
            Profile(person_id=pid, role="mentee", data=mentee_profile(), updated_at=NOW)
            for pid in mentees
        )
        db.add_all(
            Profile(person_id=pid, role="mentor", data=mentor_profile(2), updated_at=NOW)
            for pid in mentors
        )
        await db.execute(
            insert(Pair),
            [
                {
                    "id": n + 1,
                    "cohort_id": 1,
                    "mentee_id": mentees[n],
                    "mentor_id": mentors[n // 2],
                    "status": "active",
                    "score": 70,
                    "reasons": [],
                    "created_at": NOW - timedelta(days=30),
                    "decided_at": NOW - timedelta(days=30),
                    "last_contact_at": NOW - timedelta(days=n % 40),
                }
                for n in range(PAIRS)
            ],
        )
        await db.execute(
            insert(Outgoing),
            [
                {
                    "kind": "relay",
                    "chat_id": mentors[n // 2] if k % 2 else mentees[n],
                    "person_id": mentors[n // 2] if k % 2 else mentees[n],
                    "method": "copyMessage",
                    "payload": {},
                    "context": {"pair": n + 1, "from": mentees[n] if k % 2 else mentors[n // 2]},
                    "status": "sent",
                    "attempts": 1,
                    "due_at": NOW - timedelta(days=20 - k),
                    "created_at": NOW - timedelta(days=20 - k),
                    "sent_at": NOW - timedelta(days=20 - k),
                }
                for n in range(PAIRS)
                for k in range(3)
            ],
        )
        cohort = await db.get(Cohort, 1)
        assert cohort is not None
        proposal = await app.programme.matching.propose(db, cohort)
        assert len(proposal.pairs) == MENTEES - PAIRS, len(proposal.pairs)
        secret = dashboard.auth.open_session(db, COORDINATOR)
        await db.commit()
    return secret


async def median_ms(
    client: TestClient, path: str, runs: int, cookie: str | None, status: int = 200
) -> float:
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        await answer.read()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status == status, (path, answer.status)
    return statistics.median(times)


async def main(runs: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            bot_token=SecretStr("123456:" + "A" * 35),
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'mentorbot.db'}",
            data_dir=Path(folder),
            data_key=SecretStr(TEST_DATA_KEY),
            dashboard_url="http://127.0.0.1",
            coordinator_ids=[],
            _env_file=None,  # type: ignore[call-arg]
        )
        app = await create_app(settings, FixedClock())
        assert app.dashboard is not None
        secret = await seed(app, app.dashboard)
        server = web.Application()
        app.dashboard.routes(server)
        async with TestClient(TestServer(server)) as client:
            for _name, path in PAGES:  # warm up: templates compiled, caches filled
                await median_ms(client, path, 1, secret)
            baseline = await median_ms(client, "/", runs, None, status=401)
            results = [(name, await median_ms(client, path, runs, secret)) for name, path in PAGES]
        await app.close()
    print(f"{MENTEES + MENTORS} people, {PAIRS} pairs, SQLite; median of {runs} requests")
    print(f"{'page':<22} {'median ms':>10} {'x baseline':>11}")
    print(f"{'baseline: sign-in page':<22} {baseline:>10.1f} {1:>11.1f}")
    for name, ms in results:
        print(f"{name:<22} {ms:>10.1f} {ms / baseline:>11.1f}")
    slow = [name for name, ms in results if ms > LIMIT_MS]
    if slow:
        print(f"over {LIMIT_MS:.0f} ms: {', '.join(slow)}")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    sys.exit(asyncio.run(main(parser.parse_args().runs)))

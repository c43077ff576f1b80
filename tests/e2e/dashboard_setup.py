"""What the dashboard's tests share: the bot with its dashboard on a port of its own, a
coordinator signed in by the /dashboard link, Telegram's initData signed as Telegram signs
it, and a cohort of people who finished their intake."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from datetime import datetime
from urllib.parse import urlencode

import aiohttp

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Cohort, CohortCoordinator
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import MovableClock, Running, start_bot
from tests.e2e.people import Person
from tests.e2e.processes import free_port
from tests.e2e.test_coordinating_a_cohort import seed_members

LINK = re.compile(r"http://\S+/signin\?token=\S+")


async def start_with_dashboard(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> tuple[Running, str]:
    """The bot in long polling, its dashboard served at DASHBOARD_LISTEN; and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    running = await start_bot(
        standin,
        database_url,
        clock,
        dashboard_url=url,
        dashboard_listen=f"127.0.0.1:{port}",
    )
    await listening(url)
    return running, url


async def listening(url: str, within: float = 10.0) -> None:
    """Until the dashboard answers (the bot opens its port as it starts)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as client:
        while True:
            try:
                async with client.get(f"{url}/static/dashboard.css") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.01)


async def sign_in_link(coordinator: Person) -> str:
    """The one-time link /dashboard gives."""
    (reply,) = [m for m in await coordinator.write("/dashboard") if "signin" in (m.text or "")]
    found = LINK.search(reply.text or "")
    assert found is not None, reply.text
    return found.group(0)


def init_data(token: str, user_id: int, signed_at: datetime, name: str = "Dace") -> str:
    """A Mini App's initData as Telegram makes it: its fields, and their HMAC-SHA256 with
    a key that is the HMAC-SHA256 of the bot's token under "WebAppData"."""
    fields = {
        "auth_date": str(int(signed_at.timestamp())),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": name}, separators=(",", ":")),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def seed_cohort(
    bot: Running,
    coordinator_id: int,
    name: str,
    mentees: range,
    mentors: range,
    capacity: int = 1,
) -> int:
    """A cohort the coordinator runs, with people who finished their intake."""
    now = bot.clock.now()
    async with bot.app.sessions() as db:
        if await db.get(PersonRow, coordinator_id) is None:
            db.add(
                PersonRow(
                    id=coordinator_id, first_name="Coordinator", created_at=now, last_seen_at=now
                )
            )
        cohort = Cohort(
            name=name, mode="coordinator", settings={}, created_by=coordinator_id, created_at=now
        )
        db.add(cohort)
        await db.flush()
        db.add(CohortCoordinator(cohort_id=cohort.id, person_id=coordinator_id))
        await db.commit()
        cohort_id = cohort.id
    await seed_members(bot, cohort_id, mentees, mentors, capacity)
    return cohort_id

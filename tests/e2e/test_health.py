"""/healthz, /readyz and /metrics, as a monitoring system reads them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from bot.playground.botapi import BotAPIStandin
from bot.storage import repositories as repo
from bot.storage.database import create_engine, create_sessionmaker
from bot.telegram.health import Health, serving
from tests.e2e.conftest import MovableClock, Running, start_bot
from tests.e2e.processes import Processes, free_port


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def probe(http: aiohttp.ClientSession, port: int, path: str) -> tuple[int, str]:
    async with http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)"
    found = re.search("^" + pattern + "$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
async def watched(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[tuple[Running, int]]:
    port = free_port()
    running = await start_bot(standin, database_url, clock, health_listen=f"127.0.0.1:{port}")
    yield running, port
    await running.stop()


@pytest.mark.postgres  # The probes' queries.
async def test_health_readiness_and_metrics_of_a_polling_bot(
    standin: BotAPIStandin, watched: tuple[Running, int], http: aiohttp.ClientSession
) -> None:
    bot, port = watched
    user = standin.user(7_357_913_579, "Rita", "en")
    await standin.wait_for(lambda: standin.calls("getUpdates"), 10, "the bot to poll")
    assert await probe(http, port, "/healthz") == (200, json.dumps({"status": "ok"}))
    # Ready once Telegram has answered the first getMe, which a task of its own asks.
    deadline = time.monotonic() + 10
    while (answer := await probe(http, port, "/readyz"))[0] != 200:
        assert time.monotonic() < deadline, answer
        await asyncio.sleep(0.05)
    assert json.loads(answer[1])["checks"] == {
        "database": "ok",
        "telegram": "ok",
        "inbox": "ok",
        "outbox": "ok",
    }

    await standin.send_command(user, "/grow")
    await standin.wait_for_message(user, contains="What is your goal?")
    async with bot.app.sessions() as db:
        repo.enqueue(
            db,
            kind="digest",
            chat_id=user.id,
            method="sendMessage",
            payload={"text": "Later"},
            now=bot.clock.now(),
            due_at=bot.clock.now() + timedelta(days=1),
        )
        await db.commit()
    await standin.wait_for(lambda: not bot.handling(), 10, "the update to be handled")
    status, metrics = await probe(http, port, "/metrics")
    assert status == 200
    assert sample(metrics, "mentorbot_updates_handled_total", type="message") >= 1
    assert sample(metrics, "mentorbot_update_handling_seconds_count") >= 1
    assert (
        sample(metrics, "mentorbot_telegram_requests_total", method="SendMessage", outcome="sent")
        >= 2
    )
    assert sample(metrics, "mentorbot_outbox_backlog", kind="digest", lane="scheduled") == 1
    assert sample(metrics, "mentorbot_poller") == 1
    # Nothing of the person: neither their id nor what they wrote.
    assert str(user.id) not in metrics
    assert "/grow" not in metrics

    # An update stored an hour ago and never handled: the inbox is stuck.
    async with bot.app.sessions() as db:
        await repo.store_updates(
            db, [(99, None, {"update_id": 99})], bot.clock.now() - timedelta(hours=1)
        )
        await db.commit()
    status, body = await probe(http, port, "/readyz")
    assert status == 503
    checks = json.loads(body)["checks"]
    assert checks["inbox"].startswith("stuck")
    assert checks["database"] == checks["outbox"] == "ok"


async def test_readiness_fails_when_the_database_cannot_be_reached(
    standin: BotAPIStandin, watched: tuple[Running, int], http: aiohttp.ClientSession
) -> None:
    bot, _ = watched
    closed = free_port()  # nothing listens there
    engine = create_engine(f"postgresql+asyncpg://mentorbot@127.0.0.1:{closed}/mentorbot")
    health = Health(bot.app.bot, create_sessionmaker(engine), bot.clock, 300)
    health.telegram_at = health.monotonic()
    app = web.Application()
    health.routes(app)
    port = free_port()
    try:
        async with serving(app, "127.0.0.1", port):
            assert (await probe(http, port, "/healthz"))[0] == 200
            status, body = await probe(http, port, "/readyz")
    finally:
        await engine.dispose()
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "not ready"
    assert answer["checks"]["database"].startswith("unreachable")
    assert answer["checks"]["telegram"] == "ok"


async def test_a_worker_answers_its_health_checks(processes: Processes) -> None:
    worker = processes.worker(listen=True)
    await processes.answering(worker)
    status, metrics = await processes.get(worker, "/metrics")
    assert status == 200 and "mentorbot_" in metrics
    assert await worker.terminate() == 0

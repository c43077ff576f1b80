"""Receiving updates with several processes: one poller elected among `run` processes, a
conflict from Telegram survived, webhook instances sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import Answer, DialogSession, InboxUpdate
from tests.conftest import TEST_DATA_KEY, TEST_KEYRING
from tests.e2e.conftest import ROOT
from tests.e2e.standin import BotAPIStandin, SimUser
from tests.forkserver import Forked, ForkServer

START_SECONDS = 30.0
SECRET = "s3cret-for-tests"
PUBLIC_URL = "https://bot.example.org/telegram"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """`mentorbot run` processes of a test, each with its HTTP endpoints on a port of its
    own; their logs are shown with a failure."""

    def __init__(self, standin: BotAPIStandin, database_url: str, forks: ForkServer) -> None:
        self.standin = standin
        self.database_url = database_url
        self.forks = forks
        self.started: list[tuple[Forked, int]] = []
        self.http = aiohttp.ClientSession()

    def start(self, **settings: str) -> tuple[Forked, int]:
        port = free_port()
        env = {
            **os.environ,
            "BOT_TOKEN": self.standin.token,
            "DATA_KEY": TEST_DATA_KEY,
            "DATABASE_URL": self.database_url,
            "TELEGRAM_API_URL": self.standin.base_url,
            "POLLING_TIMEOUT": "1",
            "POLLER_LEASE_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            "FLOOD_BURST": "0",
            "HEALTH_LISTEN": f"127.0.0.1:{port}",
            **settings,
        }
        if "WEBHOOK_URL" in settings:
            env["WEBHOOK_LISTEN"] = f"127.0.0.1:{port}"
        process = self.forks.spawn(["run"], env, ROOT)
        self.started.append((process, port))
        return process, port

    async def get(self, port: int, path: str) -> tuple[int, str]:
        async with self.http.get(f"http://127.0.0.1:{port}{path}") as response:
            return response.status, await response.text()

    async def answering(self, port: int) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if (await self.get(port, "/healthz"))[0] == 200:
                    return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answers on port {port}")
            await asyncio.sleep(0.05)

    async def polls(self, port: int) -> bool:
        """What the process's own metrics say: whether it is the poller now."""
        _, body = await self.get(port, "/metrics")
        return "mentorbot_poller 1.0" in body

    async def stop(self) -> None:
        await self.http.close()
        for process, _ in self.started:
            process.send_signal(signal.SIGKILL)
            await process.wait()
            sys.stderr.write(process.log())


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandin]:
    async with BotAPIStandin(chat_limit=None) as server:
        yield server


@pytest.fixture
async def processes(
    standin: BotAPIStandin, database_url: str, forkserver: ForkServer
) -> AsyncIterator[Processes]:
    running = Processes(standin, database_url, forkserver)
    yield running
    await running.stop()


async def inbox(database_url: str) -> list[InboxUpdate]:
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        rows = list(
            (await db.execute(select(InboxUpdate).order_by(InboxUpdate.update_id))).scalars()
        )
    await engine.dispose()
    return rows


async def goals(database_url: str) -> dict[int, list[Any]]:
    """Each person's stored GROW goals."""
    engine = create_engine(database_url, TEST_KEYRING)
    async with create_sessionmaker(engine)() as db:
        rows = (
            await db.execute(
                select(DialogSession.person_id, Answer.value)
                .join(Answer, Answer.session_id == DialogSession.id)
                .where(Answer.key == "goal")
            )
        ).all()
    await engine.dispose()
    found: dict[int, list[Any]] = {}
    for person, value in rows:
        found.setdefault(person, []).append(value)
    return found


async def all_handled(database_url: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        rows = await inbox(database_url)
        if len(rows) >= count and all(row.handled_at is not None for row in rows):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"updates not handled: {[r.update_id for r in rows]}")
        await asyncio.sleep(0.05)


def asked(standin: BotAPIStandin, user: SimUser, question: str) -> int:
    return sum(question in (m.text or "") for m in standin.messages(user))


@pytest.mark.postgres  # The lease row, taken and renewed by processes on one database.
async def test_of_two_run_processes_one_polls_and_the_other_takes_over_when_it_dies(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    first, first_port = processes.start()
    await standin.wait_for(lambda: standin.calls("getUpdates"), START_SECONDS, "a poll")
    second, second_port = processes.start()
    await processes.answering(first_port)
    await processes.answering(second_port)
    assert await processes.polls(first_port)
    assert not await processes.polls(second_port)

    before = [standin.user(700 + n, f"B{n}", "en") for n in range(5)]
    for user in before:
        await standin.send_command(user, "/grow")
    await standin.wait_for(
        lambda: all(standin.messages(user) for user in before), 10, "replies before the kill"
    )
    await all_handled(processes.database_url, len(before))
    # Both ran side by side all along: had both polled, Telegram would have ended one's
    # long poll with a 409.
    assert not standin.calls("getUpdates", status=409)

    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_at = time.monotonic()
    after = [standin.user(800 + n, f"A{n}", "en") for n in range(5)]
    for user in after:
        await standin.send_command(user, "/grow")
    await standin.wait_for(
        lambda: all(standin.messages(user) for user in after), 10, "replies after the kill"
    )
    assert time.monotonic() - killed_at < 10
    assert await processes.polls(second_port)
    await all_handled(processes.database_url, len(before) + len(after))
    for user in before + after:
        assert asked(standin, user, "What do you want?") == 1
    assert [row.attempts for row in await inbox(processes.database_url)] == [1] * 10


async def test_a_conflict_on_getupdates_is_one_line_in_the_log_and_the_bot_goes_on(
    standin: BotAPIStandin, processes: Processes
) -> None:
    bot, port = processes.start()
    await standin.wait_for(lambda: standin.calls("getUpdates"), START_SECONDS, "a poll")
    await processes.answering(port)
    # Someone else polls with the same token: Telegram ends the bot's long poll (if one
    # is under way at that moment) with a 409.
    deadline = time.monotonic() + 20
    while not standin.calls("getUpdates", status=409):
        assert time.monotonic() < deadline, "no long poll of the bot was ever ended"
        async with processes.http.post(
            f"{standin.base_url}/bot{standin.token}/getUpdates", json={"timeout": 0}
        ) as response:
            assert response.status == 200
        with contextlib.suppress(AssertionError):
            await standin.wait_for(
                lambda: standin.calls("getUpdates", status=409), 1.5, "the bot's poll to end"
            )
    user = standin.user(900, "Ilze", "en")
    await standin.send_command(user, "/grow")
    await standin.wait_for_message(user, contains="What do you want?", timeout=10)
    assert bot.returncode is None
    log = bot.log()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "conflict" in line.lower()] == [
        next(line for line in log.splitlines() if "getUpdates conflict" in line)
    ]


async def post_update(
    processes: Processes, port: int, update: dict[str, Any], secret: str | None = SECRET
) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with processes.http.post(
        f"http://127.0.0.1:{port}/telegram", json=update, headers=headers
    ) as response:
        return response.status


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_webhook_instances_handle_each_update_once_and_each_persons_in_order(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    ports = []
    for _ in range(2):
        _, port = processes.start(WEBHOOK_URL=PUBLIC_URL, WEBHOOK_SECRET=SECRET)
        ports.append(port)
    for port in ports:
        await processes.answering(port)
    await standin.wait_for(lambda: len(standin.calls("setWebhook")) == 2, 10, "setWebhook")
    assert standin.webhook is not None
    assert standin.webhook["url"] == PUBLIC_URL
    assert standin.webhook["secret_token"] == SECRET
    assert "message" in standin.webhook["allowed_updates"]

    people = [standin.user(1000 + n, f"W{n}", "en") for n in range(12)]

    async def converse(n: int, user: SimUser) -> None:
        # As a load balancer would: each of the person's updates to the other instance.
        start = await standin.send_command(user, "/grow")
        goal = await standin.send_text(user, f"Goal number {n}")
        assert await post_update(processes, ports[n % 2], standin.update_json(start)) == 200
        assert await post_update(processes, ports[(n + 1) % 2], standin.update_json(goal)) == 200

    await asyncio.gather(*(converse(n, user) for n, user in enumerate(people)))
    # /grow is answered with an introduction and the first question; the goal with the next.
    await standin.wait_for(
        lambda: all(len(standin.messages(user)) >= 3 for user in people), 20, "the replies"
    )
    await all_handled(database_url, 2 * len(people))
    for user in people:
        texts = [m.text or "" for m in standin.messages(user)]
        assert len(texts) == 3
        assert "What do you want?" in texts[1]
        assert "Which area of your life" in texts[2]
    assert await goals(database_url) == {
        user.id: [f"Goal number {n}"] for n, user in enumerate(people)
    }

    # Telegram posts again what it thinks went unanswered: a repeat, handled once.
    user = people[0]
    again = await standin.send_text(user, "Family")
    for port in ports:
        assert await post_update(processes, port, standin.update_json(again)) == 200
    await standin.wait_for(lambda: len(standin.messages(user)) >= 4, 10, "the reply to it")
    await all_handled(database_url, 2 * len(people) + 1)
    assert [r.attempts for r in await inbox(database_url) if r.update_id == again] == [1]

    # Without the secret, or with a wrong one: refused, and nothing is stored.
    forged = await standin.send_text(user, "Forged")
    assert await post_update(processes, ports[0], standin.update_json(forged), None) == 401
    assert await post_update(processes, ports[1], standin.update_json(forged), "wrong") == 403
    assert forged not in [row.update_id for row in await inbox(database_url)]
    assert len(standin.messages(user)) == 4
    assert not standin.calls("getUpdates")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_update_in_hand_of_a_killed_webhook_instance_is_handled_by_the_other(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    doomed, first = processes.start(WEBHOOK_URL=PUBLIC_URL, WEBHOOK_SECRET=SECRET)
    _, second = processes.start(WEBHOOK_URL=PUBLIC_URL, WEBHOOK_SECRET=SECRET)
    for port in (first, second):
        await processes.answering(port)
    user = standin.user(1100, "Zane", "en")
    standin.hold("sendMessage")
    update_id = await standin.send_command(user, "/help")
    assert await post_update(processes, first, standin.update_json(update_id)) == 200
    # The first instance holds the person's lock and is sending the reply when it dies.
    await standin.wait_for(lambda: standin.held_requests, 10, "the reply to be on its way")
    doomed.send_signal(signal.SIGKILL)
    await doomed.wait()
    standin.release()
    await standin.wait_for_message(user, timeout=20)
    await all_handled(database_url, 1)
    assert len(standin.messages(user)) == 1
    assert [row.attempts for row in await inbox(database_url)] == [1]

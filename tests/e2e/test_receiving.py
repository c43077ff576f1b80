"""Receiving updates with several processes: one poller elected among `run` processes, a
conflict from Telegram survived, webhook instances sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import Answer, DialogSession, InboxUpdate
from tests.conftest import TEST_KEYRING
from tests.e2e.processes import START_SECONDS, BotProcess, Processes

SECRET = "s3cret-for-tests"
PUBLIC_URL = "https://bot.example.org/telegram"
WEBHOOK = {"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET}


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
    first = processes.spawn(listen=True)
    await standin.wait_for(lambda: standin.calls("getUpdates"), START_SECONDS, "a poll")
    second = processes.spawn(listen=True)
    await processes.answering(first)
    await processes.answering(second)
    assert await processes.polls(first)
    assert not await processes.polls(second)

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

    await first.kill()
    killed_at = time.monotonic()
    after = [standin.user(800 + n, f"A{n}", "en") for n in range(5)]
    for user in after:
        await standin.send_command(user, "/grow")
    await standin.wait_for(
        lambda: all(standin.messages(user) for user in after), 10, "replies after the kill"
    )
    assert time.monotonic() - killed_at < 10
    assert await processes.polls(second)
    await all_handled(processes.database_url, len(before) + len(after))
    for user in before + after:
        assert asked(standin, user, "What is your goal?") == 1
    assert [row.attempts for row in await inbox(processes.database_url)] == [1] * 10


async def test_a_conflict_on_getupdates_is_one_line_in_the_log_and_the_bot_goes_on(
    standin: BotAPIStandin, processes: Processes
) -> None:
    bot = processes.spawn(listen=True)
    await standin.wait_for(lambda: standin.calls("getUpdates"), START_SECONDS, "a poll")
    await processes.answering(bot)
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
    await standin.wait_for_message(user, contains="What is your goal?", timeout=10)
    assert bot.returncode is None
    log = bot.log()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "conflict" in line.lower()] == [
        next(line for line in log.splitlines() if "getUpdates conflict" in line)
    ]


async def post_update(
    processes: Processes, to: BotProcess, update: dict[str, Any], secret: str | None = SECRET
) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with processes.http.post(f"{to.url}/telegram", json=update, headers=headers) as response:
        return response.status


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_webhook_instances_handle_each_update_once_and_each_persons_in_order(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    instances = [processes.spawn(listen=True, **WEBHOOK) for _ in range(2)]
    for instance in instances:
        await processes.answering(instance)
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
        assert await post_update(processes, instances[n % 2], standin.update_json(start)) == 200
        assert (
            await post_update(processes, instances[(n + 1) % 2], standin.update_json(goal)) == 200
        )

    await asyncio.gather(*(converse(n, user) for n, user in enumerate(people)))
    # /grow is answered with an introduction and the first question; the goal with the next.
    await standin.wait_for(
        lambda: all(len(standin.messages(user)) >= 3 for user in people), 20, "the replies"
    )
    await all_handled(database_url, 2 * len(people))
    for user in people:
        texts = [m.text or "" for m in standin.messages(user)]
        assert len(texts) == 3
        assert "What is your goal?" in texts[1]
        assert "Which area of your life" in texts[2]
    assert await goals(database_url) == {
        user.id: [f"Goal number {n}"] for n, user in enumerate(people)
    }

    # Telegram posts again what it thinks went unanswered: a repeat, handled once.
    user = people[0]
    again = await standin.send_text(user, "Family")
    for instance in instances:
        assert await post_update(processes, instance, standin.update_json(again)) == 200
    await standin.wait_for(lambda: len(standin.messages(user)) >= 4, 10, "the reply to it")
    await all_handled(database_url, 2 * len(people) + 1)
    assert [r.attempts for r in await inbox(database_url) if r.update_id == again] == [1]

    # Without the secret, or with a wrong one: refused, and nothing is stored.
    forged = await standin.send_text(user, "Forged")
    assert await post_update(processes, instances[0], standin.update_json(forged), None) == 401
    assert await post_update(processes, instances[1], standin.update_json(forged), "wrong") == 403
    assert forged not in [row.update_id for row in await inbox(database_url)]
    assert len(standin.messages(user)) == 4
    assert not standin.calls("getUpdates")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_update_in_hand_of_a_killed_webhook_instance_is_handled_by_the_other(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    doomed = processes.spawn(listen=True, **WEBHOOK)
    other = processes.spawn(listen=True, **WEBHOOK)
    for instance in (doomed, other):
        await processes.answering(instance)
    user = standin.user(1100, "Zane", "en")
    standin.hold("sendMessage")
    update_id = await standin.send_command(user, "/help")
    assert await post_update(processes, doomed, standin.update_json(update_id)) == 200
    # The first instance holds the person's lock and is sending the reply when it dies.
    await standin.wait_for(lambda: standin.held_requests, 10, "the reply to be on its way")
    await doomed.kill()
    standin.release()
    await standin.wait_for_message(user, timeout=20)
    await all_handled(database_url, 1)
    assert len(standin.messages(user)) == 1
    assert [row.attempts for row in await inbox(database_url)] == [1]

"""Webhook throughput, two instances against one: ``python -m tests.bench.bench_webhook``.

The bot in webhook mode (``python -m bot run`` with WEBHOOK_URL, each instance a process
of its own, as in production) on one PostgreSQL database (``MENTORBOT_TEST_POSTGRES_URL``,
as ``make test`` sets it; a fresh database each run), against the Bot API stand-in with its
rate limits off; and, as a reference measured in the same run, one process polling the
same updates (all of them queued at the stand-in at once). ``--people`` people (100) at
once each send ``/grow``, a goal, ``/help`` and ``/help``, one after another as a person
would (the next is posted once the previous got its 200); an HTTP client posts each
update over loopback to an instance, alternately to each when there are two, as a load
balancer would. Throughput is the updates posted over the time from the first post to
the last reply recorded at the stand-in. Each configuration runs ``--rounds`` times (3),
alternating; printed: each round's figure, the medians, the ratio of two instances to
one and of one to polling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import sys
import time

import aiohttp

from bot.config import ROOT
from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage.database import create_engine, upgrade
from tests.conftest import TEST_DATA_KEY, create_postgres_database, drop_postgres_database
from tests.e2e.processes import free_port

SECRET = "bench-secret"
START_TIMEOUT = 60.0
RUN_TIMEOUT = 300.0
STEPS = ("/grow", "I want to learn to swim", "/help", "/help")


async def start(
    standin: BotAPIStandin, database_url: str, port: int, webhook: bool = True
) -> asyncio.subprocess.Process:
    mode = (
        {
            "WEBHOOK_URL": "https://bot.example.org/telegram",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        }
        if webhook
        else {"HEALTH_LISTEN": f"127.0.0.1:{port}", "POLLING_TIMEOUT": "1"}
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env={
            **os.environ,
            "BOT_TOKEN": standin.token,
            "DATA_KEY": TEST_DATA_KEY,
            "DATABASE_URL": database_url,
            "TELEGRAM_API_URL": standin.base_url,
            "FLOOD_BURST": "0",
            "LOG_LEVEL": "WARNING",
            **mode,
        },
    )


async def answering(http: aiohttp.ClientSession, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no instance answers on port {port}")
        await asyncio.sleep(0.1)


async def stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        process.kill()
        await process.wait()


async def run(instances: int, people: int) -> float:
    """Updates a second with this many webhook instances; with 0, one process polling."""
    database_url = await create_postgres_database()
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    try:
        async with (
            BotAPIStandin(chat_limit=None, global_limit=None) as standin,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
            contextlib.AsyncExitStack() as stack,
        ):
            ports = [free_port() for _ in range(max(instances, 1))]
            processes = [await start(standin, database_url, port, instances > 0) for port in ports]
            # Stopped before the stand-in is, so that none logs a failed request.
            stack.push_async_callback(stop, processes)
            for port in ports:
                await answering(http, port)
            turn = itertools.cycle(ports)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

            async def converse(user: SimUser) -> None:
                if not instances:  # polling: the person's updates wait at Telegram
                    for step in STEPS:
                        await (standin.send_command if step.startswith("/") else standin.send_text)(
                            user, step
                        )
                    return
                for step in STEPS:
                    if step.startswith("/"):
                        update_id = await standin.send_command(user, step)
                    else:
                        update_id = await standin.send_text(user, step)
                    url = f"http://127.0.0.1:{next(turn)}/telegram"
                    async with http.post(
                        url, json=standin.update_json(update_id), headers=headers
                    ) as response:
                        assert response.status == 200, response.status

            users = [standin.user(10_000 + n, f"P{n}", "en") for n in range(people)]
            # /grow answers with two messages, each other step with one.
            expected = (len(STEPS) + 1) * people
            began = time.perf_counter()
            await asyncio.gather(*(converse(user) for user in users))
            await standin.wait_for(
                lambda: sum(len(standin.messages(user)) for user in users) >= expected,
                RUN_TIMEOUT,
                "every reply",
            )
            elapsed = time.perf_counter() - began
    finally:
        await drop_postgres_database(database_url)
    return len(STEPS) * people / elapsed


async def bench(args: argparse.Namespace) -> None:
    names = {0: "polling, 1 process", 1: "webhook, 1 instance", 2: "webhook, 2 instances"}
    figures: dict[int, list[float]] = {n: [] for n in names}
    for round_number in range(1, args.rounds + 1):
        for instances, name in names.items():
            rate = await run(instances, args.people)
            figures[instances].append(rate)
            print(f"round {round_number}: {name}: {rate:.1f} updates/s")
    medians = {n: statistics.median(figures[n]) for n in names}
    print(f"\n{args.people} people, {len(STEPS)} updates each, median of {args.rounds}:")
    for instances, name in names.items():
        each = ", ".join(f"{rate:.0f}" for rate in figures[instances])
        print(f"  {name}: {medians[instances]:.1f} updates/s ({each})")
    print(f"  ratio, two instances to one: {medians[2] / medians[1]:.2f}")
    print(f"  ratio, one instance to polling: {medians[1] / medians[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()

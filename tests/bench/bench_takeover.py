"""A worker killed (SIGKILL) in the middle of sending, another worker running:
``python -m tests.bench.bench_takeover`` (needs the test PostgreSQL: ``. .pg/env``).

Two ``mentorbot worker`` processes (new interpreters, default settings: OUTBOX_LEASE_SECONDS
15, so the sender's lease is 7.5 s) share a PostgreSQL database holding ``--recipients``
due messages; once ``--kill-after`` have gone, the one holding the sender's lease is
killed. Printed: seconds from the kill to the next message the stand-in receives (median
and maximum of ``--runs``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time

from bot.config import ROOT
from bot.playground.botapi import BotAPIStandin
from bot.telegram.outbox import SenderLease
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.test_restart import queue_for
from tests.e2e.test_send_rate import state


async def one_run(recipients: int, kill_after: int) -> float:
    database_url = await create_postgres_database()
    try:
        async with BotAPIStandin() as standin:
            users = [standin.user(9000 + n, f"K{n}", "en") for n in range(recipients)]
            await queue_for(database_url, users, "News")
            env = {
                **os.environ,
                "BOT_TOKEN": standin.token,
                "DATABASE_URL": database_url,
                "TELEGRAM_API_URL": standin.base_url,
                "LOG_LEVEL": "WARNING",
            }
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "worker", cwd=ROOT, env=env
                )
                for _ in range(2)
            ]
            try:
                await standin.wait_for(
                    lambda: len(standin.calls("sendMessage", 200)) >= kill_after, 180, "sends"
                )
                owner = await state(database_url, SenderLease.key) or ""
                [sender] = [w for w in workers if f":{w.pid}:" in owner]
                sender.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                await sender.wait()
                await standin.wait_for(
                    lambda: any(c.at > killed for c in standin.calls("sendMessage", 200)),
                    120,
                    "the next message",
                )
                await standin.wait_for(
                    lambda: all(standin.messages(user) for user in users), 300, "every message"
                )
            finally:
                for worker in workers:
                    if worker.returncode is None:
                        worker.send_signal(signal.SIGTERM)
                        await worker.wait()
            return min(c.at for c in standin.calls("sendMessage", 200) if c.at > killed) - killed
    finally:
        await drop_postgres_database(database_url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1500)
    parser.add_argument("--kill-after", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for run in range(args.runs):
        runs.append(await one_run(args.recipients, args.kill_after))
        print(f"run {run + 1}: next message {runs[-1]:.2f} s after the kill", flush=True)
    print(
        f"\nnext message after the kill: median {statistics.median(runs):.2f} s, "
        f"max {max(runs):.2f} s (target <= 15 s)"
    )


if __name__ == "__main__":
    asyncio.run(main())

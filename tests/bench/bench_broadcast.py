"""A broadcast to many at Telegram's rate: ``python -m tests.bench.bench_broadcast``.

With ``--inject-429 N`` (seconds), once a third has gone the stand-in answers the next two
sends 429 with retry_after N (two chats at once: Telegram's limit for the whole bot); the
achieved rate then leaves out the pause (the time from the first 429 to the first message
after it). Meanwhile a mentee's relayed message is written every 2 s (``--relays``), and
the time from its commit to the stand-in receiving it is taken (p50, p99, max).

10,000 recipients (``--recipients``), the Bot API stand-in enforcing 30 messages a second in
all and 1 a second per chat. The bot's outbox (configured rate ``--rate``, 25 by default)
is measured on: achieved rate / configured rate (target >= 0.95), total time against the
least possible (recipients / rate), and CPU seconds per 1,000 messages. Beside it, in the
same run, a naive loop: sendMessage to each recipient with a fixed sleep of 1/30 s between
them (a 429 waits its retry_after and tries again). Medians of ``--runs`` runs.

The bot, the stand-in and the database client share this process, so CPU seconds include
the stand-in's work for both; the naive loop writes nothing to a database. ``--speed K``
runs time K times faster for the bot and the stand-in alike (quick checks; figures for
docs/benchmarks.md are at --speed 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ROOT
from bot.domain.dialogs import load_dialogs
from bot.playground.botapi import BotAPIStandin, RateLimit
from bot.services.broadcasts import BroadcastService
from bot.services.cohorts import CohortService
from bot.services.dialogs import DialogService
from bot.storage import repositories as repo
from bot.storage.conversation import RELAY
from bot.storage.database import create_engine, create_sessionmaker, upgrade
from bot.storage.models import Outgoing, Person
from tests.conftest import TEST_KEYRING
from tests.e2e.broadcast_setup import FastTime, fast_sender, seed_cohort

COORDINATOR = 42
MENTOR = 99
TELEGRAM_RATE = 30.0
START = datetime(2026, 11, 25, 9, tzinfo=UTC)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rate_of(moments: list[float]) -> float:
    return (len(moments) - 1) / (moments[-1] - moments[0]) if len(moments) > 1 else 0.0


async def relay_every(
    sessions: async_sessionmaker[AsyncSession],
    standin: BotAPIStandin,
    fast: FastTime,
    mentor: int,
    latencies: list[float],
) -> None:
    """A mentee's message to the mentor every 2 s (of the bench's time), each timed from
    its commit to its arrival."""
    n = 0
    while True:
        await fast.sleep(2.0)
        n += 1
        async with sessions() as db:
            repo.enqueue(
                db,
                kind=RELAY,
                chat_id=mentor,
                method="sendMessage",
                payload={"text": f"relay {n}"},
                now=fast.now(),
            )
            await db.commit()
        written = fast.monotonic()
        await standin.wait_for_message(mentor, count=n, timeout=60)
        latencies.append(fast.monotonic() - written)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def bot_run(
    recipients: int, rate: float, speed: float, folder: Path, pause: int, relays: bool
) -> dict[str, float]:
    fast = FastTime(speed, START)
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'bench.db'}", TEST_KEYRING)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    members = [(100_000 + n, f"P{n}", "en", "mentee") for n in range(recipients)]
    await seed_cohort(sessions, START, COORDINATOR, members)
    async with BotAPIStandin(
        clock=fast.monotonic, global_limit=RateLimit(int(TELEGRAM_RATE), 1.0)
    ) as standin:
        for member in members:
            standin.user(member[0], member[1])
        mentor = standin.user(MENTOR, "Mentor").id

        async def on_blocked(chat_id: int) -> None:
            return None

        bot, sender = fast_sender(standin, sessions, fast, rate, on_blocked)
        cohorts = CohortService(DialogService(load_dialogs(ROOT / "dialogs"), fast), fast)
        broadcasts = BroadcastService(cohorts, fast, "en")
        cpu0, t0 = cpu(), fast.monotonic()
        async with sessions() as db:
            coordinator = await db.get(Person, COORDINATOR)
            assert coordinator is not None
            draft = await broadcasts.start(db, coordinator)
            draft.audience = {"kind": "everyone"}
            draft.content = {"all": {"method": "sendMessage", "text": "<b>Programme news</b>"}}
            await broadcasts.confirm(db, coordinator, draft, None)
            await db.commit()
        task = asyncio.create_task(sender.run(idle_seconds=0.05))
        latencies: list[float] = []
        relaying = (
            asyncio.create_task(relay_every(sessions, standin, fast, mentor, latencies))
            if relays
            else None
        )
        injected = False
        while True:
            if pause and not injected and len(standin.calls("sendMessage", 200)) > recipients / 3:
                standin.inject_429(retry_after=pause, count=2, method="sendMessage")
                injected = True
            async with sessions() as db:
                left = await db.scalar(
                    select(func.count()).where(Outgoing.status.in_(("pending", "sending")))
                )
            if not left:
                break
            await asyncio.sleep(0.25)
        for running in (task, relaying):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        total, used = fast.monotonic() - t0, cpu() - cpu0
        moments = [c.at for c in standin.calls("sendMessage", 200) if c.params["chat_id"] != mentor]
        refused_at = [c.at for c in standin.calls(status=429)]
        refused = len(refused_at)
        paused = 0.0
        if refused_at:
            paused = min(t for t in moments if t > refused_at[0]) - refused_at[0]
        busiest = max(Counter(int(t) for t in moments).values())
        delivered = sum(1 for m in members if len(standin.messages(m[0])) == 1)
        await bot.session.close()
    await engine.dispose()
    assert delivered == recipients, "every recipient gets it once"
    span = moments[-1] - moments[0] - paused
    return {
        "rate": (len(moments) - 1) / span,
        "time": total,
        "paused": paused,
        "busiest_second": busiest,
        "cpu_per_1000": used / recipients * 1000,
        "429": refused,
        "relays": len(latencies),
        "relay_p50": percentile(latencies, 0.5),
        "relay_p99": percentile(latencies, 0.99),
        "relay_max": max(latencies, default=0.0),
    }


async def naive_run(recipients: int, speed: float) -> dict[str, float]:
    fast = FastTime(speed, START)
    async with BotAPIStandin(
        clock=fast.monotonic, global_limit=RateLimit(int(TELEGRAM_RATE), 1.0)
    ) as standin:
        chats = [standin.user(100_000 + n, f"P{n}").id for n in range(recipients)]
        session = AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
        bot = Bot(standin.token, session=session)
        cpu0, t0 = cpu(), fast.monotonic()
        for chat in chats:
            while True:
                try:
                    await bot.send_message(chat, "<b>Programme news</b>", parse_mode="HTML")
                    break
                except TelegramRetryAfter as exc:
                    await fast.sleep(exc.retry_after)
            await fast.sleep(1 / TELEGRAM_RATE)
        total, used = fast.monotonic() - t0, cpu() - cpu0
        moments = [c.at for c in standin.calls("sendMessage", 200)]
        refused = len(standin.calls(status=429))
        await bot.session.close()
    return {
        "rate": rate_of(moments),
        "time": total,
        "cpu_per_1000": used / recipients * 1000,
        "429": refused,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--inject-429", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--relays", action="store_true")
    parser.add_argument("--no-naive", action="store_true")
    args = parser.parse_args()
    bots, naives = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            bots.append(
                await bot_run(
                    args.recipients,
                    args.rate,
                    args.speed,
                    Path(folder),
                    args.inject_429,
                    args.relays,
                )
            )
        if args.no_naive:
            print(f"run {run + 1}: bot {bots[-1]}", flush=True)
            continue
        naives.append(await naive_run(args.recipients, args.speed))
        print(f"run {run + 1}: bot {bots[-1]}, naive {naives[-1]}", flush=True)
    least = args.recipients / args.rate

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"\n{args.recipients} recipients, stand-in at {TELEGRAM_RATE:.0f}/s, bot configured "
        f"at {args.rate:g}/s, speed {args.speed:g}, medians of {args.runs} runs (SQLite)"
    )
    print("| sender | msgs/s | achieved / configured | total s | least s | CPU s per 1000 | 429s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| outbox | {median(bots, 'rate'):.2f} | {median(bots, 'rate') / args.rate:.3f} | "
        f"{median(bots, 'time'):.1f} | {least:.1f} | {median(bots, 'cpu_per_1000'):.2f} | "
        f"{median(bots, '429'):.0f} |"
    )
    print(
        f"pause {median(bots, 'paused'):.2f} s (left out of the rate), busiest second "
        f"{median(bots, 'busiest_second'):.0f} messages; relayed messages "
        f"{median(bots, 'relays'):.0f}: p50 {median(bots, 'relay_p50'):.3f} s, "
        f"p99 {median(bots, 'relay_p99'):.3f} s, max {median(bots, 'relay_max'):.3f} s"
    )
    if not naives:
        return
    naive_least = args.recipients / TELEGRAM_RATE
    print(
        f"| naive loop, sleep 1/30 s | {median(naives, 'rate'):.2f} | "
        f"{median(naives, 'rate') / TELEGRAM_RATE:.3f} (of 30) | {median(naives, 'time'):.1f} | "
        f"{naive_least:.1f} | {median(naives, 'cpu_per_1000'):.2f} | "
        f"{median(naives, '429'):.0f} |"
    )


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"\n(took {time.monotonic() - started:.0f} s)")

"""One person's flood against everyone else's replies: ``python -m tests.bench.bench_flood``.

The bot (``python -m bot run``, SQLite, in a process of its own, as it runs in production)
against the Bot API stand-in with Telegram's limits on: 30 messages a second in all and,
per chat, one a second with bursts of three (the stand-in's ``DEFAULT_CHAT_LIMIT``). A
probe is a person of their own sending /help; its latency runs from queuing the update to
the stand-in recording the reply. ``--probes`` probes (20) go one every ``--every`` seconds
(0.5), a new person each, so that no probe meets a chat limit of its own. Three
configurations, each on a fresh bot and database, alternating over ``--rounds`` rounds (3):

- quiet: only the probes; the baseline, measured in the same run;
- flood: one person sends ``--flood`` text messages (300) evenly over one second, starting
  with the first probe; the bot's flood limit at its defaults (``FLOOD_BURST`` 8,
  ``FLOOD_RATE`` 2 a second), or at each ``--limit BURST/RATE`` given;
- flood, no limit: the same with ``FLOOD_BURST=0``, the bot as it was before the limit.

Printed: the median and p90 of the probes' latencies of each configuration (all rounds'
probes together, and each round's median), the ratio of each to quiet (the goal: a flood's
within 2x of quiet), and what the flood came to (medians over the rounds): the flooder's
messages from the bot, the 429s the stand-in answered, the updates the bot recorded as
``rate_limited``, and those still waiting to be handled when the last probe was answered
(the bot is stopped then). A probe
not answered within ``PROBE_TIMEOUT`` counts as that long. ``--py-spy FILE`` runs the
first round's first limited flood under ``py-spy record`` (it must be installed) and writes its
samples (raw, one collapsed stack a line) to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import ROOT
from bot.playground.botapi import ApiCall, BotAPIStandin, SimUser
from bot.telegram.polling import RATE_LIMITED

WARM_ID = 800_000  # the person of the warm-up probe
FLOODER_ID = 800_001
FIRST_PROBE_ID = 800_100
PROBE_TIMEOUT = 60.0
START_TIMEOUT = 60.0
TARGET_RATIO = 2.0
DEFAULT_LIMIT = "8/2"  # FLOOD_BURST / FLOOD_RATE as bot/config.py sets them


class ProbedStandin(BotAPIStandin):
    """The stand-in with Telegram's limits, telling a probe the moment its reply is recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[float]] = {}

    def _log(self, call: ApiCall) -> None:
        moment = time.perf_counter()
        super()._log(call)
        if call.method == "sendMessage" and call.status == 200:
            waiting = self.waiting.pop(call.params.get("chat_id", 0), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(moment)


async def probe(standin: ProbedStandin, user: SimUser) -> float:
    """Seconds from /help queued to its reply recorded (PROBE_TIMEOUT if none came)."""
    replied: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    standin.waiting[user.id] = replied
    queued = time.perf_counter()
    await standin.send_command(user, "/help")
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            return await replied - queued
    except TimeoutError:
        return PROBE_TIMEOUT


async def at(moment: float) -> None:
    """Until the loop's clock reads ``moment`` (the load's schedule, not a wait for a result)."""
    delay = moment - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


async def flood(standin: ProbedStandin, user: SimUser, count: int, start: float) -> None:
    for number in range(count):
        await at(start + number / count)
        await standin.send_text(user, f"message {number}")


async def probes(standin: ProbedStandin, count: int, every: float, start: float) -> list[float]:
    async def one(number: int) -> float:
        await at(start + number * every)
        return await probe(standin, standin.user(FIRST_PROBE_ID + number, f"P{number}", "en"))

    return list(await asyncio.gather(*(one(n) for n in range(count))))


@dataclass
class Config:
    name: str
    flood: bool
    env: dict[str, str] = field(default_factory=dict)


def configs(limits: list[str]) -> list[Config]:
    """Quiet, a flood under each limit (``BURST/RATE``), and a flood with no limit."""
    flooded = []
    for limit in limits:
        burst, rate = limit.split("/")
        env = {"FLOOD_BURST": burst, "FLOOD_RATE": rate}
        flooded.append(Config(f"flood, limit {burst} + {rate}/s", flood=True, env=env))
    return [
        Config("quiet", flood=False),
        *flooded,
        Config("flood, no limit", flood=True, env={"FLOOD_BURST": "0"}),
    ]


@dataclass
class Run:
    latencies: list[float]
    flooder_messages: int
    refused: int
    rate_limited: int
    waiting: int  # the flood's updates not yet handled (nor dropped) when the probes ended


async def start_bot(standin: BotAPIStandin, env: dict[str, str], profile: Path | None) -> Any:
    command = [sys.executable, "-m", "bot", "run"]
    if profile is not None:
        command = ["py-spy", "record", "--format", "raw", "-r", "200", "-o", str(profile),
                   "--", *command]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env={
            **os.environ,
            "BOT_TOKEN": standin.token,
            "TELEGRAM_API_URL": standin.base_url,
            "POLLING_TIMEOUT": "1",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        stdout=asyncio.subprocess.DEVNULL if profile is not None else None,
    )
    await standin.wait_for(
        lambda: standin.calls("getUpdates"), START_TIMEOUT, "the bot to start polling"
    )
    return process


async def stop_bot(process: Any, profiled: bool) -> None:
    if process.returncode is None:
        if profiled:
            process.send_signal(2)  # py-spy writes its samples when interrupted
        else:
            process.kill()
    await process.wait()


def flood_record(database: Path) -> tuple[int, int]:
    """The flooder's updates recorded as rate_limited, and those marked handled at all."""
    with sqlite3.connect(database) as db:
        limited, handled = db.execute(
            "SELECT count(*) FILTER (WHERE failure = ?), count(handled_at) FROM inbox_updates"
            " WHERE person_id = ?",
            (RATE_LIMITED, FLOODER_ID),
        ).fetchone()
    return int(limited), int(handled)


async def run(config: Config, args: argparse.Namespace, profile: Path | None) -> Run:
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as tmp:
        database = Path(tmp) / "mentorbot.db"
        async with ProbedStandin() as standin:
            env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", **config.env}
            process = await start_bot(standin, env, profile)
            try:
                await probe(standin, standin.user(WARM_ID, "Warm", "en"))
                flooder = standin.user(FLOODER_ID, "Flo", "en")
                start = asyncio.get_running_loop().time() + 0.05
                load = [flood(standin, flooder, args.flood, start)] if config.flood else []
                latencies, *_ = await asyncio.gather(
                    probes(standin, args.probes, args.every, start), *load
                )
                flooder_messages = len(standin.messages(flooder))
                refused = len(standin.calls(status=429))
            finally:
                await stop_bot(process, profile is not None)
        limited, handled = flood_record(database)
        waiting = args.flood - handled if config.flood else 0
        return Run(latencies, flooder_messages, refused, limited, waiting)


def p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


async def bench(args: argparse.Namespace) -> None:
    every = configs(args.limit or [DEFAULT_LIMIT])
    runs: dict[str, list[Run]] = {config.name: [] for config in every}
    for number in range(1, args.rounds + 1):
        for config in every:
            profiled = number == 1 and config is every[1] and args.py_spy is not None
            print(f"round {number}: {config.name} ...", file=sys.stderr, flush=True)
            result = await run(config, args, args.py_spy if profiled else None)
            runs[config.name].append(result)
            print(
                f"  median {statistics.median(result.latencies) * 1000:.0f} ms, "
                f"p90 {p90(result.latencies) * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )

    print(
        f"/help of another person, {args.probes} probes one every {args.every:g} s per run, "
        f"{args.rounds} round(s); flood: {args.flood} messages from one person in 1 s; "
        "the stand-in at 30 messages/s in all and 1/s per chat (bursts of 3); SQLite"
    )
    print(
        "| | median ms | p90 ms | median / quiet | p90 / quiet | each round's median ms "
        "| flooder got | 429s | rate_limited | still waiting |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    quiet = [s for r in runs["quiet"] for s in r.latencies]
    for name, results in runs.items():
        pooled = [s for r in results for s in r.latencies]
        each = ", ".join(f"{statistics.median(r.latencies) * 1000:.0f}" for r in results)
        print(
            f"| {name} | {statistics.median(pooled) * 1000:.0f} | {p90(pooled) * 1000:.0f} | "
            f"{statistics.median(pooled) / statistics.median(quiet):.2f} | "
            f"{p90(pooled) / p90(quiet):.2f} | {each} | "
            f"{statistics.median(r.flooder_messages for r in results):.0f} | "
            f"{statistics.median(r.refused for r in results):.0f} | "
            f"{statistics.median(r.rate_limited for r in results):.0f} | "
            f"{statistics.median(r.waiting for r in results):.0f} |"
        )
    for config in every[1:-1]:
        limited = [s for r in runs[config.name] for s in r.latencies]
        ratio = statistics.median(limited) / statistics.median(quiet)
        verdict = "meets" if ratio <= TARGET_RATIO else "does NOT meet"
        print(
            f"target: {config.name}: /help's median within {TARGET_RATIO:g}x of quiet; "
            f"it is {ratio:.2f}x, so it {verdict} the target"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_flood")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument(
        "--limit",
        action="append",
        metavar="BURST/RATE",
        help=f"a flood limit to measure (repeatable; default {DEFAULT_LIMIT}, the bot's own)",
    )
    parser.add_argument("--py-spy", type=Path, default=None, metavar="FILE")
    started = time.monotonic()
    asyncio.run(bench(parser.parse_args()))
    print(f"(took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()

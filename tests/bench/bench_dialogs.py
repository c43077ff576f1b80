"""Load the real bot with concurrent mentees: ``python -m tests.bench.bench_dialogs``.

Options: ``--mentees N`` (default 200), ``--backend sqlite|postgresql|both`` (default
both; PostgreSQL needs MENTORBOT_TEST_POSTGRES_URL, see ``.pg/env``) and ``--separate``,
which also runs the echo bot and the bot (on SQLite) each in a process of its own, as the
bot runs in production, with the stand-in and the mentees in this one, and ``--rounds N``
(default 3): every configuration is run N times, alternating, and the medians are shown.

Every mentee is a user of the Bot API stand-in (all rate limits off, and the bot's flood
limit too: a mentee answers at machine speed) who works through the whole GROW session of
the end-to-end tests (``GROW_TRANSCRIPT``), all mentees at once, each waiting for the
bot's complete reply to one step before taking the next. What a complete
reply is (how many requests the bot makes for the chat at each step) is learnt first from
one mentee alone, waiting for each update to be handled. A step's latency runs from queuing
the update to the moment the stand-in records the last request of the reply; throughput is
updates over the time from the first update queued to the last reply.

The baseline, in the same run, is a bare aiogram echo bot on aiogram's own polling, driven
by as many mentees sending as many text messages, each waiting for its echo. The ratio
shows what the bot's work (the durable inbox, the database, the dialogs) costs on top of
aiogram and HTTP. Last, the idle bot's peak memory (VmHWM) is read from a ``python -m bot
run`` process that has polled the stand-in a few times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy import func, select

from bot.domain.texts import Msg
from bot.playground.botapi import ApiCall, BotAPIStandin, BotMessage, SimUser
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import Commitment, InboxUpdate
from tests.conftest import (
    POSTGRES_ENV,
    TEST_KEYRING,
    create_postgres_database,
    drop_postgres_database,
)
from tests.e2e.conftest import ROOT, MovableClock, Running, start_bot
from tests.e2e.test_dialogs import GROW_TRANSCRIPT, PERSONS_OWN

FIRST_USER_ID = 700_000  # the calibrating mentee; the others follow
STEP_TIMEOUT = 120.0  # seconds for one reply before the mentee is counted as stuck
SETTLE_TIMEOUT = 60.0
IDLE_POLLS = 3
TARGET_RATIO = 0.5
# The bot with people's words stored in the clear, to show what sealing them costs.
CLEAR = "bot, SQLite, no encryption"
ENCRYPTION_BUDGET = 0.10  # of throughput

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# The stand-in, telling each chat's waiter the moment a request for that chat is recorded
# --------------------------------------------------------------------------------------------


@dataclass
class ChatLog:
    """The bot's requests for one chat (sends, edits, callback answers), as they are recorded."""

    times: list[float] = field(default_factory=list)  # perf_counter of each request
    statuses: Counter[int] = field(default_factory=Counter)
    _waiting: tuple[int, asyncio.Future[float]] | None = None

    @property
    def count(self) -> int:
        return len(self.times)

    def record(self, call: ApiCall, moment: float) -> None:
        self.times.append(moment)
        self.statuses[call.status] += 1
        if self._waiting is not None and self.count >= self._waiting[0]:
            target, reached = self._waiting
            self._waiting = None
            if not reached.done():
                reached.set_result(self.times[target - 1])

    async def reached(self, target: int, timeout: float) -> float:  # noqa: ASYNC109
        """The moment the chat's ``target``-th request was recorded, once it is."""
        if self.count >= target:
            return self.times[target - 1]
        reached: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting = (target, reached)
        try:
            async with asyncio.timeout(timeout):
                return await reached
        finally:
            self._waiting = None


class WatchedStandin(BotAPIStandin):
    """A stand-in with every rate limit off that timestamps each chat's requests."""

    def __init__(self) -> None:
        super().__init__(chat_limit=None, global_limit=None, group_limit=None)
        self.chat_logs: dict[int, ChatLog] = {}
        self._query_owners: dict[str, int] = {}

    def person(self, user_id: int) -> SimUser:
        self.chat_logs[user_id] = ChatLog()
        return self.user(user_id, "Mentee", "en")

    async def press(
        self, user: SimUser, button_text: str, message: BotMessage | int | None = None
    ) -> int:
        update_id = await super().press(user, button_text, message)
        # The stand-in keeps the queued update; its callback query id names the chat of
        # the answerCallbackQuery to come.
        self._query_owners[self._updates[update_id]["callback_query"]["id"]] = user.id
        return update_id

    def _log(self, call: ApiCall) -> None:
        moment = time.perf_counter()
        super()._log(call)
        chat = call.params.get("chat_id")
        if call.method == "answerCallbackQuery":
            chat = self._query_owners.get(call.params.get("callback_query_id", ""))
        if isinstance(chat, int) and chat in self.chat_logs:
            self.chat_logs[chat].record(call, moment)


# --------------------------------------------------------------------------------------------
# Mentees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str  # "write" | "press"
    text: str  # what is written, or the label of the button pressed
    replies: int  # requests the bot makes for the chat in answer


@dataclass
class Outcome:
    """One mentee's run."""

    user: SimUser
    latencies: list[float] = field(default_factory=list)  # seconds, one per step answered
    update_ids: list[int] = field(default_factory=list)
    first_queued: float = 0.0
    last_reply: float = 0.0
    stuck: str | None = None  # why the mentee could not go on


async def send(standin: WatchedStandin, user: SimUser, kind: str, text: str) -> int:
    if kind == "press":
        return await standin.press(user, text)
    if text.startswith("/"):
        return await standin.send_command(user, text)
    return await standin.send_text(user, text)


async def mentee(standin: WatchedStandin, user: SimUser, steps: list[Step]) -> Outcome:
    """Take the steps one by one, each as soon as the reply to the last one is complete."""
    log = standin.chat_logs[user.id]
    outcome = Outcome(user)
    expected = log.count
    for number, step in enumerate(steps):
        expected += step.replies
        queued = time.perf_counter()
        if number == 0:
            outcome.first_queued = queued
        try:
            outcome.update_ids.append(await send(standin, user, step.kind, step.text))
            replied = await log.reached(expected, STEP_TIMEOUT)
        except (TimeoutError, AssertionError) as error:
            got = log.count - (expected - step.replies)
            outcome.stuck = (
                f"step {number} ({step.kind} {step.text!r}): {got} of {step.replies} "
                f"request(s) of the reply arrived ({type(error).__name__}: {error})"
            )
            break
        outcome.latencies.append(replied - queued)
        outcome.last_reply = replied
    return outcome


@dataclass
class Figures:
    name: str
    updates: int
    seconds: float
    latencies_ms: list[float]
    problems: list[str]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


async def crowd(
    standin: WatchedStandin, count: int, steps: list[Step]
) -> tuple[list[Outcome], float]:
    users = [standin.person(FIRST_USER_ID + 1 + n) for n in range(count)]
    outcomes = await asyncio.gather(*(mentee(standin, user, steps) for user in users))
    answered = [o for o in outcomes if o.latencies]
    start = min((o.first_queued for o in answered), default=0.0)
    end = max((o.last_reply for o in answered), default=0.0)
    return list(outcomes), end - start


def figures(name: str, outcomes: list[Outcome], seconds: float, problems: list[str]) -> Figures:
    latencies = [s * 1000 for o in outcomes for s in o.latencies]
    stuck = [f"{o.user.id}: {o.stuck}" for o in outcomes if o.stuck]
    if stuck:
        problems = [f"{len(stuck)} mentee(s) stuck, first: {stuck[0]}", *problems]
    return Figures(name, len(latencies), seconds, latencies, problems)


# --------------------------------------------------------------------------------------------
# The bot
# --------------------------------------------------------------------------------------------


class Handling:
    """Counts how often the bot handles each update, and signals the end of each one."""

    def __init__(self, running: Running) -> None:
        self.counts: Counter[int] = Counter()
        self._done: dict[int, asyncio.Event] = {}
        polling = running.app.polling
        handle = polling.handle

        async def counted(update: Update) -> None:
            try:
                await handle(update)
            finally:
                self.counts[update.update_id] += 1
                self._event(update.update_id).set()

        polling.handle = counted  # type: ignore[method-assign]

    def _event(self, update_id: int) -> asyncio.Event:
        return self._done.setdefault(update_id, asyncio.Event())

    async def wait(self, update_ids: list[int], timeout: float) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            for update_id in update_ids:
                await self._event(update_id).wait()


async def calibrate(
    standin: WatchedStandin,
    handling: Handling,
    label: Callable[[str], str],
    transcript: list[tuple[str, str]] = GROW_TRANSCRIPT,
) -> tuple[list[Step], list[str | None]]:
    """One mentee alone: how many requests the bot makes for the chat at each step."""
    user = standin.person(FIRST_USER_ID)
    log = standin.chat_logs[user.id]
    steps = []
    for kind, value in transcript:
        text = label(value) if kind == "press" else value
        before = log.count
        update_id = await send(standin, user, kind, text)
        await handling.wait([update_id], SETTLE_TIMEOUT)
        steps.append(Step(kind, text, log.count - before))
    return steps, [m.text for m in standin.messages(user)]


async def check_bot(
    standin: WatchedStandin,
    running: Running,
    steps: list[Step],
    reference: list[str | None],
    outcomes: list[Outcome],
    handling: Handling,
) -> list[str]:
    """What went wrong under load: lost or repeated replies, failed updates, errors."""
    problems = []
    try:
        await handling.wait([i for o in outcomes for i in o.update_ids], SETTLE_TIMEOUT)
    except TimeoutError:
        problems.append(f"updates still not handled {SETTLE_TIMEOUT:.0f} s after the run")
    per_chat = sum(step.replies for step in steps)
    for outcome in outcomes:
        log = standin.chat_logs[outcome.user.id]
        texts = [m.text for m in standin.messages(outcome.user)]
        if outcome.stuck is None and log.count != per_chat:
            problems.append(f"chat {outcome.user.id}: {log.count} requests, {per_chat} expected")
        if outcome.stuck is None and texts != reference:
            extra = Counter(texts) - Counter(reference)
            missing = Counter(reference) - Counter(texts)
            problems.append(
                f"chat {outcome.user.id}: messages differ from the lone mentee's "
                f"(extra {dict(extra)}, missing {dict(missing)})"
            )
    repeated = {update_id: n for update_id, n in handling.counts.items() if n > 1}
    if repeated:
        problems.append(f"{len(repeated)} update(s) handled more than once: {repeated}")
    failed = Counter(
        (call.method, call.status, call.description)
        for call in standin.requests
        if call.status != 200 and call.method != "getUpdates"
    )
    if failed:
        problems.append(f"failed requests: {dict(failed)}")
    async with running.app.sessions() as db:
        failures = await db.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.failure.is_not(None))
        )
        unhandled = await db.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
        )
        commitments = await db.scalar(select(func.count()).select_from(Commitment))
    if failures:
        problems.append(f"{failures} update(s) failed in the bot (inbox_updates.failure)")
    if unhandled:
        problems.append(f"{unhandled} update(s) stored but not marked handled")
    finished = 1 + sum(o.stuck is None for o in outcomes)
    if commitments != 3 * finished:
        problems.append(f"{commitments} commitments stored, {3 * finished} expected")
    return problems


async def run_bot(name: str, database_url: str, mentees: int, **settings: Any) -> Figures:
    clock = MovableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    async with WatchedStandin() as standin:
        running = await start_bot(standin, database_url, clock, flood_burst=0, **settings)
        try:
            handling = Handling(running)
            renderer = running.app.dispatcher["renderer"]

            def label(value: str) -> str:
                return value if value in PERSONS_OWN else str(renderer.plain(Msg(value), "en"))

            steps, reference = await calibrate(standin, handling, label)
            outcomes, seconds = await crowd(standin, mentees, steps)
            problems = await check_bot(standin, running, steps, reference, outcomes, handling)
        finally:
            await running.stop()
    return figures(name, outcomes, seconds, problems)


# --------------------------------------------------------------------------------------------
# Each bot in its own process (--separate)
# --------------------------------------------------------------------------------------------


def dated_transcript(today: date) -> list[tuple[str, str]]:
    """The GROW transcript with its typed dates moved to come after ``today``: a bot in its
    own process runs on the real clock."""
    moved = {"01.12.2026": (today + timedelta(days=6)).strftime("%d.%m.%Y")}
    moved["2027-01-15"] = (today + timedelta(days=51)).isoformat()
    return [(kind, moved.get(value, value)) for kind, value in GROW_TRANSCRIPT]


async def calibrated(transcript: list[tuple[str, str]]) -> tuple[list[Step], list[str | None]]:
    """The steps and the lone mentee's messages, learnt from the bot in this process."""
    clock = MovableClock(datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as tmp:
        async with WatchedStandin() as standin:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'c.db'}"
            running = await start_bot(standin, url, clock, flood_burst=0)
            try:
                handling = Handling(running)
                renderer = running.app.dispatcher["renderer"]

                def label(value: str) -> str:
                    return value if value in PERSONS_OWN else str(renderer.plain(Msg(value), "en"))

                return await calibrate(standin, handling, label, transcript)
            finally:
                await running.stop()


async def in_own_process(standin: BotAPIStandin, args: list[str], env: dict[str, str]) -> Any:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env={
            **os.environ,
            "BOT_TOKEN": standin.token,
            "TELEGRAM_API_URL": standin.base_url,
            "POLLING_TIMEOUT": "1",
            "LOG_LEVEL": "WARNING",
            "FLOOD_BURST": "0",
            **env,
        },
    )
    await standin.wait_for(lambda: standin.calls("getUpdates"), 60, "the bot to start polling")
    return process


async def stop_process(process: Any) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def echo_crowd(
    standin: WatchedStandin, mentees: int, steps: int
) -> tuple[list[Outcome], float, list[str]]:
    """The echo bot, warmed up as the bot is with its calibrating mentee, then driven by the
    crowd with as many messages as the bot's transcript has steps."""
    warm = await mentee(standin, standin.person(FIRST_USER_ID), [Step("write", "hi", 1)])
    if warm.stuck:
        raise RuntimeError(f"the echo bot does not answer: {warm.stuck}")
    texts = [value for _, value in GROW_TRANSCRIPT][:steps]
    outcomes, seconds = await crowd(standin, mentees, [Step("write", text, 1) for text in texts])
    failed = [c for c in standin.requests if c.status != 200 and c.method != "getUpdates"]
    return outcomes, seconds, [f"{len(failed)} failed request(s)"] if failed else []


async def run_echo_process(mentees: int, steps: int, tuned: bool = False) -> Figures:
    """The bare echo bot; ``tuned``: with the collector set as ``mentorbot run`` sets the
    bot's (``bot.app.tune_gc``), to show how much of the comparison that setting is."""
    async with WatchedStandin() as standin:
        process = await in_own_process(
            standin, ["-m", "tests.bench.echo_bot"], {"ECHO_TUNE_GC": "1" if tuned else ""}
        )
        try:
            outcomes, seconds, problems = await echo_crowd(standin, mentees, steps)
        finally:
            await stop_process(process)
    name = "echo, own, bot's GC" if tuned else "echo, own process"
    return figures(name, outcomes, seconds, problems)


async def run_bot_process(mentees: int) -> Figures:
    transcript = dated_transcript(datetime.now(UTC).date())
    steps, reference = await calibrated(transcript)
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'mentorbot.db'}"
        async with WatchedStandin() as standin:
            process = await in_own_process(
                standin, ["-m", "bot", "run"], {"DATABASE_URL": url, "DATA_DIR": tmp}
            )
            try:
                warm = await mentee(standin, standin.person(FIRST_USER_ID), steps)
                if warm.stuck:
                    raise RuntimeError(f"the bot does not answer: {warm.stuck}")
                outcomes, seconds = await crowd(standin, mentees, steps)
                problems = await check_own_process(standin, url, steps, reference, outcomes)
            finally:
                await stop_process(process)
    return figures("bot, SQLite, own process", outcomes, seconds, problems)


async def check_own_process(
    standin: WatchedStandin,
    url: str,
    steps: list[Step],
    reference: list[str | None],
    outcomes: list[Outcome],
) -> list[str]:
    """Lost or repeated replies, and what the bot's database says once it is done."""
    problems = []
    per_chat = sum(step.replies for step in steps)
    for outcome in outcomes:
        texts = [m.text for m in standin.messages(outcome.user)]
        if outcome.stuck is None and (
            standin.chat_logs[outcome.user.id].count != per_chat or texts != reference
        ):
            problems.append(f"chat {outcome.user.id}: the replies differ from the lone mentee's")
    engine = create_engine(url, TEST_KEYRING)
    try:
        deadline = time.perf_counter() + SETTLE_TIMEOUT
        while True:
            async with create_sessionmaker(engine)() as db:
                unhandled = await db.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.handled_at.is_(None))
                )
                failures = await db.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.failure.is_not(None))
                )
                commitments = await db.scalar(select(func.count()).select_from(Commitment))
            if not unhandled or time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    if unhandled:
        problems.append(f"{unhandled} update(s) stored but not marked handled")
    if failures:
        problems.append(f"{failures} update(s) failed in the bot (inbox_updates.failure)")
    finished = 1 + sum(o.stuck is None for o in outcomes)
    if commitments != 3 * finished:
        problems.append(f"{commitments} commitments stored, {3 * finished} expected")
    return problems


# --------------------------------------------------------------------------------------------
# The echo bot
# --------------------------------------------------------------------------------------------


def echo_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery, bot: Bot) -> None:
        await query.answer()
        await bot.send_message(query.from_user.id, query.data or "?")

    return dispatcher


async def run_echo(mentees: int, steps: int) -> Figures:
    async with WatchedStandin() as standin:
        bot = Bot(
            standin.token, session=AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
        )
        dispatcher = echo_dispatcher()
        polling = asyncio.create_task(
            dispatcher.start_polling(
                bot, polling_timeout=1, handle_as_tasks=True, handle_signals=False
            )
        )
        try:
            outcomes, seconds, problems = await echo_crowd(standin, mentees, steps)
        finally:
            await dispatcher.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)
    return figures("echo (aiogram)", outcomes, seconds, problems)


# --------------------------------------------------------------------------------------------
# The idle bot's memory
# --------------------------------------------------------------------------------------------


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


async def idle_peak_memory() -> float:
    """VmHWM of ``python -m bot run`` after it has polled an empty stand-in IDLE_POLLS times."""
    async with BotAPIStandin(chat_limit=None) as standin:
        with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'mentorbot.db'}"
            process = await in_own_process(
                standin, ["-m", "bot", "run"], {"DATABASE_URL": url, "DATA_DIR": tmp}
            )
            try:
                first = len(standin.calls("getUpdates"))
                await standin.wait_for(
                    lambda: len(standin.calls("getUpdates")) >= first + IDLE_POLLS,
                    10 * IDLE_POLLS,
                    f"{IDLE_POLLS} idle polls",
                )
                return peak_rss_mib(process.pid)
            finally:
                await stop_process(process)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


class Phases:
    """Wall-clock time of each part of the run, printed with the figures."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    async def run(self, label: str, work: Awaitable[T]) -> T:
        print(f"running: {label} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            return await work
        finally:
            self.seconds[label] = time.perf_counter() - start


async def one_round(
    mentees: int, backends: list[str], separate: bool, phases: Phases, number: int
) -> tuple[list[Figures], list[Figures]]:
    """Every configuration once: (in this process, each bot in its own process)."""
    steps = len(GROW_TRANSCRIPT)
    rows = [await phases.run(f"round {number}: echo bot", run_echo(mentees, steps))]
    for backend in backends:
        if backend == "sqlite":
            for sealed in (True, False):
                name = "bot, SQLite" if sealed else CLEAR
                with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as tmp:
                    url = f"sqlite+aiosqlite:///{Path(tmp) / 'mentorbot.db'}"
                    rows.append(
                        await phases.run(
                            f"round {number}: {name}",
                            run_bot(name, url, mentees, encrypt_data=sealed),
                        )
                    )
        else:
            url = await create_postgres_database()
            try:
                rows.append(
                    await phases.run(
                        f"round {number}: bot on PostgreSQL",
                        run_bot("bot, PostgreSQL", url, mentees),
                    )
                )
            finally:
                await drop_postgres_database(url)
    separate_rows = []
    if separate:
        separate_rows.append(
            await phases.run(
                f"round {number}: echo bot, own process", run_echo_process(mentees, steps)
            )
        )
        separate_rows.append(
            await phases.run(
                f"round {number}: bot on SQLite, own process", run_bot_process(mentees)
            )
        )
        separate_rows.append(
            await phases.run(
                f"round {number}: echo bot, own process, the bot's collector setting",
                run_echo_process(mentees, steps, tuned=True),
            )
        )
    return rows, separate_rows


def median_run(runs: list[Figures]) -> Figures:
    """The run of median throughput (the lower middle one of an even number)."""
    return sorted(runs, key=lambda run: run.per_second)[(len(runs) - 1) // 2]


def print_table(title: str, runs: list[list[Figures]]) -> dict[str, float]:
    """Medians over the rounds, each configuration against the echo bot's median; returns
    the ratios by configuration."""
    print(title)
    header = f"{'':<26}{'updates':>9}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
    print(f"{header}{'ratio to echo':>15}   updates/s of each round")
    medians = [median_run([rows[i] for rows in runs]) for i in range(len(runs[0]))]
    echo = medians[0]
    ratios = {}
    for index, row in enumerate(medians):
        ratio = row.per_second / echo.per_second if echo.per_second else float("nan")
        ratios[row.name] = ratio
        each = ", ".join(f"{rows[index].per_second:.0f}" for rows in runs)
        print(
            f"{row.name:<26}{row.updates:>9}{row.per_second:>11.1f}"
            f"{row.percentile(50):>9.1f}{row.percentile(99):>9.1f}{ratio:>15.2f}   {each}"
        )
    return ratios


async def bench(mentees: int, backends: list[str], separate: bool, rounds: int) -> None:
    phases = Phases()
    together: list[list[Figures]] = []
    apart: list[list[Figures]] = []
    for number in range(1, rounds + 1):
        rows, separate_rows = await one_round(mentees, backends, separate, phases, number)
        together.append(rows)
        apart.append(separate_rows)
    memory = await phases.run("idle memory", idle_peak_memory())

    print(
        f"{mentees} mentees at once, each through the GROW session "
        f"({len(GROW_TRANSCRIPT)} steps), {rounds} round(s); medians over the rounds; "
        "latency: update queued -> last request of its reply recorded by the stand-in"
    )
    verdicts = print_table("all in this process:", together)
    if separate:
        verdicts |= print_table(
            "each bot in its own process, the stand-in and the mentees in this one:", apart
        )
    names = [row.name for row in together[0]]
    if CLEAR in names:
        sealed, clear = (
            median_run([rows[names.index(n)] for rows in together]) for n in ("bot, SQLite", CLEAR)
        )
        cost = 1 - sealed.per_second / clear.per_second
        print(
            f"encryption at rest costs {cost:.1%} of throughput (sealed {sealed.per_second:.0f}"
            f" against clear {clear.per_second:.0f} updates/s; at most "
            f"{ENCRYPTION_BUDGET:.0%} allowed: {'within' if cost <= ENCRYPTION_BUDGET else 'OVER'})"
        )
    if separate:
        bot, tuned_echo = (median_run([rows[i] for rows in apart]) for i in (1, 2))
        print(
            f"the bot against the echo bot with the same collector setting: "
            f"{bot.per_second / tuned_echo.per_second:.2f}"
        )
    for name, ratio in verdicts.items():
        if "SQLite" in name and name != CLEAR:
            verdict = "meets" if ratio >= TARGET_RATIO else "does NOT meet"
            print(
                f"target: {name} keeps >= {TARGET_RATIO:.0%} of the echo bot's throughput; "
                f"it keeps {ratio:.0%}, so it {verdict} the target"
            )
    problems = [
        f"PROBLEM (round {number}, {row.name}): {problem}"
        for number, rows in enumerate(together + apart, start=1)
        for row in rows
        for problem in row.problems
    ]
    print("\n".join(problems) if problems else "no lost, repeated or failed replies in any run")
    print(f"idle bot (python -m bot run, SQLite, {IDLE_POLLS} idle polls): VmHWM {memory:.1f} MiB")
    print(f"run time: {sum(phases.seconds.values()):.1f} s in all")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_dialogs")
    parser.add_argument("--mentees", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--separate",
        action="store_true",
        help="also run the echo bot and the bot (SQLite) each in a process of its own",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (medians shown)")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not os.environ.get(POSTGRES_ENV):
        parser.error(f"{POSTGRES_ENV} is not set: run '. .pg/env' (make pg-start) first")
    asyncio.run(bench(args.mentees, backends, args.separate, args.rounds))


if __name__ == "__main__":
    main()

"""Long polling with a durable inbox.

aiogram's own polling confirms an update (moves the offset past it) before its
handler has finished, so an update in flight at a crash would be lost. Here
each update is first stored in the database, then confirmed, then handled; a
stored update that was not marked handled is handled again after a restart,
and an update id already stored is dropped as a repeat.

A person who sends more than a few updates a second (``bot/domain/flood.py``) is asked once
to slow down; the rest of the flood is stored as handled with the reason ``rate_limited``
and never reaches the dispatcher. Only a person's own messages and presses in their chat
with the bot are limited (see ``flood_person``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, GetUpdates
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot import metrics
from bot.domain.flood import FloodLimit, Verdict
from bot.services.clock import Clock
from bot.storage import repositories as repo
from bot.storage.group_commit import GroupWork
from bot.storage.models import InboxUpdate
from bot.supervision import DATABASE_TROUBLE, Outage
from bot.telegram.sender import spoke

log = logging.getLogger(__name__)

OFFSET_KEY = "polling_offset"
# Attempts at an update whose handling met a conflict or the database's trouble: a
# conflict is tried again at once, trouble after a pause (backoff), about half a minute
# in all, so that a database restarting meanwhile costs nobody their message.
RETRIES = 6
RETRYABLE = (StaleDataError, OperationalError, DBAPIError, OSError, TimeoutError)
CONFLICTS = (StaleDataError, IntegrityError)
# inbox_updates.failure of an update dropped by the flood limit (failures hold an
# exception's type, which never looks like this).
RATE_LIMITED = "rate_limited"

# Asks the person (id, Telegram's language code) to slow down.
SlowDown = Callable[[int, str | None], Awaitable[None]]


class RawGetUpdates(GetUpdates):
    """getUpdates answered with the updates as JSON objects, as Telegram sent them: they
    are stored so, and parsed once."""

    __returning__ = list[dict[str, Any]]


def backoff(failures: int) -> float:
    """Seconds to wait after this many failed polls in a row."""
    return min(30.0, 0.5 * 2.0**failures)


def update_person(update: Update) -> int | None:
    """The id of the person the update comes from, to keep each person's updates in order."""
    for event in (
        update.message,
        update.edited_message,
        update.callback_query,
        update.my_chat_member,
        update.poll_answer,
        update.chat_member,
    ):
        user = getattr(event, "from_user", None) or getattr(event, "user", None)
        if user is not None:
            return int(user.id)
    return None


def flood_person(update: Update) -> int | None:
    """The person whose flood limit the update counts against: only their own messages
    (new or edited) in their private chat with the bot and their presses of buttons there.
    Group messages (which the bot only records), membership changes and poll answers are
    never dropped: they are few, cost no reply, or are the bot's record of a group."""
    message = update.message or update.edited_message
    if message is not None:
        user = message.from_user
        if message.chat.type == "private" and user is not None and not user.is_bot:
            return int(user.id)
        return None
    query = update.callback_query
    if query is not None and query.message is not None and query.message.chat.type == "private":
        return int(query.from_user.id)
    return None


def update_language(update: Update) -> str | None:
    """Telegram's language code of the person behind a limited update."""
    event = update.message or update.edited_message or update.callback_query
    user = getattr(event, "from_user", None)
    return getattr(user, "language_code", None)


class DurablePolling:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        concurrency: int = 64,
        timeout: int = 25,
        flood: FloodLimit | None = None,
        slow_down: SlowDown | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.sessions = sessions
        self.clock = clock
        self.timeout = timeout
        self.flood = flood or FloodLimit(0, 0)
        self.slow_down = slow_down
        self.monotonic = monotonic
        self.slots = asyncio.Semaphore(concurrency)
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.waiting: defaultdict[int, int] = defaultdict(int)
        self.tasks: set[asyncio.Task[None]] = set()
        self.stores = GroupWork(sessions)
        # Kept across runs: an outage that outlasted a run is over when the next succeeds.
        self.telegram_trouble = Outage("getUpdates")
        self.storing_trouble = Outage("storing updates")

    async def run(self) -> None:
        """Poll until cancelled: each batch stored, then confirmed, then handled. Trouble
        with Telegram or the database is waited out here, one log line when it starts and
        one when it is over; what else goes wrong ends the run (its supervisor starts it
        again)."""
        await self.handle_pending()
        allowed = self.dispatcher.resolve_used_update_types()
        async with self.sessions() as session:
            offset = int(await repo.get_state(session, OFFSET_KEY) or 0)
        telegram, storing = self.telegram_trouble, self.storing_trouble
        conflicts = 0
        while True:
            try:
                raw = cast(
                    list[dict[str, Any]],
                    await self.bot(
                        RawGetUpdates(
                            offset=offset or None, timeout=self.timeout, allowed_updates=allowed
                        ),
                        request_timeout=self.timeout + 10,
                    ),
                )
                updates = [Update.model_validate(item, context={"bot": self.bot}) for item in raw]
                telegram.over()
                conflicts = 0
            except TelegramConflictError:
                # Another process polls with this token (or a webhook is set): not a crash.
                # One line per run of conflicts; the lease says who should poll.
                if not conflicts:
                    log.warning("getUpdates conflict: another process polls with this token")
                conflicts += 1
                await asyncio.sleep(backoff(conflicts))
                continue
            except (TelegramNetworkError, TelegramServerError) as exc:
                await asyncio.sleep(telegram.failed(exc))
                continue
            if not updates:
                continue
            try:
                new = await self.receive(updates, raw)
            except DATABASE_TROUBLE as exc:
                # Not confirmed: Telegram gives the same batch again at the next poll.
                metrics.DATABASE_ERRORS.inc()
                await asyncio.sleep(storing.failed(exc))
                continue
            storing.over()
            offset = updates[-1].update_id + 1
            for update in updates:
                if update.update_id in new:
                    self.spawn(update)

    async def receive(
        self, updates: list[Update], raw: list[dict[str, Any]], *, polled: bool = True
    ) -> set[int]:
        """Store a batch (the flood limit's drops as handled; with ``polled``, the next
        offset too) and set aside what the limit drops; returns the ids of the new updates
        to handle."""
        verdicts = self.judge(updates)
        dropped = {i: RATE_LIMITED for i, v in verdicts.items() if v is not Verdict.PASS}
        new = await self.store(updates, raw, dropped, polled=polled)
        for update in updates:
            if update.update_id not in new:
                continue
            verdict = verdicts.get(update.update_id, Verdict.PASS)
            if verdict is Verdict.WARN:
                self.track(self.warn(update))
            if verdict is not Verdict.PASS and update.callback_query is not None:
                # A press set aside still stops its button spinning.
                self.track(self.release(update.callback_query.id))
        return {i for i in new if i not in dropped}

    def judge(self, updates: list[Update]) -> dict[int, Verdict]:
        """The flood limit's verdict on each update it applies to, in arrival order."""
        if not self.flood.enabled:
            return {}
        now = self.monotonic()
        verdicts = {}
        for update in updates:
            person = flood_person(update)
            if person is not None:
                album = update.message.media_group_id if update.message else None
                verdicts[update.update_id] = self.flood.check(person, now, album)
        return verdicts

    async def store(
        self,
        updates: list[Update],
        raw: list[dict[str, Any]],
        dropped: dict[int, str] | None = None,
        *,
        polled: bool = True,
    ) -> set[int]:
        """Each update stored as Telegram sent it (``raw``, the JSON as received: dumping
        the parsed model again would cost more than parsing it); a stored one is read
        back with ``Update.model_validate``."""
        rows = [(u.update_id, update_person(u), item) for u, item in zip(updates, raw, strict=True)]
        now = self.clock.now()
        if not polled:
            # Posted one by one: those that come together are stored in one transaction.
            return set(await self.stores.run(lambda db: repo.store_updates(db, rows, now, dropped)))
        async with self.sessions() as session:
            new = await repo.store_updates(session, rows, now, dropped)
            await repo.set_state(session, OFFSET_KEY, str(updates[-1].update_id + 1))
            await session.commit()
        return set(new)

    async def handle_pending(self) -> None:
        """Handle what was stored but not handled before the last stop (or before polling
        stopped for a while). Updates still in hand are finished first: read as pending,
        they would be handled twice."""
        await self.drain()
        async with self.sessions() as session:
            pending = list(
                (await self.readable(session, await repo.pending_updates(session))).values()
            )
        if pending:
            log.info("handling %s update(s) left over from the last run", len(pending))
        for update in pending:
            self.spawn(update)
        await self.drain()

    async def readable(
        self, session: AsyncSession, rows: Sequence[InboxUpdate]
    ) -> dict[int, Update]:
        """The stored updates as updates, by id. One this version cannot read (stored by
        another, say) is marked failed, so that it is not read again at every start or
        sweep and holds up nobody's later ones."""
        updates: dict[int, Update] = {}
        unreadable: list[repo.Handled] = []
        for row in rows:
            try:
                updates[row.update_id] = Update.model_validate(
                    row.payload, context={"bot": self.bot}
                )
            except ValidationError:
                log.error("update %s is stored in a form this version cannot read", row.update_id)
                metrics.UPDATES_FAILED.labels(type="unreadable").inc()
                unreadable.append((row.update_id, self.clock.now(), "unreadable"))
        if unreadable:
            await repo.mark_handled(session, unreadable)
            await session.commit()
        return updates

    def spawn(self, update: Update) -> None:
        self.track(self.handle(update))

    def track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.finished)

    def finished(self, task: asyncio.Task[None]) -> None:
        """A task of ours is done. One that failed is one line with the exception's type:
        left to asyncio, its text would be logged, and that may quote what people wrote."""
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("handling updates failed: %s", type(exc).__name__)

    async def warn(self, update: Update) -> None:
        """Ask the person behind the first dropped update of a flood to slow down (the
        update is stored as dropped already; no transaction is open here)."""
        person = flood_person(update)
        assert person is not None
        log.info("person %s sends too fast: updates dropped for a while", person)
        if self.slow_down is None:
            return
        try:
            await self.slow_down(person, update_language(update))
        except Exception as exc:  # noqa: BLE001 - the request to slow down is best effort
            log.warning("could not ask %s to slow down: %s", person, type(exc).__name__)

    async def release(self, query_id: str) -> None:
        try:
            await self.bot(AnswerCallbackQuery(callback_query_id=query_id))
        except TelegramAPIError as exc:
            log.info("could not answer a press set aside: %s", type(exc).__name__)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def handle(self, update: Update) -> None:
        person = update_person(update)
        if person is None:
            async with self.slots:
                await self.feed(update)
            return
        # One update at a time per person, in arrival order; the lock is dropped when
        # nobody waits for it, so the table does not grow with every person ever seen.
        self.waiting[person] += 1
        try:
            async with self.locks[person], self.slots:
                await self.feed(update)
        finally:
            self.waiting[person] -= 1
            if not self.waiting[person]:
                del self.waiting[person]
                del self.locks[person]

    async def feed(self, update: Update) -> None:
        kind = update.event_type
        started = time.perf_counter()
        for attempt in range(1, RETRIES + 1):
            spoke.set(False)
            try:
                await self.dispatcher.feed_update(self.bot, update)
                metrics.UPDATES_HANDLED.labels(type=kind).inc()
                metrics.HANDLING_SECONDS.observe(time.perf_counter() - started)
                return
            except RETRYABLE as exc:
                metrics.DATABASE_ERRORS.inc()
                # A conflict before anything was sent is safe to run again; after, a second
                # run would say it twice.
                if attempt == RETRIES or spoke.get():
                    await self.give_up(update, exc)
                    return
                log.info("update %s: %s, trying again", update.update_id, type(exc).__name__)
                if not isinstance(exc, CONFLICTS):
                    await asyncio.sleep(backoff(attempt))
            except Exception as exc:  # noqa: BLE001 - one bad update must not stop the bot
                await self.give_up(update, exc)
                return

    async def give_up(self, update: Update, exc: BaseException) -> None:
        # Only the type and the place: an exception's message may quote what people wrote.
        where = "".join(traceback.format_tb(exc.__traceback__, limit=-3)).strip()
        log.error("update %s failed: %s\n%s", update.update_id, type(exc).__name__, where)
        metrics.UPDATES_FAILED.labels(type=update.event_type).inc()
        try:
            async with self.sessions() as session:
                await repo.mark_handled(
                    session, [(update.update_id, self.clock.now(), type(exc).__name__)]
                )
                await session.commit()
        except DATABASE_TROUBLE as trouble:
            # Still stored as not handled: it is handled again when polling starts again
            # (or by the webhook's sweep), so the person is not told it failed.
            log.warning("update %s left for later: %s", update.update_id, type(trouble).__name__)
            return
        if update.callback_query is not None:
            await self.release(update.callback_query.id)
        await self.apologise(update)

    async def apologise(self, update: Update) -> None:
        notify: Any = self.dispatcher.workflow_data.get("notify_failure")
        if notify is not None and (person := update_person(update)) is not None:
            try:
                await notify(person)
            except Exception:  # noqa: BLE001 - the apology is best effort
                log.warning("could not tell %s that their message failed", person)


POLLER_KEY = "poller"


class PollerLease:
    """Which ``run`` process polls: the one holding the lease row in ``bot_state``
    (``<expiry>|<owner>``, the expiry first so that text order is time order), renewed
    while it polls. A process whose lease ran out (it died, or lost the database) is
    replaced by the first other one to find it expired. A row, not a PostgreSQL lock, so
    that processes sharing one SQLite file elect one too. Wall-clock time: processes on
    several machines need their clocks in sync (NTP) to well within the lease."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        seconds: float,
        owner: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.seconds = seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.now = now

    # The row in bot_state.
    key = POLLER_KEY
    stamp = staticmethod(repo.moment_text)

    async def hold(self) -> bool:
        """Take the lease if it is free or has run out, or renew it if it is ours: True
        if this process holds it now."""
        now = self.now()
        value = f"{self.stamp(now + timedelta(seconds=self.seconds))}|{self.owner}"
        try:
            async with self.sessions() as db:
                taken = await repo.take_lease(db, self.key, value, self.stamp(now), self.owner)
                await db.commit()
        except IntegrityError:
            return False  # another process stored the first lease at the same moment
        return taken

    async def release(self) -> None:
        """Let another process take over at once (a clean stop)."""
        async with self.sessions() as db:
            expired = f"{self.stamp(self.now() - timedelta(seconds=self.seconds))}|"
            await repo.take_lease(db, self.key, expired, "", self.owner)
            await db.commit()


async def poll_while_elected(polling: DurablePolling, lease: PollerLease) -> None:
    """Poll while this process holds the lease; stand by (checking every third of the
    lease) while another does, or while the database cannot be reached. A process that
    cannot renew stops polling before its lease runs out, so two never poll at once for
    long. Polling that fails otherwise ends this (its supervisor starts it again)."""
    every = lease.seconds / 3
    renewing = Outage("the polling lease")
    try:
        while True:
            if await hold_quietly(lease, renewing):
                log.info("this process polls Telegram now")
                metrics.POLLER.set(1)
                poll = asyncio.create_task(polling.run())
                try:
                    while not poll.done():
                        await asyncio.wait({poll}, timeout=every)
                        if not poll.done() and not await hold_quietly(lease, renewing):
                            if renewing.failing is None:
                                log.warning(
                                    "the polling lease went to another process: standing by"
                                )
                            break
                finally:
                    metrics.POLLER.set(0)
                    poll.cancel()
                    await asyncio.gather(poll, return_exceptions=True)
                failure = None if poll.cancelled() else poll.exception()
                if failure is not None:
                    raise failure
            await asyncio.sleep(every)
    finally:
        with contextlib.suppress(Exception):
            await lease.release()


async def hold_quietly(lease: PollerLease, renewing: Outage) -> bool:
    """The lease, or False when the database cannot be reached (then another process,
    which can, takes over); the outage is one line when it starts, one when it is over."""
    try:
        held = await lease.hold()
    except DATABASE_TROUBLE as exc:
        metrics.DATABASE_ERRORS.inc()
        renewing.failed(exc)
        return False
    renewing.over()
    return held

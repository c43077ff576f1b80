"""The one way out for messages the bot starts: check-ins, introductions, relayed
messages, broadcasts. Each is an outbox row before it is sent; this worker claims
due rows, paces them within Telegram's limits and records the outcome. Of the processes
on one database, one sends at a time (the holder of the sender's lease), so the rate and
each chat's pace hold for all of them together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.methods import (
    CopyMessage,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendPoll,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageId,
)
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.calendar import CalendarEvent, calendar_file
from bot.domain.pacing import ChatSchedule, send_rate
from bot.domain.texts import msg_from_json
from bot.services.clock import Clock
from bot.storage import broadcasts as groups
from bot.storage import repositories as repo
from bot.storage.group_commit import GroupCommit
from bot.storage.models import Outgoing
from bot.supervision import Outage
from bot.telegram.polling import PollerLease
from bot.telegram.render import Renderer, split_html
from bot.telegram.sender import MAX_RETRIES, SharedPause, paced

log = logging.getLogger(__name__)

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "copyMessage": CopyMessage,
    "sendPhoto": SendPhoto,
    "sendDocument": SendDocument,
    "sendPoll": SendPoll,
}
# A message whose chat is booked further ahead than this goes back to the queue
# instead of holding a place in the batch.
MAX_HOLD_SECONDS = 5.0
STOP_GRACE_SECONDS = 15.0

Undeliverable = Callable[[Outgoing, str], Awaitable[None]]
# Of the claimed rows, returns those to send now, having changed the others in place (to
# wait, or not to go at all).
Gate = Callable[[AsyncSession, list[Outgoing], datetime], Awaitable[list[Outgoing]]]
# Told of each sent row and what Telegram returned, in the transaction that records it.
Sent = Callable[[AsyncSession, Outgoing, Any], Awaitable[None]]


# The database restarting or out of reach, not a fault of the outcome being written.
NOT_THE_ROWS = (OperationalError, InterfaceError, OSError, TimeoutError)


class SenderLease(PollerLease):
    """Which process sends the outbox: the one holding this lease (taken, renewed and given
    up as the poller's is). One sender, not a rate shared between senders: the rate, each
    chat's one a second and each group's twenty a minute are then one process's pacing."""

    key = "sender"


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        rate: float = 25.0,
        batch: int = 200,
        lease: timedelta = timedelta(seconds=15),
        on_undeliverable: Undeliverable | None = None,
        renderer: Renderer | None = None,
        gate: Gate | None = None,
        on_sent: Sent | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        paused: Callable[[], float] | None = None,
        election: SenderLease | None = None,
        shared: SharedPause | None = None,
    ) -> None:
        self.bot = bot
        self.gate = gate
        self.on_sent = on_sent
        self.renderer = renderer
        self.sessions = sessions
        self.clock = clock
        # No burst: in any second at most ``rate`` go, however long it was quiet before.
        self.everyone = send_rate(rate, monotonic())
        self.chats = ChatSchedule()
        self.batch = batch
        self.lease = lease
        # Half a second's worth: a claim is sent out before the next is taken, so a
        # person's own message (claimed first) never waits behind a broadcast's batch.
        self.claim_size = max(1, min(batch, int(rate / 2)))
        self.on_undeliverable = on_undeliverable
        self.monotonic = monotonic
        self.sleep = sleep
        # Seconds Telegram still wants every request held back (a 429's retry_after):
        # no turn is given meanwhile, so the backlog does not burst out when it ends.
        self.paused = paused
        # Broadcasts a coordinator cancelled: their rows already claimed do not go.
        self.cancelled_broadcasts: set[int] = set()
        self.wakeup = asyncio.Event()
        self.pace = asyncio.Lock()
        # The rows being sent, and when each was claimed or its claim last renewed
        # (monotonic seconds, by row id).
        self.sending: dict[Outgoing, asyncio.Task[None]] = {}
        self.renewed_at: dict[int, float] = {}
        self.heartbeat: asyncio.Task[None] | None = None
        self.outcomes: GroupCommit[Settled] = GroupCommit(sessions, settle)
        self.recording = Outage("recording what the outbox sent", longest_pause=1.0)
        # Chats with a message put back until its turn, and when it is due.
        self.put_back: dict[int, datetime] = {}
        # Rows being sent whose lease another process took over: they do not go from here.
        self.lost: set[int] = set()
        self.renewing = asyncio.Lock()
        # With no election (a sender of its own, in tests), this process always sends.
        self.election = election
        self.elected = election is None
        # A bot-wide pause another process met, heard as often as the loop turns.
        self.shared = shared

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        self.wakeup.set()

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Send while this process holds the sender's lease; otherwise stand by, ready to
        take over when the sender stops (its lease runs out). A claim follows the last as
        soon as the last one's messages have had their turns at the rate, not when all of
        them have gone: one waiting out its chat's 429 or its chat's pace holds up no one."""
        keeping = None
        if self.election is not None:
            await self._hold()
            keeping = asyncio.create_task(self._keep_elected(self.election))
        try:
            while True:
                self.wakeup.clear()
                if self.shared is not None:
                    await self.shared.hear()
                if self.elected:
                    claimed, turns = await self._claim()
                    # The next claim is made while the last few turns are still to come,
                    # so the rate does not idle while it is being made.
                    waiting = set(turns)
                    while len(waiting) > self.claim_size // 4:
                        _, waiting = await asyncio.wait(
                            waiting, return_when=asyncio.FIRST_COMPLETED
                        )
                    if claimed:
                        continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), idle_seconds)
        finally:
            await self._finish()
            if keeping is not None and self.election is not None:
                keeping.cancel()
                with contextlib.suppress(Exception):
                    await self.election.release()

    async def _keep_elected(self, election: SenderLease) -> None:
        """Renew the lease (or try to take it) every third of it. A process that cannot
        renew stops claiming before its lease runs out, so two never send for long."""
        while True:
            await asyncio.sleep(election.seconds / 3)
            if await self._hold():
                self.wake()

    async def _hold(self) -> bool:
        """Take or renew the sender's lease; True if this process has just become the
        sender."""
        assert self.election is not None
        before = self.elected
        try:
            self.elected = await self.election.hold()
        except (SQLAlchemyError, OSError) as exc:
            if not isinstance(exc, IntegrityError):  # another process stored it first
                log.warning("could not renew the sender's lease: %s", type(exc).__name__)
            self.elected = False
        if self.elected != before:
            log.info("this process %s", "sends the outbox now" if self.elected else "stands by")
        return self.elected and not before

    async def tick(self) -> int:
        """Claim what is due and send it, until every message claimed has gone; returns how
        many rows were claimed."""
        claimed, _ = await self._claim()
        try:
            while self.sending:
                await asyncio.wait(list(self.sending.values()))
        finally:
            await self._finish()
        return claimed

    async def _finish(self) -> None:
        """Let what is in flight finish and be recorded (or it would be sent again after the
        lease), then stop renewing claims."""
        if self.sending:
            await asyncio.wait(list(self.sending.values()), timeout=STOP_GRACE_SECONDS)
        if self.heartbeat is not None and not self.sending:
            self.heartbeat.cancel()
            self.heartbeat = None

    async def _claim(self) -> tuple[int, list[asyncio.Future[None]]]:
        """Claim what is due and start sending it: how many rows were claimed, and a future
        for each message that goes at once, done when it has had its turn at the rate."""
        async with self.sessions() as db:
            now_at = self.clock.now()
            rows = await repo.claim_outgoing(db, now_at, self.claim_size, self.lease)
            claimed = len(rows)
            if rows and self.gate is not None:
                rows = await self.gate(db, rows, now_at)
            await db.commit()
        now = self.monotonic()
        turns: list[asyncio.Future[None]] = []
        for row in rows:
            earlier = self.put_back.get(row.chat_id)
            if earlier is not None and earlier <= now_at:
                del self.put_back[row.chat_id]
            elif earlier is not None:
                # An earlier message to this chat waits for its turn: this one goes after it
                # (at the same due time, and rows of one due time go in the order written).
                await self._settle(row, "pending", due_at=earlier)
                continue
            delay = self.chats.reserve(row.chat_id, now)
            if delay > MAX_HOLD_SECONDS:
                self.chats.release(row.chat_id, delay, now)
                later = self.clock.now() + timedelta(seconds=delay)
                self.put_back[row.chat_id] = later
                await self._settle(row, "pending", due_at=later)
                continue
            turn = asyncio.get_running_loop().create_future()
            if delay == 0:
                turns.append(turn)
            self.renewed_at[row.id] = now
            task = asyncio.create_task(self.deliver(row, delay, turn))
            self.sending[row] = task
            task.add_done_callback(functools.partial(self._delivered, row))
        if self.sending and self.heartbeat is None:
            self.heartbeat = asyncio.create_task(self._keep_claims())
        return claimed, turns

    def _delivered(self, row: Outgoing, task: asyncio.Task[None]) -> None:
        del self.sending[row]
        self.renewed_at.pop(row.id, None)
        if not task.cancelled() and task.exception() is not None:
            # The row stays claimed and goes again when its lease runs out.
            log.error("outbox delivery failed: %s", type(task.exception()).__name__)

    async def _keep_claims(self) -> None:
        """Renew the lease of the rows being sent, every third of it, so that the lease can
        be short: a process that died has its rows sent by another soon after. A row whose
        lease was lost (taken over meanwhile) is not renewed, and the check before sending
        finds it is not ours."""
        every = self.lease.total_seconds() / 3
        while True:
            await self.sleep(every)
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                for row in list(self.sending):
                    await self._renew(row)

    async def _take_turn(self, delay: float, row: Outgoing) -> bool:
        """Wait for the row's moment; False if its broadcast was cancelled meanwhile."""
        if delay > 0:
            await self.sleep(delay)
        async with self.pace:
            if row.broadcast_id in self.cancelled_broadcasts:
                return False
            paused = False
            while self.paused is not None and (pause := self.paused()) > 0:
                await self.sleep(pause)
                paused = True
            if paused:
                # What was not sent during the pause is not sent at once after it.
                self.everyone.empty(self.monotonic())
            wait = self.everyone.wait(self.monotonic())
            if wait > 0:
                await self.sleep(wait)
            self.everyone.take(self.monotonic())
        return True

    async def deliver(
        self, row: Outgoing, delay: float = 0.0, turn: asyncio.Future[None] | None = None
    ) -> None:
        try:
            taken = await self._take_turn(delay, row)
        finally:
            if turn is not None:
                turn.set_result(None)
        if not taken:
            await self._settle(row, "cancelled")
            return
        if row.id in self.lost or not await self._still_ours(row):
            self.lost.discard(row.id)
            log.warning("outbox %s was taken over by another process", row.id)
            return
        try:
            result = await self._send(row)
        except TelegramForbiddenError:
            await self._settle(row, "unreachable", error="blocked")
            if self.on_undeliverable is not None:
                await self.on_undeliverable(row, "unreachable")
            return
        except TelegramMigrateToChat as exc:
            # The group became a supergroup with a new id: it goes there, and so does what
            # waits for the group.
            async with self.sessions() as db:
                await groups.group_moved(db, row.chat_id, exc.migrate_to_chat_id, self.clock.now())
                await db.commit()
            await self._settle(
                row, "pending", chat_id=exc.migrate_to_chat_id, due_at=self.clock.now()
            )
            return
        except TelegramBadRequest as exc:
            # Telegram will refuse it again however often it is sent.
            log.warning("outbox %s refused: %s", row.id, type(exc).__name__)
            await self._settle(row, "failed", error=exc.message[:200])
            if self.on_undeliverable is not None:
                await self.on_undeliverable(row, "failed")
            return
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            # Passing trouble (network, server, repeated 429): try again shortly.
            log.warning("outbox %s: %s, will retry", row.id, type(exc).__name__)
            await self._settle(
                row,
                "pending",
                error=type(exc).__name__,
                due_at=self.clock.now() + timedelta(seconds=30),
            )
            return
        message_id = result.message_id if isinstance(result, Message | MessageId) else None
        await self._settle(row, "sent", sent_message_id=message_id, result=result)

    async def _send(self, row: Outgoing) -> Any:
        """The row's requests, in order. One that met a pause for the whole bot goes again at
        a new turn once the pause is over, behind those already waiting for theirs."""
        result = None
        for method in self._requests(row):
            attempt = 0
            while True:
                attempt += 1
                marked = paced.set(True)
                try:
                    result = await self.bot(method)
                    break
                except TelegramRetryAfter:
                    if attempt > MAX_RETRIES:
                        raise
                finally:
                    paced.reset(marked)
                await self._take_turn(0.0, row)
        return result

    def _requests(self, row: Outgoing) -> list[TelegramMethod[Any]]:
        """The Bot API requests for a row. A row may hold a message id and the reader's
        language instead of text: it is rendered now, split if it is long."""
        payload = dict(row.payload)
        if "msg" in payload or "parts" in payload:
            assert self.renderer is not None, "an outbox with messages needs a renderer"
            locale = payload.pop("locale")
            invitation = payload.pop("invitation", None)
            # Several messages merged into one are several parts, each with its buttons.
            parts = payload.pop("parts", None) or [
                {"msg": payload.pop("msg"), "buttons": payload.pop("buttons", [])}
            ]
            text = "\n\n".join(
                self.renderer.text(msg_from_json(part["msg"]), locale) for part in parts
            )
            keyboard = [
                [
                    InlineKeyboardButton(
                        text=self.renderer.plain(msg_from_json(b["msg"]), locale),
                        callback_data=b["data"],
                    )
                    for b in button_row
                ]
                for part in parts
                for button_row in part.get("buttons", [])
            ]
            markup = InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None
            chunks = split_html(text)
            # The buttons go under the last part.
            requests: list[TelegramMethod[Any]] = [
                SendMessage(
                    chat_id=row.chat_id,
                    text=chunk,
                    reply_markup=markup if n == len(chunks) - 1 else None,
                    **payload,
                )
                for n, chunk in enumerate(chunks)
            ]
            if invitation is not None:
                requests.append(self._invitation(row.chat_id, invitation, locale))
            return requests
        return [METHODS[row.method].model_validate({"chat_id": row.chat_id, **payload})]

    def _invitation(self, chat_id: int, data: dict[str, Any], locale: str) -> SendDocument:
        """A meeting's .ics file, its texts in the reader's language."""
        assert self.renderer is not None
        invitation = CalendarEvent.from_json(data)
        content = calendar_file(
            invitation,
            self.renderer.plain(invitation.summary, locale),
            self.renderer.plain(invitation.description, locale) if invitation.description else "",
            self.clock.now(),
        )
        return SendDocument(
            chat_id=chat_id, document=BufferedInputFile(content, invitation.file_name)
        )

    async def _still_ours(self, row: Outgoing) -> bool:
        """Nobody else can take a row before its lease runs out: only a row that has
        waited here for half of it is checked (and its lease renewed)."""
        renewed = self.renewed_at.get(row.id)
        if renewed is not None and self.monotonic() - renewed < self.lease.total_seconds() / 2:
            return True
        return await self._renew(row)

    async def _renew(self, row: Outgoing) -> bool:
        """Start the row's lease again if it is still ours; if another process took it
        over, it is ``lost``. One renewal at a time (one row a transaction, so renewing
        never deadlocks with the outcomes being written): the heartbeat and the check
        before sending never take each other's renewal for a takeover."""
        async with self.renewing:
            claimed_at = row.claimed_at
            assert claimed_at is not None
            now = self.clock.now()
            async with self.sessions() as db:
                ours = await repo.renew_claim(db, row.id, claimed_at, now)
                await db.commit()
            if ours:
                row.claimed_at = now
                if row.id in self.renewed_at:
                    self.renewed_at[row.id] = self.monotonic()
            else:
                self.lost.add(row.id)
            return ours

    async def _settle(self, row: Outgoing, status: str, result: Any = None, **details: Any) -> None:
        told = None
        if self.on_sent is not None and result is not None:
            on_sent = self.on_sent

            async def told(db: AsyncSession) -> None:
                await on_sent(db, row, result)

        outcome = (row.id, status, self.clock.now(), details)
        # What Telegram has accepted must be recorded, or it would go again once the
        # row's lease ran out: while the database is away, it is tried again (soon, so
        # that it is written before another process could take the row over).
        while True:
            try:
                await self.outcomes.add((outcome, told))
            except NOT_THE_ROWS as exc:
                await self.sleep(self.recording.failed(exc))
                continue
            self.recording.over()
            return


Told = Callable[[AsyncSession], Awaitable[None]]
Settled = tuple[repo.Outcome, Told | None]


async def settle(db: AsyncSession, batch: list[Settled]) -> None:
    """Record outcomes, and run what each asks to run (``told``) in the same transaction."""
    await repo.settle_outgoing(db, [outcome for outcome, _ in batch])
    for _, then in batch:
        if then is not None:
            await then(db)

"""The one way out for messages the bot starts: check-ins, introductions, relayed
messages, broadcasts. Each is an outbox row before it is sent; this worker claims
due rows, paces them within Telegram's limits and records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import CopyMessage, SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageId
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.pacing import ChatSchedule, TokenBucket
from bot.domain.texts import msg_from_json
from bot.services.clock import Clock
from bot.storage import repositories as repo
from bot.storage.models import Outgoing
from bot.telegram.render import Renderer, split_html

log = logging.getLogger(__name__)

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "copyMessage": CopyMessage,
    "sendPhoto": SendPhoto,
    "sendDocument": SendDocument,
}
# A message whose chat is booked further ahead than this goes back to the queue
# instead of holding a place in the batch.
MAX_HOLD_SECONDS = 5.0
STOP_GRACE_SECONDS = 15.0

Undeliverable = Callable[[Outgoing, str], Awaitable[None]]
# Decides, for claimed rows, which must wait (a new due time) or not go at all (None).
Gate = Callable[[AsyncSession, list[Outgoing], datetime], Awaitable[dict[int, datetime | None]]]


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        rate: float = 25.0,
        batch: int = 200,
        lease: timedelta = timedelta(seconds=90),
        on_undeliverable: Undeliverable | None = None,
        renderer: Renderer | None = None,
        gate: Gate | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        paused: Callable[[], float] | None = None,
    ) -> None:
        self.bot = bot
        self.gate = gate
        self.renderer = renderer
        self.sessions = sessions
        self.clock = clock
        self.everyone = TokenBucket(rate, burst=max(1.0, rate / 5), updated=monotonic())
        self.chats = ChatSchedule()
        self.batch = batch
        self.lease = lease
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

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        self.wakeup.set()

    async def run(self, idle_seconds: float = 1.0) -> None:
        while True:
            self.wakeup.clear()
            if await self.tick():
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), idle_seconds)

    async def tick(self) -> int:
        """Claim what is due and send it; returns how many rows were claimed."""
        async with self.sessions() as db:
            now_at = self.clock.now()
            rows = await repo.claim_outgoing(db, now_at, self.batch, self.lease)
            if rows and self.gate is not None:
                held = await self.gate(db, rows, now_at)
                for row in rows:
                    if row.id in held:
                        later = held[row.id]
                        row.status = "cancelled" if later is None else "pending"
                        row.due_at = later or row.due_at
                rows = [row for row in rows if row.id not in held]
            await db.commit()
        if not rows:
            return 0
        now = self.monotonic()
        sending = []
        for row in rows:
            delay = self.chats.reserve(row.chat_id, now)
            if delay > MAX_HOLD_SECONDS:
                self.chats.release(row.chat_id, delay, now)
                await self._settle(
                    row, "pending", due_at=self.clock.now() + timedelta(seconds=delay)
                )
                continue
            sending.append(asyncio.create_task(self.deliver(row, delay)))
        if sending:
            try:
                await asyncio.wait(sending)
            except asyncio.CancelledError:
                # Stopping: let what is in flight finish and be recorded, or it would be
                # sent again after the lease.
                await asyncio.wait(sending, timeout=STOP_GRACE_SECONDS)
                raise
            for task in sending:
                error = task.exception()
                if error is not None:
                    # The row stays claimed and goes again when its lease runs out.
                    log.error("outbox delivery failed: %s", type(error).__name__)
        return len(rows)

    async def _take_turn(self, delay: float, row: Outgoing) -> bool:
        """Wait for the row's moment; False if its broadcast was cancelled meanwhile."""
        if delay > 0:
            await self.sleep(delay)
        async with self.pace:
            if row.broadcast_id in self.cancelled_broadcasts:
                return False
            while self.paused is not None and (pause := self.paused()) > 0:
                await self.sleep(pause)
            wait = self.everyone.wait(self.monotonic())
            if wait > 0:
                await self.sleep(wait)
            self.everyone.take(self.monotonic())
        return True

    async def deliver(self, row: Outgoing, delay: float = 0.0) -> None:
        if not await self._take_turn(delay, row):
            await self._settle(row, "cancelled")
            return
        try:
            result = None
            for method in self._requests(row):
                result = await self.bot(method)
        except TelegramForbiddenError:
            await self._settle(row, "unreachable", error="blocked")
            if self.on_undeliverable is not None:
                await self.on_undeliverable(row, "unreachable")
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
        await self._settle(row, "sent", sent_message_id=message_id)

    def _requests(self, row: Outgoing) -> list[TelegramMethod[Any]]:
        """The Bot API requests for a row. A row may hold a message id and the reader's
        language instead of text: it is rendered now, split if it is long."""
        payload = dict(row.payload)
        if "msg" in payload:
            assert self.renderer is not None, "an outbox with messages needs a renderer"
            locale = payload.pop("locale")
            parts = split_html(self.renderer.text(msg_from_json(payload.pop("msg")), locale))
            markup = None
            if "buttons" in payload:
                markup = InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=self.renderer.plain(msg_from_json(b["msg"]), locale),
                                callback_data=b["data"],
                            )
                            for b in row
                        ]
                        for row in payload.pop("buttons")
                    ]
                )
            # The buttons go under the last part.
            return [
                SendMessage(
                    chat_id=row.chat_id,
                    text=part,
                    reply_markup=markup if n == len(parts) - 1 else None,
                    **payload,
                )
                for n, part in enumerate(parts)
            ]
        return [METHODS[row.method].model_validate({"chat_id": row.chat_id, **payload})]

    async def _settle(self, row: Outgoing, status: str, **details: Any) -> None:
        async with self.sessions() as db:
            await repo.settle_outgoing(db, row.id, status, self.clock.now(), **details)
            await db.commit()

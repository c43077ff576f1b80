"""A broadcast while it goes out: one status message to its coordinator, edited in place
every few seconds (a progress bar, the counts, the rate, the time left, a Cancel button),
then a delivery report with the people it did not reach as a CSV document."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import broadcast as b
from bot.domain.spreadsheet import csv_text
from bot.domain.texts import N_, Msg
from bot.services.broadcasts import BroadcastService
from bot.services.clock import Clock
from bot.storage import broadcasts as store
from bot.storage.models import Broadcast, Person
from bot.telegram.buttons import BroadcastCancel
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer

log = logging.getLogger(__name__)


def cancel_button(broadcast_id: int, label: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=BroadcastCancel(draft=broadcast_id))
    return builder.as_markup()


class BroadcastMonitor:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        broadcasts: BroadcastService,
        renderer: Renderer,
        outbox: OutboxSender,
        *,
        timezone: str = "Europe/Riga",
        every_seconds: float = 2.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.broadcasts = broadcasts
        self.renderer = renderer
        self.outbox = outbox
        self.zone = ZoneInfo(timezone)
        self.every_seconds = every_seconds
        self.monotonic = monotonic
        # By broadcast: (moment, messages done) when first seen going out, for the rate.
        self.started: dict[int, tuple[float, int]] = {}
        self.shown: dict[int, str] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except (TelegramAPIError, OSError) as exc:
                log.warning("broadcast status: %s", type(exc).__name__)
            await asyncio.sleep(self.every_seconds)

    async def tick(self) -> None:
        """Bring every running broadcast's status message up to date; report the ended."""
        async with self.sessions() as db:
            for broadcast in await store.running(db):
                await self._follow(db, broadcast)

    async def _follow(self, db: AsyncSession, broadcast: Broadcast) -> None:
        """Read and write what it needs, commit, and only then talk to Telegram: no
        transaction is open during a request."""
        now = self.clock.now()
        if broadcast.status == "cancelled":
            self.outbox.cancelled_broadcasts.add(broadcast.id)
        if broadcast.status == "scheduled" and broadcast.send_at and broadcast.send_at <= now:
            broadcast.status = "sending"
        progress = await self.broadcasts.progress(db, broadcast)
        coordinator = await db.get(Person, broadcast.coordinator_id)
        locale = self.broadcasts.locale(coordinator) if coordinator else "en"
        finished = progress.left == 0 and broadcast.status in ("sending", "cancelled")
        if finished and broadcast.status == "sending":
            broadcast.status = "done"
        text = self.status_text(broadcast, progress, locale, finished)
        markup = (
            None
            if finished
            else cancel_button(
                broadcast.id, self.renderer.gettext(N_("✖ Cancel the broadcast"), locale)
            )
        )
        # Another worker's monitor may see it finish too: one of them reports it.
        reporting = finished and await store.claim_report(db, broadcast.id, now)
        missed = await store.undelivered(db, broadcast.id) if reporting else []
        await db.commit()
        if broadcast.status_message_id is not None and self.shown.get(broadcast.id) != text:
            try:
                await self.bot.edit_message_text(
                    text,
                    chat_id=broadcast.coordinator_id,
                    message_id=broadcast.status_message_id,
                    reply_markup=markup,
                )
            except TelegramAPIError as exc:
                # Not modified, deleted by the coordinator, or they blocked the bot: the
                # broadcast goes on all the same.
                if not (isinstance(exc, TelegramBadRequest) and "not modified" in exc.message):
                    log.warning("broadcast %s status: %s", broadcast.id, type(exc).__name__)
            self.shown[broadcast.id] = text
        if reporting:
            self.started.pop(broadcast.id, None)
            self.shown.pop(broadcast.id, None)
            await self.report(broadcast, progress, locale, missed)

    def status_text(
        self, broadcast: Broadcast, progress: b.Progress, locale: str, finished: bool
    ) -> str:
        def say(msg: Msg) -> str:
            return self.renderer.text(msg, locale)

        lines = [
            say(
                Msg(
                    N_("📣 Broadcast #{number} to {total} recipients"),
                    {"number": broadcast.id, "total": progress.total},
                )
            )
        ]
        if broadcast.status == "scheduled" and broadcast.send_at is not None:
            when = broadcast.send_at.astimezone(self.zone).strftime("%d.%m.%Y %H:%M")
            lines.append(say(Msg(N_("Scheduled for {when}."), {"when": when})))
            return "\n".join(lines)
        lines.append(b.progress_bar(progress.done, progress.total))
        lines.append(
            say(
                Msg(
                    N_(
                        "Sent: {sent} · failed: {failed} · unreachable: {unreachable} · "
                        "left: {left}"
                    ),
                    {
                        "sent": progress.sent,
                        "failed": progress.failed,
                        "unreachable": progress.unreachable,
                        "left": progress.left,
                    },
                )
            )
        )
        if finished:
            if progress.cancelled:
                lines.append(
                    say(Msg(N_("Cancelled: {count} not sent."), {"count": progress.cancelled}))
                )
            else:
                lines.append(say(Msg(N_("Finished."))))
            return "\n".join(lines)
        if broadcast.status == "cancelled":
            lines.append(say(Msg(N_("Cancelling: what is already on its way still goes."))))
            return "\n".join(lines)
        moment = self.monotonic()
        first = self.started.setdefault(broadcast.id, (moment, progress.done))
        elapsed = moment - first[0]
        rate = (progress.done - first[1]) / elapsed if elapsed > 0 else 0.0
        left = b.seconds_left(progress.left, rate)
        lines.append(
            say(
                Msg(
                    N_("{rate} a second · about {seconds} s left"),
                    {"rate": f"{rate:.1f}", "seconds": str(left)},
                )
            )
            if left is not None
            else say(Msg(N_("Starting…")))
        )
        return "\n".join(lines)

    async def report(
        self,
        broadcast: Broadcast,
        progress: b.Progress,
        locale: str,
        missed: list[tuple[int, str, str, str]],
    ) -> None:
        """The delivery report, and the recipients it did not reach as a CSV document."""
        await self.bot.send_message(
            broadcast.coordinator_id,
            self.renderer.text(
                Msg(
                    N_(
                        "📣 Broadcast #{number} is over: {sent} sent, {failed} failed, "
                        "{unreachable} unreachable, {cancelled} cancelled (of {total})."
                    ),
                    {
                        "number": broadcast.id,
                        "sent": progress.sent,
                        "failed": progress.failed,
                        "unreachable": progress.unreachable,
                        "cancelled": progress.cancelled,
                        "total": progress.total,
                    },
                ),
                locale,
            ),
        )
        if not missed:
            return
        table = csv_text(["telegram_id", "first_name", "status", "reason"], missed)
        await self.bot.send_document(
            broadcast.coordinator_id,
            BufferedInputFile(table.encode(), filename=f"broadcast-{broadcast.id}-unreached.csv"),
            caption=self.renderer.text(
                Msg(N_("Those broadcast #{number} did not reach."), {"number": broadcast.id}),
                locale,
            ),
        )

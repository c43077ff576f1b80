"""A broadcast while it goes out: one status message to its coordinator, edited in place
every few seconds (a progress bar, the counts, the rate and the time left as the database
says it really went over the last seconds, or that it waits for a stopped sender, a Cancel
button), then a delivery report with the people it did not reach as a CSV document."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import broadcast as b
from bot.domain.spreadsheet import csv_text
from bot.domain.texts import N_, Msg, plural_msg
from bot.services.broadcasts import BroadcastService
from bot.services.clock import Clock
from bot.storage import broadcasts as store
from bot.storage.models import Broadcast, Person
from bot.telegram.buttons import BroadcastCancel
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer

log = logging.getLogger(__name__)

# The rate shown is that of the messages sent over this long.
RATE_WINDOW = timedelta(seconds=10)


@dataclass(frozen=True)
class Pace:
    """How a broadcast is going: messages a second over the last seconds, and, when some of
    its rows are held by a process that stopped (its claim not renewed for half the lease),
    the seconds until another process takes them over."""

    rate: float
    takeover_seconds: float | None = None


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
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.broadcasts = broadcasts
        self.renderer = renderer
        self.outbox = outbox
        self.zone = ZoneInfo(timezone)
        self.every_seconds = every_seconds
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
        locale = (
            self.broadcasts.locale(coordinator) if coordinator else self.broadcasts.default_locale
        )
        finished = progress.left == 0 and broadcast.status in ("sending", "cancelled")
        if finished and broadcast.status == "sending":
            broadcast.status = "done"
        pace = await self.pace(db, broadcast.id, now)
        text = self.status_text(broadcast, progress, locale, finished, pace)
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
            self.shown.pop(broadcast.id, None)
            await self.report(broadcast, progress, locale, missed)

    async def pace(self, db: AsyncSession, broadcast_id: int, now: datetime) -> Pace:
        sent, first = await store.recently_sent(db, broadcast_id, now - RATE_WINDOW)
        rate = sent / max((now - first).total_seconds(), 1.0) if first is not None else 0.0
        claimed = await store.oldest_claim(db, broadcast_id)
        lease = self.outbox.lease
        if claimed is None or claimed >= now - lease / 2:
            return Pace(rate)
        return Pace(rate, max(0.0, (claimed + lease - now).total_seconds()))

    def status_text(
        self,
        broadcast: Broadcast,
        progress: b.Progress,
        locale: str,
        finished: bool,
        pace: Pace,
    ) -> str:
        def say(msg: Msg) -> str:
            return self.renderer.text(msg, locale)

        lines = [
            say(
                plural_msg(
                    "📣 Broadcast #{number} to {total} recipient",
                    "📣 Broadcast #{number} to {total} recipients",
                    "total",
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
                    say(
                        plural_msg(
                            "Cancelled: {count} message not sent.",
                            "Cancelled: {count} messages not sent.",
                            "count",
                            {"count": progress.cancelled},
                        )
                    )
                )
            else:
                lines.append(say(Msg(N_("Finished."))))
            return "\n".join(lines)
        if broadcast.status == "cancelled":
            lines.append(
                say(Msg(N_("Cancelling: messages already on their way will still arrive.")))
            )
            return "\n".join(lines)
        left = b.seconds_left(progress.left, pace.rate)
        if left is not None:
            lines.append(
                say(
                    Msg(
                        N_("{rate} a second · about {seconds} s left"),
                        {"rate": f"{pace.rate:.1f}", "seconds": str(left)},
                    )
                )
            )
        if pace.takeover_seconds is not None:
            lines.append(
                say(
                    Msg(
                        N_(
                            "⏸ Waiting for a stopped worker: another will take over its messages "
                            "in about {seconds} s."
                        ),
                        {"seconds": str(int(pace.takeover_seconds + 0.999))},
                    )
                )
            )
        elif left is None:
            lines.append(say(Msg(N_("Starting…"))))
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
                Msg(
                    N_("Broadcast #{number}: the recipients it did not reach."),
                    {"number": broadcast.id},
                ),
                locale,
            ),
        )

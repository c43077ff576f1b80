"""/healthz, /readyz and /metrics, on the webhook's server or (in long polling) on one of
their own at HEALTH_LISTEN.

/healthz answers while the process's event loop does. /readyz answers 200 only when the
database answers, Telegram answered getMe in the last minute (asked every 20 s by a task
of its own, not by the probe), no update has waited too long to be handled and no due
message (but a broadcast's) too long to be sent; else 503, its JSON body saying which
check failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetMe
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.services.clock import Clock
from bot.storage.models import InboxUpdate, Outgoing

log = logging.getLogger(__name__)

GET_ME_EVERY = 20.0
# Telegram counts as reachable this long after its last answer to getMe.
TELEGRAM_FRESH = 60.0
DATABASE_TIMEOUT = 3.0


class Health:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        stuck_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.stuck = timedelta(seconds=stuck_seconds)
        self.monotonic = monotonic
        self.telegram_at: float | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    async def keep_telegram(self) -> None:
        """Ask Telegram for the bot's own account now and then; /readyz reads the answer's
        age."""
        while True:
            try:
                await self.bot(GetMe(), request_timeout=10)
                self.telegram_at = self.monotonic()
            except TelegramAPIError as exc:
                log.info("getMe failed: %s", type(exc).__name__)
            await asyncio.sleep(GET_ME_EVERY)

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        checks = {"database": "ok", "telegram": "ok", "inbox": "ok", "outbox": "ok"}
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT):
                oldest_update, oldest_due = await self.oldest_waiting()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            metrics.DATABASE_ERRORS.inc()
            checks["database"] = f"unreachable ({type(exc).__name__})"
            checks["inbox"] = checks["outbox"] = "unknown"
        else:
            limit = self.clock.now() - self.stuck
            if oldest_update is not None and oldest_update < limit:
                checks["inbox"] = "stuck: an update has waited too long to be handled"
            if oldest_due is not None and oldest_due < limit:
                checks["outbox"] = "stuck: a due message has waited too long to be sent"
        seen = self.telegram_at
        if seen is None or self.monotonic() - seen > TELEGRAM_FRESH:
            checks["telegram"] = "no answer to getMe in the last minute"
        ready = all(value == "ok" for value in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    async def oldest_waiting(self) -> tuple[datetime | None, datetime | None]:
        """When the oldest unhandled update came and the oldest unsent message (not of a
        broadcast) was due; None for none."""
        async with self.sessions() as db:
            await db.execute(text("SELECT 1"))
            update_at = await db.scalar(
                select(func.min(InboxUpdate.received_at)).where(InboxUpdate.handled_at.is_(None))
            )
            # A broadcast's rows wait behind everything else by design, thousands at 25 a
            # second: a long one is not a stuck outbox.
            due_at = await db.scalar(
                select(func.min(Outgoing.due_at)).where(
                    Outgoing.status == "pending", Outgoing.broadcast_id.is_(None)
                )
            )
        return update_at, due_at

    async def metrics(self, _request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT), self.sessions() as db:
                await metrics.measure_outbox(db)
        except (SQLAlchemyError, OSError, TimeoutError):
            metrics.DATABASE_ERRORS.inc()
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    """An aiohttp application listening on host:port while the block runs."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield runner
    finally:
        await runner.cleanup()

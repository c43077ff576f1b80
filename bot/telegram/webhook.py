"""Webhook mode: Telegram posts each update to WEBHOOK_URL; one or several instances behind
a load balancer receive them (docs/architecture.md, "Receiving updates").

A post is answered 200 only once its update is stored in the inbox, as the JSON Telegram
sent; a post without the secret (or with a wrong one) is refused and stores nothing. A
repeat (Telegram posts again what did not get its 200) is dropped by the inbox's key.

Each person's updates are handled in update_id order, once, whichever instance received
them: the instance that stores a person's update tries to take that person's lock (a
PostgreSQL advisory lock, on a connection kept for it; on SQLite, with one instance, the
process's own bookkeeping suffices); holding it, it handles every stored unhandled update
of the person, oldest first, then lets the lock go and looks again. An instance that
cannot take the lock leaves the update to the holder, which finds it when it looks again
(the update was committed before the attempt, and the holder looks after letting go).
Updates left behind by an instance that died are found by a sweep every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.storage import repositories as repo
from bot.supervision import DATABASE_TROUBLE
from bot.telegram.polling import DurablePolling, update_person

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How often, and for updates waiting how long, the sweep looks for updates nobody handles.
SWEEP_SECONDS = 5.0
# Advisory lock keys of people: their id (52 bits at most) in a range of its own.
PERSON_LOCKS = 0x6D62 << 48
NOBODY = 0  # the lock of updates that come from no person (such as a group's changes)
# Connections kept for the locks: each takes one statement at a time.
LOCK_CONNECTIONS = 4


class PersonLocks:
    """A lock per person across instances: PostgreSQL advisory session locks, taken on a
    few connections of this process kept for them (a person's always on the same one; the
    database lets a connection's locks go if the process dies). On SQLite there is one
    instance, and its own bookkeeping (WebhookServer.serving) is the lock."""

    def __init__(self, engine: AsyncEngine, connections: int = LOCK_CONNECTIONS) -> None:
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self.connections: list[AsyncConnection | None] = [None] * connections
        # One statement at a time on each connection.
        self.guards = [asyncio.Lock() for _ in range(connections)]

    async def _run(self, statement: str, person: int) -> bool:
        slot = person % len(self.connections)
        async with self.guards[slot]:
            connection = self.connections[slot]
            if connection is None or connection.closed:
                connection = await (await self.engine.connect()).execution_options(
                    isolation_level="AUTOCOMMIT"
                )
                self.connections[slot] = connection
            try:
                return bool(
                    await connection.scalar(text(statement), {"key": PERSON_LOCKS ^ person})
                )
            except DATABASE_TROUBLE:
                # Its locks went with it; the next call opens another.
                self.connections[slot] = None
                with contextlib.suppress(*DATABASE_TROUBLE):
                    await connection.close()
                raise

    async def try_lock(self, person: int) -> bool:
        if not self.shared:
            return True
        return await self._run("SELECT pg_try_advisory_lock(:key)", person)

    async def unlock(self, person: int) -> None:
        if self.shared:
            await self._run("SELECT pg_advisory_unlock(:key)", person)

    async def close(self) -> None:
        for slot, connection in enumerate(self.connections):
            if connection is not None:
                await connection.close()
                self.connections[slot] = None


class WebhookServer:
    def __init__(
        self,
        bot: Bot,
        polling: DurablePolling,
        locks: PersonLocks,
        url: str,
        secret: str,
    ) -> None:
        self.bot = bot
        self.polling = polling
        self.locks = locks
        self.url = url
        self.secret = secret.encode()
        # People whose updates a task of this process is handling now, and whether more
        # came for them meanwhile.
        self.serving: dict[int, bool] = {}
        # By person, updates received here and not yet handled, parsed already (the
        # inbox has them too: these only save reading them back).
        self.received: dict[int, dict[int, Update]] = {}

    @property
    def path(self) -> str:
        rest = self.url.split("://", 1)[-1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.path, self.receive)

    async def start(self) -> None:
        """Tell Telegram where to post, with the secret and the update types handled."""
        await self.bot.set_webhook(
            self.url,
            secret_token=self.secret.decode(),
            allowed_updates=self.polling.dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
        )

    async def run(self) -> None:
        """Tell Telegram where to post, handle what is left from before, then sweep now
        and then until cancelled."""
        await self.start()
        cutoff = timedelta(0)
        while True:
            await self.sweep(cutoff)
            cutoff = timedelta(seconds=SWEEP_SECONDS)
            await asyncio.sleep(SWEEP_SECONDS)

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401)
        if not hmac.compare_digest(given.encode(), self.secret):
            return web.Response(status=403)
        try:
            raw: dict[str, Any] = json.loads(await request.read())
            update = Update.model_validate(raw, context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400)
        try:
            new = await self.polling.receive([update], [raw], polled=False)
        except DATABASE_TROUBLE as exc:
            # Not stored: Telegram posts it again.
            metrics.DATABASE_ERRORS.inc()
            log.warning("could not store update %s: %s", update.update_id, type(exc).__name__)
            return web.Response(status=503)
        if update.update_id in new:
            person = update_person(update) or NOBODY
            self.received.setdefault(person, {})[update.update_id] = update
            self.polling.track(self.serve(person))
        return web.Response(status=200)

    async def sweep(self, waited: timedelta) -> None:
        """Serve everyone whose updates have waited unhandled longer than ``waited``: an
        instance that died while holding them, or a start after a stop."""
        try:
            async with self.polling.sessions() as db:
                people = await repo.pending_people(db, self.polling.clock.now() - waited)
        except DATABASE_TROUBLE as exc:
            metrics.DATABASE_ERRORS.inc()
            log.warning("could not look for waiting updates: %s", type(exc).__name__)
            return
        for person in people:
            if (person or NOBODY) not in self.serving:
                self.polling.track(self.serve(person or NOBODY))

    async def serve(self, person: int) -> None:
        """Handle the person's stored updates, in order, if no other task or instance is."""
        if person in self.serving:
            self.serving[person] = True  # the task serving them looks again when done
            return
        try:
            while True:
                self.serving[person] = False
                if not await self.locks.try_lock(person):
                    break  # another instance holds them: it looks again after letting go
                try:
                    await self.handle_stored(person)
                finally:
                    await self.locks.unlock(person)
                if self.serving[person]:
                    continue
                async with self.polling.sessions() as db:
                    more = await repo.person_pending(db, person or None)
                if not more and not self.serving[person]:
                    break
        except DATABASE_TROUBLE as exc:
            metrics.DATABASE_ERRORS.inc()
            log.warning("could not serve updates: %s; the sweep tries again", type(exc).__name__)
        finally:
            del self.serving[person]
            self.received.pop(person, None)

    async def handle_stored(self, person: int) -> None:
        received = self.received.get(person, {})
        async with self.polling.sessions() as db:
            ids = await repo.person_pending(db, person or None)
            missing = [i for i in ids if i not in received]
            loaded = await self.polling.readable(
                db, await repo.stored_updates(db, missing) if missing else ()
            )
        for update_id in ids:
            update = received.pop(update_id, None) or loaded.get(update_id)
            if update is None:
                continue
            async with self.polling.slots:
                await self.polling.feed(update)

"""Every request to the Bot API passes here. A 429 pauses every request for its
retry_after (Telegram's flood control counts them all) and the request is tried
again; a 403 marks the person unreachable. Pacing of the messages the bot starts
itself is the outbox's (bot/telegram/outbox.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import FormData

log = logging.getLogger(__name__)

MAX_RETRIES = 5
# Set once a request other than getUpdates has been made in the current task: an update
# whose handling already said something to someone must not be handled again.
spoke: ContextVar[bool] = ContextVar("spoke", default=False)


class DeliveryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        on_blocked: Callable[[int], Awaitable[None]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_blocked = on_blocked
        self.sleep = sleep
        self.monotonic = monotonic
        self.resume_at = 0.0
        # aiogram reads each answer as Response[<returned type>]; pydantic keeps such
        # classes only while something refers to them, so without these references
        # they are built anew (several milliseconds) for nearly every request.
        self.response_types: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    def pause_left(self) -> float:
        """Seconds until requests may go again after a 429 (0 when they may now)."""
        return max(0.0, self.resume_at - self.monotonic())

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, GetUpdates):
            spoke.set(True)
        if type(method) not in self.response_types:
            self.response_types[type(method)] = Response[method.__returning__]  # type: ignore[name-defined]
        attempt = 0
        while True:
            pause = self.resume_at - self.monotonic()
            if pause > 0:
                await self.sleep(pause)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                self.resume_at = max(self.resume_at, self.monotonic() + exc.retry_after)
                if attempt > MAX_RETRIES:
                    raise
                log.warning(
                    "Telegram asked to slow down on %s: waiting %s s (attempt %s)",
                    type(method).__name__,
                    exc.retry_after,
                    attempt,
                )
            except TelegramForbiddenError:
                chat_id = getattr(method, "chat_id", None)
                if isinstance(chat_id, int) and chat_id > 0:
                    log.info("chat %s blocked the bot; marked unreachable", chat_id)
                    await self.on_blocked(chat_id)
                raise


class BotSession(AiohttpSession):
    """aiogram's session, with the request's empty fields left out by pydantic as it dumps
    the method, rather than walked one by one in Python: an inline keyboard's buttons have
    a dozen empty fields each."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        form = FormData(quote_fields=False)
        files: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                form.add_field(key, prepared)
        for key, file in files.items():
            form.add_field(key, file.read(bot), filename=file.filename or key)
        return form

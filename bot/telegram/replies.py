"""The replies of one update, sent once its unit of work is committed.

Handlers do not talk to Telegram while the update's transaction is open: they add the
requests they would make (aiogram method objects, e.g. ``message.answer(...)`` without
``await``) to the update's ``Replies``, and the database middleware sends them, in order,
after the commit. A reply whose result is needed later (the id of a status message) names
what to do with it (``then``), which runs after it was sent, outside the transaction too;
work that must follow the commit whatever becomes of the replies is ``afterwards``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import TelegramMethod

from bot.telegram.sender import unread

log = logging.getLogger(__name__)

Then = Callable[[Any], Awaitable[None]]
Refused = Callable[[TelegramBadRequest], Awaitable[None]]


class Replies:
    def __init__(self) -> None:
        self.pending: list[tuple[TelegramMethod[Any], Then | None, Refused | None]] = []
        self.after: list[Callable[[], Awaitable[None]]] = []

    def add(
        self,
        method: TelegramMethod[Any],
        then: Then | None = None,
        refused: Refused | None = None,
    ) -> None:
        """``refused``: for a reply the rest depend on (a preview before its choices), what
        to do if Telegram refuses it; the replies after it are then not sent."""
        self.pending.append((method, then, refused))

    def afterwards(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` once the replies were sent (or refused), outside the transaction."""
        self.after.append(work)

    def __bool__(self) -> bool:
        return bool(self.pending or self.after)

    async def send(self, bot: Bot) -> None:
        """Send them in order, then do what comes ``afterwards``."""
        try:
            await self._send(bot)
        finally:
            after, self.after = self.after, []
            for work in after:
                await work()

    async def _send(self, bot: Bot) -> None:
        """One Telegram refuses (a keyboard already gone on a double tap, a message no
        longer there) is logged by its method and the rest still go; a person who blocked
        the bot gets none of the rest."""
        pending, self.pending = self.pending, []
        for method, then, refused in pending:
            # What nothing reads is only checked (bot/telegram/sender.py).
            reading = unread.set(then is None)
            try:
                result = await bot(method)
            except TelegramForbiddenError:
                return
            except TelegramBadRequest as exc:
                # The description says what was wrong, never what people wrote.
                log.info("%s refused: %s", type(method).__name__, exc.message)
                if refused is not None:
                    await refused(exc)
                    return
                continue
            finally:
                unread.reset(reading)
            if then is not None:
                await then(result)

"""A person in a chat with the bot: writes, presses buttons, reads what came back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from bot.playground.botapi import BotAPIStandin, BotMessage, SimUser

SETTLE_SECONDS = 15.0


class RunningBot(Protocol):
    def handling(self) -> bool:
        """Updates in hand."""

    def sending(self) -> bool:
        """The outbox at work."""

    async def outbox_due(self) -> int:
        """Outbox rows due now that are not sent yet."""


class Person:
    def __init__(self, standin: BotAPIStandin, user: SimUser, bot: RunningBot) -> None:
        self.standin = standin
        self.user = user
        self.bot = bot

    def _busy(self, outbox: bool) -> bool:
        return (
            bool(self.standin.unconfirmed_update_ids)
            or self.bot.handling()
            or (outbox and self.bot.sending())
        )

    async def settle(self, *, outbox: bool = True) -> None:
        """Until every update sent has been taken and handled by the bot and, with
        ``outbox``, until the outbox has sent all that is due by the bot's clock and its
        sender is idle. (Conditions checked against a deadline, not a fixed pause.)
        ``outbox=False`` is for a test that acts while the outbox is still sending."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            due = 0
            if not self._busy(outbox):
                if not outbox:
                    return
                due = await self.bot.outbox_due()
                # The query took a moment: the bot may have started something meanwhile.
                if not due and not self._busy(outbox):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the bot did not settle in {SETTLE_SECONDS} s: updates not confirmed "
                    f"{self.standin.unconfirmed_update_ids}, handling {self.bot.handling()}, "
                    f"sending {self.bot.sending()}, outbox rows due {due}"
                )
            await asyncio.sleep(0.005)

    def sent(self) -> list[BotMessage]:
        return self.standin.messages(self.user)

    async def act(self, act: Callable[[], object], *, outbox: bool = True) -> list[BotMessage]:
        """Do something as this person and return the bot's new messages to them, once the
        bot has settled (see ``settle``)."""
        before = len(self.sent())
        result = act()
        if asyncio.iscoroutine(result):
            await result
        await self.settle(outbox=outbox)
        return self.sent()[before:]

    async def write(self, text: str, reply_to: BotMessage | None = None) -> list[BotMessage]:
        """Write ``text``; with ``reply_to``, as a reply to that message of the bot's."""
        if text.startswith("/"):
            return await self.act(lambda: self.standin.send_command(self.user, text, reply_to))
        return await self.act(lambda: self.standin.send_text(self.user, text, reply_to))

    async def press(
        self, label: str, message: BotMessage | None = None, *, outbox: bool = True
    ) -> list[BotMessage]:
        return await self.act(
            lambda: self.standin.press(self.user, label, message=message), outbox=outbox
        )

    async def send_sticker(self) -> list[BotMessage]:
        return await self.act(lambda: self.standin.send_sticker(self.user))

    async def send_photo(self) -> list[BotMessage]:
        return await self.act(lambda: self.standin.send_photo(self.user))

    async def send_voice(self) -> list[BotMessage]:
        return await self.act(lambda: self.standin.send_voice(self.user))

    def last(self) -> BotMessage:
        return self.standin.last_message(self.user)

    def labels(self, message: BotMessage | None = None) -> list[str]:
        message = message or self.last()
        return [text for row in message.buttons for text, _ in row]

    def alerts(self) -> list[str]:
        return [a.text or "" for a in self.standin.answered_callbacks if a.show_alert]

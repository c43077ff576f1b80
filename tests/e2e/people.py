"""A person in a chat with the bot: writes, presses buttons, reads what came back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.e2e.standin import BotAPIStandin, BotMessage, SimUser

SETTLE_SECONDS = 15.0


class Person:
    def __init__(self, standin: BotAPIStandin, user: SimUser, busy: Callable[[], bool]) -> None:
        self.standin = standin
        self.user = user
        self.busy = busy

    async def settle(self) -> None:
        """Until every update sent has been taken and handled by the bot. (A condition
        checked with a deadline, not a fixed pause.)"""
        deadline = time.monotonic() + SETTLE_SECONDS
        while self.standin.unconfirmed_update_ids or self.busy():
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not finish handling the updates in time")
            await asyncio.sleep(0.005)

    def sent(self) -> list[BotMessage]:
        return self.standin.messages(self.user)

    async def act(self, act: Callable[[], object]) -> list[BotMessage]:
        """Do something as this person and return the bot's new messages to them."""
        before = len(self.sent())
        result = act()
        if asyncio.iscoroutine(result):
            await result
        await self.settle()
        return self.sent()[before:]

    async def write(self, text: str, reply_to: BotMessage | None = None) -> list[BotMessage]:
        """Write ``text``; with ``reply_to``, as a reply to that message of the bot's."""
        if text.startswith("/"):
            return await self.act(lambda: self.standin.send_command(self.user, text, reply_to))
        return await self.act(lambda: self.standin.send_text(self.user, text, reply_to))

    async def press(self, label: str, message: BotMessage | None = None) -> list[BotMessage]:
        return await self.act(lambda: self.standin.press(self.user, label, message=message))

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

"""Replies go in order after the commit; one Telegram refuses is skipped, unless what
follows depends on it."""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage

from bot.telegram.replies import Replies


class FakeBot:
    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.sent: list[str] = []

    async def __call__(self, method: SendMessage) -> Any:
        if method.text == self.refuse:
            raise TelegramBadRequest(method=method, message="Bad Request: can't parse entities")
        self.sent.append(method.text)
        return method.text


async def test_a_refused_reply_is_skipped() -> None:
    bot = FakeBot(refuse="b")
    replies = Replies()
    for text in "abc":
        replies.add(SendMessage(chat_id=1, text=text))
    await replies.send(bot)  # type: ignore[arg-type]
    assert bot.sent == ["a", "c"]


async def test_a_refused_reply_that_the_rest_depend_on_stops_them() -> None:
    bot = FakeBot(refuse="preview")
    refusals: list[str] = []
    kept: list[str] = []

    async def refused(exc: TelegramBadRequest) -> None:
        refusals.append(exc.message)

    async def then(result: str) -> None:
        kept.append(result)

    replies = Replies()
    replies.add(SendMessage(chat_id=1, text="header"), then=then)
    replies.add(SendMessage(chat_id=1, text="preview"), refused=refused)
    replies.add(SendMessage(chat_id=1, text="choices"))
    await replies.send(bot)  # type: ignore[arg-type]
    assert bot.sent == ["header"] and kept == ["header"]
    assert refusals == ["Bad Request: can't parse entities"]

"""The bot's session against the stand-in: a reply whose result nothing reads is only
checked, and a refusal of one is still a refusal."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import Message

from bot.playground.botapi import BotAPIStandin
from bot.telegram.sender import BotSession, unread


async def test_an_unread_reply_is_sent_and_a_refused_one_still_raises() -> None:
    async with BotAPIStandin() as standin:
        person = standin.user(501)
        bot = Bot(
            standin.token, session=BotSession(api=TelegramAPIServer.from_base(standin.base_url))
        )
        try:
            read = await bot(SendMessage(chat_id=person.id, text="read"))
            token = unread.set(True)
            try:
                unread_result = await bot(SendMessage(chat_id=person.id, text="unread"))
                with pytest.raises(TelegramBadRequest, match="message to edit not found"):
                    await bot(EditMessageText(chat_id=person.id, message_id=9999, text="x"))
            finally:
                unread.reset(token)
        finally:
            await bot.session.close()
    assert isinstance(read, Message) and read.text == "read"
    assert unread_result is None
    assert [m.text for m in standin.messages(person)] == ["read", "unread"]

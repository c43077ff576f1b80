"""Last in line: whatever no other router took gets a clear answer."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.telegram.filters import PRIVATE
from bot.telegram.replies import Replies


async def unknown_command(message: Message, replies: Replies) -> None:
    replies.add(message.answer(_("I don't know that command. /help lists what I can do.")))


async def unknown_button(query: CallbackQuery, replies: Replies) -> None:
    replies.add(query.answer(_("This button no longer works."), show_alert=True))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_command, PRIVATE)
    router.callback_query.register(unknown_button)
    return router

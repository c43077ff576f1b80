"""Last in line: whatever no other router took gets a clear answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

router = Router(name=__name__)


@router.message(F.chat.type == "private")
async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know that command. /help lists what I can do."))


@router.callback_query()
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button no longer works."), show_alert=True)

"""/history: finished sessions, their summaries, and the wheel over time."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import render_wheel_history
from bot.domain.texts import N_, Msg
from bot.services.dialogs import DialogService
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.render import Renderer, split_html


async def send_history(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    dialogs: DialogService,
    renderer: Renderer,
    locale: str,
) -> None:
    finished = await dialogs.finished(session, chat_id)
    if not finished:
        await bot.send_message(
            chat_id, _("You have no finished sessions yet. Start one with /grow, /wheel or /dilts.")
        )
        return
    rows = [
        [
            InlineKeyboardButton(
                text=f"{renderer.plain(Msg(dialogs.dialogs[record.dialog_id].title), locale)} · "
                f"{renderer.value(record.finished_at.date(), locale)}"
                if record.finished_at
                else record.dialog_id,
                callback_data=f"hist:{record.id}",
            )
        ]
        for record in finished
    ]
    if any(record.dialog_id == "wheel" for record in finished):
        rows.append(
            [InlineKeyboardButton(text=_("📈 My wheel over time"), callback_data="hist:wheel")]
        )
    await bot.send_message(
        chat_id,
        _("Your finished sessions, newest first. Open one to see its summary:"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def history(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    dialogs: DialogService,
    renderer: Renderer,
) -> None:
    await send_history(bot, person.id, session, dialogs, renderer, i18n.current_locale)


async def open_history(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    dialogs: DialogService,
    renderer: Renderer,
) -> None:
    target = (query.data or "").split(":", 1)[1]
    locale = i18n.current_locale
    if target == "wheel":
        await query.answer()
        await send_wheel_history(bot, person.id, session, dialogs, renderer, locale)
        return
    found = await dialogs.summary(session, person.id, int(target)) if target.isdigit() else None
    if found is None:
        await query.answer(_("This session is no longer there."), show_alert=True)
        return
    await query.answer()
    record, dialog, lines = found
    assert record.finished_at is not None
    text = renderer.summary(Msg(dialog.title), record.finished_at.date(), lines, locale)
    for part in split_html(text):
        await bot.send_message(person.id, part)


async def send_wheel_history(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    dialogs: DialogService,
    renderer: Renderer,
    locale: str,
) -> None:
    series = await dialogs.wheel_history(session, chat_id)
    if not series:
        await bot.send_message(chat_id, _("Rate your wheel with /wheel first."))
        return
    areas = dialogs.wheel_areas()
    picture = await asyncio.to_thread(
        render_wheel_history,
        [renderer.plain(Msg(label), locale) for _area, label in areas],
        [(when.date(), [ratings[area] for area, _label in areas]) for when, ratings in series],
        renderer.plain(Msg(N_("Your Wheel of Life over time")), locale),
    )
    await bot.send_photo(chat_id, BufferedInputFile(picture, "wheel-history.png"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(history, Command("history"))
    router.callback_query.register(open_history, data_prefix("hist:"))
    return router

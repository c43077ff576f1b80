"""/history: finished sessions, their summaries, and the wheel over time."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import render_wheel_history
from bot.domain.texts import N_, Msg
from bot.services.dialogs import DialogService
from bot.storage.models import Person
from bot.telegram.buttons import HistoryRecord, HistoryWheel
from bot.telegram.filters import PRIVATE
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies


async def send_history(
    replies: Replies,
    chat_id: int,
    session: AsyncSession,
    dialogs: DialogService,
    renderer: Renderer,
    locale: str,
) -> None:
    finished = await dialogs.finished(session, chat_id)
    if not finished:
        replies.add(
            SendMessage(
                chat_id=chat_id,
                text=_(
                    "You have no finished sessions yet. Start one with /grow, /wheel or /dilts."
                ),
            )
        )
        return
    listing = InlineKeyboardBuilder()
    for record in finished:
        listing.button(
            text=f"{renderer.plain(Msg(dialogs.dialogs[record.dialog_id].title), locale)} · "
            f"{renderer.value(record.finished_at.date(), locale)}"
            if record.finished_at
            else record.dialog_id,
            callback_data=HistoryRecord(session=record.id),
        )
    if any(record.dialog_id == "wheel" for record in finished):
        listing.button(text=_("📈 My wheel over time"), callback_data=HistoryWheel())
    listing.adjust(1)
    replies.add(
        SendMessage(
            chat_id=chat_id,
            text=_("Your finished sessions, newest first. Open one to see its summary:"),
            reply_markup=listing.as_markup(),
        )
    )


async def history(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    dialogs: DialogService,
    renderer: Renderer,
    replies: Replies,
) -> None:
    await send_history(replies, person.id, session, dialogs, renderer, i18n.current_locale)


async def open_history(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    dialogs: DialogService,
    renderer: Renderer,
    replies: Replies,
    callback_data: HistoryRecord,
) -> None:
    locale = i18n.current_locale
    found = await dialogs.summary(session, person.id, callback_data.session)
    if found is None:
        replies.add(query.answer(_("This session is no longer there."), show_alert=True))
        return
    replies.add(query.answer())
    record, dialog, lines = found
    assert record.finished_at is not None
    text = renderer.summary(Msg(dialog.title), record.finished_at.date(), lines, locale)
    for part in split_html(text):
        replies.add(SendMessage(chat_id=person.id, text=part))


async def open_wheel_history(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    dialogs: DialogService,
    renderer: Renderer,
    replies: Replies,
) -> None:
    replies.add(query.answer())
    await send_wheel_history(replies, person.id, session, dialogs, renderer, i18n.current_locale)


async def send_wheel_history(
    replies: Replies,
    chat_id: int,
    session: AsyncSession,
    dialogs: DialogService,
    renderer: Renderer,
    locale: str,
) -> None:
    series = await dialogs.wheel_history(session, chat_id)
    if not series:
        replies.add(SendMessage(chat_id=chat_id, text=_("Rate your wheel with /wheel first.")))
        return
    areas = dialogs.wheel_areas()
    picture = await asyncio.to_thread(
        render_wheel_history,
        [renderer.plain(Msg(label), locale) for _area, label in areas],
        [(when.date(), [ratings[area] for area, _label in areas]) for when, ratings in series],
        renderer.plain(Msg(N_("Your Wheel of Life over time")), locale),
    )
    replies.add(SendPhoto(chat_id=chat_id, photo=BufferedInputFile(picture, "wheel-history.png")))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(history, Command("history"))
    router.callback_query.register(open_history, HistoryRecord.filter())
    router.callback_query.register(open_wheel_history, HistoryWheel.filter())
    return router

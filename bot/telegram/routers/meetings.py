"""/meet: see the pair's next meeting, set it, change it or call it off."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.texts import N_, Msg
from bot.services.dialogs import DialogService
from bot.services.meetings import MEET_FORM, MeetingService
from bot.storage.models import Pair, Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.render import Renderer
from bot.telegram.views import begin_dialog


async def show_or_start(
    bot: Bot,
    session: AsyncSession,
    person: Person,
    pair: Pair,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    meetings: MeetingService,
    change: bool = False,
) -> None:
    """The next meeting with its buttons, or, when there is none (or it is to change),
    the questions that set one."""
    upcoming = None if change else await meetings.next_meeting(session, pair.id)
    if upcoming is None:
        await meetings.begin(session, person, pair)
        turn = await dialogs.start(session, person.id, MEET_FORM, restart=True)
        await begin_dialog(bot, person.id, i18n, renderer, dialogs, session, turn)
        return
    when = await meetings.when(session, person, upcoming.starts_at)
    name = await meetings.partner_name(session, pair, person)
    await session.commit()
    text = renderer.text(
        Msg(
            N_("📅 Your next meeting with {name}: {day}, {time} ({zone})."), {"name": name, **when}
        ),
        i18n.current_locale,
    )
    await bot.send_message(
        person.id,
        text,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=_("🔁 Change"), callback_data=f"mt:new:{pair.id}"),
                    InlineKeyboardButton(
                        text=_("✖ Call it off"), callback_data=f"mt:cancel:{upcoming.id}"
                    ),
                ]
            ]
        ),
    )


async def meet(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    meetings: MeetingService,
) -> None:
    pairs = await meetings.active_pairs(session, person.id)
    if not pairs:
        await session.commit()
        await message.answer(
            _("You have no active mentoring pair yet, so there is no meeting to set.")
        )
        return
    if len(pairs) > 1:
        names = [await meetings.partner_name(session, pair, person) for pair in pairs]
        await session.commit()
        await message.answer(
            _("A meeting with whom?"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=name, callback_data=f"mt:pair:{pair.id}")]
                    for pair, name in zip(pairs, names, strict=True)
                ]
            ),
        )
        return
    await show_or_start(bot, session, person, pairs[0], i18n, renderer, dialogs, meetings)


async def meeting_button(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    meetings: MeetingService,
) -> None:
    _prefix, action, number = (query.data or "::").split(":", 2)
    if action == "cancel" and number.isdigit():
        if await meetings.cancel(session, person, int(number)):
            await query.answer(_("Called off; your partner has been told."), show_alert=True)
        else:
            await query.answer(_("This meeting is no longer planned."), show_alert=True)
        return
    pairs = {pair.id: pair for pair in await meetings.active_pairs(session, person.id)}
    pair = pairs.get(int(number)) if number.isdigit() else None
    if action not in ("pair", "new") or pair is None:
        await session.commit()
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    await query.answer()
    await show_or_start(
        bot, session, person, pair, i18n, renderer, dialogs, meetings, change=action == "new"
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(meet, Command("meet"))
    router.callback_query.register(meeting_button, data_prefix("mt:"))
    return router

"""/meet: see the pair's next meeting, set it, change it or call it off."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.texts import N_, Msg
from bot.services.dialogs import DialogService
from bot.services.meetings import MEET_FORM, MeetingService
from bot.services.profiles import partner_name
from bot.storage.models import Pair, Person
from bot.telegram.buttons import MeetingButton
from bot.telegram.filters import PRIVATE
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.views import DialogView


async def show_or_start(
    replies: Replies,
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
    locale = i18n.current_locale
    if upcoming is None:
        suggestions = await meetings.suggestions(session, pair, person)
        if suggestions is not None:
            replies.add(SendMessage(chat_id=person.id, text=renderer.text(suggestions, locale)))
        await meetings.begin(session, person, pair)
        turn = await dialogs.start(session, person.id, MEET_FORM, restart=True)
        await DialogView(replies, person.id, locale, renderer, dialogs, session).begin(turn)
        return
    when = await meetings.when(session, person, upcoming.starts_at)
    name = await partner_name(session, pair, person)
    text = renderer.text(
        Msg(
            N_("📅 Your next meeting with {name}: {day}, {time} ({zone})."), {"name": name, **when}
        ),
        locale,
    )
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🔁 Change"), callback_data=MeetingButton(action="new", number=pair.id))
    builder.button(
        text=_("✖ Call it off"), callback_data=MeetingButton(action="cancel", number=upcoming.id)
    )
    replies.add(SendMessage(chat_id=person.id, text=text, reply_markup=builder.as_markup()))


async def meet(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    meetings: MeetingService,
    replies: Replies,
) -> None:
    pairs = await meetings.active_pairs(session, person.id)
    if not pairs:
        replies.add(
            message.answer(
                _("You have no active mentoring pair yet, so there is no meeting to set.")
            )
        )
        return
    if len(pairs) > 1:
        names = [await partner_name(session, pair, person) for pair in pairs]
        builder = InlineKeyboardBuilder()
        for pair, name in zip(pairs, names, strict=True):
            builder.button(text=name, callback_data=MeetingButton(action="pair", number=pair.id))
        builder.adjust(1)
        replies.add(message.answer(_("A meeting with whom?"), reply_markup=builder.as_markup()))
        return
    await show_or_start(replies, session, person, pairs[0], i18n, renderer, dialogs, meetings)


async def meeting_button(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    meetings: MeetingService,
    replies: Replies,
    callback_data: MeetingButton,
) -> None:
    """The policy has made sure the meeting or the pair is the presser's; a meeting no
    longer planned, or a pair no longer active, changes nothing."""
    if callback_data.action == "cancel":
        if await meetings.cancel(session, person, callback_data.number):
            replies.add(query.answer(_("Called off; your partner has been told."), show_alert=True))
        else:
            replies.add(query.answer(_("This meeting is no longer planned."), show_alert=True))
        return
    pairs = {pair.id: pair for pair in await meetings.active_pairs(session, person.id)}
    pair = pairs.get(callback_data.number)
    if pair is None:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    replies.add(query.answer())
    await show_or_start(
        replies,
        session,
        person,
        pair,
        i18n,
        renderer,
        dialogs,
        meetings,
        change=callback_data.action == "new",
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(meet, Command("meet"))
    router.callback_query.register(meeting_button, MeetingButton.filter())
    return router

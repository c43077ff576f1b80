"""Mentors and mentees talking through the bot."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.programme import ProgrammeService, Relayed, display_name
from bot.storage.models import Person
from bot.telegram.outbox import OutboxSender


async def mentees(
    message: Message, session: AsyncSession, person: Person, programme: ProgrammeService
) -> None:
    pairs = await programme.pairs_of_mentor(session, person.id)
    if not pairs:
        await session.commit()
        await message.answer(_("You have no mentees yet. This command is for mentors."))
        return
    rows = []
    for pair in pairs:
        mentee = await session.get(Person, pair.mentee_id)
        profile = await programme.profile(session, pair.mentee_id)
        assert mentee is not None
        rows.append(
            [
                InlineKeyboardButton(
                    text=display_name(mentee, profile, pair), callback_data=f"talk:{pair.id}"
                )
            ]
        )
    await session.commit()
    await message.answer(
        _(
            "Your mentees. Choose whom your next messages go to (or reply to one of their "
            "messages):"
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def talk_to(
    query: CallbackQuery, session: AsyncSession, person: Person, programme: ProgrammeService
) -> None:
    pair = await programme.talk_to(session, person, int((query.data or "").split(":")[1]))
    if pair is None:
        await query.answer(_("This pair is no longer active."), show_alert=True)
        return
    await query.answer(_("Your messages now go to this mentee."), show_alert=True)


async def relay(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    programme: ProgrammeService,
    outbox: OutboxSender,
) -> bool:
    """Pass the message on if the person has a pair; False when there is nobody to pass
    it to."""
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    result = await programme.relay(session, person, message.message_id, message.text, reply_to)
    if result is Relayed.QUEUED:
        outbox.wake()
        return True
    if result is Relayed.CHOOSE:
        await message.answer(
            _(
                "You have several mentees: reply to a message of the one you "
                "mean, or choose with /mentees."
            )
        )
        return True
    if result is Relayed.UNREACHABLE:
        await message.answer(
            _(
                "Your message could not be delivered: the other side of your "
                "pair cannot be reached by the bot. Your programme coordinator "
                "has been told."
            )
        )
        return True
    return False


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(mentees, Command("mentees"))
    router.callback_query.register(talk_to, F.data.startswith("talk:"))
    return router

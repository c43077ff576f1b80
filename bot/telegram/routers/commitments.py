"""/commitments, and the answers to a commitment's check-in."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.followup import RESCHEDULE_DAYS, Answered, FollowUpService
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer


async def commitments(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    followup: FollowUpService,
    renderer: Renderer,
) -> None:
    found = await followup.open_commitments(session, person.id)
    if not found:
        await message.answer(
            _(
                "You have no open commitments. The actions you choose in "
                "/grow and /wheel become commitments."
            )
        )
        return
    await message.answer(_("Your open commitments:"))
    for commitment in found:
        await message.answer(
            f"• {Renderer.escape(commitment.text)}\n"
            f"<i>{renderer.value(commitment.due_on, i18n.current_locale)}</i>",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("✅ Done"), callback_data=f"cm:{commitment.id}:done"
                        ),
                        InlineKeyboardButton(
                            text=_("📅 New date"), callback_data=f"cm:{commitment.id}:notyet"
                        ),
                        InlineKeyboardButton(
                            text=_("🗑 Drop"), callback_data=f"cm:{commitment.id}:drop"
                        ),
                    ]
                ]
            ),
        )


async def answer(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    followup: FollowUpService,
    renderer: Renderer,
    outbox: OutboxSender,
) -> None:
    _prefix, commitment_id, action = (query.data or "").split(":")
    result, commitment = await followup.answer(session, person.id, int(commitment_id), action)
    if result is Answered.EXPIRED:
        await query.answer(
            _("This check-in has expired: the commitment is no longer open."), show_alert=True
        )
        return
    await query.answer()
    if query.message is not None:
        await bot.edit_message_reply_markup(chat_id=person.id, message_id=query.message.message_id)
    assert commitment is not None
    if result is Answered.ASK_DATE:
        await bot.send_message(
            person.id,
            _("When will you do it? Choose a new date, or drop it."),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        *[
                            InlineKeyboardButton(
                                text=_("In {days} days").format(days=days),
                                callback_data=f"cm:{commitment.id}:d{days}",
                            )
                            for days in RESCHEDULE_DAYS
                        ],
                        InlineKeyboardButton(
                            text=_("🗑 Drop"), callback_data=f"cm:{commitment.id}:drop"
                        ),
                    ]
                ]
            ),
        )
    elif result is Answered.DONE:
        await bot.send_message(person.id, _("🎉 Well done! Marked as done."))
    elif result is Answered.DROPPED:
        await bot.send_message(person.id, _("Dropped. It will not be followed up any more."))
    else:
        outbox.wake()
        await bot.send_message(
            person.id,
            _("Moved to {date}. I will check in then.").format(
                date=renderer.value(commitment.due_on, i18n.current_locale)
            ),
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(commitments, Command("commitments"))
    router.callback_query.register(answer, data_prefix("cm:"))
    return router

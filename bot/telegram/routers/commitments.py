"""/commitments, and the answers to a commitment's check-in."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.followup import ACTIONS, RESCHEDULE_DAYS, Answered, FollowUpService
from bot.storage.models import Person
from bot.telegram.buttons import CommitmentButton
from bot.telegram.filters import PRIVATE
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, without_pressed_row
from bot.telegram.replies import Replies


def commitment_keyboard(commitment_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Done"), callback_data=CommitmentButton(commitment=commitment_id, action="done")
    )
    builder.button(
        text=_("📅 New date"),
        callback_data=CommitmentButton(commitment=commitment_id, action="notyet"),
    )
    builder.button(
        text=_("🗑 Drop"), callback_data=CommitmentButton(commitment=commitment_id, action="drop")
    )
    return builder.as_markup()


def new_date_keyboard(commitment_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for days in RESCHEDULE_DAYS:
        builder.button(
            text=ngettext("In {days} day", "In {days} days", days).format(days=days),
            callback_data=CommitmentButton(commitment=commitment_id, action=f"d{days}"),
        )
    builder.button(
        text=_("🗑 Drop"), callback_data=CommitmentButton(commitment=commitment_id, action="drop")
    )
    return builder.as_markup()


async def commitments(
    message: Message,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    followup: FollowUpService,
    renderer: Renderer,
    replies: Replies,
) -> None:
    found = await followup.open_commitments(session, person.id)
    if not found:
        replies.add(
            message.answer(
                _(
                    "You have no open commitments. The actions you choose in "
                    "/grow and /wheel become commitments."
                )
            )
        )
        return
    replies.add(message.answer(_("Your open commitments:")))
    for commitment in found:
        replies.add(
            message.answer(
                f"• {Renderer.escape(commitment.text)}\n"
                f"<i>{renderer.value(commitment.due_on, i18n.current_locale)}</i>",
                reply_markup=commitment_keyboard(commitment.id),
            )
        )


async def answer(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    followup: FollowUpService,
    renderer: Renderer,
    outbox: OutboxSender,
    replies: Replies,
    callback_data: CommitmentButton,
) -> None:
    """A tap on a commitment's check-in or on /commitments. The policy has made sure the
    commitment is the presser's; one no longer open (a second tap) changes nothing."""
    if callback_data.action not in ACTIONS:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    result, commitment = await followup.answer(
        session, person.id, callback_data.commitment, callback_data.action
    )
    if result is Answered.EXPIRED:
        replies.add(
            query.answer(
                _("This question has expired: the commitment is no longer open."), show_alert=True
            )
        )
        return
    replies.add(query.answer())
    # In a merged message, the other items' buttons stay.
    closed = without_pressed_row(query, person.id)
    if closed is not None:
        replies.add(closed)
    assert commitment is not None
    if result is Answered.ASK_DATE:
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("When will you do it? Choose a new date, or drop it."),
                reply_markup=new_date_keyboard(commitment.id),
            )
        )
    elif result is Answered.DONE:
        replies.add(SendMessage(chat_id=person.id, text=_("🎉 Well done! Marked as done.")))
    elif result is Answered.DROPPED:
        replies.add(
            SendMessage(chat_id=person.id, text=_("Dropped. It will not be followed up any more."))
        )
    else:
        outbox.wake()
        replies.add(
            SendMessage(
                chat_id=person.id,
                text=_("Moved to {date}. I will ask you about it then.").format(
                    date=renderer.value(commitment.due_on, i18n.current_locale)
                ),
            )
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(commitments, Command("commitments"))
    router.callback_query.register(answer, CommitmentButton.filter())
    return router

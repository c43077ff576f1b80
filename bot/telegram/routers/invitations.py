"""The buttons of the regular check-in, of the monthly Wheel invitation and of the
relationship pulse."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.dialogs import DialogService
from bot.services.programme import Programme
from bot.services.pulse import PULSE_FORM
from bot.services.schedule import INVITE_DIALOGS, Scheduler
from bot.storage.models import Person
from bot.telegram.buttons import Invitation, PulseStart
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.views import DialogView


async def accept_invitation(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    scheduler: Scheduler,
    replies: Replies,
    callback_data: Invitation,
) -> None:
    """Only the newest invitation of its kind, and only until it is answered, starts its
    dialog: an older one, or a second tap, says so and changes nothing."""
    kind, code = callback_data.kind, callback_data.code
    if kind not in INVITE_DIALOGS:
        replies.add(query.answer(_("This button no longer works."), show_alert=True))
        return
    state = await scheduler.invitation(session, person.id, kind, code)
    if state != "open":
        replies.add(
            query.answer(
                _("You have answered this one already. Thank you!")
                if state == "done"
                else _("This invitation has expired: a newer one has come since."),
                show_alert=True,
            )
        )
        return
    replies.add(query.answer())
    turn = await dialogs.start(session, person.id, INVITE_DIALOGS[kind])
    await DialogView(replies, person.id, i18n.current_locale, renderer, dialogs, session).begin(
        turn
    )


async def answer_pulse(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    programme: Programme,
    replies: Replies,
    callback_data: PulseStart,
) -> None:
    """The policy has made sure the pair is the presser's; only its latest round, until it
    is answered, asks the questions."""
    state = await programme.pulse.open(session, person, callback_data.pair, callback_data.round)
    if state != "open":
        replies.add(
            query.answer(
                _("You have answered this one already. Thank you!")
                if state == "done"
                else _("This question has expired: a newer one has come since, or the pair ended."),
                show_alert=True,
            )
        )
        return
    replies.add(query.answer())
    turn = await dialogs.start(session, person.id, PULSE_FORM, restart=True)
    await DialogView(replies, person.id, i18n.current_locale, renderer, dialogs, session).begin(
        turn
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(accept_invitation, Invitation.filter())
    router.callback_query.register(answer_pulse, PulseStart.filter())
    return router

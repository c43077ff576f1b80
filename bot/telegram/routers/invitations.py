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


async def answered(
    query: CallbackQuery,
    state: str,
    expired: str,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    dialog_id: str,
    replies: Replies,
    restart: bool = False,
) -> None:
    """An invitation's press: its dialog starts (afresh with ``restart``) when the
    invitation is "open"; "done" or any other state (``expired`` says why) is told and
    changes nothing."""
    if state != "open":
        thanks = _("You have answered this one already. Thank you!")
        replies.add(query.answer(thanks if state == "done" else expired, show_alert=True))
        return
    replies.add(query.answer())
    turn = await dialogs.start(session, person.id, dialog_id, restart=restart)
    await DialogView(replies, person.id, i18n.current_locale, renderer, dialogs, session).begin(
        turn
    )


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
    await answered(
        query,
        await scheduler.invitation(session, person.id, kind, code),
        _("This invitation has expired: a newer one has come since."),
        session,
        person,
        i18n,
        renderer,
        dialogs,
        INVITE_DIALOGS[kind],
        replies,
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
    await answered(
        query,
        await programme.pulse.open(session, person, callback_data.pair, callback_data.round),
        _("This question has expired: a newer one has come since, or the pair ended."),
        session,
        person,
        i18n,
        renderer,
        dialogs,
        PULSE_FORM,
        replies,
        # A round left half-answered is not carried into the next.
        restart=True,
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(accept_invitation, Invitation.filter())
    router.callback_query.register(answer_pulse, PulseStart.filter())
    return router

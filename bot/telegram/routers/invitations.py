"""The buttons of the regular check-in and of the monthly Wheel invitation."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.dialogs import DialogService
from bot.services.schedule import INVITE_DIALOGS, Scheduler
from bot.storage.models import Person
from bot.telegram.filters import data_prefix
from bot.telegram.render import Renderer
from bot.telegram.views import begin_dialog


async def accept_invitation(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    dialogs: DialogService,
    scheduler: Scheduler,
) -> None:
    _prefix, kind, code = (query.data or "::").split(":", 2)
    if kind not in INVITE_DIALOGS:
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    state = await scheduler.invitation(session, person.id, kind, code)
    if state != "open":
        await session.commit()
        await query.answer(
            _("You have answered this one already. Thank you!")
            if state == "done"
            else _("This invitation has expired: a newer one has come since."),
            show_alert=True,
        )
        return
    await query.answer()
    turn = await dialogs.start(session, person.id, INVITE_DIALOGS[kind])
    await begin_dialog(bot, person.id, i18n, renderer, dialogs, session, turn)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(accept_invitation, data_prefix("inv:"))
    return router

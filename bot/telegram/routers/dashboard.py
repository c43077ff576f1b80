"""/dashboard: a coordinator's one-time sign-in link to the dashboard in a browser, and the
menu button that opens it inside Telegram (bot/dashboard)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage, SetChatMenuButton
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.auth import LINK_MINUTES
from bot.dashboard.server import Dashboard
from bot.storage.models import Person
from bot.telegram.filters import PRIVATE
from bot.telegram.replies import Replies


async def dashboard_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    dashboard: Dashboard | None,
    replies: Replies,
) -> None:
    if dashboard is None:
        replies.add(
            message.answer(
                _("The dashboard is not set up on this bot: its operator sets DASHBOARD_URL.")
            )
        )
        return
    secret = dashboard.auth.mint_link(session, person.id)
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_(
                "Your sign-in link to the dashboard. It works once, within {minutes} minutes; "
                "don't pass it on:\n{link}\n\nInside Telegram, the menu button beside the "
                "message field opens the dashboard too."
            ).format(minutes=LINK_MINUTES, link=dashboard.link(secret)),
        )
    )
    replies.add(
        SetChatMenuButton(chat_id=person.id, menu_button=dashboard.menu_button(_("Dashboard")))
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(dashboard_command, Command("dashboard"))
    return router

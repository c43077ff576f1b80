"""A person blocking or unblocking the bot in their private chat."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.people import PeopleService
from bot.telegram.filters import PRIVATE


async def membership_changed(
    event: ChatMemberUpdated, session: AsyncSession, people: PeopleService
) -> None:
    status = event.new_chat_member.status
    blocked = status in ("kicked", "left")
    await people.set_reachable(session, event.from_user.id, reachable=not blocked)


def create_router() -> Router:
    router = Router(name=__name__)
    router.my_chat_member.filter(PRIVATE)
    router.my_chat_member.register(membership_changed)
    return router

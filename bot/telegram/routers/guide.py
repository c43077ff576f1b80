"""/guide: the kit's advice on using each coaching tool with a mentee, for mentors and the
coordinators who run their programme."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.guidance import GUIDES
from bot.storage.models import Person
from bot.telegram.buttons import Guide
from bot.telegram.filters import PRIVATE
from bot.telegram.replies import Replies
from bot.telegram.routers.coordinator import keyboard


def menu() -> list[list[tuple[str, Guide]]]:
    return [[(_(guide.title), Guide(tool=tool))] for tool, guide in GUIDES.items()]


async def guide_command(message: Message, replies: Replies) -> None:
    replies.add(
        message.answer(
            _(
                "How to use each tool with your mentee, step by step, as the programme's kit "
                "advises. Which tool?"
            ),
            reply_markup=keyboard(menu()),
        )
    )


async def guide(
    query: CallbackQuery, person: Person, callback_data: Guide, replies: Replies
) -> None:
    replies.add(query.answer())
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_(GUIDES[callback_data.tool].advice),
            reply_markup=keyboard(menu()),
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(guide_command, Command("guide"))
    router.callback_query.register(guide, Guide.filter())
    return router

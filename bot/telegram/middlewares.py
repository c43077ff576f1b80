"""Per-update work: the database session and the person."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.clock import Clock
from bot.services.people import PeopleService
from bot.storage import repositories as repo
from bot.storage.group_commit import GroupCommit
from bot.telegram.replies import Replies

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DatabaseMiddleware(BaseMiddleware):
    """One unit of work per update: a database session, committed here once the handler
    is done; then the handler's replies are sent (no request while the transaction is
    open), and the update is marked handled together with other updates finished
    meanwhile (one group commit). A handler that fails commits nothing and sends
    nothing, so its update can safely be handled again."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.handled: GroupCommit[repo.Handled] = GroupCommit(sessions, repo.mark_handled)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        replies = Replies()
        data["replies"] = replies
        async with self.sessions() as session:
            data["session"] = session
            try:
                result = await handler(event, data)
            except TelegramForbiddenError:
                # A request the handler made itself was refused: the person blocked the
                # bot. The sender has marked them unreachable; what the handler wrote is
                # rolled back, as for any failure.
                await session.rollback()
                result = None
            if session.in_transaction():
                await session.commit()
        if replies:
            await replies.send(data["bot"])
        await self.handled.add((event.update_id, self.clock.now(), None))
        return result


class PersonMiddleware(BaseMiddleware):
    """The person behind the update, as ``person`` (recorded when first seen)."""

    def __init__(self, people: PeopleService) -> None:
        self.people = people

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is not None and not user.is_bot and (chat is None or chat.type == "private"):
            data["person"] = await self.people.arrive(
                data["session"], user.id, user.first_name, user.language_code
            )
        return await handler(event, data)

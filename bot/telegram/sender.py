"""Every request to the Bot API passes here. A 429 for one chat pauses the requests to
that chat for its retry_after, and the request is tried again; 429s for two chats at
once, or for a request that names no chat, are Telegram's limit for the whole bot, and
pause every request, in every process on the database (``SharedPause``). A 403 marks the
person unreachable. Pacing of the messages the bot starts itself is the outbox's
(bot/telegram/outbox.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, cast

import orjson
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.storage import repositories as repo

log = logging.getLogger(__name__)

JSON_BODY = {"Content-Type": "application/json"}

MAX_RETRIES = 5
# 429s for different chats within this many seconds are taken for the bot-wide limit.
GLOBAL_WINDOW = 1.0
# Set once a request other than getUpdates has been made in the current task: an update
# whose handling already said something to someone must not be handled again.
spoke: ContextVar[bool] = ContextVar("spoke", default=False)
# Set by a caller that does not read what a request returns (a reply nobody waits on): its
# answer is then only checked, not made into aiogram's objects (a message, its sender, its
# chat and entities), which costs more than the rest of reading it.
unread: ContextVar[bool] = ContextVar("unread", default=False)
# Set by the outbox for its own requests: a 429 for the whole bot is raised to it, and the
# request goes again at a new turn of its rate once the pause is over, instead of being
# waited out here (the requests that met the pause would all go at once when it ends).
paced: ContextVar[bool] = ContextVar("paced", default=False)


class DeliveryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        on_blocked: Callable[[int], Awaitable[None]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_blocked = on_blocked
        self.sleep = sleep
        self.monotonic = monotonic
        self.resume_at = 0.0
        # Told of a bot-wide pause (its seconds), to tell the other processes.
        self.on_bot_wide: Callable[[float], None] | None = None
        # Per chat: when requests to it may go again after a 429 for it.
        self.chat_resume: dict[int | str, float] = {}
        # The chat and moment of the last 429 that named a chat.
        self.last_chat_429: tuple[int | str, float] | None = None
        self.chat_locks: defaultdict[int | str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.chat_waiting: defaultdict[int | str, int] = defaultdict(int)
        # aiogram reads each answer as Response[<returned type>]; pydantic keeps such
        # classes only while something refers to them, so without these references
        # they are built anew (several milliseconds) for nearly every request.
        self.response_types: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    def pause_left(self) -> float:
        """Seconds until requests may go again after a 429 (0 when they may now)."""
        return max(0.0, self.resume_at - self.monotonic())

    def hold_back(self, seconds: float) -> None:
        """Pause every request for ``seconds`` (a bot-wide 429 another process met)."""
        self.resume_at = max(self.resume_at, self.monotonic() + seconds)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, GetUpdates):
            spoke.set(True)
        if type(method) not in self.response_types:
            self.response_types[type(method)] = Response[method.__returning__]  # type: ignore[name-defined]
        chat = getattr(method, "chat_id", None)
        chat = chat if isinstance(chat, int | str) else None
        if chat is None:
            return await self._deliver(make_request, bot, method, chat)
        async with self._turn(chat):
            return await self._deliver(make_request, bot, method, chat)

    @contextlib.asynccontextmanager
    async def _turn(self, chat: int | str) -> AsyncIterator[None]:
        """One request to a chat at a time, in the order they were made: a message that
        waits out a 429 for its chat is not overtaken by the next one. The lock is dropped
        when nobody waits for it, so the table holds only chats being written to."""
        self.chat_waiting[chat] += 1
        try:
            async with self.chat_locks[chat]:
                yield
        finally:
            self.chat_waiting[chat] -= 1
            if not self.chat_waiting[chat]:
                del self.chat_waiting[chat]
                del self.chat_locks[chat]

    async def _deliver(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        chat: int | str | None,
    ) -> Response[TelegramType]:
        attempt = 0
        name = type(method).__name__
        while True:
            # Looked at again after each wait: a pause for the whole bot may come meanwhile.
            while (pause := self._resume_at(chat) - self.monotonic()) > 0:
                await self.sleep(pause)
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                bot_wide = self.slow_down(chat, exc.retry_after)
                metrics.RETRY_AFTER.labels(scope="bot" if bot_wide else "chat").inc()
                if attempt > MAX_RETRIES:
                    metrics.REQUESTS.labels(method=name, outcome="failed").inc()
                    raise
                log.warning(
                    "Telegram asked to slow down on %s: waiting %s s (attempt %s)",
                    name,
                    exc.retry_after,
                    attempt,
                )
                if bot_wide and paced.get():
                    raise
            except TelegramForbiddenError:
                metrics.REQUESTS.labels(method=name, outcome="unreachable").inc()
                chat_id = chat
                if isinstance(chat_id, int) and chat_id > 0:
                    log.info("chat %s blocked the bot; marked unreachable", chat_id)
                    await self.on_blocked(chat_id)
                raise
            except Exception:
                if not isinstance(method, GetUpdates):
                    metrics.REQUESTS.labels(method=name, outcome="failed").inc()
                raise
            else:
                if not isinstance(method, GetUpdates):
                    metrics.REQUESTS.labels(method=name, outcome="sent").inc()
                return response

    def _resume_at(self, chat: int | str | None) -> float:
        return max(self.resume_at, self.chat_resume.get(chat, 0.0) if chat else 0.0)

    def slow_down(self, chat: int | str | None, retry_after: float) -> bool:
        """Pause the chat, or every request when the 429 is the bot-wide limit: True then."""
        now = self.monotonic()
        until = now + retry_after
        previous = self.last_chat_429
        bot_wide = chat is None or (
            previous is not None and previous[0] != chat and now - previous[1] < GLOBAL_WINDOW
        )
        if bot_wide:
            self.resume_at = max(self.resume_at, until)
            if self.on_bot_wide is not None:
                self.on_bot_wide(retry_after)
        else:
            assert chat is not None
            self.chat_resume[chat] = max(self.chat_resume.get(chat, 0.0), until)
            self.last_chat_429 = (chat, now)
        # Pauses that are over are forgotten, so the table holds only chats waiting now.
        for waiting in [c for c, at in self.chat_resume.items() if at <= now]:
            del self.chat_resume[waiting]
        return bot_wide


PAUSE_KEY = "telegram:paused_until"


class SharedPause:
    """A pause Telegram asked of the whole bot, told to every process on the database: a
    ``bot_state`` row holds when it ends (wall-clock time, so processes on several machines
    need their clocks in sync, as for the leases). A process that meets a bot-wide 429
    writes it; every process reads it as often as its outbox loop turns (at least once a
    second) and holds its requests back until then."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryMiddleware,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.delivery = delivery
        self.now = now
        self.telling: set[asyncio.Task[None]] = set()
        delivery.on_bot_wide = self.tell_later

    def tell_later(self, seconds: float) -> None:
        """Tell the others without holding up the request that met the 429."""
        task = asyncio.create_task(self.tell(seconds))
        self.telling.add(task)
        task.add_done_callback(self.telling.discard)

    async def tell(self, seconds: float) -> None:
        until = repo.moment_text(self.now() + timedelta(seconds=seconds))
        try:
            async with self.sessions() as db:
                await repo.advance_state(db, PAUSE_KEY, until)
                await db.commit()
        except SQLAlchemyError as exc:  # two first pauses at once, or no database
            log.warning("could not tell the other processes of a pause: %s", type(exc).__name__)

    async def hear(self) -> None:
        """Hold requests back until the pause another process met is over."""
        async with self.sessions() as db:
            until = await repo.get_state(db, PAUSE_KEY)
        if until is None:
            return
        left = datetime.fromisoformat(until).replace(tzinfo=UTC) - self.now()
        if left > timedelta(0):
            self.delivery.hold_back(left.total_seconds())


def read_ok(content: bytes) -> bool:
    """Whether a Bot API answer says the request was done."""
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError:
        return False
    return isinstance(answer, dict) and answer.get("ok") is True


def answer_without_keyboard(content: str) -> Any:
    """A Bot API answer, read without the keyboard of the message it returns: the bot never
    reads back a keyboard it sent, and parsing one makes a pydantic object of every
    button."""
    answer = orjson.loads(content)
    result = answer.get("result") if isinstance(answer, dict) else None
    if isinstance(result, dict):
        result.pop("reply_markup", None)
    return answer


class BotSession(AiohttpSession):
    """aiogram's session, with requests sent as JSON and answers read without keyboards."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(json_loads=answer_without_keyboard, **kwargs)

    async def close(self) -> None:
        """aiogram waits a quarter of a second after closing, for TLS connections to shut;
        a Bot API server reached over plain HTTP (a local one) has none."""
        if self.api.base.startswith("https:"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        """A request without files goes as one JSON object (the Bot API takes JSON as well as
        forms), encoded in one pass instead of field by field and then URL-quoted. Its empty
        fields are left out by pydantic as it dumps the method, rather than walked one by one
        in Python: an inline keyboard's buttons have a dozen empty fields each."""
        files: dict[str, Any] = {}
        body = self.prepare_value(
            method.model_dump(warnings=False, exclude_none=True),
            bot=bot,
            files=files,
            _dumps_json=False,
        )
        if files:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        try:
            async with session.post(
                self.api.api_url(token=bot.token, method=method.__api_method__),
                data=orjson.dumps(body),
                headers=JSON_BODY,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as response:
                content = await response.read()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            # The type only: aiohttp's messages can hold the URL, and the URL holds the token.
            raise TelegramNetworkError(method=method, message=type(exc).__name__) from exc
        if unread.get() and response.status == HTTPStatus.OK and read_ok(content):
            return cast(TelegramType, None)
        answer = self.check_response(
            bot=bot, method=method, status_code=response.status, content=content.decode()
        )
        return cast(TelegramType, answer.result)

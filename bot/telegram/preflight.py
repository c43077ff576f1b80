"""Before a process starts its loops: does Telegram know the token?"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from bot.errors import OperatorError

# A start that cannot reach Telegram says so within this long, not after aiogram's minute.
GET_ME_TIMEOUT = 15


async def introduce(bot: Bot, api_url: str | None) -> User:
    """The bot as Telegram knows it (getMe); a rejected token or an unreachable Telegram
    is an OperatorError that says what to do."""
    where = api_url or "https://api.telegram.org"
    try:
        return await bot.get_me(request_timeout=GET_ME_TIMEOUT)
    except TelegramUnauthorizedError:
        raise OperatorError(
            "Telegram refused BOT_TOKEN (401 Unauthorized): it was revoked or mistyped. In "
            "Telegram ask @BotFather (/mybots, your bot, API Token) and set BOT_TOKEN to it"
        ) from None
    except TelegramNotFound:
        raise OperatorError(
            f"{where} answered getMe with 404 Not Found: it is not a Bot API server "
            "(check TELEGRAM_API_URL), or BOT_TOKEN is not a bot's token"
        ) from None
    except TelegramNetworkError as exc:
        raise OperatorError(
            f"cannot reach Telegram at {where} ({_reason(exc)}): check this machine's network "
            "(DNS, a firewall or proxy) and TELEGRAM_API_URL"
        ) from None
    except TelegramAPIError as exc:
        raise OperatorError(
            f"{where} answered getMe with {type(exc).__name__}: try again later"
        ) from None


def _reason(exc: TelegramNetworkError) -> str:
    # aiogram's message is "HTTP Client says - <aiohttp's error>": the error alone is enough,
    # and neither holds the token (its URL is never part of them).
    return exc.message.removeprefix("HTTP Client says - ").strip() or "no answer"

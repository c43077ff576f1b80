"""The bare aiogram echo bot of bench_dialogs, in a process of its own:
``BOT_TOKEN=... TELEGRAM_API_URL=... python -m tests.bench.echo_bot``; with ``ECHO_TUNE_GC=1``
its collector is set as the bot's is."""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import tune_gc
from tests.bench.bench_dialogs import echo_dispatcher


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    if os.environ.get("ECHO_TUNE_GC"):
        tune_gc()
    await echo_dispatcher().start_polling(bot, polling_timeout=1, handle_as_tasks=True)


if __name__ == "__main__":
    asyncio.run(main())

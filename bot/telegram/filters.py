"""Filters checked in the event loop.

aiogram runs a filter that is not a coroutine (a magic ``F`` expression included) in a
worker thread, one thread hop for every update it looks at. These are the magic filters
the routers use, as coroutines."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import BaseFilter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter


class Magic(BaseFilter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> bool:
        return bool(self.magic.resolve(event))


PRIVATE = Magic(F.chat.type == "private")
IN_GROUP = Magic(F.chat.type.in_({"group", "supergroup"}))

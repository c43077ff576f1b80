"""The routers, in the order they are tried: catch-alls last."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import common, dialogs, fallback, history, membership


def all_routers() -> list[Router]:
    return [membership.router, common.router, history.router, dialogs.router, fallback.router]

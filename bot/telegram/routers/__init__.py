"""The routers, in the order they are tried: catch-alls last. Each call builds new
routers, so that every dispatcher has its own."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import (
    commitments,
    common,
    coordinator,
    dialogs,
    fallback,
    history,
    membership,
    mentoring,
    settings,
)


def create_routers(dialog_commands: list[str]) -> list[Router]:
    return [
        membership.create_router(),
        coordinator.create_router(),
        coordinator.create_refusals(),
        common.create_router(),
        mentoring.create_router(),
        commitments.create_router(),
        settings.create_router(),
        history.create_router(),
        dialogs.create_router(dialog_commands),
        fallback.create_router(),
    ]

"""The routers, in the order they are tried: catch-alls last. Each call builds new
routers, so that every dispatcher has its own."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import (
    broadcast,
    commitments,
    common,
    coordinator,
    dashboard,
    dialogs,
    fallback,
    guide,
    history,
    invitations,
    meetings,
    membership,
    mentoring,
    polls,
    settings,
    stats,
)


def create_routers(dialog_commands: list[str]) -> list[Router]:
    # The dialogs come early: answers are most of the traffic, and the dialog router takes
    # only private non-command messages and its own buttons, so it hides nothing from the
    # others. Only a coordinator writing a broadcast comes before it.
    return [
        broadcast.create_writing_router(),
        dialogs.create_router(dialog_commands),
        membership.create_router(),
        broadcast.create_groups_router(),
        coordinator.create_router(),
        polls.create_router(),
        stats.create_router(),
        dashboard.create_router(),
        broadcast.create_router(),
        polls.create_answers(),
        guide.create_router(),
        common.create_router(),
        mentoring.create_router(),
        commitments.create_router(),
        invitations.create_router(),
        meetings.create_router(),
        settings.create_router(),
        history.create_router(),
        fallback.create_router(),
    ]

"""/stats and /export for coordinators."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import render_stats
from bot.domain.texts import Msg
from bot.services.cohorts import CohortService
from bot.services.exports import EXPORTS, export
from bot.services.stats import StatsService
from bot.storage.models import Cohort, Person
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.render import Renderer, split_html
from bot.telegram.routers.coordinator import IsCoordinator, choose_cohort, refuse

COMMANDS = ("stats", "export")


async def stats_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await choose_cohort(
        message, session, person, cohort_service, "st", _("Statistics of which cohort?")
    )


async def export_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await choose_cohort(message, session, person, cohort_service, "ex", _("Export which cohort?"))


async def picked(
    query: CallbackQuery, session: AsyncSession, person: Person, cohort_service: CohortService
) -> Cohort | None:
    cohort_id = (query.data or "").split(":")[-1]
    cohort = (
        await cohort_service.cohort_of(session, person, int(cohort_id))
        if cohort_id.isdigit()
        else None
    )
    if cohort is None:
        await session.commit()
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return None
    await query.answer()
    return cohort


async def show_stats(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    stats: StatsService,
) -> None:
    cohort = await picked(query, session, person, cohort_service)
    if cohort is None:
        return
    locale = i18n.current_locale
    figures = await stats.cohort_stats(session, cohort)

    def html(msg: Msg) -> str:
        return renderer.text(msg, locale)

    def plain(msg: Msg) -> str:
        return renderer.plain(msg, locale)

    for part in split_html(stats.message(figures, html)):
        await bot.send_message(person.id, part)
    picture = await asyncio.to_thread(render_stats, stats.chart(figures, plain))
    await bot.send_photo(person.id, BufferedInputFile(picture, "stats.png"))


async def send_export(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    stats: StatsService,
) -> None:
    cohort = await picked(query, session, person, cohort_service)
    if cohort is None:
        return
    for what in EXPORTS:
        text = await export(session, what, cohort.name, stats.coaching())
        await bot.send_document(person.id, BufferedInputFile(text.encode("utf-8"), f"{what}.csv"))
    await bot.send_message(
        person.id,
        _(
            "Pairs, sessions and check-ins of {cohort}. They hold numbers, choices and dates; "
            "free text only from the ending forms, which people were told go to you. Session "
            "answers and check-in notes stay private."
        ).format(cohort=Renderer.escape(cohort.name)),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE, IsCoordinator())
    router.callback_query.filter(IsCoordinator())
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(show_stats, data_prefix("st:"))
    router.message.register(export_command, Command("export"))
    router.callback_query.register(send_export, data_prefix("ex:"))
    return router


def create_refusals() -> Router:
    router = Router(name=f"{__name__}.refusals")
    router.message.filter(PRIVATE)
    router.message.register(refuse, Command(*COMMANDS))
    return router

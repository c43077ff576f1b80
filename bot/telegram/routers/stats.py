"""/stats and /export for coordinators."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import render_stats
from bot.domain.texts import Msg
from bot.services.cohorts import CohortService
from bot.services.exports import EXPORTS, export
from bot.services.pulse import PulseService
from bot.services.stats import StatsService
from bot.storage.models import Cohort, Person
from bot.telegram.buttons import Export, Stats
from bot.telegram.filters import PRIVATE
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies
from bot.telegram.routers.coordinator import choose_cohort, gone, say


async def stats_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await choose_cohort(
        message,
        session,
        person,
        cohort_service,
        lambda cohort: Stats(cohort=cohort),
        _("Statistics for which cohort?"),
        replies,
    )


async def export_command(
    message: Message,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    replies: Replies,
) -> None:
    await choose_cohort(
        message,
        session,
        person,
        cohort_service,
        lambda cohort: Export(cohort=cohort),
        _("Export which cohort?"),
        replies,
    )


async def picked(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    cohort_id: int,
    replies: Replies,
) -> Cohort | None:
    """The cohort a press names (the policy made sure it is theirs), unless it is gone."""
    cohort = await cohort_service.cohort_of(session, person, cohort_id)
    if cohort is None:
        gone(query, replies)
        return None
    replies.add(query.answer())
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
    pulse: PulseService,
    callback_data: Stats,
    replies: Replies,
) -> None:
    cohort = await picked(query, session, person, cohort_service, callback_data.cohort, replies)
    if cohort is None:
        return
    locale = i18n.current_locale
    figures = await stats.cohort_stats(session, cohort)

    def html(msg: Msg) -> str:
        return renderer.text(msg, locale)

    def plain(msg: Msg) -> str:
        return renderer.plain(msg, locale)

    text = stats.message(figures, html)
    health = await pulse.cohort_health(session, cohort.id)
    if health is not None:
        text += "\n\n" + html(health)
    for part in split_html(text):
        replies.add(SendMessage(chat_id=person.id, text=part))
    picture = await asyncio.to_thread(render_stats, stats.chart(figures, plain))
    replies.add(SendPhoto(chat_id=person.id, photo=BufferedInputFile(picture, "stats.png")))


async def send_export(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    stats: StatsService,
    callback_data: Export,
    replies: Replies,
) -> None:
    cohort = await picked(query, session, person, cohort_service, callback_data.cohort, replies)
    if cohort is None:
        return
    for what in EXPORTS:
        text = await export(session, what, cohort.name, stats.coaching())
        replies.add(
            SendDocument(
                chat_id=person.id,
                document=BufferedInputFile(text.encode("utf-8"), f"{what}.csv"),
            )
        )
    say(
        replies,
        person.id,
        _(
            "Pairs, sessions and check-ins of {cohort}. They hold numbers, choices and dates; "
            "free text only from the ending forms, which people were told go to you. Session "
            "answers and check-in notes stay private."
        ).format(cohort=Renderer.escape(cohort.name)),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(show_stats, Stats.filter())
    router.message.register(export_command, Command("export"))
    router.callback_query.register(send_export, Export.filter())
    return router

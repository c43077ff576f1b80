"""/poll, /quiz and /leaderboard for coordinators; poll answers from everyone."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PollAnswer,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import render_poll_results
from bot.domain.polls import PollTextError, parse_poll
from bot.services.cohorts import CohortService
from bot.services.polls import QUIZ, PollService
from bot.storage.models import Person, Poll
from bot.telegram.filters import PRIVATE, data_prefix
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.routers.coordinator import IsCoordinator, choose_cohort, refuse

COMMANDS = ("poll", "quiz", "leaderboard")


def how_to(quiz: bool) -> str:
    if quiz:
        return _(
            "Write the quiz in one message: the question on the first line, then each option "
            "on a line of its own, the right one starting with *. For example:\n\n"
            "/quiz What does the G of GROW stand for?\n*Goal\nGrowth\nGuidance"
        )
    return _(
        "Write the poll in one message: the question on the first line, then each option "
        "on a line of its own. For example:\n\n"
        "/poll When shall we meet?\nMonday evening\nWednesday evening\nSaturday morning"
    )


def preview(poll: Poll) -> str:
    heading = _("<b>Quiz</b>") if poll.kind == QUIZ else _("<b>Poll</b>")
    options = "\n".join(
        f"{n + 1}. {Renderer.escape(option)}" + (" ✅" if n == poll.correct_option else "")
        for n, option in enumerate(poll.options)
    )
    return f"{heading}: {Renderer.escape(poll.question)}\n{options}\n\n" + _(
        "Where should it go? A cohort's members each get it in their own chat."
    )


async def new_poll(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    person: Person,
    i18n: I18n,
    renderer: Renderer,
    cohort_service: CohortService,
    polls: PollService,
) -> None:
    quiz = command.command == "quiz"
    if not (command.args or "").strip():
        await session.commit()
        await message.answer(how_to(quiz))
        return
    try:
        draft = parse_poll(command.args or "", quiz)
    except PollTextError as error:
        await session.commit()
        await message.answer(renderer.text(error.msg, i18n.current_locale) + "\n\n" + how_to(quiz))
        return
    cohorts = await cohort_service.coordinated(session, person)
    audiences = await polls.audiences(session, cohorts)
    if not audiences.cohorts and not audiences.groups:
        await message.answer(_("You run no cohort yet. /cohort_new creates one."))
        return
    poll = await polls.draft(session, person, quiz, draft)
    rows = [
        [
            InlineKeyboardButton(
                text=_("👥 {cohort} ({count} people)").format(cohort=cohort.name, count=count),
                callback_data=f"pto:{poll.id}:c:{cohort.id}",
            )
        ]
        for cohort, count in audiences.cohorts
    ] + [
        [
            InlineKeyboardButton(
                text=_("💬 {group}").format(group=group.title or str(group.chat_id)),
                callback_data=f"pto:{poll.id}:g:{group.chat_id}",
            )
        ]
        for group in audiences.groups
    ]
    await message.answer(preview(poll), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def send_poll(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    outbox: OutboxSender,
) -> None:
    parts = (query.data or "").split(":")
    if len(parts) != 4 or not parts[1].isdigit() or parts[2] not in ("c", "g"):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    try:
        target = int(parts[3])
    except ValueError:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    cohorts = await cohort_service.coordinated(session, person)
    sent = await polls.send(
        session,
        person,
        int(parts[1]),
        cohorts,
        cohort_id=target if parts[2] == "c" else None,
        group_id=target if parts[2] == "g" else None,
    )
    if sent is None:
        await query.answer(_("This poll has already been sent, or is gone."), show_alert=True)
        return
    poll, count = sent
    outbox.wake()
    await query.answer()
    if query.message is not None:
        await bot.edit_message_reply_markup(chat_id=person.id, message_id=query.message.message_id)
    await bot.send_message(
        person.id,
        _("Sent to the group; answers are gathered as they come.")
        if poll.group_chat_id is not None
        else _("Sent to {count} people; answers are gathered as they come.").format(count=count),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("📊 Results"), callback_data=f"pres:{poll.id}")]
            ]
        ),
    )


async def show_results(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    polls: PollService,
) -> None:
    poll_id = (query.data or "").split(":")[-1]
    results = await polls.results(session, person, int(poll_id)) if poll_id.isdigit() else None
    if results is None:
        await query.answer(_("This poll is gone."), show_alert=True)
        return
    await query.answer()
    poll = results.poll
    picture = await asyncio.to_thread(
        render_poll_results, poll.question, poll.options, results.counts, poll.correct_option
    )
    caption = _("{voters} answered; sent in {sent} chats.").format(
        voters=results.voters, sent=results.sent
    )
    if poll.kind == QUIZ and poll.correct_option is not None:
        caption += "\n" + _("Right answers: {right}").format(
            right=results.counts[poll.correct_option]
        )
    await bot.send_photo(person.id, BufferedInputFile(picture, "poll.png"), caption=caption)
    if poll.kind == QUIZ and poll.cohort_id is not None:
        await send_leaderboard(bot, session, person, polls, poll.cohort_id)


async def leaderboard_command(
    message: Message, session: AsyncSession, person: Person, cohort_service: CohortService
) -> None:
    await choose_cohort(
        message, session, person, cohort_service, "lb", _("The quiz leaderboard of which cohort?")
    )


async def leaderboard(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
) -> None:
    cohort_id = (query.data or "").split(":")[-1]
    cohort = (
        await cohort_service.cohort_of(session, person, int(cohort_id))
        if cohort_id.isdigit()
        else None
    )
    if cohort is None:
        await session.commit()
        await query.answer(_("This is not one of your cohorts."), show_alert=True)
        return
    await query.answer()
    await send_leaderboard(bot, session, person, polls, cohort.id)


async def send_leaderboard(
    bot: Bot, session: AsyncSession, person: Person, polls: PollService, cohort_id: int
) -> None:
    board = await polls.leaderboard(session, cohort_id)
    if not board:
        await bot.send_message(person.id, _("Nobody has answered a quiz of this cohort yet."))
        return
    medals = ("🥇", "🥈", "🥉")
    lines = [_("<b>Quiz leaderboard</b>")] + [
        _("{place} {name}: {right} right of {answered}").format(
            place=medals[n] if n < len(medals) else f"{n + 1}.",
            name=Renderer.escape(name),
            right=right,
            answered=answered,
        )
        for n, (name, right, answered) in enumerate(board)
    ]
    for part in split_html("\n".join(lines)):
        await bot.send_message(person.id, part)


async def poll_answer(answer: PollAnswer, session: AsyncSession, polls: PollService) -> None:
    """Someone answered (or took back their answer to) a poll the bot sent."""
    if answer.user is None:
        return
    await polls.answer(session, answer.poll_id, answer.user.id, list(answer.option_ids))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE, IsCoordinator())
    router.callback_query.filter(IsCoordinator())
    router.message.register(new_poll, Command("poll", "quiz"))
    router.callback_query.register(send_poll, data_prefix("pto:"))
    router.callback_query.register(show_results, data_prefix("pres:"))
    router.message.register(leaderboard_command, Command("leaderboard"))
    router.callback_query.register(leaderboard, data_prefix("lb:"))
    return router


def create_answers() -> Router:
    """Answers to polls come from anyone: members, group members."""
    router = Router(name=f"{__name__}.answers")
    router.poll_answer.register(poll_answer)
    return router


def create_refusals() -> Router:
    router = Router(name=f"{__name__}.refusals")
    router.message.filter(PRIVATE)
    router.message.register(refuse, Command(*COMMANDS))
    return router

"""/poll, /quiz and /leaderboard for coordinators; poll answers from everyone."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import EditMessageReplyMarkup, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, CallbackQuery, Message, PollAnswer
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import render_poll_results
from bot.domain.access import Standing
from bot.domain.polls import PollTextError, parse_poll
from bot.services.cohorts import CohortService
from bot.services.polls import QUIZ, PollService
from bot.storage.models import Person, Poll
from bot.telegram.buttons import Leaderboard, PollResults, PollTarget
from bot.telegram.filters import PRIVATE
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer
from bot.telegram.replies import Replies
from bot.telegram.routers.coordinator import choose_cohort, gone, keyboard, say


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
    replies: Replies,
) -> None:
    quiz = command.command == "quiz"
    if not (command.args or "").strip():
        replies.add(message.answer(how_to(quiz)))
        return
    try:
        draft = parse_poll(command.args or "", quiz)
    except PollTextError as error:
        replies.add(
            message.answer(renderer.text(error.msg, i18n.current_locale) + "\n\n" + how_to(quiz))
        )
        return
    cohorts = await cohort_service.coordinated(session, person)
    audiences = await polls.audiences(session, cohorts)
    if not audiences.cohorts and not audiences.groups:
        replies.add(message.answer(_("You run no cohort yet. /cohort_new creates one.")))
        return
    poll = await polls.draft(session, person, quiz, draft)
    rows = [
        [
            (
                ngettext(
                    "👥 {cohort} ({count} person)", "👥 {cohort} ({count} people)", count
                ).format(cohort=cohort.name, count=count),
                PollTarget(poll=poll.id, to="c", target=cohort.id),
            )
        ]
        for cohort, count in audiences.cohorts
    ] + [
        [
            (
                _("💬 {group}").format(group=group.title or str(group.chat_id)),
                PollTarget(poll=poll.id, to="g", target=group.chat_id),
            )
        ]
        for group in audiences.groups
    ]
    replies.add(message.answer(preview(poll), reply_markup=keyboard(rows)))


def sent_to(count: int, left_out: int) -> str:
    """Whom a poll to a cohort went to: only those it can reach."""
    text = ngettext(
        "Sent to {count} person; answers are gathered as they come.",
        "Sent to {count} people; answers are gathered as they come.",
        count,
    ).format(count=count)
    if left_out:
        text += "\n" + ngettext(
            "{count} person who blocked the bot does not get it.",
            "{count} people who blocked the bot do not get it.",
            left_out,
        ).format(count=left_out)
    return text


async def send_poll(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    outbox: OutboxSender,
    callback_data: PollTarget,
    replies: Replies,
) -> None:
    target = callback_data.target
    to_cohort = callback_data.to == "c"
    cohorts = await cohort_service.coordinated(session, person)
    sent = await polls.send(
        session,
        person,
        callback_data.poll,
        cohorts,
        cohort_id=target if to_cohort else None,
        group_id=None if to_cohort else target,
    )
    if sent is None:
        replies.add(
            query.answer(_("This poll has already been sent, or is gone."), show_alert=True)
        )
        return
    poll, count, left_out = sent
    outbox.wake()
    replies.add(query.answer())
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=_("Sent to the group; answers are gathered as they come.")
            if poll.group_chat_id is not None
            else sent_to(count, left_out),
            reply_markup=keyboard([[(_("📊 Results"), PollResults(poll=poll.id))]]),
        )
    )


async def show_results(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    polls: PollService,
    callback_data: PollResults,
    standing: Standing,
    replies: Replies,
) -> None:
    results = await polls.results(session, person, callback_data.poll)
    if results is None:
        replies.add(query.answer(_("This poll is gone."), show_alert=True))
        return
    replies.add(query.answer())
    poll = results.poll
    picture = await asyncio.to_thread(
        render_poll_results, poll.question, poll.options, results.counts, poll.correct_option
    )
    caption = _("Answered: {voters} · sent to chats: {sent}").format(
        voters=results.voters, sent=results.sent
    )
    if poll.kind == QUIZ and poll.correct_option is not None:
        caption += "\n" + _("Right answers: {right}").format(
            right=results.counts[poll.correct_option]
        )
    replies.add(
        SendPhoto(chat_id=person.id, photo=BufferedInputFile(picture, "poll.png"), caption=caption)
    )
    # The cohort's leaderboard, while the author still coordinates it.
    if poll.kind == QUIZ and poll.cohort_id is not None and standing.coordinates(poll.cohort_id):
        await send_leaderboard(replies, session, person, polls, poll.cohort_id)


async def leaderboard_command(
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
        lambda cohort: Leaderboard(cohort=cohort),
        _("The quiz leaderboard of which cohort?"),
        replies,
    )


async def leaderboard(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    callback_data: Leaderboard,
    replies: Replies,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    if cohort is None:
        gone(query, replies)
        return
    replies.add(query.answer())
    await send_leaderboard(replies, session, person, polls, cohort.id)


async def send_leaderboard(
    replies: Replies, session: AsyncSession, person: Person, polls: PollService, cohort_id: int
) -> None:
    board = await polls.leaderboard(session, cohort_id)
    if not board:
        replies.add(
            SendMessage(chat_id=person.id, text=_("Nobody has answered a quiz of this cohort yet."))
        )
        return
    medals = ("🥇", "🥈", "🥉")
    lines = [_("<b>Quiz leaderboard</b>")] + [
        _("{place} {name}: {right} of {answered} right").format(
            place=medals[n] if n < len(medals) else f"{n + 1}.",
            name=Renderer.escape(name),
            right=right,
            answered=answered,
        )
        for n, (name, right, answered) in enumerate(board)
    ]
    say(replies, person.id, "\n".join(lines))


async def poll_answer(answer: PollAnswer, session: AsyncSession, polls: PollService) -> None:
    """Someone answered (or took back their answer to) a poll the bot sent."""
    if answer.user is None:
        return
    await polls.answer(session, answer.poll_id, answer.user.id, list(answer.option_ids))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(new_poll, Command("poll", "quiz"))
    router.callback_query.register(send_poll, PollTarget.filter())
    router.callback_query.register(show_results, PollResults.filter())
    router.message.register(leaderboard_command, Command("leaderboard"))
    router.callback_query.register(leaderboard, Leaderboard.filter())
    return router


def create_answers() -> Router:
    """Answers to polls come from anyone: members, group members."""
    router = Router(name=f"{__name__}.answers")
    router.poll_answer.register(poll_answer)
    return router

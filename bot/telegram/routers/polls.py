"""/poll, /quiz, /game and /leaderboard for coordinators; poll answers from everyone."""

from __future__ import annotations

import asyncio
import math

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import EditMessageReplyMarkup, SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    PollAnswer,
)
from aiogram.types import Poll as TelegramPoll
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import render_poll_results
from bot.domain.access import Standing
from bot.domain.polls import PollTextError, next_seconds, parse_game, parse_poll
from bot.services.cohorts import CohortService
from bot.services.polls import QUIZ, Audiences, PollService
from bot.storage.models import Cohort, Person, Poll, QuizGame
from bot.telegram.buttons import (
    GameOption,
    GameStart,
    Leaderboard,
    PollAnonymity,
    PollResults,
    PollTarget,
)
from bot.telegram.filters import PRIVATE
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import Renderer, split_html
from bot.telegram.replies import Replies
from bot.telegram.routers.coordinator import Row, choose_cohort, edit, gone, keyboard, say


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


def options_text(options: list[str], correct: int | None) -> str:
    return "\n".join(
        f"{n + 1}. {Renderer.escape(option)}" + (" ✅" if n == correct else "")
        for n, option in enumerate(options)
    )


def preview(poll: Poll, audiences: Audiences) -> tuple[str, InlineKeyboardMarkup | None]:
    """A draft as its author sees it, with the choice of named or anonymous (a poll's;
    a quiz's answers make the leaderboard, so it is named) and of where it goes."""
    heading = _("<b>Quiz</b>") if poll.kind == QUIZ else _("<b>Poll</b>")
    text = f"{heading}: {Renderer.escape(poll.question)}\n"
    text += options_text(poll.options, poll.correct_option) + "\n\n"
    rows: list[Row] = []
    if poll.kind != QUIZ:
        if poll.anonymous:
            text += _("🕶 Anonymous: nobody, you included, sees who chose what; you see the totals.")
            label = _("👤 Make it named")
        else:
            text += _("👤 Named: answers are kept with who gave them; you see the totals.")
            label = _("🕶 Make it anonymous")
        text += "\n" + _("People tend to answer an anonymous poll more honestly.") + "\n\n"
        rows.append([(label, PollAnonymity(poll=poll.id, anonymous=not poll.anonymous))])
    text += _("Where should it go? A cohort's members each get it in their own chat.")
    rows += [
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
    return text, keyboard(rows)


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
    poll = await polls.draft(session, person, quiz, draft, anonymous=False)
    text, markup = preview(poll, audiences)
    replies.add(message.answer(text, reply_markup=markup))


async def poll_anonymity(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    callback_data: PollAnonymity,
    replies: Replies,
) -> None:
    poll = await polls.set_anonymous(session, person, callback_data.poll, callback_data.anonymous)
    if poll is None or query.message is None:
        replies.add(
            query.answer(_("This poll has already been sent, or is gone."), show_alert=True)
        )
        return
    audiences = await polls.audiences(session, await cohort_service.coordinated(session, person))
    text, markup = preview(poll, audiences)
    replies.add(query.answer())
    edit(replies, query, text, markup)


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


async def poll_answer(
    answer: PollAnswer, session: AsyncSession, polls: PollService, outbox: OutboxSender
) -> None:
    """Someone answered (or took back their answer to) a poll the bot sent."""
    if answer.user is None:
        return
    if await polls.answer(session, answer.poll_id, answer.user.id, list(answer.option_ids)):
        outbox.wake()


async def poll_update(poll: TelegramPoll, session: AsyncSession, polls: PollService) -> None:
    """A poll the bot sent as it stands now: an anonymous poll's totals come only so."""
    await polls.totals(
        session, poll.id, [option.voter_count for option in poll.options], poll.total_voter_count
    )


# Games --------------------------------------------------------------------------


def game_how_to() -> str:
    return _(
        "Write the game in one message: the questions one after another with an empty line "
        "between two; each question on its first line, then each option on a line of its "
        "own, the right one starting with *. For example:\n\n"
        "/game What does the G of GROW stand for?\n*Goal\nGrowth\n\n"
        "How many areas has the Wheel of Life?\n6\n*8\n12"
    )


def game_preview(
    game: QuizGame, cohorts: list[tuple[Cohort, int]]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A draft game as its author sees it, with its settings and where it can go."""
    parts = [_("<b>Quiz game</b>")]
    for n, question in enumerate(game.questions, start=1):
        parts.append(
            f"{n}. {Renderer.escape(question['question'])}\n"
            + options_text(question["options"], question["correct"])
        )
    parts.append(
        _(
            "Each player gets the questions one after another in their own chat: the next "
            "as soon as they answered, or when the time is up. Then each gets their score, "
            "and you the leaderboard (right answers first, then speed)."
        )
    )
    board = (
        _("🏆 The players see the leaderboard too.")
        if game.board_to_players
        else _("🔒 Only you see the leaderboard; each player sees their own score.")
    )
    parts.append(_("⏱ {seconds} s for each question.").format(seconds=game.seconds) + "\n" + board)
    rows: list[Row] = [
        [
            (
                _("⏱ {seconds} s").format(seconds=next_seconds(game.seconds)),
                GameOption(game=game.id, what="t"),
            ),
            (
                _("🔒 Board: only me") if game.board_to_players else _("🏆 Board: everyone"),
                GameOption(game=game.id, what="b"),
            ),
        ]
    ] + [
        [
            (
                ngettext(
                    "▶️ Start for {cohort} ({count} person)",
                    "▶️ Start for {cohort} ({count} people)",
                    count,
                ).format(cohort=cohort.name, count=count),
                GameStart(game=game.id, cohort=cohort.id),
            )
        ]
        for cohort, count in cohorts
    ]
    return "\n\n".join(parts), keyboard(rows)


async def new_game(
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
    if not (command.args or "").strip():
        replies.add(message.answer(game_how_to()))
        return
    try:
        questions = parse_game(command.args or "")
    except PollTextError as error:
        replies.add(
            message.answer(renderer.text(error.msg, i18n.current_locale) + "\n\n" + game_how_to())
        )
        return
    audiences = await polls.audiences(session, await cohort_service.coordinated(session, person))
    if not audiences.cohorts:
        replies.add(message.answer(_("You run no cohort yet. /cohort_new creates one.")))
        return
    game = await polls.draft_game(session, person, questions)
    text, markup = game_preview(game, audiences.cohorts)
    say(replies, person.id, text, markup)


async def game_option(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    callback_data: GameOption,
    replies: Replies,
) -> None:
    game = await polls.game_draft(session, person, callback_data.game)
    if game is None or query.message is None:
        replies.add(query.answer(_("This game has already started, or is gone."), show_alert=True))
        return
    if callback_data.what == "t":
        game.seconds = next_seconds(game.seconds)
    else:
        game.board_to_players = not game.board_to_players
    audiences = await polls.audiences(session, await cohort_service.coordinated(session, person))
    text, markup = game_preview(game, audiences.cohorts)
    replies.add(query.answer())
    # A long game's preview spans several messages: the buttons are on the last.
    if len(split_html(text)) == 1:
        edit(replies, query, text, markup)
    else:
        say(replies, person.id, text, markup)


async def start_game(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    cohort_service: CohortService,
    polls: PollService,
    outbox: OutboxSender,
    callback_data: GameStart,
    replies: Replies,
) -> None:
    cohort = await cohort_service.cohort_of(session, person, callback_data.cohort)
    started = (
        None
        if cohort is None
        else await polls.start_game(session, person, callback_data.game, cohort)
    )
    if started is None:
        replies.add(query.answer(_("This game has already started, or is gone."), show_alert=True))
        return
    _game, players, board_due = started
    outbox.wake()
    replies.add(query.answer())
    if query.message is not None:
        replies.add(EditMessageReplyMarkup(chat_id=person.id, message_id=query.message.message_id))
    minutes = math.ceil((board_due - polls.clock.now()).total_seconds() / 60)
    replies.add(
        SendMessage(
            chat_id=person.id,
            text=ngettext(
                "The game has started for {count} person. The leaderboard comes when everyone "
                "has finished, at the latest in {minutes} min.",
                "The game has started for {count} people. The leaderboard comes when everyone "
                "has finished, at the latest in {minutes} min.",
                players,
            ).format(count=players, minutes=minutes),
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(PRIVATE)
    router.message.register(new_poll, Command("poll", "quiz"))
    router.callback_query.register(send_poll, PollTarget.filter())
    router.callback_query.register(show_results, PollResults.filter())
    router.callback_query.register(poll_anonymity, PollAnonymity.filter())
    router.message.register(leaderboard_command, Command("leaderboard"))
    router.callback_query.register(leaderboard, Leaderboard.filter())
    router.message.register(new_game, Command("game"))
    router.callback_query.register(game_option, GameOption.filter())
    router.callback_query.register(start_game, GameStart.filter())
    return router


def create_answers() -> Router:
    """Answers to polls come from anyone: members, group members."""
    router = Router(name=f"{__name__}.answers")
    router.poll_answer.register(poll_answer)
    router.poll.register(poll_update)
    return router

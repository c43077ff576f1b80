"""Polls and quizzes: written by a coordinator, sent to a group or to each member of a
cohort as native Telegram polls, answered, counted and drawn; a quiz leaderboard."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, BotMessage, SimUser
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import (
    Cohort,
    Membership,
    Outgoing,
    PollDelivery,
    PollVote,
    QuizGame,
    QuizPlay,
    QuizPlayer,
    TelegramGroup,
)
from bot.telegram.buttons import GameStart
from tests.conftest import TEST_KEYRING
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.processes import Processes
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text
from tests.e2e.test_restart import say

COHORT = "Riga <spring> 2027"
PNG = b"\x89PNG\r\n\x1a\n"


async def poll_in(standin: BotAPIStandin, chat: SimUser | int, question: str) -> BotMessage:
    def found() -> BotMessage | None:
        return next(
            (m for m in standin.messages(chat) if m.poll and m.poll["question"] == question), None
        )

    await standin.wait_for(lambda: found() is not None, 10, f"the poll {question!r}")
    message = found()
    assert message is not None
    return message


async def answer(who: Person, standin: BotAPIStandin, message: BotMessage, *options: int) -> None:
    await who.act(lambda: standin.answer_poll(who.user, message, list(options)))


async def test_only_coordinators_may_use_the_tools(standin: BotAPIStandin, bot: Running) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    for who in (anna, rita):
        for command in ("/poll", "/poll Lunch?\nYes\nNo", "/quiz", "/leaderboard"):
            (reply,) = await who.write(command)
            assert reply.text == t("This command is for programme coordinators.")
        for command in ("/stats", "/export"):
            (reply,) = await who.write(command)
            assert reply.text == t("This command is for programme coordinators.")
    assert standin.calls("sendPoll") == []


async def test_a_poll_to_a_cohort_reaches_each_member_and_its_answers_are_drawn(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    # The bot asks Telegram for poll answers (they are not sent unless asked for).
    assert "poll_answer" in standin.calls("getUpdates")[-1].params["allowed_updates"]

    (how,) = await coordinator.write("/poll")
    assert "/poll When shall we meet?" in (how.text or "")
    (bad,) = await coordinator.write("/poll Only a question\nand one option")
    assert t("A poll needs {low} to {high} options, one on each line.").format(low=2, high=10) in (
        bad.text or ""
    )
    (preview,) = await coordinator.write("/poll When shall we meet <b>next</b>?\nMonday\nFriday")
    assert "When shall we meet &lt;b&gt;next&lt;/b&gt;?" not in (preview.text or "")
    assert "When shall we meet <b>next</b>?" in (preview.text or "")
    label = t("👥 {cohort} ({count} people)").format(cohort=COHORT, count=2)
    # Named unless the coordinator makes it anonymous.
    assert t("👤 Named: answers are kept with who gave them; you see the totals.") in (
        preview.text or ""
    )
    assert coordinator.labels(preview) == [t("🕶 Make it anonymous"), label]
    sent = await coordinator.press(label, preview)
    assert sent[-1].text == t("Sent to {count} people; answers are gathered as they come.").format(
        count=2
    )
    # The choice is gone from the preview: the poll cannot go out twice.
    assert coordinator.labels(preview) == []
    question = "When shall we meet <b>next</b>?"
    for_anna = await poll_in(standin, anna.user, question)
    for_rita = await poll_in(standin, rita.user, question)
    assert for_anna.poll is not None and not for_anna.poll["is_anonymous"]
    assert [o["text"] for o in for_anna.poll["options"]] == ["Monday", "Friday"]
    await answer(anna, standin, for_anna, 1)
    await answer(rita, standin, for_rita, 0)
    await answer(rita, standin, for_rita, 1)  # a regular poll may be answered again

    async with bot.app.sessions() as db:
        votes = sorted(
            (v.person_id, v.option) for v in (await db.execute(select(PollVote))).scalars()
        )
    assert votes == [(anna.user.id, 1), (rita.user.id, 1)]
    (chart,) = await coordinator.press(t("📊 Results"))
    assert chart.photo is not None and chart.photo.startswith(PNG)
    assert chart.caption == t("Answered: {voters} · sent to chats: {sent}").format(voters=2, sent=2)
    assert len(standin.calls("sendPoll", status=200)) == 2


@pytest.mark.postgres  # The leaderboard is one aggregate query.
async def test_a_poll_to_a_group_and_a_quiz_leaderboard(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    group = standin.group(-1001234567890, "Riga mentoring")
    async with bot.app.sessions() as db:
        cohort = (await db.execute(select(Cohort))).scalar_one()
        db.add(
            TelegramGroup(
                chat_id=group.id, title=group.title, cohort_id=cohort.id, added_at=clock.now()
            )
        )
        await db.commit()

    (preview,) = await coordinator.write("/quiz What does the G of GROW stand for?\n*Goal\nGrowth")
    assert "1. Goal ✅" in (preview.text or "")
    # A quiz's answers make the leaderboard: it is always named.
    assert t("🕶 Make it anonymous") not in coordinator.labels(preview)
    await coordinator.press(t("💬 {group}").format(group="Riga mentoring"), preview)
    quiz = await poll_in(standin, group.id, "What does the G of GROW stand for?")
    assert quiz.poll is not None and quiz.poll["type"] == "quiz"
    assert quiz.poll["correct_option_ids"] == [0]
    await answer(anna, standin, quiz, 0)
    await answer(rita, standin, quiz, 1)
    replies = await coordinator.press(t("📊 Results"))
    chart = next(m for m in replies if m.photo)
    assert chart.photo is not None and chart.photo.startswith(PNG)
    assert t("Right answers: {right}").format(right=1) in (chart.caption or "")
    assert t("Answered: {voters} · sent to chats: {sent}").format(voters=2, sent=1) in (
        chart.caption or ""
    )

    # A second quiz, to the cohort: each member answers in their own chat.
    await coordinator.write("/quiz Which level is about values?\nBehaviour\n*Beliefs and values")
    await coordinator.press(t("👥 {cohort} ({count} people)").format(cohort=COHORT, count=2))
    for who in (anna, rita):
        await answer(
            who, standin, await poll_in(standin, who.user, "Which level is about values?"), 1
        )

    await coordinator.write("/leaderboard")
    (board,) = await coordinator.press(COHORT)
    lines = (board.text or "").splitlines()
    assert lines[0] == t("Quiz leaderboard")
    assert lines[1:] == [
        t("{place} {name}: {right} of {answered} right").format(
            place="🥇", name="Anna", right=2, answered=2
        ),
        t("{place} {name}: {right} of {answered} right").format(
            place="🥈", name="Rita", right=1, answered=2
        ),
    ]


async def test_a_poll_counts_only_the_people_it_can_reach(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    standin.block(rita.user)
    await rita.settle()

    (preview,) = await coordinator.write("/poll Lunch on Friday?\nYes\nNo")
    label = f"👥 {COHORT} (1 person)"
    assert coordinator.labels(preview) == [t("🕶 Make it anonymous"), label]
    sent = await coordinator.press(label, preview)
    assert sent[-1].text == "\n".join(
        (
            "Sent to 1 person; answers are gathered as they come.",
            "1 person who blocked the bot does not get it.",
        )
    )
    await poll_in(standin, anna.user, "Lunch on Friday?")
    assert [call.params["chat_id"] for call in standin.calls("sendPoll")] == [anna.user.id]
    (chart,) = await coordinator.press(t("📊 Results"))
    assert chart.caption == t("Answered: {voters} · sent to chats: {sent}").format(voters=0, sent=1)


@pytest.mark.postgres  # The totals are written and summed in SQL.
async def test_an_anonymous_poll_is_counted_from_the_totals_telegram_reports(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    # Of an anonymous poll the bot learns only the totals, from poll updates.
    assert "poll" in standin.calls("getUpdates")[-1].params["allowed_updates"]

    (preview,) = await coordinator.write("/poll How useful was the workshop?\nVery\nA little")
    assert t("People tend to answer an anonymous poll more honestly.") in (preview.text or "")
    await coordinator.press(t("🕶 Make it anonymous"), preview)
    assert t("🕶 Anonymous: nobody, you included, sees who chose what; you see the totals.") in (
        preview.text or ""
    )
    label = t("👥 {cohort} ({count} people)").format(cohort=COHORT, count=2)
    assert coordinator.labels(preview) == [t("👤 Make it named"), label]
    await coordinator.press(label, preview)
    question = "How useful was the workshop?"
    for_anna = await poll_in(standin, anna.user, question)
    for_rita = await poll_in(standin, rita.user, question)
    assert for_anna.poll is not None and for_anna.poll["is_anonymous"]
    await answer(anna, standin, for_anna, 0)
    await answer(rita, standin, for_rita, 1)
    await answer(rita, standin, for_rita, 0)  # changed her mind: Telegram reports the new totals

    async with bot.app.sessions() as db:
        assert (await db.execute(select(PollVote))).first() is None  # nobody's answer is known
        totals = sorted(
            (d.chat_id, d.totals, d.voters)
            for d in (await db.execute(select(PollDelivery))).scalars()
        )
    assert totals == [(anna.user.id, [1, 0], 1), (rita.user.id, [1, 0], 1)]
    (chart,) = await coordinator.press(t("📊 Results"))
    assert chart.photo is not None and chart.photo.startswith(PNG)
    assert chart.caption == t("Answered: {voters} · sent to chats: {sent}").format(voters=2, sent=2)


GAME = """/game What does the G of GROW stand for?
*Goal
Growth

How many areas has our Wheel of Life?
6
*8

Which Dilts level asks "Who am I?"
Values
*Identity
Purpose"""


async def game_question(standin: BotAPIStandin, who: Person, start: str) -> BotMessage:
    return await poll_in_game(standin, who.user, start)


@pytest.mark.postgres  # The game's rows, its answers and its leaderboard.
async def test_a_quiz_game_goes_question_by_question_and_ends_with_a_leaderboard(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    (how,) = await coordinator.write("/game")
    assert "/game What does the G of GROW stand for?" in (how.text or "")
    (bad,) = await coordinator.write("/game Only one?\n*Yes\nNo")
    assert t("A game needs {low} to {high} questions, an empty line between two.").format(
        low=2, high=20
    ) in (bad.text or "")

    (preview,) = await coordinator.write(GAME)
    assert "1. What does the G of GROW stand for?\n1. Goal ✅\n2. Growth" in (preview.text or "")
    assert t("⏱ {seconds} s for each question.").format(seconds=20) in (preview.text or "")
    start = t("▶️ Start for {cohort} ({count} people)").format(cohort=COHORT, count=2)
    assert coordinator.labels(preview) == [
        t("⏱ {seconds} s").format(seconds=30),
        t("🏆 Board: everyone"),
        start,
    ]
    await coordinator.press(t("⏱ {seconds} s").format(seconds=30), preview)
    await coordinator.press(t("🏆 Board: everyone"), preview)
    assert t("⏱ {seconds} s for each question.").format(seconds=30) in (preview.text or "")
    assert t("🏆 The players see the leaderboard too.") in (preview.text or "")
    started = await coordinator.press(start, preview)
    assert t(
        "The game has started for {count} people. The leaderboard comes when everyone has "
        "finished, at the latest in {minutes} min."
    ).format(count=2, minutes=4) in (started[-1].text or "")
    assert coordinator.labels(preview) == []  # it cannot start twice

    # Anna answers each question as it comes: the next follows at once.
    first = await game_question(standin, anna, "1/3. ")
    assert first.poll is not None and first.poll["type"] == "quiz"
    assert first.poll["open_period"] == 30 and not first.poll["is_anonymous"]
    assert [o["text"] for o in first.poll["options"]] == ["Goal", "Growth"]
    await answer(anna, standin, first, 0)
    await answer(anna, standin, await game_question(standin, anna, "2/3. "), 1)
    await answer(anna, standin, await game_question(standin, anna, "3/3. "), 1)
    score = await wait_text(standin, anna.user, t("🏁 The game is over."))
    assert t("Your score: {right} of {total} right.").format(right=3, total=3) in (score.text or "")
    assert t("The leaderboard comes once everyone has finished.") in (score.text or "")
    # Rita has not finished: no leaderboard yet.
    assert not any(t("Leaderboard") in (m.text or "") for m in coordinator.sent())

    # Rita gets the first wrong and lets the second run out: the third comes when its time is up.
    await answer(rita, standin, await game_question(standin, rita, "1/3. "), 1)
    second = await game_question(standin, rita, "2/3. ")
    await rita.settle()
    assert not any(m.poll and m.poll["question"].startswith("3/3. ") for m in rita.sent())
    standin.close_poll(second)
    clock.moment += timedelta(seconds=31)
    await answer(rita, standin, await game_question(standin, rita, "3/3. "), 1)
    await wait_text(standin, rita.user, t("🏁 The game is over."))

    board = await wait_text(standin, coordinator.user, "🏆 " + t("Leaderboard"))
    lines = [line for line in (board.text or "").splitlines() if line]
    assert lines[1:] == [
        t("{place} {name}: {right} of {total} right, {seconds} s").format(
            place="🥇", name="Anna", right=3, total=3, seconds=0
        ),
        t("{place} {name}: {right} of {total} right, {seconds} s").format(
            place="🥈", name="Rita", right=1, total=3, seconds=0
        ),
    ]
    # The players chose to see it too; what each answered is in nobody's message.
    for who in (anna, rita):
        shared = await wait_text(standin, who.user, lines[1])
        assert shared.text == board.text
    assert "Growth" not in (board.text or "")

    async with bot.app.sessions() as db:
        game = (await db.execute(select(QuizGame))).scalar_one()
        plays = sorted(
            (p.person_id, p.number, p.option)
            for p in (await db.execute(select(QuizPlay))).scalars()
        )
        finished = [
            p.finished_at is not None for p in (await db.execute(select(QuizPlayer))).scalars()
        ]
        left = [
            r.status
            for r in (await db.execute(select(Outgoing).where(Outgoing.kind == "quiz"))).scalars()
            if r.status not in ("sent", "merged")
        ]
    assert game.status == "done" and game.seconds == 30 and game.board_to_players
    assert plays == [
        (anna.user.id, 0, 0),
        (anna.user.id, 1, 1),
        (anna.user.id, 2, 1),
        (rita.user.id, 0, 1),
        (rita.user.id, 1, None),
        (rita.user.id, 2, 1),
    ]
    assert finished == [True, True] and left == []

    # Her answers are in her copy of her data, and go with her.
    (copy,) = await rita.write("/mydata")
    assert copy.document is not None
    answers = json.loads(copy.document)["quiz_answers"]
    assert [(a["question"], a["answer"], a["right"]) for a in answers] == [
        ("What does the G of GROW stand for?", "Growth", False),
        ("How many areas has our Wheel of Life?", None, None),
        ('Which Dilts level asks "Who am I?"', "Identity", True),
    ]
    await rita.write("/deleteme")
    await rita.press(t("Yes, delete everything"))
    async with bot.app.sessions() as db:
        players = (await db.execute(select(QuizPlay.person_id))).scalars().all()
        in_game = (await db.execute(select(QuizPlayer.person_id))).scalars().all()
    assert set(players) == set(in_game) == {anna.user.id}


async def test_only_coordinators_start_games_and_a_stranger_cannot_press_them(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, _rita = await matched_pair(standin, bot)
    (reply,) = await anna.write(GAME)
    assert reply.text == t("This command is for programme coordinators.")
    (preview,) = await coordinator.write(GAME)
    start = t("▶️ Start for {cohort} ({count} people)").format(cohort=COHORT, count=2)
    await coordinator.press(start, preview)
    async with bot.app.sessions() as db:
        game = (await db.execute(select(QuizGame))).scalar_one()
    again = GameStart(game=game.id, cohort=game.cohort_id or 0).pack()
    # Pressed again (a modified client), it does not start a second game; nor can a player.
    await coordinator.act(lambda: standin.press_data(coordinator.user, again))
    assert t("This game has already started, or is gone.") in coordinator.alerts()
    await anna.act(lambda: standin.press_data(anna.user, again))
    async with bot.app.sessions() as db:
        assert len((await db.execute(select(QuizPlayer))).scalars().all()) == 2


async def test_a_game_goes_on_after_the_bot_was_killed_mid_game(
    standin: BotAPIStandin, processes: Processes, database_url: str
) -> None:
    operator = standin.user(900, "Olga", "en")
    kira = standin.user(901, "Kira", "en")
    bot = await processes.run(COORDINATOR_IDS=str(operator.id))
    await say(standin, operator, "/start", "")
    await say(standin, kira, "/start", "")
    engine = create_engine(database_url, TEST_KEYRING)
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessions() as db:
        cohort = Cohort(name="Cēsis", mode="coordinator", created_by=operator.id, created_at=now)
        db.add(cohort)
        await db.flush()
        db.add(
            Membership(
                cohort_id=cohort.id,
                person_id=kira.id,
                role="mentee",
                status="active",
                joined_at=now,
            )
        )
        await db.commit()

    await say(standin, operator, GAME, "Quiz game")
    await standin.press(operator, "▶️ Start for Cēsis (1 person)")
    first = await poll_in_game(standin, kira, "1/3. ")

    async def asked() -> int:
        async with sessions() as db:
            return len((await db.execute(select(QuizPlay))).scalars().all())

    for _ in range(500):  # the question's delivery is recorded with its next step
        if await asked():
            break
        await asyncio.sleep(0.01)
    await bot.kill()
    await standin.answer_poll(kira, first, [0])  # while the bot is down

    bot = await processes.run(COORDINATOR_IDS=str(operator.id))
    await standin.answer_poll(kira, await poll_in_game(standin, kira, "2/3. "), [1])
    await standin.answer_poll(kira, await poll_in_game(standin, kira, "3/3. "), [0])
    score = await standin.wait_for_message(kira, contains="The game is over.", timeout=10)
    assert "Your score: 2 of 3 right." in (score.text or "")
    board = await standin.wait_for_message(operator, contains="Leaderboard", timeout=10)
    assert "🥇 Kira: 2 of 3 right" in (board.text or "")
    async with sessions() as db:
        plays = sorted((p.number, p.option) for p in (await db.execute(select(QuizPlay))).scalars())
    await engine.dispose()
    assert plays == [(0, 0), (1, 1), (2, 0)]
    asked_once = [m for m in standin.messages(kira) if m.poll]
    assert len(asked_once) == 3  # nothing was asked twice across the kill


async def poll_in_game(standin: BotAPIStandin, user: SimUser, start: str) -> BotMessage:
    def found() -> BotMessage | None:
        return next(
            (m for m in standin.messages(user) if m.poll and m.poll["question"].startswith(start)),
            None,
        )

    await standin.wait_for(lambda: found() is not None, 10, f"the question {start!r}")
    message = found()
    assert message is not None
    return message

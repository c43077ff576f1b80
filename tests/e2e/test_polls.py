"""Polls and quizzes: written by a coordinator, sent to a group or to each member of a
cohort as native Telegram polls, answered, counted and drawn; a quiz leaderboard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, BotMessage, SimUser
from bot.storage.models import Cohort, PollVote, TelegramGroup
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair

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
    assert coordinator.labels(preview) == [label]
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
    assert coordinator.labels(preview) == [label]
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

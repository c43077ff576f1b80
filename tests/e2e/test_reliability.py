"""Repeats, rate limits, blocked people and simultaneous messages."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage.models import Answer, InboxUpdate
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import MovableClock, Running, start_bot
from tests.e2e.test_dialogs import mentee, translator


async def answers(bot: Running) -> dict[str, object]:
    async with bot.app.sessions() as db:
        return dict((await db.execute(select(Answer.key, Answer.value))).all())


@pytest.mark.postgres  # The inbox drops a repeat by its update id.
async def test_the_same_update_twice_is_handled_once(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    await person.write("/wheel")
    update_id = await standin.send_text(ben, "8")
    await person.settle()
    before = len(person.sent())
    standin.redeliver(update_id)
    await person.settle()
    assert len(person.sent()) == before
    assert await answers(bot) == {"family": 8}
    async with bot.app.sessions() as db:
        row = await db.get(InboxUpdate, update_id)
    assert row is not None and row.handled_at is not None and row.attempts == 1


async def test_a_429_is_waited_out_and_the_message_arrives_once(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    standin.inject_429(retry_after=1, count=1, method="sendMessage")
    replies = await person.write("/help")
    assert len(replies) == 1
    assert [c.status for c in standin.calls("sendMessage")] == [429, 200]


async def test_a_person_who_blocked_the_bot_is_marked_unreachable(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    await person.write("/dilts")
    standin.block(ben)
    # Their last words reach the bot after the block; the answer is kept, the reply
    # fails once with 403, and the bot carries on.
    await person.write("My situation")
    await person.settle()
    assert await answers(bot) == {"situation": "My situation"}
    assert len(standin.calls("sendMessage", status=403)) == 1
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, ben.id)
    assert row is not None and row.unreachable_at is not None
    other = standin.user(777, "Other", "en")
    assert await mentee(standin, other, bot).write("/help")


async def test_unblocking_makes_the_person_reachable_again(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    await person.write("/start")
    standin.block(ben)
    await person.settle()
    standin.unblock(ben)
    await person.settle()
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, ben.id)
    assert row is not None and row.unreachable_at is None


async def test_messages_sent_at_once_are_handled_in_order(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    await person.write("/wheel")
    for rating in ("5", "6", "7"):
        await standin.send_text(ben, rating)
    await person.settle()
    assert await answers(bot) == {"family": 5, "partner": 6, "career": 7}
    t = translator(bot, "en")
    assert t("Finances") in (person.last().text or "")


async def test_replies_past_a_chats_limit_are_retried_and_arrive_once(
    database_url: str, clock: MovableClock
) -> None:
    async with BotAPIStandin() as limited:  # Telegram's per-chat pace, 1 a second
        user = limited.user(900, "Pace", "en")
        running = await start_bot(limited, database_url, clock)
        try:
            person = mentee(limited, user, running)
            await person.write("/grow")  # the intro and the first question
            await limited.send_text(user, "one goal")  # the next question
            for text in ("not a date", "nor this"):  # two friendly refusals
                await limited.send_text(user, text)
            await person.settle()
        finally:
            await running.stop()
    assert limited.calls("sendMessage", status=429), "the limit was not reached"
    delivered = [m for m in limited.messages(user) if m.text]
    assert len(delivered) == 5 == len(limited.calls("sendMessage", status=200))


async def test_logs_hold_neither_the_token_nor_what_people_wrote(
    standin: BotAPIStandin, bot: Running, ben: SimUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = mentee(standin, ben, bot)
    await person.write("/dilts")
    await person.write("my secret situation 4711")
    await person.write("x" * 5000)
    standin.inject_429(retry_after=1, count=1, method="sendMessage")
    await person.press(translator(bot, "en")("Identity: who I am"))
    assert caplog.records, "nothing was logged at all"
    assert "4711" not in caplog.text and "xxxxxxxx" not in caplog.text
    assert standin.token not in caplog.text
    assert standin.token.split(":")[1] not in caplog.text


async def test_an_update_stored_in_a_form_this_version_cannot_read_is_set_aside(
    standin: BotAPIStandin, bot: Running, clock: MovableClock, database_url: str, ben: SimUser
) -> None:
    """Left in the inbox by another version: at the next start it is marked failed, once,
    and the bot goes on answering."""
    await bot.stop()
    async with bot.app.sessions() as db:
        db.add(
            InboxUpdate(
                update_id=7,
                person_id=ben.id,
                payload={"update_id": 7, "message": {"text": "from another version"}},
                received_at=clock.now(),
            )
        )
        await db.commit()
    running = await start_bot(standin, database_url, clock)
    try:
        person = mentee(standin, ben, running)
        (reply,) = await person.write("/help")
        assert reply.text
        async with running.app.sessions() as db:
            row = await db.get(InboxUpdate, 7)
        assert row is not None and row.handled_at is not None
        assert (row.failure, row.payload) == ("unreadable", {})
    finally:
        await running.stop()

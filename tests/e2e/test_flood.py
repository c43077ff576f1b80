"""One person's flood: asked once to slow down, the rest dropped and recorded, others
answered meanwhile; updates that are not a person's own messages are never dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import SLOW_DOWN
from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage.models import InboxUpdate, TelegramGroup
from bot.storage.models import Person as PersonRow
from bot.telegram.polling import RATE_LIMITED
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running, start_bot
from tests.e2e.people import Person

BURST = 8


@pytest.fixture
async def bot(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[Running]:
    running = await start_bot(
        standin, database_url, clock, flood_burst=BURST, flood_rate=2.0, default_locale="lv"
    )
    # The limit's clock stands still: no token comes back while a test runs, so exactly
    # the burst passes however the updates are split between getUpdates calls.
    running.app.polling.monotonic = lambda: 1000.0
    yield running
    await running.stop()


def warning(bot: Running, locale: str) -> str:
    return str(bot.app.dispatcher["renderer"].gettext(SLOW_DOWN, locale))


async def inbox(bot: Running, update_ids: list[int]) -> dict[int, InboxUpdate]:
    async with bot.app.sessions() as db:
        rows = await db.scalars(select(InboxUpdate).where(InboxUpdate.update_id.in_(update_ids)))
        return {row.update_id: row for row in rows}


async def flood(standin: BotAPIStandin, user: SimUser, count: int) -> list[int]:
    return [await standin.send_text(user, f"message {n}") for n in range(count)]


async def test_a_flood_gets_one_warning_and_is_recorded_while_others_are_answered(
    standin: BotAPIStandin, bot: Running
) -> None:
    flooder = standin.user(611, "Flo", "lv")
    other = Person(standin, standin.user(612, "Ben", "en"), bot)
    sent = await flood(standin, flooder, 50)
    help_id = await standin.send_command(other.user, "/help")
    answer = await standin.wait_for_message(other.user, contains="/grow", timeout=15)
    await other.settle()

    texts = [m.text for m in standin.messages(flooder)]
    assert texts.count(warning(bot, "lv")) == 1
    assert len(texts) == BURST + 1  # an answer to each update let through, and the warning
    rows = await inbox(bot, [*sent, help_id])
    assert all(row.handled_at is not None for row in rows.values())
    assert [rows[i].failure for i in sent] == [None] * BURST + [RATE_LIMITED] * (50 - BURST)
    assert [rows[i].attempts for i in sent] == [1] * BURST + [0] * (50 - BURST)
    assert rows[help_id].failure is None and answer.text
    assert not standin.calls(status=429)


async def test_the_warning_is_in_the_language_the_person_would_be_answered_in(
    standin: BotAPIStandin, bot: Running
) -> None:
    english = standin.user(621, "Emma", "en")  # Telegram's language
    german = standin.user(622, "Greta", "de")  # neither: the default (Latvian here)
    chosen = Person(standin, standin.user(623, "Liga", "lv"), bot)
    await chosen.write("/language")
    await chosen.press("English")  # their own choice wins over Telegram's
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, chosen.user.id)
        assert row is not None and row.language == "en"
    for user in (english, german, chosen.user):
        await flood(standin, user, BURST + 3)
    await chosen.settle()
    for user, locale in ((english, "en"), (german, "lv"), (chosen.user, "en")):
        texts = [m.text for m in standin.messages(user)]
        assert texts.count(warning(bot, locale)) == 1, (user.first_name, texts)


async def test_updates_other_than_a_persons_own_messages_are_never_dropped(
    standin: BotAPIStandin, bot: Running
) -> None:
    coordinator = Person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    sent = await flood(standin, coordinator.user, 20)
    await coordinator.settle()
    assert (await inbox(bot, sent))[sent[-1]].failure == RATE_LIMITED  # still flooding
    # Then, in a group: the bot is added (my_chat_member), the group becomes a supergroup
    # (a group message); and the coordinator blocks the bot (my_chat_member, private).
    group = standin.group(-1001234567890, "Mentors")
    added = standin.add_bot_to_group(group, coordinator.user)
    await coordinator.settle()
    supergroup = standin.upgrade_group(group, coordinator.user)
    await coordinator.settle()
    standin.block(coordinator.user)
    await coordinator.settle()
    async with bot.app.sessions() as db:
        moved = await db.get(TelegramGroup, supergroup.id)
        person = await db.get(PersonRow, COORDINATOR_ID)
        late = (await db.scalars(select(InboxUpdate).where(InboxUpdate.update_id >= added))).all()
    assert moved is not None, "the group's move was dropped"
    assert person is not None and person.unreachable_at is not None, "the block was dropped"
    assert len(late) == 3 and all(r.failure is None and r.attempts == 1 for r in late)

"""/broadcast and /groups as a coordinator uses them, against the Bot API stand-in."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Broadcast, Outgoing, TelegramGroup
from tests.e2e.broadcast_setup import seed_cohort
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running, start_bot
from tests.e2e.people import Person


@pytest.fixture
async def bot(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> AsyncIterator[Running]:
    running = await start_bot(standin, database_url, clock, broadcast_status_seconds=1.2)
    yield running
    await running.stop()


def someone(standin: BotAPIStandin, bot: Running, user_id: int, name: str, lang: str) -> Person:
    return Person(standin, standin.user(user_id, name, lang), bot)


MEMBERS = [
    (601, "Anna", "lv", "mentee"),
    (602, "Ben", "en", "mentee"),
    (603, "Carl", "en", "mentor"),
    (604, "Daina", "lv", "mentor"),
]


async def test_mentees_and_mentors_are_refused(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    mentee = someone(standin, bot, 602, "Ben", "en")
    mentor = someone(standin, bot, 603, "Carl", "en")
    for who in (mentee, mentor):
        for command in ("/broadcast", "/groups"):
            replies = await who.write(command)
            assert [m.text for m in replies] == ["This command is for programme coordinators."]
    async with bot.app.sessions() as db:
        assert (await db.execute(select(Broadcast))).first() is None


async def wait_report(standin: BotAPIStandin, coordinator: Person) -> str:
    found = await standin.wait_for_message(coordinator.user, contains="is over", timeout=20)
    return found.text or ""


async def test_each_person_gets_the_version_in_their_language(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    elza = (605, "Elza, <the> one", "lv", "mentee")  # has blocked the bot
    members = [*MEMBERS, (606, "Olga", "ru", "mentee")]
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, [*members, elza])
    users = {m[0]: standin.user(m[0], m[1], m[2]) for m in members}
    standin.block(standin.user(elza[0], elza[1], elza[2]))
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    replies = await dace.write("/broadcast")
    assert "Who should get it?" in (replies[-1].text or "")
    replies = await dace.press("Everyone")
    assert "Recipients: 6 (people: 6, of them unreachable: 1; Telegram groups: 0)" in (
        replies[-1].text or ""
    )
    replies = await dace.write("<b>Hello</b>, see you on Friday!")
    assert replies[0].text == "Hello, see you on Friday!"
    assert replies[0].entities[0]["type"] == "bold"
    assert "It goes to 6 recipients (unreachable: 1)" in (replies[-1].text or "")
    replies = await dace.press("🌐 A separate version for each language")
    assert [m.text for m in replies] == [
        "The message you wrote goes to those who use the bot in English.",
        "Now write the version for Latviešu.",
    ]
    replies = await dace.write("Sveiki, tiekamies piektdien!")
    assert [m.text for m in replies] == ["Now write the version for Русский."]
    replies = await dace.write("Здравствуйте, до встречи в пятницу!")
    shown = [m.text for m in replies]
    assert shown[:6] == [
        "Version for English:",
        "Hello, see you on Friday!",
        "Version for Latviešu:",
        "Sveiki, tiekamies piektdien!",
        "Version for Русский:",
        "Здравствуйте, до встречи в пятницу!",
    ]
    replies = await dace.press("✅ Send now")
    assert "Broadcast #" in (replies[-1].text or "")
    report = await wait_report(standin, dace)
    assert "5 sent, 0 failed, 1 unreachable, 0 cancelled (of 6)" in report
    unreached = await standin.wait_for_message(dace.user, contains="did not reach")
    assert unreached.document_name is not None and unreached.document is not None
    rows = list(csv.reader(io.StringIO(unreached.document.decode())))
    assert rows == [
        ["telegram_id", "first_name", "status", "reason"],
        ["605", "Elza, <the> one", "unreachable", "blocked"],
    ]
    versions = {
        "lv": "Sveiki, tiekamies piektdien!",
        "en": "Hello, see you on Friday!",
        "ru": "Здравствуйте, до встречи в пятницу!",
    }
    for user_id, _name, lang, _role in members:
        assert [m.text for m in standin.messages(users[user_id])] == [versions[lang]]
    status = next(m for m in standin.messages(dace.user) if "Broadcast #" in (m.text or ""))
    assert "Finished." in (status.text or "") and "▓▓▓▓▓▓▓▓▓▓ 100%" in (status.text or "")
    assert not status.buttons


async def test_the_preview_shows_what_telegram_would_refuse(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    await dace.write("/broadcast")
    await dace.press("Mentors")
    replies = await dace.write("<b>Meeting <i>on Friday</b> & <blink>bring</blink> tea")
    text = replies[-1].text or ""
    assert "Telegram would refuse this message" in text
    assert "Telegram does not know the tag <blink>" in text
    assert "Write “&” as &amp;" in text
    assert "closes a tag that is not the last one opened (<i>)" in text
    assert not replies[-1].buttons
    replies = await dace.write("x" * 4097)
    assert "It is 4097 characters long; Telegram takes at most 4096." in (replies[-1].text or "")
    replies = await dace.write("Meeting on Friday &amp; bring tea")
    assert replies[0].text == "Meeting on Friday & bring tea"
    async with bot.app.sessions() as db:
        assert (
            await db.execute(select(Outgoing).where(Outgoing.kind == "broadcast"))
        ).first() is None
    assert not standin.calls(status=400)


@pytest.mark.postgres  # Cancelled while the sender holds claimed rows.
async def test_cancel_stops_what_has_not_gone(
    standin: BotAPIStandin, database_url: str, clock: MovableClock
) -> None:
    running = await start_bot(
        standin, database_url, clock, outbox_rate=4.0, broadcast_status_seconds=1.2
    )
    try:
        members = [(700 + n, f"P{n}", "en", "mentee") for n in range(60)]
        await seed_cohort(running.app.sessions, clock.now(), COORDINATOR_ID, members)
        for member in members:
            standin.user(member[0], member[1], member[2])
        dace = someone(standin, running, COORDINATOR_ID, "Dace", "en")
        await dace.write("/broadcast")
        await dace.press("Mentees")
        await dace.write("Reminder: forms are due")
        await dace.press("✅ Send now", outbox=False)  # it is cancelled while it goes
        await standin.wait_for(
            lambda: sum(len(standin.messages(m[0])) for m in members) >= 2, 10, "two sent"
        )
        status = next(m for m in standin.messages(dace.user) if "Broadcast #" in (m.text or ""))
        await dace.press("✖ Cancel the broadcast", message=status)
        report = await wait_report(standin, dace)
        got = sum(len(standin.messages(m[0])) for m in members)
        assert 2 <= got < 60
        assert f"{got} sent" in report and f"{60 - got} cancelled" in report
        async with running.app.sessions() as db:
            statuses = list(
                (
                    await db.execute(select(Outgoing.status).where(Outgoing.kind == "broadcast"))
                ).scalars()
            )
        assert sorted(set(statuses)) == ["cancelled", "sent"]
        assert statuses.count("sent") == got
    finally:
        await running.stop()


async def test_groups_are_registered_linked_and_reached(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    group = standin.group(-1001234567890, "Riga <mentors>")
    await dace.act(lambda: standin.add_bot_to_group(group, dace.user))
    notice = await standin.wait_for_message(dace.user, contains="added to the Telegram group")
    assert "Riga <mentors>" in (notice.text or "")
    replies = await dace.press("Riga 2027", message=notice)
    assert dace.alerts()[-1] == "“Riga <mentors>” is linked to Riga 2027."
    replies = await dace.write("/groups")
    assert "Riga <mentors>" in (replies[0].text or "") and "linked to Riga 2027" in (
        replies[0].text or ""
    )
    await dace.write("/broadcast")
    replies = await dace.press("Telegram groups")
    assert "Recipients: 1 (people: 0, of them unreachable: 0; Telegram groups: 1)" in (
        replies[-1].text or ""
    )
    await dace.write("Hello, group")
    await dace.press("✅ Send now")
    await wait_report(standin, dace)
    assert [m.text for m in standin.messages(group)] == ["Hello, group"]
    await dace.act(lambda: standin.remove_bot_from_group(group, dace.user))
    async with bot.app.sessions() as db:
        found = await db.get(TelegramGroup, group.id)
        assert found is not None and found.removed_at is not None
    replies = await dace.write("/groups")
    assert "No Telegram group is registered yet" in (replies[-1].text or "")


async def test_a_group_that_becomes_a_supergroup_is_still_reached(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    told, untold = standin.group(-4001, "Told"), standin.group(-4002, "Untold")
    for group in (told, untold):
        await dace.act(lambda group=group: standin.add_bot_to_group(group, dace.user))
        notice = await standin.wait_for_message(dace.user, contains=group.title)
        await dace.press("Riga 2027", message=notice)
    # One upgrade the bot hears of; the other it learns of only when it sends there.
    told_super = standin.upgrade_group(told, dace.user)
    await dace.settle()
    untold_super = standin.upgrade_group(untold, dace.user, tell=False)
    told_super_id = told_super.id
    async with bot.app.sessions() as db:
        moved = await db.get(TelegramGroup, told_super_id)
        old = await db.get(TelegramGroup, told.id)
        assert moved is not None and moved.cohort_id is not None and moved.removed_at is None
        assert old is not None and old.removed_at is not None
    await dace.write("/broadcast")
    await dace.press("Telegram groups")
    await dace.write("Hello, supergroups")
    await dace.press("✅ Send now")
    await wait_report(standin, dace)
    assert [m.text for m in standin.messages(told_super_id)] == ["Hello, supergroups"]
    assert [m.text for m in standin.messages(untold_super)] == ["Hello, supergroups"]
    async with bot.app.sessions() as db:
        found = await db.get(TelegramGroup, untold_super.id)
        assert found is not None and found.cohort_id is not None


async def test_a_broadcast_set_for_later_goes_at_that_time(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    standin.user(601, "Anna", "lv")
    ben = standin.user(602, "Ben", "en")
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    await dace.write("/broadcast")
    await dace.press("Mentees")
    await dace.write("Reflection week starts")
    replies = await dace.press("🕘 Send later…")
    assert "When should it go?" in (replies[-1].text or "")
    replies = await dace.write("25.11.2026 08:00")  # 10:00 in Riga: already past
    assert "Please write a future date and time" in (replies[-1].text or "")
    await dace.press("In an hour")
    status = next(m for m in standin.messages(dace.user) if "Broadcast #" in (m.text or ""))
    await standin.wait_for(lambda: "Scheduled for 25.11.2026 12:00." in (status.text or ""))
    assert not standin.messages(ben)
    clock.moment += timedelta(minutes=61)
    await standin.wait_for_message(ben, contains="Reflection week starts", timeout=10)
    report = await wait_report(standin, dace)
    assert "2 sent" in report


async def test_a_photo_with_a_caption_goes_to_everyone(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS[:2])
    users = [standin.user(m[0], m[1], m[2]) for m in MEMBERS[:2]]
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    await dace.write("/broadcast")
    await dace.press("Everyone")
    replies = await dace.act(lambda: standin.send_photo(dace.user, caption="<b>Poster</b> & more"))
    assert "Write “&” as &amp;" in (replies[-1].text or "")
    replies = await dace.act(lambda: standin.send_photo(dace.user, caption="<b>Poster</b>"))
    assert replies[0].caption == "Poster" and replies[0].photo is not None
    await dace.press("✅ Send now")
    await wait_report(standin, dace)
    for user in users:
        [got] = standin.messages(user)
        assert got.caption == "Poster" and got.caption_entities[0]["type"] == "bold"


async def test_a_document_with_a_caption_goes_to_everyone(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS[:2])
    users = [standin.user(m[0], m[1], m[2]) for m in MEMBERS[:2]]
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    await dace.write("/broadcast")
    await dace.press("Everyone")
    replies = await dace.act(
        lambda: standin.send_document(dace.user, "timetable.pdf", caption="<i>Timetable</i>")
    )
    assert replies[0].document_name == "timetable.pdf" and replies[0].caption == "Timetable"
    await dace.press("✅ Send now")
    await wait_report(standin, dace)
    for user in users:
        [got] = standin.messages(user)
        assert got.document == b"%PDF-1.4 document" and got.document_name == "timetable.pdf"
        assert got.caption == "Timetable" and got.caption_entities[0]["type"] == "italic"


async def test_a_button_of_an_older_draft_changes_nothing(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    await seed_cohort(bot.app.sessions, clock.now(), COORDINATOR_ID, MEMBERS)
    dace = someone(standin, bot, COORDINATOR_ID, "Dace", "en")
    [first] = await dace.write("/broadcast")
    await dace.write("/broadcast")
    replies = await dace.press("Everyone", message=first)
    assert not replies
    assert dace.alerts()[-1] == "This broadcast has changed; /broadcast starts a new one."
    replies = await dace.write("Hello")  # the new draft still asks for its audience
    assert not any("preview" in (m.text or "") for m in replies)

"""/meet: a pair sets its next meeting; both are reminded an hour before, the mentor with a
brief that holds the mentee's commitments only as far as the mentee shares them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, BotMessage, SimUser
from bot.storage.models import Commitment, DialogSession, Meeting, Outgoing, Person, Profile
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.test_coordinating_a_cohort import shown
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text


async def give_anna_a_commitment(bot: Running, anna_id: int) -> None:
    async with bot.app.sessions() as db:
        record = DialogSession(
            person_id=anna_id,
            dialog_id="grow",
            status="finished",
            state={},
            started_at=datetime(2026, 11, 20, tzinfo=UTC),
            updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        db.add(record)
        await db.flush()
        db.add(
            Commitment(
                person_id=anna_id,
                session_id=record.id,
                text="Send my CV to <three> companies",
                due_on=date(2026, 12, 4),
                created_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
        await db.commit()


async def test_a_meeting_is_set_reminded_and_called_off(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await give_anna_a_commitment(bot, anna.user.id)
    await anna.write("/share")
    await anna.press(t("Always share"))

    asked = await anna.write("/meet")
    assert "On which day" in (asked[-1].text or "")
    (when,) = await anna.write("27.11.2026")
    assert "At what time" in (when.text or "")
    (refused,) = await anna.write("half past six")
    assert "couldn't read that time" in (refused.text or "")
    await anna.write("18:30")
    await anna.write("My CV")
    await anna.press(t("Skip"))
    told = await wait_text(standin, rita.user, "set your next meeting")
    assert "November 27, 2026, 18:30 (Europe/Riga)" in (told.text or "")
    assert "Topic: My CV" in (told.text or "")
    await wait_text(standin, anna.user, "Your meeting with Rita is set")

    # 18:30 in Riga is 16:30 UTC: the reminders come at 15:30 UTC.
    clock.moment = datetime(2026, 11, 27, 15, 30, 5, tzinfo=UTC)
    bot.app.outbox.wake()
    brief = await wait_text(standin, rita.user, "In an hour: your meeting with Anna")
    assert "Open commitments of Anna" in (brief.text or "")
    assert "Send my CV to <three> companies" in (brief.text or "")
    reminder = await wait_text(standin, anna.user, "In an hour: your meeting with Rita")
    assert "commitments" not in (reminder.text or "")

    # The next one is set, and called off by the mentor.
    clock.moment = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    await anna.write("/meet")
    await anna.write("02.12.2026")
    await anna.write("9.15")
    await anna.press(t("Skip"))
    await anna.press(t("Skip"))
    await wait_text(standin, rita.user, "December 2, 2026, 09:15")
    (shown,) = await rita.write("/meet")
    assert "Your next meeting with Anna: December 2, 2026, 09:15" in (shown.text or "")
    await rita.press(t("✖ Call it off"), message=shown)
    assert rita.alerts()[-1] == t("Called off; your partner has been told.")
    await wait_text(standin, anna.user, "Rita called off your meeting on December 2, 2026")
    await rita.press(t("✖ Call it off"), message=shown)
    assert rita.alerts()[-1] == t("This meeting is no longer planned.")
    async with bot.app.sessions() as db:
        statuses = sorted((await db.execute(select(Meeting.status))).scalars())
        reminders = (
            await db.execute(select(Outgoing.status).where(Outgoing.kind == "meet_reminder"))
        ).scalars()
        assert statuses == ["cancelled", "planned"]
        assert sorted(reminders) == ["cancelled", "cancelled", "sent", "sent"]


async def test_an_early_meeting_is_reminded_the_evening_before_quiet_hours(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    """The day picked in the calendar, 07:30 in Riga: an hour before is in both people's
    quiet hours (21:00-08:00), so the reminder comes at 20:59 the evening before, with
    words that say so."""
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    clock.moment = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    *_, question = await anna.write("/meet")
    await anna.press(t("📅 Pick a day in the calendar"), question)
    await anna.press("30", shown(anna, question))
    await anna.write("7:30")
    await anna.press(t("Skip"))
    await anna.press(t("Skip"))
    await wait_text(standin, rita.user, "November 30, 2026, 07:30")
    evening = datetime(2026, 11, 29, 18, 59, tzinfo=UTC)  # 20:59 in Riga
    async with bot.app.sessions() as db:
        due = (
            await db.execute(select(Outgoing.due_at).where(Outgoing.kind == "meet_reminder"))
        ).scalars()
        assert [at.replace(tzinfo=UTC) for at in due] == [evening, evening]

    clock.moment = evening.replace(second=5)
    bot.app.outbox.wake()
    for person, partner in ((anna, "Rita"), (rita, "Anna")):
        reminder = await wait_text(standin, person.user, "Before your quiet hours begin")
        assert f"your meeting with {partner} is November 30, 2026, 07:30 (Europe/Riga)" in (
            reminder.text or ""
        )


async def test_a_moment_already_past_is_refused_and_the_unpaired_are_told(
    standin: BotAPIStandin, bot: Running
) -> None:
    _coordinator, anna, _rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("25.11.2026")
    await anna.write("08:00")  # 09:00 UTC now is 11:00 in Riga
    await anna.write("Catching up")
    await anna.write("https://meet.example.org/anna-rita")
    await wait_text(standin, anna.user, "That moment has already passed")
    loner = anna.standin.user(899, "Lone", "en")
    from tests.e2e.test_programme import person

    alone = person(standin, loner, bot)
    (reply,) = await alone.write("/meet")
    # Someone in no programme is told by the access policy what /meet is for.
    assert "mentees and mentors in a programme" in (reply.text or "")


async def test_my_data_holds_the_programme_too(standin: BotAPIStandin, bot: Running) -> None:
    _coordinator, anna, _rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("02.12.2026")
    await anna.write("18:00")
    await anna.write("Goals")
    await anna.write("https://meet.example.org/anna-rita")
    (copy,) = await anna.write("/mydata")
    assert copy.document is not None
    data = json.loads(copy.document)
    assert {"occupation", "topics", "timezone"} <= set(data["profile"]["answers"])
    assert data["roles"]["memberships"] == [
        {
            "cohort": "Riga <spring> 2027",
            "role": "mentee",
            "status": "active",
            "joined": data["roles"]["memberships"][0]["joined"],
        }
    ]
    assert [(p["as"], p["status"]) for p in data["pairs"]] == [("mentee", "active")]
    # The matching's score and its reasons come with the pair.
    assert isinstance(data["pairs"][0]["score"], int) and data["pairs"][0]["reasons"]
    assert [m["status"] for m in data["meetings"]] == ["planned"]
    assert data["pairs"][0]["video_link"] == "https://meet.example.org/anna-rita"


async def test_a_meeting_is_moved_with_the_change_button(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("03.12.2026")
    await anna.write("17:00")
    await anna.press(t("Skip"))
    await anna.press(t("Skip"))
    await wait_text(standin, rita.user, "December 3, 2026, 17:00")
    (shown,) = await anna.write("/meet")
    asked = await anna.press(t("🔁 Change"), message=shown)
    assert "On which day" in (asked[-1].text or "")
    await anna.write("04.12.2026")
    await anna.write("17:30")
    await anna.press(t("Skip"))
    await anna.press(t("Skip"))
    await wait_text(standin, rita.user, "December 4, 2026, 17:30")
    async with bot.app.sessions() as db:
        meetings = (await db.execute(select(Meeting.status).order_by(Meeting.id))).scalars()
        reminders = (
            await db.execute(
                select(Outgoing.status)
                .where(Outgoing.kind == "meet_reminder")
                .order_by(Outgoing.id)
            )
        ).scalars()
        assert list(meetings) == ["cancelled", "planned"]
        assert list(reminders) == ["cancelled", "cancelled", "pending", "pending"]


NEW_YORK = ZoneInfo("America/New_York")
RIGA = ZoneInfo("Europe/Riga")


async def rita_in_new_york_mornings(bot: Running, rita_id: int) -> None:
    async with bot.app.sessions() as db:
        person = await db.get(Person, rita_id)
        profile = await db.get(Profile, rita_id)
        assert person is not None and profile is not None
        person.timezone = NEW_YORK.key
        profile.data = {**profile.data, "availability": ["weekday_morning"]}
        await db.commit()


async def calendar_files(standin: BotAPIStandin, user: SimUser, count: int) -> list[Calendar]:
    """The .ics files the person has got, once there are ``count``, parsed."""

    def files() -> list[BotMessage]:
        return [m for m in standin.messages(user) if (m.document_name or "").endswith(".ics")]

    await standin.wait_for(lambda: len(files()) >= count, 10, f"{count} calendar file(s)")
    return [Calendar.from_ical(m.document or b"") for m in files()]


def the_event(calendar: Calendar) -> tuple[str, str, datetime, str, int, str]:
    """(method, uid, start, status, sequence, location) of the file's one event."""
    (event,) = calendar.walk("VEVENT")
    return (
        str(calendar["METHOD"]),
        str(event["UID"]),
        event.decoded("DTSTART"),
        str(event["STATUS"]),
        int(event["SEQUENCE"]),
        str(event.get("LOCATION", "")),
    )


async def test_both_sides_get_the_meeting_in_their_calendars_in_their_own_time(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await rita_in_new_york_mornings(bot, rita.user.id)

    # Wednesday 25 November, 14:00 UTC (Rita's 09:00, after her quiet hours): Anna's weekday
    # evenings in Riga (17-21) and Rita's weekday mornings in New York (8-12, seven hours
    # behind) meet from 17:00 to 19:00.
    clock.moment = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    asked = await anna.write("/meet")
    suggested = asked[0].text or ""
    assert "Times that suit you both in the coming week" in suggested
    assert (
        "• November 25, 2026, 17:00–19:00 (Europe/Riga); for Rita: 10:00–12:00 (America/New_York)"
    ) in suggested
    await anna.write("26.11.2026")
    await anna.write("18:30")
    await anna.write("First steps")
    await anna.write("https://meet.example.org/anna-rita")
    await wait_text(standin, rita.user, "Open the file below to put it in your calendar")

    (anna_file,) = await calendar_files(standin, anna.user, 1)
    (rita_file,) = await calendar_files(standin, rita.user, 1)
    link = "https://meet.example.org/anna-rita"
    method, uid, start, status, sequence, location = the_event(anna_file)
    assert (method, status, sequence, location) == ("PUBLISH", "CONFIRMED", 0, link)
    assert start == datetime(2026, 11, 26, 18, 30, tzinfo=RIGA)
    assert start.tzinfo is not None and start.tzname() == "EET"
    assert the_event(rita_file) == (
        "PUBLISH",
        uid,
        datetime(2026, 11, 26, 11, 30, tzinfo=NEW_YORK),
        "CONFIRMED",
        0,
        link,
    )
    (event,) = rita_file.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Mentoring meeting with Anna"
    assert str(event["DESCRIPTION"]) == "Topic: First steps"
    assert [str(zone["TZID"]) for zone in rita_file.walk("VTIMEZONE")] == [NEW_YORK.key]

    # Moved: the same event, a later sequence, the link kept without being given again.
    (shown,) = await anna.write("/meet")
    await anna.press(t("🔁 Change"), message=shown)
    await anna.write("27.11.2026")
    await anna.write("17:00")
    await anna.press(t("Skip"))
    await anna.press(t("Skip"))
    moved = (await calendar_files(standin, rita.user, 2))[-1]
    assert the_event(moved) == (
        "PUBLISH",
        uid,
        datetime(2026, 11, 27, 10, 0, tzinfo=NEW_YORK),
        "CONFIRMED",
        1,
        link,
    )

    # Called off by Rita: both calendars are told to drop the one event.
    (shown,) = await rita.write("/meet")
    await rita.press(t("✖ Call it off"), message=shown)
    for user, zone, hour in ((rita.user, NEW_YORK, 10), (anna.user, RIGA, 17)):
        dropped = (await calendar_files(standin, user, 3 if user is rita.user else 2))[-1]
        assert the_event(dropped) == (
            "CANCEL",
            uid,
            datetime(2026, 11, 27, hour, 0, tzinfo=zone),
            "CANCELLED",
            2,
            link,
        )
    await wait_text(standin, rita.user, "is called off")


async def test_a_link_that_is_not_a_web_address_is_left_out_and_said_so(
    standin: BotAPIStandin, bot: Running
) -> None:
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("26.11.2026")
    await anna.write("18:30")
    await anna.write("Goals")
    await anna.write("javascript:alert(1)")
    await wait_text(standin, anna.user, "The link was left out")
    (event,) = (await calendar_files(standin, rita.user, 1))[0].walk("VEVENT")
    assert "LOCATION" not in event
    async with bot.app.sessions() as db:
        assert (await db.execute(select(Meeting.status))).scalars().all() == ["planned"]


async def test_no_common_time_is_said_plainly(standin: BotAPIStandin, bot: Running) -> None:
    _coordinator, anna, rita = await matched_pair(standin, bot)
    async with bot.app.sessions() as db:
        person = await db.get(Person, rita.user.id)
        assert person is not None
        person.timezone = "Asia/Tokyo"  # Weekday evenings in Tokyo are Riga's mornings.
        await db.commit()
    asked = await anna.write("/meet")
    assert "do not overlap in the coming week: agree on a time together" in (asked[0].text or "")
    assert "On which day" in (asked[-1].text or "")

"""/meet: a pair sets its next meeting; both are reminded an hour before, the mentor with a
brief that holds the mentee's commitments only as far as the mentee shares them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.storage.models import Commitment, DialogSession, Meeting, Outgoing
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.standin import BotAPIStandin
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
    await wait_text(standin, rita.user, "December 2, 2026, 09:15")
    (shown,) = await rita.write("/meet")
    assert "Your next meeting with Anna: December 2, 2026, 09:15" in (shown.text or "")
    await rita.press(t("✖ Call it off"), message=shown)
    assert rita.alerts()[-1] == t("Called off; your partner has been told.")
    await wait_text(standin, anna.user, "Rita called off your meeting of December 2, 2026")
    await rita.press(t("✖ Call it off"), message=shown)
    assert rita.alerts()[-1] == t("This meeting is no longer planned.")
    async with bot.app.sessions() as db:
        statuses = sorted((await db.execute(select(Meeting.status))).scalars())
        reminders = (
            await db.execute(select(Outgoing.status).where(Outgoing.kind == "meet_reminder"))
        ).scalars()
        assert statuses == ["cancelled", "planned"]
        assert sorted(reminders) == ["cancelled", "cancelled", "sent", "sent"]


async def test_a_moment_already_past_is_refused_and_the_unpaired_are_told(
    standin: BotAPIStandin, bot: Running
) -> None:
    _coordinator, anna, _rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("25.11.2026")
    await anna.write("08:00")  # 09:00 UTC now is 11:00 in Riga
    await anna.write("Catching up")
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


async def test_a_meeting_is_moved_with_the_change_button(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/meet")
    await anna.write("03.12.2026")
    await anna.write("17:00")
    await anna.press(t("Skip"))
    await wait_text(standin, rita.user, "December 3, 2026, 17:00")
    (shown,) = await anna.write("/meet")
    asked = await anna.press(t("🔁 Change"), message=shown)
    assert "On which day" in (asked[-1].text or "")
    await anna.write("04.12.2026")
    await anna.write("17:30")
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

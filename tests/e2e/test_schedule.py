"""Regular check-ins, the monthly Wheel, mentors' digests and coordinators' summaries: each
at its local hour, at most one open check-in, and what fell due while the bot was down sent
once or dropped as stale."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.playground.botapi import BotAPIStandin
from bot.storage.models import Membership, Outgoing
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text

# Monday 30 November 2026, 10:00 in Riga (UTC+2).
FIRST_MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def rows_of(bot: Running, kind: str, person_id: int) -> list[Outgoing]:
    async with bot.app.sessions() as db:
        found = await db.execute(
            select(Outgoing)
            .where(Outgoing.kind == kind, Outgoing.person_id == person_id)
            .order_by(Outgoing.due_at)
        )
        return list(found.scalars())


async def nothing_in_flight(bot: Running) -> None:
    """Until every row claimed for sending has its outcome recorded (a condition checked
    against a deadline)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with bot.app.sessions() as db:
            sending = await db.scalar(
                select(func.count()).select_from(Outgoing).where(Outgoing.status == "sending")
            )
        if not sending:
            return
        assert asyncio.get_running_loop().time() < deadline, "rows still being sent"
        await asyncio.sleep(0.01)


@pytest.mark.postgres  # The digests' and summaries' queries.
async def test_weekly_check_ins_digests_and_summaries(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await bot.app.sweep()
    for kind, who in (("checkin_invite", anna), ("digest", rita)):
        (row,) = await rows_of(bot, kind, who.user.id)
        assert (row.status, row.due_at) == ("pending", FIRST_MONDAY)
    (summary_row,) = await rows_of(bot, "programme_summary", COORDINATOR_ID)
    assert summary_row.due_at == FIRST_MONDAY
    (wheel_row,) = await rows_of(bot, "wheel_invite", anna.user.id)
    assert wheel_row.due_at > datetime(2026, 12, 22, tzinfo=UTC)

    clock.moment = FIRST_MONDAY.replace(second=30)
    bot.app.outbox.wake()
    invite = await wait_text(standin, anna.user, "Time for your check-in")
    digest = await wait_text(standin, rita.user, "Your mentees: the last week")
    assert "Anna" in (digest.text or "") and "none shared yet" in (digest.text or "")
    summary = await wait_text(standin, coordinator.user, "The programme this week")
    assert "Riga <spring> 2027" in (summary.text or "")
    assert "Active pairs: 1" in (summary.text or "")

    (asked,) = await anna.press(t("Start the check-in"), message=invite)
    assert "a question about your mood" in (asked.text or "")
    started = await anna.press(t("Yes, I agree"), message=asked)
    assert "How are things" in (started[-1].text or "")
    await anna.press("4")
    await anna.press(t("Yes"))
    await anna.press(t("Skip"))
    await anna.press(t("Yes, send it"))
    await anna.press(t("Start the check-in"), message=invite)
    assert anna.alerts()[-1] == t("You have answered this one already. Thank you!")

    # The next week: started, not finished; the week after replaces it.
    clock.moment = FIRST_MONDAY.replace(month=12, day=7, second=30)
    bot.app.outbox.wake()
    await standin.wait_for(
        lambda: len([m for m in anna.sent() if "Time for your check-in" in (m.text or "")]) == 2,
        10,
        "the second invitation",
    )
    second = [m for m in anna.sent() if "Time for your check-in" in (m.text or "")][-1]
    await anna.press(t("Start the check-in"), message=second)
    (talked,) = await anna.press("2")
    assert "talked with your mentor" in (talked.text or "")
    clock.moment = FIRST_MONDAY.replace(month=12, day=14, second=30)
    bot.app.outbox.wake()
    await standin.wait_for(
        lambda: len([m for m in anna.sent() if "Time for your check-in" in (m.text or "")]) == 3,
        10,
        "the third invitation",
    )
    third = [m for m in anna.sent() if "Time for your check-in" in (m.text or "")][-1]
    assert await anna.press(t("Yes"), message=talked) == []
    assert anna.alerts()[-1] == t("This session has expired: a newer one has taken its place.")
    assert await anna.press(t("Start the check-in"), message=second) == []
    assert anna.alerts()[-1] == t("This invitation has expired: a newer one has come since.")
    fresh = await anna.press(t("Start the check-in"), message=third)
    assert "How are things" in (fresh[-1].text or "")
    await standin.wait_for(
        lambda: len([m for m in rita.sent() if "Your mentees" in (m.text or "")]) == 3,
        10,
        "three digests",
    )
    digests = [m for m in rita.sent() if "Your mentees" in (m.text or "")]
    # Anna asks each time: her mentor sees the mood of the check-in she shared.
    assert "Mood in the check-ins shared with you (1-5): 4" in (digests[-1].text or "")


async def test_what_fell_due_while_the_bot_was_down_goes_once(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await bot.app.sweep()
    before = {who.user.id: len(who.sent()) for who in (coordinator, anna, rita)}
    # Five weeks less a day later: the Mondays of 30 November to 21 December are stale
    # (the next has come); that of 28 December is this week's. The Wheel of 24 December is
    # still the current one.
    clock.moment = datetime(2026, 12, 29, 12, 0, tzinfo=UTC)
    bot.app.outbox.wake()
    await anna.settle()
    await nothing_in_flight(bot)
    # One message each, composed of everything that is due now.
    new = {who.user.id: who.sent()[before[who.user.id] :] for who in (coordinator, anna, rita)}
    assert [len(messages) for messages in new.values()] == [1, 1, 1]
    (merged,) = new[anna.user.id]
    assert "Time for your check-in" in (merged.text or "")
    assert "A month has passed" in (merged.text or "")
    assert "Your mentees" in (new[rita.user.id][0].text or "")
    assert "The programme this week" in (new[coordinator.user.id][0].text or "")
    for kind, who in (("checkin_invite", anna), ("digest", rita)):
        rows = await rows_of(bot, kind, who.user.id)
        assert [r.status for r in rows][:4] == ["stale"] * 4
        assert rows[4].status in ("sent", "merged") and rows[5].status == "pending"
        assert rows[4].due_at == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)
    # Its button is the current occurrence's: it starts the check-in.
    label = next(x for x in anna.labels(merged) if x.endswith(t("Start the check-in")))
    (asked,) = await anna.press(label, message=merged)
    assert "a question about your mood" in (asked.text or "")


async def test_the_mentee_picks_the_day_and_hour_or_stops_check_ins(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, _rita = await matched_pair(standin, bot)
    await bot.app.sweep()
    (view,) = await anna.write("/settings")
    assert "Regular check-in: Monday at 10:00" in (view.text or "")
    (days,) = await anna.press(t("📅 Check-in day"), message=view)
    (changed,) = await anna.press("Wednesday", message=days)
    assert "Regular check-in: Wednesday at 10:00" in (changed.text or "")
    pending = [
        r for r in await rows_of(bot, "checkin_invite", anna.user.id) if r.status == "pending"
    ]
    # Wednesday 25 November, 11:00 in Riga now: the next Wednesday at 10:00.
    assert [r.due_at for r in pending] == [datetime(2026, 12, 2, 8, 0, tzinfo=UTC)]
    (hours,) = await anna.press(t("🕙 Check-in hour"), message=changed)
    (changed,) = await anna.press("18:00", message=hours)
    pending = [
        r for r in await rows_of(bot, "checkin_invite", anna.user.id) if r.status == "pending"
    ]
    assert [r.due_at for r in pending] == [datetime(2026, 11, 25, 16, 0, tzinfo=UTC)]
    (stopped,) = await anna.press(t("⏹ Stop regular check-ins"), message=changed)
    assert "Regular check-in: stopped" in (stopped.text or "")
    await bot.app.sweep()
    for kind in ("checkin_invite", "wheel_invite"):
        assert not [r for r in await rows_of(bot, kind, anna.user.id) if r.status == "pending"]
    await anna.press(t("▶️ Restart regular check-ins"), message=stopped)
    pending = [
        r for r in await rows_of(bot, "checkin_invite", anna.user.id) if r.status == "pending"
    ]
    assert len(pending) == 1


async def test_cohort_settings_set_the_nudge_hours_and_turn_check_ins_off(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await coordinator.write("/cohort_settings")
    (view,) = await coordinator.press("Riga <spring> 2027")

    def label(starts: str) -> str:
        return next(x for x in coordinator.labels(view) if x.startswith(t(starts)))

    assert label("Remind a mentor to answer after").endswith("48 h")
    await coordinator.press(label("Remind a mentor to answer after"), message=view)
    assert label("Remind a mentor to answer after").endswith("24 h")
    assert label("Regular check-ins").endswith(t("weekly"))
    await coordinator.press(label("Regular check-ins"), message=view)
    await coordinator.press(label("Regular check-ins"), message=view)
    assert label("Regular check-ins").endswith(t("off"))
    assert label("Tell me about a pair without contact after").endswith("21 d")

    await bot.app.sweep()
    assert await rows_of(bot, "checkin_invite", anna.user.id) == []
    assert await rows_of(bot, "wheel_invite", anna.user.id) == []
    await anna.write("Are you there?")
    clock.moment += timedelta(hours=25)
    bot.app.outbox.wake()
    nudge = await wait_text(standin, rita.user, "24 h ago")
    assert "Anna" in (nudge.text or "")


async def test_a_month_on_the_mentee_is_invited_to_rate_the_wheel_again(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, _rita = await matched_pair(standin, bot)
    await bot.app.sweep()
    async with bot.app.sessions() as db:
        joined = await db.scalar(
            select(Membership.joined_at).where(Membership.person_id == anna.user.id)
        )
    assert joined is not None
    (row,) = await rows_of(bot, "wheel_invite", anna.user.id)
    # Four weeks after joining, at her hour (10:00) of the first day it comes.
    assert timedelta(weeks=4) <= row.due_at - joined <= timedelta(weeks=4, days=1)
    assert row.due_at.astimezone(ZoneInfo("Europe/Riga")).hour == 10
    clock.moment = row.due_at + timedelta(seconds=30)
    bot.app.outbox.wake()
    invite = await wait_text(standin, anna.user, "A month has passed")
    await anna.settle()
    # The check-in that is due goes in the same message.
    label = next(x for x in anna.labels(invite) if x.endswith(t("Rate the Wheel of Life")))
    (asked,) = await anna.press(label, message=invite)
    assert "Your Wheel of Life ratings" in (asked.text or "")
    started = await anna.press(t("No, keep them to myself"), message=asked)
    assert "Family and friends" in (started[-1].text or "")
    (row, following) = await rows_of(bot, "wheel_invite", anna.user.id)
    assert row.status in ("sent", "merged") and following.status == "pending"
    # A month later again, the same day of the month at the same hour.
    assert (
        following.due_at.astimezone(ZoneInfo("Europe/Riga")).day
        == row.due_at.astimezone(ZoneInfo("Europe/Riga")).day
    )


async def test_anyone_can_give_any_time_zone_by_name_city_or_country(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    outsider = Person(standin, standin.user(851, "Olga", "en"), bot)
    for who, typed, zone in (
        (anna, "America/New_York", "America/New_York"),
        (rita, "america/los angeles", "America/Los_Angeles"),
        (coordinator, "Tokyo", "Asia/Tokyo"),
        (outsider, "Latvija", "Europe/Riga"),
    ):
        (saved, view) = await who.write(f"/timezone {typed}")
        assert saved.text == t("Your time zone is now {zone}.").format(zone=zone)
        assert f"Time zone: {zone}" in (view.text or "")
    (unknown,) = await outsider.write("/timezone Atlantis <b>")
    assert unknown.text == t(
        "I don't know the time zone “{text}”. Write its name as in Europe/Riga or "
        "America/New_York, or a city or a country, such as Tokyo or Latvia."
    ).format(text="Atlantis <b>")
    # A country of several zones: which one.
    (which,) = await outsider.write("/timezone United States")
    assert "America/Chicago" in outsider.labels(which)
    (view,) = await outsider.press("America/Chicago", message=which)
    assert "Time zone: America/Chicago" in (view.text or "")
    # /settings shows how, and its buttons still set the common ones.
    (settings,) = await outsider.write("/settings")
    (picker,) = await outsider.press(t("🌍 Time zone"), message=settings)
    assert "/timezone America/New_York" in (picker.text or "")
    (view,) = await outsider.press("Europe/Vilnius", message=picker)
    assert "Time zone: Europe/Vilnius" in (view.text or "")
    async with bot.app.sessions() as db:
        zones = dict((await db.execute(select(PersonRow.id, PersonRow.timezone))).all())
    assert zones == {
        coordinator.user.id: "Asia/Tokyo",
        anna.user.id: "America/New_York",
        rita.user.id: "America/Los_Angeles",
        outsider.user.id: "Europe/Vilnius",
    }


def quiet(moment: datetime, zone: str) -> bool:
    """Within the default quiet hours, 21:00 to 08:00 in that zone."""
    hour = moment.astimezone(ZoneInfo(zone)).hour
    return hour >= 21 or hour < 8


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("America/New_York", datetime(2027, 3, 14, 7, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2027, 11, 7, 6, 0, tzinfo=UTC)),
        ("Europe/Riga", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
        ("Europe/Riga", datetime(2027, 10, 31, 1, 0, tzinfo=UTC)),
    ],
    ids=["new-york-march", "new-york-november", "riga-march", "riga-october"],
)
async def test_nothing_the_bot_starts_arrives_in_quiet_hours(
    standin: BotAPIStandin, bot: Running, clock: MovableClock, zone: str, change: datetime
) -> None:
    """Hour by hour through a change of daylight saving, east and west of UTC: nudges,
    the coordinators' alerts (a mentor who has not answered, a pair without contact),
    check-ins, digests and summaries all come outside everyone's quiet hours; those that
    fell due at night come at 08:00 their time. Only the message a mentee wrote is passed
    on at once."""
    t = translator(bot, "en")
    local = ZoneInfo(zone)
    # The change is in the night before a Sunday (D). The mentee writes at 23:00 on the
    # Thursday before it: the mentor's nudges (24 h and 48 h later) and the coordinators'
    # alert fall due at 23:00 on Friday and Saturday, the second just before the change.
    sunday = change.astimezone(local).date()
    wrote_at = datetime.combine(sunday - timedelta(days=3), time(23), tzinfo=local)
    wrote_at = wrote_at.astimezone(UTC)
    monday_after = datetime.combine(sunday + timedelta(days=1), time(11), tzinfo=local)
    clock.moment = wrote_at - timedelta(hours=11)  # noon: the programme starts
    coordinator, anna, rita = await matched_pair(standin, bot)
    people = (coordinator, anna, rita)
    for who in people:
        await who.write(f"/timezone {zone}")
    await coordinator.write("/cohort_settings")
    (view,) = await coordinator.press("Riga <spring> 2027")
    nudge = next(
        x for x in coordinator.labels(view) if x.startswith(t("Remind a mentor to answer after"))
    )
    await coordinator.press(nudge, message=view)
    await bot.app.sweep()
    await anna.settle()

    clock.moment = wrote_at
    await anna.write("Are you there? (late at night)")
    await rita.settle()
    # What she wrote is passed on at once: her mentor is waiting for it.
    assert "(late at night)" in (rita.sent()[-1].text or "")
    seen = {who.user.id: len(who.sent()) for who in people}

    async def hour_by_hour(until: datetime) -> list[tuple[int, datetime, str]]:
        """What arrived, to whom and when, moving the clock an hour at a time."""
        arrived = []
        while clock.moment < until:
            clock.moment += timedelta(hours=1)
            await bot.app.sweep()
            bot.app.outbox.wake()
            await anna.settle()
            await nothing_in_flight(bot)
            for who in people:
                for message in who.sent()[seen[who.user.id] :]:
                    arrived.append((who.user.id, clock.moment, message.text or ""))
                seen[who.user.id] = len(who.sent())
        return arrived

    # Through the change and on to the Monday's check-in, digest and summary.
    first = await hour_by_hour(monday_after.astimezone(UTC))
    # Three weeks without contact: the coordinators' alert is due at 23:00.
    clock.moment = wrote_at + timedelta(days=21, hours=-3)
    arrivals = first + await hour_by_hour(wrote_at + timedelta(days=21, hours=12))

    assert arrivals, "nothing arrived"
    at_night = [
        (who, at.astimezone(local), text[:40]) for who, at, text in arrivals if quiet(at, zone)
    ]
    assert at_night == []

    def came(what: str, among: list[tuple[int, datetime, str]]) -> list[datetime]:
        return [at.astimezone(local) for _who, at, text in among if what in text]

    # Due at night, they come when the quiet hours end: 08:00 local, whatever the offset.
    nudges = came("is waiting for your answer", first)
    assert [(at.date(), at.hour) for at in nudges] == [
        (sunday - timedelta(days=1), 8),
        (sunday, 8),
    ]
    assert [(at.date(), at.hour) for at in came("has waited 48 h", first)] == [(sunday, 8)]
    assert [at.hour for at in came("has had no contact for 21 days", arrivals)] == [8]
    # At their hour, across the change: Monday at 10:00.
    for what in ("Time for your check-in", "Your mentees", "The programme this week"):
        assert [(at.weekday(), at.hour) for at in came(what, first)] == [(0, 10)], what

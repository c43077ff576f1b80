"""Regular check-ins, the monthly Wheel, mentors' digests and coordinators' summaries: each
at its local hour, at most one open check-in, and what fell due while the bot was down sent
once or dropped as stale."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.storage.models import Outgoing
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.standin import BotAPIStandin
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
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await bot.app.sweep()
    # Three weeks and a day later: the Mondays of 30 November, 7 and 14 December are
    # stale (the next has come); that of 21 December is still this week's.
    clock.moment = datetime(2026, 12, 22, 12, 0, tzinfo=UTC)
    bot.app.outbox.wake()
    await wait_text(standin, anna.user, "Time for your check-in")
    await wait_text(standin, rita.user, "Your mentees")
    await nothing_in_flight(bot)
    for kind, who in (("checkin_invite", anna), ("digest", rita)):
        rows = await rows_of(bot, kind, who.user.id)
        assert [r.status for r in rows] == ["stale", "stale", "stale", "sent", "pending"]
        assert rows[3].due_at == datetime(2026, 12, 21, 8, 0, tzinfo=UTC)
    assert len([m for m in anna.sent() if "Time for your check-in" in (m.text or "")]) == 1
    assert len([m for m in rita.sent() if "Your mentees" in (m.text or "")]) == 1


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

    assert label("Nudge a mentor after").endswith("48 h")
    await coordinator.press(label("Nudge a mentor after"), message=view)
    assert label("Nudge a mentor after").endswith("24 h")
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
    (row,) = await rows_of(bot, "wheel_invite", anna.user.id)
    clock.moment = row.due_at + timedelta(seconds=30)
    bot.app.outbox.wake()
    invite = await wait_text(standin, anna.user, "A month has passed")
    await anna.settle()  # the check-ins that fell due in the month go out too
    (asked,) = await anna.press(t("Rate the Wheel of Life"), message=invite)
    assert "Your Wheel of Life ratings" in (asked.text or "")
    started = await anna.press(t("No, keep them to myself"), message=asked)
    assert "Family and friends" in (started[-1].text or "")
    (row, following) = await rows_of(bot, "wheel_invite", anna.user.id)
    assert row.status == "sent" and following.status == "pending"
    # A month later again, the same day of the month at the same hour.
    assert (
        following.due_at.astimezone(ZoneInfo("Europe/Riga")).day
        == row.due_at.astimezone(ZoneInfo("Europe/Riga")).day
    )

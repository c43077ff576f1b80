"""Commitments are followed up: a reminder the day before, a check-in on the day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, SimUser
from bot.services.followup import FollowUpService
from bot.storage.models import Commitment, Outgoing
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.test_dialogs import mentee, translator


async def wheel_with_two_actions(standin: BotAPIStandin, bot: Running, user: SimUser) -> None:
    person = mentee(standin, user, bot)
    t = translator(bot, "en")
    await person.write("/wheel")
    for rating in (7, 5, 8, 4, 6, 7, 3, 6):
        await person.press(str(rating))
    ticked = [label for label in person.labels() if label.startswith("✅")]
    await person.press(ticked[0])
    await person.press(t("Done"))
    await person.write("Call my friends on Sundays")
    await person.write("01.12.2026")
    await person.write("Save 50 euros a month")
    await person.write("10.12.2026")
    await person.press(t("Skip"))


async def outbox_rows(bot: Running) -> list[Outgoing]:
    async with bot.app.sessions() as db:
        return list((await db.execute(select(Outgoing).order_by(Outgoing.due_at))).scalars())


async def test_reminders_and_check_ins_go_out_in_the_persons_time(
    standin: BotAPIStandin, bot: Running, ben: SimUser, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    await wheel_with_two_actions(standin, bot, ben)
    rows = await outbox_rows(bot)
    # Europe/Riga in winter is UTC+2: 09:00 there is 07:00 UTC.
    assert [(r.kind, r.due_at) for r in rows] == [
        ("commitment_reminder", datetime(2026, 11, 30, 7, tzinfo=UTC)),
        ("commitment_checkin", datetime(2026, 12, 1, 7, tzinfo=UTC)),
        ("commitment_reminder", datetime(2026, 12, 9, 7, tzinfo=UTC)),
        ("commitment_checkin", datetime(2026, 12, 10, 7, tzinfo=UTC)),
    ]
    person = mentee(standin, ben, bot)
    clock.moment = datetime(2026, 11, 30, 7, 0, 1, tzinfo=UTC)
    bot.app.outbox.wake()
    reminder = await standin.wait_for_message(ben, contains="Tomorrow", timeout=10)
    assert "Call my friends" in (reminder.text or "")
    clock.moment = datetime(2026, 12, 1, 7, 0, 1, tzinfo=UTC)
    bot.app.outbox.wake()
    check_in = await standin.wait_for_message(ben, contains="Today is the day for", timeout=10)
    assert "Call my friends on Sundays" in (check_in.text or "")
    assert len([m for m in person.sent() if "Tomorrow" in (m.text or "")]) == 1
    await person.press(t("Partly"), message=check_in)
    await person.press(t("In {days} days").format(days=7))
    async with bot.app.sessions() as db:
        # Commitments' texts are sealed: they are matched here, not in SQL.
        (moved,) = [
            c
            for c in await db.scalars(select(Commitment))
            if c.text == "Call my friends on Sundays"
        ]
    assert moved.due_on == date(2026, 12, 8) and moved.status == "open"
    (listing_head, *items) = await person.write("/commitments")
    assert len(items) == 2
    await person.press(t("🗑 Drop"), message=items[1])
    statuses = {r.kind + ":" + r.status for r in await outbox_rows(bot)}
    assert "commitment_checkin:cancelled" in statuses
    (_head, again) = await person.write("/commitments")
    await person.press(t("✅ Done"), message=items[0])
    # The same commitment, tapped in an older list: no longer open, nothing changes.
    await person.act(lambda: standin.press(ben, t("✅ Done"), message=again))
    assert person.alerts()[-1] == t("This question has expired: the commitment is no longer open.")
    async with bot.app.sessions() as db:
        states = sorted((await db.execute(select(Commitment.status))).scalars())
    assert states == ["done", "dropped"]


def test_nine_in_the_morning_across_daylight_saving() -> None:
    follow = FollowUpService(MovableClock(datetime(2027, 3, 1, tzinfo=UTC)), "Europe/Riga", "en")
    riga = ZoneInfo("Europe/Riga")
    # The last Sunday of March 2027 is the 28th: from then on Riga is UTC+3.
    assert follow._moment(date(2027, 3, 27), riga) == datetime(2027, 3, 27, 7, tzinfo=UTC)
    assert follow._moment(date(2027, 3, 29), riga) == datetime(2027, 3, 29, 6, tzinfo=UTC)
    # The last Sunday of October 2027 is the 31st: back to UTC+2.
    assert follow._moment(date(2027, 10, 30), riga) == datetime(2027, 10, 30, 6, tzinfo=UTC)
    assert follow._moment(date(2027, 11, 1), riga) == datetime(2027, 11, 1, 7, tzinfo=UTC)


async def test_a_pause_defers_check_ins_and_a_block_cancels_them(
    standin: BotAPIStandin, bot: Running, ben: SimUser, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    person = mentee(standin, ben, bot)
    await wheel_with_two_actions(standin, bot, ben)
    (view,) = await person.write("/settings")
    assert "Europe/Riga" in (view.text or "") and "21:00–08:00" in (view.text or "")
    (changed,) = await person.press(t("🌙 Change quiet hours"))
    assert "22:00–07:00" in (changed.text or "")
    await person.press(t("⏸ Pause {days} d").format(days=14), message=changed)
    sent_before = len(person.sent())
    clock.moment = datetime(2026, 12, 1, 7, 0, 1, tzinfo=UTC)
    await bot.app.outbox.tick()
    rows = await outbox_rows(bot)
    deferred = [r for r in rows if r.kind == "commitment_checkin"]
    # Paused until 1 December + 14 days at 09:00 UTC (11:00 in Riga, outside quiet hours).
    assert deferred[0].status == "pending"
    assert deferred[0].due_at == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    assert len(person.sent()) == sent_before
    standin.block(ben)
    await person.settle()
    clock.moment = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    await bot.app.outbox.tick()
    statuses = {(r.kind, r.status) for r in await outbox_rows(bot)}
    # The reminders the day before went stale while paused: their day had come.
    assert statuses == {("commitment_reminder", "stale"), ("commitment_checkin", "cancelled")}
    assert not standin.calls("sendMessage", status=403)


async def test_a_new_york_mentee_at_half_past_nine_in_the_evening_can_date_an_action_today(
    standin: BotAPIStandin, bot: Running, ben: SimUser, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    person = mentee(standin, ben, bot)
    (saved, _view) = await person.write("/timezone America/New_York")
    assert saved.text == t("Your time zone is now {zone}.").format(zone="America/New_York")
    # 21:30 on Wednesday 25 November in New York: already the 26th in UTC.
    clock.moment = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    await person.write("/wheel")
    for rating in (7, 5, 8, 4, 6, 7, 3, 6):
        await person.press(str(rating))
    ticked = [label for label in person.labels() if label.startswith("✅")]
    await person.press(ticked[0])
    await person.press(t("Done"))
    await person.write("Call my friends tonight")
    (refused,) = await person.write("24.11.2026")
    assert refused.text == t("That date has already passed. Please choose today or later.")
    (asked,) = await person.write("25.11.2026")
    assert "already passed" not in (asked.text or "")
    await person.write("Save 50 euros a month")
    await person.write("26.11.2026")
    await person.press(t("Skip"))
    async with bot.app.sessions() as db:
        dates = {c.text: c.due_on for c in await db.scalars(select(Commitment))}
    assert dates == {
        "Call my friends tonight": date(2026, 11, 25),
        "Save 50 euros a month": date(2026, 11, 26),
    }


async def test_in_a_merged_check_in_the_other_items_can_still_be_answered(
    standin: BotAPIStandin, bot: Running, ben: SimUser, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    person = mentee(standin, ben, bot)
    await person.write("/wheel")
    for rating in (7, 5, 8, 4, 6, 7, 3, 6):
        await person.press(str(rating))
    ticked = [label for label in person.labels() if label.startswith("✅")]
    await person.press(ticked[0])
    await person.press(t("Done"))
    for action in ("Call my friends on Sundays", "Save 50 euros a month"):
        await person.write(action)
        await person.write("01.12.2026")
    await person.press(t("Skip"))
    clock.moment = datetime(2026, 12, 1, 7, 0, 1, tzinfo=UTC)
    bot.app.outbox.wake()
    merged = await standin.wait_for_message(ben, contains="Today is the day for", timeout=10)
    await person.settle()
    assert "Call my friends" in (merged.text or "") and "Save 50 euros" in (merged.text or "")
    assert person.labels(merged) == [
        f"{n} · {t(label)}" for n in (1, 2) for label in ("✅ Done", "Partly", "Not yet")
    ]
    assert await person.press(f"1 · {t('✅ Done')}", message=merged) == [
        person.sent()[-1]
    ] and person.sent()[-1].text == t("🎉 Well done! Marked as done.")
    # The second item's buttons are still there, and they work.
    assert person.labels(merged) == [
        f"2 · {t(label)}" for label in ("✅ Done", "Partly", "Not yet")
    ]
    (when,) = await person.press(f"2 · {t('Not yet')}", message=merged)
    assert when.text == t("When will you do it? Choose a new date, or drop it.")
    assert person.labels(merged) == []
    await person.press(t("In {days} days").format(days=7), message=when)
    async with bot.app.sessions() as db:
        found = {c.text: (c.status, c.due_on) for c in await db.scalars(select(Commitment))}
    assert found == {
        "Call my friends on Sundays": ("done", date(2026, 12, 1)),
        "Save 50 euros a month": ("open", date(2026, 12, 8)),
    }

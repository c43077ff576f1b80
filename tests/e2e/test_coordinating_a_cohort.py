"""A coordinator's chat with a cohort of many: whom matching leaves out and a reminder to
finish the intake, a proposal of 120 pairs decided pair by pair, /pairs as one paged and
filtered message, a cohort's end date typed or picked in a calendar, an unmatched mentee
told why, and the statistics of a cohort that has only people yet."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import intake
from bot.domain.consent import ConsentKind
from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage.models import (
    Answer,
    Cohort,
    Consent,
    DialogSession,
    Membership,
    Outgoing,
    Pair,
    Profile,
)
from bot.storage.models import Person as PersonRow
from bot.telegram.buttons import RemindIntake
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.test_coordination import new_cohort, press
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import (
    create_cohort,
    intake_mentee,
    intake_mentor,
    person,
    wait_text,
)

COHORT = "Riga <spring> 2027"


def now_of(bot: Running) -> datetime:
    return bot.app.polling.clock.now()


def mentee_profile() -> dict[str, Any]:
    return intake.mentee_data(
        {
            "occupation": "Nurse",
            "stage": "2",
            "topics": ["leadership"],
            "languages": ["lv"],
            "timezone": "Europe/Riga",
            "availability": ["evenings"],
            "formats": ["video"],
        }
    )


def mentor_profile(capacity: int) -> dict[str, Any]:
    return intake.mentor_data(
        {
            "expertise": ["leadership"],
            "years": 12,
            "bio": "I lead a team",
            "languages": ["lv"],
            "timezone": "Europe/Riga",
            "availability": ["evenings"],
            "formats": ["video"],
            "capacity": capacity,
            "gender": "woman",
        }
    )


async def cohort_id(bot: Running, name: str = COHORT) -> int:
    async with bot.app.sessions() as db:
        found = await db.scalar(select(Cohort.id).where(Cohort.name == name))
    assert found is not None
    return found


async def seed_members(
    bot: Running, cohort: int, mentees: range, mentors: range, capacity: int = 1
) -> None:
    """People who finished their intake, written as the intake's finisher writes them."""
    now = now_of(bot)
    groups = ((mentees, "mentee", mentee_profile()), (mentors, "mentor", mentor_profile(capacity)))
    async with bot.app.sessions() as db:
        for ids, _role, _data in groups:
            db.add_all(
                PersonRow(id=pid, first_name=f"P{pid}", created_at=now, last_seen_at=now)
                for pid in ids
            )
        await db.flush()
        for ids, role, data in groups:
            for pid in ids:
                db.add(Profile(person_id=pid, role=role, data=data, updated_at=now))
                db.add(
                    Membership(
                        cohort_id=cohort, person_id=pid, role=role, status="active", joined_at=now
                    )
                )
        await db.commit()


def shown(who: Person, message: BotMessage) -> BotMessage:
    """The message as it stands now (after the bot's edits)."""
    return next(m for m in who.sent() if m.message_id == message.message_id)


async def test_match_names_those_still_in_the_intake_and_reminds_them_once_outside_quiet_hours(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(901, "Anna", "en"), bot)
    rita = person(standin, standin.user(902, "Rita", "en"), bot)
    ivo = person(standin, standin.user(903, "Ivo", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await intake_mentor(rita, bot, codes["Mentors"])
    await ivo.write(f"/start {codes['Mentees']}")
    await ivo.write("Teacher, I like chess")  # and stops there
    async with bot.app.sessions() as db:
        ivo_row = await db.get(PersonRow, 903)
        assert ivo_row is not None
        # Quiet for Ivo from now (09:00 UTC) until noon.
        ivo_row.timezone, ivo_row.quiet_from, ivo_row.quiet_to = "UTC", 8, 12
        await db.commit()

    await coordinator.write("/match")
    notes, page = await coordinator.press(COHORT)
    assert "Ivo" in (notes.text or "") and "Still in the intake" in (notes.text or "")
    assert "1 person has joined and not finished it" in (notes.text or "")
    assert "Anna → Rita" in (page.text or "") and "Ivo" not in (page.text or "")

    before = len(ivo.sent())
    await coordinator.press(t("🔔 Remind them to finish"), notes)
    assert coordinator.alerts()[-1] == (
        "Reminded: 1 person. They hear from the bot outside their quiet hours."
    )
    assert coordinator.labels(shown(coordinator, notes)) == []
    assert len(ivo.sent()) == before  # quiet hours: it waits
    async with bot.app.sessions() as db:
        row = (
            await db.execute(select(Outgoing).where(Outgoing.kind == "intake_reminder"))
        ).scalar_one()
    assert row.chat_id == 903 and row.status == "pending"

    clock.moment = clock.moment.replace(hour=12, minute=1)
    bot.app.outbox.wake()
    reminder = await wait_text(standin, ivo.user, "A gentle reminder")
    assert COHORT in (reminder.text or "") and "/continue" in (reminder.text or "")

    # Once: a second press (an old copy of the button) reminds nobody again.
    _messages, answer = await press(
        standin, coordinator, RemindIntake(cohort=await cohort_id(bot)).pack()
    )
    assert answer.text == "Everyone still in the intake has been reminded already."
    await ivo.settle()
    assert len([m for m in ivo.sent() if "A gentle reminder" in (m.text or "")]) == 1
    replies = await ivo.write("/continue")
    assert any("How do you usually make decisions" in (m.text or "") for m in replies)


async def test_every_pair_of_a_120_pair_proposal_can_be_approved_or_excluded_on_its_own(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, _codes = await create_cohort(standin, bot)
    await seed_members(bot, await cohort_id(bot), range(10_000, 10_120), range(20_000, 20_120))

    await coordinator.write("/match")
    (page,) = await coordinator.press(COHORT)
    async with bot.app.sessions() as db:
        proposed = set(
            (await db.execute(select(Pair.id).where(Pair.status == "proposed"))).scalars()
        )
    assert len(proposed) == 120
    assert t("✅ Approve all {count}").format(count=120) in coordinator.labels(page)

    offered: dict[int, int] = {}  # pair -> the page its buttons are on
    number = 1
    while True:
        current = shown(coordinator, page)
        text = current.text or ""
        heading = re.search(r"page (\d+) of (\d+)", text)
        assert heading is not None and int(heading.group(1)) == number
        for label in coordinator.labels(current):
            found = re.fullmatch(r"✅ #(\d+)", label)
            if found:
                assert f"#{found.group(1)} · " in text
                offered.setdefault(int(found.group(1)), number)
        if t("Next ▶") not in coordinator.labels(current):
            break
        await coordinator.press(t("Next ▶"), current)
        number += 1
    assert set(offered) == proposed and number == int(heading.group(2)) > 1
    # Editing one message, not sending more.
    assert len([m for m in coordinator.sent() if m.message_id >= page.message_id]) == 1

    # On the last page: approve one pair, then exclude another; each on its own.
    last = [p for p, n in offered.items() if n == number]
    await coordinator.press(f"✅ #{last[0]}", shown(coordinator, page))
    async with bot.app.sessions() as db:
        assert (await db.get(Pair, last[0])).status == "active"  # type: ignore[union-attr]
        assert (
            await db.scalar(select(Pair.id).where(Pair.status == "active", Pair.id != last[0]))
            is None
        )
    after = shown(coordinator, page)
    assert f"#{last[0]} · " not in (after.text or "")
    assert f"page {number} of" in (after.text or "")
    await coordinator.press(t("Exclude #{pair} and match again").format(pair=last[1]), after)
    async with bot.app.sessions() as db:
        excluded = await db.get(Pair, last[1])
        assert excluded is not None and excluded.status == "excluded"
        left = (await db.execute(select(Pair).where(Pair.status == "proposed"))).scalars().all()
    # Matched again: the other 119 mentees, none of them with the mentor excluded for them.
    assert len(left) == 119
    assert all((p.mentee_id, p.mentor_id) != (excluded.mentee_id, excluded.mentor_id) for p in left)


async def seed_pairs(bot: Running, clock: MovableClock) -> dict[str, int]:
    """A second cohort; 23 active pairs in the first, one paused, one without contact for
    a month, one whose mentee's latest mood was 1 (shared), and one in the second."""
    now = now_of(bot)
    first, second = await cohort_id(bot), await cohort_id(bot, "Liepāja autumn 2027")
    await seed_members(bot, first, range(30_000, 30_026), range(40_000, 40_026))
    await seed_members(bot, second, range(31_000, 31_001), range(41_000, 41_001))
    ids: dict[str, int] = {}
    async with bot.app.sessions() as db:
        pairs = []
        for n in range(26):
            pair = Pair(
                cohort_id=first,
                mentee_id=30_000 + n,
                mentor_id=40_000 + n,
                status="paused" if n == 1 else "active",
                score=50,
                created_at=now,
                decided_at=now,
                last_contact_at=now - timedelta(days=30 if n == 2 else 1),
            )
            pairs.append(pair)
        other = Pair(
            cohort_id=second,
            mentee_id=31_000,
            mentor_id=41_000,
            status="active",
            score=50,
            created_at=now,
            decided_at=now,
            last_contact_at=now,
        )
        db.add_all([*pairs, other])
        await db.flush()
        low = 30_003
        db.add(Consent(person_id=low, kind=ConsentKind.MOOD, given=True, at=now))
        checkin = DialogSession(
            person_id=low,
            dialog_id="checkin",
            status="finished",
            state={},
            started_at=now,
            updated_at=now,
            finished_at=now,
        )
        db.add(checkin)
        await db.flush()
        db.add(Answer(session_id=checkin.id, key="mood", value=1, answered_at=now))
        await db.commit()
        ids = {
            "paused": pairs[1].id,
            "quiet": pairs[2].id,
            "low": pairs[3].id,
            "other": other.id,
            "first": first,
        }
    return ids


@pytest.mark.postgres  # The latest moods, one query for all the pairs.
async def test_pairs_is_one_message_paged_and_filtered_by_cohort_and_status(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, _codes = await create_cohort(standin, bot)
    await new_cohort(coordinator, bot, "Liepāja autumn 2027")
    ids = await seed_pairs(bot, clock)

    (listing,) = await coordinator.write("/pairs")
    text = listing.text or ""
    assert text.startswith("Pairs of all your cohorts · all: 27")
    assert "Page 1 of 3" in text
    assert len(re.findall(r"^[🟢🟡🔴] #\d+ · ", text, re.M)) == 10
    assert (
        f"🔴 #{ids['quiet']} · P30002 → P40002 · active · {COHORT} · ⚠️ no contact for 30 days"
        "\n    days without contact: 30"
    ) in text
    assert f"#{ids['low']} · P30003 → P40003 · active · {COHORT} · 😟 latest mood 1" in text

    await coordinator.press(t("Next ▶"), listing)
    await coordinator.press(t("Next ▶"), listing)
    third = shown(coordinator, listing)
    assert "Page 3 of 3" in (third.text or "")
    assert f"#{ids['other']} · P31000 → P41000" in (third.text or "")
    assert t("Next ▶") not in coordinator.labels(third)

    await coordinator.press(t("Show: {which}").format(which=t("paused")), third)
    paused = shown(coordinator, listing)
    assert (paused.text or "").startswith("Pairs of all your cohorts · paused: 1")
    assert f"#{ids['paused']} · " in (paused.text or "")
    assert t("▶️ Resume #{pair}").format(pair=ids["paused"]) in coordinator.labels(paused)

    await coordinator.press(t("Show: {which}").format(which=t("no contact")), paused)
    quiet = shown(coordinator, listing)
    assert (quiet.text or "").startswith("Pairs of all your cohorts · no contact: 1")
    assert f"#{ids['quiet']} · " in (quiet.text or "")
    await coordinator.press(t("Show: {which}").format(which=t("low mood")), quiet)
    low = shown(coordinator, listing)
    assert (low.text or "").startswith("Pairs of all your cohorts · low mood: 1")
    assert f"#{ids['low']} · " in (low.text or "")

    await coordinator.press(t("Show: {which}").format(which=t("all")), low)
    await coordinator.press("Liepāja autumn 2027", shown(coordinator, listing))
    other = shown(coordinator, listing)
    assert (other.text or "").startswith("Pairs of Liepāja autumn 2027 · all: 1")

    # Pausing a pair from the list: the list shows it paused, in the same message.
    await coordinator.press(t("⏸ Pause #{pair}").format(pair=ids["other"]), other)
    after = shown(coordinator, listing)
    assert f"#{ids['other']} · P31000 → P41000 · paused" in (after.text or "")
    async with bot.app.sessions() as db:
        assert (await db.get(Pair, ids["other"])).status == "paused"  # type: ignore[union-attr]
    # One message for /pairs, edited all along.
    assert [m for m in coordinator.sent() if m.message_id > listing.message_id] == []


async def test_a_cohorts_end_date_is_typed_in_either_format_or_picked_in_a_calendar(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator = person(standin, standin.user(42, "Dace", "en"), bot)
    ends: dict[str, date] = {}
    for name, typed in (("Typed ISO", "2027-03-31"), ("Typed dots", "31.03.2027")):
        await coordinator.write("/cohort_new")
        await coordinator.write(name)
        (question,) = await coordinator.press(t("A coordinator matches them"))
        assert "2027-03-31 or 31.03.2027" in (question.text or "")
        await coordinator.write(typed)
    await coordinator.write("/cohort_new")
    await coordinator.write("From the calendar")
    (question,) = await coordinator.press(t("A coordinator matches them"))
    await coordinator.press(t("📅 Pick a day in the calendar"), question)
    month = shown(coordinator, question)
    labels = coordinator.labels(month)
    assert "November 2026" in labels and "◀" not in labels  # today is 25 November
    assert "24" not in labels and "25" in labels and "30" in labels
    await coordinator.press("▶", month)
    december = coordinator.labels(shown(coordinator, question))
    assert "December 2026" in december and "◀" in december and "1" in december
    await coordinator.press("31", shown(coordinator, question))
    async with bot.app.sessions() as db:
        ends = {c.name: c.ends_on for c in (await db.execute(select(Cohort))).scalars()}
    assert ends == {
        "Typed ISO": date(2027, 3, 31),
        "Typed dots": date(2027, 3, 31),
        "From the calendar": date(2026, 12, 31),
    }


async def test_a_mentee_left_unmatched_hears_that_matching_ran_and_why(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(911, "Anna", "en"), bot)
    liga = person(standin, standin.user(912, "Līga", "en"), bot)
    rita = person(standin, standin.user(913, "Rita", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await intake_mentee(liga, bot, codes["Mentees"], show_name=True)
    await intake_mentor(rita, bot, codes["Mentors"])
    async with bot.app.sessions() as db:
        profile = await db.get(Profile, 913)
        assert profile is not None
        profile.data = {**profile.data, "capacity": 1}
        await db.commit()

    await coordinator.write("/match")
    notes, page = await coordinator.press(COHORT)
    assert "Left unmatched" in (notes.text or "")
    matched = "Anna" if "Anna → Rita" in (page.text or "") else "Līga"
    unmatched = liga if matched == "Anna" else anna
    await coordinator.press(t("✅ Approve all"), page)
    told = await wait_text(standin, unmatched.user, "this time you were not matched")
    assert COHORT in (told.text or "")
    assert "the mentors who suit you have no free place left" in (told.text or "")
    matched_one = anna if unmatched is liga else liga
    assert not any("not matched" in (m.text or "") for m in matched_one.sent())


async def test_mentees_left_unmatched_by_exclusions_hear_it_when_nothing_is_left_to_propose(
    standin: BotAPIStandin, bot: Running
) -> None:
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(931, "Anna", "en"), bot)
    liga = person(standin, standin.user(932, "Līga", "en"), bot)
    rita = person(standin, standin.user(933, "Rita", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await intake_mentee(liga, bot, codes["Mentees"], show_name=True)
    await intake_mentor(rita, bot, codes["Mentors"])

    await coordinator.write("/match")
    *_, page = await coordinator.press(COHORT)
    # Rita is excluded for one mentee, then for the other: nothing is left to propose.
    for _ in range(2):
        exclude = next(label for label in coordinator.labels(page) if label.startswith("Exclude"))
        *_, page = await coordinator.press(exclude, page)
    assert not any(label.startswith("Exclude") for label in coordinator.labels(page))
    for mentee in (anna, liga):
        told = await wait_text(standin, mentee.user, "this time you were not matched")
        assert COHORT in (told.text or "")
    assert not any("not matched" in (m.text or "") for m in rita.sent())


async def test_the_statistics_of_a_cohort_with_only_people_yet_chart_its_people(
    standin: BotAPIStandin, bot: Running
) -> None:
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(921, "Anna", "en"), bot)
    ivo = person(standin, standin.user(922, "Ivo", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await ivo.write(f"/start {codes['Mentees']}")

    await coordinator.write("/stats")
    figures, chart = await coordinator.press(COHORT)
    assert "Mentees: 1 active, 1 in intake" in (figures.text or "")
    assert chart.photo is not None
    # One panel (the people), not four empty ones: a picture 6.4 inches wide at 150 dpi.
    assert int.from_bytes(chart.photo[16:20], "big") == 960
    stats, renderer = bot.app.dispatcher["stats"], bot.app.dispatcher["renderer"]
    async with bot.app.sessions() as db:
        cohort = await db.get(Cohort, await cohort_id(bot))
        assert cohort is not None
        figures_ = await stats.cohort_stats(db, cohort)
    drawn = stats.chart(figures_, lambda msg: renderer.plain(msg, "en"))
    assert drawn.nothing_yet
    assert drawn.people == [("Mentees: active", 1), ("Mentees: in intake", 1)]

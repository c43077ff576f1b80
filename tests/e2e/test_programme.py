"""A programme run through the bot: a cohort, invites, intake, matching, conversation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, BotMessage, SimUser
from bot.storage.models import Cohort, Invite, Membership, Outgoing, Pair, Profile
from tests.e2e.conftest import COORDINATOR_ID, MovableClock, Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator


def person(standin: BotAPIStandin, user: SimUser, bot: Running) -> Person:
    return Person(standin, user, bot)


async def create_cohort(
    standin: BotAPIStandin, bot: Running, mode: str = "A coordinator matches them"
) -> tuple[Person, dict[str, str]]:
    coordinator = person(standin, standin.user(COORDINATOR_ID, "Dace", "en"), bot)
    t = translator(bot, "en")
    await coordinator.write("/cohort_new")
    await coordinator.write("Riga <spring> 2027")
    await coordinator.press(t(mode))
    replies = await coordinator.press(t("In a month"))
    listing = replies[-1].text or ""
    assert "Riga <spring> 2027" in listing
    links = dict(re.findall(r"(Mentees|Mentors): (https://t\.me/\S+)", listing))
    assert set(links) == {"Mentees", "Mentors"}
    codes = {role: link.split("start=")[1] for role, link in links.items()}
    return coordinator, codes


async def intake_mentee(who: Person, bot: Running, code: str, show_name: bool) -> None:
    t = translator(bot, "en")
    replies = await who.write(f"/start {code}")
    assert any("Riga <spring> 2027" in (m.text or "") for m in replies)
    await who.write("Nurse, I like hiking")
    await who.write("Slowly, after talking it over")
    await who.press(t("Building experience"))
    await who.write("Find out what a team lead does")
    for topic in ("Career change", "Leadership"):
        await who.press("▫️ " + t(topic))
    await who.press(t("Done"))
    await who.press("▫️ " + t("Latvian"))
    await who.press(t("Done"))
    await who.press("Riga")
    await who.press("▫️ " + t("Weekday evenings"))
    await who.press(t("Done"))
    await who.press("▫️ " + t("Video call"))
    await who.press(t("Done"))
    await who.press("▫️ " + t("A woman"))
    await who.press(t("Done"))
    await who.press(t("A must"))
    await who.press(t("Yes") if show_name else t("No"))


async def intake_mentor(who: Person, bot: Running, code: str) -> None:
    t = translator(bot, "en")
    await who.write(f"/start {code}")
    for topic in ("Leadership", "Career change"):
        await who.press("▫️ " + t(topic))
    await who.press(t("Done"))
    await who.write("15")
    await who.write("I lead a hospital ward team")
    await who.press("▫️ " + t("Latvian"))
    await who.press(t("Done"))
    await who.write("Europe/Riga")
    await who.press("▫️ " + t("Weekday evenings"))
    await who.press(t("Done"))
    await who.press("▫️ " + t("Video call"))
    await who.press(t("Done"))
    await who.press("2")
    await who.press(t("Woman"))


async def wait_text(standin: BotAPIStandin, user: SimUser, contains: str) -> BotMessage:
    return await standin.wait_for_message(user, contains=contains, timeout=10)


@pytest.mark.postgres  # The programme's queries, from invites to a conversation.
async def test_a_cohort_from_invites_to_a_conversation(
    standin: BotAPIStandin, bot: Running
) -> None:
    coordinator, codes = await create_cohort(standin, bot)
    for code in codes.values():
        assert len(code) >= 16  # at least 96 random bits
    anna = person(standin, standin.user(801, "Anna", "en"), bot)
    rita = person(standin, standin.user(802, "Rita", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=False)
    await intake_mentor(rita, bot, codes["Mentors"])
    async with bot.app.sessions() as db:
        profiles = {p.person_id: p for p in (await db.execute(select(Profile))).scalars()}
        statuses = set((await db.execute(select(Membership.status))).scalars())
    assert profiles[801].data["topics"] == ["career_change", "leadership"]
    assert profiles[801].data["preferences"] == [{"wish": "woman", "required": True}]
    assert profiles[802].data["capacity"] == 2 and profiles[802].data["gender"] == "woman"
    assert statuses == {"active"}

    await coordinator.write("/match")
    (proposal,) = await coordinator.press("Riga <spring> 2027")
    assert "Anna → Rita" in (proposal.text or "")
    assert "expertise covers Career change, Leadership" in (proposal.text or "")
    await coordinator.press(translator(bot, "en")("✅ Approve all"))
    intro = await wait_text(standin, rita.user, "You have a new mentee")
    # Anna chose not to show her name: her mentor sees a pseudonym.
    assert "Anna" not in (intro.text or "") and "Nurse, I like hiking" in (intro.text or "")
    assert "Stage of development: Building experience" in (intro.text or "")
    await wait_text(standin, anna.user, "You have a mentor: Rita")

    await anna.write("Hello! When can we talk? <3")
    relayed = await wait_text(standin, rita.user, "When can we talk? <3")
    assert "Anna" not in (relayed.text or "")
    await rita.write("Tomorrow at 18:00?")
    await wait_text(standin, anna.user, "Tomorrow at 18:00?")
    await anna.send_photo()
    await standin.wait_for(
        lambda: any(m.media.get("photo") for m in standin.messages(rita.user)),
        10,
        "the photo to be relayed",
    )


async def test_invite_codes_that_do_not_work_say_why(standin: BotAPIStandin, bot: Running) -> None:
    _coordinator, codes = await create_cohort(standin, bot)
    t = translator(bot, "en")
    newcomer = person(standin, standin.user(811, "Uldis", "en"), bot)
    (reply,) = await newcomer.write("/start notARealCode123")
    assert reply.text == t(
        "This invite link is not valid. Please ask your programme coordinator for a new one."
    )
    async with bot.app.sessions() as db:
        invite = await db.get(Invite, codes["Mentees"])
        assert invite is not None
        invite.max_uses = 0
        mentor_invite = await db.get(Invite, codes["Mentors"])
        assert mentor_invite is not None
        mentor_invite.expires_at = bot.app.polling.clock.now() - timedelta(minutes=1)
        await db.commit()
    (reply,) = await newcomer.write(f"/start {codes['Mentees']}")
    assert "used as many times" in (reply.text or "")
    (reply,) = await newcomer.write(f"/start {codes['Mentors']}")
    assert "expired" in (reply.text or "")
    async with bot.app.sessions() as db:
        assert (await db.execute(select(Membership))).first() is None


async def test_coordinator_commands_are_refused_to_others(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    mentee = person(standin, standin.user(821, "Ivo", "en"), bot)
    for command in ("/cohort_new", "/cohorts", "/match"):
        (reply,) = await mentee.write(command)
        assert reply.text == t("This command is for programme coordinators.")
    (reply,) = await mentee.write("/mentees")
    assert reply.text == t("This command is for mentors.")


async def test_a_message_to_someone_who_blocked_the_bot_is_not_lost_silently(
    standin: BotAPIStandin, bot: Running
) -> None:
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(831, "Anna", "en"), bot)
    rita = person(standin, standin.user(832, "Rita", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await intake_mentor(rita, bot, codes["Mentors"])
    await coordinator.write("/match")
    await coordinator.press("Riga <spring> 2027")
    await coordinator.press(translator(bot, "en")("✅ Approve all"))
    await wait_text(standin, anna.user, "You have a mentor")
    standin.block(rita.user)
    await rita.settle()
    await anna.write("Are you there?")
    await wait_text(standin, anna.user, "could not be delivered")
    alert = await wait_text(standin, coordinator.user, "could not be delivered to Rita")
    assert "Anna" in (alert.text or "")
    async with bot.app.sessions() as db:
        pair = (await db.execute(select(Pair))).scalar_one()
    assert pair.status == "active"


async def matched_pair(
    standin: BotAPIStandin, bot: Running, show_name: bool = True
) -> tuple[Person, Person, Person]:
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(841, "Anna", "en"), bot)
    rita = person(standin, standin.user(842, "Rita", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=show_name)
    await intake_mentor(rita, bot, codes["Mentors"])
    await coordinator.write("/match")
    await coordinator.press("Riga <spring> 2027")
    await coordinator.press(translator(bot, "en")("✅ Approve all"))
    await wait_text(standin, anna.user, "You have a mentor")
    await wait_text(standin, rita.user, "You have a new mentee")
    return coordinator, anna, rita


async def test_a_summary_reaches_the_mentor_only_when_the_mentee_agrees(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)

    async def dilts(situation: str) -> None:
        await anna.write("/dilts")
        await anna.write(situation)
        await anna.press(t("Behaviour: what I do"))
        # Six levels up, then down from Capabilities (a level above Behaviour): three.
        for n in range(9):
            await anna.write(f"answer {n}")
        await anna.press(t("Skip"))

    await dilts("First private situation")
    assert anna.last().text == t("Send this summary to your mentor?")
    await anna.press(t("No, keep it to myself"))
    await dilts("Second situation to share")
    await anna.press(t("Yes, send it"))
    shared = await wait_text(standin, rita.user, "shared a summary with you")
    assert "Second situation to share" in (shared.text or "")
    assert not any("First private situation" in (m.text or "") for m in rita.sent())
    await anna.write("/share")
    await anna.press(t("Never share"))
    await dilts("Third, never shared")
    assert anna.last().text != t("Send this summary to your mentor?")
    await rita.settle()
    assert not any("Third, never shared" in (m.text or "") for m in rita.sent())


async def test_ending_the_mentoring_asks_both_sides_to_look_back(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/end")
    await anna.write("We reached the goal")
    await anna.write("Weekly calls")
    await anna.press("5")
    await anna.press(t("Yes"))
    await wait_text(standin, rita.user, "ended by the other side")
    ended = await wait_text(standin, coordinator.user, "was ended by Anna")
    assert "We reached the goal" in (ended.text or "") and "5/5" in (ended.text or "")
    await rita.write("/feedback")
    await rita.write("Clear goals")
    await rita.press("4")
    await rita.press(t("No"))
    await wait_text(standin, coordinator.user, "Rita looks back on pair")
    async with bot.app.sessions() as db:
        pair = (await db.execute(select(Pair))).scalar_one()
    assert pair.status == "ended" and set(pair.feedback) == {"841", "842"}
    (reply,) = await anna.write("Still there?")
    assert reply.text == t(
        "I am not asking you anything right now. Start with /grow, /wheel or /dilts, or see /help."
    )


async def test_a_report_reaches_the_coordinator_who_can_pause_the_pair(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/report")
    await anna.write("My mentor does not answer")
    await wait_text(standin, coordinator.user, "My mentor does not answer")
    (listing,) = await coordinator.write("/pairs")
    pair = re.search(r"#(\d+) · Anna → Rita · active", listing.text or "")
    assert pair is not None
    await coordinator.press(t("⏸ Pause #{pair}").format(pair=pair.group(1)), listing)
    await wait_text(standin, rita.user, "paused by the programme coordinator")
    await wait_text(standin, anna.user, "paused by the programme coordinator")
    (reply,) = await anna.write("Hello?")
    assert "paused" in (reply.text or "")
    await coordinator.write("/pairs")
    await coordinator.press(t("▶️ Resume #{pair}").format(pair=pair.group(1)))
    await wait_text(standin, anna.user, "resumed")
    await anna.write("Hello again")
    await wait_text(standin, rita.user, "Hello again")


async def test_a_mentor_can_stop_taking_new_mentees(standin: BotAPIStandin, bot: Running) -> None:
    coordinator, codes = await create_cohort(standin, bot)
    rita = person(standin, standin.user(851, "Rita", "en"), bot)
    await intake_mentor(rita, bot, codes["Mentors"])
    (reply,) = await rita.write("/pause_mentoring")
    assert "not taking new mentees" in (reply.text or "")
    anna = person(standin, standin.user(852, "Anna", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await coordinator.write("/match")
    (proposal,) = await coordinator.press("Riga <spring> 2027")
    assert "Anna → Rita" not in (proposal.text or "")
    assert "capacity" in (proposal.text or "")


async def test_in_a_mentee_chooses_cohort_the_mentee_asks_and_the_mentor_answers(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    _coordinator, codes = await create_cohort(standin, bot, "Mentees choose from suggestions")
    rita = person(standin, standin.user(861, "Rita", "en"), bot)
    ilga = person(standin, standin.user(862, "Ilga", "en"), bot)
    await intake_mentor(rita, bot, codes["Mentors"])
    await intake_mentor(ilga, bot, codes["Mentors"])
    anna = person(standin, standin.user(863, "Anna", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    offer = anna.last()
    assert "Rita" in (offer.text or "") and "Ilga" in (offer.text or "")
    await anna.press("Ask Rita")
    request = await wait_text(standin, rita.user, "would like you as their mentor")
    assert "Nurse, I like hiking" in (request.text or "")
    assert "Stage of development: Building experience" in (request.text or "")
    await rita.press(t("Decline"), message=request)
    await wait_text(standin, anna.user, "cannot take you on")
    (again,) = await anna.write("/mentors")
    assert "Rita" not in (again.text or "") and "Ilga" in (again.text or "")
    await anna.press("Ask Ilga")
    await wait_text(standin, ilga.user, "would like you as their mentor")
    clock.moment += timedelta(hours=73)
    async with bot.app.sessions() as db:
        assert await bot.app.programme.matching.expire_requests(db) == 1
        await db.commit()
    bot.app.outbox.wake()
    await wait_text(standin, anna.user, "did not answer in time")
    async with bot.app.sessions() as db:
        statuses = sorted((await db.execute(select(Pair.status))).scalars())
    assert statuses == ["declined", "expired"]
    (none_left,) = await anna.write("/mentors")
    assert "no mentors to choose from" in (none_left.text or "")


async def test_a_mentor_accepts_a_request(standin: BotAPIStandin, bot: Running) -> None:
    t = translator(bot, "en")
    _coordinator, codes = await create_cohort(standin, bot, "Mentees choose from suggestions")
    rita = person(standin, standin.user(871, "Rita", "en"), bot)
    await intake_mentor(rita, bot, codes["Mentors"])
    anna = person(standin, standin.user(872, "Anna", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await anna.press("Ask Rita")
    request = await wait_text(standin, rita.user, "would like you as their mentor")
    await rita.press(t("✅ Accept"), message=request)
    await wait_text(standin, anna.user, "You have a mentor: Rita")
    await anna.write("Thank you!")
    await wait_text(standin, rita.user, "Thank you!")


async def test_the_coordinator_approves_one_pair_and_reassigns_it(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, codes = await create_cohort(standin, bot)
    anna = person(standin, standin.user(881, "Anna", "en"), bot)
    rita = person(standin, standin.user(882, "Rita", "en"), bot)
    ilga = person(standin, standin.user(883, "Ilga", "en"), bot)
    await intake_mentee(anna, bot, codes["Mentees"], show_name=True)
    await intake_mentor(rita, bot, codes["Mentors"])
    await coordinator.write("/match")
    (proposal,) = await coordinator.press("Riga <spring> 2027")
    pair_id = re.search(r"#(\d+) · Anna → Rita", proposal.text or "")
    assert pair_id is not None
    await coordinator.press(f"✅ #{pair_id.group(1)}")
    await wait_text(standin, anna.user, "You have a mentor: Rita")
    await intake_mentor(ilga, bot, codes["Mentors"])
    await coordinator.write("/pairs")
    await coordinator.press(t("🔁 Reassign #{pair}").format(pair=pair_id.group(1)))
    await wait_text(standin, anna.user, "ended by the programme coordinator")
    await coordinator.write("/match")
    (again,) = await coordinator.press("Riga <spring> 2027")
    assert "Anna → Ilga" in (again.text or "")


async def test_cohort_settings_change_how_matching_works(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, _codes = await create_cohort(standin, bot)
    await coordinator.write("/cohort_settings")
    (view,) = await coordinator.press("Riga <spring> 2027")
    assert t("as many matched as possible first") in coordinator.labels(view)[0]
    await coordinator.press(coordinator.labels(view)[0])
    assert t("best scores first") in coordinator.labels(view)[0]
    hours = next(label for label in coordinator.labels(view) if "6 h" in label)
    await coordinator.press(hours)
    assert any("3 h" in label for label in coordinator.labels(view))
    async with bot.app.sessions() as db:
        cohort = (await db.execute(select(Cohort))).scalar_one()
    assert cohort.settings == {"matching_mode": "best_scores", "max_timezone_hours": 3}


async def test_an_invite_link_with_a_time_limit_and_a_number_of_uses(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, _codes = await create_cohort(standin, bot)
    await coordinator.write("/invite")
    await coordinator.press("Riga <spring> 2027")
    await coordinator.press(t("Mentees"))
    await coordinator.press(t("{days} d").format(days=7))
    (link,) = await coordinator.press("1")
    code = (link.text or "").split("start=")[1]
    first = person(standin, standin.user(891, "Una", "en"), bot)
    replies = await first.write(f"/start {code}")
    assert any("Welcome to" in (m.text or "") for m in replies)
    second = person(standin, standin.user(892, "Vera", "en"), bot)
    (used_up,) = await second.write(f"/start {code}")
    assert "used as many times" in (used_up.text or "")
    async with bot.app.sessions() as db:
        invite = await db.get(Invite, code)
    assert invite is not None and invite.expires_at == clock.moment + timedelta(days=7)


async def test_contacts_are_swapped_only_when_both_agree(
    standin: BotAPIStandin, bot: Running
) -> None:
    _coordinator, anna, rita = await matched_pair(standin, bot)
    (reply,) = await anna.write("/contact")
    assert "once the other side agrees" in (reply.text or "")
    await wait_text(standin, rita.user, "would like to swap contacts")
    assert not any("agreed to swap" in (m.text or "") for m in anna.sent())
    await rita.write("/contact")
    to_anna = await wait_text(standin, anna.user, "agreed to swap contacts")
    to_rita = await wait_text(standin, rita.user, "agreed to swap contacts")
    assert any(e.get("url") == "tg://user?id=842" for e in to_anna.entities)
    assert any(e.get("url") == "tg://user?id=841" for e in to_rita.entities)


async def test_a_coordinator_brings_in_another_coordinator(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, _codes = await create_cohort(standin, bot)
    await coordinator.write("/invite")
    await coordinator.press("Riga <spring> 2027")
    # A coordinator link is made at once: once, within 72 hours.
    (link,) = await coordinator.press(t("Coordinators"))
    helper = person(standin, standin.user(895, "Laura", "en"), bot)
    (refused,) = await helper.write("/cohorts")
    assert refused.text == t("This command is for programme coordinators.")
    await helper.write(f"/start {(link.text or '').split('start=')[1]}")
    (listing,) = await helper.write("/cohorts")
    assert "Riga <spring> 2027" in (listing.text or "")


async def test_a_mentor_sees_when_each_mentee_last_wrote(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    (before,) = await rita.write("/mentees")
    assert rita.labels(before) == [f"Anna · {t('no messages yet')}"]
    await anna.write("Hello")
    await wait_text(standin, rita.user, "Hello")
    (after,) = await rita.write("/mentees")
    assert rita.labels(after) == ["Anna · November 25, 2026"]


async def test_a_mentor_is_nudged_while_a_mentee_waits(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("Could we meet this week?")
    await wait_text(standin, rita.user, "Could we meet this week?")
    await anna.write("Any day works")
    clock.moment += timedelta(hours=49)
    bot.app.outbox.wake()
    nudge = await wait_text(standin, rita.user, "waiting for your answer")
    assert "48 h" in (nudge.text or "")
    assert len([m for m in rita.sent() if "waiting for your answer" in (m.text or "")]) == 1
    await rita.write("Sorry! Thursday?")
    await wait_text(standin, anna.user, "Thursday?")
    clock.moment += timedelta(hours=60)
    bot.app.outbox.wake()
    await rita.settle()
    async with bot.app.sessions() as db:
        pending = (
            (await db.execute(select(Outgoing).where(Outgoing.status == "pending"))).scalars().all()
        )
    assert pending == []
    assert len([m for m in rita.sent() if "waiting for your answer" in (m.text or "")]) == 1
    assert not any("has waited" in (m.text or "") for m in coordinator.sent())


async def test_the_coordinator_hears_when_a_mentee_waits_96_hours(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("Hello?")
    clock.moment += timedelta(hours=49)
    bot.app.outbox.wake()
    first = await wait_text(standin, rita.user, "48 h ago")
    assert "Anna" in (first.text or "")
    clock.moment += timedelta(hours=48)
    bot.app.outbox.wake()
    alert = await wait_text(standin, coordinator.user, "has waited 96 h")
    assert "Anna" in (alert.text or "") and "Rita" in (alert.text or "")
    await wait_text(standin, rita.user, "96 h ago")
    nudges = [m for m in rita.sent() if "waiting for your answer" in (m.text or "")]
    assert len(nudges) == 2


async def test_a_check_in_logs_contact_and_a_low_mood_twice_reaches_the_coordinator(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)

    async def check_in(mood: str, note: str) -> None:
        await anna.write("/checkin")
        await anna.press(mood)
        await anna.press(t("Yes"))
        await anna.write(note)

    await anna.write("/checkin")
    await anna.press(t("Yes, I agree"))
    await check_in("2", "Tired this week")
    async with bot.app.sessions() as db:
        pair = (await db.execute(select(Pair))).scalar_one()
    assert pair.last_contact_at is not None
    assert anna.last().text == t("Send this summary to your mentor?")
    await anna.press(t("Yes, send it"))
    shared = await wait_text(standin, rita.user, "Tired this week")
    assert "shared a summary" in (shared.text or "")
    await coordinator.settle()
    assert not any("twice in a row" in (m.text or "") for m in coordinator.sent())
    await check_in("1", "Still tired")
    alert = await wait_text(standin, coordinator.user, "twice in a row")
    assert "Anna" in (alert.text or "")


@pytest.mark.postgres  # Dates compared in SQL.
async def test_coordinators_hear_of_a_pair_without_contact_for_three_weeks(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    coordinator, anna, rita = await matched_pair(standin, bot)

    async def sweep() -> int:
        async with bot.app.sessions() as db:
            told = await bot.app.programme.pairs.alert_quiet_pairs(db)
            await db.commit()
        bot.app.outbox.wake()
        return told

    assert await sweep() == 0
    clock.moment += timedelta(days=22)
    assert await sweep() == 1
    alert = await wait_text(standin, coordinator.user, "no contact for 22 days")
    assert "Anna and Rita" in (alert.text or "")
    assert await sweep() == 0  # told once for this stretch
    await rita.write("Sorry for the silence! Shall we talk?")
    await wait_text(standin, anna.user, "Shall we talk?")
    clock.moment += timedelta(days=10)
    assert await sweep() == 0
    clock.moment += timedelta(days=12)
    assert await sweep() == 1

"""Consent for the mood and the Wheel's ratings, as a mentee meets it: asked once before the
first check-in (and a mentee's first Wheel), withdrawn and given again in /settings, and
what is not consented to is neither asked nor told to the mentor or the coordinators."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.domain.consent import QUESTIONS, ConsentKind
from bot.domain.texts import Msg
from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage import consents as consent_store
from bot.storage.models import Answer, DialogSession
from tests.e2e.conftest import Running
from tests.e2e.people import Person
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, person, wait_text

# The consents' queries run in the check-in's finisher and the summaries: on both databases.
pytestmark = pytest.mark.postgres


def messages_since(who: Person, before: int) -> list[BotMessage]:
    return who.sent()[before:]


async def checkin_answers(bot: Running, person_id: int) -> list[dict[str, object]]:
    """The answers of each finished check-in of the person, oldest first."""
    async with bot.app.sessions() as db:
        records = await db.scalars(
            select(DialogSession)
            .where(
                DialogSession.person_id == person_id,
                DialogSession.dialog_id == "checkin",
                DialogSession.status == "finished",
            )
            .order_by(DialogSession.id)
        )
        found = []
        for record in records:
            answers = await db.execute(
                select(Answer.key, Answer.value).where(Answer.session_id == record.id)
            )
            found.append({key: value for key, value in answers.tuples()})
        return found


async def test_withdrawn_consent_no_mood_question_and_no_low_mood_alert(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/share")
    await anna.press(t("Always share"))

    # The first check-in asks for the consent first, in plain words.
    (question,) = await anna.write("/checkin")
    assert question.text is not None and "a question about your mood" in question.text
    assert anna.labels(question) == [t("Yes, I agree"), t("No, leave the mood out")]
    started = await anna.press(t("Yes, I agree"), message=question)
    assert t("How are things, from 1 (very bad) to 5 (very good)?") in (started[-1].text or "")
    await anna.press("1")
    await anna.press(t("Yes"))
    await anna.write("A rough week")
    shared = await wait_text(standin, rita.user, "A rough week")
    assert t("How things are") in (shared.text or "")

    # Withdrawn in /settings.
    (view,) = await anna.write("/settings")
    assert t("Mood in check-ins: {state}").format(state=t("asked, and shared as you agreed")) in (
        view.text or ""
    )
    replies = await anna.press(t("🔒 Withdraw the mood consent"), message=view)
    assert t("Mood in check-ins: {state}").format(state=t("not asked")) in (replies[-1].text or "")

    # The next check-in has no mood question and asks nothing about consent again.
    before = len(rita.sent())
    started = await anna.write("/checkin")
    assert not any("a question about your mood" in (m.text or "") for m in started)
    assert t("Have you talked with your mentor since the last check-in?") in (
        started[-1].text or ""
    )
    assert "1" not in anna.labels(started[-1])
    await anna.press(t("No"))
    await anna.write("Still rough")
    second = await wait_text(standin, rita.user, "Still rough")
    assert t("How things are") not in (second.text or "")
    assert all(t("How things are") not in (m.text or "") for m in messages_since(rita, before))
    await coordinator.settle()
    assert not any("twice in a row" in (m.text or "") for m in coordinator.sent())
    assert [("mood" in answers) for answers in await checkin_answers(bot, anna.user.id)] == [
        True,
        False,
    ]

    # Given again: the mood is asked, and a second low one in a row is told.
    (view,) = await anna.write("/settings")
    await anna.press(t("✅ Agree to the mood question"), message=view)
    started = await anna.write("/checkin")
    assert t("How are things, from 1 (very bad) to 5 (very good)?") in (started[-1].text or "")
    await anna.press("2")
    await anna.press(t("No"))
    await anna.press(t("Skip"))
    alert = await wait_text(standin, coordinator.user, "twice in a row")
    assert "Anna" in (alert.text or "")

    # The history is in the person's export, each decision with its time.
    (document,) = await anna.write("/mydata")
    exported = json.loads(document.document or b"{}")
    moment = bot.clock.now().isoformat()
    assert exported["consents"] == [
        {"kind": "mood", "given": True, "at": moment},
        {"kind": "mood", "given": False, "at": moment},
        {"kind": "mood", "given": True, "at": moment},
    ]


async def test_declined_at_the_first_question_the_check_in_goes_on_and_it_is_asked_once(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "lv")
    ben = person(standin, standin.user(870, "Ben", "lv"), bot)
    (question,) = await ben.write("/checkin")
    assert question.text == bot.app.dispatcher["renderer"].plain(
        Msg(QUESTIONS[ConsentKind.MOOD]), "lv"
    )
    agree = data_of(question, t("Yes, I agree"))
    started = await ben.press(t("No, leave the mood out"), message=question)
    assert t("Have you talked with your mentor since the last check-in?") in (
        started[-1].text or ""
    )
    # Answered once: its buttons are gone, and an old copy pressed changes nothing.
    assert question.buttons == []
    assert await ben.act(lambda: standin.press_data(ben.user, agree, question)) == []
    assert ben.alerts()[-1] == t("You have answered this already; /settings lets you change it.")
    await ben.write("/cancel")
    (welcome, resumed) = await ben.write("/checkin")
    assert t("Have you talked with your mentor since the last check-in?") in (resumed.text or "")
    (view,) = await ben.write("/settings")
    assert t("Mood in check-ins: {state}").format(state=t("not asked")) in (view.text or "")
    async with bot.app.sessions() as db:
        assert await consent_store.decisions(db, ben.user.id) == {ConsentKind.MOOD: False}


def data_of(message: BotMessage, label: str) -> str:
    data = next(d for row in message.buttons for text, d in row if text == label)
    assert data is not None
    return data


async def test_a_mentee_who_keeps_the_wheel_ratings_shares_a_summary_without_them(
    standin: BotAPIStandin, bot: Running
) -> None:
    t = translator(bot, "en")
    _coordinator, anna, rita = await matched_pair(standin, bot)
    await anna.write("/share")
    await anna.press(t("Always share"))

    async def wheel(answer: str, action: str) -> BotMessage:
        replies = await anna.write("/wheel")
        if answer:
            assert "Your Wheel of Life ratings" in (replies[-1].text or "")
            await anna.press(answer, message=replies[-1])
        for rating in (7, 5, 8, 4, 6, 7, 3, 6):
            await anna.press(str(rating))
        await anna.press(t("Done"))
        for n in range(3):
            await anna.write(f"{action} {n}")
            await anna.press(t("In a week"))
        await anna.press(t("Skip"))
        return await wait_text(standin, rita.user, action)

    kept = await wheel(t("No, keep them to myself"), "Call friends")
    assert t("Health") not in (kept.text or "") and t("Significant other") in (kept.text or "")
    assert t("Finances") in (kept.text or "")  # an area to improve, without its rating
    assert "Finances: 4" not in (kept.text or "")
    (view,) = await anna.write("/settings")
    await anna.press(t("✅ Let my Wheel ratings be shared"), message=view)
    shared = await wheel("", "Save money")
    assert f"{t('Health')}: 6" in (shared.text or "")

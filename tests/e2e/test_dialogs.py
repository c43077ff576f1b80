"""A mentee works through the coaching dialogs with the real bot, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.domain.texts import Msg
from bot.storage.models import Answer, Commitment, DialogSession
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import Running
from tests.e2e.people import Person
from tests.e2e.standin import BotAPIStandin, SimUser


def mentee(standin: BotAPIStandin, user: SimUser, bot: Running) -> Person:
    return Person(standin, user, bot)


def translator(bot: Running, locale: str) -> Callable[[str], str]:
    renderer = bot.app.dispatcher["renderer"]
    return lambda message: renderer.plain(Msg(message), locale)


async def count(bot: Running, model: type, **where: object) -> int:
    async with bot.app.sessions() as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await db.scalar(query) or 0)


async def test_start_greets_in_the_persons_language_with_a_menu(
    standin: BotAPIStandin, bot: Running, anna: SimUser, ben: SimUser
) -> None:
    t_lv, t_en = translator(bot, "lv"), translator(bot, "en")
    (greeting,) = await mentee(standin, anna, bot).write("/start")
    assert greeting.text is not None and greeting.text.startswith("Sveiki, Anna!")
    assert t_lv("☸️ Wheel of Life") in [b for row in greeting.buttons for b, _ in row]
    (english,) = await mentee(standin, ben, bot).write("/start")
    # The name is the person's own text: shown as written, markup characters included.
    assert english.text is not None and english.text.startswith("Hello, Ben <&>!")
    assert t_en("☸️ Wheel of Life") != t_lv("☸️ Wheel of Life")
    other = standin.user(503, "Chen", "zh-hans")
    (fallback,) = await mentee(standin, other, bot).write("/start")
    assert fallback.text is not None and fallback.text.startswith("Hello, Chen!")
    commands = standin.commands
    assert {"", "lv"} <= set(commands)
    assert [name for name, _ in commands[""]] == [name for name, _ in commands["lv"]]
    assert commands[""] != commands["lv"]


GROW_TRANSCRIPT: list[tuple[str, str]] = [
    ("write", "/grow"),
    ("write", "Run 10 km in under an hour <b>this</b> spring & summer"),
    ("press", "Health"),
    ("press", "In a month"),
    ("write", "My race result says 59:59"),
    ("write", "More energy"),
    ("press", "Skip"),
    ("write", "I run 5 km twice a week"),
    ("write", "Bought running shoes"),
    ("write", "Too little time"),
    ("press", "Internal (in me)"),
    ("write", "Dark winter evenings"),
    ("press", "External (around me)"),
    ("press", "No"),
    ("write", "Join a running club"),
    ("write", "Company, a coach"),
    ("write", "Membership costs"),
    ("write", "Follow an app plan"),
    ("write", "Free, flexible"),
    ("write", "Easy to skip"),
    ("write", "Run to work"),
    ("write", "No extra time"),
    ("write", "Needs a shower at work"),
    ("press", "Join a running club"),
    ("write", "Sign up at the club"),
    ("write", "01.12.2026"),
    ("write", "Send my mentor the receipt"),
    ("write", "Run with the club twice"),
    ("press", "In two weeks"),
    ("press", "Skip"),
    ("write", "Time a 10 km run"),
    ("write", "2027-01-15"),
    ("write", "Share the result"),
    ("press", "No"),
]
PERSONS_OWN = {"Join a running club"}


@pytest.mark.parametrize("language", ["en", "lv"])
async def test_a_mentee_completes_grow(standin: BotAPIStandin, bot: Running, language: str) -> None:
    user = standin.user(600, "Ilze", language)
    person = mentee(standin, user, bot)
    t = translator(bot, language)
    for step, (kind, value) in enumerate(GROW_TRANSCRIPT):
        if kind == "write":
            replies = await person.write(value)
        else:
            replies = await person.press(value if value in PERSONS_OWN else t(value))
        assert replies, f"no reply at step {step}: {kind} {value!r}"
    texts = "\n".join(m.text or "" for m in person.sent())
    summary = next(
        m.text or ""
        for m in person.sent()
        if t("W · Will") in (m.text or "") and t("G · Goal") in (m.text or "")
    )
    assert summary.startswith(t("GROW session"))
    # The person's words come back exactly as written, markup characters included.
    assert "Run 10 km in under an hour <b>this</b> spring & summer" in summary
    for heading in ("G · Goal", "R · Reality", "O · Options", "W · Will"):
        assert t(heading) in summary
    assert (
        t("Well done. Your actions are saved as commitments; I will follow them up with you.")
        in texts
    )
    async with bot.app.sessions() as db:
        commitments = (
            await db.execute(select(Commitment.text, Commitment.due_on).order_by(Commitment.due_on))
        ).all()
    assert [c.text for c in commitments] == [
        "Sign up at the club",
        "Run with the club twice",
        "Time a 10 km run",
    ]
    assert str(commitments[0].due_on) == "2026-12-01"


@pytest.mark.parametrize("language", ["lv", "en"])
async def test_the_wheel_draws_a_chart_and_compares_with_last_time(
    standin: BotAPIStandin, bot: Running, language: str
) -> None:
    person = mentee(standin, standin.user(610, "Anna", language), bot)
    t = translator(bot, language)

    async def rate(ratings: list[int]) -> None:
        await person.write("/wheel")
        for rating in ratings:
            replies = await person.press(str(rating))
        photo = next(m for m in replies if m.photo is not None)
        assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
        # The three weakest areas are already ticked.
        ticked = [label for label in person.labels() if label.startswith("✅")]
        assert len(ticked) == 3
        await person.press(ticked[0])
        await person.press(t("Done"))
        await person.write("Zvanīt draugiem svētdienās")
        await person.press(t("In a week"))
        await person.write("Ietaupīt 50 eiro mēnesī")
        await person.press(t("In a month"))
        await person.press(t("Skip"))

    await rate([7, 5, 8, 4, 6, 7, 3, 6])
    first_chart = next(m for m in person.sent() if m.photo)
    assert first_chart.caption == t("Your wheel today.")
    await rate([8, 6, 8, 5, 6, 7, 5, 6])
    charts = [m for m in person.sent() if m.photo]
    assert len(charts) == 2 and charts[1].photo != charts[0].photo
    renderer = bot.app.dispatcher["renderer"]
    rated = renderer.value(date(2026, 11, 25), language)
    assert charts[1].caption == t(
        "Your wheel today. The dashed line is your rating of {date}."
    ).format(date=rated)
    assert await count(bot, Commitment) == 4
    assert await count(bot, DialogSession, status="finished") == 2

    (listing,) = await person.write("/history")
    assert len(listing.buttons) == 3
    (summary,) = await person.press(listing.buttons[0][0][0])
    assert "Ietaupīt 50 eiro mēnesī" in (summary.text or "")
    assert t("Finances") in (summary.text or "")
    replies = await person.press(t("📈 My wheel over time"))
    assert replies[-1].photo is not None


@pytest.mark.parametrize("language", ["lv", "en"])
async def test_dilts_goes_up_and_back_down(
    standin: BotAPIStandin, bot: Running, language: str
) -> None:
    person = mentee(standin, standin.user(620, "Pēteris", language), bot)
    t = translator(bot, language)
    await person.write("/dilts")
    await person.write("I want to leave my full-time job")
    await person.press(t("Identity: who I am"))
    for n in range(11):
        await person.write(f"level answer {n}")
    replies = await person.press(t("Skip"))
    summary = replies[0].text or ""
    assert summary.index(t("Up the pyramid")) < summary.index(t("Back down from the top"))
    assert "level answer 10" in summary
    assert await count(bot, Answer) == 14


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    t = translator(bot, "en")
    await person.write("/wheel")
    question = person.last()
    for act in (
        person.write("0"),
        person.write("11"),
        person.write("seven"),
        person.send_sticker(),
        person.send_photo(),
        person.send_voice(),
    ):
        (reply,) = await act
        assert reply.text and reply.reply_markup is None
    assert await count(bot, Answer) == 0
    await person.press("7")
    assert (question.text or "").endswith("→ 7")
    for _ in range(7):
        await person.press("4")
    # A multiple choice wants buttons, not text.
    (reply,) = await person.write("Career")
    assert reply.text == t("Please use the buttons under the question.")
    await person.press(t("Done"))
    # Free text: empty, too long; a date in the past and one that cannot be read.
    (reply,) = await person.write("x" * 5000)
    assert "5000" in (reply.text or "")
    await person.write("Walk every day")
    for bad in ("24.11.2026", "31.02.2027", "next week"):
        (reply,) = await person.write(bad)
        assert reply.text and reply.reply_markup is None
    assert await count(bot, Answer) == 10


async def test_a_stale_button_says_so_and_changes_nothing(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    t = translator(bot, "en")
    await person.write("/wheel")
    first = person.last()
    await person.write("6")  # typed, so the buttons stay on the old question
    replies = await person.act(lambda: standin.press(ben, "9", message=first))
    assert replies == []
    assert person.alerts()[-1] == t(
        "This question has already been answered. Please use the newest message."
    )
    async with bot.app.sessions() as db:
        values = (await db.execute(select(Answer.key, Answer.value))).all()
    assert values == [("family", 6)]
    await person.write("/cancel")
    await person.act(lambda: standin.press(ben, "3"))
    assert person.alerts()[-1] == t("This session is paused. Send /continue to pick it up.")
    replies = await person.write("/continue")
    assert replies[-1].buttons and await count(bot, Answer) == 1
    await person.press("3")
    assert await count(bot, Answer) == 2


async def test_back_changes_the_previous_answer(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    t = translator(bot, "en")
    await person.write("/grow")
    await person.write("First goal")
    await person.press(t("⬅ Back"))
    assert "First goal" in (person.last().text or "")
    await person.write("Better goal")
    async with bot.app.sessions() as db:
        values = dict((await db.execute(select(Answer.key, Answer.value))).all())
    assert values == {"goal": "Better goal"}


async def test_language_is_switched_and_remembered(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    await person.write("/language")
    await person.press("Latviešu")
    (reply,) = await person.write("/help")
    assert reply.text is not None
    assert reply.text.startswith("Ko es protu")
    async with bot.app.sessions() as db:
        row = await db.get(PersonRow, ben.id)
    assert row is not None and row.language == "lv"


@pytest.mark.postgres  # Deleting a person cascades through the database.
async def test_privacy_own_data_and_deletion(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    t = translator(bot, "en")
    privacy = "\n".join(m.text or "" for m in await person.write("/privacy"))
    for part in ("What I store", "Who sees what", "How long", "/mydata", "/deleteme"):
        assert part in privacy
    await person.write("/dilts")
    await person.write("A private situation")
    (copy,) = await person.write("/mydata")
    assert copy.document is not None and b"A private situation" in copy.document
    await person.write("/deleteme")
    await person.press(t("No, keep it"))
    assert await count(bot, Answer) == 1
    await person.write("/deleteme")
    await person.press(t("Yes, delete everything"))
    assert await count(bot, Answer) == 0
    assert await count(bot, DialogSession) == 0
    assert await count(bot, PersonRow) == 0

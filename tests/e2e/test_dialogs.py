"""A mentee works through the coaching dialogs with the real bot, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.domain.texts import Msg
from bot.playground.botapi import BotAPIStandin, SimUser
from bot.storage.models import Answer, Commitment, DialogSession
from bot.storage.models import Person as PersonRow
from tests.e2e.conftest import Running
from tests.e2e.people import Person


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
    ("write", "Ask the club about a trial run"),
    ("write", "Sign up at the club"),
    ("write", "01.12.2026"),
    ("write", "Send my mentor the receipt"),
    ("write", "Run with the club twice"),
    ("press", "In two weeks"),
    ("write", "A screenshot of the club log"),
    ("write", "Time a 10 km run"),
    ("write", "2027-01-15"),
    ("write", "Share the result"),
    ("press", "No"),
    ("write", "I commit to running with the club every week"),
]
PERSONS_OWN = {"Join a running club"}


@pytest.mark.parametrize("language", ["en", "lv", "ru"])
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
    for label, words in (
        ("First step", "Ask the club about a trial run"),
        ("My commitment", "I commit to running with the club every week"),
        ("How I will report", "A screenshot of the club log"),
    ):
        assert f"{t(label)}: {words}" in summary
    # Each stage ends with a one-line recap in the person's words, and only then.
    recaps = [
        t("Your goal, in your words: “{goal}”. Now let's look at where you are.").format(
            goal="Run 10 km in under an hour <b>this</b> spring & summer"
        ),
        t("That is your starting point: “{reality}”. Next come your options.").format(
            reality="I run 5 km twice a week"
        ),
        t(
            "You chose “{chosen}”, and your first step could be “{first_step}”. "
            "Now let's make a plan."
        ).format(chosen="Join a running club", first_step="Ask the club about a trial run"),
    ]
    said = [m.text for m in person.sent() if m.text in recaps]
    assert said == recaps
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


# The kit's own Latvian sentences (module 3, part 2): its questions, its way of reporting
# on the actions, and the goal's SMART hint.
KIT_GROW_SENTENCES = (
    "Kāds ir jūsu mērķis?",
    "Mērķiem jābūt konkrētiem, izmērāmiem, sasniedzamiem, atbilstošiem un ierobežotiem laikā "
    "(SMART), kā arī iedvesmojošiem un izaicinošiem.",
    "Kāds varētu būt jūsu pirmais solis?",
    "Ko jūs darīsiet?",
    "Kā jūs ziņosiet par šīs darbības rezultātiem?",
    "Ko jūs apņematies darīt?",
)


async def test_grow_asks_the_kits_questions_in_its_latvian_words_one_at_a_time(
    standin: BotAPIStandin, bot: Running
) -> None:
    person = mentee(standin, standin.user(601, "Laima", "lv"), bot)
    t = translator(bot, "lv")
    intro, first = await person.write("/grow")
    # The first screen asks one thing: the goal (the SMART hint says how, not what else).
    assert first.text is not None and first.text.count("?") == 1
    assert "?" not in (intro.text or "")
    report_buttons = []
    for kind, value in GROW_TRANSCRIPT[1:]:
        if kind == "write":
            await person.write(value)
        else:
            await person.press(value if value in PERSONS_OWN else t(value))
        if "Kā jūs ziņosiet" in (person.last().text or ""):
            report_buttons.append(person.labels())
    asked = "\n".join(m.text or "" for m in person.sent())
    for sentence in KIT_GROW_SENTENCES:
        assert sentence in asked, sentence
    # Each action's way of reporting is asked, and cannot be skipped.
    assert len(report_buttons) == 3
    assert not any(t("Skip") in labels for labels in report_buttons)


WHEEL_READING = (
    "How to read it: a full life comes with a sense of inner balance and growth. A round "
    "wheel rolls smoothly: your areas are in balance. A dented wheel, some areas far below "
    "the others, makes a bumpy ride: those areas are the place to start. A flat wheel, low "
    "all round, is even but small: there is room to grow everywhere."
)


@pytest.mark.parametrize("language", ["lv", "en", "ru"])
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
    assert (first_chart.caption or "").startswith(t("Your wheel today.") + "\n\n")
    # The kit's reading of the wheel comes with it.
    assert t(WHEEL_READING) in (first_chart.caption or "")
    await rate([8, 6, 8, 5, 6, 7, 5, 6])
    charts = [m for m in person.sent() if m.photo]
    assert len(charts) == 2 and charts[1].photo != charts[0].photo
    renderer = bot.app.dispatcher["renderer"]
    rated = renderer.value(date(2026, 11, 25), language)
    compared = t("Your wheel today. The dashed line is your rating of {date}.").format(date=rated)
    assert (charts[1].caption or "").startswith(compared + "\n\n")
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
async def test_dilts_goes_up_and_back_down_from_a_level_above_the_problem(
    standin: BotAPIStandin, bot: Running, language: str
) -> None:
    person = mentee(standin, standin.user(620, "Pēteris", language), bot)
    t = translator(bot, language)
    await person.write("/dilts")
    await person.write("I want to leave my full-time job")
    replies = await person.press(t("Behaviour: what I do"))
    level = t("Behaviour: what I do")
    problem_level = t(
        "Problem level — {level}. A problem is rarely solved on its own level: on the way "
        "back down we start one level above it (at the top, for a problem of purpose)."
    ).format(level=level)
    assert [m.text for m in replies][0] == problem_level
    for n in range(5):
        await person.write(f"level answer {n}")
    replies = await person.write("level answer 5")
    # Past the top, the way down starts at Capabilities, the level above Behaviour.
    assert (replies[-1].text or "").startswith(t("Back down the pyramid"))
    assert t("<b>Capabilities.</b> Which capabilities will you use or develop to act on it?") in (
        replies[-1].text or ""
    )
    for n in range(6, 9):
        await person.write(f"level answer {n}")
    replies = await person.press(t("Skip"))
    summary = replies[0].text or ""
    assert summary.index(t("Up the pyramid")) < summary.index(t("Back down the pyramid"))
    assert f"{t('Problem level')}: {level}" in summary
    assert "level answer 8" in summary
    assert await count(bot, Answer) == 12


async def test_an_even_wheel_names_no_weakest_areas_and_three_is_the_most(
    standin: BotAPIStandin, bot: Running, ben: SimUser
) -> None:
    person = mentee(standin, ben, bot)
    t = translator(bot, "en")
    await person.write("/wheel")
    for _ in range(8):
        replies = await person.press("5")
    question = replies[-1]
    assert (question.text or "").startswith(t("Actions"))
    assert t(
        "Your wheel is even: every area has the same rating. Which 2 or 3 areas do you want "
        "to grow? Tap to choose, then press Done."
    ) in (question.text or "")
    assert "weakest" not in (question.text or "")
    assert not [label for label in person.labels() if label.startswith("✅")]
    for area in ("Family and friends", "Career", "Health"):
        await person.press("▫️ " + t(area))
    # A fourth is refused with a reply, and the three stay ticked.
    assert await person.press("▫️ " + t("Finances")) == []
    assert person.alerts()[-1] == t(
        "You can choose up to {high} here. Untick one to choose another."
    ).format(high=3)
    ticked = [label for label in person.labels() if label.startswith("✅")]
    assert ticked == ["✅ " + t(area) for area in ("Family and friends", "Career", "Health")]
    await person.press(t("Done"))
    async with bot.app.sessions() as db:
        focus = await db.scalar(select(Answer.value).where(Answer.key == "focus"))
    assert focus == ["family", "career", "health"]


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


async def test_a_russian_speaker_gets_russian_throughout(
    standin: BotAPIStandin, bot: Running
) -> None:
    olga = mentee(standin, standin.user(620, "Olga", "ru"), bot)
    (greeting,) = await olga.write("/start")
    assert (greeting.text or "").startswith("Здравствуйте, Olga! Я ваш помощник в менторстве.")
    assert "☸️ Колесо жизненного баланса" in olga.labels(greeting)
    await olga.write("/grow")
    assert "Какова ваша цель?" in (olga.last().text or "")
    await olga.write("Пробежать 10 км")
    assert "К какой сфере жизни относится эта цель?" in (olga.last().text or "")
    assert "Здоровье" in olga.labels()
    await olga.press("Здоровье")
    assert "К какому сроку вы её достигнете?" in (olga.last().text or "")
    (paused,) = await olga.write("/cancel")
    assert (paused.text or "").startswith("Приостановлено. Ваши ответы сохранены")
    (settings,) = await olga.write("/settings")
    assert (settings.text or "").startswith("Ваши настройки\nЧасовой пояс: ")
    assert "🌙 Изменить тихие часы" in olga.labels(settings)
    menu = dict(standin.commands["ru"])
    assert menu["grow"] == "Сессия GROW: цель, реальность, варианты, воля"
    assert menu["language"] == "Выбрать язык, на котором я с вами говорю"
    (choice,) = await olga.write("/language")
    assert choice.text == "Выберите язык:"
    assert olga.labels(choice) == ["English", "Latviešu", "Русский"]
    (done,) = await olga.press("Latviešu", choice)
    assert done.text == "Gatavs. Valoda: Latviešu."
    (done,) = await olga.write("/language")
    (done,) = await olga.press("Русский", done)
    assert done.text == "Готово. Язык: Русский."


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

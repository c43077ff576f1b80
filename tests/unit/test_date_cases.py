"""Every text with a date reads right: in Latvian the date takes the case its place needs."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po

from bot.domain.texts import Msg, Value
from bot.i18n import create_i18n
from bot.telegram.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
# Placeholders that hold a date in some texts; "{day} at {hour}:00" holds a weekday's name.
DATE_PLACEHOLDER = re.compile(r"\{(date|day)\}")
NOT_A_DATE = {"{day} at {hour}:00"}

MEETING = {"name": "Anna", "time": "18:30", "zone": "Europe/Riga"}

# Each text that takes a date, with its values, and how a Latvian reader expects it.
EXPECTED: list[tuple[str, dict[str, Value], str]] = [
    ("paused until {date}", {"date": date(2027, 3, 1)}, "pauzē līdz 2027. gada 1. martam"),
    ("Ends {date}", {"date": date(2027, 3, 31)}, "Beigas: 2027. gada 31. marts"),
    (
        "Moved to {date}. I will ask you about it then.",
        {"date": date(2026, 4, 15)},
        "Pārcelts uz 2026. gada 15. aprīli. Tad es jums par to pajautāšu.",
    ),
    ("Week of {day}", {"day": date(2026, 11, 30)}, "Nedēļa no 2026. gada 30. novembra"),
    (
        "Your wheel today. The dashed line is your rating of {date}.",
        {"date": date(2026, 1, 5)},
        "Jūsu Dzīves ritenis šodien. Raustītā līnija ir jūsu 2026. gada 5. janvāra vērtējums.",
    ),
    (
        "🗂 On {day} the data of the people of <b>{cohort}</b> will be deleted: their answers,"
        " profiles, pairs and messages in it. The cohort's statistics stay. If you need anything"
        " else, export it before then (/export).",
        {"day": date(2027, 6, 1), "cohort": "Rīga 2027"},
        "🗂 2027. gada 1. jūnijā tiks dzēsti kohortas <b>Rīga 2027</b> dalībnieku dati: viņu"
        " atbildes, profili, pāri un ziņas šajā kohortā. Kohortas statistika paliks. Ja jums vajag"
        " vēl ko citu, eksportējiet to līdz tam (/export).",
    ),
    (
        "Latest summary {name} shared with you: {title}, {day} (above in this chat).",
        {"name": "Anna", "title": Msg("GROW session"), "day": date(2026, 8, 20)},
        "Pēdējais kopsavilkums, ko Anna kopīgoja ar jums 2026. gada 20. augustā: GROW sesija"
        " (augstāk šajā tērzēšanā).",
    ),
    (
        "📅 Your meeting with {name} is set: {day}, {time} ({zone}). You both get a reminder an"
        " hour before. Open the file below to put it in your calendar.",
        {**MEETING, "day": date(2026, 12, 2)},
        "📅 Jūsu tikšanās ar partneri (Anna) ir norunāta 2026. gada 2. decembrī plkst. 18:30"
        " (Europe/Riga)."
        " Atgādinājumu stundu iepriekš saņems abas puses. Atveriet zemāk esošo failu, lai to"
        " ieliktu savā kalendārā.",
    ),
    (
        "📅 {name} set your next meeting: {day}, {time} ({zone}).{topic}\nOpen the file below to"
        " put it in your calendar.",
        {**MEETING, "day": date(2026, 7, 9), "topic": ""},
        "📅 Anna norunāja jūsu nākamo tikšanos 2026. gada 9. jūlijā plkst. 18:30 (Europe/Riga).\n"
        "Atveriet zemāk esošo failu, lai to ieliktu savā kalendārā.",
    ),
    (
        "📅 Your next meeting with {name}: {day}, {time} ({zone}).",
        {**MEETING, "day": date(2026, 5, 4)},
        "📅 Jūsu nākamā tikšanās ar partneri (Anna): 2026. gada 4. maijā plkst. 18:30"
        " (Europe/Riga).",
    ),
    (
        "📅 Your meeting with {name} on {day}, {time} ({zone}) is called off.",
        {**MEETING, "day": date(2026, 2, 28)},
        "📅 Jūsu tikšanās ar partneri (Anna) 2026. gada 28. februārī plkst. 18:30"
        " (Europe/Riga) ir atcelta.",
    ),
    (
        "📅 {name} called off your meeting on {day}, {time} ({zone}).",
        {**MEETING, "day": date(2026, 9, 10)},
        "📅 Anna atcēla jūsu tikšanos 2026. gada 10. septembrī plkst. 18:30 (Europe/Riga).",
    ),
    (
        "⏰ Before your quiet hours begin, a reminder: your meeting with {name} is {day}, {time}"
        " ({zone}).",
        {**MEETING, "day": date(2026, 3, 12)},
        "⏰ Atgādinājums, pirms sākas jūsu klusās stundas: tikšanās ar partneri (Anna) —"
        " 2026. gada 12. martā plkst. 18:30 (Europe/Riga).",
    ),
    (
        "• {day}, {start}–{end} ({zone})",
        {"day": date(2026, 10, 6), "start": "18:00", "end": "19:00", "zone": "Europe/Riga"},
        "• 2026. gada 6. oktobris, 18:00–19:00 (Europe/Riga)",
    ),
    (
        "• {text} — {day}",
        {"text": "Piezvanīt Jānim", "day": date(2026, 12, 24)},
        "• Piezvanīt Jānim — 2026. gada 24. decembris",
    ),
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(create_i18n(str(ROOT / "locales"), "en"))


def test_every_text_with_a_date_is_checked() -> None:
    with (ROOT / "locales" / "messages.pot").open("rb") as source:
        template = read_po(source)
    with_dates = {
        m.id
        for m in template
        if isinstance(m.id, str) and DATE_PLACEHOLDER.search(m.id) and m.id not in NOT_A_DATE
    }
    assert with_dates == {msgid for msgid, _, _ in EXPECTED}


@pytest.mark.parametrize(("msgid", "values", "latvian"), EXPECTED, ids=lambda v: str(v)[:30])
def test_a_latvian_reader_sees_the_date_in_its_case(
    renderer: Renderer, msgid: str, values: dict[str, Value], latvian: str
) -> None:
    assert renderer.text(Msg(msgid, values), "lv") == latvian


@pytest.mark.parametrize(("msgid", "values", "latvian"), EXPECTED, ids=lambda v: str(v)[:30])
def test_an_english_reader_sees_the_date_as_english_writes_it(
    renderer: Renderer, msgid: str, values: dict[str, Value], latvian: str
) -> None:
    day = next(v for v in values.values() if isinstance(v, date))
    text = renderer.text(Msg(msgid, values), "en")
    assert format_date(day, format="long", locale="en") in text
    assert "gada" not in text


def test_a_summary_is_headed_by_its_day(renderer: Renderer) -> None:
    heading = renderer.summary(Msg("GROW session"), date(2026, 12, 2), [], "lv")
    assert heading == "<b>GROW sesija</b> · 2026. gada 2. decembris"


def test_a_date_refuses_a_case_it_does_not_know(renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="cases"):
        "{:dative}".format(renderer.value(date(2026, 12, 2), "lv"))


def test_only_a_date_is_given_a_case() -> None:
    """A case on any other placeholder would fail when the text is shown."""
    with (ROOT / "locales" / "lv" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="lv")
    with_cases = {
        m.id for m in catalog if isinstance(m.string, str) and re.search(r"\{\w+:\w+\}", m.string)
    }
    assert with_cases and with_cases <= {msgid for msgid, _, _ in EXPECTED}

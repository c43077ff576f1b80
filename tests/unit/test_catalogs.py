"""Every text a person can see exists in every catalog in locales/, with each plural form."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.domain.texts import plural_msg
from bot.i18n import create_i18n
from bot.telegram.render import Renderer

ROOT = Path(__file__).resolve().parents[2]
LOCALES = sorted(p.parent.parent.name for p in ROOT.glob("locales/*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"\{(\w*)(?::\w+)?\}")  # {date:dat}: a case for a date
TAG = re.compile(r"</?([a-z]+)[^>]*>")
MessageId = str | tuple[str, str]

# Which form a number takes, written out here apart from the catalogs' Plural-Forms.
PLURAL_RULES: dict[str, Callable[[int], int]] = {
    "en": lambda n: 0 if n == 1 else 1,
    "lv": lambda n: 0 if n % 10 == 1 and n % 100 != 11 else 1 if n != 0 else 2,
    "ru": lambda n: (
        0
        if n % 10 == 1 and n % 100 != 11
        else 1
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14
        else 2
    ),
}
NUMBERS = (1, 2, 5, 11, 21, 0)


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def catalog_of(locale: str) -> Catalog:
    return read(ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po", locale)


def forms(message: Message) -> list[str]:
    string = message.string
    return [string] if isinstance(string, str) else list(string)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory: pytest.TempPathFactory) -> set[MessageId]:
    """The message ids in the code and the dialogs as they are now (a plural message as
    its singular and plural id)."""
    pot = tmp_path_factory.mktemp("catalog") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "plural_msg:1,2",
            "--no-wrap",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return {message.id for message in read(pot) if message.id}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(create_i18n(str(ROOT / "locales"), "en"))


def test_the_languages_are_latvian_english_and_russian() -> None:
    assert {"lv", "en", "ru"} <= set(LOCALES)
    assert set(LOCALES) <= set(PLURAL_RULES), "write the plural rule of a new language here"


def test_the_template_is_up_to_date(source_ids: set[MessageId]) -> None:
    committed = {m.id for m in read(ROOT / "locales" / "messages.pot") if m.id}
    assert source_ids == committed, "run 'make translations' and translate what is new"


def test_counts_are_plural_messages(source_ids: set[MessageId]) -> None:
    plural = {m[0] for m in source_ids if isinstance(m, tuple)}
    assert {
        "{days} day",
        "{change} ({people} person)",
        "Sent to {count} person; answers are gathered as they come.",
        "📣 Broadcast #{number} to {total} recipient",
    } <= plural


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(source_ids: set[MessageId], locale: str) -> None:
    catalog = catalog_of(locale)
    translated = {
        m.id: forms(m) for m in catalog if m.id and all(forms(m)) and "fuzzy" not in m.flags
    }
    missing = sorted(map(str, source_ids - translated.keys()))
    assert not missing, f"{locale} lacks {len(missing)} message(s), e.g. {missing[:3]}"
    short = [
        m
        for m, strings in translated.items()
        if isinstance(m, tuple) and len(strings) != catalog.num_plurals
    ]
    assert not short, f"{locale} lacks plural forms in {short[:3]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalog_counts_as_the_language_does(locale: str) -> None:
    catalog = catalog_of(locale)
    assert catalog.num_plurals == len({PLURAL_RULES[locale](n) for n in range(200)})
    plural_forms = dict(catalog.mime_headers)["Plural-Forms"]
    rule = c2py(plural_forms.split("plural=", 1)[1].rstrip(";"))
    assert [rule(n) for n in range(200)] == [PLURAL_RULES[locale](n) for n in range(200)]


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_placeholders_and_markup(locale: str) -> None:
    for message in catalog_of(locale):
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, tuple) else [message.id]
        placeholders = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for string in forms(message):
            found = set(PLACEHOLDER.findall(string))
            # A plural form may leave out its number ("Approve all"), nothing else.
            left_out = 1 if isinstance(message.id, tuple) else 0
            assert found <= placeholders and len(placeholders - found) <= left_out, (
                f"{locale}: placeholders differ in {message.id!r}"
            )
            assert sorted(TAG.findall(string)) == sorted(TAG.findall(ids[0])), (
                f"{locale}: markup differs in {message.id!r}"
            )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_count_picks_the_form_of_its_number(renderer: Renderer, locale: str) -> None:
    plural = [m for m in catalog_of(locale) if isinstance(m.id, tuple)]
    assert plural
    for message in plural:
        singular, plural_id = message.id
        names = set(PLACEHOLDER.findall(singular)) | set(PLACEHOLDER.findall(plural_id))
        count = "count" if "count" in names else sorted(names)[0]
        for n in NUMBERS:
            values = {name: n for name in names}
            shown = renderer.text(plural_msg(singular, plural_id, count, dict(values)), locale)
            expected = forms(message)[PLURAL_RULES[locale](n)].format(**values)
            assert shown == expected, (locale, singular, n)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ["1 day", "2 days", "5 days", "11 days", "21 days", "0 days"]),
        ("lv", ["1 diena", "2 dienas", "5 dienas", "11 dienas", "21 diena", "0 dienu"]),
        ("ru", ["1 день", "2 дня", "5 дней", "11 дней", "21 день", "0 дней"]),
    ],
)
def test_days_are_counted_in_words(renderer: Renderer, locale: str, expected: list[str]) -> None:
    shown = [
        renderer.text(plural_msg("{days} day", "{days} days", "days", {"days": n}), locale)
        for n in NUMBERS
    ]
    assert shown == expected


def test_people_are_counted_in_words(renderer: Renderer) -> None:
    def people(locale: str, n: int) -> str:
        return renderer.text(
            plural_msg(
                "{change} ({people} person)",
                "{change} ({people} people)",
                "people",
                {"change": "+1.0", "people": n},
            ),
            locale,
        )

    assert [people("en", n) for n in (1, 2)] == ["+1.0 (1 person)", "+1.0 (2 people)"]
    assert [people("lv", n) for n in (1, 11, 21)] == [
        "+1.0 (1 cilvēks)",
        "+1.0 (11 cilvēki)",
        "+1.0 (21 cilvēks)",
    ]
    assert [people("ru", n) for n in (1, 3, 5, 21)] == [
        "+1.0 (1 человек)",
        "+1.0 (3 человека)",
        "+1.0 (5 человек)",
        "+1.0 (21 человек)",
    ]


def test_latvian_is_not_english() -> None:
    catalog = catalog_of("lv")

    def words(text: str) -> str:
        return re.sub(r"\{\w*\}|<[^>]+>", "", text)

    same = [
        m.id for m in catalog if m.id and m.string == m.id and re.search(r"[a-z]{4}", words(m.id))
    ]
    # Names such as "GROW" or "English" stay; whole sentences must not.
    assert not [s for s in same if " " in words(s).strip() and s != "Latviešu / English"], same

"""Every catalog keeps to the glossary (docs/glossary.md): none of its forbidden words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "glossary.md"
CATALOGS = sorted(ROOT.glob("locales/*/LC_MESSAGES/messages.po"))
# A column "Not in <language>" holds the words that language's catalog must not use.
LANGUAGES = {"Latvian": "lv", "English": "en", "Russian": "ru"}
TICKED = re.compile(r"`([^`]+)`")
# Placeholders and commands are not words of the text: {mentee}, /mentees.
NOT_WORDS = re.compile(r"\{\w*(?::\w+)?\}|/\w+")


@dataclass(frozen=True)
class Forbidden:
    term: str  # the glossary row's English term, to say which rule a text broke
    pattern: re.Pattern[str]
    allowed: frozenset[str]


def word_pattern(word: str) -> re.Pattern[str]:
    """A whole word or phrase; a trailing * stands for any ending (Latvian inflections)."""
    stem = word.removesuffix("*")
    ending = r"\w*" if word.endswith("*") else ""
    return re.compile(rf"(?<!\w){re.escape(stem)}{ending}(?!\w)", re.IGNORECASE)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_glossary() -> dict[str, list[Forbidden]]:
    rules: dict[str, list[Forbidden]] = {}
    header: list[str] | None = None
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        row = cells(line)
        if header is None:
            header = row
            continue
        if set("".join(row)) <= set("-: "):
            continue
        by_column = dict(zip(header, row, strict=True))
        allowed = frozenset(w.lower() for w in TICKED.findall(by_column.get("Still allowed", "")))
        for column, text in by_column.items():
            language = LANGUAGES.get(column.removeprefix("Not in "))
            if not column.startswith("Not in ") or language is None:
                continue
            for word in TICKED.findall(text):
                rule = Forbidden(by_column["English"], word_pattern(word), allowed)
                rules.setdefault(language, []).append(rule)
    return rules


def breaches(text: str, rules: list[Forbidden]) -> list[str]:
    found = []
    words = NOT_WORDS.sub(" ", text)
    for rule in rules:
        for match in rule.pattern.finditer(words):
            if match.group(0).lower() not in rule.allowed:
                found.append(f"“{match.group(0)}” ({rule.term})")
    return found


def test_the_glossary_forbids_words_in_both_languages() -> None:
    rules = read_glossary()
    assert len(rules["lv"]) > 20 and len(rules["en"]) > 5
    check_in = [r for r in rules["lv"] if r.term.startswith("check-in")]
    assert breaches("Īsa pārbaude. Pirms pirmās pārbaudes.", check_in) == [
        "“pārbaude” (check-in (the regular short questions on how things are))",
        "“pārbaudes” (check-in (the regular short questions on how things are))",
    ]
    assert breaches("Lūdzu, pārbaudiet datumu.", check_in) == []
    wheel = [r for r in rules["lv"] if r.term == "Wheel of Life"]
    assert breaches("Novērtējiet savu dzīves ratu; Dzīves ritenis; karatē", wheel) == [
        "“ratu” (Wheel of Life)"
    ]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parts[-3])
def test_no_message_breaks_the_glossary(path: Path) -> None:
    locale = path.parts[-3]
    rules = read_glossary().get(locale, [])
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            found = breaches(string or "", rules)
            if found:
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                problems.append(f"{msgid[:60]!r}: {', '.join(found)}")
    assert not problems, (
        f"{locale}: {len(problems)} message(s) break docs/glossary.md:\n" + "\n".join(problems)
    )


def test_latvian_quotes_with_low_and_high_marks() -> None:
    """Latvian typography quotes „like this”; HTML (also HTML shown as an example) keeps its
    straight quotes."""
    with (ROOT / "locales" / "lv" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="lv")
    wrong = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            outside_tags = re.sub(r"<[^>]*>|&lt;.*?&gt;|\w+=\"[^\"]*\"", "", string or "")
            if re.search(r"[“«»\"]", outside_tags) or outside_tags.count("„") != outside_tags.count(
                "”"
            ):
                wrong.append(string)
    assert not wrong, f"{len(wrong)} Latvian message(s) quote otherwise, e.g. {wrong[:3]}"

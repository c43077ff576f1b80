"""Every text a person can see exists in Latvian and English."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w*)(?::\w+)?\}")  # {date:dat}: a case for a date
TAG = re.compile(r"</?([a-z]+)[^>]*>")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The message ids in the code and the dialogs as they are now."""
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


def test_the_template_is_up_to_date(source_ids: set[str]) -> None:
    committed = {m.id for m in read(ROOT / "locales" / "messages.pot") if m.id}
    assert source_ids == committed, "run 'make translations' and translate what is new"


@pytest.mark.parametrize("locale", ["lv", "en"])
def test_every_message_is_translated(source_ids: set[str], locale: str) -> None:
    catalog = read(ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po", locale)
    translated = {m.id: m.string for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(source_ids - translated.keys())
    assert not missing, f"{locale} lacks {len(missing)} message(s), e.g. {missing[:3]}"


@pytest.mark.parametrize("locale", ["lv", "en"])
def test_translations_keep_placeholders_and_markup(locale: str) -> None:
    catalog = read(ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po", locale)
    for message in catalog:
        if not message.id or not isinstance(message.string, str):
            continue
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), (
            f"{locale}: placeholders differ in {message.id!r}"
        )
        assert sorted(TAG.findall(message.string)) == sorted(TAG.findall(message.id)), (
            f"{locale}: markup differs in {message.id!r}"
        )


def test_latvian_is_not_english() -> None:
    catalog = read(ROOT / "locales" / "lv" / "LC_MESSAGES" / "messages.po", "lv")

    def words(text: str) -> str:
        return re.sub(r"\{\w*\}|<[^>]+>", "", text)

    same = [
        m.id for m in catalog if m.id and m.string == m.id and re.search(r"[a-z]{4}", words(m.id))
    ]
    # Names such as "GROW" or "English" stay; whole sentences must not.
    assert not [s for s in same if " " in words(s).strip() and s != "Latviešu / English"], same

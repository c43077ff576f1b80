"""A time zone found from what a person writes."""

from __future__ import annotations

import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from bot.config import LOCALES
from bot.domain.zones import NAMED_IN, find_zones, is_zone


def test_a_zone_by_its_name_in_any_case_or_with_spaces() -> None:
    assert find_zones("America/New_York") == ["America/New_York"]
    assert find_zones("  america/new york ") == ["America/New_York"]
    assert find_zones("ETC/gmt+2") == ["Etc/GMT+2"]


def test_a_city_in_english_latvian_or_russian_with_or_without_accents() -> None:
    assert find_zones("Tokyo") == ["Asia/Tokyo"]
    assert find_zones("Tokija") == ["Asia/Tokyo"]
    assert find_zones("Rīga") == find_zones("riga") == ["Europe/Riga"]
    assert find_zones("Ņujorka") == find_zones("New York") == ["America/New_York"]
    assert find_zones("Buenos Aires") == ["America/Argentina/Buenos_Aires"]
    assert find_zones("Москва") == ["Europe/Moscow"]
    assert find_zones("Токио") == ["Asia/Tokyo"]


def test_a_country_gives_its_zones() -> None:
    assert find_zones("Latvia") == find_zones("Latvija") == find_zones("Латвия") == ["Europe/Riga"]
    several = find_zones("United States")
    assert "America/New_York" in several and "America/Los_Angeles" in several
    assert find_zones("Amerikas Savienotās Valstis") == several


def test_what_is_not_a_zone_finds_none() -> None:
    for text in ("", "   ", "Atlantis", "Mars/Olympus", "<b>"):
        assert find_zones(text) == []
    assert is_zone("Europe/Riga") and not is_zone("europe/riga") and not is_zone("Riga")


@given(st.sampled_from(sorted(zoneinfo.available_timezones())))
def test_every_zone_is_found_by_its_own_name(name: str) -> None:
    assert find_zones(name) == [name]
    assert find_zones(name.lower().replace("_", " ")) == [name]


@given(st.text(max_size=40))
def test_whatever_is_written_only_known_zones_come_back(text: str) -> None:
    assert all(is_zone(zone) for zone in find_zones(text))


def test_places_are_understood_in_every_language_the_bot_speaks() -> None:
    assert set(NAMED_IN) == set(LOCALES)

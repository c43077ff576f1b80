"""A time zone from what a person writes: its IANA name (Europe/Riga, america/new_york,
"America/New York"), one of its cities (Tokyo, Rīga, Ņujorka) or a country (Latvia,
Latvija, Латвия, United States), in English, Latvian or Russian, with or without accents."""

from __future__ import annotations

import unicodedata
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache

from babel import Locale
from babel.core import get_global

# The languages whose names of cities and countries are understood: those the bot speaks
# (tests/unit/test_zones.py keeps them in step with the catalogs).
NAMED_IN = ("en", "lv", "ru")
# The regions of the time zone database whose last part is a city.
CITY_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def _plain(text: str) -> str:
    """Lower case, without accents, with spaces for underscores and no extra spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("_", " "))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@cache
def _names() -> tuple[dict[str, str], dict[str, set[str]], dict[str, list[str]]]:
    """IANA names, cities and countries, each by its plain spelling."""
    known = zoneinfo.available_timezones()
    by_name = {_plain(name): name for name in known}
    by_city: dict[str, set[str]] = {}
    for name in known:
        region, _, city = name.partition("/")
        if region in CITY_REGIONS and city:
            by_city.setdefault(_plain(city.rsplit("/", 1)[-1]), set()).add(name)
    by_country: dict[str, list[str]] = {}
    territory_zones: Mapping[str, list[str]] = get_global("territory_zones")
    for language in NAMED_IN:
        locale = Locale.parse(language)
        for name, details in locale.time_zones.items():
            city = details.get("city")
            if city and name in known:
                by_city.setdefault(_plain(city), set()).add(name)
        for code, zones in territory_zones.items():
            country = locale.territories.get(code)
            usable = [zone for zone in zones if zone in known]
            if country and usable:
                by_country[_plain(country)] = usable
    return by_name, by_city, by_country


def is_zone(name: str) -> bool:
    """Whether this is a time zone's IANA name, spelled as the database spells it."""
    return name in zoneinfo.available_timezones()


def find_zones(text: str) -> list[str]:
    """The time zones the text can mean: one for a zone or a city, one or several for a
    country; none when it is not known."""
    wanted = _plain(text)
    if not wanted:
        return []
    by_name, by_city, by_country = _names()
    if wanted in by_name:
        return [by_name[wanted]]
    if wanted in by_city:
        return _one_clock(sorted(by_city[wanted]))
    return list(by_country.get(wanted, ()))


def _one_clock(zones: list[str]) -> list[str]:
    """Names of one clock are one zone: an old name kept as a link (America/Buenos_Aires)
    gives way to the database's own, the longer one (America/Argentina/Buenos_Aires)."""
    if len(zones) > 1 and len({_offsets(zone) for zone in zones}) == 1:
        return [max(zones, key=len)]
    return zones


@cache
def _offsets(name: str) -> tuple[timedelta | None, ...]:
    zone = zoneinfo.ZoneInfo(name)
    return tuple(
        datetime(year, month, 1, tzinfo=UTC).astimezone(zone).utcoffset()
        for year in range(2020, 2031)
        for month in range(1, 13)
    )

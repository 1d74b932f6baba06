"""Where a person lives (a Russian federal subject, a US state, a big city) and the time zones it gives their lead.

Why: a mobile number may be anywhere in its country (a Russian one in 26
zones, UTC+2 to UTC+12), and a lead is dialled only when the window is open
in every candidate zone, so under most windows such a lead never is. A
list often says where the person lives; a subdivision column turns that
into the zone of that place, as a ``timezone`` column does.

The tables are package data, each naming its sources in its header:
``lists/data/ru-subjects.csv`` (the 85 federal subjects),
``lists/data/us-states.csv`` (50 states and DC; a state split between zones
keeps all of them, the cautious answer) and ``lists/data/cities.csv``.

Why a place never leaves its number's country: a subdivision of another
country (a Russian subject on a US number) is a mistake in the list, not a
move, so it gives nothing and the number's own zones are kept. Every zone
answered is one of the country's own in ``zone.tab``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from lists.numbers import country_zones

__all__ = ["ZoneSource", "place_zones", "lead_zones"]

_SUBDIVISION_FILES = {"RU": "ru-subjects.csv", "US": "us-states.csv"}
_CITY_FILE = "cities.csv"

# Words that name the kind of place, not the place: "Sverdlovsk Oblast", "Свердловская обл." and "Sverdlovsk" match.
_GENERIC = frozenset("oblast obl область обл krai kray край republic respublika республика респ autonomous "
                     "автономный автономная okrug округ город г state of the".split())  # not "city": Kansas City


class ZoneSource(StrEnum):
    """What gave a lead its candidate time zones, in the order the importer tries them; the import summary
    counts the leads of each."""

    TIMEZONE = "timezone column"
    POSTAL_CODE = "postal code"
    SUBDIVISION = "subdivision"
    NUMBER = "number"
    UNKNOWN_PLACE = "number, its subdivision not recognised"


def _key(text: str) -> str:
    """A place's name as matched: no case, dots, punctuation or generic words (``г. Москва`` → ``москва``)."""
    words = re.sub(r"\W+", " ", text.casefold().replace("ё", "е").replace(".", "")).split()
    return " ".join(w for w in words if w not in _GENERIC) or " ".join(words)


def _rows(name: str) -> Iterator[dict[str, str]]:
    """A data file's rows; its ``#`` lines name its sources."""
    text = resources.files("lists").joinpath("data", name).read_text(encoding="utf-8")
    yield from csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))


def _names(row: dict[str, str]) -> list[str]:
    """Every name a row answers to: its ISO 3166-2 code with and without the country (``US-TX``, ``TX``) and
    its names in English and Russian."""
    code = row.get("code", "")  # cities have none
    short = code.partition("-")[2]
    return [name for name in (code, short if short.isalpha() else "", row["en"], row["ru"],
                              *row["aliases"].split("|")) if name]


def _index(entries: Iterator[tuple[str, dict[str, str], list[str]]]) -> dict[str, dict[str, frozenset[str]]]:
    """country → name → zones; a name in several rows (Portland, OR and ME) gives the zones of all of them.

    Zones outside the country's own (``zone.tab``) are dropped, so a slip in a table can only leave a place
    unknown, never put a lead in another country's zone."""
    table: dict[str, dict[str, set[str]]] = {}
    for country, row, zones in entries:
        own = country_zones(country)
        for name in _names(row):
            table.setdefault(country, {}).setdefault(_key(name), set()).update(z for z in zones if z in own)
    return {country: {name: frozenset(z) for name, z in names.items() if z} for country, names in table.items()}


@lru_cache(maxsize=1)
def _subdivisions() -> dict[str, dict[str, frozenset[str]]]:
    return _index((country, row, row["zones"].split())
                  for country, name in _SUBDIVISION_FILES.items() for row in _rows(name))


@lru_cache(maxsize=1)
def _cities() -> dict[str, dict[str, frozenset[str]]]:
    return _index((row["country"], row, [row["zone"]]) for row in _rows(_CITY_FILE))


def place_zones(region: str, text: str) -> frozenset[str]:
    """The zones of a place in country ``region``, empty when it is none we know there.

    ``text`` is a subdivision (ISO 3166-2 code, US postal code, or name in
    English or Russian) or, failing that, a big city. A state split between
    zones gives all of them."""
    key = _key(text)
    return _subdivisions().get(region, {}).get(key) or _cities().get(region, {}).get(key) or frozenset()


def lead_zones(region: str, number_zones: tuple[str, ...], subdivision: str) -> tuple[tuple[str, ...], ZoneSource]:
    """A lead's candidate zones and what gave them: its subdivision's zones when it names a place of the
    number's country, else the number's own zones (``UNKNOWN_PLACE`` when a subdivision was given in vain).

    Why the place wins over the number: a mobile's zones are its whole
    country, and a landline's come from its area code, which a person
    keeps when they move (US) and which phonenumbers maps to one zone even
    where the area straddles two (850 in Florida)."""
    if not subdivision:
        return number_zones, ZoneSource.NUMBER
    if zones := place_zones(region, subdivision):
        return tuple(sorted(zones)), ZoneSource.SUBDIVISION
    return number_zones, ZoneSource.UNKNOWN_PLACE

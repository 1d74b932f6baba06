"""Phone numbers: E.164 normalisation, the time zones a lead may be in, and masking for operators.

Why the zones are cut to the number's own country: phonenumbers gives every
zone of a calling code, so a +1 toll-free number would carry Guam and
Jamaica and a +7 mobile Kazakhstan. The calling window must hold in every
candidate zone, so stray zones only shrink it; the country's own zones (from
the IANA ``zone.tab`` shipped by tzdata) are the safe set.
"""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache
from importlib import resources
from types import ModuleType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers as reference_library
import zipcodes
from phonenumbers import timezone as pn_timezone

log = logging.getLogger(__name__)


def number_library() -> ModuleType:
    """rphonenumbers when installed (the ``fast`` extra) and matched to phonenumbers, else phonenumbers.

    Why two: rphonenumbers keeps phonenumbers' API and results but parses on
    rlibphonenumber, a Rust port of libphonenumber, about nine times faster,
    which a million-row import needs. It is young (alpha), so a test holds it
    to phonenumbers' answers and ``DIALER_NUMBER_LIBRARY=phonenumbers``
    selects the reference. Time zones always come from phonenumbers.

    Why the version check: each build embeds the number ranges of one
    phonenumbers release. Against another release about one random number in
    10,000 gets another answer (9.0.41 against 9.0.43: ranges in Botswana,
    Zimbabwe, Costa Rica, Romania), so a mismatched pair falls back to the
    reference rather than answer differently.
    """
    if os.environ.get("DIALER_NUMBER_LIBRARY", "rphonenumbers") == "phonenumbers":
        return reference_library
    try:
        fast = importlib.import_module("rphonenumbers")
    except ImportError:
        return reference_library
    if fast.__phonenumbers_version__ != reference_library.__version__:
        log.warning("rphonenumbers %s embeds phonenumbers %s metadata, but phonenumbers %s is installed: "
                    "using phonenumbers (slower); install the 'fast' extra to get a matching pair",
                    fast.__version__, fast.__phonenumbers_version__, reference_library.__version__)
        return reference_library
    return fast


phonenumbers = number_library()

__all__ = ["number_library", "normalise_number", "region_code", "country_of", "country_zones", "zone_for_postal_code",
           "valid_zone", "mask_number"]


@lru_cache(maxsize=1)
def _zone_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coords, zone = line.split("\t")[:3]
            table.setdefault(country, set()).add(zone)
    return {country: frozenset(zones) for country, zones in table.items()}


_ZONE_TAB_PARENT = {"AC": "SH", "TA": "SH", "XK": "RS"}
"""Regions phonenumbers dials that zone.tab files under another: Ascension and Tristan da Cunha under Saint
Helena (Atlantic/St_Helena), Kosovo under Serbia (Europe/Belgrade)."""


def country_zones(region: str) -> frozenset[str]:
    """Every IANA zone of an ISO 3166 country (``US`` gives New York to Honolulu)."""
    code = region.upper()
    return _zone_table().get(_ZONE_TAB_PARENT.get(code, code), frozenset())


def country_of(e164: str) -> str | None:
    """The ISO 3166 country of an E.164 number (None when no country has it): a lead's jurisdiction when its
    list names none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def region_code(text: str) -> str:
    """The ISO 3166 code phonenumbers knows (``nl`` → ``NL``); ValueError for anything else.

    Why up front: phonenumbers takes an unknown region as "no region", so a
    typo in ``--default-region`` would reject every national number one row
    at a time instead of failing once.
    """
    code = text.strip().upper()
    if code not in reference_library.SUPPORTED_REGIONS:
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise ValueError(f"{text!r} is not an ISO 3166 country code, e.g. US, FR, GB{hint}")
    return code


# The phone library's parse errors, in the product's words (its own messages carry internal codes).
_PARSE_ERRORS = {
    0: "no country: write it with + and its country code, or import with a default region",
    1: "not a phone number",
    2: "too short after the international prefix",
    3: "too short",
    4: "too long",
}


def normalise_number(text: str, region: str | None) -> tuple[str, str, tuple[str, ...]]:
    """(E.164, region, candidate time zones) for a number as people write it; ValueError if invalid.

    The number type is looked up once and serves both the validity check (a
    number of no known type is invalid, as in ``is_valid_number``) and the
    zone lookup: only geographic numbers pin a zone; a mobile or toll-free
    number may be anywhere in its country. A non-geographic number (region
    ``001``: +800 freephone, +979 premium rate) has no country, so no zones.
    """
    written = text.strip()
    if region is None and written.startswith("00"):  # the international prefix written as 00 (most of Europe);
        written = "+" + written[2:]  # with a region, phonenumbers reads that region's own prefix (US: 011, not 00)
    try:
        number = phonenumbers.parse(written, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid number: {_PARSE_ERRORS.get(exc.error_type, 'not a phone number')}") from None
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise ValueError("invalid number")
    found = phonenumbers.region_code_for_number(number) or (region or "")
    own = country_zones(found)
    zones: tuple[str, ...] = ()
    if phonenumbers.is_number_type_geographical(kind, number.country_code):
        zones = tuple(z for z in pn_timezone.time_zones_for_geographical_number(number) if z in own)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), found, zones or tuple(sorted(own))


@lru_cache(maxsize=65536)
def zone_for_postal_code(region: str, postal_code: str) -> str | None:
    """The zone of a US ZIP code (the ``zipcodes`` data); None elsewhere or when unknown.

    Other countries in our markets keep one zone per country, which the
    number already gives.
    """
    if region != "US":
        return None
    try:
        matches = zipcodes.matching(postal_code.strip()[:5])
    except (ValueError, TypeError):
        return None
    return matches[0].get("timezone") or None if matches else None


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def mask_number(e164: str) -> str:
    """Hide the middle digits for operators: ``+33142685300`` → ``+331*****300`` (first and last three digits)."""
    if len(e164) < 8:
        return "*" * len(e164)
    return e164[:4] + "*" * (len(e164) - 7) + e164[-3:]

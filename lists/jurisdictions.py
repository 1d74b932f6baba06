"""Each country's calling rules, as data: ``lists/jurisdictions/<code>.toml``, one file per jurisdiction.

Why data: a rule changes on a date (France asks for consent from 11 Aug
2026), and a dated rule in a file is a reviewable change with its source
beside it, not a code change. Every rule names its source
(``shared/anchors/regulations.md``); where the anchors give no figure, the
file says so and holds the cautious default, a setting.

A file gives:
- ``countries``: the ISO 3166 codes of the numbers it governs (``uk``: GB);
- ``windows.days`` (``"HH:MM-HH:MM"`` per weekday) and ``windows.holidays``
  (the hours on a public holiday of ``holidays``, a ``holidays`` library
  country; none: closed);
- ``[[limits]]``: contacts with one person across the company's campaigns
  (``count`` attempts or conversations, ``most``, over ``days`` rolling days
  or one ``calendar_day``), for the ``purposes`` listed (all when absent);
- ``refusal_cooloff.days``, ``abandon_quarantine.hours``, ``record_days``;
- ``[[consent]]``: the purposes that need prior consent from a date, and
  the customer relationship (``relationship_days``) that stands in for it;
- flags: ``caller_id_required``, ``callback_number``, ``object_offered``,
  ``labelled``, ``automated_marketing_banned``.

``Jurisdiction.profile(purpose, day)`` is what the claim and the dial-time
check apply to one person: ``lists.rules.CallingProfile``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from lists.models import Campaign
from lists.purposes import Purpose, purpose_of
from lists.rules import CallingProfile, Counted, Limit, Window

__all__ = ["Jurisdiction", "ConsentRule", "Source", "JURISDICTIONS", "BY_COUNTRY", "PROFILES", "PROFILE_ZONES",
           "capped_profile", "jurisdiction_of", "lead_profile"]

_FOLDER = Path(__file__).with_name("jurisdictions")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Source:
    """One rule of a jurisdiction and where it comes from: a row of the docs' rules table."""

    rule: str
    text: str


@dataclass(frozen=True)
class ConsentRule:
    """Calls for ``purposes`` need prior consent from ``since`` (or a customer relationship of at most
    ``relationship_days``, where the law allows one)."""

    purposes: frozenset[Purpose]
    since: date
    relationship_days: int | None = None


@dataclass(frozen=True)
class _PurposeLimit:
    limit: Limit
    purposes: frozenset[Purpose] | None  # None: every purpose


@dataclass(frozen=True)
class Jurisdiction:
    """A country's rules (``countries``: the numbers it governs), read from its file."""

    code: str
    name: str
    countries: tuple[str, ...]
    zone: str
    base: CallingProfile  # windows, holidays, cool-offs and record period: the same for every purpose
    limits: tuple[_PurposeLimit, ...]
    consents: tuple[ConsentRule, ...]
    sources: tuple[Source, ...]
    caller_id_required: bool = False
    callback_number: bool = False
    object_offered: bool = False
    labelled: bool = False
    automated_marketing_banned: bool = False

    def consent_on(self, purpose: Purpose, day: date) -> ConsentRule | None:
        """The consent rule binding calls for ``purpose`` on ``day``, if any."""
        return next((c for c in self.consents if purpose in c.purposes and c.since <= day), None)

    def profile(self, purpose: Purpose, day: date) -> CallingProfile:
        """The rules one person of this jurisdiction is called under, for ``purpose``, on ``day``."""
        return _profile(self, purpose, day)


@lru_cache(maxsize=1024)
def _profile(jurisdiction: Jurisdiction, purpose: Purpose, day: date) -> CallingProfile:
    consent = jurisdiction.consent_on(purpose, day)
    limits = tuple(p.limit for p in jurisdiction.limits if p.purposes is None or purpose in p.purposes)
    return dataclasses.replace(jurisdiction.base, limits=limits, needs_consent=consent is not None,
                               relationship_days=consent.relationship_days if consent else None)


def _windows(spans: list[str]) -> tuple[Window, ...]:
    """``["10:00-13:00", "14:00-20:00"]`` as (start, end) local times."""
    windows = []
    for span in spans:
        start, end = (time.fromisoformat(part) for part in span.split("-"))
        windows.append((start, end))
    return tuple(windows)


def _limit(table: dict[str, Any]) -> _PurposeLimit:
    limit = Limit(Counted(table["count"]), int(table["most"]), int(table.get("days", 1)),
                  bool(table.get("calendar_day", False)))
    purposes = table.get("purposes")
    return _PurposeLimit(limit, frozenset(Purpose(p) for p in purposes) if purposes else None)


def _consent(table: dict[str, Any]) -> ConsentRule:
    return ConsentRule(frozenset(Purpose(p) for p in table["purposes"]), date.fromisoformat(table["from"]),
                       table.get("relationship_days"))


def _sources(data: dict[str, Any]) -> tuple[Source, ...]:
    found = [Source("record period", data["record_source"]), Source("calling hours", data["windows"]["source"])]
    found += [Source(name.replace("_", " "), data[name]["source"])
              for name in ("refusal_cooloff", "abandon_quarantine") if name in data]
    found += [Source(f"at most {t['most']} {t['count']}", t["source"]) for t in data.get("limits", [])]
    found += [Source(f"consent ({', '.join(t['purposes'])})", t["source"]) for t in data.get("consent", [])]
    return tuple(found)


def _read(path: Path) -> Jurisdiction:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    windows = data["windows"]
    base = CallingProfile(
        data["code"], tuple(_windows(windows["days"][day]) for day in _DAYS), data.get("holidays"),
        max_attempts=data["max_attempts"], record_days=data["record_days"],
        refusal_cooloff_days=data.get("refusal_cooloff", {}).get("days"),
        abandon_quarantine_h=float(data.get("abandon_quarantine", {}).get("hours", 72)),
        holiday_windows=_windows(windows.get("holidays", [])))
    flags = {name: bool(data.get(name, False)) for name in ("caller_id_required", "callback_number",
                                                             "object_offered", "labelled",
                                                             "automated_marketing_banned")}
    return Jurisdiction(data["code"], data["name"], tuple(data["countries"]), data["zone"], base,
                        tuple(_limit(t) for t in data.get("limits", [])),
                        tuple(_consent(t) for t in data.get("consent", [])), _sources(data), **flags)


JURISDICTIONS: dict[str, Jurisdiction] = {j.code: j for j in map(_read, sorted(_FOLDER.glob("*.toml")))}
"""Every jurisdiction the product knows, by code (``fr``, ``uk``, ``ru``...)."""

BY_COUNTRY: dict[str, Jurisdiction] = {country: j for j in JURISDICTIONS.values() for country in j.countries}
"""The jurisdiction governing a number, by its ISO 3166 country (``GB``: ``uk``)."""

PROFILES: dict[str, CallingProfile] = {code: j.profile(Purpose.SURVEY, date.min) for code, j in JURISDICTIONS.items()}
"""Each jurisdiction's purpose- and date-free rules: its hours, cool-offs and record period, for what is the
campaign's own (its hours, its reports' days) rather than one person's."""

PROFILE_ZONES: dict[str, str] = {code: j.zone for code, j in JURISDICTIONS.items()}
"""A campaign's time zone by its rules profile, where nothing else names one (the daemon's
``[timezones]`` may): its hours, and its days in reports (``lists.campaigns.home_zone``)."""


def jurisdiction_of(country: str | None) -> Jurisdiction | None:
    """The jurisdiction of a number's country (None: the product has no rules for it, so it is not dialled)."""
    return BY_COUNTRY.get(country or "")


def lead_profile(campaign: Campaign, country: str | None, now: datetime) -> CallingProfile | None:
    """The rules one person is called under: their country's (``lists.jurisdictions``) for the campaign's
    purpose on ``now``'s date, with the campaign's attempt cap where stricter; None when the campaign may not
    call that country (or the product has no rules for it)."""
    if country is None or country not in campaign.countries:
        return None
    return _person_profile(country, campaign.kind, campaign.max_attempts, now.date())


@lru_cache(maxsize=1024)
def _person_profile(country: str, kind: str, max_attempts: int, day: date) -> CallingProfile | None:
    """Cached by plain values: a claim asks once per lead, and hashing a whole profile each time would cost more
    than the rules it applies."""
    jurisdiction = jurisdiction_of(country)
    if jurisdiction is None:
        return None
    profile = jurisdiction.profile(purpose_of(kind), day)
    return dataclasses.replace(profile, max_attempts=min(profile.max_attempts, max_attempts))


def capped_profile(name: str, max_attempts: int) -> CallingProfile:
    """Profile ``name`` with a campaign's own attempt cap, where it is stricter than the jurisdiction's."""
    base = PROFILES[name]
    return dataclasses.replace(base, max_attempts=min(base.max_attempts, max_attempts))

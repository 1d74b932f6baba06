"""Calling rules as pure functions of a lead's history and a time.

Why pure: the daemon checks them at dial time and the simulator calls the
very same functions on SimPy time, so the two cannot drift apart. Nothing
here reads a clock or a database; ``now`` is always an aware UTC datetime.

A lead whose number maps to several time zones (a mobile, a toll-free or a
country-wide range) may be called only when the window is open in *every*
candidate zone: that is the safe window across the country's zones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

import holidays

from lists.lifecycle import LeadStatus

__all__ = ["CallingProfile", "PROFILES", "RetryRules", "LeadHistory", "in_window", "next_open", "never_open",
           "next_attempt_at", "NextStep", "after_attempt", "refusal", "dialable_from", "take_in_priority", "PERMANENT",
           "CLOSED_AS", "capped_profile", "PROFILE_ZONES"]

Window = tuple[time, time]


@dataclass(frozen=True)
class CallingProfile:
    """A jurisdiction's calling rules. ``windows[d]`` holds weekday d's local windows (0 = Monday).

    Frozen and hashable, so rule evaluations can be cached per (profile, zone, moment).

    ``rolling_cap`` is (attempts, days): at most that many attempts in any such
    period. ``refusal_cooloff_days`` blocks contact after a refusal;
    ``abandon_quarantine_h`` blocks a re-call after an abandoned call.
    """

    name: str
    windows: tuple[tuple[Window, ...], ...]
    holiday_country: str | None = None
    max_attempts: int = 10
    rolling_cap: tuple[int, int] | None = None
    refusal_cooloff_days: int | None = None
    abandon_quarantine_h: float = 72.0


def _every_day(*windows: Window) -> tuple[tuple[Window, ...], ...]:
    return (windows,) * 7


PROFILES: dict[str, CallingProfile] = {
    "us": CallingProfile("us", _every_day((time(8), time(21)))),
    "fr": CallingProfile(
        "fr",
        (((time(10), time(13)), (time(14), time(20))),) * 5 + ((), ()),  # Monday to Friday
        holiday_country="FR",
        rolling_cap=(4, 30),
        refusal_cooloff_days=60,
    ),
    "uk": CallingProfile("uk", _every_day((time(8), time(21))), holiday_country="GB"),
}

PROFILE_ZONES = {"us": "America/New_York", "fr": "Europe/Paris", "uk": "Europe/London"}
"""A campaign's time zone by its rules profile, where nothing else names one (the daemon's
``[timezones]`` may): its hours, and its days in reports (``lists.campaigns.home_zone``)."""


def capped_profile(name: str, max_attempts: int) -> CallingProfile:
    """Profile ``name`` with a campaign's own attempt cap, where it is stricter than the jurisdiction's."""
    base = PROFILES[name]
    return dataclasses.replace(base, max_attempts=min(base.max_attempts, max_attempts))


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


@lru_cache(maxsize=8192)
def _open_in_zone(profile: CallingProfile, zone: str, now: datetime) -> bool:
    local = now.astimezone(_zone(zone))
    if profile.holiday_country and local.date() in _holidays(profile.holiday_country, local.year):
        return False
    clock = local.time()
    return any(start <= clock < end for start, end in profile.windows[local.weekday()])


def in_window(profile: CallingProfile, zones: Sequence[str], now: datetime) -> bool:
    """True when ``now`` lies inside the profile's window in every candidate zone of the lead."""
    if not zones:
        return False
    return all(_open_in_zone(profile, zone, now) for zone in zones)


def _window_starts(profile: CallingProfile, zone: str, now: datetime, days: int) -> list[datetime]:
    local_today = now.astimezone(_zone(zone)).date()
    starts = []
    for offset in range(-1, days + 1):
        day = local_today + timedelta(days=offset)
        for start, _ in profile.windows[day.weekday()]:
            starts.append(datetime.combine(day, start, tzinfo=_zone(zone)).astimezone(now.tzinfo))
    return starts


@lru_cache(maxsize=4096)
def next_open(profile: CallingProfile, zones: tuple[str, ...], now: datetime, days: int = 14) -> datetime | None:
    """The first moment at or after ``now`` when the window is open in every zone; None if none within ``days``.

    Why only window starts are tried: the open set is an intersection of
    unions of [start, end) intervals, so each of its pieces begins at some
    zone's window start (or at ``now`` itself).
    """
    candidates = sorted({now, *(t for zone in zones for t in _window_starts(profile, zone, now, days) if t > now)})
    return next((t for t in candidates if in_window(profile, zones, t)), None)


def never_open(profile: CallingProfile, zones: tuple[str, ...], now: datetime) -> bool:
    """True when no moment of the week from ``now`` has the window open in every one of ``zones`` (holidays
    aside, at the zones' offsets of that week); always true for a lead with no zone.

    Why it matters: the window must hold in every candidate zone, and a
    country-wide number can have many (a Russian mobile: 26, from UTC+2 to
    UTC+12), so under the French hours no moment ever suits them all. Such a
    lead is set aside and said to be, rather than rescheduled day after day.
    """
    return next_open(dataclasses.replace(profile, holiday_country=None), zones, now, days=7) is None


@dataclass(frozen=True)
class RetryRules:
    """Delays before the next attempt, seconds, per outcome of the last attempt.

    A no-answer retry is also pushed by ``no_answer_shift_s`` per earlier
    attempt, so successive tries land at different times of day.
    """

    busy_s: float = 600.0
    no_answer_s: float = 3 * 3600.0
    no_answer_shift_s: float = 2.5 * 3600.0
    machine_s: float = 4 * 3600.0
    abandoned_s: float = 72 * 3600.0
    failed_s: float = 3600.0
    interrupted_s: float = 900.0  # the dialer's side lost an unanswered call: soon again, the person never heard it


_RETRY_FIELD = {"busy": "busy_s", "no_answer": "no_answer_s", "machine": "machine_s", "abandoned": "abandoned_s",
                "interrupted": "interrupted_s"}


def next_attempt_at(rules: RetryRules, outcome: str, now: datetime, attempts_before: int = 0) -> datetime:
    """When a lead whose attempt ended with ``outcome`` at ``now`` may be tried again."""
    delay = getattr(rules, _RETRY_FIELD.get(outcome, "failed_s"))
    if outcome == "no_answer":
        delay += rules.no_answer_shift_s * attempts_before
    return now + timedelta(seconds=delay)


@dataclass(frozen=True)
class NextStep:
    """Where a lead goes after an attempt: ``status`` (retry, done, callback, dnc) and, for a retry or a
    callback, when it is due (UTC)."""

    status: LeadStatus
    next_at: datetime | None = None


def after_attempt(rules: RetryRules, max_attempts: int, attempts: int, outcome: str, end: datetime,
                  disposition: str | None = None, callback_at: datetime | None = None) -> NextStep:
    """The lead's next state once an attempt ended at ``end`` with ``outcome`` and the agent's ``disposition``.

    Why one function: the store's ledger and the simulator both move leads on
    with it, so a simulated list is worked exactly as the daemon works a real
    one. ``attempts`` counts the attempts made, this one included. Any
    disposition but a callback or a do-not-call request closes the lead (a
    reached person was sold to or refused); an invalid number closes it too.
    """
    if disposition == "dnc_request":
        return NextStep(LeadStatus.DNC)
    if disposition == "callback" and callback_at is not None:
        return NextStep(LeadStatus.CALLBACK, callback_at)
    if disposition is not None or outcome == "invalid" or attempts >= max_attempts:
        return NextStep(LeadStatus.DONE)
    return NextStep(LeadStatus.RETRY, next_attempt_at(rules, outcome, end, attempts - 1))


@dataclass(frozen=True)
class LeadHistory:
    """What the rules need to know about one lead: its zones, DNC state and attempt times (UTC)."""

    zones: tuple[str, ...]
    on_dnc: bool = False
    attempts: tuple[datetime, ...] = ()
    last_abandoned_at: datetime | None = None
    last_refusal_at: datetime | None = None
    due_at: datetime | None = None
    final: bool = False


def refusal(profile: CallingProfile, lead: LeadHistory, now: datetime) -> str | None:
    """Why the lead must not be dialled at ``now`` (a short reason code), or None when it may be."""
    checks = (
        (lead.final, "final"),
        (lead.on_dnc, "dnc"),
        (lead.due_at is not None and now < lead.due_at, "not_due"),
        (len(lead.attempts) >= profile.max_attempts, "max_attempts"),
        (_over_rolling_cap(profile, lead, now), "rolling_cap"),
        (_within(lead.last_abandoned_at, timedelta(hours=profile.abandon_quarantine_h), now), "abandon_quarantine"),
        (profile.refusal_cooloff_days is not None
         and _within(lead.last_refusal_at, timedelta(days=profile.refusal_cooloff_days or 0), now), "refusal_cooloff"),
        (not in_window(profile, lead.zones, now), "outside_window"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _within(moment: datetime | None, span: timedelta, now: datetime) -> bool:
    return moment is not None and now - moment < span


def _over_rolling_cap(profile: CallingProfile, lead: LeadHistory, now: datetime) -> bool:
    if profile.rolling_cap is None:
        return False
    count, days = profile.rolling_cap
    since = now - timedelta(days=days)
    return sum(1 for t in lead.attempts if t > since) >= count


CLOSED_AS = {"final": LeadStatus.DONE, "dnc": LeadStatus.DNC, "max_attempts": LeadStatus.DONE}
"""The refusals that never lift, and the status each closes a lead with (the claim's and the simulator's)."""
PERMANENT = frozenset(CLOSED_AS)


def dialable_from(profile: CallingProfile, lead: LeadHistory, now: datetime) -> datetime | None:
    """The earliest moment at or after ``now`` when ``refusal`` lets the lead be dialled; None if never.

    Why: a lead blocked only for now (outside its window, quarantined, not due)
    is rescheduled to this moment, so it stops crowding the head of the queue.
    """
    moment: datetime | None = now
    for _ in range(16):
        assert moment is not None
        reason = refusal(profile, lead, moment)
        if reason is None or reason in PERMANENT:
            return moment if reason is None else None
        moment = _lifted_at(profile, lead, reason, moment)
        if moment is None:
            return None
    return None


def _lifted_at(profile: CallingProfile, lead: LeadHistory, reason: str, now: datetime) -> datetime | None:
    if reason == "outside_window":
        return next_open(profile, lead.zones, now)
    if reason == "not_due":
        return lead.due_at
    if reason == "abandon_quarantine":
        assert lead.last_abandoned_at is not None  # ``refusal`` names this reason only after an abandon
        return lead.last_abandoned_at + timedelta(hours=profile.abandon_quarantine_h)
    if reason == "refusal_cooloff":
        assert lead.last_refusal_at is not None  # likewise only after a refusal
        return lead.last_refusal_at + timedelta(days=profile.refusal_cooloff_days or 0)
    assert profile.rolling_cap is not None  # the one reason left: over the rolling cap
    count, days = profile.rolling_cap
    recent = sorted(t for t in lead.attempts if t > now - timedelta(days=days))
    return recent[-count] + timedelta(days=days)


T = TypeVar("T")


def take_in_priority(take: Callable[[LeadStatus, int], list[T]], n: int, fresh_share: float = 0.0) -> list[T]:
    """Up to ``n`` leads: due callbacks first, then retries and fresh leads, ``fresh_share`` of the rest fresh.

    ``take(queue, k)`` returns up to k leads from queue ``CALLBACK``, ``RETRY``
    or ``NEW`` (``lists.lifecycle.QUEUES``). Slots one queue cannot fill go
    to the other, so a mix never leaves agents idle while leads wait. The
    store's claim and the simulator's list both call this, each with its
    campaign's ``fresh_share``, so they order leads alike.
    """
    callbacks = take(LeadStatus.CALLBACK, n)
    rest = n - len(callbacks)
    retries = take(LeadStatus.RETRY, rest - round(rest * fresh_share))
    fresh = take(LeadStatus.NEW, rest - len(retries))
    retries += take(LeadStatus.RETRY, rest - len(retries) - len(fresh))
    return callbacks + retries + fresh

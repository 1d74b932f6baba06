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
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

import holidays

from lists.lifecycle import LeadStatus

__all__ = ["CallingProfile", "Counted", "Limit", "Window", "RetryRules", "LeadHistory", "in_window", "next_open",
           "never_open", "next_attempt_at", "NextStep", "after_attempt", "refusal", "dialable_from", "take_in_priority",
           "PERMANENT", "CLOSED_AS"]

Window = tuple[time, time]


class Counted(StrEnum):
    """What a contact limit counts: every dial, or only the calls a person answered (abandoned ones too)."""

    ATTEMPTS = "attempts"
    CONVERSATIONS = "conversations"


@dataclass(frozen=True)
class Limit:
    """At most ``most`` contacts (``counted``) with one person, across the company's campaigns, in any
    ``days`` rolling days; with ``calendar_day``, in one calendar day of the person's own zone."""

    counted: Counted
    most: int
    days: int = 1
    calendar_day: bool = False


@dataclass(frozen=True)
class CallingProfile:
    """A jurisdiction's calling rules for one purpose on one day (``lists.jurisdictions``). ``windows[d]``
    holds weekday d's local windows (0 = Monday); on a public holiday of ``holiday_country`` the
    ``holiday_windows`` hold instead (none: closed).

    Frozen and hashable, so rule evaluations can be cached per (profile, zone, moment).

    ``limits`` cap the contacts with one person (``Limit``).
    ``refusal_cooloff_days`` blocks contact after a refusal;
    ``abandon_quarantine_h`` blocks a re-call after an abandoned call.
    ``needs_consent``: the person must have given consent for the purpose,
    or have been a customer within ``relationship_days``.
    ``record_days`` is how long attempt records are kept to prove compliance,
    through an erasure and whatever a company's retention says: the US TSR
    asks 5 years; the anchors give no period for France or the UK, so they
    keep the US's (the cautious side for proving a call lawful).
    """

    name: str
    windows: tuple[tuple[Window, ...], ...]
    holiday_country: str | None = None
    max_attempts: int = 10
    limits: tuple[Limit, ...] = ()
    refusal_cooloff_days: int | None = None
    abandon_quarantine_h: float = 72.0
    record_days: int = 5 * 365 + 1  # US TSR 16 CFR 310.5: 5 years (with a leap day)
    holiday_windows: tuple[Window, ...] = ()
    needs_consent: bool = False
    relationship_days: int | None = None


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


@lru_cache(maxsize=8192)
def _open_in_zone(profile: CallingProfile, zone: str, now: datetime) -> bool:
    local = now.astimezone(_zone(zone))
    holiday = bool(profile.holiday_country) and local.date() in _holidays(profile.holiday_country or "", local.year)
    windows = profile.holiday_windows if holiday else profile.windows[local.weekday()]
    clock = local.time()
    return any(start <= clock < end for start, end in windows)


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
    """What the rules need to know about one lead: its zones, DNC state and attempt times (UTC).

    ``attempts`` are this lead's (its campaign's attempt cap counts them);
    ``person_attempts`` and ``conversations`` are the person's across the
    company's campaigns, which the contact ``limits`` count (None: the
    lead's own attempts stand for them, as in a one-campaign simulation).
    ``consented``: valid consent for the campaign's purpose; ``customer_at``:
    the person's last customer relationship (the Dutch exception)."""

    zones: tuple[str, ...]
    on_dnc: bool = False
    attempts: tuple[datetime, ...] = ()
    last_abandoned_at: datetime | None = None
    last_refusal_at: datetime | None = None
    due_at: datetime | None = None
    final: bool = False
    person_attempts: tuple[datetime, ...] | None = None
    conversations: tuple[datetime, ...] = ()
    consented: bool = False
    customer_at: datetime | None = None


def refusal(profile: CallingProfile, lead: LeadHistory, now: datetime) -> str | None:
    """Why the lead must not be dialled at ``now`` (a short reason code), or None when it may be."""
    checks = (
        (lead.final, "final"),
        (lead.on_dnc, "dnc"),
        (lead.due_at is not None and now < lead.due_at, "not_due"),
        (len(lead.attempts) >= profile.max_attempts, "max_attempts"),
        (profile.needs_consent and not _consented(profile, lead, now), "no_consent"),
        (_over_limit(profile, lead, now) is not None, "frequency"),
        (_within(lead.last_abandoned_at, timedelta(hours=profile.abandon_quarantine_h), now), "abandon_quarantine"),
        (profile.refusal_cooloff_days is not None
         and _within(lead.last_refusal_at, timedelta(days=profile.refusal_cooloff_days or 0), now), "refusal_cooloff"),
        (not in_window(profile, lead.zones, now), "outside_window"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _within(moment: datetime | None, span: timedelta, now: datetime) -> bool:
    return moment is not None and now - moment < span


def _consented(profile: CallingProfile, lead: LeadHistory, now: datetime) -> bool:
    if lead.consented:
        return True
    span = profile.relationship_days
    return span is not None and lead.customer_at is not None and now - lead.customer_at <= timedelta(days=span)


def _counted(limit: Limit, lead: LeadHistory) -> tuple[datetime, ...]:
    if limit.counted is Counted.CONVERSATIONS:
        return lead.conversations
    return lead.attempts if lead.person_attempts is None else lead.person_attempts


def _day_start(zone: str, now: datetime) -> datetime:
    local = now.astimezone(_zone(zone))
    return datetime.combine(local.date(), time(), tzinfo=_zone(zone)).astimezone(now.tzinfo)


def _limit_lifted_at(limit: Limit, lead: LeadHistory, now: datetime) -> datetime | None:
    """When ``limit`` lets the person be called again, if it blocks them at ``now`` (None: it does not)."""
    times = _counted(limit, lead)
    if limit.calendar_day:  # full in any candidate zone's today: wait for that zone's next midnight
        full = [zone for zone in lead.zones if sum(1 for t in times if t >= _day_start(zone, now)) >= limit.most]
        return max((_day_start(zone, _day_start(zone, now) + timedelta(hours=26)) for zone in full), default=None)
    recent = sorted(t for t in times if t > now - timedelta(days=limit.days))
    return recent[-limit.most] + timedelta(days=limit.days) if len(recent) >= limit.most else None


def _over_limit(profile: CallingProfile, lead: LeadHistory, now: datetime) -> datetime | None:
    """The latest moment a contact limit the person is at lifts, or None when none holds them back."""
    lifts = [lifted for limit in profile.limits if (lifted := _limit_lifted_at(limit, lead, now)) is not None]
    return max(lifts, default=None)


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
    if reason == "no_consent":
        return None  # until consent is recorded: the claim looks again in a day
    return _over_limit(profile, lead, now)  # the one reason left: a contact limit


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

"""Calling windows, holidays, caps, quarantines and retry delays, each at an explicit time."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lists.jurisdictions import PROFILES
from lists.rules import (
    LeadHistory,
    RetryRules,
    dialable_from,
    in_window,
    next_attempt_at,
    next_open,
    refusal,
)

US, FR = PROFILES["us"], PROFILES["fr"]
NY, LA = "America/New_York", "America/Los_Angeles"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("moment, expected", [
    (utc(2026, 11, 24, 12, 59), False),  # 07:59 in New York
    (utc(2026, 11, 24, 13, 0), True),  # 08:00
    (utc(2026, 11, 25, 1, 59), True),  # 20:59
    (utc(2026, 11, 25, 2, 0), False),  # 21:00
])
def test_us_window_is_8_to_21_local(moment, expected):
    assert in_window(US, (NY,), moment) is expected


def test_unknown_zone_uses_the_window_valid_in_every_candidate_zone():
    # 13:30 UTC: 08:30 in New York but 05:30 in Los Angeles.
    assert in_window(US, (NY,), utc(2026, 11, 24, 13, 30))
    assert not in_window(US, (NY, LA), utc(2026, 11, 24, 13, 30))
    assert not in_window(US, (), utc(2026, 11, 24, 18, 0))


@pytest.mark.parametrize("moment, expected", [
    (utc(2026, 11, 24, 9, 30), True),  # Tuesday 10:30 Paris
    (utc(2026, 11, 24, 12, 30), False),  # 13:30: lunch break
    (utc(2026, 11, 24, 18, 59), True),  # 19:59
    (utc(2026, 11, 28, 10, 0), False),  # Saturday
    (utc(2026, 7, 14, 9, 0), False),  # Bastille Day, a Tuesday
    (utc(2026, 11, 11, 10, 0), False),  # Armistice Day
])
def test_france_window_lunch_break_weekends_and_holidays(moment, expected):
    assert in_window(FR, ("Europe/Paris",), moment) is expected


NOON_NY = utc(2026, 11, 24, 17, 0)


def test_refusal_reasons_in_order():
    lead = LeadHistory(zones=(NY,))
    assert refusal(US, lead, NOON_NY) is None
    assert refusal(US, LeadHistory(zones=(NY,), on_dnc=True), NOON_NY) == "dnc"
    assert refusal(US, LeadHistory(zones=(NY,), due_at=NOON_NY + timedelta(minutes=1)), NOON_NY) == "not_due"
    tries = tuple(NOON_NY - timedelta(days=d) for d in range(1, 11))
    assert refusal(US, LeadHistory(zones=(NY,), attempts=tries), NOON_NY) == "max_attempts"
    assert refusal(US, LeadHistory(zones=(NY,)), utc(2026, 11, 24, 3, 0)) == "outside_window"


def test_abandoned_call_quarantines_for_72_hours():
    abandoned = NOON_NY - timedelta(hours=71, minutes=59)
    assert refusal(US, LeadHistory(zones=(NY,), last_abandoned_at=abandoned), NOON_NY) == "abandon_quarantine"
    assert refusal(US, LeadHistory(zones=(NY,), last_abandoned_at=abandoned - timedelta(minutes=2)), NOON_NY) is None


def test_france_rolling_cap_and_refusal_cooloff():
    tuesday = utc(2026, 11, 24, 9, 30)
    four = tuple(tuesday - timedelta(days=d) for d in (1, 5, 10, 29))
    assert refusal(FR, LeadHistory(zones=("Europe/Paris",), attempts=four), tuesday) == "frequency"
    older = tuple(tuesday - timedelta(days=d) for d in (1, 5, 10, 31))
    assert refusal(FR, LeadHistory(zones=("Europe/Paris",), attempts=older), tuesday) is None
    refused = LeadHistory(zones=("Europe/Paris",), last_refusal_at=tuesday - timedelta(days=59))
    assert refusal(FR, refused, tuesday) == "refusal_cooloff"
    assert refusal(US, LeadHistory(zones=(NY,), last_refusal_at=NOON_NY - timedelta(days=1)), NOON_NY) is None


def test_retry_delays_per_outcome_and_no_answer_moves_the_time_of_day():
    rules, now = RetryRules(), NOON_NY
    assert next_attempt_at(rules, "busy", now) == now + timedelta(minutes=10)
    assert next_attempt_at(rules, "abandoned", now) == now + timedelta(hours=72)
    assert next_attempt_at(rules, "interrupted", now) == now + timedelta(minutes=15), "the person never heard it"
    first, second = next_attempt_at(rules, "no_answer", now, 0), next_attempt_at(rules, "no_answer", now, 1)
    assert (second - first) == timedelta(hours=2.5)


def test_next_open_is_the_first_moment_the_window_opens_in_every_zone():
    # Monday 03:00 UTC: New York opens at 13:00 UTC, Honolulu (UTC-10) at 18:00 UTC; both must be open.
    assert next_open(US, (NY, "Pacific/Honolulu"), utc(2026, 11, 23, 3)) == utc(2026, 11, 23, 18)
    # Thursday 24 Dec 2026, 20:30 in Paris: Christmas, then the weekend; Monday 28 Dec 10:00 Paris.
    assert next_open(FR, ("Europe/Paris",), utc(2026, 12, 24, 19, 30)) == utc(2026, 12, 28, 9)
    # Guam (UTC+10) and Honolulu (UTC-10): both open from 22:00 to 07:00 UTC.
    assert next_open(US, ("Pacific/Guam", "Pacific/Honolulu"), utc(2026, 11, 23, 8)) == utc(2026, 11, 23, 22)
    assert next_open(US, (), utc(2026, 11, 23)) is None


ZONE_SETS = [(NY,), (LA,), ("Europe/Paris",), (NY, LA), ("Europe/Moscow", "Asia/Kamchatka")]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["us", "fr"]), st.sampled_from(ZONE_SETS),
       st.integers(0, 60 * 24 * 60), st.lists(st.integers(1, 40 * 1440), max_size=5),
       st.none() | st.integers(1, 100 * 60), st.none() | st.integers(1, 90 * 1440))
def test_dialable_from_is_dialable_and_nothing_earlier_by_the_minute(profile, zones, start_min, attempts_min,
                                                                     abandoned_min, refused_min):
    now = utc(2026, 11, 1) + timedelta(minutes=start_min)
    lead = LeadHistory(
        zones=zones, attempts=tuple(now - timedelta(minutes=m) for m in attempts_min),
        last_abandoned_at=None if abandoned_min is None else now - timedelta(minutes=abandoned_min),
        last_refusal_at=None if refused_min is None else now - timedelta(minutes=refused_min))
    rules = PROFILES[profile]
    moment = dialable_from(rules, lead, now)
    if moment is None:
        assert len(attempts_min) >= rules.max_attempts or next_open(rules, zones, now, days=60) is None
        return
    assert moment >= now and refusal(rules, lead, moment) is None
    if moment > now:
        assert refusal(rules, lead, moment - timedelta(minutes=1)) is not None

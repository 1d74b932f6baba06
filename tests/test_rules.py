"""Calling windows, holidays, caps, quarantines and retry delays, each at an explicit time."""

from datetime import UTC, datetime, timedelta

import pytest

from lists.rules import PROFILES, LeadHistory, RetryRules, in_window, next_attempt_at, refusal

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
    assert refusal(FR, LeadHistory(zones=("Europe/Paris",), attempts=four), tuesday) == "rolling_cap"
    older = tuple(tuesday - timedelta(days=d) for d in (1, 5, 10, 31))
    assert refusal(FR, LeadHistory(zones=("Europe/Paris",), attempts=older), tuesday) is None
    refused = LeadHistory(zones=("Europe/Paris",), last_refusal_at=tuesday - timedelta(days=59))
    assert refusal(FR, refused, tuesday) == "refusal_cooloff"
    assert refusal(US, LeadHistory(zones=(NY,), last_refusal_at=NOON_NY - timedelta(days=1)), NOON_NY) is None


def test_retry_delays_per_outcome_and_no_answer_moves_the_time_of_day():
    rules, now = RetryRules(), NOON_NY
    assert next_attempt_at(rules, "busy", now) == now + timedelta(minutes=10)
    assert next_attempt_at(rules, "abandoned", now) == now + timedelta(hours=72)
    first, second = next_attempt_at(rules, "no_answer", now, 0), next_attempt_at(rules, "no_answer", now, 1)
    assert (second - first) == timedelta(hours=2.5)

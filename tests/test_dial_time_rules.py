"""The daemon checks every calling rule again when a buffered lead is dialled, not only when it was claimed.

Why: leads wait in the claim buffer for up to ``max_age_s``; a window that
closes in the lead's own zone meanwhile (a US list spans four zones, the
campaign's hours follow one) must stop the dial.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.core.ports import ClaimedLead
from dialer.service.store_ports import ClaimBuffer, LeadRef
from lists.jurisdictions import PROFILES
from lists.rules import LeadHistory, in_window

ORIGIN = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # engine time 0: midnight in New York
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London")


class _Writer:
    """Only what the buffer asks of the writer here: leads given back."""

    def __init__(self) -> None:
        self.released: list[int] = []

    def release(self, keys: list[int]) -> None:
        self.released += keys


def _buffer(writer: Any, recheck: bool = True) -> ClaimBuffer:
    """A closed buffer (no claims are made): only hand-out is under test, so the store, loop and executor are
    never touched."""
    return ClaimBuffer(1, None, "test", ORIGIN, None, None, writer, recheck=recheck)  # type: ignore[arg-type]


def _lead(key: int, zone: str, claimed_s: float) -> ClaimedLead:
    history = LeadHistory(zones=(zone,), due_at=ORIGIN + timedelta(seconds=claimed_s))
    return ClaimedLead(key, f"+1555000{key:04d}", payload=LeadRef(key, 1, history, PROFILES["us"]))


def test_a_lead_claimed_before_its_window_closed_is_given_back_when_dialled_after():
    writer = _Writer()
    buffer = _buffer(writer)
    closes_s = 21 * 3600  # 21:00 in New York
    buffer.buffer.append((closes_s - 10, _lead(7, "America/New_York", closes_s - 10)))
    assert buffer.claim(1, closes_s + 10) == []
    assert writer.released == [7]


def test_without_a_profile_the_buffer_hands_out_what_it_claimed():
    writer = _Writer()
    buffer = _buffer(writer, recheck=False)
    lead = _lead(7, "America/New_York", 21 * 3600 - 10)
    buffer.buffer.append((21 * 3600 - 10, lead))
    assert buffer.claim(1, 21 * 3600 + 10) == [lead]


@settings(max_examples=200, deadline=None)
@given(claims=st.lists(st.tuples(st.sampled_from(ZONES), st.floats(0, 86_400 * 2)), min_size=1, max_size=20),
       wait_s=st.floats(0, 29))
def test_no_lead_is_handed_out_for_dialing_outside_its_window(claims, wait_s):
    writer = _Writer()
    buffer = _buffer(writer)
    leads = [_lead(k, zone, at) for k, (zone, at) in enumerate(claims)]
    dial_s = max(at for _, at in claims) + wait_s
    buffer.buffer.extend((dial_s - wait_s, lead) for lead in leads)
    handed = buffer.claim(len(leads), dial_s)
    moment = ORIGIN + timedelta(seconds=dial_s)
    assert all(in_window(PROFILES["us"], lead.payload.history.zones, moment) for lead in handed)
    assert sorted([lead.key for lead in handed] + writer.released) == list(range(len(leads)))  # none lost

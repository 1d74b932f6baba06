"""A (re)started campaign goes on from the abandons already spent, read from the store's attempts.

Why: the UK cap is per calendar day and the US one over 30 days, and a daemon
that restarts or takes a campaign over mid-day starts a new controller. Its
abandonment ledger must count what the attempt ledger already holds, or the
afternoon spends the whole day's budget again. The daemon-level check (the
counts a restarted daemon restores equal the attempts the killed one wrote) is
in ``tests/test_daemon_crash.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from lists.campaigns import create_campaign
from lists.models import Attempt, Lead, answers_by_day, to_db
from lists.store import open_store
from pacing.ledger import DAY_S, AbandonmentLedger, DayAnswers

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 10, 24)  # the UK clocks go back in the night after it: the next day lasts 25 hours


def _midnights(first: date, count: int) -> list[datetime]:
    return [datetime.combine(first + timedelta(days=k), time(0), tzinfo=LONDON) for k in range(count)]


@pytest.fixture
def store(tmp_path):
    factory = open_store(f"sqlite:///{tmp_path / 'dialer.db'}")
    with factory() as session:
        ours = create_campaign(session, "Tariffs", kind="tariff-switch", rules_profile="uk")
        other = create_campaign(session, "Loans", kind="loan-offer", rules_profile="uk")
        for campaign in (ours, other):
            session.add(Lead(campaign_id=campaign.id, phone_e164="+447700900123", zones="Europe/London",
                             fields={}, status="new", attempts=0))
        session.commit()
        yield factory, session, ours.id, other.id
    factory.kw["bind"].dispose()


def _attempt(session, campaign_id: int, answered: datetime | None, outcome: str, **more) -> None:
    """One attempt answered at ``answered`` (local), dialled 20 s before."""
    dialled = (answered or datetime.combine(DAY, time(12), tzinfo=LONDON)) - timedelta(seconds=20)
    lead = session.query(Lead).filter_by(campaign_id=campaign_id).one()
    session.add(Attempt(lead_id=lead.id, campaign_id=campaign_id, dialled_at=to_db(dialled),
                        answered_at=to_db(answered) if answered else None, outcome=outcome,
                        abandoned=outcome == "abandoned", **more))


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=LONDON)


def test_each_kind_of_answer_is_counted_as_the_controller_counts_it(store):
    factory, session, ours, other = store
    noon = at(DAY, 12)
    _attempt(session, ours, noon, "human", connected_at=to_db(noon))
    _attempt(session, ours, noon, "human", connected_at=to_db(noon))
    _attempt(session, ours, noon, "abandoned", message_played="safe_harbour")  # dropped at the connect limit
    _attempt(session, ours, noon, "abandoned")  # hung up while waiting
    _attempt(session, ours, noon, "machine", amd_result="machine")  # AMD's verdict: not a live answer
    _attempt(session, ours, noon, "machine", amd_result="human", connected_at=to_db(noon))  # an agent found it
    _attempt(session, ours, None, "no_answer")
    _attempt(session, ours, noon, "interrupted")
    _attempt(session, other, noon, "abandoned")  # another campaign's
    session.commit()
    [counts] = answers_by_day(session, ours, _midnights(DAY, 2))
    assert counts == DayAnswers(live=5, abandoned=2, amd_machines=1, agent_machines=1, dropped=1)


def test_answers_fall_on_their_local_day_by_answer_time_across_a_clock_change(store):
    factory, session, ours, _ = store
    sunday = DAY + timedelta(days=1)  # 25 hours long
    _attempt(session, ours, at(DAY, 23, 59, 50), "abandoned")  # dialled on Saturday, answered on Saturday
    _attempt(session, ours, at(sunday, 0, 0, 10), "human")  # dialled on Saturday, answered on Sunday
    late = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT again): still Sunday
    _attempt(session, ours, late.astimezone(LONDON), "human")
    _attempt(session, ours, at(sunday + timedelta(days=1), 0, 0, 5), "abandoned")  # Monday: after the last bound
    _attempt(session, ours, at(DAY - timedelta(days=1), 23, 59), "human")  # Friday: before the first bound
    session.commit()
    saturday, sunday_counts = answers_by_day(session, ours, _midnights(DAY, 3))
    assert (saturday.live, saturday.abandoned) == (1, 1)
    assert (sunday_counts.live, sunday_counts.abandoned) == (2, 0)


def _noon_ledger(morning: DayAnswers | None) -> AbandonmentLedger:
    """A ledger at noon with 60 live answers in the last 10 minutes, and ``morning`` restored (None: fresh)."""
    ledger = AbandonmentLedger(cap=0.03)
    if morning is not None:
        ledger.restore({0: morning})
    for k in range(60):
        ledger.live(NOON - 600 + 10 * k)
    return ledger


NOON, AFTERNOON_S = 12 * 3600.0, 6 * 3600.0


def test_a_morning_over_budget_restored_into_the_ledger_holds_the_afternoon_back():
    """A restart after a morning's burst (8% abandoned) leaves nothing to dial ahead with, and one at 3.2%
    leaves less than a fresh day: the afternoon brings the day back under the cap, as without the restart."""
    fresh = _noon_ledger(None).allowed_rate(NOON, AFTERNOON_S)
    assert fresh > 0.02
    assert _noon_ledger(DayAnswers(live=1000, abandoned=80)).allowed_rate(NOON, AFTERNOON_S) == 0.0
    near = _noon_ledger(DayAnswers(live=1000, abandoned=32))
    assert near.allowed_rate(NOON, AFTERNOON_S) < fresh - 0.001
    assert near.uk_rate(NOON) == pytest.approx(32 / 1060)


def test_thirty_days_restored_count_under_the_us_rule():
    ledger = AbandonmentLedger(cap=0.03)
    ledger.restore({day: DayAnswers(live=100, abandoned=3.5) for day in range(-29, 1)})
    assert ledger.us_rate(0.5 * DAY_S) == pytest.approx(0.035)
    assert ledger.us_rate(1.5 * DAY_S) == pytest.approx(0.035)  # tomorrow: 29 of those days still count
    assert ledger.uk_rate(1.5 * DAY_S) == 0.0

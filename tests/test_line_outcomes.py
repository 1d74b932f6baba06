"""The one mapping from what the line said to an attempt's outcome (``dialer.core.outcomes``), and what the
store does with the outcomes that are not the person's (not charged, retried soon, or as an abandon).

The real Asterisk's side of the same table is in ``tests/test_asterisk_outcomes_real.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dialer.core.calls import Call, CallState
from dialer.core.outcomes import OUTCOMES, STAGE_OF, LineEnd, Stage, outcome_of
from dialer.records import UNCHARGED, AttemptRecord, Outcome
from dialer.service.store_ports import interrupted_record, open_call_record
from lists.campaigns import create_campaign
from lists.models import Lead
from lists.selection import record_attempt

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_table_covers_every_stage_and_line_end_and_every_call_state_has_a_stage():
    assert set(OUTCOMES) == {(stage, end) for stage in Stage for end in LineEnd}
    assert set(STAGE_OF) == set(CallState)


@pytest.mark.parametrize("end", [LineEnd.SHUTDOWN, LineEnd.CRASH, LineEnd.DRIVER_LOST, LineEnd.HUNG_UP])
def test_the_dialers_side_losing_an_unanswered_line_is_interrupted_never_no_answer_or_failed(end):
    assert outcome_of(CallState.RINGING, end) is Outcome.INTERRUPTED


@pytest.mark.parametrize("end", [LineEnd.CONGESTION, LineEnd.NOT_PLACED])
def test_congestion_and_a_call_never_placed_are_failed(end):
    assert outcome_of(CallState.RINGING, end) is Outcome.FAILED


@pytest.mark.parametrize("state", [CallState.ANALYSING, CallState.QUEUED, CallState.SAFE_HARBOUR])
@pytest.mark.parametrize("end", list(LineEnd))
def test_an_answer_no_agent_reached_is_abandoned_whatever_ended_the_line(state, end):
    """Nothing in the ledger says "human" for a call no agent or message reached: a crash while AMD listened
    is an abandon (the conservative side), as is a person hanging up while waiting."""
    assert outcome_of(state, end) is Outcome.ABANDONED


def test_only_a_call_with_an_agent_is_human():
    humans = {stage for (stage, _), outcome in OUTCOMES.items() if outcome is Outcome.HUMAN}
    assert humans == {Stage.AGENT}


def test_a_drain_that_times_out_writes_by_the_same_table():
    origin = NOW
    ringing = Call(1, 1, "+441632960001", "all", 0, state=CallState.RINGING, dialled_s=1.0)
    waiting = Call(2, 2, "+441632960002", "all", 0, state=CallState.QUEUED, dialled_s=1.0, answered_s=9.0)
    in_amd = Call(3, 3, "+441632960003", "all", 0, state=CallState.ANALYSING, dialled_s=1.0, answered_s=9.0)
    outcomes = [open_call_record(c, origin).outcome for c in (ringing, waiting, in_amd)]  # type: ignore[union-attr]
    assert outcomes == [Outcome.INTERRUPTED, Outcome.ABANDONED, Outcome.ABANDONED]


@pytest.fixture
def sqlite_store(tmp_path):
    from lists.store import open_store

    factory = open_store(f"sqlite:///{tmp_path / 'dialer.db'}")
    yield factory
    factory.kw["bind"].dispose()


def _written(factory, record: AttemptRecord) -> Lead:
    with factory() as session:
        campaign = create_campaign(session, "Loans", kind="loan-offer", rules_profile="uk")
        lead = Lead(campaign_id=campaign.id, phone_e164="+447700900123", zones="Europe/London", fields={},
                    status="claimed", attempts=1)
        session.add(lead)
        session.flush()
        record_attempt(session, campaign, lead, record)
        return session.scalars(select(Lead)).one()


@pytest.mark.parametrize("outcome, charged, wait", [
    (Outcome.BUSY, True, timedelta(minutes=10)),
    (Outcome.FAILED, False, timedelta(hours=1)),             # congestion: not charged, as documented
    (Outcome.INTERRUPTED, False, timedelta(minutes=15)),     # shutdown or crash before an answer: soon again
    (Outcome.ABANDONED, True, timedelta(hours=72)),          # after an answer: the 72-hour quarantine
])
def test_what_the_lead_is_charged_and_when_it_is_dialled_again(sqlite_store, outcome, charged, wait):
    lead = _written(sqlite_store, AttemptRecord(outcome=outcome, dialled_at=NOW, hangup_at=NOW))
    assert (outcome not in UNCHARGED) is charged
    assert lead.attempts == 1 + charged
    assert lead.next_at is not None and lead.next_at.replace(tzinfo=UTC) - NOW == wait


def test_an_attempt_whose_answer_is_unknown_waits_as_an_abandon_but_is_not_charged(sqlite_store):
    """A crashed daemon leaves only a dial mark: the call may have reached a person nobody served."""
    lead = _written(sqlite_store, interrupted_record(NOW))
    assert lead.attempts == 1
    assert lead.next_at is not None and lead.next_at.replace(tzinfo=UTC) - NOW == timedelta(hours=72)

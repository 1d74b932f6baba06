"""The lead's and the campaign's state tables (lists.lifecycle): whole, reachable, and obeyed by every path."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from benchmarks.scenarios import day_of
from dialer.api import schemas
from dialer.drivers.sim.scenario import parse_scenario
from dialer.errors import IllegalTransition
from dialer.records import Outcome
from lists.campaigns import create_campaign
from lists.jurisdictions import capped_profile
from lists.lifecycle import (
    CAMPAIGN_ACTIONS,
    CLOSED,
    LEAD_MOVES,
    QUEUES,
    CampaignState,
    LeadStatus,
    move_lead,
    moving_to,
    requeued,
)
from lists.models import Lead
from lists.reports import STATUS_LABELS
from lists.rules import CLOSED_AS, RetryRules, after_attempt
from lists.selection import claim_leads, release_leads
from simulation.leads import SimList

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

NOON_NY = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def _reachable(table, start):
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# ---- the lead's table ------------------------------------------------------------------------------------------

def test_the_lead_table_covers_its_whole_enum_and_every_status_is_reachable():
    assert set(LEAD_MOVES) == set(LeadStatus)
    assert all(moves <= set(LeadStatus) and status not in moves for status, moves in LEAD_MOVES.items())
    assert _reachable(LEAD_MOVES, LeadStatus.NEW) == set(LeadStatus)
    erased = LeadStatus.ERASED  # nothing is left to call: its DNC entry outlives it (lists.privacy)
    assert all(LeadStatus.DNC in _reachable(LEAD_MOVES, status)
               for status in set(LeadStatus) - {LeadStatus.DNC, erased})
    assert LEAD_MOVES[erased] == frozenset()
    assert {status for status in LeadStatus if erased in LEAD_MOVES[status]} == set(LeadStatus) - {
        erased, LeadStatus.CLAIMED}  # a lead being dialled is erased after its call


def test_every_table_keyed_by_a_status_covers_it():
    assert set(STATUS_LABELS) == set(LeadStatus)
    assert set(QUEUES) | CLOSED | {LeadStatus.CLAIMED} == set(LeadStatus)  # open, in flight or closed
    assert set(QUEUES) == LEAD_MOVES[LeadStatus.CLAIMED] - CLOSED  # a release goes back to any queue
    assert set(CLOSED_AS.values()) <= CLOSED
    assert all(closed in LEAD_MOVES[queue] for queue in QUEUES for closed in CLOSED_AS.values())  # a claim closes
    assert moving_to(LeadStatus.DNC) == set(LeadStatus) - {LeadStatus.DNC, LeadStatus.ERASED}  # closes any lead left


@pytest.mark.parametrize("start", list(LeadStatus))
@pytest.mark.parametrize("to", list(LeadStatus))
def test_a_lead_moves_exactly_where_its_table_allows(start, to):
    if to in LEAD_MOVES[start]:
        assert move_lead(start, to) is to
        assert move_lead(start.value, to) is to  # the stored string reads as its member
    else:
        with pytest.raises(IllegalTransition, match=f"lead 7: {start.value} -> {to.value} is not allowed"):
            move_lead(start, to, 7)


@given(outcome=st.sampled_from(list(Outcome)), attempts=st.integers(1, 12), max_attempts=st.integers(1, 10),
       disposition=st.sampled_from([None, "accepted", "refused", "callback", "dnc_request"]),
       callback=st.booleans())
def test_wherever_an_attempt_sends_a_lead_the_table_lets_a_claimed_lead_go(outcome, attempts, max_attempts,
                                                                          disposition, callback):
    step = after_attempt(RetryRules(), max_attempts, attempts, outcome, NOON_NY, disposition,
                         NOON_NY + timedelta(days=1) if callback else None)
    assert move_lead(LeadStatus.CLAIMED, step.status) is step.status


@given(attempts=st.integers(0, 10), last=st.sampled_from([None, "callback", "refused", "no_answer", "busy"]))
def test_a_released_lead_goes_back_to_a_queue(attempts, last):
    assert requeued(attempts, last) in QUEUES


def test_the_store_gives_a_released_lead_back_to_the_queue_it_was_claimed_from(store):
    """One lead in each queue, claimed, then released (as a buffer does): each is back where it was."""
    with store() as s:
        c = create_campaign(s, "Queues", "loan-offer", countries=["US"])
        due = (NOON_NY - timedelta(hours=1)).replace(tzinfo=None)
        rows = {LeadStatus.NEW: Lead(campaign_id=c.id, phone_e164="+12025550101", zones="America/New_York"),
                LeadStatus.RETRY: Lead(campaign_id=c.id, phone_e164="+12025550102", zones="America/New_York",
                                       status=LeadStatus.RETRY, attempts=1, last_disposition="no_answer"),
                LeadStatus.CALLBACK: Lead(campaign_id=c.id, phone_e164="+12025550103", zones="America/New_York",
                                          status=LeadStatus.CALLBACK, attempts=1, last_disposition="callback")}
        for lead in rows.values():
            lead.next_at = due
        s.add_all(rows.values())
        s.commit()
        ids = {status: lead.id for status, lead in rows.items()}
        claimed = claim_leads(s, c, 3, NOON_NY)
        assert {lead.status for lead in claimed} == {LeadStatus.CLAIMED}
        assert release_leads(s, [lead.id for lead in claimed], "dialer") == 3
        s.commit()
        now = dict(s.execute(select(Lead.id, Lead.status)).all())
        assert {status: now[lead_id] for status, lead_id in ids.items()} == {status: status for status in ids}
        assert all(isinstance(status, LeadStatus) for status in now.values())  # the column reads as members


def test_the_store_refuses_a_status_that_is_no_member(store):
    with store() as s:
        c = create_campaign(s, "Typo", "loan-offer", countries=["US"])
        s.add(Lead(campaign_id=c.id, phone_e164="+12025550101", zones="America/New_York", status="retyr"))
        with pytest.raises(Exception, match="retyr"):
            s.commit()


# ---- the simulator's list --------------------------------------------------------------------------------------

def _sim_list(size: int, fresh_share: float | None = None) -> SimList:
    data = day_of(1)
    if fresh_share is not None:
        data["rules"]["fresh_share"] = fresh_share
    scenario = parse_scenario(data)
    origin = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 09:00 in New York
    return SimList(scenario, np.zeros(size, dtype=int), origin, capped_profile("us", 6))


@pytest.mark.parametrize(("fresh_share", "retries"), [(None, 4), (0.0, 4), (0.5, 2), (1.0, 0)])
def test_the_simulated_list_mixes_fresh_leads_in_as_the_store_claim_does(fresh_share, retries):
    """Four leads busy at 09:00 are due again at 09:10; of the next four claimed, ``fresh_share`` are fresh
    (the store's claim: test_store's fresh_share test). No share given: retries first, as before."""
    leads = _sim_list(10, fresh_share)
    first = leads.take(4, 0.0)
    assert {lead.status for lead in first} == {LeadStatus.CLAIMED}
    for lead in first:
        leads.finish(lead, Outcome.BUSY, leads.moment(0.0), leads.moment(0.0))
    assert {lead.status for lead in first} == {LeadStatus.RETRY}
    again = leads.take(4, 700.0)
    assert sum(lead in first for lead in again) == retries
    assert {lead.status for lead in again} == {LeadStatus.CLAIMED}


def test_the_simulated_list_closes_a_lead_by_the_same_table():
    leads = _sim_list(2)
    reached, invalid = leads.take(2, 0.0)
    leads.finish(reached, Outcome.HUMAN, leads.moment(0.0), leads.moment(60.0), "accepted")
    leads.finish(invalid, Outcome.INVALID, leads.moment(0.0), leads.moment(1.0))
    assert (reached.status, invalid.status, leads.finished) == (LeadStatus.DONE, LeadStatus.DONE, 1.0)
    with pytest.raises(IllegalTransition, match="done -> claimed"):
        reached.move(LeadStatus.CLAIMED)


def test_a_scenario_refuses_a_fresh_share_out_of_range():
    data = day_of(1)
    data["rules"]["fresh_share"] = 1.5
    with pytest.raises(Exception, match="fresh_share"):
        parse_scenario(data)


# ---- the campaign's table --------------------------------------------------------------------------------------

def test_the_campaign_actions_cover_the_enum_and_reach_every_state_the_daemon_sets():
    """Each state is some action's start or target, or the daemon's own step (stopping -> stopped);
    ``completed`` is declared only."""
    moves = {state: set() for state in CampaignState}
    for sources, to in CAMPAIGN_ACTIONS.values():
        for source in sources:
            moves[source].add(to)
    moves[CampaignState.STOPPING].add(CampaignState.STOPPED)  # the daemon, once nothing is open
    assert _reachable(moves, CampaignState.INITIALIZED) == set(CampaignState) - {CampaignState.COMPLETED}
    assert schemas.CampaignState is CampaignState  # the API's schema is the store's word


def test_words_equal_the_strings_the_store_holds():
    assert LeadStatus.NEW == "new" and CampaignState.RUNNING == "running"
    assert {"claimed": 1}[LeadStatus.CLAIMED] == 1  # and hash alike

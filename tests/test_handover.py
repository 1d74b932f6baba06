"""Results a paused owner handed over, applied by the campaign's owner (``lists.handover``), on SQLite and PostgreSQL.

The store is brought to where a takeover leaves it: the old owner (token 1)
claimed and marked leads, the new owner (token 2) settled them as
"interrupted" (``store_ports.settle``, the daemon's own code), and the old
owner's real results were handed over. Whatever the results and whatever
became of each lead since, applying them loses no attempt and counts none
twice, honours every DNC request, and applying again changes nothing.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from dialer.records import UNCHARGED, AttemptRecord, Outcome
from dialer.service.cluster import Fence
from dialer.service.store_ports import recover, settle
from lists.campaigns import create_campaign
from lists.handover import apply_handovers, hand_over, pending_campaigns
from lists.lifecycle import LeadStatus
from lists.models import Attempt, AttemptHandover, Campaign, DncEntry, HandoverResult, Lead, as_utc, ledger_days, to_db
from lists.selection import claim_leads, record_attempt

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # noon in New York, a Tuesday: the leads' window is open
OLD, NEW = 1, 2  # the paused owner's token, the new owner's


def _record(kind: str, dialled: datetime) -> AttemptRecord:
    """The real result of a dial at ``dialled``, as the old owner's engine made it."""
    answered, hangup = dialled + timedelta(seconds=9), dialled + timedelta(seconds=70)

    def talked(disposition: str, **more: object) -> AttemptRecord:
        return AttemptRecord(Outcome.HUMAN, dialled, answered_at=answered, connected_at=answered + timedelta(seconds=1),
                             hangup_at=hangup, agent="a1", disposition=disposition, **more)  # type: ignore[arg-type]

    made = {
        "sale": lambda: talked("accepted"),
        "refusal": lambda: talked("refused", refusal_reason="too_expensive"),
        "dnc": lambda: talked("dnc_request"),
        "callback": lambda: talked("callback", callback_owner="a1", callback_at=NOW + timedelta(days=1)),
        "abandoned": lambda: AttemptRecord(Outcome.ABANDONED, dialled, answered_at=answered,
                                           hangup_at=answered + timedelta(seconds=2), message_played="safe_harbour"),
        "no_answer": lambda: AttemptRecord(Outcome.NO_ANSWER, dialled, hangup_at=dialled + timedelta(seconds=25)),
        "machine": lambda: AttemptRecord(Outcome.MACHINE, dialled, answered_at=answered, amd_result="machine",
                                         hangup_at=answered + timedelta(seconds=3)),
    }
    return made[kind]()


KINDS = ("sale", "refusal", "dnc", "callback", "abandoned", "no_answer", "machine")
SINCE = ("untouched", "dialled_again", "claimed_now", "unmatched")


def _expected(kind: str, last_attempt: bool) -> LeadStatus:
    """Where an untouched lead goes, by the rules written out again: reached people are done unless they asked
    for a call back or for no call at all; the rest retry, unless that was their last attempt."""
    reached = {"sale": LeadStatus.DONE, "refusal": LeadStatus.DONE, "dnc": LeadStatus.DNC,
               "callback": LeadStatus.CALLBACK}
    return reached.get(kind, LeadStatus.DONE if last_attempt else LeadStatus.RETRY)


@dataclass(frozen=True)
class Dial:
    lead_id: int
    phone: str
    kind: str
    since: str
    dialled_at: datetime


def _taken_over(session, specs: list[tuple[str, str]], max_attempts: int) -> tuple[Campaign, list[Dial]]:
    """A campaign whose old owner dialled one lead per spec and was taken over; each lead then left as its
    ``since`` says, and each dial's result (its ``kind``) handed over."""
    for table in (AttemptHandover, Attempt, DncEntry, Lead, Campaign):
        session.execute(delete(table))
    campaign = create_campaign(session, "Loans", "loan-offer", countries=["US"], max_attempts=max_attempts)
    session.add_all(Lead(campaign_id=campaign.id, phone_e164=f"+1202555{i:04d}", zones="America/New_York",
                         fields={}, status="new") for i in range(len(specs)))
    session.commit()
    leads = claim_leads(session, campaign, len(specs), NOW, claimer="d1", token=OLD)
    marks = {lead.id: NOW + timedelta(seconds=k, microseconds=123457) for k, lead in enumerate(leads)}
    for lead in leads:
        lead.dial_started_at = to_db(marks[lead.id])
    session.commit()
    settle(session, Fence(campaign.id, "d2", NEW))
    dials = [Dial(lead.id, lead.phone_e164, kind, since if max_attempts > 1 or since != "dialled_again"
                  else "untouched", marks[lead.id]) for lead, (kind, since) in zip(leads, specs, strict=True)]
    for dial in dials:
        lead = session.get(Lead, dial.lead_id)
        if dial.since == "dialled_again":
            record_attempt(session, campaign, lead, AttemptRecord(Outcome.NO_ANSWER, NOW + timedelta(hours=80),
                                                                  hangup_at=NOW + timedelta(hours=80, seconds=25)))
        elif dial.since == "claimed_now":
            lead.status, lead.claimed_by = LeadStatus.CLAIMED, "d2"
        shift = timedelta(seconds=0.5) if dial.since == "unmatched" else timedelta(0)  # no mark was committed
        hand_over(session, campaign.id, dial.lead_id, _record(dial.kind, dial.dialled_at + shift), OLD, NOW)
    session.commit()
    return campaign, dials


def _snapshot(session) -> tuple:
    return (session.execute(select(Attempt.id, Attempt.lead_id, Attempt.dialled_at, Attempt.outcome,
                                   Attempt.disposition, Attempt.hangup_at).order_by(Attempt.id)).all(),
            session.execute(select(Lead.id, Lead.status, Lead.attempts, Lead.next_at, Lead.last_disposition,
                                   Lead.last_abandoned_at).order_by(Lead.id)).all(),
            session.scalars(select(DncEntry.phone_e164).order_by(DncEntry.phone_e164)).all())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(SINCE)), min_size=1, max_size=12),
       max_attempts=st.sampled_from([1, 5]))
def test_applying_loses_no_attempt_counts_none_twice_honours_dnc_and_is_idempotent(store, specs, max_attempts):
    with store() as session:
        campaign, dials = _taken_over(session, specs, max_attempts)
        before = {lead.id: lead.status for lead in session.scalars(select(Lead))}
        applied = apply_handovers(session, campaign, NEW, NOW + timedelta(minutes=1))
        assert len(applied) == len(dials)
        after = _snapshot(session)
        assert apply_handovers(session, campaign, NEW, NOW + timedelta(minutes=2)) == []  # nothing left to apply
        assert _snapshot(session) == after
        attempts = {(row.lead_id, as_utc(row.dialled_at)): row for row in session.scalars(select(Attempt))}
        assert len(attempts) == session.scalar(select(func.count()).select_from(Attempt))  # no dial twice
        assert len(attempts) == len(dials) + sum(d.since == "dialled_again" for d in dials)  # none lost or added
        listed = set(session.scalars(select(DncEntry.phone_e164)))
        for dial in dials:
            row, lead = attempts[(dial.lead_id, dial.dialled_at)], session.get(Lead, dial.lead_id)
            charged = [r for r in attempts.values() if r.lead_id == dial.lead_id and r.outcome not in UNCHARGED]
            assert lead.attempts == len(charged)
            assert (dial.phone in listed) == (dial.kind == "dnc")
            matched = dial.since != "unmatched"
            assert row.outcome == (_record(dial.kind, dial.dialled_at).outcome if matched else Outcome.INTERRUPTED)
            if matched:
                assert row.data["handed_over_from"] == OLD and row.lease_token == NEW
            if dial.kind == "dnc":
                assert lead.status == LeadStatus.DNC  # whatever became of the dial: always honoured
            elif dial.since == "untouched":
                assert lead.status == _expected(dial.kind, last_attempt=max_attempts == 1)
            else:
                assert lead.status == before[dial.lead_id]  # left to the later dial (or the claim)
            if dial.kind == "abandoned" and matched:
                assert as_utc(lead.last_abandoned_at) >= dial.dialled_at  # its quarantine holds
        results = dict(session.execute(select(AttemptHandover.lead_id, AttemptHandover.result)).all())
        assert all(results[d.lead_id] == (HandoverResult.UNMATCHED if d.since == "unmatched" else
                                          HandoverResult.REPLACED if d.since == "untouched" else
                                          HandoverResult.CORRECTED) for d in dials)


def test_an_untouched_lead_moves_on_as_if_its_result_had_been_written_at_once(store):
    """The lead of a handed-over callback waits for its appointment, with its agent; a refusal keeps its reason."""
    with store() as session:
        campaign, dials = _taken_over(session, [("callback", "untouched"), ("refusal", "untouched")], 5)
        apply_handovers(session, campaign, NEW, NOW)
        callback, refused = (session.get(Lead, d.lead_id) for d in dials)
        assert (callback.status, as_utc(callback.next_at), callback.callback_owner) == (
            LeadStatus.CALLBACK, NOW + timedelta(days=1), "a1")
        assert (refused.status, refused.refusal_reason, refused.attempts) == (LeadStatus.DONE, "too_expensive", 1)


def test_a_result_handed_over_twice_is_queued_once(store):
    """A commit the connection lost is retried: the dial's key keeps the second one out."""
    with store() as session:
        campaign, (dial,) = _taken_over(session, [("sale", "untouched")], 5)
        assert not hand_over(session, campaign.id, dial.lead_id, _record("sale", dial.dialled_at), OLD, NOW)
        session.commit()
        assert session.scalar(select(func.count()).select_from(AttemptHandover)) == 1


def test_the_answers_a_result_brings_are_counted_by_the_ledgers_own_query(store):
    """What the owner adds to its run's ledger: the attempts that now hold the results, on their answer's day."""
    with store() as session:
        campaign, dials = _taken_over(session, [("abandoned", "untouched"), ("sale", "untouched"),
                                                ("no_answer", "untouched")], 5)
        first = NOW.date().toordinal()
        ids = [a.attempt_id for a in apply_handovers(session, campaign, NEW, NOW)]
        counted = ledger_days(session, campaign.id, "UTC", NOW.date(), first, ids)[0]
        assert (counted.live, counted.abandoned, counted.dropped) == (2, 1, 1)
        assert ledger_days(session, campaign.id, "UTC", NOW.date(), first, [])[0].live == 0


def test_a_single_daemon_applies_what_a_cluster_left_waiting_at_its_start(store):
    with store() as session:
        campaign, (dial,) = _taken_over(session, [("dnc", "untouched")], 5)
        assert pending_campaigns(session, [campaign.id]) == {campaign.id}
    recover(store, "dialer", [campaign.id])
    with store() as session:
        assert pending_campaigns(session, [campaign.id]) == set()
        assert session.get(Lead, dial.lead_id).status == LeadStatus.DNC


@pytest.mark.pg
@pytest.mark.skipif(not os.environ.get("DIALER_TEST_PG_URL"), reason="needs PostgreSQL (README test command)")
def test_two_appliers_at_once_apply_each_result_once(store_url):
    """SKIP LOCKED and the conditional UPDATE: racing appliers share the rows, none applied twice."""
    if not store_url.startswith("postgresql"):
        pytest.skip("the concurrency guarantee under test is PostgreSQL's row locks")
    from lists.store import open_store

    factory = open_store(store_url)
    with factory() as session:
        campaign, dials = _taken_over(session, [("sale", "untouched")] * 60, 5)
    done: list[list] = []

    def applier() -> None:
        with factory() as session:
            done.append(apply_handovers(session, session.get(Campaign, campaign.id), NEW, NOW, limit=7))

    while not done or any(done[-4:]):
        threads = [threading.Thread(target=applier) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ids = [a.attempt_id for batch in done for a in batch]
    assert len(ids) == len(set(ids)) == len(dials)
    factory.kw["bind"].dispose()


# ---- the daemon's side: the writer hands over, the owner applies (PostgreSQL: the lease and its fence) -----------

@pytest.fixture
def cluster_store():
    """A database of its own on the shared server (the lease SQL is PostgreSQL's)."""
    from lists.store import open_store
    from tests.cluster_helpers import base_url, fresh_database

    with fresh_database(base_url()) as url:
        factory = open_store(url)
        yield factory
        factory.kw["bind"].dispose()


def _paused_owner(factory) -> tuple[Fence, Fence, list[Dial]]:
    """d1 (token 1) dialled an abandoned call and a DNC request, then d2 took the campaign over (token 2) and
    settled both as interrupted: what d1 finds when it wakes. The two dials' results are not handed over yet."""
    from dialer.service.cluster import ensure_leases, take

    with factory() as session:
        campaign = create_campaign(session, "Loans", "loan-offer", countries=["US"])
        session.add_all(Lead(campaign_id=campaign.id, phone_e164=f"+1202555{i:04d}", zones="America/New_York",
                             fields={}, status="new") for i in range(2))
        session.commit()
        ensure_leases(session, [campaign.id])
        old = take(session, campaign.id, "d1", 30.0)
        session.commit()
        assert old is not None
        leads = claim_leads(session, campaign, 2, NOW, claimer="d1", token=old.token)
        for k, lead in enumerate(leads):
            lead.dial_started_at = to_db(NOW + timedelta(seconds=k))
        session.commit()
        dials = [Dial(lead.id, lead.phone_e164, kind, "untouched", NOW + timedelta(seconds=k))
                 for k, (lead, kind) in enumerate(zip(leads, ("abandoned", "dnc"), strict=True))]
        new = take(session, campaign.id, "d2", 30.0, now=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1))
        assert new is not None
        settle(session, new)
    return old, new, dials


@pytest.mark.pg
def test_a_paused_owners_refused_results_are_handed_over_and_its_agents_log_kept(cluster_store):
    import asyncio

    from dialer.service.store_ports import Writer
    from lists.lifecycle import Presence
    from lists.models import PresenceEvent
    from lists.presence import PresenceChange

    old, _, dials = _paused_owner(cluster_store)

    async def wake() -> list[Fence]:
        loop, fenced = asyncio.get_running_loop(), []
        writer = Writer(cluster_store, "d1", loop, on_fenced=fenced.append)
        writer.start()
        for dial in dials:
            writer.attempt(old.campaign_id, dial.lead_id, _record(dial.kind, dial.dialled_at), old)
        writer.presence(PresenceChange(old.campaign_id, "a1", NOW, Presence.LOG_OUT), old)
        assert await loop.run_in_executor(None, writer.stop, 10.0)
        await asyncio.sleep(0.01)  # the loop hears of the fence
        assert (writer.refused, writer.handed_over, writer.written) == (3, 2, 0)
        return fenced

    assert asyncio.run(wake()) == [old]
    with cluster_store() as session:
        handed = session.scalars(select(AttemptHandover).order_by(AttemptHandover.lead_id)).all()
        assert [(h.lead_id, as_utc(h.dialled_at), h.token, h.applied_at) for h in handed] == [
            (d.lead_id, d.dialled_at, old.token, None) for d in dials]
        assert AttemptRecord.from_json(handed[1].record) == _record("dnc", dials[1].dialled_at)
        assert session.scalars(select(PresenceEvent.agent)).all() == ["a1"]  # what the agent did, kept
        assert set(session.scalars(select(Attempt.outcome))) == {Outcome.INTERRUPTED}  # the ledger untouched


def _run(fence: Fence, origin: datetime):
    """A run of the new owner as its ownership sees it, its clock an hour past its origin."""
    from types import SimpleNamespace

    from pacing.ledger import AbandonmentLedger

    return SimpleNamespace(name="Loans", campaign_id=fence.campaign_id, fence=fence, origin=origin, zone="UTC",
                           ledger=AbandonmentLedger(), now_s=lambda: 3600.0)


@pytest.mark.pg
def test_the_owner_applies_them_once_and_its_ledger_counts_the_abandon_once(cluster_store):
    import asyncio
    from types import SimpleNamespace

    from dialer.service.cluster import LeaseTimes
    from dialer.service.ownership import Ownership

    old, new, dials = _paused_owner(cluster_store)
    with cluster_store() as session:
        for dial in dials:
            hand_over(session, old.campaign_id, dial.lead_id, _record(dial.kind, dial.dialled_at), old.token, NOW)
        session.commit()
    origin = NOW.replace(hour=0, minute=0, second=0)
    run = _run(new, origin)
    ownership = Ownership(SimpleNamespace(factory=cluster_store, runs=[run]), "d2", LeaseTimes(),  # type: ignore[arg-type]
                          [new.campaign_id])
    for _ in range(2):  # the second cycle finds nothing left
        asyncio.run(ownership._apply_handed_over())
    ownership.thread.shutdown(wait=True)
    today = run.ledger.days.pop(0)  # day 0: the run's origin is today's midnight
    assert (today.live, today.abandoned, today.dropped) == (2, 1, 1)  # the person asking for DNC, the abandon
    assert not any(day.live for day in run.ledger.days.values())
    with cluster_store() as session:
        assert [a.outcome for a in session.scalars(select(Attempt).order_by(Attempt.lead_id))] == [
            Outcome.ABANDONED, Outcome.HUMAN]
        assert session.scalars(select(DncEntry.phone_e164)).all() == [dials[1].phone]
        assert set(session.scalars(select(AttemptHandover.applied_token))) == {new.token}


@pytest.mark.pg
def test_a_result_handed_over_for_a_campaign_nobody_holds_is_applied_at_its_takeover(cluster_store):
    from dialer.service.cluster import LeaseTimes, release
    from dialer.service.ownership import Ownership

    old, new, (abandoned, dnc) = _paused_owner(cluster_store)
    with cluster_store() as session:
        hand_over(session, old.campaign_id, dnc.lead_id, _record("dnc", dnc.dialled_at), old.token, NOW)
        session.commit()
        assert release(session, new)  # d2 handed the campaign on before the result came
    from types import SimpleNamespace

    ownership = Ownership(SimpleNamespace(factory=cluster_store), "d3", LeaseTimes(), [new.campaign_id])  # type: ignore[arg-type]
    taken = ownership._take(new.campaign_id)
    ownership.thread.shutdown(wait=True)
    assert taken is not None and taken.fence.token == new.token + 1
    with cluster_store() as session:
        assert pending_campaigns(session, [new.campaign_id]) == set()
        assert session.get(Lead, dnc.lead_id).status == LeadStatus.DNC

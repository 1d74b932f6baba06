"""Claiming the next leads to dial, and writing what happened back to the ledger.

Why the claim re-checks everything: a lead selected a minute ago may since
have joined the DNC list, left its calling window or been abandoned on.
Compliance is decided here, at dial time, by the same pure rules the
simulator uses (``lists.rules``).

Concurrency: candidates are read with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, and every claim is a conditional UPDATE (``status`` must still be
dialable), so two claimers never get the same lead on any back end.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from dialer.records import UNCHARGED, AttemptRecord, Outcome
from lists.consent import consent_states
from lists.dnc import add_to_dnc
from lists.jurisdictions import capped_profile, lead_profile
from lists.lifecycle import LeadStatus, move_lead, requeued
from lists.models import Attempt, Campaign, DncEntry, Lead, as_utc, to_db
from lists.purposes import purpose_of
from lists.rules import (
    CLOSED_AS,
    CallingProfile,
    LeadHistory,
    NextStep,
    RetryRules,
    after_attempt,
    dialable_from,
    never_open,
    refusal,
    take_in_priority,
)

__all__ = ["Claim", "claim", "profile_for", "claim_leads", "record_attempt", "record_attempts",
           "correct_attempt", "honour_dnc", "release_leads", "release_orphans"]

_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # stands in for attempts older than any rolling cap's period
_UNREACHABLE_RECHECK = timedelta(days=1)  # no window opens within the look-ahead (e.g. a lead with no zone)
_OVERFETCH = 5  # quarters: read 25% more candidates than needed, so leads set aside rarely cost a second round
log = logging.getLogger(__name__)


def profile_for(campaign: Campaign) -> CallingProfile:
    """The campaign's own profile (its rules profile's hours and record period) with its attempt cap: what
    is the campaign's rather than one person's (its hours, its idle reasons)."""
    return capped_profile(campaign.rules_profile, campaign.max_attempts)


@dataclass(frozen=True)
class _Contact:
    """One attempt of the person's, in any of the company's campaigns."""

    lead_id: int
    at: datetime
    conversation: bool  # a person answered (an abandoned call too)


def _contacts(session: Session, company: str, keys: Collection[str], now: datetime) -> dict[str, list[_Contact]]:
    """The people's attempts of the last 31 days across the company's campaigns, by person (blind index); those
    not charged to anyone (a network failure, the dialer's own interruption) are no contact."""
    found: dict[str, list[_Contact]] = defaultdict(list)
    if not keys:
        return found
    rows = session.execute(
        select(Lead.phone_key, Attempt.lead_id, Attempt.dialled_at, Attempt.outcome)
        .join(Attempt, Attempt.lead_id == Lead.id).join(Campaign, Campaign.id == Lead.campaign_id)
        .where(Campaign.company == company, Lead.phone_key.in_(list(keys)),
               Attempt.dialled_at > to_db(now - timedelta(days=31)), Attempt.outcome.not_in(UNCHARGED)))
    for key, lead_id, dialled, outcome in rows:
        found[key].append(_Contact(lead_id, dialled.replace(tzinfo=UTC), outcome in _CONVERSATIONS))
    return found


_CONVERSATIONS = frozenset({Outcome.HUMAN, Outcome.ABANDONED})  # 230-FZ: every live answer, abandoned ones too


def _histories(session: Session, campaign: Campaign, leads: list[tuple[Lead, bool]],
               now: datetime) -> dict[int, LeadHistory]:
    """Each candidate's history for the rules, with the person's contacts across the company's campaigns;
    ``leads`` pairs each lead with whether its number is on DNC."""
    keys = {lead.phone_key for lead, _ in leads}
    contacts = _contacts(session, campaign.company, keys, now)
    consents = consent_states(session, campaign.company, keys, purpose_of(campaign.kind), now)
    histories = {}
    for lead, on_dnc in leads:
        person, consent = contacts.get(lead.phone_key, []), consents[lead.phone_key]
        own = tuple(c.at for c in person if c.lead_id == lead.id)
        histories[lead.id] = LeadHistory(
            zones=lead.zone_list, on_dnc=on_dnc,
            attempts=own + (_LONG_AGO,) * max(0, lead.attempts - len(own)),
            last_abandoned_at=as_utc(lead.last_abandoned_at), last_refusal_at=as_utc(lead.last_refusal_at),
            due_at=as_utc(lead.next_at), person_attempts=tuple(c.at for c in person),
            conversations=tuple(c.at for c in person if c.conversation), consented=consent.valid,
            customer_at=_day_start(consent.customer_until))
    return histories


def _day_start(day: date | None) -> datetime | None:
    """The start of a customer's last day (UTC): the cautious reading of "a customer until then"."""
    return None if day is None else datetime.combine(day, time.min, UTC)


@dataclass(frozen=True)
class Claim:
    """What a claim took, with each lead's history as the rules read it then: the dial-time check reads the
    same history again rather than the store (``dialer.service.store_ports.ClaimBuffer``)."""

    leads: list[Lead]
    histories: dict[int, LeadHistory]


def claim_leads(session: Session, campaign: Campaign, n: int, now: datetime, claimer: str = "dialer",
                free_agents: Collection[str] | None = None, token: int | None = None) -> list[Lead]:
    """``claim``'s leads."""
    return claim(session, campaign, n, now, claimer, free_agents, token).leads


def claim(session: Session, campaign: Campaign, n: int, now: datetime, claimer: str = "dialer",
          free_agents: Collection[str] | None = None, token: int | None = None) -> Claim:
    """Up to ``n`` leads dialable at ``now``, marked claimed by ``claimer``, and committed.

    Order: due callbacks, then due retries and fresh leads, with
    ``campaign.fresh_share`` of the rest reserved for fresh leads (unused
    slots go to the other queue). A callback owned by an agent is claimed
    only when that agent is in ``free_agents`` (None: any agent may take it).
    ``token``: the campaign lease's fencing token, kept on each claimed lead
    (the caller checks it in this same transaction, ``dialer.service.cluster``).
    Leads found on DNC or over their attempt cap are closed; leads blocked
    only for now are rescheduled to when they become dialable.
    """
    if not campaign.countries:  # it refuses to start (lists.idle): no lead is touched
        return Claim([], {})
    queue = _Queue(session, campaign, now, claimer, free_agents, token)
    claimed = take_in_priority(queue.take, n, campaign.fresh_share)
    session.commit()
    return Claim(claimed, {lead.id: queue.histories[lead.id] for lead in claimed})


@dataclass
class _Queue:
    """One claim's walk over a campaign's status queues, oldest due first."""

    session: Session
    campaign: Campaign
    now: datetime
    claimer: str
    free_agents: Collection[str] | None
    token: int | None = None
    histories: dict[int, LeadHistory] = field(default_factory=dict)  # every candidate's, as the rules read it

    def take(self, status: LeadStatus, n: int) -> list[Lead]:
        claimed: list[Lead] = []
        while len(claimed) < n:
            candidates = self._due(status, _OVERFETCH * (n - len(claimed)) // 4 + 20)
            if not candidates:
                break
            histories = _histories(self.session, self.campaign, candidates, self.now)
            self.histories.update(histories)
            batch = [lead for lead, _ in candidates]
            profiles = {lead.id: lead_profile(self.campaign, lead.region, self.now) for lead in batch}
            verdicts = {lead.id: _verdict(profiles[lead.id], histories[lead.id], self.now) for lead in batch}
            self._set_aside(status, [(lead, verdict, histories[lead.id], profiles[lead.id]) for lead in batch
                                     if (verdict := verdicts[lead.id]) is not None])
            claimed += self._claim(status, [lead for lead in batch if verdicts[lead.id] is None][: n - len(claimed)])
        return claimed

    def _due(self, status: LeadStatus, limit: int) -> list[tuple[Lead, bool]]:
        """The queue's next due leads, oldest first, each with whether its number is on the company's DNC."""
        on_dnc = (select(DncEntry.id).where(DncEntry.company == self.campaign.company,
                                            DncEntry.phone_key == Lead.phone_key).exists())
        query = (select(Lead, on_dnc)
                 .where(Lead.campaign_id == self.campaign.id, Lead.status == status, Lead.next_at <= to_db(self.now))
                 .order_by(Lead.next_at, Lead.id).limit(limit).with_for_update(of=Lead, skip_locked=True))
        if status is LeadStatus.CALLBACK and self.free_agents is not None:
            query = query.where(Lead.callback_owner.is_(None) | Lead.callback_owner.in_(list(self.free_agents)))
        return [(lead, bool(flag)) for lead, flag in self.session.execute(query)]

    def _claim(self, status: LeadStatus, leads: list[Lead]) -> list[Lead]:
        """Claim in one conditional UPDATE; a lead another claimer moved first is left out."""
        if not leads:
            return []
        got = self.session.scalars(
            update(Lead).where(Lead.id.in_([lead.id for lead in leads]), Lead.status == status)
            .values(status=move_lead(status, LeadStatus.CLAIMED), claimed_at=to_db(self.now),
                    claimed_by=self.claimer, claim_token=self.token)
            .returning(Lead).execution_options(synchronize_session=False, populate_existing=True))
        return sorted(got, key=lambda lead: (lead.next_at, lead.id))

    def _set_aside(self, status: LeadStatus,
                   blocked: list[tuple[Lead, str, LeadHistory, CallingProfile | None]]) -> None:
        """Close leads that may never be dialled; set aside those whose window never opens in all their zones
        (``NO_WINDOW``: rescheduled, they would come up every day for ever); reschedule those blocked only for
        now. One statement."""
        if not blocked:
            return
        changes = []
        for lead, reason, history, profile in blocked:
            new_status, later = self._blocked(status, lead.id, reason, history, profile)
            changes.append({"lead_id": lead.id, "new_status": new_status,
                            "new_next_at": to_db(later or self.now + _UNREACHABLE_RECHECK)})
            log.debug("lead %s set aside: %s, now %s", lead.id, reason, new_status)
        table = cast(Table, Lead.__table__)
        self.session.connection().execute(
            update(table).where(table.c.id == bindparam("lead_id"), table.c.status == status)
            .values(status=bindparam("new_status"), next_at=bindparam("new_next_at")), changes)


    def _blocked(self, status: LeadStatus, lead_id: int, reason: str, history: LeadHistory,
                 profile: CallingProfile | None) -> tuple[LeadStatus, datetime | None]:
        """Where a lead ``refusal`` blocked goes, and when it is due (None: looked at again in a day)."""
        if reason in CLOSED_AS:
            return move_lead(status, CLOSED_AS[reason], lead_id), None
        if profile is None:  # a country the campaign does not call: set aside until it does
            return move_lead(status, LeadStatus.NO_WINDOW, lead_id), None
        later = dialable_from(profile, history, self.now)
        if later is None and never_open(profile, history.zones, self.now):
            return move_lead(status, LeadStatus.NO_WINDOW, lead_id), None
        return status, later


def _verdict(profile: CallingProfile | None, history: LeadHistory, now: datetime) -> str | None:
    """``refusal`` under the person's own rules; ``country`` when the campaign may not call them."""
    if profile is None:
        return "final" if history.final else "dnc" if history.on_dnc else "country"
    return refusal(profile, history, now)


def record_attempt(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord) -> Attempt:
    """Append the attempt to the ledger and move the lead to its next state, in one commit."""
    attempt = Attempt(**_ledger_row(campaign, lead, record))
    session.add(attempt)
    _advance_lead(session, campaign, lead, record)
    session.commit()
    return attempt


def record_attempts(session: Session, campaign: Campaign, attempts: Iterable[tuple[Lead, AttemptRecord]],
                    batch: int = 2000, token: int | None = None) -> int:
    """``record_attempt`` for many attempts, committing every ``batch``; returns how many were written.

    Why a batched variant and not a second writer: a ledger written without
    moving its leads on (a simulated day, a migration) contradicts itself in
    every report. Each attempt gets the same ledger row and the same lead
    update as in ``record_attempt``; the rows go in one INSERT per batch
    (about 3× faster than one ORM object each). Give each lead's attempts
    oldest first. ``token``: the campaign lease's fencing token the rows are
    written under (the caller checks it in the same transaction).
    """
    rows: list[dict[str, Any]] = []
    written = 0
    for lead, record in attempts:
        rows.append({**_ledger_row(campaign, lead, record), "lease_token": token})
        _advance_lead(session, campaign, lead, record)
        if len(rows) == batch:
            written += _flush_rows(session, rows)
    return written + _flush_rows(session, rows)


def _flush_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    count = len(rows)
    if rows:
        session.execute(insert(Attempt), rows)
        rows.clear()
    session.commit()
    return count


def _ledger_row(campaign: Campaign, lead: Lead, record: AttemptRecord) -> dict[str, Any]:
    """The one place an attempt's ledger row is built (times stored as naive UTC)."""
    return {
        "lead_id": lead.id, "campaign_id": campaign.id, "caller_id": campaign.caller_id,
        "outcome": record.outcome.value,
        "abandoned": record.outcome is Outcome.ABANDONED, "disposition": record.disposition,
        "refusal_reason": record.refusal_reason, "agent": record.agent, "message_played": record.message_played,
        "amd_result": record.amd_result, "data": record.data, "recording": record.recording,
        "recording_error": record.recording_error,
        **{k: to_db(getattr(record, k)) for k in ("dialled_at", "answered_at", "amd_end_at", "connected_at",
                                                   "hangup_at", "greeting_end_at", "message_at")},
    }


def _advance_lead(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord) -> None:
    """Move the lead on after its attempt, by ``after_attempt`` and the lifecycle's table.

    An attempt follows a claim; one written for a lead still in its queue (a
    recorded run written into a store, ``simulation.calibrate``) claims it
    first, so such a ledger passes the same table as the daemon's."""
    if record.outcome not in UNCHARGED:
        lead.attempts += 1
    lead.claimed_by, lead.dial_started_at = None, None  # the attempt is written: no longer in flight
    step = _next_step(campaign, lead, record)
    lead.status = move_lead(_claimed(lead), step.status, lead.id)
    _follow(session, campaign, lead, record, step)


def _next_step(campaign: Campaign, lead: Lead, record: AttemptRecord) -> NextStep:
    """Where the lead goes after ``record``, its ``lead.attempts``-th charged attempt (``lists.rules.after_attempt``;
    an attempt whose answer is unknown waits as an abandon would)."""
    waits_as = Outcome.ABANDONED if record.answer_unknown else record.outcome
    return after_attempt(RetryRules(**campaign.retry_rules), profile_for(campaign).max_attempts, lead.attempts,
                         waits_as, _end(record), record.disposition, record.callback_at)


def _end(record: AttemptRecord) -> datetime:
    return record.hangup_at or record.dialled_at


def _follow(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord, step: NextStep) -> None:
    """What the lead keeps of its attempt, now in ``step.status``: the last disposition, the abandon and refusal
    the rules look back on, the due time; a DNC request lists the number for the whole company."""
    end = _end(record)
    lead.last_disposition = record.disposition or record.outcome
    if record.outcome is Outcome.ABANDONED:
        lead.last_abandoned_at = to_db(end)
    if step.next_at is not None:
        lead.next_at = to_db(step.next_at)
    if step.status is LeadStatus.DNC:
        add_to_dnc(session, campaign.company, lead.phone_e164, end)
    elif step.status is LeadStatus.CALLBACK:
        lead.callback_owner = record.callback_owner
    elif record.refusal_reason:
        lead.refusal_reason, lead.last_refusal_at = record.refusal_reason, to_db(end)


def correct_attempt(session: Session, campaign: Campaign, lead: Lead, placeholder: Attempt, record: AttemptRecord,
                    token: int | None) -> bool:
    """Replace ``placeholder``, the "interrupted" attempt written for a call in progress (by a takeover, or by the
    old owner when its drain timed out), with ``record``, that very dial's real result, handed over by the old
    owner (``lists.handover``), under the current owner's ``token``: the only update the ledger ever takes.
    Not committed.

    The placeholder was not charged to the lead (``UNCHARGED``); the real
    result is, if it is charged. If nothing moved the lead since the placeholder did (it
    still waits in the queue the "interrupted" outcome sent it to, and has no
    later dial), it moves on by the real outcome, as if that had been written
    at once; True. Else (dialled again, claimed, closed or set aside since) its
    state is the later one's: only a DNC request and an abandon's quarantine
    are taken from the real result, as the law asks; False."""
    session.execute(update(Attempt).where(Attempt.id == placeholder.id)
                    .values(**_ledger_row(campaign, lead, record), lease_token=token))
    if record.outcome not in UNCHARGED:  # the placeholder was not charged; the real result may be
        lead.attempts += 1
    step = _next_step(campaign, lead, record)
    later = session.scalar(select(Attempt.id).where(Attempt.lead_id == lead.id,
                                                     Attempt.dialled_at > placeholder.dialled_at).limit(1))
    untouched = (later is None and lead.last_disposition == Outcome.INTERRUPTED
                 and lead.status in (LeadStatus.RETRY, LeadStatus.DONE))
    if untouched:
        if step.status != lead.status:
            lead.status = move_lead(lead.status, step.status, lead.id)
        _follow(session, campaign, lead, record, step)
        return True
    honour_dnc(session, campaign, lead, record)
    if record.outcome is Outcome.ABANDONED:
        lead.last_abandoned_at = max(to_db(_end(record)), lead.last_abandoned_at or datetime.min)
    return False


def honour_dnc(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord) -> bool:
    """If ``record`` holds a request not to be called again (``after_attempt`` sends its lead to DNC), list the
    number for the whole company, whatever the lead's state; True if it did. Not committed."""
    if _next_step(campaign, lead, record).status is not LeadStatus.DNC:
        return False
    add_to_dnc(session, campaign.company, lead.phone_e164, _end(record))
    return True


def _claimed(lead: Lead) -> LeadStatus:
    """The lead's status as its attempt finds it: claimed (a lead still in its queue is claimed by the attempt)."""
    claimed = LeadStatus.CLAIMED
    return claimed if lead.status == claimed else move_lead(lead.status, claimed, lead.id)


def release_leads(session: Session, lead_ids: Sequence[int], claimer: str | None) -> int:
    """Give back claimed leads that were never dialled: to the queue they came from, keeping their due time.

    The queue is ``lists.lifecycle.requeued``'s, from what the claim left
    unchanged (attempts, last disposition), one UPDATE per queue. Leads with
    a dial mark are left alone (they get an attempt instead); the UPDATE
    checks that again, and a lead keeps its attempts and last disposition
    until an attempt is written, which needs a mark, so the queue read
    stays right. ``claimer`` None: whoever claimed them (a takeover settles
    a dead owner's claims under the new fence). Not committed here."""
    mine = Lead.claimed_by.is_not(None) if claimer is None else Lead.claimed_by == claimer
    held = (Lead.status == LeadStatus.CLAIMED, mine, Lead.dial_started_at.is_(None))
    back: dict[LeadStatus, list[int]] = {}
    for lead_id, attempts, last in session.execute(
            select(Lead.id, Lead.attempts, Lead.last_disposition).where(Lead.id.in_(list(lead_ids)), *held)):
        back.setdefault(requeued(attempts, last), []).append(lead_id)
    released = 0
    for status, ids in back.items():
        result = session.execute(
            update(Lead).where(Lead.id.in_(ids), *held)
            .values(status=status, claimed_by=None, claimed_at=None).execution_options(synchronize_session=False))
        released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return released


def release_orphans(session: Session, campaign_id: int, claimer: str, claimed_before: datetime) -> int:
    """Give back ``claimer``'s claims in the campaign that no buffer or call holds: claimed before
    ``claimed_before`` and never marked for a dial (``release_leads``). Committed."""
    ids = list(session.scalars(select(Lead.id).where(
        Lead.campaign_id == campaign_id, Lead.status == LeadStatus.CLAIMED, Lead.claimed_by == claimer,
        Lead.dial_started_at.is_(None), Lead.claimed_at < to_db(claimed_before))))
    count = release_leads(session, ids, claimer) if ids else 0
    session.commit()
    return count

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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from lists.models import Attempt, Campaign, DncEntry, Lead, as_utc, to_db
from lists.rules import PROFILES, CallingProfile, LeadHistory, RetryRules, next_attempt_at, refusal

__all__ = ["profile_for", "claim_leads", "AttemptRecord", "record_attempt", "add_to_dnc"]

DIALABLE = ("new", "retry", "callback")
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # stands in for attempts older than any rolling cap's period
_ORDER = case((Lead.status == "callback", 0), (Lead.status == "retry", 1), else_=2)


def profile_for(campaign: Campaign) -> CallingProfile:
    """The campaign's jurisdiction profile with its own attempt cap applied."""
    base = PROFILES[campaign.rules_profile]
    return CallingProfile(**{**base.__dict__, "max_attempts": min(base.max_attempts, campaign.max_attempts)})


def _histories(session: Session, campaign: Campaign, leads: list[Lead], now: datetime) -> dict[int, LeadHistory]:
    ids = [lead.id for lead in leads]
    since = to_db(now - timedelta(days=31))
    times: dict[int, list[datetime]] = defaultdict(list)
    for lead_id, dialled in session.execute(
        select(Attempt.lead_id, Attempt.dialled_at).where(Attempt.lead_id.in_(ids), Attempt.dialled_at > since)
    ):
        times[lead_id].append(as_utc(dialled))
    dnc = set(session.scalars(select(DncEntry.phone_e164).where(
        DncEntry.company == campaign.company, DncEntry.phone_e164.in_([lead.phone_e164 for lead in leads]))))
    return {
        lead.id: LeadHistory(
            zones=lead.zone_list,
            on_dnc=lead.phone_e164 in dnc,
            attempts=tuple(times[lead.id]) + (_LONG_AGO,) * max(0, lead.attempts - len(times[lead.id])),
            last_abandoned_at=as_utc(lead.last_abandoned_at),
            last_refusal_at=as_utc(lead.last_refusal_at),
            due_at=as_utc(lead.next_at),
        )
        for lead in leads
    }


def claim_leads(session: Session, campaign: Campaign, n: int, now: datetime, claimer: str = "dialer") -> list[Lead]:
    """Up to ``n`` leads dialable at ``now``, marked claimed by ``claimer``, and committed.

    Order: due callbacks, then due retries, then fresh leads. Leads found on
    DNC are closed as ``dnc``; leads over their attempt cap are closed as ``done``.
    """
    profile, claimed, offset = profile_for(campaign), [], 0
    while len(claimed) < n:
        batch = list(session.scalars(
            select(Lead)
            .where(Lead.campaign_id == campaign.id, Lead.status.in_(DIALABLE),
                   (Lead.next_at.is_(None)) | (Lead.next_at <= to_db(now)))
            .order_by(_ORDER, Lead.next_at, Lead.id).offset(offset).limit(max(4 * n, 50))
            .with_for_update(skip_locked=True)
        ))
        if not batch:
            break
        histories = _histories(session, campaign, batch, now)
        for lead in batch:
            verdict = refusal(profile, histories[lead.id], now)
            if len(claimed) >= n or (verdict is not None and verdict not in _CLOSE):
                offset += 1  # stays dialable later; skip it in the next page
            elif _claim_one(session, lead, verdict, now, claimer) and verdict is None:
                claimed.append(lead)
    session.commit()
    return claimed


_CLOSE = {"dnc": "dnc", "max_attempts": "done", "final": "done"}


def _claim_one(session: Session, lead: Lead, reason: str | None, now: datetime, claimer: str) -> bool:
    """Move the lead to claimed (or close it); False when another claimer got there first."""
    new_status = "claimed" if reason is None else _CLOSE[reason]
    changed = session.execute(
        update(Lead).where(Lead.id == lead.id, Lead.status == lead.status)
        .values(status=new_status, claimed_at=to_db(now), claimed_by=claimer)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        session.refresh(lead)
    return bool(changed)


@dataclass
class AttemptRecord:
    """What happened on one dial. ``outcome``: human, machine, busy, no_answer, invalid, abandoned."""

    outcome: str
    dialled_at: datetime
    answered_at: datetime | None = None
    amd_result: str | None = None
    amd_end_at: datetime | None = None
    connected_at: datetime | None = None
    hangup_at: datetime | None = None
    message_played: str | None = None
    disposition: str | None = None
    refusal_reason: str | None = None
    agent: str | None = None
    callback_at: datetime | None = None
    callback_owner: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def add_to_dnc(session: Session, company: str, phone_e164: str, now: datetime, source: str = "internal") -> None:
    """Suppress a number for the whole company at once: every campaign's lead for it is closed."""
    exists = session.scalar(select(DncEntry.id).where(
        DncEntry.company == company, DncEntry.phone_e164 == phone_e164, DncEntry.source == source))
    if exists is None:
        session.add(DncEntry(company=company, phone_e164=phone_e164, source=source, added_at=to_db(now)))
    campaigns = select(Campaign.id).where(Campaign.company == company)
    session.execute(update(Lead).where(Lead.phone_e164 == phone_e164, Lead.campaign_id.in_(campaigns))
                    .values(status="dnc").execution_options(synchronize_session=False))


def record_attempt(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord) -> Attempt:
    """Append the attempt to the ledger and move the lead to its next state, in one commit."""
    attempt = Attempt(
        lead_id=lead.id, campaign_id=campaign.id, caller_id=campaign.caller_id, outcome=record.outcome,
        abandoned=record.outcome == "abandoned", disposition=record.disposition,
        refusal_reason=record.refusal_reason, agent=record.agent, message_played=record.message_played,
        amd_result=record.amd_result, data=record.data,
        **{k: to_db(getattr(record, k)) for k in
           ("dialled_at", "answered_at", "amd_end_at", "connected_at", "hangup_at")},
    )
    session.add(attempt)
    _advance_lead(session, campaign, lead, record)
    session.commit()
    return attempt


def _advance_lead(session: Session, campaign: Campaign, lead: Lead, record: AttemptRecord) -> None:
    end = record.hangup_at or record.dialled_at
    lead.attempts += 1
    lead.claimed_by = None
    lead.last_disposition = record.disposition or record.outcome
    rules = RetryRules(**campaign.retry_rules)
    if record.outcome == "abandoned":
        lead.last_abandoned_at = to_db(end)
    if record.disposition == "dnc_request":
        add_to_dnc(session, campaign.company, lead.phone_e164, end)
        lead.status = "dnc"
    elif record.disposition == "callback" and record.callback_at is not None:
        lead.status, lead.next_at = "callback", to_db(record.callback_at)
        lead.callback_owner = record.callback_owner
    elif record.disposition is not None:
        lead.status = "done"
        if record.refusal_reason:
            lead.refusal_reason, lead.last_refusal_at = record.refusal_reason, to_db(end)
    elif record.outcome == "invalid":
        lead.status = "done"
    else:
        lead.status = "retry" if lead.attempts < profile_for(campaign).max_attempts else "done"
        lead.next_at = to_db(next_attempt_at(rules, record.outcome, end, lead.attempts - 1))

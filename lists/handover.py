"""Results a paused owner could not write, handed to the campaign's current owner through the store.

Why: a daemon paused past its lease (SIGSTOP, a long GC, a partition) finds
on waking that another daemon took its campaign over, and that the takeover
wrote an "interrupted" attempt for each of its calls in progress (the
placeholder: the call may have rung; ``dialer.service.store_ports.settle``).
Those calls go on and end, with a sale, a refusal, a person asking not to be
called again, but the fence refuses every ledger write of the old owner.
So the writer queues each refused result here (``hand_over``), in a
transaction that needs no lease: it is a message to the owner, not a ledger
write. The owner applies them with its own token (``apply_handovers``), and
a DNC request made on such a call is honoured.

The key: a dial is (lead, dial mark). The mark (``lead.dial_started_at``)
is written before the call is originated, and is the ``dialled_at`` of both
the placeholder the takeover wrote for it and the record the old owner
handed over (the engine's dial moment, to the microsecond the store keeps).
So the real result replaces exactly its own placeholder
(``lists.selection.correct_attempt``): never a second row for one dial, and
never another dial's row. An "interrupted" row the old owner wrote itself
for that dial (its hand-over's drain timed out with the call still up, and
the call ended after the next owner took over) is replaced the same way. A
record with no such row (its mark was refused, so it was never dialled; or
the row was replaced already) writes none: the write-ahead mark is the
proof a dial happened.

Exactly once: each row is applied in the transaction that marks it applied,
by a conditional UPDATE on rows read ``FOR UPDATE SKIP LOCKED`` (as
``lists.selection`` claims leads), so two appliers never apply one row, and
applying again finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dialer.records import AttemptRecord, Outcome
from lists.dnc import honour_objection
from lists.models import Attempt, AttemptHandover, Campaign, HandoverResult, Lead, to_db
from lists.selection import correct_attempt, honour_dnc

__all__ = ["hand_over", "pending_campaigns", "apply_handovers", "Applied"]


def hand_over(session: Session, campaign_id: int, lead_id: int, record: AttemptRecord, token: int,
              now: datetime) -> bool:
    """Queue ``record``, refused under ``token``, for the campaign's owner; False when it is queued already (a
    commit the connection lost, retried). Needs no lease. Not committed."""
    dialled = to_db(record.dialled_at)
    if session.scalar(select(AttemptHandover.id).where(AttemptHandover.lead_id == lead_id,
                                                       AttemptHandover.dialled_at == dialled)) is not None:
        return False
    session.add(AttemptHandover(campaign_id=campaign_id, lead_id=lead_id, dialled_at=dialled,
                                record=record.as_json(), token=token, handed_at=to_db(now)))
    return True


def pending_campaigns(session: Session, campaign_ids: Collection[int]) -> set[int]:
    """Those of ``campaign_ids`` with results waiting to be applied (one indexed query)."""
    if not campaign_ids:
        return set()
    return set(session.scalars(select(AttemptHandover.campaign_id).distinct().where(
        AttemptHandover.campaign_id.in_(list(campaign_ids)), AttemptHandover.applied_at.is_(None))))


@dataclass(frozen=True)
class Applied:
    """One result applied: what it did, and the attempt row that now holds it (None: ``UNMATCHED``)."""

    result: HandoverResult
    attempt_id: int | None


def apply_handovers(session: Session, campaign: Campaign, token: int | None, now: datetime,
                    limit: int = 500) -> list[Applied]:
    """Apply up to ``limit`` of the campaign's waiting results, oldest first, under ``token`` (the caller has
    checked it holds the campaign's fence in this transaction; None: a single daemon). Committed.

    A DNC request is honoured whatever became of its dial; see the module
    doc for the key and ``lists.selection.correct_attempt`` for the lead."""
    rows = list(session.scalars(select(AttemptHandover).where(
        AttemptHandover.campaign_id == campaign.id, AttemptHandover.applied_at.is_(None))
        .order_by(AttemptHandover.id).limit(limit).with_for_update(skip_locked=True)))
    leads = {lead.id: lead for lead in session.scalars(  # locked in one order: a claim skips them meanwhile
        select(Lead).where(Lead.id.in_({row.lead_id for row in rows})).order_by(Lead.id)
        .with_for_update().execution_options(populate_existing=True))}
    applied = []
    for row in rows:
        if _mark_applied(session, row, token, now):
            applied.append(_apply(session, campaign, leads[row.lead_id], row, token))
    session.commit()
    return applied


def _mark_applied(session: Session, row: AttemptHandover, token: int | None, now: datetime) -> bool:
    """The conditional UPDATE: False when another applier marked the row first."""
    result = session.execute(update(AttemptHandover).where(AttemptHandover.id == row.id,
                                                           AttemptHandover.applied_at.is_(None))
                             .values(applied_at=to_db(now), applied_token=token)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _apply(session: Session, campaign: Campaign, lead: Lead, row: AttemptHandover, token: int | None) -> Applied:
    record = AttemptRecord.from_json(row.record)
    record.data = {**record.data, "handed_over_from": row.token}  # the token the fence refused it under
    honour_objection(session, campaign.company, lead, record)  # whatever became of its dial, as a DNC request
    placeholder = session.scalar(select(Attempt).where(
        Attempt.lead_id == row.lead_id, Attempt.dialled_at == row.dialled_at, Attempt.outcome == Outcome.INTERRUPTED)
        .order_by(Attempt.id).limit(1))
    if placeholder is None:  # a DNC request all the same: a number listed by mistake costs a call not made
        honour_dnc(session, campaign, lead, record)
        done = Applied(HandoverResult.UNMATCHED, None)
    else:
        moved = correct_attempt(session, campaign, lead, placeholder, record, token)
        done = Applied(HandoverResult.REPLACED if moved else HandoverResult.CORRECTED, placeholder.id)
    row.result = done.result
    return done


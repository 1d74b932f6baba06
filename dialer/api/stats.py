"""Today's ledger by hour for the wallboard.

Why apart from the floor (``dialer.service.floor``): states of calls and
agents are read from the engine on the event loop (exact, now); counts by
hour come from the attempt ledger on a thread (what was written).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.api.schemas import HourRow
from lists.campaigns import SALE_CODES
from lists.models import Attempt, to_db
from pacing.days import local_midnight

__all__ = ["hourly"]

def hourly(session: Session, campaign_id: int, zone: str, now: datetime) -> tuple[list[HourRow], dict[str, int]]:
    """Today's attempts, contacts (a person answered), sales, refusals and recordings that did not start per local
    hour; refusals by reason."""
    start = local_midnight(now, zone)
    rows: dict[int, list[int]] = {}
    reasons: dict[str, int] = {}
    query = select(Attempt.dialled_at, Attempt.outcome, Attempt.disposition, Attempt.refusal_reason,
                   Attempt.recording_error).where(Attempt.campaign_id == campaign_id,
                                                  Attempt.dialled_at >= to_db(start))
    tz = ZoneInfo(zone)
    for dialled, outcome, disposition, reason, recording_error in session.execute(query):
        hour = dialled.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).hour
        row = rows.setdefault(hour, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += outcome in ("human", "abandoned")
        row[2] += disposition in SALE_CODES
        row[3] += reason is not None
        row[4] += recording_error is not None
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return [HourRow(hour=h, attempts=r[0], contacts=r[1], sales=r[2], refusals=r[3], recordings_failed=r[4])
            for h, r in sorted(rows.items())], reasons

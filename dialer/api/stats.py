"""Live campaign figures for the wallboard: the engine's floor now, today's ledger by hour, a sampled history.

Why two sources: states of calls and agents are read from the engine on the
event loop (exact, now); counts by hour come from the attempt ledger on a
thread (what was written). Occupancy is the floor's now: agents talking or
in wrap-up over agents logged in and not paused; ``History`` samples it and
today's abandonment every ``SAMPLE_S`` wall seconds for the charts.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.agents import AgentState
from dialer.api.cards import SALE_CODES
from dialer.api.floor import RunView
from dialer.api.schemas import HourRow, Sample
from dialer.calls import CallState
from dialer.engine import Engine
from lists.models import Attempt, to_db

__all__ = ["History", "floor_counts", "occupancy", "hourly", "day_start", "SAMPLE_S"]

SAMPLE_S = 5.0  # wall seconds between samples of the charts
_KEEP = 2000  # samples kept per campaign: about 2.8 hours of wall time, a whole day at the sim's 20x


def floor_counts(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """Calls in flight by state (talking counted from the agents) and agents by state."""
    calls = {state.value: 0 for state in CallState if state is not CallState.ENDED}
    for call in engine.calls.values():
        calls[call.state.value] += 1
    calls[CallState.TALKING.value] = engine.pool.count(AgentState.TALKING)
    agents = {state.value: engine.pool.count(state) for state in AgentState}
    return calls, agents


def occupancy(engine: Engine) -> float:
    """Busy agents (talking, wrap-up) over agents logged in and not paused; 0 with nobody working."""
    busy = engine.pool.count(AgentState.TALKING) + engine.pool.count(AgentState.WRAP_UP)
    working = engine.pool.logged_in - engine.pool.count(AgentState.PAUSED)
    return busy / working if working else 0.0


def day_start(zone: str, now: datetime) -> datetime:
    """Local midnight of ``now``'s day in ``zone``."""
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(zone))


def hourly(session: Session, campaign_id: int, zone: str, now: datetime) -> tuple[list[HourRow], dict[str, int]]:
    """Today's attempts, contacts (a person answered), sales and refusals per local hour; refusals by reason."""
    start = day_start(zone, now)
    rows: dict[int, list[int]] = {}
    reasons: dict[str, int] = {}
    query = select(Attempt.dialled_at, Attempt.outcome, Attempt.disposition, Attempt.refusal_reason).where(
        Attempt.campaign_id == campaign_id, Attempt.dialled_at >= to_db(start))
    tz = ZoneInfo(zone)
    for dialled, outcome, disposition, reason in session.execute(query):
        hour = dialled.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).hour
        row = rows.setdefault(hour, [0, 0, 0, 0])
        row[0] += 1
        row[1] += outcome in ("human", "abandoned")
        row[2] += disposition in SALE_CODES
        row[3] += reason is not None
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return [HourRow(hour=h, attempts=r[0], contacts=r[1], sales=r[2], refusals=r[3])
            for h, r in sorted(rows.items())], reasons


class History:
    """Per-campaign samples of occupancy, today's abandonment and agents for the wallboard's charts."""

    def __init__(self) -> None:
        self.samples: dict[int, deque[Sample]] = {}

    def sample(self, run: RunView, at: datetime) -> None:
        engine, today = run.engine, run.recorder.today
        busy = engine.pool.count(AgentState.TALKING) + engine.pool.count(AgentState.WRAP_UP)
        self.samples.setdefault(run.campaign_id, deque(maxlen=_KEEP)).append(Sample(
            at=at, occupancy=occupancy(engine), abandon_rate=today.abandoned / today.live if today.live else 0.0,
            agents_ready=engine.pool.count(AgentState.READY), agents_busy=busy))

    def of(self, campaign_id: int) -> list[Sample]:
        return list(self.samples.get(campaign_id, ()))

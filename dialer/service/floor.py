"""The floor as the daemon sees it now: agents and calls by state, occupancy, and sampled history.

Why in the service: the daemon samples the floor for the wallboard's charts
and the API reads the same figures, so both take them from here (the API
layer sits above and only reads). States of calls and agents are read from
the engine on the event loop (exact, now). Occupancy is the floor's now:
agents talking or in wrap-up over agents logged in and not paused.
``History`` samples it and today's abandonment every ``SAMPLE_S`` wall
seconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialer.core.agents import AgentState
from dialer.core.calls import Call, CallState
from dialer.core.engine import Engine
from dialer.core.snapshot import FLIGHT, IN_FLIGHT
from lists.idle import FloorNow
from pacing.ledger import Standing

__all__ = ["History", "Sample", "Seated", "floor_counts", "floor_now", "occupancy", "current_call", "SAMPLE_S"]

SAMPLE_S = 5.0  # wall seconds between samples of the charts
_KEEP = 2000  # samples kept per campaign: about 2.8 hours of wall time, a whole day at the sim's 20x


@dataclass(frozen=True)
class Sample:
    """One point of the wallboard's charts."""

    at: datetime
    occupancy: float
    abandon_rate: float
    agents_ready: int
    agents_busy: int


class Seated(Protocol):
    """A running campaign as sampled: its id, its engine, and where its ledger stands today."""

    campaign_id: int
    engine: Engine

    def standing(self) -> Standing: ...


def floor_counts(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """Calls in flight by state (talking counted from the agents) and agents by state."""
    calls = {state.value: 0 for state in CallState if state is not CallState.ENDED}
    for call in engine.calls.values():
        calls[call.state.value] += 1
    calls[CallState.TALKING.value] = engine.pool.count(AgentState.TALKING)
    agents = {state.value: engine.pool.count(state) for state in AgentState}
    return calls, agents


def floor_now(engine: Engine) -> FloorNow:
    """The floor as the idle reasons read it (``lists.idle``): agents logged in, ready to be dialled for,
    working (talking, in wrap-up, holding a preview), and calls in flight as the pacing snapshot counts them."""
    pool = engine.pool
    working = len(pool.busy) + pool.count(AgentState.RESERVED)
    in_flight = sum(1 for call in engine.calls.values() if FLIGHT[call.state] in IN_FLIGHT)
    return FloorNow(pool.logged_in, pool.available, working, in_flight)


def occupancy(engine: Engine) -> float:
    """Busy agents (talking, wrap-up) over agents logged in and not paused; 0 with nobody working."""
    busy = engine.pool.count(AgentState.TALKING) + engine.pool.count(AgentState.WRAP_UP)
    working = engine.pool.logged_in - engine.pool.count(AgentState.PAUSED)
    return busy / working if working else 0.0


def current_call(engine: Engine, agent_id: str) -> Call | None:
    """The call ``agent_id`` is on, writing up, or holding in preview; None when they have none."""
    call = engine.wrapping.get(agent_id)
    if call is not None:
        return call
    agent = engine.pool.agents.get(agent_id)
    if agent is not None and agent.state is AgentState.RESERVED and agent.call is not None:
        return engine.calls.get(agent.call)
    return None


class History:
    """Per-campaign samples of occupancy, today's abandonment and agents for the wallboard's charts."""

    def __init__(self) -> None:
        self.samples: dict[int, deque[Sample]] = {}

    def sample(self, run: Seated, at: datetime) -> None:
        engine = run.engine
        busy = engine.pool.count(AgentState.TALKING) + engine.pool.count(AgentState.WRAP_UP)
        self.samples.setdefault(run.campaign_id, deque(maxlen=_KEEP)).append(Sample(
            at=at, occupancy=occupancy(engine), abandon_rate=run.standing().rate,
            agents_ready=engine.pool.count(AgentState.READY), agents_busy=busy))

    def of(self, campaign_id: int) -> list[Sample]:
        return list(self.samples.get(campaign_id, ()))

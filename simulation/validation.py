"""Poisson live connects fed to the production engine's agents, to check its connect rule against queueing theory.

Why: with Poisson arrivals, exponential talk and either a fixed connect
limit or exponential patience, the floor is an M/M/n+D or an M/M/n+M
(Erlang-A) queue, whose abandonment ``pacing.erlang`` computes exactly.
The calls go through ``dialer.core.engine.Engine`` itself (its ``AgentPool``:
longest idle first, first come first served, the connect timer and the
safe-harbour message) with ``dialer.drivers.sim.telephony``'s telephony and agents,
so agreement here checks the rule the daemon runs, not a copy of it.

How: every call is placed at time 0 and "answers" at its Poisson arrival
time (the ring is irrelevant to the queue), after which dialing stops, so
no pacing decision ever sees the whole list in flight. AMD is off and
wrap-up is zero, so an agent's handle time is the exponential talk time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from dialer.core.calls import Call, Disposition
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.ports import ClaimedLead
from dialer.drivers.sim.telephony import CustomerPlan, SimTelephony, SimWorkforce
from dialer.records import Outcome
from pacing.controllers import AttemptOutcome, Decision, Snapshot
from simulation.model import SimPyClock

__all__ = ["QueueRun", "poisson_connects"]

_DONE = Disposition("refused")


@dataclass(frozen=True)
class QueueRun:
    offered: int
    abandoned: int

    @property
    def p_abandon(self) -> float:
        return self.abandoned / self.offered


class _Batches:
    """A controller that launches the next batch of arrivals at each decision: the arrivals are the plans."""

    name = "poisson-batches"
    reserves_agent = False

    def __init__(self, calls: int, batch: int):
        self.left, self.batch = calls, batch

    def decide(self, snapshot: Snapshot) -> Decision:
        launch = min(self.batch, self.left)
        self.left -= launch
        return Decision(launch, "the next batch of Poisson arrivals")

    def placed(self, now_s: float, count: int) -> None:
        """Nothing to learn."""

    def observe(self, outcome: AttemptOutcome) -> None:
        """Nothing to learn."""

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        """Nothing to learn."""

    def observe_machine(self, at_s: float) -> None:
        """Nothing to learn."""


class _Counter:
    """Lead source and recorder: lead i is arrival i; abandons are counted from the ``warmup_from``-th on."""

    def __init__(self, warmup_from: int):
        self.warmup_from, self.offered, self.abandoned, self.claimed = warmup_from, 0, 0, 0
        self.telephony: SimTelephony | None = None

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        start, self.claimed = self.claimed, self.claimed + n
        return [ClaimedLead(i, "") for i in range(start, self.claimed)]

    def record(self, call: Call) -> None:
        """Counted in ``attempt``."""

    def attempt(self, call: Call) -> None:
        assert self.telephony is not None
        self.telephony.forget(call)  # a finished call's plan is not needed again
        if call.lead >= self.warmup_from:
            self.offered += 1
            self.abandoned += call.outcome is Outcome.ABANDONED

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        """Not needed for abandonment."""

    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        """Not needed for abandonment."""


@dataclass(frozen=True)
class _Arrivals:
    """Each arrival's draws (seconds): when it answers, how long it would wait, how long it talks."""

    at_s: np.ndarray
    patience_s: np.ndarray
    talk_s: np.ndarray

    @classmethod
    def draw(cls, erlangs: float, aht_s: float, calls: int, seed: int, patience_mean_s: float | None) -> _Arrivals:
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
        at_s = np.cumsum(streams[0].exponential(aht_s / erlangs, calls))
        talk_s = streams[1].exponential(aht_s, calls)
        patience_s = streams[2].exponential(patience_mean_s, calls) if patience_mean_s else np.full(calls, math.inf)
        return cls(at_s, patience_s, talk_s)

    def plan(self, i: int, now_s: float) -> CustomerPlan:
        """Arrival ``i``'s far end, for a call placed at ``now_s``: it answers at its Poisson time."""
        return CustomerPlan(Outcome.HUMAN, float(self.at_s[i]) - now_s, patience_s=float(self.patience_s[i]),
                            talk_s=float(self.talk_s[i]), disposition=_DONE)


def poisson_connects(agents: int, erlangs: float, aht_s: float, calls: int, seed: int,
                     limit_s: float | None = None, patience_mean_s: float | None = None,
                     warmup: float = 0.1, batch: int = 500) -> QueueRun:
    """Offer ``calls`` Poisson live answers to ``agents`` agents through the engine; count those not connected
    by min(connect limit, patience) (seconds), after a warm-up share of the arrivals.

    Calls are placed ``batch`` at a time, each batch when its first arrival is due (dialing opens for one
    decision, then closes), so the engine, the clock's heap and the garbage collector hold one batch, not the
    whole run: 100,000 calls at once ran 2.5x slower."""
    arrivals = _Arrivals.draw(erlangs, aht_s, calls, seed, patience_mean_s)
    env = simpy.Environment()
    clock, counter = SimPyClock(env), _Counter(int(calls * warmup))
    telephony = SimTelephony(clock, lambda call: arrivals.plan(call.lead, env.now), amd_delay_s=0.0)
    counter.telephony = telephony
    workforce = SimWorkforce(clock, telephony)
    settings = CampaignSettings("poisson", connect_limit_s=limit_s, ring_timeout_s=math.inf)
    engine = Engine(settings, _Batches(calls, batch), counter, telephony, counter, workforce,
                    wake=lambda at_s: clock.call_at(at_s, lambda: engine.advance(env.now)))
    telephony.attach(engine)
    workforce.attach(engine)
    for i in range(agents):
        engine.log_in(f"a{i}", 0.0)
    for first in range(0, calls, batch):
        clock.call_at(float(arrivals.at_s[first]), lambda: _place_batch(engine, clock))
    env.run()
    return QueueRun(counter.offered, counter.abandoned)


def _place_batch(engine: Engine, clock: SimPyClock) -> None:
    """Open dialing for the one decision that places the next batch: the decision's wake-up is due now and was
    scheduled first, so it runs before the close (SimPy runs same-time events in the order scheduled)."""
    engine.start_dialing(clock.now(), math.inf)
    clock.call_at(clock.now(), lambda: engine.stop_dialing(clock.now()))

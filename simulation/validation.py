"""Poisson live connects fed straight to the agents' floor, to check the model against queueing theory.

Why: with Poisson arrivals, exponential talk and either a fixed connect
limit or exponential patience, the floor is an M/M/n+D or an M/M/n+M
(Erlang-A) queue, whose abandonment ``pacing.erlang`` computes exactly.
The same ``Floor`` class serves the full model, so agreement here checks
the model's connect rule, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from simulation.floor import Agent, Floor

__all__ = ["QueueRun", "poisson_connects"]


@dataclass(frozen=True)
class QueueRun:
    offered: int
    abandoned: int

    @property
    def p_abandon(self) -> float:
        return self.abandoned / self.offered


def poisson_connects(agents: int, erlangs: float, aht_s: float, calls: int, seed: int,
                     limit_s: float | None = None, patience_mean_s: float | None = None,
                     warmup: float = 0.1) -> QueueRun:
    """Offer ``calls`` Poisson calls; count those not connected by min(limit, patience), after a warm-up share."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    gaps = streams[0].exponential(aht_s / erlangs, calls)
    talks = streams[1].exponential(aht_s, calls)
    patience = streams[2].exponential(patience_mean_s, calls) if patience_mean_s else np.full(calls, np.inf)
    deadlines = np.minimum(patience, np.inf if limit_s is None else limit_s)
    env = simpy.Environment()
    floor = Floor(env)
    for i in range(agents):
        floor.log_in(Agent(f"a{i}"))
    counted = {"offered": 0, "abandoned": 0}
    first_counted = int(calls * warmup)

    def customer(i: int) -> Generator[Any, Any, None]:
        agent, _ = yield from floor.connect(float(deadlines[i]))
        if i >= first_counted:
            counted["offered"] += 1
            counted["abandoned"] += agent is None
        if agent is not None:
            yield env.timeout(float(talks[i]))
            floor.release(agent)

    def source() -> Generator[Any, Any, None]:
        for i in range(calls):
            yield env.timeout(float(gaps[i]))
            env.process(customer(i))

    env.process(source())
    env.run()
    return QueueRun(counted["offered"], counted["abandoned"])

"""Modelled customers for leads from the store: the simulator's draws, keyed by lead id, for the sim driver.

Why reuse ``simulation.model``: a customer's behaviour (answer, ring time,
AMD verdict, patience, talk, wrap-up, decision) must be drawn exactly as the
simulator draws it, so a daemon run on the sim driver meets the customers a
simulated day would. ``Model._plan`` reads the draws of (lead index,
attempt) and the hour of day; this adapter gives it a store lead's index
(its id modulo the scenario's list size) and the engine's clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dialer.calls import Call
from dialer.drivers.sim import CustomerPlan, Scheduler
from simulation.model import Draws, Model
from simulation.scenario import Scenario

__all__ = ["StoreCustomers"]


@dataclass(frozen=True)
class _SimRef:
    """What ``Model._plan`` reads of a lead: its row in the draws and its true segment."""

    index: int
    segment: int


class _Now:
    """``env.now`` for ``Model._plan``: the engine clock's seconds since the campaign's local midnight."""

    def __init__(self, clock: Scheduler):
        self.clock = clock

    @property
    def now(self) -> float:
        return self.clock.now()


class StoreCustomers(Model):
    """The far end of every store lead's attempts; ``max_attempts`` widens the draws to the campaign's cap."""

    def __init__(self, scenario: Scenario, clock: Scheduler, max_attempts: int, replication: int = 0):
        rules = dataclasses.replace(scenario.rules, max_attempts=max(scenario.rules.max_attempts, max_attempts))
        self.s = dataclasses.replace(scenario, rules=rules)
        self.draws = Draws.make(self.s, replication)
        self.env = _Now(clock)  # type: ignore[assignment]

    def plan(self, call: Call) -> CustomerPlan:
        """What this attempt's far end will do (``SimTelephony``'s ``plan_for``)."""
        index = call.lead % self.s.list_size
        ref = _SimRef(index, int(self.draws.segment[index]))
        return self._plan(dataclasses.replace(call, attempt=min(call.attempt, self.s.rules.max_attempts - 1),
                                              payload=ref))

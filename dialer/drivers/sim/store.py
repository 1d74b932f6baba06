"""Modelled customers for leads from the store: the simulator's draws, keyed by lead id, for the sim driver.

Why reuse ``simulation.model``: a customer's behaviour (answer, ring time,
AMD verdict, patience, talk, wrap-up, decision) must be drawn exactly as the
simulator draws it, so a daemon run on the sim driver meets the customers a
simulated day would. ``simulation.model.Customers`` reads the draws of
(lead index, attempt) and the hour of day; this adapter gives it a store
lead's index (its id modulo the scenario's list size) and the engine's clock.
"""

from __future__ import annotations

import dataclasses

from dialer.core.calls import Call
from dialer.drivers.sim.customers import Customers, Draws
from dialer.drivers.sim.scenario import Scenario
from dialer.drivers.sim.telephony import CustomerPlan, Scheduler

__all__ = ["StoreCustomers"]


class StoreCustomers:
    """The far end of every store lead's attempts; ``max_attempts`` widens the draws to the campaign's cap."""

    def __init__(self, scenario: Scenario, clock: Scheduler, max_attempts: int, replication: int = 0):
        rules = dataclasses.replace(scenario.rules, max_attempts=max(scenario.rules.max_attempts, max_attempts))
        self.scenario = dataclasses.replace(scenario, rules=rules)
        self.customers = Customers(self.scenario, Draws.make(self.scenario, replication))
        self.clock = clock

    def plan(self, call: Call) -> CustomerPlan:
        """What this attempt's far end will do (``SimTelephony``'s ``plan_for``)."""
        index = call.lead % self.scenario.list_size
        attempt = min(call.attempt, self.scenario.rules.max_attempts - 1)
        return self.customers.plan(index, int(self.customers.draws.segment[index]), attempt, self.clock.now())

"""The SimPy model of an outbound day: the daemon's engine on SimPy time, with modelled customers and agents.

A scenario is data; this module runs it. Dialing is ``dialer.core.engine.Engine``,
the same object the daemon runs: it calls the scenario's ``pacing``
controller, claims leads by the ``lists`` rules (``simulation.leads``), and
places calls on ``dialer.drivers.sim.telephony``'s modelled network. This module keeps
what only a simulation has: the customers' draws, the shifts, and the
accounts of what truly happened (a person AMD hung up on, a machine an agent
talked to), which no dialer can see.

Randomness: the customers are the sim driver's (``dialer.drivers.sim.customers``):
every random number of every attempt drawn up front, one seeded stream per
purpose, so two policies on the same seed meet the same people.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from dialer.core.calls import Call
from dialer.core.engine import CampaignSettings, Engine
from dialer.drivers.sim.customers import Customers, Draws
from dialer.drivers.sim.scenario import Scenario
from dialer.drivers.sim.telephony import CustomerPlan, SimTelephony, SimWorkforce
from dialer.records import Outcome
from lists.jurisdictions import capped_profile
from pacing.controllers import Controller, Decision
from pacing.days import DAY_S, local_midnight
from pacing.registry import make_controller
from simulation.leads import SimList
from simulation.results import BIN_S, RunResult, Series, expected_false_positive

__all__ = ["Model", "SimAttempt", "SimPyClock", "simulate", "controller_for", "write_trace"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class SimAttempt:
    """A recorded attempt: the dialer's own record (``call``) and what truly answered (``truth``, one of the
    network results), which only a simulation knows."""

    call: Call
    truth: Outcome

    @property
    def false_positive(self) -> bool:
        """A person whom AMD called a machine and hung up on (abandoned under the UK rule)."""
        return self.truth is Outcome.HUMAN and bool(self.call.amd_machine)

    @property
    def person(self) -> bool:
        return self.truth is Outcome.HUMAN


def _origin(scenario: Scenario) -> datetime:
    """Local midnight of the scenario's first day, in UTC: simulated time 0."""
    return local_midnight(scenario.date, scenario.timezone).astimezone(UTC)


class SimPyClock:
    """The engine's and the drivers' clock on SimPy time: a callback is a timeout's callback (no process)."""

    def __init__(self, env: simpy.Environment):
        self.env = env

    def now(self) -> float:
        return float(self.env.now)

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None:
        self.env.timeout(max(0.0, at_s - self.env.now)).callbacks.append(lambda _event: fn())


class Model:
    """One replication of a scenario under one controller: the engine on SimPy time, and the day's accounts."""

    def __init__(self, scenario: Scenario, controller: Controller, replication: int = 0, record: bool = False,
                 trace: list[tuple[float, Decision]] | None = None):
        self.s, self.controller, self.record, self.trace = scenario, controller, record, trace
        self.env = simpy.Environment()
        self.clock = SimPyClock(self.env)
        self.draws = Draws.make(scenario, replication)
        self.customers = Customers(scenario, self.draws)
        self.list = SimList(scenario, self.draws.segment, _origin(scenario),
                            capped_profile(scenario.rules.profile, scenario.rules.max_attempts))
        self.result = RunResult(series=Series(int(scenario.days * DAY_S / BIN_S)))
        self.day_live = np.zeros(scenario.days)
        self.day_abandoned = np.zeros(scenario.days)
        self.telephony = SimTelephony(self.clock, self._plan, scenario.amd.delay_s)
        wind_down_s = max(seg.no_answer_timeout_s for seg in scenario.segments) + scenario.amd.delay_s
        self.workforce = SimWorkforce(self.clock, self.telephony, wind_down_s)
        self.engine = Engine(self._settings(), controller, self.list, self.telephony, self, self.workforce,
                             wake=self._wake)
        self.telephony.attach(self.engine)
        self.workforce.attach(self.engine)

    def _wake(self, at_s: float) -> None:
        self.clock.call_at(at_s, lambda: self.engine.advance(self.env.now))

    def _settings(self) -> CampaignSettings:
        s = self.s
        return CampaignSettings(name=s.name, connect_limit_s=s.pacing.connect_limit_s, amd=s.amd.enabled,
                                ring_timeout_s=max(seg.no_answer_timeout_s for seg in s.segments),
                                preview_s=s.pacing.preview_s, tick_s=s.pacing.tick_s)

    def run(self) -> RunResult:
        self.workforce.schedule(self.s.shifts, self.s.days, DAY_S)
        for shift in self.s.shifts:
            self._count_logged_in(shift)
        for day in range(self.s.days):
            start, end = day * DAY_S + self.s.start_s, day * DAY_S + self.s.end_s
            self.clock.call_at(start, partial(self.engine.start_dialing, start, end))
            self.clock.call_at(end, lambda: self.engine.stop_dialing(self.env.now))
        self.env.run(until=self.s.days * DAY_S)
        return self._finish()

    def _count_logged_in(self, shift: Any) -> None:
        for day in range(self.s.days):
            base = day * DAY_S
            edges = [shift.start_s, *[t for b in shift.breaks for t in b], shift.end_s]
            for start, end in zip(edges[::2], edges[1::2], strict=True):
                for _ in range(shift.count):
                    self.result.series.spread("logged_in_s", base + start, base + end)  # type: ignore[union-attr]
                self.result.logged_in_s += shift.count * (end - start)

    def _plan(self, call: Call) -> CustomerPlan:
        lead = call.payload
        return self.customers.plan(lead.index, lead.segment, call.attempt, self.env.now)

    # -- the accounts (the engine's Recorder) ----------------------------------------------------------------
    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        if self.trace is not None:
            self.trace.append((now_s, decision))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s at %.0f s: %s (placed %d)", self.controller.name, now_s, decision.explain(), placed)

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        self.result.busy_s += end_s - start_s
        self.result.series.spread("busy_s", start_s, end_s)  # type: ignore[union-attr]

    def attempt(self, call: Call) -> None:
        """Count a finished attempt by what truly happened; the dialer's own view is ``call.outcome``."""
        plan = self.telephony.forget(call)
        r, series = self.result, self.result.series
        assert series is not None and call.dialled_s is not None and call.outcome is not None
        series.count("dials", call.dialled_s)
        r.outcomes[call.outcome.value] += 1
        person = plan.result is Outcome.HUMAN
        if call.amd_machine:
            self._count_amd_machine(call)
        if person:
            self._count_person(call)
        elif call.connected_s is not None:
            r.machines_to_agents += 1
        if self.record:
            r.attempts.append(SimAttempt(call, plan.result))

    def _count_person(self, call: Call) -> None:
        """A person picked up: a live answer, abandoned if no agent came in time or AMD hung up on them."""
        r, series = self.result, self.result.series
        assert series is not None and call.answered_s is not None and call.dialled_s is not None
        abandoned, false_positive = call.outcome is Outcome.ABANDONED, bool(call.amd_machine)
        r.live += 1
        series.count("live", call.answered_s)
        day = min(int(call.dialled_s // DAY_S), self.s.days - 1)
        self.day_live[day] += 1
        if abandoned or false_positive:
            series.count("abandoned" if abandoned else "amd_false_positives", call.answered_s)
            self.day_abandoned[day] += 1
        r.abandoned += abandoned
        r.amd_false_positives += false_positive
        if call.connected_s is not None:
            self._count_contact(call)

    def _count_amd_machine(self, call: Call) -> None:
        """AMD hung up: the regulator counts the call a person with the Bayes share of its segment and hour."""
        assert call.answered_s is not None and call.dialled_s is not None
        seg, amd = self.s.segments[call.payload.segment], self.s.amd
        hour = int((call.dialled_s % DAY_S) // 3600)
        p_person = expected_false_positive(seg.live[hour], seg.machine[hour], amd.false_positive, amd.false_negative)
        self.result.amd_machine(call.answered_s, p_person)

    def _count_contact(self, call: Call) -> None:
        r, disposition = self.result, call.disposition
        assert disposition is not None and call.connected_s is not None
        r.connected += 1
        self.result.series.count("connected", call.connected_s)  # type: ignore[union-attr]
        if disposition.code == "refused" and disposition.refusal_reason:
            r.refusals[disposition.refusal_reason] += 1
        else:
            r.successes += 1

    def _finish(self) -> RunResult:
        r = self.result
        for agent in self.engine.pool:
            if agent.id in self.engine.wrapping:
                self.busy(agent.id, agent.busy_since_s, self.env.now)
        r.penetration, r.finished = self.list.penetration, self.list.finished
        r.days_uk_rates = [float(a / n) if n else 0.0 for a, n in zip(self.day_abandoned, self.day_live, strict=True)]
        return r


def controller_for(scenario: Scenario) -> Controller:
    """A fresh controller for the scenario's policy, bound by its cap and its tested AMD false-positive rate."""
    fp_rate = scenario.amd.false_positive if scenario.amd.enabled else 0.0
    return make_controller(scenario.pacing.policy, scenario.pacing.abandon_cap, fp_rate, **scenario.pacing.params)


def simulate(scenario: Scenario, replication: int = 0, record: bool = False,
             controller: Controller | None = None) -> RunResult:
    """Run one replication of ``scenario`` under its own pacing policy (or ``controller``)."""
    chosen = controller or controller_for(scenario)
    return Model(scenario, chosen, replication, record).run()


def write_trace(scenario: Scenario, path: Path, replication: int = 0) -> int:
    """Run one replication and write every pacing decision as a JSON line: time, launch, reason, inputs.

    Returns the number of decisions. Times are seconds after the first local midnight."""
    trace: list[tuple[float, Decision]] = []
    Model(scenario, controller_for(scenario), replication, trace=trace).run()
    with path.open("w", encoding="utf-8") as out:
        for at_s, decision in trace:
            out.write(json.dumps({"t_s": round(at_s, 3), "launch": decision.launch, "reason": decision.reason,
                                  "inputs": {k: float(v) for k, v in decision.inputs.items()}}) + "\n")
    return len(trace)

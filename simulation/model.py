"""The SimPy model of an outbound day: a dialer loop, one process per call, agents on shifts.

A scenario is data; this module runs it. The pacing decision comes from a
``pacing.controllers`` controller, the same object the daemon calls, and
leads are chosen by the ``lists`` rules (see ``simulation.leads``).

Randomness: every random quantity of attempt k of lead i is drawn up front
into ``Draws``, one numpy generator per purpose, from the scenario seed and
the replication number. Two policies run on the same seed therefore meet
the same customers (common random numbers), and one seed gives one run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from lists.rules import capped_profile
from pacing.controllers import AttemptOutcome, Controller, Decision, Snapshot, make_controller
from simulation.floor import Agent, Floor
from simulation.leads import SimLead, SimList
from simulation.results import BIN_S, RunResult, Series
from simulation.scenario import Scenario

__all__ = ["Draws", "Model", "simulate", "controller_for", "write_trace", "STREAMS"]

log = logging.getLogger(__name__)

STREAMS = ("segment", "result", "ring_live", "ring_machine", "amd", "patience", "talk_success", "talk_refusal",
           "wrap", "conversion", "reason")
DAY_S = 86400.0
BUSY_TONE_S, INVALID_S = 6.0, 3.0  # network time before a busy or an invalid-number result, seconds


@dataclass
class Draws:
    """Per (lead, attempt) random numbers; arrays of shape (list size, max attempts)."""

    segment: np.ndarray
    arrays: dict[str, np.ndarray]

    @classmethod
    def make(cls, scenario: Scenario, replication: int) -> Draws:
        streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                                     np.random.SeedSequence([scenario.seed, replication]).spawn(len(STREAMS))),
                           strict=True))
        shape = (scenario.list_size, scenario.rules.max_attempts)
        shares = np.array([s.share for s in scenario.segments])
        segment = streams["segment"].choice(len(shares), scenario.list_size, p=shares / shares.sum())
        arrays = {name: streams[name].random(shape) for name in ("result", "amd", "conversion", "reason")}
        for name, pick in (("ring_live", "ring_live"), ("ring_machine", "ring_machine")):
            arrays[name] = np.empty(shape)
            for k, seg in enumerate(scenario.segments):
                rows = segment == k
                arrays[name][rows] = getattr(seg, pick).sample(streams[name], (int(rows.sum()), shape[1]))
        talk = scenario.talk
        for name, dist in (("talk_success", talk.success), ("talk_refusal", talk.refusal), ("wrap", talk.wrap)):
            arrays[name] = dist.sample(streams[name], shape)
        arrays["patience"] = (scenario.patience.sample(streams["patience"], shape) if scenario.patience
                              else np.full(shape, np.inf))
        return cls(segment, arrays)

    def of(self, lead: int, attempt: int) -> dict[str, float]:
        return {name: float(values[lead, attempt]) for name, values in self.arrays.items()}


def _as_seen(row: dict[str, Any]) -> AttemptOutcome:
    """The attempt as the dialer saw it: an AMD false positive looks like a machine, an abandon like a live answer."""
    ring = (row["answered_s"] if "answered_s" in row else row["hangup_s"]) - row["dialled_s"]
    result = "live" if row["outcome"] == "abandoned" else row["outcome"]
    return AttemptOutcome(row["dialled_s"], ring, result, bool(row.get("abandoned")),
                          row.get("amd_result") == "machine", row["segment"])


def _origin(scenario: Scenario) -> datetime:
    """Local midnight of the scenario's first day, in UTC: simulated time 0."""
    return datetime.combine(scenario.date, time(0), tzinfo=ZoneInfo(scenario.timezone)).astimezone(UTC)


class Model:
    """One replication of a scenario under one controller."""

    def __init__(self, scenario: Scenario, controller: Controller, replication: int = 0, record: bool = False,
                 trace: list[tuple[float, Decision]] | None = None):
        self.s, self.controller, self.record, self.trace = scenario, controller, record, trace
        self.env = simpy.Environment()
        self.floor = Floor(self.env, on_busy=self._busy)
        self.draws = Draws.make(scenario, replication)
        self.list = SimList(scenario, self.draws.segment, _origin(scenario),
                            capped_profile(scenario.rules.profile, scenario.rules.max_attempts))
        self.result = RunResult(series=Series(int(scenario.days * DAY_S / BIN_S)))
        self.ringing: dict[int, tuple[float, str]] = {}  # call id: (dialled at, segment name)
        self.analysing: dict[int, tuple[float, str]] = {}  # call id: (AMD analysis started at, segment name)
        self.ids = count()
        self.day_live = np.zeros(scenario.days)
        self.day_abandoned = np.zeros(scenario.days)
        self._day_end_s = scenario.end_s
        self.on_call = 0
        self._wind_down_s = max(seg.no_answer_timeout_s for seg in scenario.segments) + scenario.amd.delay_s

    def run(self) -> RunResult:
        names = count(1)
        for shift in self.s.shifts:
            for _ in range(shift.count):
                self.env.process(self._agent(Agent(f"a{next(names)}"), shift))
            self._count_logged_in(shift)
        self.env.process(self._dialer())
        self.env.run(until=self.s.days * DAY_S)
        return self._finish()

    # -- agents and dialer loop ------------------------------------------------------------------------------
    def _agent(self, agent: Agent, shift: Any) -> Generator[simpy.Event, Any, None]:
        for day in range(self.s.days):
            base = day * DAY_S
            yield self.env.timeout(base + shift.start_s - self.env.now)
            self.floor.log_in(agent)
            for start, end in shift.breaks:
                yield from self._step_away_at(agent, base + start, "break")
                yield self.env.timeout(base + end - self.env.now)
                self.floor.come_back(agent)
            yield from self._step_away_at(agent, base + shift.end_s, "off")

    def _step_away_at(self, agent: Agent, at_s: float, why: str) -> Generator[simpy.Event, Any, None]:
        """Stop dialing for the agent one ring horizon early, so calls launched for them find them in."""
        yield self.env.timeout(max(0.0, at_s - self._wind_down_s - self.env.now))
        self.floor.wind_down(agent)
        yield self.env.timeout(at_s - self.env.now)
        self.floor.step_away(agent, why)

    def _count_logged_in(self, shift: Any) -> None:
        for day in range(self.s.days):
            base = day * DAY_S
            edges = [shift.start_s, *[t for b in shift.breaks for t in b], shift.end_s]
            for start, end in zip(edges[::2], edges[1::2], strict=True):
                for _ in range(shift.count):
                    self.result.series.spread("logged_in_s", base + start, base + end)  # type: ignore[union-attr]
                self.result.logged_in_s += shift.count * (end - start)

    def _dialer(self) -> Generator[simpy.Event, Any, None]:
        for day in range(self.s.days):
            base = day * DAY_S
            yield self.env.timeout(max(0.0, base + self.s.start_s - self.env.now))
            self._day_end_s = base + self.s.end_s
            while self.env.now < base + self.s.end_s:
                self._dial()
                yield self.floor.changed | self.env.timeout(self.s.pacing.tick_s)

    def snapshot(self) -> Snapshot:
        now = self.env.now
        return Snapshot(now_s=now, agents_logged_in=self.floor.logged_in, agents_idle=self.floor.available,
                        busy_elapsed_s=tuple(now - a.busy_since for a in self.floor.busy),
                        ringing_elapsed_s=tuple(now - t for t, _ in self.ringing.values()),
                        ringing_segments=tuple(segment for _, segment in self.ringing.values()),
                        waiting=self.floor.waiting_now, seconds_left=self._day_end_s - now,
                        agents_on_call=self.on_call,
                        analysing_elapsed_s=tuple(now - t for t, _ in self.analysing.values()),
                        analysing_segments=tuple(segment for _, segment in self.analysing.values()))

    def _dial(self) -> None:
        decision = self.controller.decide(self.snapshot())
        if self.trace is not None:
            self.trace.append((self.env.now, decision))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s at %.0f s: %s", self.controller.name, self.env.now, decision.explain())
        placed = 0
        for lead in self.list.take(decision.launch, self.env.now):
            agent = self.floor.reserve() if self.controller.reserves_agent else None
            self.env.process(self._call(lead, agent))
            placed += 1
        self.controller.placed(self.env.now, placed)

    # -- one call --------------------------------------------------------------------------------------------
    def _network(self, lead: SimLead, d: dict[str, float], hour: int) -> tuple[str, float]:
        """What the network gives this attempt, and after how many seconds."""
        seg = self.s.segments[lead.segment]
        u, timeout = d["result"], seg.no_answer_timeout_s
        edges = np.cumsum([seg.invalid[hour], seg.busy[hour], seg.live[hour], seg.machine[hour]])
        if u < edges[0]:
            return "invalid", INVALID_S
        if u < edges[1]:
            return "busy", BUSY_TONE_S
        if u < edges[3]:
            kind = "live" if u < edges[2] else "machine"
            ring = d["ring_live" if kind == "live" else "ring_machine"]
            return (kind, ring) if ring < timeout else ("no_answer", timeout)
        return "no_answer", timeout

    def _call(self, lead: SimLead, agent: Agent | None) -> Generator[simpy.Event, Any, None]:
        attempt = len(lead.attempts)
        d = self.draws.of(lead.index, attempt)
        if agent is not None:
            yield self.env.timeout(self.s.pacing.preview_s)
        call_id, dialled = next(self.ids), self.env.now
        hour = int((dialled % DAY_S) // 3600)
        kind, ring = self._network(lead, d, hour)
        self.ringing[call_id] = (dialled, self.s.segments[lead.segment].name)
        yield self.env.timeout(ring)
        del self.ringing[call_id]
        row: dict[str, Any] = {"lead": lead.index, "segment": self.s.segments[lead.segment].name,
                               "attempt": attempt, "dialled_s": dialled, "outcome": kind}
        if kind in ("live", "machine"):
            row["answered_s"] = self.env.now
            yield from (self._live(row, d, agent) if kind == "live" else self._machine(row, d, agent))
        elif agent is not None:
            self.floor.release(agent)
        row.setdefault("hangup_s", self.env.now)
        self._account(lead, row)

    def _amd_says_machine(self, row: dict[str, Any], d: dict[str, float], human: bool) -> Generator[Any, Any, bool]:
        if not self.s.amd.enabled:
            return False
        key = next(self.ids)
        self.analysing[key] = (self.env.now, row["segment"])
        yield self.env.timeout(self.s.amd.delay_s)
        del self.analysing[key]
        wrong = d["amd"] < (self.s.amd.false_positive if human else self.s.amd.false_negative)
        says_machine = (human and wrong) or (not human and not wrong)
        row["amd_result"], row["amd_end_s"] = ("machine" if says_machine else "human"), self.env.now
        return says_machine

    def _connect(self, agent: Agent | None, deadline: float | None) -> Generator[Any, Any, Agent | None]:
        if agent is not None:
            self.floor.start(agent)
            return agent
        found, _ = yield from self.floor.connect(deadline)
        return found

    def _live(self, row: dict[str, Any], d: dict[str, float], reserved: Agent | None) -> Generator[Any, Any, None]:
        self.result.live += 1
        if (yield from self._amd_says_machine(row, d, human=True)):
            row["outcome"], row["false_positive"] = "machine", True
            if reserved is not None:
                self.floor.release(reserved)
            return
        limit = self.s.pacing.connect_limit_s
        deadline = min(limit if limit is not None else np.inf, d["patience"])
        agent = yield from self._connect(reserved, deadline)
        if agent is None:
            row["outcome"], row["abandoned"] = "abandoned", True
            return
        row["connected_s"], row["agent"] = self.env.now, agent.name
        self._seen(row)
        success = d["conversion"] < self.s.outcomes.conversion
        talk = d["talk_success" if success else "talk_refusal"]
        row["disposition"] = self.s.outcomes.success_code if success else "refused"
        if not success:
            row["refusal_reason"] = self._reason(d["reason"])
        yield from self._on_call(talk)
        row["hangup_s"], row["wrap_s"] = self.env.now, d["wrap"]
        yield self.env.timeout(d["wrap"])
        self.floor.release(agent)
        self.controller.observe_handle(self.env.now, talk + d["wrap"])

    def _machine(self, row: dict[str, Any], d: dict[str, float], reserved: Agent | None) -> Generator[Any, Any, None]:
        if (yield from self._amd_says_machine(row, d, human=False)):
            if reserved is not None:
                self.floor.release(reserved)
            return
        agent = yield from self._connect(reserved, self.s.pacing.connect_limit_s)
        if agent is not None:
            row["connected_s"], row["agent"], row["to_agent"] = self.env.now, agent.name, True
            self._seen(row)
            yield from self._on_call(self.s.talk.machine_s)
            self.floor.release(agent)

    def _on_call(self, seconds: float) -> Generator[Any, Any, None]:
        self.on_call += 1
        yield self.env.timeout(seconds)
        self.on_call -= 1

    def _seen(self, row: dict[str, Any]) -> None:
        """Tell the controller the attempt's result as soon as the dialer knows it (answer, connect or give-up)."""
        if not row.get("seen"):
            row["seen"] = True
            self.controller.observe(_as_seen(row))

    def _reason(self, u: float) -> str:
        total = 0.0
        for code, share in self.s.outcomes.refusal_reasons:
            total += share
            if u < total:
                return code
        return self.s.outcomes.refusal_reasons[-1][0]

    # -- bookkeeping -----------------------------------------------------------------------------------------
    def _account(self, lead: SimLead, row: dict[str, Any]) -> None:
        r, series, outcome = self.result, self.result.series, row["outcome"]
        assert series is not None
        r.outcomes[outcome] += 1
        series.count("dials", row["dialled_s"])
        day = min(int(row["dialled_s"] // DAY_S), self.s.days - 1)
        if "answered_s" in row and (row.get("false_positive") or outcome in ("live", "abandoned")):
            series.count("live", row["answered_s"])
            self.day_live[day] += 1
        if row.get("abandoned") or row.get("false_positive"):
            series.count("abandoned" if row.get("abandoned") else "amd_false_positives", row["answered_s"])
            self.day_abandoned[day] += 1
        r.abandoned += bool(row.get("abandoned"))
        r.amd_false_positives += bool(row.get("false_positive"))
        r.machines_to_agents += bool(row.get("to_agent"))
        if outcome == "live" and "connected_s" in row:
            self._account_contact(row)
        final = outcome == "invalid" or (outcome == "live" and "connected_s" in row)
        self.list.finish(lead, outcome, row["dialled_s"], row["hangup_s"], final)
        self._seen(row)
        if self.record:
            r.attempts.append(row)

    def _account_contact(self, row: dict[str, Any]) -> None:
        r = self.result
        r.connected += 1
        self.result.series.count("connected", row["connected_s"])  # type: ignore[union-attr]
        if row["disposition"] == "refused":
            r.refusals[row["refusal_reason"]] += 1
        else:
            r.successes += 1

    def _busy(self, start_s: float, end_s: float) -> None:
        self.result.busy_s += end_s - start_s
        self.result.series.spread("busy_s", start_s, end_s)  # type: ignore[union-attr]

    def _finish(self) -> RunResult:
        r = self.result
        for agent in list(self.floor.busy):
            self.floor.release(agent)
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

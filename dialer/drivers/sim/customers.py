"""The sim driver's modelled customers: the pre-drawn random numbers of every attempt, and what each meets.

Randomness: every random quantity of attempt k of lead i is drawn up front
into ``Draws``, one numpy generator per purpose, from the scenario seed and
the replication number. Two policies run on the same seed therefore meet
the same customers (common random numbers), and one seed gives one run.
The simulator and the daemon's sim driver both ask ``Customers``, so both
meet the same people, drawn the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from dialer.core.calls import Disposition, Outcome
from dialer.drivers.sim.scenario import Scenario
from dialer.drivers.sim.telephony import CustomerPlan
from pacing.days import DAY_S

__all__ = ["Draws", "Draw", "Customers", "STREAMS", "DRAW_FIELDS"]

STREAMS = ("segment", "result", "ring_live", "ring_machine", "amd", "patience", "talk_success", "talk_refusal",
           "wrap", "conversion", "reason")
BUSY_TONE_S, INVALID_S = 6.0, 3.0  # network time before a busy or an invalid-number result, seconds


@dataclass
class Draws:
    """Per (lead, attempt) random numbers; arrays of shape (list size, max attempts). ``table`` holds the same
    numbers stacked (list size, max attempts, field), so one attempt's draws come out in one numpy read."""

    segment: np.ndarray
    arrays: dict[str, np.ndarray]
    table: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.table = np.stack([self.arrays[name] for name in DRAW_FIELDS], axis=-1)

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

    def of(self, lead: int, attempt: int) -> Draw:
        return Draw._make(self.table[lead, attempt].tolist())


class Draw(NamedTuple):
    """The random numbers of one attempt: uniforms for the result, AMD, conversion and reason; seconds for the
    rest."""

    result: float
    amd: float
    conversion: float
    reason: float
    ring_live: float
    ring_machine: float
    talk_success: float
    talk_refusal: float
    wrap: float
    patience: float


DRAW_FIELDS = Draw._fields


class Customers:
    """The far ends of a scenario's list: what attempt k of lead i will meet, from the pre-drawn numbers.

    Why its own class: the simulator and the daemon's sim driver must meet
    the same people, drawn the same way, so both ask this one object."""

    def __init__(self, scenario: Scenario, draws: Draws):
        self.s, self.draws = scenario, draws
        self._edge_cache: dict[tuple[int, int], tuple[float, float, float, float]] = {}

    def plan(self, index: int, segment: int, attempt: int, at_s: float) -> CustomerPlan:
        """Attempt ``attempt`` of lead ``index`` (list segment ``segment``), dialled at ``at_s`` seconds after the
        first local midnight (its hour picks the hourly rates)."""
        d = self.draws.of(index, attempt)
        result, after_s = self._network(segment, d, int((at_s % DAY_S) // 3600))
        human = result is Outcome.HUMAN
        wrong = d.amd < (self.s.amd.false_positive if human else self.s.amd.false_negative)
        amd_says_machine = human == wrong
        if not human:
            return CustomerPlan(result, after_s, amd_says_machine, talk_s=self.s.talk.machine_s)
        success = d.conversion < self.s.outcomes.conversion
        disposition = (Disposition(self.s.outcomes.success_code) if success
                       else Disposition("refused", refusal_reason=self._reason(d.reason)))
        return CustomerPlan(result, after_s, amd_says_machine, d.patience,
                            d.talk_success if success else d.talk_refusal, d.wrap, disposition)

    def _network(self, segment: int, d: Draw, hour: int) -> tuple[Outcome, float]:
        """What the network gives this attempt, and after how many seconds."""
        u, timeout = d.result, self.s.segments[segment].no_answer_timeout_s
        edges = self._edges(segment, hour)
        if u < edges[0]:
            return Outcome.INVALID, INVALID_S
        if u < edges[1]:
            return Outcome.BUSY, BUSY_TONE_S
        if u < edges[3]:
            kind = Outcome.HUMAN if u < edges[2] else Outcome.MACHINE
            ring = d.ring_live if kind is Outcome.HUMAN else d.ring_machine
            return (kind, ring) if ring < timeout else (Outcome.NO_ANSWER, timeout)
        return Outcome.NO_ANSWER, timeout

    def _edges(self, segment: int, hour: int) -> tuple[float, float, float, float]:
        """The cumulative shares (invalid, busy, live, machine) of a segment at an hour of day, worked out once."""
        key = (segment, hour)
        if key not in self._edge_cache:
            seg = self.s.segments[segment]
            a, b, c, d = np.cumsum([seg.invalid[hour], seg.busy[hour], seg.live[hour], seg.machine[hour]]).tolist()
            self._edge_cache[key] = (a, b, c, d)
        return self._edge_cache[key]

    def _reason(self, u: float) -> str | None:
        """The refusal reason the uniform ``u`` falls on; None when the campaign's catalogue has none."""
        if not self.s.outcomes.refusal_reasons:
            return None
        total = 0.0
        for code, share in self.s.outcomes.refusal_reasons:
            total += share
            if u < total:
                return code
        return self.s.outcomes.refusal_reasons[-1][0]

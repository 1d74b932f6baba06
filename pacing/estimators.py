"""Online estimators for predictive pacing: ring outcomes with censoring, and handle times; both forget.

Why survival analysis: a call still ringing after 20 s is less likely to be
answered than a fresh one, and a no-answer at the 25 s timeout only says the
answer time was over 25 s. Both facts are kept by a Kaplan–Meier estimate
with cause-specific hazards (live, machine, other) on a 1 s grid, where
no-answers are censored observations.

Why forgetting: the answer rate moves through the day (it can double after
17:00). Every weight decays by half each ``half_life_s`` of the caller's
clock, so the estimates follow a step change within a few half-lives.
Prior pseudo-observations keep the first decisions of the day sane.

Why a floor under the forgetting: after a pause (lunch, a night, a long
weekend) the old evidence has decayed to almost nothing, so the first few
calls would decide everything, and after about four idle days it underflows
to zero: a zero answer rate reads as zero risk. So an estimate never weighs
less than a quarter of its prior; the missing weight is taken from what the
same hour of the day looked like before (``RingOutcomes``), from the law last
learned (``HandleTimes``), or from the prior.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pacing.days import DAY_S
from pacing.memory import day, number, optional_moment, weights

__all__ = ["RingOutcomes", "RingsBySegment", "HandleTimes", "Decaying", "CAUSES", "by_segment"]

CAUSES = ("live", "machine", "other")  # other: busy, invalid, failed; a no-answer is censored, not a cause
FLOOR_SHARE = 0.25  # the least weight an estimate keeps, as a share of its prior's


def _top_up(floor: float, state: tuple[np.ndarray, ...], shape: Callable[[], tuple[np.ndarray, ...]]) -> None:
    """Add ``shape()`` (its arrays sum to 1) to ``state`` until it weighs ``floor``, if it weighs less."""
    missing = floor - sum(float(a.sum()) for a in state)
    if missing > 0.0:
        for array, share in zip(state, shape(), strict=True):
            array += missing * share


def _normalised(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    total = sum(float(a.sum()) for a in arrays)
    return tuple(a / total for a in arrays)


@dataclass
class Decaying:
    """Arrays of weights that halve every ``half_life_s``; ``decay_to(t)`` brings them to time t (seconds).

    One step scales by no less than 2⁻⁶⁰⁰: a pause of any length leaves the
    weights negligible but never zero (doubles end near 2⁻¹⁰⁷⁴), so they keep
    their shape for the floor to build on.
    """

    half_life_s: float
    last_t: float | None = None

    def decay_to(self, t: float, *arrays: np.ndarray) -> None:
        if self.last_t is not None and t > self.last_t:
            factor = math.exp(-math.log(2.0) * min((t - self.last_t) / self.half_life_s, 600.0))
            for array in arrays:
                array *= factor
        self.last_t = t if self.last_t is None else max(self.last_t, t)


@dataclass
class RingOutcomes:
    """What happens to a ringing call, learned from resolved calls. Times in seconds from the dial.

    ``prior_live`` and friends are the shares assumed before any data, worth
    ``prior_weight`` calls; the prior's answer times are spread evenly over
    the first ``prior_ring_s`` seconds. The curves are recomputed at most once
    per ``refresh_s`` of the caller's clock: a second's news moves them little.

    By hour: every resolved call is also kept in a memory of its hour of the
    day (the caller's clock counts from a local midnight), forgetting by half
    every ``memory_half_life_days``. When the estimate falls below its floor
    (see the module), the shortfall comes from this hour's memory, or the
    latest hour before it that has one: Tuesday 09:00 starts from how Monday
    09:00 went, not from the last calls of Monday evening.
    """

    max_ring_s: int = 120
    half_life_s: float = 300.0
    prior_live: float = 0.2
    prior_machine: float = 0.15
    prior_other: float = 0.08
    prior_weight: float = 20.0
    prior_ring_s: int = 20
    refresh_s: float = 5.0
    memory_half_life_days: float = 7.0
    events: np.ndarray = field(init=False)
    censored: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        bins = self.max_ring_s + 1
        self.events = np.zeros((len(CAUSES), bins))
        self.censored = np.zeros(bins)
        self._clock = Decaying(self.half_life_s)
        spread = self.prior_weight / self.prior_ring_s
        for row, share in enumerate((self.prior_live, self.prior_machine, self.prior_other)):
            self.events[row, 1:self.prior_ring_s + 1] += share * spread
        no_answer = 1.0 - self.prior_live - self.prior_machine - self.prior_other
        self.censored[min(25, self.max_ring_s)] += no_answer * self.prior_weight
        self._prior = _normalised(self.events, self.censored)
        self._hours = np.zeros((24, len(CAUSES) + 1, bins))  # hour of day, cause (last: censored), ring bin
        self._memory_day: int | None = None
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        self._tables: dict[int, np.ndarray] = {}
        self._open = np.zeros(bins)
        self._observed = np.zeros(1)
        self._computed_at = -math.inf

    def memory(self) -> dict[str, Any]:
        """What was learned (``pacing.memory``): the weights, the by-hour memory and their clocks. The curves and
        tables are recomputed from them, and the calls ringing now are the new owner's (every decision that reads
        the curves first tells the estimate which calls ring)."""
        return {"events": self.events.tolist(), "censored": self.censored.tolist(),
                "observed": float(self._observed[0]), "clock": self._clock.last_t,
                "hours": self._hours.tolist(), "memory_day": self._memory_day}

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory()`` of an estimate with the same ring bins, its clocks ``shift_days`` on (``pacing.memory``;
        the hours of the day stay); ValueError if its arrays are of others."""
        self.events = weights(memory["events"], self.events.shape)
        self.censored = weights(memory["censored"], self.censored.shape)
        self._observed = np.array([number(memory["observed"])])
        self._clock.last_t = optional_moment(memory["clock"], shift_days)
        self._hours = weights(memory["hours"], self._hours.shape)
        self._memory_day = None if memory["memory_day"] is None else day(memory["memory_day"], shift_days)
        self._cache, self._tables, self._computed_at = None, {}, -math.inf

    def _changed(self) -> None:
        if self._cache is not None and (self._clock.last_t or 0.0) - self._computed_at >= self.refresh_s:
            self._cache, self._tables = None, {}

    def _decay_to(self, t: float) -> None:
        self._clock.decay_to(t, self.events, self.censored, self._observed)
        day = int(t // DAY_S)
        if self._memory_day is not None and day > self._memory_day:
            self._hours *= 0.5 ** ((day - self._memory_day) / self.memory_half_life_days)
        self._memory_day = day if self._memory_day is None else max(self._memory_day, day)
        _top_up(FLOOR_SHARE * self.prior_weight, (self.events, self.censored), lambda: self._shape_at(t))

    def _shape_at(self, t: float) -> tuple[np.ndarray, ...]:
        """What calls looked like at this hour of the day, or the latest earlier hour with memory; else the prior."""
        hour = int(t % DAY_S // 3600)
        for back in range(24):
            memory = self._hours[(hour - back) % 24]
            if memory.any():
                return _normalised(memory[:-1], memory[-1])
        return self._prior

    def observe(self, t: float, ring_s: float, cause: str | None) -> None:
        """A resolved call: answered (``cause``) after ``ring_s``, or no answer (None) censored at ``ring_s``."""
        self._decay_to(t)
        self._observed += 1.0
        k = min(max(int(math.ceil(ring_s)), 1), self.max_ring_s)
        row = len(CAUSES) if cause is None else CAUSES.index(cause)
        (self.censored if cause is None else self.events[row])[k] += 1.0
        self._hours[int(t % DAY_S // 3600), row, k] += 1.0
        self._changed()

    def forget(self, keep: float) -> None:
        """Keep only ``keep`` of the weight of every resolved call so far (a change was detected): the next calls
        outweigh the old regime at once. The floor still tops it up from the by-hour memory or the prior."""
        self.events *= keep
        self.censored *= keep
        self._observed *= keep
        self._cache, self._tables = None, {}

    def ringing(self, t: float, elapsed_s: np.ndarray) -> None:
        """Calls still ringing at ``t``: censored at their elapsed time, so early resolvers (busy, invalid) do
        not bias the estimate before the slower answers come in. Replaces the previous call's set."""
        self._decay_to(t)
        if self._cache is None or t - self._computed_at >= self.refresh_s:
            self._open = np.bincount(np.minimum(np.asarray(elapsed_s, dtype=int), self.max_ring_s),
                                     minlength=self.max_ring_s + 1).astype(float)
            self._changed()

    def _curves(self) -> tuple[np.ndarray, np.ndarray]:
        """(S, cumulative live incidence): S[k] = P(still ringing after k s), F[k] = P(live answer by k s)."""
        if self._cache is None:
            deaths = self.events.sum(axis=0)
            at_risk = np.cumsum((deaths + self.censored + self._open)[::-1])[::-1]
            hazard = np.divide(deaths, at_risk, out=np.zeros_like(deaths), where=at_risk > 0)
            survival = np.cumprod(1.0 - hazard)
            before = np.concatenate(([1.0], survival[:-1]))
            live_hazard = np.divide(self.events[0], at_risk, out=np.zeros_like(deaths), where=at_risk > 0)
            self._cache = (survival, np.cumsum(before * live_hazard))
            self._computed_at = self._clock.last_t or 0.0
        return self._cache

    def p_live_within(self, elapsed_s: np.ndarray | float, offset_s: float | np.ndarray,
                      horizon_s: float | np.ndarray) -> np.ndarray:
        """P(a call ringing for ``elapsed_s`` is answered live between ``offset_s`` and ``horizon_s`` from now)."""
        survival, incidence = self._curves()
        e = np.clip(np.floor(np.asarray(elapsed_s, dtype=float)).astype(int), 0, self.max_ring_s)
        start = np.clip(e + np.rint(offset_s).astype(int), 0, self.max_ring_s)
        end = np.clip(e + np.rint(horizon_s).astype(int), 0, self.max_ring_s)
        alive = survival[e]  # bin k holds rings in (k−1, k] s, so a call ringing e s has passed bins 0…e
        gained = incidence[end] - incidence[start]
        return np.divide(gained, alive, out=np.zeros(np.broadcast(gained, alive).shape), where=alive > 1e-12)

    def live_table(self, horizon: int) -> np.ndarray:
        """T[e, t−1] = P(live answer within t s | still ringing after e s), for e = 0…max_ring_s, t = 1…horizon."""
        self._curves()
        if horizon not in self._tables:
            self._tables[horizon] = self.p_live_within(np.arange(self.max_ring_s + 1)[:, None], 0.0,
                                                       np.arange(1, horizon + 1)[None, :])
        return self._tables[horizon]

    @property
    def evidence(self) -> float:
        """How many resolved calls, after forgetting, the estimates stand on (the prior not counted)."""
        return float(self._observed[0])

    @property
    def live_rate(self) -> float:
        """P(a fresh call is answered live at all, within the longest ring observed)."""
        return float(self._curves()[1][-1])

    @property
    def person_share(self) -> float:
        """P(an answered call is passed on as a person): live over live plus machine answers, as the dialer saw
        them. AMD false positives reach the estimate as machines, so the share already nets them out."""
        live, machine = float(self.events[0].sum()), float(self.events[1].sum())
        return live / (live + machine) if live + machine > 0 else 0.5

    def ring_quantile(self, q: float) -> float:
        """The ``q`` quantile of the ring time of calls answered live, seconds."""
        incidence = self._curves()[1]
        if incidence[-1] <= 0:
            return float(self.prior_ring_s)
        return float(np.searchsorted(incidence / incidence[-1], q))


def by_segment(elapsed_s: tuple[float, ...], segments: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    """Ringing calls' elapsed times grouped by segment; no segments given means one segment, ``"all"``."""
    if not segments:
        return {"all": elapsed_s} if elapsed_s else {}
    if len(segments) == len(elapsed_s) and segments.count(segments[0]) == len(segments):
        return {segments[0]: elapsed_s}  # the common case, in one C-level pass: 0.06 ms saved at 1,500 calls
    groups: dict[str, list[float]] = {}
    for elapsed, segment in zip(elapsed_s, segments, strict=True):
        groups.setdefault(segment, []).append(elapsed)
    return {segment: tuple(times) for segment, times in groups.items()}


@dataclass
class RingsBySegment:
    """Ring outcomes learned separately for each list segment (``AttemptOutcome.segment``), each by hour.

    Why: a list mixes people who answer differently (mobiles and landlines,
    lapsed and recent borrowers). One pooled estimate gives every ringing
    call the average chance, too high for some and too low for others, and
    drifts with the mix being dialed. A ringing call gets its own segment's
    chances; a new call, whose lead is not yet chosen, the segments' mixed by
    their share of recently resolved calls (forgetting with ``half_life_s``).
    ``make`` builds the estimator of a segment seen for the first time.
    Before any call, one estimate (named ``"all"``) stands for the list; the
    first segment seen adopts it, so a one-segment list is paced exactly as
    by a single ``RingOutcomes``.
    """

    make: Callable[[], RingOutcomes] = RingOutcomes
    half_life_s: float = 300.0
    segments: dict[str, RingOutcomes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.segments:
            self.segments["all"] = self.make()
        self._calls = np.zeros(len(self.segments))  # resolved calls per segment, in their order, forgetting
        self._clock = Decaying(self.half_life_s)
        self._seen: set[str] = set()  # segments that have had calls

    def _get(self, segment: str) -> RingOutcomes:
        if segment not in self.segments:
            unused = list(self.segments) == ["all"] and "all" not in self._seen
            self.segments[segment] = self.segments.pop("all") if unused else self.make()
            self._calls = np.zeros(len(self.segments)) if unused else np.append(self._calls, 0.0)
        self._seen.add(segment)
        return self.segments[segment]

    def memory(self) -> dict[str, Any]:
        """What was learned (``pacing.memory``): each segment's estimate with its recent calls, in a list.

        Why a list, each segment's calls in its entry: the segments' order is
        the order their shares are mixed in (``shares``, ``fresh``), and a JSON
        object's keys may come back in another (a store or a tool that sorts
        them), which would swap the segments' shares."""
        return {"segments": [{"name": name, "calls": calls, "estimate": estimate.memory()}
                             for (name, estimate), calls in zip(self.segments.items(), self._calls.tolist(),
                                                                strict=True)],
                "clock": self._clock.last_t, "seen": sorted(self._seen)}

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory()``: each segment's estimate made afresh by ``make`` (today's settings), then recalled;
        the clocks ``shift_days`` on (``pacing.memory``)."""
        segments: dict[str, RingOutcomes] = {}
        for entry in memory["segments"]:
            name = entry["name"]
            if not isinstance(name, str) or name in segments:
                raise ValueError("a segment without a name, or twice")
            segments[name] = self.make()
            segments[name].recall(entry["estimate"], shift_days)
        seen = set(memory["seen"])
        if not segments or not seen <= set(segments):
            raise ValueError("segments: none, or calls seen in a segment not kept")
        self._calls = weights([entry["calls"] for entry in memory["segments"]], (len(segments),))
        self.segments, self._seen = segments, seen
        self._clock.last_t = optional_moment(memory["clock"], shift_days)

    def observe(self, t: float, ring_s: float, cause: str | None, segment: str = "all") -> None:
        self._get(segment).observe(t, ring_s, cause)
        self._clock.decay_to(t, self._calls)
        self._calls[list(self.segments).index(segment)] += 1.0

    def ringing(self, t: float, groups: dict[str, tuple[float, ...]]) -> None:
        """Calls still ringing at ``t``, grouped by segment (``by_segment``): censored in their own segment."""
        for segment in groups:
            self._get(segment)
        for segment, estimate in self.segments.items():
            estimate.ringing(t, np.asarray(groups.get(segment, ())))
        self._clock.decay_to(t, self._calls)

    def shares(self) -> dict[str, float]:
        """Each segment's share of the calls being dialed now: of recently resolved calls; equal before any."""
        total = float(self._calls.sum())
        weights = self._calls / total if total > 0 else np.full(len(self.segments), 1.0 / len(self.segments))
        return {segment: float(w) for segment, w in zip(self.segments, weights, strict=True) if w > 0}

    def forget(self, keep: float) -> None:
        """Every segment keeps ``keep`` of its evidence (``RingOutcomes.forget``)."""
        for estimate in self.segments.values():
            estimate.forget(keep)

    def horizon_s(self, q: float) -> float:
        """The ``q`` quantile of the live ring time, the longest of the segments being dialed (seconds)."""
        return max(self.segments[segment].ring_quantile(q) for segment in self.shares())

    def fresh(self, horizon: int) -> np.ndarray:
        """P(a new call is answered live within t s), t = 1…horizon: the segments' chances mixed by share."""
        return sum(w * self.segments[s].live_table(horizon)[0] for s, w in self.shares().items())

    def person_share(self, segment: str) -> float:
        """P(an answered call of ``segment`` is passed on as a person); the segments mixed by share if unknown."""
        if segment in self.segments:
            return self.segments[segment].person_share
        return sum(w * self.segments[s].person_share for s, w in self.shares().items())

    @property
    def live_rate(self) -> float:
        """P(a new call is answered live at all): the segments' rates mixed by share."""
        return sum(w * self.segments[s].live_rate for s, w in self.shares().items())

    @property
    def evidence(self) -> float:
        """Resolved calls, after forgetting, that the estimates stand on (priors and floors not counted)."""
        return sum(estimate.evidence for estimate in self.segments.values())


@dataclass
class HandleTimes:
    """Agent handle time (talk plus wrap-up) per connected call: a forgetting Kaplan–Meier estimate on ``step_s``
    bins. Agents still on a call are censored at their elapsed time (``busy``): at the start of a day only the
    short calls have ended, and without them the long tail would be missed."""

    max_s: float = 3600.0
    step_s: float = 5.0
    half_life_s: float = 1800.0
    prior_mean_s: float = 180.0
    prior_weight: float = 10.0
    refresh_s: float = 5.0
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        edges = np.arange(0.0, self.max_s + self.step_s, self.step_s)
        self.counts = self.prior_weight * np.diff(-np.exp(-edges / self.prior_mean_s))
        self._prior = _normalised(self.counts)
        self._open = np.zeros_like(self.counts)
        self._clock = Decaying(self.half_life_s)
        self._survival: np.ndarray | None = None
        self._tables: dict[tuple[int, float], np.ndarray] = {}
        self._computed_at = -math.inf

    def memory(self) -> dict[str, Any]:
        """What was learned (``pacing.memory``): the weights, their clock, and the agents busy at the last
        refresh, censored. Why those: they are evidence of the long calls, and a decision reads the mean handle
        time (the floor's rate) before it refreshes them; without them that mean is of the short calls only."""
        return {"counts": self.counts.tolist(), "clock": self._clock.last_t, "busy": self._open.tolist()}

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory()`` of an estimate with the same bins, its clock ``shift_days`` on (``pacing.memory``);
        ValueError if its counts are of others."""
        self.counts = weights(memory["counts"], self.counts.shape)
        self._open = weights(memory["busy"], self._open.shape)
        self._clock.last_t = optional_moment(memory["clock"], shift_days)
        self._survival, self._tables, self._computed_at = None, {}, -math.inf

    def _bin(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.minimum((np.asarray(seconds, dtype=float) // self.step_s).astype(int), len(self.counts) - 1)

    def _changed(self, t: float) -> None:
        if t - self._computed_at >= self.refresh_s:
            self._survival, self._tables = None, {}

    def _decay_to(self, t: float) -> None:
        self._clock.decay_to(t, self.counts)
        _top_up(FLOOR_SHARE * self.prior_weight, (self.counts,), self._shape)

    def _shape(self) -> tuple[np.ndarray, ...]:
        """The handle-time law as last learned (handle times change little from day to day); else the prior."""
        return _normalised(self.counts) if self.counts.any() else self._prior

    def observe(self, t: float, handle_s: float) -> None:
        self._decay_to(t)
        self.counts[self._bin(handle_s)] += 1.0
        self._changed(t)

    def busy(self, t: float, elapsed_s: np.ndarray) -> None:
        """Agents on a call at ``t``, censored at their elapsed handle time. Replaces the previous set."""
        self._decay_to(t)
        if t - self._computed_at >= self.refresh_s:
            self._open = np.bincount(self._bin(elapsed_s), minlength=len(self.counts)).astype(float)
            self._changed(t)

    def survival(self) -> np.ndarray:
        """S[k] = P(handle time > k·step_s), k = 0…bins."""
        if self._survival is None:
            at_risk = np.cumsum((self.counts + self._open)[::-1])[::-1]
            hazard = np.divide(self.counts, at_risk, out=np.zeros_like(self.counts), where=at_risk > 0)
            self._survival = np.concatenate(([1.0], np.cumprod(1.0 - hazard)))
            self._computed_at = self._clock.last_t if self._clock.last_t is not None else 0.0
        return self._survival

    def p_free_within(self, elapsed_s: np.ndarray, horizon_s: float | np.ndarray) -> np.ndarray:
        """P(an agent busy for ``elapsed_s`` is free within ``horizon_s``), by the empirical law (not exponential)."""
        s = self.survival()
        grid = np.arange(len(s))
        elapsed, horizon = np.broadcast_arrays(np.asarray(elapsed_s, dtype=float), np.asarray(horizon_s, dtype=float))
        now = np.interp(elapsed / self.step_s, grid, s)
        later = np.interp((elapsed + horizon) / self.step_s, grid, s)
        return np.divide(now - later, now, out=np.ones(now.shape), where=now > 1e-9)

    def free_table(self, horizon: int, grace_s: float) -> np.ndarray:
        """T[b, t−1] = P(free within t + grace_s | busy for b·step_s), t = 1…horizon; cached until new data."""
        key = (horizon, grace_s)
        if key not in self._tables or self._survival is None:
            elapsed = np.arange(len(self.counts) + 1)[:, None] * self.step_s
            self._tables = {key: self.p_free_within(elapsed, np.arange(1, horizon + 1) + grace_s)}
        return self._tables[key]

    @property
    def mean_s(self) -> float:
        return float(self.survival().sum() * self.step_s)

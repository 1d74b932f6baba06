"""Experiments on top of the model: replications with confidence intervals, sweeps, and staff planning.

Why processes: replications are independent and CPU-bound, so they run in
a process pool across all cores. Each (scenario, replication) pair is
deterministic, so a run gives the same figures whichever worker ran it.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from dialer.drivers.sim.scenario import Scenario, load_scenario
from pacing.errors import InvalidInput
from simulation.model import simulate
from simulation.results import RunResult

__all__ = ["Estimate", "estimate", "run_replications", "summarise", "SweepPoint", "sweep", "Plan", "plan_agents",
           "default_workers", "parse_sets", "Cost", "estimate_cost", "check_cost", "TooLarge", "LONG_RUN_S"]

Progress = Callable[[int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95% confidence interval (Student t)."""

    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci95_low": self.low, "ci95_high": self.high, "n": self.n}


def estimate(values: Sequence[float]) -> Estimate:
    mean = float(np.mean(values))
    if len(values) < 2:
        return Estimate(mean, mean, mean, len(values))
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values)))
    return Estimate(mean, mean - half, mean + half, len(values))


def _one(job: tuple[Scenario, int]) -> RunResult:
    scenario, replication = job
    result = simulate(scenario, replication)
    result.attempts = []
    return result


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent: the terminal sends SIGINT to the whole process group, and a worker
    dying mid-job under it could leave the pool waiting for a result that never comes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map(jobs: list[tuple[Scenario, int]], workers: int, progress: Progress | None) -> list[RunResult]:
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(_one(job))
            if progress:
                progress(1)
        return results
    pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("forkserver"),
                               initializer=_ignore_interrupts)
    try:
        results = []
        for result in pool.map(_one, jobs):
            results.append(result)
            if progress:
                progress(1)
    except BaseException:  # Ctrl-C or a failed run: stop every worker now, never wait for their jobs
        _stop(pool)
        raise
    pool.shutdown()
    return results


def _stop(pool: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """Terminate the pool's workers (SIGTERM, then SIGKILL after ``grace_s`` seconds) and drop its queued jobs."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


# What a run costs (see estimate_cost; ``benchmarks/README.md`` has the runs these come from).
_DRAW_ARRAYS = 11  # model.Draws: ten (list size × max attempts) float64 arrays, and about one of temporaries
_LEAD_BYTES = 420  # a simulated lead, its queue entry and history (~900 B a lead in all at 6 attempts)
_SETUP_S_PER_LEAD = 5e-6  # drawing and queueing, seconds per lead
_S_PER_DIAL = 1.5e-4  # events and pacing decisions, seconds per dial
_DIAL_OVERHEAD_S = 5.0  # agent seconds a dial costs beyond handling its live answers (ringing, pacing slack)
_MEMORY_SHARE = 0.8  # refuse runs that would need more than this share of the memory available now
LONG_RUN_S = 600.0  # warn before experiments expected to take longer than this, seconds


class TooLarge(InvalidInput):
    """A scenario whose runs would not fit in memory; refused before any work starts."""


@dataclass(frozen=True)
class Cost:
    """An estimate of one run: peak memory (bytes), wall time (seconds) and dials. Within a factor of ~2."""

    memory_bytes: float
    seconds: float
    dials: float

    def text(self, runs: int = 1, workers: int = 1) -> str:
        at_once = max(1, min(runs, workers))
        return (f"about {self.memory_bytes * at_once / 1e9:.1f} GB ({at_once} run(s) at once) and "
                f"{_duration(self.seconds * runs / at_once)} for {runs} run(s) of ~{self.dials:,.0f} dials")


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def estimate_cost(scenario: Scenario) -> Cost:
    """Memory and time of one replication, from the scenario alone, before anything is allocated.

    Memory is the per-(lead, attempt) random draws (``model.Draws``: list size ×
    max attempts × ~11 float64) plus each lead's bookkeeping. Time follows
    the dials: the fewer of every attempt on the list and what the agents'
    logged-in time can handle at the scenario's answer rate and handle time.
    """
    size, attempts = scenario.list_size, scenario.rules.max_attempts
    memory = size * (attempts * _DRAW_ARRAYS * 8 + _LEAD_BYTES)
    agent_s = scenario.days * sum(s.count * (s.end_s - s.start_s - sum(e - b for b, e in s.breaks))
                                  for s in scenario.shifts)
    talk, conversion = scenario.talk, scenario.outcomes.conversion
    handle_s = conversion * talk.success.mean + (1 - conversion) * talk.refusal.mean + talk.wrap.mean
    dials = min(size * attempts, agent_s / (_live_share(scenario) * handle_s + _DIAL_OVERHEAD_S))
    return Cost(float(memory), size * _SETUP_S_PER_LEAD + dials * _S_PER_DIAL, float(dials))


def _live_share(scenario: Scenario) -> float:
    """Share of dials a person answers over the dialling hours, the segments mixed by their share."""
    hours = range(int(scenario.start_s // 3600), max(int(math.ceil(scenario.end_s / 3600)), 1))
    total = sum(s.share for s in scenario.segments)
    return sum(s.share / total * float(np.mean([s.live[h % 24] for h in hours])) for s in scenario.segments)


def _available_memory() -> float:
    """Bytes of memory available now (Linux: MemAvailable), else the machine's physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_cost(scenarios: Sequence[Scenario], runs_each: int, workers: int,
               memory_bytes: float | None = None) -> list[Cost]:
    """Refuse (``TooLarge``) experiments that would exhaust memory; log a warning before long ones.

    ``memory_bytes`` is what may be used (default: the memory available now).
    Runs on ``workers`` processes hold that many runs in memory at once.
    """
    costs = [estimate_cost(s) for s in scenarios]
    runs = len(scenarios) * runs_each
    at_once = max(1, min(workers, runs))
    peak = max(c.memory_bytes for c in costs) * at_once
    limit = (memory_bytes if memory_bytes is not None else _available_memory()) * _MEMORY_SHARE
    worst = max(costs, key=lambda c: c.memory_bytes)
    if peak > limit:
        raise TooLarge("scenario", f"would need {worst.text(runs, workers)}, but only {limit / 1e9:.1f} GB may be "
                                   "used: shrink list.size or rules.max_attempts, or use fewer --workers")
    seconds = sum(c.seconds for c in costs) * runs_each / at_once
    if seconds > LONG_RUN_S:
        log.warning("warning: this experiment should take about %s (%s); shrink list.size or the days to go faster",
                    _duration(seconds), worst.text(runs, workers))
    return costs


def default_workers() -> int:
    return os.cpu_count() or 1


def run_replications(scenario: Scenario, replications: int, workers: int = 1,
                     progress: Progress | None = None) -> list[RunResult]:
    """``replications`` independent runs (replication numbers 0…n−1) of one scenario; too large ones refused."""
    check_cost([scenario], replications, workers)
    return _map([(scenario, r) for r in range(replications)], workers, progress)


def summarise(results: Sequence[RunResult]) -> dict[str, Estimate]:
    """Every summary figure as a mean with its 95% confidence interval across replications."""
    keys = sorted({k for r in results for k in r.summary()})
    return {k: estimate([r.summary().get(k, 0.0) for r in results]) for k in keys}


def parse_sets(sets: Iterable[str]) -> dict[str, list[Any]]:
    """``["agents=5,10", "pacing.policy=power"]`` → {"agents": [5, 10], "pacing.policy": ["power"]}."""
    import tomllib

    grid: dict[str, list[Any]] = {}
    for item in sets:
        key, sep, values = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE[,VALUE…], got {item!r}")
        parsed = []
        for text in values.split(","):
            try:
                parsed.append(tomllib.loads(f"v = {text.strip()}")["v"])
            except tomllib.TOMLDecodeError:
                parsed.append(text.strip())
        grid[key.strip()] = parsed
    return grid


@dataclass
class SweepPoint:
    settings: dict[str, Any]
    results: list[RunResult]

    @property
    def summary(self) -> dict[str, Estimate]:
        return summarise(self.results)


def sweep(path: Path, grid: Mapping[str, Sequence[Any]], replications: int, workers: int = 1,
          progress: Progress | None = None) -> list[SweepPoint]:
    """Every combination of ``grid`` values (each validated against the file) × ``replications``."""
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]
    scenarios = [load_scenario(path, combo) for combo in combos]
    check_cost(scenarios, replications, workers)
    jobs = [(scenario, r) for scenario in scenarios for r in range(replications)]
    results = _map(jobs, workers, progress)
    return [SweepPoint(combo, results[i * replications:(i + 1) * replications]) for i, combo in enumerate(combos)]


MIN_PLAN_OCCUPANCY = 0.3  # below this, agents mostly wait: something other than the team limits the list


@dataclass(frozen=True)
class Plan:
    """The fewest agents meeting the goal, with the figures at every size tried.

    ``warnings`` say when the answer should not be acted on: no size up to
    the search limit meets the goal, or the size that does leaves agents
    idle most of the time (the calling windows, retry delays or days, not
    the team, limit how far into the list the campaign gets).
    """

    agents: int | None
    metric: str
    goal: float
    cap: float
    tried: dict[int, dict[str, Estimate]]
    warnings: tuple[str, ...] = ()

    @property
    def reachable(self) -> bool:
        """Whether the answer is a team worth staffing: found, and not idle most of the time."""
        return self.agents is not None and not self.warnings


def plan_agents(path: Path, cap: float, goal: float = 1.0, metric: str = "penetration", replications: int = 5,
                overrides: Mapping[str, Any] | None = None, workers: int = 1, max_agents: int = 2000,
                min_occupancy: float = MIN_PLAN_OCCUPANCY) -> Plan:
    """Fewest agents whose mean ``metric`` reaches ``goal`` while the UK abandonment's 95% upper bound ≤ ``cap``.

    ``metric`` is "penetration" (every lead dialled once) or "finished"
    (every lead at a final outcome). The horizon is the scenario's days. A
    plan whose occupancy is under ``min_occupancy`` (a fraction) carries a
    warning, also logged: the goal is out of reach at a sensible size.
    """
    tried: dict[int, dict[str, Estimate]] = {}
    check_cost([load_scenario(path, {**(overrides or {}), "agents": 1})], replications, workers)

    def meets(agents: int) -> bool:
        scenario = load_scenario(path, {**(overrides or {}), "agents": agents})
        tried[agents] = summarise(_map([(scenario, r) for r in range(replications)], workers, None))
        return tried[agents][metric].mean >= goal and tried[agents]["abandon_rate_uk"].high <= cap

    low, high = 0, 1
    while not meets(high):
        low, high = high, high * 2
        if high > max_agents:
            return _planned(None, metric, goal, cap, tried, min_occupancy)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return _planned(high, metric, goal, cap, tried, min_occupancy)


def _planned(agents: int | None, metric: str, goal: float, cap: float, tried: dict[int, dict[str, Estimate]],
             min_occupancy: float) -> Plan:
    """The plan with its warnings, each also logged so a caller that prints only the number still shows them."""
    warnings = []
    if agents is None:
        best = max(tried, key=lambda n: tried[n][metric].mean)
        warnings.append(f"the goal is out of reach: no team up to {max(tried)} agents reaches {goal:.0%} {metric} "
                        f"under a {cap:.1%} cap (best: {tried[best][metric].mean:.1%} with {best} agents)")
    elif agents > 1 and (occupancy := tried[agents]["occupancy"].mean) < min_occupancy:  # 1: a list that small
        warnings.append(f"the goal is out of reach at a sensible size: {agents} agents reach {goal:.0%} {metric} "
                        f"only at {occupancy:.0%} occupancy; the list's calling windows, retry delays or days, not "
                        "the team, limit it: lower the goal or give the campaign more days")
    for warning in warnings:
        log.warning("warning: %s", warning)
    return Plan(agents, metric, goal, cap, tried, tuple(warnings))

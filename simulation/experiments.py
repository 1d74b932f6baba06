"""Experiments on top of the model: replications with confidence intervals, sweeps, and staff planning.

Why processes: replications are independent and CPU-bound, so they run in
a process pool across all cores. Each (scenario, replication) pair is
deterministic, so a run gives the same figures whichever worker ran it.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from simulation.model import simulate
from simulation.results import RunResult
from simulation.scenario import Scenario, load_scenario

__all__ = ["Estimate", "estimate", "run_replications", "summarise", "SweepPoint", "sweep", "Plan", "plan_agents",
           "default_workers",
           "parse_sets"]

Progress = Callable[[int], None]


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


def _map(jobs: list[tuple[Scenario, int]], workers: int, progress: Progress | None) -> list[RunResult]:
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(_one(job))
            if progress:
                progress(1)
        return results
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        results = []
        for result in pool.map(_one, jobs):
            results.append(result)
            if progress:
                progress(1)
        return results


def default_workers() -> int:
    return os.cpu_count() or 1


def run_replications(scenario: Scenario, replications: int, workers: int = 1,
                     progress: Progress | None = None) -> list[RunResult]:
    """``replications`` independent runs (replication numbers 0…n−1) of one scenario."""
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
    jobs = [(scenario, r) for scenario in scenarios for r in range(replications)]
    results = _map(jobs, workers, progress)
    return [SweepPoint(combo, results[i * replications:(i + 1) * replications]) for i, combo in enumerate(combos)]


@dataclass(frozen=True)
class Plan:
    """The fewest agents meeting the goal, with the figures at that size and at one agent fewer."""

    agents: int | None
    metric: str
    goal: float
    cap: float
    tried: dict[int, dict[str, Estimate]]


def plan_agents(path: Path, cap: float, goal: float = 1.0, metric: str = "penetration", replications: int = 5,
                overrides: Mapping[str, Any] | None = None, workers: int = 1, max_agents: int = 2000) -> Plan:
    """Fewest agents whose mean ``metric`` reaches ``goal`` while the UK abandonment's 95% upper bound ≤ ``cap``.

    ``metric`` is "penetration" (every lead dialled once) or "finished"
    (every lead at a final outcome). The horizon is the scenario's days.
    """
    tried: dict[int, dict[str, Estimate]] = {}

    def meets(agents: int) -> bool:
        scenario = load_scenario(path, {**(overrides or {}), "agents": agents})
        tried[agents] = summarise(run_replications(scenario, replications, workers))
        return tried[agents][metric].mean >= goal and tried[agents]["abandon_rate_uk"].high <= cap

    low, high = 0, 1
    while not meets(high):
        low, high = high, high * 2
        if high > max_agents:
            return Plan(None, metric, goal, cap, tried)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return Plan(high, metric, goal, cap, tried)

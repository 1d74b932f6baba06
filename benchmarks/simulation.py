"""Simulator speed: an 8-hour day for 100 agents with progressive pacing, on one core.

Run: python -m benchmarks.simulation

Target from the issue: under 5 s of wall time for that day. Also prints
simulated attempts per second for teams of 10, 100 and 200 under
progressive and power (1.5) pacing, and the Poisson-connect harness's
calls per second.
"""

from __future__ import annotations

import time

from benchmarks.scenarios import day_of
from dialer.drivers.sim.scenario import parse_scenario
from simulation.model import simulate
from simulation.validation import poisson_connects


def timed(agents: int, policy: str) -> tuple[float, int]:
    scenario = parse_scenario(day_of(agents, policy=policy, ratio=1.5))
    start = time.perf_counter()
    result = simulate(scenario)
    return time.perf_counter() - start, result.dials


def main() -> None:
    print(f"{'scenario (8 h day, 25% live, 90 s talk)':<44} {'wall s':>8} {'attempts':>10} {'attempts/s':>11}")
    for agents in (10, 100, 200):
        for policy in ("progressive", "power"):
            wall, dials = timed(agents, policy)
            print(f"{agents:>4} agents, {policy:<30} {wall:>8.2f} {dials:>10,} {dials / wall:>11,.0f}")
    start = time.perf_counter()
    run = poisson_connects(100, 95.0, 180.0, 100_000, seed=1, limit_s=2.0)
    wall = time.perf_counter() - start
    print(f"{'Poisson connects, 100 agents, 95 E':<44} {wall:>8.2f} {run.offered:>10,} {run.offered / wall:>11,.0f}")


if __name__ == "__main__":
    main()

"""Erlang maths and staffing speed, with pyworkforce measured side by side.

Run: python benchmarks/erlang.py   (pip install -e '.[bench]' for the peer)

Prints one table. Targets from the issue: the 672-interval staffing table
under 50 ms; one Erlang-A evaluation at 10,000 agents under 1 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from pacing.erlang import erlang_a, erlang_c, mmn_deterministic
from pacing.staffing import StaffingTargets, required_agents

try:
    from pyworkforce.queuing import ErlangC as PwfErlangC
except ImportError:  # the peer is optional
    PwfErlangC = None


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``repeat`` runs of ``number`` calls, seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def week_of_load(peak_erlangs: float = 3000.0) -> np.ndarray:
    """7 days × 96 quarter-hours: a double-hump day shape, weekends at 60%, peaking at ``peak_erlangs``."""
    quarter = np.arange(96)
    day = np.clip(np.sin(np.pi * (quarter - 30) / 56), 0.02, None) * (1.0 + 0.15 * np.cos(np.pi * (quarter - 30) / 14))
    day /= day.max()
    weekly = np.concatenate([day * (0.6 if d >= 5 else 1.0) for d in range(7)])
    return peak_erlangs * weekly


def main() -> None:
    rows: list[tuple[str, float, float | None]] = []
    n = 100_000
    rng = np.random.default_rng(7)
    loads = rng.uniform(1.0, 3000.0, n)
    agents = np.ceil(loads * rng.uniform(1.01, 1.3, n))

    scalar_c = best_of(lambda: erlang_c(14, 10.0, 180.0, 20.0), number=2000)
    peer_c = None
    if PwfErlangC is not None:
        peer = PwfErlangC(transactions=100, aht=3, asa=20 / 60, interval=30)
        peer_c = best_of(lambda: peer.service_level(14), number=2000)
    rows.append(("Erlang C scalar, evaluations/s", 1 / scalar_c, None if peer_c is None else 1 / peer_c))
    rows.append(("Erlang-A scalar (20 agents), evaluations/s",
                 1 / best_of(lambda: erlang_a(20, 18.0, 180.0, 60.0, 20.0), number=2000), None))
    rows.append(("Erlang C vectorised, evaluations/s",
                 n / best_of(lambda: erlang_c(agents, loads, 180.0, 20.0), repeat=3), None))
    rows.append(("Erlang-A vectorised, evaluations/s",
                 n / best_of(lambda: erlang_a(agents, loads, 180.0, 60.0, 20.0), repeat=3), None))
    rows.append(("M/M/n+D vectorised, evaluations/s",
                 n / best_of(lambda: mmn_deterministic(agents, loads, 180.0, 2.0), repeat=3), None))
    rows.append(("Erlang-A at 10,000 agents, ms",
                 1e3 * best_of(lambda: erlang_a(10_000, 9_500.0, 180.0, 60.0, 20.0), number=200), None))

    week = week_of_load()
    targets = StaffingTargets(service_level=0.8, target_s=20.0)
    ours = best_of(lambda: required_agents(week, 180.0, targets), repeat=5)
    peer_table = None
    if PwfErlangC is not None:
        calls = week * 900.0 / 180.0

        def peer_week() -> list[int]:
            return [PwfErlangC(transactions=c, aht=3, asa=20 / 60, interval=15).required_positions(
                service_level=0.8, max_occupancy=1.0)["raw_positions"] for c in calls]

        peer_table = best_of(peer_week, repeat=1)
        agree = np.array(peer_week()) == required_agents(week, 180.0, targets)
        print(f"pyworkforce agrees on {agree.sum()} of {agree.size} intervals")
    rows.append(("staffing 7 d × 96 intervals, peak 3,000 E, ms", 1e3 * ours,
                 None if peer_table is None else 1e3 * peer_table))
    _print(rows)


def _print(rows: list[tuple[str, float, float | None]]) -> None:
    print(f"{'measure':<48} {'dialer':>14} {'pyworkforce':>14} {'ratio':>10}")
    for name, ours, peer in rows:
        if peer is None:
            print(f"{name:<48} {ours:>14.4g} {'—':>14} {'—':>10}")
            continue
        better = ours / peer if name.endswith("/s") else peer / ours
        print(f"{name:<48} {ours:>14.4g} {peer:>14.4g} {better:>9.3g}×")
    print("ratio = how many times faster dialer is than pyworkforce (below 1: slower)")


if __name__ == "__main__":
    main()

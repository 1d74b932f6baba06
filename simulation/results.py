"""What one simulated run produced: totals, rates and a per-15-minute series.

Definitions (see the README's words table): a *live answer* is a person who
picked up. US abandoned: a live answer not connected to an agent within the
connect limit (from the end of AMD when AMD is on). UK abandoned adds the
people AMD wrongly classed as machines and hung up on. Occupancy is talk
and wrap-up time over logged-in time, breaks excluded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BIN_S", "Series", "RunResult", "mean_series"]

BIN_S = 900.0  # the time series' interval, seconds

SERIES_FIELDS = ("dials", "live", "abandoned", "amd_false_positives", "connected", "busy_s", "logged_in_s")


@dataclass
class Series:
    """Per-interval sums; interval k covers [k·BIN_S, (k+1)·BIN_S) seconds after the first local midnight."""

    bins: int
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {name: np.zeros(self.bins) for name in SERIES_FIELDS}

    def count(self, name: str, at_s: float, amount: float = 1.0) -> None:
        index = min(int(at_s // BIN_S), self.bins - 1)
        self.data[name][index] += amount

    def spread(self, name: str, start_s: float, end_s: float) -> None:
        """Add the interval [start, end) to the bins it overlaps, by seconds in each."""
        first, last = int(start_s // BIN_S), int(end_s // BIN_S)
        for index in range(first, min(last, self.bins - 1) + 1):
            low, high = max(start_s, index * BIN_S), min(end_s, (index + 1) * BIN_S)
            if high > low:
                self.data[name][index] += high - low

    def rows(self) -> list[dict[str, float]]:
        active = np.nonzero(self.data["logged_in_s"] + self.data["dials"])[0]
        rows = []
        for k in active:
            row = {"start_s": k * BIN_S, **{name: float(self.data[name][k]) for name in SERIES_FIELDS}}
            logged = row["logged_in_s"]
            row["occupancy"] = row["busy_s"] / logged if logged else 0.0
            row["abandon_rate"] = row["abandoned"] / row["live"] if row["live"] else 0.0
            rows.append(row)
        return rows


@dataclass
class RunResult:
    """Totals of one replication. Times in seconds; rates are fractions."""

    outcomes: Counter[str] = field(default_factory=Counter)
    live: int = 0
    connected: int = 0
    abandoned: int = 0
    amd_false_positives: int = 0
    machines_to_agents: int = 0
    successes: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    busy_s: float = 0.0
    logged_in_s: float = 0.0
    penetration: float = 0.0
    finished: float = 0.0
    days_uk_rates: list[float] = field(default_factory=list)
    series: Series | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dials(self) -> int:
        return sum(self.outcomes.values())

    @property
    def abandon_rate_us(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def abandon_rate_uk(self) -> float:
        return (self.abandoned + self.amd_false_positives) / self.live if self.live else 0.0

    @property
    def occupancy(self) -> float:
        return self.busy_s / self.logged_in_s if self.logged_in_s else 0.0

    def summary(self) -> dict[str, float]:
        hours = self.logged_in_s / 3600.0
        return {
            "dials": self.dials, "live_answers": self.live, "connected": self.connected,
            "abandoned_us": self.abandoned, "abandoned_uk": self.abandoned + self.amd_false_positives,
            "machines_to_agents": self.machines_to_agents,
            "abandon_rate_us": self.abandon_rate_us, "abandon_rate_uk": self.abandon_rate_uk,
            "worst_day_abandon_rate_uk": max(self.days_uk_rates, default=0.0),
            "occupancy": self.occupancy, "idle_hours": (self.logged_in_s - self.busy_s) / 3600.0,
            "contacts_per_agent_hour": self.connected / hours if hours else 0.0,
            "sales_per_agent_hour": self.successes / hours if hours else 0.0,
            "penetration": self.penetration, "finished": self.finished,
            **{f"outcome_{k}": float(v) for k, v in sorted(self.outcomes.items())},
            **{f"refusal_{k}": float(v) for k, v in sorted(self.refusals.items())},
        }


def mean_series(results: list[RunResult]) -> list[dict[str, float]]:
    """The per-interval rows averaged over replications (sums averaged, then rates recomputed)."""
    first = results[0].series
    assert first is not None
    mean = Series(first.bins)
    for name in SERIES_FIELDS:
        mean.data[name] = np.mean([r.series.data[name] for r in results if r.series is not None], axis=0)
    return mean.rows()

"""What one simulated run produced: totals, rates and a per-15-minute series.

Definitions (see the README's words table): a *live answer* is a person who
picked up. US abandoned: a live answer not connected to an agent within the
connect limit (from the end of AMD when AMD is on). UK abandoned adds the
people AMD wrongly classed as machines and hung up on. Occupancy is talk
and wrap-up time over logged-in time, breaks excluded.

Two UK figures: the simulated truth (the false positives that happened), and
the regulator's measure, which a dialer can report: each call AMD classed as
a machine counts as a person with its tested probability, so the day adds
the *expected* false positives (``expected_false_positive``) to its abandons.
The guarantee is stated on the regulator's measure; the truth differs by the
random count of false positives, which no dialer can see.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pacing.days import DAY_S

__all__ = ["BIN_S", "Series", "RunResult", "mean_series", "expected_false_positive"]

BIN_S = 900.0  # the time series' interval, seconds
DAY_BINS = int(DAY_S / BIN_S)

SERIES_FIELDS = ("dials", "live", "abandoned", "amd_false_positives", "amd_fp_expected", "connected", "busy_s",
                 "logged_in_s")


def expected_false_positive(live: float, machine: float, false_positive: float, false_negative: float) -> float:
    """P(a person | AMD classed the answer a machine), Bayes: live·fp / (live·fp + machine·(1 − fn)).

    ``live`` and ``machine`` are the answer probabilities of the call's
    segment and hour; ``false_positive`` = P(machine verdict | person),
    ``false_negative`` = P(person verdict | machine). Summed over the calls
    AMD hung up on, it is the tested estimate the regulator adds to the day's
    abandoned calls (Ofcom 2010: a reasoned estimate of false positives)."""
    people = live * false_positive
    machines = machine * (1.0 - false_negative)
    return people / (people + machines) if people + machines > 0 else 0.0


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
    amd_fp_expected: float = 0.0
    machines_to_agents: int = 0
    successes: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    busy_s: float = 0.0
    logged_in_s: float = 0.0
    penetration: float = 0.0
    finished: float = 0.0
    days_uk_rates: list[float] = field(default_factory=list)
    series: Series | None = None
    attempts: list[Any] = field(default_factory=list)  # simulation.model.SimAttempt, when recorded

    @property
    def dials(self) -> int:
        return sum(self.outcomes.values())

    @property
    def abandon_rate_us(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def abandon_rate_uk(self) -> float:
        return (self.abandoned + self.amd_false_positives) / self.live if self.live else 0.0

    def amd_machine(self, answered_s: float, p_person: float) -> None:
        """AMD hung up on an answer at ``answered_s`` (seconds): the regulator counts it a person with
        probability ``p_person`` (``expected_false_positive`` of its segment and hour)."""
        self.amd_fp_expected += p_person
        if self.series is not None:
            self.series.count("amd_fp_expected", answered_s, p_person)

    @property
    def abandon_rate_uk_regulator(self) -> float:
        """The UK rate as the regulator counts it: abandons plus the expected false positives of the calls AMD
        classed as machines, over the people passed on plus those expected false positives."""
        return _uk_regulator(self.abandoned, self.live - self.amd_false_positives, self.amd_fp_expected)

    def days_uk_regulator_rates(self) -> list[float]:
        """The regulator's UK rate of each calendar day, from the 15-minute series (answers by answer time)."""
        if self.series is None:
            return []
        data = self.series.data
        days = max(1, self.series.bins // DAY_BINS)
        sums = {k: data[k][:days * DAY_BINS].reshape(days, -1).sum(axis=1)
                for k in ("abandoned", "live", "amd_false_positives", "amd_fp_expected")}
        return [_uk_regulator(float(a), float(n - f), float(e)) for a, n, f, e in
                zip(sums["abandoned"], sums["live"], sums["amd_false_positives"], sums["amd_fp_expected"],
                    strict=True)]

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
            "amd_fp_expected": self.amd_fp_expected,
            "abandon_rate_uk_regulator": self.abandon_rate_uk_regulator,
            "worst_day_abandon_rate_uk_regulator": max(self.days_uk_regulator_rates(), default=0.0),
            "occupancy": self.occupancy, "idle_hours": (self.logged_in_s - self.busy_s) / 3600.0,
            "contacts_per_agent_hour": self.connected / hours if hours else 0.0,
            "sales_per_agent_hour": self.successes / hours if hours else 0.0,
            "penetration": self.penetration, "finished": self.finished,
            **{f"outcome_{k}": float(v) for k, v in sorted(self.outcomes.items())},
            **{f"refusal_{k}": float(v) for k, v in sorted(self.refusals.items())},
        }


def _uk_regulator(abandoned: float, seen_live: float, fp_expected: float) -> float:
    counted = seen_live + fp_expected
    return (abandoned + fp_expected) / counted if counted else 0.0


def mean_series(results: list[RunResult]) -> list[dict[str, float]]:
    """The per-interval rows averaged over replications (sums averaged, then rates recomputed)."""
    first = results[0].series
    assert first is not None
    mean = Series(first.bins)
    for name in SERIES_FIELDS:
        mean.data[name] = np.mean([r.series.data[name] for r in results if r.series is not None], axis=0)
    return mean.rows()

"""Fewest agents that meet service targets, for one load or a whole forecast.

Why vectorised bisection: every metric here is monotone in the number of
agents, so all intervals of a forecast are solved together — each step
evaluates one numpy call over the whole table instead of running one search
per interval.

Without ``patience_s`` the queue is Erlang C; with it, Erlang-A, and then the
service level is the share of all callers answered within ``target_s``.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pacing.erlang import erlang_a, erlang_c
from pacing.errors import InvalidInput

__all__ = ["StaffingTargets", "required_agents", "Forecast", "parse_forecast", "StaffingTable", "staff_forecast"]


@dataclass(frozen=True)
class StaffingTargets:
    """What a staffing plan must achieve. Fractions in [0, 1], times in seconds.

    ``shrinkage`` is the share of paid time not available for calls (breaks,
    training, absence): scheduled = ceil(on_phones / (1 − shrinkage)).
    """

    service_level: float | None = 0.8
    target_s: float = 20.0
    max_asa_s: float | None = None
    max_abandon: float | None = None
    patience_s: float | None = None
    max_occupancy: float | None = None
    shrinkage: float = 0.0

    def __post_init__(self) -> None:
        for name in ("service_level", "max_abandon", "max_occupancy"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value <= 1.0:
                raise InvalidInput(name, "must be a fraction in (0, 1]")
        if not 0.0 <= self.shrinkage < 1.0:
            raise InvalidInput("shrinkage", "must be a fraction in [0, 1)")
        if self.max_abandon is not None and self.patience_s is None:
            raise InvalidInput("max_abandon", "an abandonment target needs patience_s (Erlang-A)")
        for name in ("target_s", "max_asa_s", "patience_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise InvalidInput(name, "must be a non-negative number of seconds")
        if self.max_asa_s == 0:  # with any load some caller waits, so ASA is never 0: the search ran to underflow
            raise InvalidInput("max_asa_s", "must be more than 0 seconds (no team makes the average wait exactly 0)")


def _metrics(agents: NDArray, erlangs: NDArray, aht_s: NDArray, targets: StaffingTargets) -> dict[str, NDArray]:
    """Service level, ASA, occupancy and abandonment for the chosen queue model."""
    if targets.patience_s is None:
        c = erlang_c(agents, erlangs, aht_s, targets.target_s)
        return {
            "service_level": np.asarray(c.service_level),
            "asa_seconds": np.asarray(c.asa_seconds),
            "occupancy": np.asarray(c.occupancy),
            "p_abandon": np.zeros_like(erlangs),
        }
    m = erlang_a(agents, erlangs, aht_s, targets.patience_s, targets.target_s)
    return {
        "service_level": np.asarray(m.p_answered_within_t),
        "asa_seconds": np.asarray(m.mean_wait_seconds),
        "occupancy": np.asarray(m.occupancy),
        "p_abandon": np.asarray(m.p_abandon),
    }


def _meets(agents: NDArray, erlangs: NDArray, aht_s: NDArray, targets: StaffingTargets) -> NDArray[np.bool_]:
    if targets.patience_s is None:
        stable = agents > erlangs
        agents = np.where(stable, agents, np.floor(erlangs) + 1.0)
    else:
        stable = np.ones_like(agents, dtype=bool)
    m = _metrics(agents, erlangs, aht_s, targets)
    ok = stable.copy()
    if targets.service_level is not None:
        ok &= m["service_level"] >= targets.service_level
    if targets.max_asa_s is not None:
        ok &= m["asa_seconds"] <= targets.max_asa_s
    if targets.max_abandon is not None:
        ok &= m["p_abandon"] <= targets.max_abandon
    if targets.max_occupancy is not None:
        ok &= m["occupancy"] <= targets.max_occupancy
    return ok


def required_agents(erlangs: ArrayLike, aht_s: ArrayLike, targets: StaffingTargets) -> NDArray[np.int64]:
    """Fewest agents on the phones meeting every target, per element (0 where there is no load)."""
    a = np.atleast_1d(np.asarray(erlangs, dtype=float))
    aht = np.broadcast_to(np.asarray(aht_s, dtype=float), a.shape).copy()
    if np.isnan(a).any() or (a < 0).any() or np.isinf(a).any():
        raise InvalidInput("erlangs", "must be finite and not negative")
    if not (aht > 0).all():
        raise InvalidInput("aht_s", "must be greater than 0")
    loaded = a > 0
    a, aht = np.where(loaded, a, 1.0), np.where(loaded, aht, 1.0)
    lo = np.maximum(np.floor(a) + (targets.patience_s is None), 1.0)
    if targets.max_occupancy is not None:
        lo = np.maximum(lo, np.ceil(a / targets.max_occupancy))
    hi = _feasible_upper_bound(lo, a, aht, targets)
    while (lo < hi).any():
        mid = np.floor((lo + hi) / 2.0)
        ok = _meets(mid, a, aht, targets)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1.0)
    return np.where(loaded, hi, 0.0).astype(np.int64)


def _feasible_upper_bound(lo: NDArray, a: NDArray, aht: NDArray, targets: StaffingTargets) -> NDArray:
    """Grow lo + step (step doubling from √a) until every interval meets its targets."""
    step = np.ceil(np.sqrt(a)) + 1.0
    hi = lo + step
    for _ in range(64):
        ok = _meets(hi, a, aht, targets)
        if ok.all():
            return hi
        step = np.where(ok, step, step * 2.0)
        hi = np.where(ok, hi, lo + step)
    raise InvalidInput("targets", "cannot be met by any number of agents")


@dataclass(frozen=True)
class Forecast:
    """Offered calls per interval. ``interval_s`` is each interval's length in seconds.

    ``clock_only``: the starts were given as ``HH:MM`` (their date is a
    placeholder), so they print back as ``HH:MM``.
    """

    starts: list[datetime]
    calls: NDArray[np.float64]
    aht_s: NDArray[np.float64]
    interval_s: NDArray[np.float64]
    clock_only: bool = False

    def label(self, i: int) -> str:
        """Interval ``i``'s start as the forecast wrote it: ``HH:MM``, or ISO 8601 to the minute."""
        start = self.starts[i]
        return start.strftime("%H:%M") if self.clock_only else start.isoformat(timespec="minutes")

    @property
    def erlangs(self) -> NDArray[np.float64]:
        return self.calls * self.aht_s / self.interval_s


_START_KEYS = ("interval_start", "start", "interval")
_AHT_KEYS = ("aht_s", "aht", "aht_seconds")


def _field(row: dict[str, str], keys: tuple[str, ...], line: int) -> str:
    for key in keys:
        if row.get(key) not in (None, ""):
            return row[key]
    raise InvalidInput(f"line {line}", f"missing column {keys[0]}")


def _number(text: str, name: str, line: int, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"line {line}", f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InvalidInput(f"line {line}", f"{name} must be {'> 0' if positive else '>= 0'}, got {text}")
    return value


def _start(text: str, line: int) -> datetime:
    try:
        return datetime.fromisoformat(text) if "-" in text else datetime.combine(
            datetime(2000, 1, 1), datetime.strptime(text, "%H:%M").time()
        )
    except ValueError:
        raise InvalidInput(f"line {line}", f"interval_start {text!r} is not a time (ISO 8601 or HH:MM)") from None


_DELIMITERS = ",;\t|"


def _reader(lines: Iterable[str]) -> csv.DictReader[str]:
    """A CSV reader with the header's delimiter: Excel in many locales writes ``;``."""
    rows = iter(lines)
    header = next(rows, "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return csv.DictReader(itertools.chain([header], rows), delimiter=delimiter)


def parse_forecast(lines: Iterable[str], interval_minutes: float | None = None) -> Forecast:
    """Read forecast CSV text: columns interval_start, calls, aht_s (header required; , ; tab or | between).

    Interval lengths come from consecutive starts (the last repeats the one
    before) unless ``interval_minutes`` fixes them. Errors name the file line.
    """
    starts: list[datetime] = []
    calls: list[float] = []
    aht: list[float] = []
    clock_only = True
    for row in _reader(lines):
        line = len(starts) + 2
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        text = _field(row, _START_KEYS, line)
        clock_only &= "-" not in text
        starts.append(_start(text, line))
        calls.append(_number(_field(row, ("calls",), line), "calls", line, positive=False))
        aht.append(_number(_field(row, _AHT_KEYS, line), "aht_s", line, positive=True))
    if not starts:
        raise InvalidInput("forecast", "has no rows")
    return Forecast(starts, np.array(calls), np.array(aht), _interval_lengths(starts, interval_minutes), clock_only)


def _interval_lengths(starts: list[datetime], interval_minutes: float | None) -> NDArray[np.float64]:
    if interval_minutes is not None:
        if interval_minutes <= 0:
            raise InvalidInput("interval_minutes", "must be greater than 0")
        return np.full(len(starts), interval_minutes * 60.0)
    if len(starts) == 1:
        raise InvalidInput("interval_minutes", "is needed when the forecast has a single interval")
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    for i, gap in enumerate(gaps):
        if gap <= 0:
            raise InvalidInput(f"line {i + 3}", "interval_start must increase from row to row")
    return np.array(gaps + [gaps[-1]])


@dataclass(frozen=True)
class StaffingTable:
    """Per-interval requirement and achieved metrics, plus totals."""

    forecast: Forecast
    targets: StaffingTargets
    agents: NDArray[np.int64]
    scheduled: NDArray[np.int64]
    metrics: dict[str, NDArray[np.float64]] = field(repr=False)

    def rows(self) -> list[dict[str, object]]:
        f = self.forecast
        return [
            {
                "interval_start": f.label(i),
                "calls": float(f.calls[i]),
                "aht_s": float(f.aht_s[i]),
                "erlangs": float(f.erlangs[i]),
                "agents": int(self.agents[i]),
                "scheduled": int(self.scheduled[i]),
                **{k: float(v[i]) for k, v in self.metrics.items()},
            }
            for i in range(len(f.starts))
        ]

    def totals(self) -> dict[str, float]:
        """Calls, scheduled agent-hours, peak scheduled agents and call-weighted service level."""
        f = self.forecast
        offered = f.calls.sum() > 0
        weights = f.calls / f.calls.sum() if offered else np.zeros_like(f.calls)
        return {
            "calls": float(f.calls.sum()),
            "agent_hours": float((self.scheduled * f.interval_s).sum() / 3600.0),
            "peak_scheduled": int(self.scheduled.max()),
            # no calls, no caller kept waiting: the same 1.0 each idle row shows
            "service_level": float((weights * self.metrics["service_level"]).sum()) if offered else 1.0,
            "p_abandon": float((weights * self.metrics["p_abandon"]).sum()),
        }


def staff_forecast(forecast: Forecast, targets: StaffingTargets) -> StaffingTable:
    """Solve every interval of ``forecast`` at once and report what the staffing achieves."""
    erlangs = forecast.erlangs
    agents = required_agents(erlangs, forecast.aht_s, targets)
    loaded = agents > 0
    metrics = _metrics(np.maximum(agents, 1).astype(float), erlangs, forecast.aht_s, targets)
    idle = {"service_level": 1.0, "asa_seconds": 0.0, "occupancy": 0.0, "p_abandon": 0.0}
    metrics = {k: np.where(loaded, v, idle[k]) for k, v in metrics.items()}
    scheduled = np.ceil(agents / (1.0 - targets.shrinkage) - 1e-9).astype(np.int64)
    return StaffingTable(forecast, targets, agents, scheduled, metrics)

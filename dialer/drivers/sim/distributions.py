"""Named distributions for scenarios, each with its analytic mean and standard deviation (seconds).

Why moment parameters: analysts know a mean talk time and its spread, not
``mu`` and ``sigma``. A lognormal and a gamma are given by mean and sd and
converted here; an empirical one resamples recorded values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Distribution", "parse_distribution", "KINDS"]

KINDS = ("fixed", "exponential", "lognormal", "gamma", "uniform", "empirical")


@dataclass(frozen=True)
class Distribution:
    """``kind`` with ``params``: fixed(value), exponential(mean), lognormal(mean, sd), gamma(mean, sd),
    uniform(low, high), empirical(samples)."""

    kind: str
    params: tuple[float, ...]

    @property
    def mean(self) -> float:
        p = self.params
        if self.kind == "uniform":
            return (p[0] + p[1]) / 2
        return float(np.mean(p)) if self.kind == "empirical" else p[0]

    @property
    def sd(self) -> float:
        p = self.params
        return {"fixed": 0.0, "exponential": p[0], "uniform": (p[-1] - p[0]) / math.sqrt(12),
                "empirical": float(np.std(p))}.get(self.kind, p[-1])

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        p = self.params
        if self.kind == "fixed":
            return np.full(size, p[0])
        if self.kind == "exponential":
            return rng.exponential(p[0], size)
        if self.kind == "lognormal":
            sigma2 = math.log1p((p[1] / p[0]) ** 2)
            return rng.lognormal(math.log(p[0]) - sigma2 / 2, math.sqrt(sigma2), size)
        if self.kind == "gamma":
            shape = (p[0] / p[1]) ** 2
            return rng.gamma(shape, p[0] / shape, size)
        if self.kind == "uniform":
            return rng.uniform(p[0], p[1], size)
        return rng.choice(np.asarray(p), size)

    def as_toml(self) -> dict[str, Any]:
        names = _PARAMS[self.kind]
        if self.kind == "empirical":
            return {"dist": "empirical", "samples": [round(x, 3) for x in self.params]}
        return {"dist": self.kind, **{n: round(v, 6) for n, v in zip(names, self.params, strict=True)}}


_PARAMS = {"fixed": ("value",), "exponential": ("mean",), "lognormal": ("mean", "sd"), "gamma": ("mean", "sd"),
           "uniform": ("low", "high"), "empirical": ("samples",)}


def parse_distribution(spec: Mapping[str, Any]) -> Distribution:
    """A distribution from its TOML table; ValueError names the offending key."""
    kind = spec.get("dist")
    if kind not in _PARAMS:
        raise ValueError(f"dist: unknown distribution {kind!r} (one of {', '.join(KINDS)})")
    extra = set(spec) - {"dist", *_PARAMS[kind]}
    if extra:
        raise ValueError(f"{sorted(extra)[0]}: not a parameter of {kind} ({', '.join(_PARAMS[kind])})")
    if kind == "empirical":
        samples = spec.get("samples")
        if not samples or not all(isinstance(x, int | float) and x >= 0 for x in samples):
            raise ValueError("samples: must be a non-empty list of numbers >= 0")
        return Distribution(kind, tuple(float(x) for x in samples))
    values = []
    for name in _PARAMS[kind]:
        value = spec.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: {kind} needs a number >= 0")
        values.append(float(value))
    if kind in ("exponential", "lognormal", "gamma") and values[0] <= 0:
        raise ValueError(f"mean: must be > 0 for {kind}")
    if kind in ("lognormal", "gamma") and values[1] <= 0:
        raise ValueError(f"sd: must be > 0 for {kind}")
    if kind == "uniform" and values[1] < values[0]:
        raise ValueError("high: must be >= low")
    return Distribution(kind, tuple(values))

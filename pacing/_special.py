"""Numerically stable building blocks for the Erlang formulas.

Why this module exists: the textbook formulas (``a**n / n!``, factorial sums,
``1 - (1 - rho) * A``) overflow, underflow or cancel long before 100,000
agents. Everything here works in logarithms or in ratios that stay near 1,
and falls back to a convergent series only where the closed form would lose
precision.

All functions broadcast over numpy arrays; inputs are floats (agents may be
real-valued here, the public API checks integrality).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["log_poisson_pmf", "inv_erlang_b", "log_a_function", "a_series"]

FloatArray = NDArray[np.float64]

_LOG_2PI = float(np.log(2.0 * np.pi))
_TINY = 1e-280  # below this an incomplete-gamma value is too close to underflow to divide by
_STIRLING_MIN = 15.0  # from here on the 6-term Stirling series is exact to double precision


def _stirlerr(x: FloatArray) -> FloatArray:
    """ln Γ(x+1) − [(x+½) ln x − x + ½ ln 2π]: the Stirling remainder, without cancellation."""
    big = np.maximum(x, _STIRLING_MIN)
    inv2 = 1.0 / (big * big)
    series = (
        1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 * (1.0 / 1188))))
    ) / big
    small = np.maximum(x, 1e-300)
    direct = special.gammaln(small + 1.0) - (small + 0.5) * np.log(small) + small - 0.5 * _LOG_2PI
    return np.where(x >= _STIRLING_MIN, series, direct)


def _bd0(x: FloatArray, u: FloatArray) -> FloatArray:
    """x ln(x/u) + u − x, computed as u·φ(x/u) so that x ≈ u loses no digits."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = x / u
        d = r - 1.0
        return np.where(np.isfinite(r), u * (r * np.log1p(d) - d), np.inf)


def log_poisson_pmf(x: ArrayLike, u: ArrayLike) -> FloatArray:
    """ln(e^-u u^x / Γ(x+1)) for real x ≥ 0 and mean u ≥ 0 (Loader's saddle-point form)."""
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = special.xlogy(x, u) - u - special.gammaln(x + 1.0)
        saddle = -_stirlerr(x) - _bd0(x, u) - 0.5 * (_LOG_2PI + np.log(x))
        saddle = np.where(u > 0, saddle, -np.inf)
    return np.where(x >= _STIRLING_MIN, saddle, direct)


def _loop_until_converged(step, state, active: NDArray[np.bool_], max_terms: int = 10_000_000):
    """Drive a vectorised series: ``step`` updates ``state`` in place and returns a converged mask."""
    for _ in range(max_terms):
        if not active.any():
            break
        active &= ~step(state, active)
    return state


def inv_erlang_b(servers: ArrayLike, erlangs: ArrayLike) -> FloatArray:
    """1 / B(m, a), the reciprocal Erlang-B blocking for m servers (m may be 0).

    Uses Q(m+1, a) / pmf(m; a). Where Q would underflow (deep overload, a ≫ m)
    it sums 1 + m/a + m(m−1)/a² + …, which then converges within ~√a terms.
    """
    m, a = np.broadcast_arrays(np.asarray(servers, dtype=float), np.asarray(erlangs, dtype=float))
    q = special.gammaincc(m + 1.0, a)
    with np.errstate(divide="ignore", over="ignore"):
        result = np.exp(np.log(q) - log_poisson_pmf(m, a))
    overload = q < _TINY
    if overload.any():
        result = np.array(result, dtype=float)
        result[overload] = _falling_factorial_series(m[overload], a[overload])
    return result


def _falling_factorial_series(m: FloatArray, a: FloatArray) -> FloatArray:
    """Σ_j m!/((m−j)! a^j), the exact reciprocal of Erlang B, used only when a ≫ m."""
    state = {"term": np.ones_like(m), "total": np.ones_like(m), "j": 0}

    def step(s, active):
        s["term"] = np.where(active, s["term"] * np.maximum(m - s["j"], 0.0) / a, 0.0)
        s["total"] += s["term"]
        s["j"] += 1
        return s["term"] <= 1e-17 * s["total"]

    return _loop_until_converged(step, state, np.ones_like(m, dtype=bool))["total"]


def a_series(x: ArrayLike, u: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(Σ_j w_j, Σ_j j·w_j) with w_j = u^j / ((x+1)(x+2)…(x+j)); needs u < x + ~1 to converge fast.

    The first sum is the Erlang-A function A(x, u); the second gives the
    abandonment term 1 − (1−ρ)A = T/x without cancellation when patience is long.
    """
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    x, u = x.copy(), u.copy()
    state = {"w": np.ones_like(x), "s0": np.ones_like(x), "s1": np.zeros_like(x), "j": 0}

    def step(s, active):
        s["j"] += 1
        j = s["j"]
        s["w"] = np.where(active, s["w"] * u / (x + j), 0.0)
        s["s0"] += s["w"]
        s["s1"] += j * s["w"]
        shrinking = u < x + j
        return shrinking & (j * s["w"] <= 1e-17 * np.maximum(s["s1"], 1e-300)) & (s["w"] <= 1e-17 * s["s0"])

    state = _loop_until_converged(step, state, np.ones_like(x, dtype=bool))
    return state["s0"], state["s1"]


def log_a_function(x: ArrayLike, u: ArrayLike) -> FloatArray:
    """ln A(x, u), where A(x, u) = x e^u u^-x γ(x, u) = P(x, u) / pmf(x; u).

    The incomplete-gamma ratio is used wherever P(x, u) is comfortably above
    underflow; elsewhere u is well below x and the power series converges fast.
    """
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    p = special.gammainc(x, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.log(p) - log_poisson_pmf(x, u)
    small = ~(p >= _TINY)
    if small.any():
        result = np.array(result, dtype=float)
        result[small] = np.log(a_series(x[small], u[small])[0])
    return result

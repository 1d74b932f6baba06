"""Erlang B, Erlang C, Erlang-A (M/M/n+M) and M/M/n+D queue metrics.

Why: the pacing controllers, the staffing solver and the simulator's
validation all need the same queueing answers, exactly, from 1 to 100,000
agents. Every function broadcasts over numpy arrays; scalar inputs give
Python floats.

Units: ``erlangs`` is offered load (arrival rate × mean handle time);
``aht_s``, ``patience_s`` and ``target_s`` are seconds; probabilities and
occupancy are fractions in [0, 1].

Erlang-A and M/M/n+D both follow from the M/M/n+G virtual-wait density
f_V(v) = λ π_{n−1} exp(λ H(v) − nμ v), H(v) = ∫₀^v P(patience > s) ds, with
π_{n−1} fixed by normalisation against 1/B(n−1, a). The key names of the
result objects match ``shared/reference/erlang.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from pacing._special import a_series, inv_erlang_b, log_a_function
from pacing.errors import InvalidInput, Overloaded

__all__ = [
    "erlang_b",
    "erlang_c",
    "erlang_a",
    "mmn_deterministic",
    "ErlangCResult",
    "ErlangAResult",
    "DeterministicResult",
]

Value = float | NDArray[np.float64]


def _array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=float)
    if np.isnan(arr).any() or np.isinf(arr).any():
        raise InvalidInput(name, "must be a finite number")
    return arr


def _agents(value: ArrayLike) -> NDArray[np.float64]:
    arr = _array("agents", value)
    if (arr < 1).any() or (arr != np.floor(arr)).any():
        raise InvalidInput("agents", "must be a whole number of at least 1")
    return arr


def _non_negative(name: str, value: ArrayLike) -> NDArray[np.float64]:
    arr = _array(name, value)
    if (arr < 0).any():
        raise InvalidInput(name, "must not be negative")
    return arr


def _positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    arr = _array(name, value)
    if (arr <= 0).any():
        raise InvalidInput(name, "must be greater than 0")
    return arr


def _out(arr: NDArray[np.float64]) -> Value:
    return float(arr) if np.ndim(arr) == 0 else arr


class _Result:
    def as_dict(self) -> dict[str, Value]:
        return asdict(self)  # type: ignore[call-overload]


def erlang_b(agents: ArrayLike, erlangs: ArrayLike) -> Value:
    """Blocking probability of M/M/n/n (lost calls cleared)."""
    n, a = _agents(agents), _non_negative("erlangs", erlangs)
    with np.errstate(divide="ignore"):
        return _out(1.0 / inv_erlang_b(n, a))


@dataclass(frozen=True)
class ErlangCResult(_Result):
    """Erlang C (M/M/n, infinitely patient callers). Times in seconds."""

    erlang_b: Value
    p_wait: Value
    p_wait_gt_t: Value
    service_level: Value
    asa_seconds: Value
    occupancy: Value


def erlang_c(agents: ArrayLike, erlangs: ArrayLike, aht_s: ArrayLike, target_s: ArrayLike = 20.0) -> ErlangCResult:
    """Erlang C metrics; raises ``Overloaded`` when erlangs ≥ agents (no steady state)."""
    n, a = _agents(agents), _non_negative("erlangs", erlangs)
    aht, t = _positive("aht_s", aht_s), _non_negative("target_s", target_s)
    if (a >= n).any():
        raise Overloaded("erlangs", "offered load must be below the number of agents for Erlang C")
    rho = a / n
    with np.errstate(divide="ignore"):
        inv_b = inv_erlang_b(n, a)
        p_wait = 1.0 / (inv_b * (1.0 - rho) + rho)
    p_gt_t = p_wait * np.exp(-(n - a) * t / aht)
    return ErlangCResult(
        erlang_b=_out(1.0 / inv_b),
        p_wait=_out(p_wait),
        p_wait_gt_t=_out(p_gt_t),
        service_level=_out(1.0 - p_gt_t),
        asa_seconds=_out(p_wait * aht / (n - a)),
        occupancy=_out(rho + 0.0 * p_wait),
    )


@dataclass(frozen=True)
class ErlangAResult(_Result):
    """Erlang-A (M/M/n+M). ``p_abandon`` and ``p_answered_within_t`` are shares of all arrivals."""

    p_wait: Value
    p_abandon: Value
    p_abandon_given_wait: Value
    mean_wait_seconds: Value
    occupancy: Value
    p_answered_within_t: Value
    p_offered_wait_gt_t: Value


def _abandon_numerator(x: NDArray, y: NDArray, rho: NDArray, inv_a: NDArray) -> NDArray:
    """(1 − (1−ρ)A)/A, i.e. P(Ab)·π⁻¹ scaled by 1/A.

    Closed form invA − (1−ρ) cancels when patience is long and ρ < 1; there the
    series T/(xA) = Σ j·w_j / (x Σ w_j) gives the same quantity with all terms positive.
    """
    closed = inv_a - (1.0 - rho)
    cancelling = (rho < 1.0) & ~(closed * 100.0 > (1.0 - rho))
    if cancelling.any():
        closed = np.array(closed, dtype=float)
        s0, s1 = a_series(x[cancelling], y[cancelling])
        closed[cancelling] = s1 / (x[cancelling] * s0)
    return closed


def erlang_a(
    agents: ArrayLike,
    erlangs: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    target_s: ArrayLike = 20.0,
) -> ErlangAResult:
    """Erlang-A metrics for exponential patience with mean ``patience_s``; valid at any load."""
    n, a = _agents(agents), _non_negative("erlangs", erlangs)
    aht, patience = _positive("aht_s", aht_s), _positive("patience_s", patience_s)
    t = _non_negative("target_s", target_s)
    n, a, aht, patience, t = np.broadcast_arrays(n, a, aht, patience, t)
    rho = a / n
    x, y = n * patience / aht, a * patience / aht
    decay = np.exp(-t / patience)
    log_a = log_a_function(x, y)
    log_a_t = log_a_function(x, y * decay)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv_a = np.exp(-log_a)
        inv_b = inv_erlang_b(n - 1.0, a)
        denom = np.where(np.isinf(inv_b), np.inf, inv_b * inv_a) + rho
        log_decay_t = y * -np.expm1(-t / patience) - n * t / aht
        tail = np.exp(log_a_t + log_decay_t - log_a)
        served_by_t = inv_b * inv_a + (1.0 - inv_a) - (tail - np.exp(log_decay_t - log_a))
        p_answered = np.clip(np.where(np.isinf(denom), 1.0, served_by_t / denom), 0.0, 1.0)
        given_wait = np.where(rho > 0, _abandon_numerator(x, y, rho, inv_a) / rho, 1.0 / (1.0 + x))
    p_abandon = given_wait * rho / denom
    p_wait = rho / denom
    return ErlangAResult(
        p_wait=_out(p_wait),
        p_abandon=_out(p_abandon),
        p_abandon_given_wait=_out(given_wait),
        mean_wait_seconds=_out(p_abandon * patience),
        occupancy=_out(np.minimum(rho * (1.0 - p_abandon), 1.0)),
        p_answered_within_t=_out(p_answered),
        p_offered_wait_gt_t=_out(np.minimum(rho * tail / denom, p_wait)),
    )


@dataclass(frozen=True)
class DeterministicResult(_Result):
    """M/M/n+D: every caller waits exactly ``patience_s`` then hangs up (the 2-second rule)."""

    p_wait: Value
    p_abandon: Value
    occupancy: Value


def mmn_deterministic(
    agents: ArrayLike, erlangs: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike
) -> DeterministicResult:
    """M/M/n+D metrics. With patience 0 this is Erlang B; as patience grows, Erlang C."""
    n, a = _agents(agents), _non_negative("erlangs", erlangs)
    aht, limit = _positive("aht_s", aht_s), _non_negative("patience_s", patience_s)
    n, a, aht, limit = np.broadcast_arrays(n, a, aht, limit)
    rho = a / n
    s = (a - n) * limit / aht  # (λ − nμ)·T
    scale = np.exp(-np.maximum(s, 0.0))  # divide everything by e^s when s > 0 so nothing overflows
    lam_t = a * limit / aht
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inv_b = inv_erlang_b(n - 1.0, a)
        lam_j = np.where(s > 0, lam_t * special.exprel(-s) + rho, lam_t * special.exprel(s) + rho * np.exp(s))
        denom = np.where(np.isinf(inv_b), np.inf, inv_b * scale) + lam_j
        p_abandon = rho * np.exp(np.minimum(s, 0.0)) / denom
    return DeterministicResult(
        p_wait=_out(lam_j / denom),
        p_abandon=_out(p_abandon),
        occupancy=_out(np.minimum(rho * (1.0 - p_abandon), 1.0)),
    )

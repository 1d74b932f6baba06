"""Independent high-precision references (mpmath, 50 digits) for the Erlang tests.

These are written from the birth-death chain and the textbook sums, not from
the formulas in ``pacing/``, so that agreement is evidence rather than echo.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 50


def erlang_b(n: int, a: float) -> mp.mpf:
    """B(n, a) = (a^n/n!) / Σ_{k≤n} a^k/k!, summed exactly in log space."""
    if a == 0:
        return mp.mpf(0)
    a = mp.mpf(a)
    terms = [mp.exp(k * mp.log(a) - mp.loggamma(k + 1)) for k in range(n + 1)]
    return terms[-1] / mp.fsum(terms)


def erlang_a_chain(n: int, a: float, aht: float, patience: float, extra: int = 4000) -> dict[str, mp.mpf]:
    """Erlang-A from the truncated birth-death chain: states 0..n+extra."""
    lam, mu, theta = mp.mpf(a) / aht, 1 / mp.mpf(aht), 1 / mp.mpf(patience)
    weights = [mp.mpf(1)]
    for k in range(1, n + extra):
        death = k * mu if k <= n else n * mu + (k - n) * theta
        weights.append(weights[-1] * lam / death)
    total = mp.fsum(weights)
    p_wait = mp.fsum(weights[n:]) / total
    abandon_rate = mp.fsum((k - n) * theta * w for k, w in enumerate(weights) if k > n) / total
    return {"p_wait": p_wait, "p_abandon": abandon_rate / lam}


def mmn_d_integral(n: int, a: float, aht: float, limit: float) -> dict[str, mp.mpf]:
    """M/M/n+D by integrating the virtual-wait density λπ_{n−1}exp(λ min(v,T) − nμv) numerically."""
    lam, nmu, T = mp.mpf(a) / aht, n / mp.mpf(aht), mp.mpf(limit)
    density = lambda v: mp.exp(lam * min(v, T) - nmu * v)  # noqa: E731
    j = mp.quad(density, [0, T, mp.inf]) if T > 0 else 1 / nmu
    below = mp.fsum(mp.exp(k * mp.log(a) - mp.loggamma(k + 1)) for k in range(n))
    pi_last = 1 / (below / mp.exp((n - 1) * mp.log(a) - mp.loggamma(n)) + lam * j)
    tail = mp.quad(density, [T, mp.inf])
    return {"p_wait": lam * pi_last * j, "p_abandon": lam * pi_last * tail}

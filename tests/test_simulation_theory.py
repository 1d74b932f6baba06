"""The production connect rule against queueing theory: M/M/n+D (fixed 2 s limit) and Erlang-A (exp. patience).

Poisson live answers go through ``dialer.core.engine.Engine`` (its ``AgentPool``,
connect timer and safe-harbour message) to n agents with exponential talk
times (``simulation.validation``). The theory value must lie inside the
replications' 99% confidence interval. The whole file takes about 60-90 s on
2 busy cores (2026-12-03): the full engine costs about 50 µs a call where the
old simulator-only floor cost 8 µs.
"""

import numpy as np
import pytest
from scipy import stats

from pacing.erlang import erlang_a, mmn_deterministic
from simulation.validation import poisson_connects

AHT_S = 180.0
REPLICATIONS = 8
CALLS = {10: 30000, 100: 80000}  # the big team's queue is more autocorrelated: it needs longer runs
pytestmark = pytest.mark.slow  # hundreds of thousands of calls through the engine


def _ci99(values: list[float]) -> tuple[float, float]:
    mean, se = float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values)))
    half = stats.t.ppf(0.995, len(values) - 1) * se
    return mean - half, mean + half


@pytest.mark.parametrize("agents, erlangs", [(10, 7.0), (100, 95.0)])
def test_fixed_connect_limit_matches_mmn_plus_d(agents, erlangs):
    runs = [poisson_connects(agents, erlangs, AHT_S, CALLS[agents], seed=s, limit_s=2.0).p_abandon
            for s in range(REPLICATIONS)]
    low, high = _ci99(runs)
    theory = mmn_deterministic(agents, erlangs, AHT_S, 2.0).p_abandon
    assert low <= theory <= high, (low, theory, high)
    assert high - low < 0.25 * theory  # the interval is tight enough to mean something


@pytest.mark.parametrize("agents, erlangs", [(10, 7.0), (100, 95.0)])
def test_exponential_patience_matches_erlang_a(agents, erlangs):
    runs = [poisson_connects(agents, erlangs, AHT_S, CALLS[agents], seed=100 + s, patience_mean_s=30.0).p_abandon
            for s in range(REPLICATIONS)]
    low, high = _ci99(runs)
    theory = erlang_a(agents, erlangs, AHT_S, 30.0, 20.0).p_abandon
    assert low <= theory <= high, (low, theory, high)
    assert high - low < 0.25 * theory

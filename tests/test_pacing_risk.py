"""The predictive controller's risk model against a Monte Carlo reference of the same state.

Each state has busy agents who free at a uniform step of the horizon (or not
within it) and calls that answer at a uniform step (or not at all). The
reference plays 100,000 paths of it: an answer takes a free agent if there
is one, else it is abandoned. What the controller needs is the marginal risk
of each new call, placed right between states: the largest per-step
expectation it used before put calls launched ahead of busy agents at 0.37–
0.68 of the reference and calls for idle agents at 0.77–0.82.
"""

import numpy as np
import pytest

from pacing.predictive import Deficit

STEPS = 16
PATHS = 100_000


def _bernoulli_sums(count: int, by_step: np.ndarray) -> np.ndarray:
    """Mean, variance and third cumulant, by step, of ``count`` independent Bernoulli(by_step) items."""
    return count * np.stack([by_step, by_step * (1 - by_step), by_step * (1 - by_step) * (1 - 2 * by_step)])


def _model(busy: int, p_free: float, in_flight: int, p_live: float, idle: int, calls: np.ndarray) -> np.ndarray:
    share = np.arange(1, STEPS + 1) / STEPS
    free = _bernoulli_sums(busy, p_free * share)
    deficit = Deficit(_bernoulli_sums(in_flight, p_live * share), free * np.array([[-1.0], [1.0], [-1.0]]),
                      -idle, p_live * share, 0.0)
    return deficit.expected_abandons(calls)


def _monte_carlo(busy: int, p_free: float, in_flight: int, p_live: float, idle: int, calls: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(7)
    never = STEPS + 1
    frees = np.where(rng.random((PATHS, busy)) < p_free, rng.integers(0, STEPS, (PATHS, busy)), never)
    answers = np.where(rng.random((PATHS, in_flight + calls.max())) < p_live,
                       rng.integers(0, STEPS, (PATHS, in_flight + calls.max())), never)
    out = []
    for n in calls:  # the same paths for every n: the marginal differences are precise
        agents, abandoned = np.full(PATHS, idle), np.zeros(PATHS)
        for step in range(STEPS):
            agents = agents + (frees == step).sum(axis=1)
            arriving = (answers[:, :in_flight + n] == step).sum(axis=1)
            abandoned += np.maximum(0, arriving - agents)
            agents = np.maximum(0, agents - arriving)
        out.append(abandoned.mean())
    return np.array(out)


STATES = {
    "no agent idle: every call launched ahead of busy agents": (8, 0.2, 0, 0.45, 0),
    "one call already ahead of busy agents": (8, 0.2, 1, 0.45, 0),
    "two idle agents with two calls ringing": (8, 0.2, 2, 0.45, 2),
    "small team, low answer rate, two idle": (3, 0.2, 2, 0.25, 2),
}


@pytest.mark.parametrize("state", STATES.values(), ids=STATES.keys())
def test_marginal_risk_of_each_new_call_is_close_to_the_reference(state):
    calls = np.arange(0, 4)
    model = np.diff(_model(*state, calls))
    reference = np.diff(_monte_carlo(*state, calls))
    assert np.all(model / reference >= 0.95)
    assert np.all(model / reference <= 1.6)

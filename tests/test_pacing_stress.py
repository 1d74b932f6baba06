"""The hard limit under stress: the calls in flight must fit what the cap can still absorb even if every answer
chance were ``stress`` times its estimate. An option, off by default: on ten sudden-rise days it moved the worst
day but not the count of days over the cap (see ``Predictive``)."""

import numpy as np
import pytest

from pacing.controllers import AttemptOutcome, Snapshot
from pacing.predictive import Deficit, Predictive

TEN_AM = 36000.0


def test_a_stressed_deficit_scales_the_answers_and_caps_a_new_calls_chance_at_one():
    answered = np.array([[1.0, 2.0], [0.5, 0.8], [0.1, 0.2]])
    deficit = Deficit(answered, -np.ones((3, 2)), -1.0, np.array([0.1, 0.3]), 0.0)
    stressed = deficit.stressed(4.0)
    assert np.allclose(stressed.answered, 4 * answered)
    assert np.allclose(stressed.fresh, [0.4, 1.0])
    assert np.array_equal(stressed.less_free, deficit.less_free) and stressed.offset == -1.0


def _learned_at_5_percent(stress: float) -> Predictive:
    p = Predictive(stress=stress)
    rng = np.random.default_rng(5)
    for i in range(3000):  # an hour of history at a 5% answer rate
        t = TEN_AM - 3600 + i
        live = rng.random() < 0.05
        p.observe(AttemptOutcome(t, float(rng.uniform(5, 15)) if live else 25.0, "live" if live else "no_answer"))
        p.observe_handle(t, float(rng.gamma(4, 25)))
    return p


@pytest.mark.parametrize("abandoned_today", [2, 4])
def test_late_in_the_day_stress_holds_back_lines_the_estimate_alone_would_launch(abandoned_today):
    """Five minutes left, 20 agents (8 idle), 20 calls ringing at 5%: the estimate alone allows 58-60 more lines;
    if they answered at 20% the cap could not absorb the burst (measured: 44 and 29 lines with stress 4)."""
    rng = np.random.default_rng(1)
    floor = Snapshot(TEN_AM, agents_logged_in=20, agents_idle=8, busy_elapsed_s=tuple(rng.uniform(0, 200, 12)),
                     ringing_elapsed_s=tuple(rng.uniform(0, 20, 20)), seconds_left=300)
    launches = {}
    for stress in (1.0, 4.0):
        p = _learned_at_5_percent(stress)
        for i in range(abandoned_today):
            p.ledger.live(TEN_AM - 10 + i, abandoned=True)
        launches[stress] = p.decide(floor).launch
    assert 0 <= launches[4.0] < 0.8 * launches[1.0]

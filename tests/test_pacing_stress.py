"""A sudden rise in the answer rate (issue 14): the calls in flight must fit what the cap can still absorb even
if every answer chance were ``stress`` times its estimate while the hour's evidence is thin, and a Poisson test
of the hour's live answers against the estimate makes it forget the old regime (``RiseWatch``)."""

import math

import numpy as np
import pytest

from pacing.controllers import AttemptOutcome, Snapshot
from pacing.predictive import Deficit, Predictive, RiseWatch

TEN_AM = 36000.0


def test_a_stressed_deficit_scales_the_answers_and_caps_a_new_calls_chance_at_one():
    answered = np.array([[1.0, 2.0], [0.5, 0.8], [0.1, 0.2]])
    deficit = Deficit(answered, -np.ones((3, 2)), -1.0, np.array([0.1, 0.2]), 0.0)
    stressed = deficit.stressed(4.0)
    assert np.allclose(stressed.answered, 4 * answered)
    assert np.allclose(stressed.fresh, [0.4, 0.8])
    assert np.array_equal(stressed.less_free, deficit.less_free) and stressed.offset == -1.0
    # 10x of a 30% chance would be 3: the factor is held at 1/0.3, and people already answered are not scaled
    settled = np.array([[0.5, 0.5], [0.25, 0.25], [0.0, 0.0]])
    held = Deficit(answered + settled, -np.ones((3, 2)), -1.0, np.array([0.1, 0.3]), 0.0, settled).stressed(10.0)
    assert np.allclose(held.fresh, [1 / 3, 1.0])
    assert np.allclose(held.answered, answered / 0.3 + settled)


def test_the_watch_tests_the_hour_s_live_answers_against_the_estimate():
    """100 calls dialled at 16:00:05 with P(live within k s) = 5% for every k: by 16:00:15, 5 live answers are
    expected. 5 or 12 (tail 0.0055) are no news; 15 is: P(Poisson(5) >= 15) = 1 - sum_{k<15} e^-5 5^k/k!
    = 0.000226 < 0.001. A call dialled before 16:00 counts on neither side."""
    tail = 1 - sum(math.exp(-5) * 5**k / math.factorial(k) for k in range(15))
    assert tail == pytest.approx(0.000226, abs=1e-6)
    incidence = np.full(60, 0.05)
    for lives, changed in ((5, False), (12, False), (15, True)):
        watch = RiseWatch()
        watch.roll(16 * 3600.0)
        watch.launched(16 * 3600.0 + 5, 100)
        watch.launched(16 * 3600.0 - 5, 100)  # the hour before: not this hour's
        for _ in range(lives):
            watch.live(16 * 3600.0 + 5)
        watch.live(16 * 3600.0 - 3)
        assert watch.expected(16 * 3600.0 + 15, incidence) == pytest.approx(5.0)
        assert watch.changed(16 * 3600.0 + 15, incidence) is changed
    assert watch.lives == 0 and watch.expected(16 * 3600.0 + 15, incidence) == 0.0  # counting starts again


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

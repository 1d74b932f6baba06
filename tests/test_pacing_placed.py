"""Controllers learn from the calls placed, not the calls decided (issue 14, item 3): an hour with nothing to
dial must not teach the predictive controller that its launches are safe."""

import math

import pytest

from pacing.controllers import Snapshot
from pacing.vicidial import Vicidial
from tests.test_pacing_controllers import TEN_AM, _learned

IDLE_FLOOR = dict(agents_logged_in=20, agents_idle=20, seconds_left=8 * 3600)


def _closed_hour(report_placed: bool):
    """Decide every second for an hour while the list has no dialable lead (the calling window is shut)."""
    p = _learned()
    for s in range(3600):
        p.decide(Snapshot(TEN_AM + s, **IDLE_FLOOR))
        if report_placed:
            p.placed(TEN_AM + s, 0)
    return p


@pytest.mark.slow  # two simulated hours of decisions, one a second
def test_a_closed_window_leaves_the_calibration_where_it_was():
    """Measured 2026-05 (learned 25% live, 20 idle agents, an hour of ticks): reporting 0 placed keeps the spread
    at 1.0 and the bias factor at its prior, so the opening's threshold is the allowed rate (0.035); taking each
    decision as placed drove the spread to 7.3 and the bias factor to its floor: a threshold seven times it."""
    opening = Snapshot(TEN_AM + 3600, **IDLE_FLOOR)
    sane, fooled = _closed_hour(True), _closed_hour(False)
    assert sane.calibration.spread(opening.now_s) == pytest.approx(1.0)
    # nothing learnt: the factor is the prior's own 85% bound, Gamma(1, 1) at 0.85 = ln(1 / 0.15)
    assert sane.calibration.factor(opening.now_s) == pytest.approx(math.log(1.0 / 0.15))
    first = sane.decide(opening)
    assert first.inputs["threshold"] == pytest.approx(first.inputs["allowed_rate"])
    fooled_first = fooled.decide(opening)  # the old behaviour, kept for callers that never report placed calls
    assert fooled_first.inputs["threshold"] > 5 * fooled_first.inputs["allowed_rate"]


def test_only_placed_calls_feed_the_launch_rate_and_the_calibration():
    p = _learned()
    decision = p.decide(Snapshot(TEN_AM, **IDLE_FLOOR))
    assert decision.launch > 10
    p.placed(TEN_AM, 5)
    assert p._launch_rate == pytest.approx(5 / p.rate_window_s)
    lives = p.calibration._sums[2] / decision.inputs["threshold"]
    assert lives == pytest.approx(5 * decision.inputs["p_live_fresh"])
    p.placed(TEN_AM, 5)  # a second report for the same decision is a bare count, never the decision again
    assert p._launch_rate == pytest.approx(10 / p.rate_window_s)


def test_vicidial_counts_calls_placed():
    v = Vicidial()
    decision = v.decide(Snapshot(TEN_AM, agents_logged_in=10, agents_idle=10))
    assert decision.launch == 10
    v.placed(TEN_AM, 3)
    assert v._today["calls"] == 3 and len(v._placed) == 3

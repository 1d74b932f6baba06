"""The online estimators recover known parameters from synthetic data, with censoring, and follow a step change."""

import math

import numpy as np
import pytest
from scipy import stats

from pacing.estimators import HandleTimes, RingOutcomes, RingsBySegment, by_segment

TIMEOUT_S = 25.0
RING = stats.lognorm(s=0.5, scale=10.0)  # live answers: median 10 s


def _feed(observe, rng, n: int, live: float, start_t: float = 0.0, gap_s: float = 1.0) -> float:
    """Feed n resolved calls (live, machine, busy or no answer at the timeout) to ``observe(t, ring_s, cause)``;
    returns the clock at the end."""
    t = start_t
    for _ in range(n):
        t += gap_s
        u = rng.random()
        if u < live:
            ring = RING.rvs(random_state=rng)
            observe(t, min(ring, TIMEOUT_S), "live" if ring < TIMEOUT_S else None)
        elif u < live + 0.15:
            observe(t, float(rng.normal(14.0, 3.0)), "machine")
        elif u < live + 0.20:
            observe(t, 6.0, "other")
        else:
            observe(t, TIMEOUT_S, None)
    return t


def test_ring_outcomes_recover_the_live_share_and_the_conditional_answer_probability():
    est = RingOutcomes(half_life_s=1e9)
    _feed(est.observe, np.random.default_rng(1), 30000, live=0.3)
    truth_by_timeout = 0.3 * RING.cdf(TIMEOUT_S)
    assert est.live_rate == pytest.approx(truth_by_timeout, rel=0.03)
    # A call that has rung 15 s without an answer: P(live within the next 8 s), given the censoring.
    alive = 0.3 * RING.sf(15.0) + 0.15 * stats.norm(14, 3).sf(15.0) + 0.5  # no-answers are still ringing at 15 s
    truth = 0.3 * (RING.cdf(23.0) - RING.cdf(15.0)) / alive
    assert float(est.p_live_within(15.0, 0.0, 8.0)) == pytest.approx(truth, rel=0.08)
    assert est.ring_quantile(0.5) == pytest.approx(RING.median(), abs=1.0)


def test_ignoring_censoring_would_not_pass():
    """The plain share of calls answered live within 8 s after 15 s of ringing, with no-answers dropped, is far off."""
    rng = np.random.default_rng(1)
    rings = RING.rvs(size=30000, random_state=rng)
    answered = rings[rings < TIMEOUT_S]
    naive = np.mean((answered >= 15) & (answered < 23)) / np.mean(answered >= 15)
    alive = 0.3 * RING.sf(15.0) + 0.15 * stats.norm(14, 3).sf(15.0) + 0.5
    assert naive > 3 * 0.3 * (RING.cdf(23.0) - RING.cdf(15.0)) / alive


def test_ring_outcomes_follow_a_step_change_within_15_minutes():
    rng = np.random.default_rng(2)
    est = RingOutcomes(half_life_s=300.0)
    t = _feed(est.observe, rng, 3600, live=0.2)  # an hour at 20% live, a call a second
    before = est.live_rate
    _feed(est.observe, rng, 900, live=0.4, start_t=t)  # the rate doubles; 15 minutes later:
    after, target = est.live_rate, 0.4 * RING.cdf(TIMEOUT_S)
    assert before == pytest.approx(0.2 * RING.cdf(TIMEOUT_S), rel=0.1)
    assert abs(after - target) < 0.2 * (target - before)  # more than 80% of the way to the new rate


def test_calls_still_ringing_are_censored_so_early_resolvers_do_not_bias_the_start():
    est = RingOutcomes(prior_weight=1e-6)
    for t in range(20):
        est.observe(float(t), 3.0, "other")  # busy and invalid come back within seconds
    est.observe(20.0, 9.0, "live")
    est.ringing(20.0, np.full(40, 12.0))  # forty calls still ringing after 12 s
    assert float(est.p_live_within(0.0, 0.0, 10.0)) < 0.05  # one live among sixty-one calls so far


def test_handle_times_give_the_empirical_probability_of_finishing_soon():
    rng = np.random.default_rng(3)
    handle = stats.lognorm(s=1.2, scale=100.0)  # heavy right tail: not exponential
    est = HandleTimes(step_s=1.0, half_life_s=1e9, prior_weight=1e-6)
    for i, h in enumerate(handle.rvs(size=40000, random_state=rng)):
        est.observe(float(i), float(h))
    for elapsed in (10.0, 100.0, 400.0):
        truth = (handle.cdf(elapsed + 20) - handle.cdf(elapsed)) / handle.sf(elapsed)
        assert float(est.p_free_within(np.array(elapsed), 20.0)) == pytest.approx(truth, rel=0.1, abs=0.005)
    assert est.mean_s == pytest.approx(handle.mean(), rel=0.03)
    exponential = 1 - math.exp(-20 / handle.mean())
    assert float(est.p_free_within(np.array(400.0), 20.0)) < 0.8 * exponential  # the long calls go on longer


def test_handle_times_censor_agents_still_busy_so_the_long_tail_is_not_lost_at_the_start_of_a_day():
    rng = np.random.default_rng(4)
    handle = stats.lognorm(s=1.2, scale=100.0)
    times = handle.rvs(size=2000, random_state=rng)  # every agent starts a call at t = 0
    now = 120.0
    est = HandleTimes(step_s=1.0, prior_weight=1e-6, refresh_s=0.0)
    for h in np.sort(times[times <= now]):
        est.observe(float(h), float(h))
    naive = est.survival()[int(now)]
    est.busy(now, np.full(int((times > now).sum()), now))
    assert naive < 0.05  # only the short calls have ended: without censoring the tail vanishes
    assert est.survival()[int(now) - 1] == pytest.approx(handle.sf(now), abs=0.03)


def test_after_a_week_idle_the_morning_starts_from_last_mornings_answers():
    """A week of forgetting underflows the evidence to nothing, which would read as a zero answer rate (zero risk),
    and the last calls before the pause were the evening's. The estimate keeps a floor, taken from the same hour."""
    rng = np.random.default_rng(7)
    est = RingOutcomes()
    _feed(est.observe, rng, 2000, live=0.4, start_t=9 * 3600.0)
    morning = est.live_rate
    _feed(est.observe, rng, 2000, live=0.1, start_t=16 * 3600.0)
    evening = est.live_rate
    est.ringing(7 * 86400.0 + 9 * 3600.0 + 60.0, np.array([]))
    assert evening < 0.15 < 0.3 < morning
    assert est.live_rate == pytest.approx(morning, abs=0.03)
    assert est.evidence < 1e-6  # the floor is not evidence: the controller still doubts the first burst


def test_after_a_month_idle_handle_times_keep_the_law_last_learned():
    rng = np.random.default_rng(8)
    est = HandleTimes(refresh_s=0.0)
    for i in range(500):
        est.observe(float(i), float(rng.exponential(100.0)))
    learned = est.mean_s
    est.busy(30 * 86400.0, np.array([]))
    assert learned == pytest.approx(100.0, rel=0.15)
    assert est.mean_s == pytest.approx(learned, rel=0.02)


def test_each_segment_keeps_its_own_answer_rate_and_new_calls_mix_them_by_share():
    """A list of lapsed borrowers (10% answer) and recent ones (50%), dialed one lapsed to three recent."""
    rng = np.random.default_rng(9)
    est = RingsBySegment(make=lambda: RingOutcomes(half_life_s=1e9), half_life_s=1e9)
    t = _feed(lambda t, ring_s, cause: est.observe(t, ring_s, cause, "lapsed"), rng, 2000, live=0.1)
    _feed(lambda t, ring_s, cause: est.observe(t, ring_s, cause, "recent"), rng, 6000, live=0.5, start_t=t)
    within = RING.cdf(TIMEOUT_S)
    assert est.segments["recent"].live_rate == pytest.approx(0.5 * within, abs=0.02)
    assert est.segments["lapsed"].live_rate == pytest.approx(0.1 * within, abs=0.02)
    assert est.shares() == pytest.approx({"lapsed": 0.25, "recent": 0.75}, rel=1e-4)
    assert est.live_rate == pytest.approx((0.25 * 0.1 + 0.75 * 0.5) * within, abs=0.02)
    assert est.fresh(30)[-1] == pytest.approx(est.live_rate, abs=1e-9)


def test_a_list_of_one_segment_is_estimated_exactly_as_by_one_estimator():
    rng_a, rng_b = np.random.default_rng(10), np.random.default_rng(10)
    single, segmented = RingOutcomes(), RingsBySegment()
    _feed(single.observe, rng_a, 3000, live=0.3, start_t=36000.0)  # the same calls, and below with a name
    t = _feed(lambda t, ring_s, cause: segmented.observe(t, ring_s, cause, "recent"), rng_b, 3000, live=0.3,
              start_t=36000.0)
    single.ringing(t, np.array([3.0, 8.0]))
    segmented.ringing(t, by_segment((3.0, 8.0), ("recent", "recent")))
    assert list(segmented.segments) == ["recent"]
    assert np.array_equal(segmented.fresh(20), single.live_table(20)[0])
    assert segmented.horizon_s(0.9) == single.ring_quantile(0.9)


def test_ringing_calls_are_grouped_by_segment_in_the_order_first_seen():
    assert by_segment((1.0, 2.0, 3.0, 4.0), ("b", "a", "b", "c")) == {"b": (1.0, 3.0), "a": (2.0,), "c": (4.0,)}
    assert by_segment((1.0, 2.0), ("a", "a")) == {"a": (1.0, 2.0)}
    assert by_segment((1.0, 2.0), ()) == {"all": (1.0, 2.0)}
    with pytest.raises(ValueError):
        by_segment((1.0, 2.0), ("a",))

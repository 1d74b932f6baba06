"""The UK budget sets aside the AMD false positives of live answers still to come, and a campaign whose false
positives leave no budget is refused or run with AMD off, in words (issue 14, item 5)."""

import pytest

from dialer.drivers.sim.scenario import parse_scenario
from pacing.controllers import Progressive
from pacing.ledger import AbandonmentLedger, NoAbandonBudget, amd_verdict, require_amd_budget
from simulation.model import Model
from simulation.results import RunResult, Series, expected_false_positive
from tests.test_amd_visibility import _amd_day

TEN_AM = 10 * 3600.0


def _morning(fp_rate: float) -> AbandonmentLedger:
    ledger = AbandonmentLedger(cap=0.03, fp_rate=fp_rate, safety=0.8)
    for i in range(1000):  # 1,000 people passed to agents in the last 15 minutes, none abandoned
        ledger.live(TEN_AM - 900 + 0.9 * i)
    return ledger


def test_allowed_rate_sets_aside_the_false_positives_still_to_come():
    """Worked by hand: 1,000 people seen, fp 2%, so 1,000 · 0.02/0.98 = 20.41 estimated false positives so far;
    15 more minutes at the same pace bring 1,000 people and 20.41 more. The day ends with 2,040.8 counted live
    answers; the aim is the floor 0.8 · 3% = 2.4% of them, 48.98 abandons, of which 40.82 are false positives:
    8.16 true abandons over the 1,000 answers to come, a rate of 0.816%. Counting no false positives for the
    answers to come it would be (48.98 − 20.41) / 1,000 = 2.86% (plus the 2.4% aim's share of the new FPs)."""
    ledger = _morning(0.02)
    assert ledger.allowed_rate(TEN_AM, seconds_left=900) == pytest.approx((0.024 * 2000 / 0.98 - 40 / 0.98) / 1000)
    assert ledger.allowed_rate(TEN_AM, seconds_left=900) == pytest.approx(0.008163, abs=1e-6)
    assert _morning(0.0).allowed_rate(TEN_AM, seconds_left=900) == pytest.approx(0.024 * 2000 / 1000)


def test_hard_slack_counts_the_false_positives_of_the_assured_answers():
    """The hard limit counts half the expected answers (500 people, 10.2 false positives): the cap allows
    (0.03 · (1,020.4 + 510.2) − 20.4 − 10.2) / 0.97 = 15.78 abandons now."""
    ledger = _morning(0.02)
    fp = 0.02 / 0.98
    expected = (0.03 * (1000 * (1 + fp) + 500 * (1 + fp)) - 1500 * fp) / 0.97
    assert ledger.slack(TEN_AM, seconds_left=900) == pytest.approx(expected)
    assert ledger.slack(TEN_AM, seconds_left=900) == pytest.approx(15.78, abs=0.01)


def test_false_positives_at_the_aim_leave_no_budget():
    assert _morning(0.024).allowed_rate(TEN_AM, seconds_left=900) == pytest.approx(0.0, abs=1e-12)
    assert _morning(0.03).allowed_rate(TEN_AM, seconds_left=900) == 0.0


def test_a_uk_campaign_whose_false_positives_use_the_budget_is_refused_or_run_without_amd_in_words():
    assert amd_verdict(0.03, 0.01, counts_false_positives=True).amd_on
    assert amd_verdict(0.03, 0.05, counts_false_positives=False).amd_on  # the US rule does not count them
    with pytest.raises(NoAbandonBudget, match=r"AMD false positives alone \(3.0% of live answers\).*refused"):
        require_amd_budget(0.03, 0.03, counts_false_positives=True)
    close = amd_verdict(0.03, 0.025, counts_false_positives=True, if_no_budget="amd-off")
    assert close.action == "run-without-amd" and close.message.endswith("running with AMD off")
    assert not close.amd_on


def test_bayes_share_of_people_among_amd_machines_by_hand():
    # live 0.5, machine 0.15, fp 0.1, fn 0.1: 0.05 / (0.05 + 0.135)
    assert expected_false_positive(0.5, 0.15, 0.1, 0.1) == pytest.approx(0.05 / 0.185)
    assert expected_false_positive(0.0, 0.0, 0.1, 0.1) == 0.0


def test_the_regulators_uk_day_rate_by_hand():
    """Day 1: 97 people passed on, 1 abandoned, 2 true false positives, AMD hung up on 20 calls each a person with
    probability 0.1: (1 + 2) / (97 + 2) by the regulator's count; the truth is (1 + 2) / 99 too, by luck."""
    result = RunResult(series=Series(2 * 96))
    day1 = 86400.0 + 11 * 3600
    for i in range(99):
        result.series.count("live", day1 + i)
    result.series.count("abandoned", day1)
    result.series.count("amd_false_positives", day1, 2)
    result.live, result.abandoned, result.amd_false_positives = 99, 1, 2
    for _ in range(20):
        result.amd_machine(day1, 0.1)
    assert result.days_uk_regulator_rates() == pytest.approx([0.0, 3 / 99])
    assert result.abandon_rate_uk_regulator == pytest.approx(3 / 99)


def test_the_regulators_uk_rate_counts_expected_false_positives_beside_the_truth():
    """Progressive dialing abandons no one, so both UK rates are false positives alone: the truth counts the
    ones that happened, the regulator's measure the expected ones; both near fp = 10% of people."""
    result = Model(parse_scenario(_amd_day(5)), Progressive()).run()
    summary = result.summary()
    assert result.abandoned == 0 and result.amd_false_positives > 20
    sd = (result.amd_fp_expected * 0.9) ** 0.5  # the count is a sum of Bernoulli terms, variance below its mean
    assert abs(result.amd_false_positives - result.amd_fp_expected) < 4 * sd
    assert summary["abandon_rate_uk_regulator"] == pytest.approx(0.1, abs=0.02)
    assert summary["abandon_rate_uk"] == pytest.approx(result.amd_false_positives / result.live)
    assert summary["worst_day_abandon_rate_uk_regulator"] == pytest.approx(summary["abandon_rate_uk_regulator"])


def test_the_truth_margin_adds_the_false_positive_counts_sd_to_the_aim():
    """10,000 counted live answers at fp 2%: 9,800 seen people plus 200 estimated false positives; of 10,000
    people the false-positive count has variance 10,000 · 0.02 · 0.98 = 196 (sd 14). The last hour brings 1,200:
    3 · √(0.03 · 1,200) = 18 abandons of margin; with 2 sd of the count, √(18² + 28²) = 33.3, so the aim drops
    from 2.82% to 2.667%."""
    plain = AbandonmentLedger(cap=0.03, fp_rate=0.02)
    careful = AbandonmentLedger(cap=0.03, fp_rate=0.02, fp_margin_sd=2.0)
    assert plain.aim(10_000, 1_200) == pytest.approx(0.03 - 18 / 10_000)
    assert careful.aim(10_000, 1_200) == pytest.approx(0.03 - (18**2 + 28**2) ** 0.5 / 10_000)


def test_the_rise_reserve_keeps_the_day_at_its_aim_not_the_cap():
    """Worked by hand: the aim for 2,020.4 counted answers with 4,000 an hour is max(2.4%, 3% − 3·√(0.03·4000)/
    2020.4 = 1.37%) = 2.4%; half the 1,000 answers to come are assured (500 people, 10.2 false positives):
    (0.024 · (1,020.4 + 510.2) − 20.4 − 10.2) / 0.976 = 6.27 abandons now, where the cap's slack allows 15.78."""
    ledger = _morning(0.02)
    fp = 0.02 / 0.98
    expected = (0.024 * (1000 * (1 + fp) + 500 * (1 + fp)) - 1500 * fp) / 0.976
    assert ledger.reserve(TEN_AM, seconds_left=900) == pytest.approx(expected)
    assert ledger.reserve(TEN_AM, seconds_left=900) == pytest.approx(6.27, abs=0.01)
    assert ledger.reserve(TEN_AM, seconds_left=900) < ledger.slack(TEN_AM, seconds_left=900)

"""The abandonment ledger's three measures, worked by hand, and the budget it hands the pacer."""

import pytest
from scipy.stats import beta

from pacing.days import DAY_S
from pacing.ledger import AbandonmentLedger, ofcom_adjusted_rate


def _day(ledger: AbandonmentLedger, day: int, live: int, abandoned: int) -> None:
    t = day * DAY_S + 10 * 3600
    for i in range(live):
        ledger.live(t + i, abandoned=i < abandoned)


def test_us_rate_rolls_over_30_days_and_uk_rate_is_per_calendar_day():
    ledger = AbandonmentLedger()
    _day(ledger, 0, live=100, abandoned=10)
    _day(ledger, 1, live=100, abandoned=0)
    assert ledger.us_rate(1 * DAY_S + 20 * 3600) == pytest.approx(10 / 200)
    assert ledger.uk_rate(1 * DAY_S + 20 * 3600) == 0.0
    assert ledger.uk_rate(10 * 3600 + 200) == pytest.approx(0.10)
    assert ledger.us_rate(29 * DAY_S) == pytest.approx(10 / 200)  # day 0 is still inside the 30 days
    assert ledger.us_rate(30 * DAY_S) == pytest.approx(0.0)  # and then it is not


def test_uk_rate_adds_the_amd_false_positive_estimate():
    ledger = AbandonmentLedger(fp_rate=0.02)
    _day(ledger, 0, live=98, abandoned=1)
    # 98 people reached plus the estimated 2 hung up on by AMD: (1 + 2) / (98 + 2)
    assert ledger.uk_rate(11 * 3600) == pytest.approx(3 / 100)


def test_ofcom_adjusted_formula():
    # D = 10 drops, L = 490 live calls, Ag = 10 calls agents marked as machines:
    # D′ = 10 − 10·10/500 = 9.8; rate = 9.8 / (9.8 + 490)
    assert ofcom_adjusted_rate(10, 490, 10) == pytest.approx(9.8 / 499.8)
    assert ofcom_adjusted_rate(0, 0, 0) == 0.0


def test_slack_is_the_abandons_the_cap_still_allows_and_allowed_rate_lands_the_day():
    ledger = AbandonmentLedger(cap=0.03, safety=0.8)
    t = 10 * 3600.0 + 1000
    _day(ledger, 0, live=1000, abandoned=20)
    # (0.03·1000 − 20) / 0.97 more abandons keep 30/1030.9 ≤ 3%
    assert ledger.slack(t) == pytest.approx(10 / 0.97)
    assert (20 + ledger.slack(t)) / (1000 + ledger.slack(t)) == pytest.approx(0.03)
    assert ledger.allowed_rate(t, seconds_left=4 * 3600) > 0
    over = AbandonmentLedger(cap=0.03)
    _day(over, 0, live=1000, abandoned=31)
    assert over.slack(t) == 0.0
    assert over.allowed_rate(t, seconds_left=10) == 0.0  # over budget near the end of the day: no risk at all


def test_the_aim_leaves_three_sd_of_the_last_hours_abandons_and_never_less_than_the_safety_share():
    ledger = AbandonmentLedger(cap=0.03, safety=0.8, margin_sd=3.0)
    # 50 agents at a 50% answer rate: 14,400 live answers a day, 1,800 an hour; 54 abandons at the cap, sd √54
    assert ledger.aim(14_400, 1_800) == pytest.approx(0.03 - 3 * 54**0.5 / 14_400)
    assert 0.028 < ledger.aim(14_400, 1_800) < 0.029
    # 5 agents: 700 a day, 90 an hour: the margin (0.7%) would be wider than 20% of the cap
    assert ledger.aim(700, 90) == pytest.approx(0.8 * 0.03)
    assert ledger.aim(0, 0) == pytest.approx(0.8 * 0.03)
    assert ledger.aim(1e9, 1e6) < 0.03  # never the cap itself


def test_allowed_rate_aims_higher_on_a_busy_floor():
    small, big = AbandonmentLedger(), AbandonmentLedger()
    t = 9 * 3600.0 + 900
    for k in range(90):  # 90 live answers in 15 minutes: 360 an hour
        small.live(9 * 3600.0 + 10 * k)
    for k in range(900):  # 3,600 an hour
        big.live(9 * 3600.0 + k)
    assert small.allowed_rate(t, 8 * 3600) < big.allowed_rate(t, 8 * 3600) <= 0.03


def test_machines_agents_find_leave_the_live_answers_and_drops_count_at_the_share_of_people():
    """100 answers passed on as live: 80 reached agents, who found 20 of them machines (60 people); 20 were
    abandoned, 10 by callers who hung up waiting (people) and 10 dropped at the connect limit (person or
    machine): those count as people at the 90% upper bound of the share of people, Beta(61, 21)."""
    ledger = AbandonmentLedger(cap=0.03)
    t = 10 * 3600.0
    for k in range(100):
        ledger.live(t + k, abandoned=k >= 80, dropped=k >= 90)
    for k in range(20):
        ledger.agent_machine(t + 200 + k)
    share = beta.ppf(0.9, 61, 21)
    assert 0.75 < share < 0.82
    people = (20 - 10 * (1 - share), 100 - 20 - 10 * (1 - share))
    assert ledger.us_counts(t + 300) == pytest.approx(people)
    assert ledger.uk_counts(t + 300) == pytest.approx(people)
    assert ledger.us_rate(t + 300) == pytest.approx(people[0] / people[1])
    # the next window's live answers are people too: 100 answers in 900 s at today's share of people
    assert ledger.live_per_s(t + 300) == pytest.approx(people[1] / 100 * 100 / 900)


def test_a_short_record_counts_drops_nearly_in_full():
    """Three answers taken, two of them machines: a point estimate would count a drop as a third of a person;
    the bound, Beta(2, 3) at 90%, counts it as 0.68."""
    ledger = AbandonmentLedger(cap=0.03)
    for k in range(4):
        ledger.live(3600.0 + k, abandoned=k == 3, dropped=k == 3)
    ledger.agent_machine(3600.0)
    ledger.agent_machine(3601.0)
    assert ledger.us_counts(3700.0)[0] == pytest.approx(beta.ppf(0.9, 2, 3))
    assert ledger.us_counts(3700.0)[0] > 0.65


def test_more_machines_than_answers_taken_never_make_a_negative_day():
    ledger = AbandonmentLedger(cap=0.03)
    ledger.live(3600.0)
    for _ in range(3):
        ledger.agent_machine(3600.0)
    assert ledger.us_counts(3700.0) == (0.0, 0.0) and ledger.uk_rate(3700.0) == 0.0


def test_with_no_machine_found_every_abandon_is_a_person():
    ledger = AbandonmentLedger(cap=0.03)
    for k in range(50):
        ledger.live(3600.0 + k, abandoned=k < 5, dropped=k < 3)
    # 45 answers taken, all people: the share's bound is 0.998, so the 3 drops count as 2.99 people
    assert ledger.us_counts(3700.0) == pytest.approx((5.0, 50.0), abs=0.01)

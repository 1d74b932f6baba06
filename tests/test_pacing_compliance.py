"""The cap is a guarantee: on a reduced set of the benchmark's scenarios, no simulated day of the predictive
controller ends over 3% (UK daily definition, AMD false positives included), and it still beats progressive."""

import pytest

from benchmarks.scenarios import day_of, non_stationary, sudden_rise, uk_amd
from dialer.drivers.sim.scenario import parse_scenario
from simulation.model import simulate
from simulation.results import expected_false_positive

CAP = 0.03
pytestmark = pytest.mark.slow  # whole simulated days of the full engine, up to a minute each


def _with_amd(data: dict) -> dict:
    data["amd"] = {"enabled": True, "delay_s": 2.0, "false_positive": 0.01, "false_negative": 0.1}
    return data


def _two_segments_two_days(data: dict) -> dict:
    """Lapsed borrowers (10% answer) and recent ones (50%), half the list each; one controller runs two days."""
    lapsed = dict(data["list"]["segments"][0], name="lapsed", share=0.5, live=0.10)
    recent = dict(lapsed, name="recent", live=0.50)
    data["list"]["segments"] = [lapsed, recent]
    data["list"]["size"] *= 2
    data["day"]["days"] = 2
    return data


CASES = {
    "5 agents, 10% live, 90 s": (day_of(5, live=0.10, talk_mean_s=90, talk_sd_s=45, talk_dist="gamma"), (0, 1)),
    "5 agents, 50% live, 240 s heavy tail": (day_of(5, live=0.50, talk_mean_s=240, talk_sd_s=480), (0,)),
    "20 agents, 25% live, AMD with 1% false positives": (_with_amd(day_of(20, live=0.25, hours=4.0)), (0,)),
    "10 agents, answer rate halves at noon, lunch": (non_stationary(day_of(10, live=0.25)), (0,)),
    "10 agents, two segments, two days": (_two_segments_two_days(day_of(10, hours=4.0)), (0,)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_predictive_never_ends_a_day_over_the_cap(case):
    data, days = case
    for day in days:
        progressive = simulate(parse_scenario(data), replication=day)
        data["pacing"] = {"policy": "predictive", "abandon_cap": CAP}
        predictive = simulate(parse_scenario(data), replication=day)
        data["pacing"] = {"policy": "progressive"}
        assert predictive.abandon_rate_uk <= CAP
        assert max(predictive.days_uk_rates) <= CAP
        assert predictive.occupancy > progressive.occupancy


def _regulators_uk_rate(scenario, result) -> float:
    """The day's UK rate as the regulator counts it: each call AMD hung up on is a person with its Bayes chance
    (``expected_false_positive`` of its segment and hour), added to the abandons and to the people passed on."""
    segments = {seg.name: seg for seg in scenario.segments}
    expected = 0.0
    for attempt in result.attempts:
        call = attempt.call
        if call.amd_machine:
            seg, hour = segments[call.segment], int(call.dialled_s % 86400 // 3600)
            expected += expected_false_positive(seg.live[hour], seg.machine[hour], scenario.amd.false_positive,
                                                scenario.amd.false_negative)
    seen = result.live - result.amd_false_positives
    return (result.abandoned + expected) / (seen + expected)


UK_AMD_CASES = {
    "2 agents, UK, AMD with 2% false positives": (uk_amd(day_of(2, live=0.25, hours=4.0)), 0),
    "10 agents, UK, AMD 2%, live 5% to 50% at 12:00": (sudden_rise(uk_amd(day_of(10, live=0.05, hours=4.0)), 12,
                                                                   0.05, 0.5), 0),
    "10 agents, UK, AMD 2%, shared break, live 5% to 50% at 12:00": (sudden_rise(
        uk_amd(day_of(10, live=0.05, hours=4.0)), 12, 0.05, 0.5, shared_break=True), 2),
}


@pytest.mark.parametrize("case", UK_AMD_CASES.values(), ids=UK_AMD_CASES.keys())
def test_predictive_keeps_the_uk_cap_on_the_regulators_measure_with_amd_on(case):
    """Measured 2026-12-03 (replications 0-2): 2 agents: regulator's 1.90/1.70/2.08%, truth 1.23/1.88/0.64%;
    the sudden rise: regulator's 2.66/2.40/2.56%, truth 3.18/2.55/1.58% (the truth's excess is the random count
    of false positives: see ``fp_margin_sd``), occupancy 0.63 against progressive's 0.34. The shared break
    (every agent off 11:30-12:00, back as the rate rises), replications 0-3: before ``RiseWatch`` and the rise
    reserve 2.25/2.56/3.20/3.19% (replication 2, run here, was over), after 2.39/2.41/2.36/2.29%, occupancy
    0.630-0.636 before, 0.621-0.635 after."""
    data, replication = case
    progressive = simulate(parse_scenario(data), replication=replication)
    data = dict(data, pacing={"policy": "predictive", "abandon_cap": CAP})
    scenario = parse_scenario(data)
    predictive = simulate(scenario, replication=replication, record=True)
    assert predictive.amd_false_positives > 0
    assert _regulators_uk_rate(scenario, predictive) <= CAP
    assert predictive.occupancy >= progressive.occupancy

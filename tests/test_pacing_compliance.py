"""The cap is a guarantee: on a reduced set of the benchmark's scenarios, no simulated day of the predictive
controller ends over 3% (UK daily definition, AMD false positives included), and it still beats progressive."""

import pytest

from benchmarks.scenarios import day_of, non_stationary
from simulation.model import simulate
from simulation.scenario import parse_scenario

CAP = 0.03


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

"""Calls under answering-machine detection are in flight: progressive dialing abandons no true live answer
with AMD on, and the predictive controller counts each as a chance of a person for an agent (issue 14, item 1)."""

import pytest

from benchmarks.scenarios import day_of
from dialer.drivers.sim.scenario import parse_scenario
from pacing.controllers import Power, Progressive, Snapshot
from pacing.predictive import Predictive
from simulation.model import Model

TEN_AM = 10 * 3600.0


def _amd_day(agents: int) -> dict:
    """Two hours, 50% live so answers bunch, AMD on with a 3 s delay, patience well beyond the connect limit."""
    data = day_of(agents, live=0.5, hours=2.0, policy="progressive", talk_mean_s=40.0, talk_sd_s=20.0)
    data["list"]["size"] = 3000
    data["amd"] = {"enabled": True, "delay_s": 3.0, "false_positive": 0.1, "false_negative": 0.1}
    data["customers"] = {"patience": {"dist": "fixed", "value": 30.0}}
    return data


@pytest.mark.parametrize("agents", [1, 2, 5])
def test_progressive_with_amd_on_abandons_no_true_live_answer(agents):
    scenario = parse_scenario(_amd_day(agents))
    result = Model(scenario, Progressive()).run()
    assert result.live > 50 and result.amd_false_positives > 0  # AMD was exercised
    assert result.abandoned == 0  # before the fix: about 20% of live answers with 1 agent


def test_in_flight_counts_calls_under_analysis_and_static_policies_dial_around_them():
    snapshot = Snapshot(TEN_AM, agents_logged_in=3, agents_idle=3, ringing_elapsed_s=(1.0,),
                        analysing_elapsed_s=(0.5, 2.0), analysing_segments=("a", "b"))
    assert snapshot.in_flight == 3
    assert Progressive().decide(snapshot).launch == 0
    assert Power(2.0).decide(snapshot).launch == 3  # 6 lines less 3 in flight


def test_analysing_segments_must_match_their_calls():
    with pytest.raises(ValueError, match="analysing_segments"):
        Snapshot(TEN_AM, 1, 1, analysing_elapsed_s=(1.0,), analysing_segments=("a", "b"))


def test_predictive_counts_each_call_under_analysis_as_a_chance_of_a_person():
    """Five idle agents, five answered calls under analysis: before any evidence the prior says 20% live and 15%
    machine among fresh calls, so each analysed call is a person with probability 0.2 / 0.35 = 0.57 and about
    2.9 of the 5 agents are spoken for; the controller must launch fewer than for an empty floor."""
    idle = Snapshot(TEN_AM, agents_logged_in=5, agents_idle=5, seconds_left=6 * 3600)
    busy = Snapshot(TEN_AM, agents_logged_in=5, agents_idle=5, seconds_left=6 * 3600,
                    analysing_elapsed_s=(0.5,) * 5)
    assert Predictive().rings.person_share("all") == pytest.approx(0.2 / 0.35)
    assert Predictive().decide(busy).launch < Predictive().decide(idle).launch

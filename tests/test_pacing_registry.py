"""One registry of policies and their typed parameters (``pacing.controllers.POLICIES``): the scenario parser reads
it, a scenario holds several policies' parameters and ``policy`` picks one (issue 14, items 7 and 8)."""

from pathlib import Path

import pytest

from benchmarks.scenarios import day_of
from dialer.drivers.sim.scenario import ScenarioError, apply_overrides, load_scenario, parse_scenario
from pacing.errors import InvalidInput
from pacing.registry import POLICIES, make_controller
from pacing.vicidial import Vicidial
from simulation.model import controller_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted([*(ROOT / "examples" / "scenarios").glob("*.toml"),
                   *(ROOT / "simulation" / "data").glob("*.toml")])  # the demo's scenarios are package data


def _with_pacing(pacing: dict, **changes) -> dict:
    data = day_of(5, hours=1.0, **changes)
    data["pacing"] = pacing
    return data


def test_every_policy_is_registered_with_typed_parameters():
    assert set(POLICIES) == {"preview", "progressive", "power", "predictive", "vicidial-hard", "vicidial-tapered",
                             "vicidial-average"}
    trunk = {p.name: p.kind for p in POLICIES["vicidial-hard"].params}["trunk_limit"]
    assert trunk is int
    assert {p.name for p in POLICIES["predictive"].params} == {"safety", "max_lines_per_agent", "trunk_limit",
                                                              "fp_margin_sd", "stress"}


def test_vicidial_trunk_limit_from_a_scenario_is_a_whole_number_and_runs():
    scenario = parse_scenario(_with_pacing({"policy": "vicidial-hard", "vicidial-hard": {"trunk_limit": 40}}))
    controller = controller_for(scenario)
    assert isinstance(controller, Vicidial) and controller.trunk_limit == 40 and type(controller.trunk_limit) is int
    with pytest.raises(InvalidInput, match="trunk_limit: must be a whole number"):
        make_controller("vicidial-hard", trunk_limit=40.5)


def test_window_s_is_refused_at_parse_time_naming_what_predictive_takes():
    with pytest.raises(ScenarioError, match="window_s: is not a parameter of predictive, which takes safety"):
        parse_scenario(_with_pacing({"policy": "predictive", "predictive": {"window_s": 30}}))


def test_a_scenario_holds_several_policies_parameters_and_the_policy_picks_one():
    data = _with_pacing({"policy": "power", "power": {"ratio": 1.6}, "predictive": {"safety": 0.9}})
    assert parse_scenario(data).pacing.params == {"ratio": 1.6}
    picked = parse_scenario(apply_overrides(data, {"policy": "predictive"}))
    assert picked.pacing.params == {"safety": 0.9}
    assert controller_for(picked).ledger.safety == 0.9


def test_old_flat_files_keep_working_and_mixing_the_forms_says_how_to_fix_it():
    flat = _with_pacing({"policy": "power", "ratio": 1.7})
    assert parse_scenario(flat).pacing.params == {"ratio": 1.7}
    assert parse_scenario(apply_overrides(flat, {"policy": "predictive"})).pacing.params == {}
    assert parse_scenario(apply_overrides(flat, {"ratio": 2.0})).pacing.params == {"ratio": 2.0}
    with pytest.raises(ScenarioError, match=r"ratio: is given twice: keep it in \[pacing.power\]"):
        parse_scenario(_with_pacing({"policy": "power", "ratio": 1.7, "power": {"ratio": 1.8}}))
    with pytest.raises(ScenarioError, match=r"pacing.speed: unknown key \(a policy's parameter goes in its table"):
        parse_scenario(_with_pacing({"policy": "power", "speed": 3}))


def test_the_scenario_cap_is_held_to_the_campaign_rule():
    with pytest.raises(ScenarioError, match="abandon_cap: must be a fraction between 0 and 0.03"):
        parse_scenario(_with_pacing({"policy": "progressive", "abandon_cap": 0.05}))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("policy", ["predictive", "power", "progressive"])
def test_every_shipped_example_takes_each_compared_policy(path, policy):
    scenario = load_scenario(path, {"policy": policy})
    assert scenario.pacing.policy == policy
    assert controller_for(scenario).name == policy


def test_a_uk_day_whose_false_positives_use_the_cap_is_refused_or_run_without_amd_in_words():
    data = _with_pacing({"policy": "predictive"})
    data["rules"]["profile"] = "uk"
    data["amd"] = {"enabled": True, "false_positive": 0.03}
    with pytest.raises(ScenarioError, match=r"amd.false_positive: AMD false positives alone \(3.0%.*refused"):
        parse_scenario(data)
    data["amd"]["if_no_budget"] = "amd-off"
    scenario = parse_scenario(data)
    assert not scenario.amd.enabled and "running with AMD off" in scenario.notes[0]
    data["rules"]["profile"] = "us"  # the US rule does not count false positives
    assert parse_scenario(data).amd.enabled

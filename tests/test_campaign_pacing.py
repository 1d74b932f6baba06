"""A campaign's pacing parameters: stored, checked by the policy registry, and the ones the daemon dials with.

What an analyst tunes in a scenario (``[pacing.predictive] safety = 0.6``)
must be what runs: the simulator's controller (``simulation.model.controller_for``)
and the daemon's (``lists.campaigns.controller_for_campaign``) are made alike
from the same settings, and ``simulate calibrate`` writes the campaign's own
back into the fitted scenario.
"""

from dataclasses import is_dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from benchmarks.scenarios import day_of
from cli import main
from dialer.drivers.sim.scenario import parse_scenario
from lists.campaigns import controller_for_campaign, create_campaign, edit_campaign, get_campaign, retarget
from lists.lifecycle import LeadStatus
from lists.models import Lead
from lists.store import open_engine, upgrade
from pacing.errors import InvalidInput
from simulation.calibrate import calibrate, store_run
from simulation.model import controller_for, simulate

NOON_NY = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def _settings(obj: Any) -> dict[str, Any]:
    """A controller's configuration: its class and public scalar attributes, and those of its parts (the
    abandonment ledger's cap, fp_rate, safety ...); what it has learned is private and a fresh one has none."""
    out: dict[str, Any] = {"class": type(obj).__name__}
    for name, value in vars(obj).items():
        if name.startswith("_") or isinstance(value, type):
            continue
        if isinstance(value, int | float | str | None):
            out[name] = value
        elif is_dataclass(value):
            out[name] = _settings(value)
    return out


def _scenario(pacing: dict[str, Any], fp_rate: float = 0.0):
    data = day_of(4, hours=1.0)
    data["pacing"] = pacing
    if fp_rate:
        data["amd"] = {"enabled": True, "false_positive": fp_rate}
    return parse_scenario(data)


@pytest.mark.parametrize(("pacing", "fp_rate", "tuned"), [
    ({"policy": "predictive", "abandon_cap": 0.02, "predictive": {"safety": 0.6, "trunk_limit": 40}}, 0.01,
     lambda c: (c.ledger.safety, c.ledger.cap, c.ledger.fp_rate, c.trunk_limit) == (0.6, 0.02, 0.01, 40)),
    ({"policy": "power", "power": {"ratio": 1.8}}, 0.0, lambda c: c.ratio == 1.8),
], ids=["predictive", "power"])
def test_the_simulator_and_the_daemon_make_the_same_controller_from_the_same_settings(store, pacing, fp_rate,
                                                                                      tuned):
    scenario = _scenario(pacing, fp_rate)
    with store() as s:
        create_campaign(s, "Tuned", "loan-offer", countries=["US"], dial_mode=scenario.pacing.policy,
                        abandon_cap=scenario.pacing.abandon_cap, pacing_params=scenario.pacing.params)
        s.commit()  # read back from the store, as the daemon reads it
        daemons = controller_for_campaign(get_campaign(s, "Tuned"), fp_rate)
    simulators = controller_for(scenario)
    assert tuned(daemons) and tuned(simulators)
    assert _settings(daemons) == _settings(simulators)
    default = controller_for(_scenario({"policy": pacing["policy"]}, fp_rate))
    assert _settings(default) != _settings(daemons), "the tuning shows in the compared settings"


def run(url: str, *args: str):
    return CliRunner().invoke(main, [*args[:2], "--database-url", url, *args[2:]])


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_tuned_safety_given_to_the_cli_reaches_the_daemons_controller(store_url, store):
    created = run(store_url, "campaign", "create", "Loans", "--kind", "loan-offer", "--dial-mode", "predictive",
                  "--pacing", "safety=0.6", "--pacing", "trunk_limit=40")
    assert created.exit_code == 0, created.output
    shown = run(store_url, "campaign", "show", "Loans")
    assert "pacing_params  safety=0.6, trunk_limit=40" in shown.output
    with store() as s:
        controller = controller_for_campaign(get_campaign(s, "Loans"), 0.0)
    assert controller.ledger.safety == 0.6 and controller.trunk_limit == 40 and type(controller.trunk_limit) is int
    edited = run(store_url, "campaign", "edit", "Loans", "--pacing", "safety=0.7", "--pacing", "trunk_limit=default")
    assert edited.exit_code == 0, edited.output
    with store() as s:
        campaign = get_campaign(s, "Loans")
        assert campaign.pacing_params == {"safety": 0.7}, "an edit sets one parameter and keeps the others"
        assert controller_for_campaign(campaign, 0.0).ledger.safety == 0.7


def test_an_existing_campaign_without_parameters_dials_on_the_policys_defaults(store):
    with store() as s:
        campaign = create_campaign(s, "Plain", "survey", countries=["US"], dial_mode="predictive")
        assert campaign.pacing_params == {}
        assert _settings(controller_for_campaign(campaign, 0.02)) == _settings(
            controller_for(_scenario({"policy": "predictive"}, 0.02)))


@pytest.mark.parametrize(("args", "named"), [
    (["--dial-mode", "predictive", "--pacing", "safety=2"], "--pacing safety: must be from 0.1 to 1"),
    (["--dial-mode", "predictive", "--pacing", "safety=high"], "--pacing safety: must be a number"),
    (["--dial-mode", "predictive", "--pacing", "trunk_limit=40.5"], "--pacing trunk_limit: must be a whole number"),
    (["--dial-mode", "power", "--pacing", "safety=0.6"],
     "--pacing safety: is not a parameter of power, which takes ratio"),
    (["--pacing", "ratio=2"], "--pacing ratio: is not a parameter of progressive, which takes no parameters"),
    (["--dial-mode", "power", "--pacing", "ratio"], "--pacing: expects KEY=VALUE"),
])
def test_the_cli_refuses_a_bad_parameter_in_one_line_naming_it(store_url, args, named):
    line = _one_line(run(store_url, "campaign", "create", "Bad", "--kind", "survey", *args))
    assert line.startswith(f"error: {named}"), line


def test_an_edit_checks_the_parameters_against_the_new_dial_mode_and_changes_nothing_when_refused(store_url, store):
    assert run(store_url, "campaign", "create", "Loans", "--kind", "loan-offer", "--dial-mode", "predictive",
               "--pacing", "safety=0.6").exit_code == 0
    line = _one_line(run(store_url, "campaign", "edit", "Loans", "--dial-mode", "power"))
    assert line == ("error: --pacing safety: is not a parameter of power, which takes ratio; it was set for "
                    "predictive: drop it in the same change of dial mode")
    assert "must be from 1 to 20" in _one_line(run(store_url, "campaign", "edit", "Loans", "--pacing", "ratio=0.5",
                                                   "--dial-mode", "power", "--pacing", "safety=default"))
    with store() as s:
        campaign = get_campaign(s, "Loans")
        assert (campaign.dial_mode, campaign.pacing_params) == ("predictive", {"safety": 0.6})
    switched = run(store_url, "campaign", "edit", "Loans", "--dial-mode", "power", "--pacing", "safety=default",
                   "--pacing", "ratio=1.8")
    assert switched.exit_code == 0, switched.output
    with store() as s:
        campaign = get_campaign(s, "Loans")
        assert (campaign.dial_mode, campaign.pacing_params) == ("power", {"ratio": 1.8})
        assert controller_for_campaign(campaign, 0.0).ratio == 1.8
        edit_campaign(s, "Loans", dial_mode="vicidial-hard", pacing_params={"trunk_limit": 30})
        edit_campaign(s, "Loans", dial_mode="predictive")  # trunk_limit is predictive's too: kept
        assert campaign.pacing_params == {"trunk_limit": 30}


def test_the_library_names_the_field_and_a_retargeted_campaign_keeps_the_tuning(store):
    with store() as s:
        with pytest.raises(InvalidInput, match=r"^pacing_params\.stress: must be from 1 to 20"):
            create_campaign(s, "X", "survey", countries=["US"], dial_mode="predictive", pacing_params={"stress": 0.5})
        with pytest.raises(InvalidInput, match=r"^pacing_params\.safety: must be a number"):
            create_campaign(s, "X", "survey", countries=["US"], dial_mode="predictive", pacing_params={"safety": True})
        with pytest.raises(InvalidInput, match=r"^pacing_params: must be a table"):
            create_campaign(s, "X", "survey", countries=["US"], dial_mode="predictive", pacing_params=[0.6])
        loans = create_campaign(s, "Loans", "loan-offer", countries=["US"], dial_mode="predictive",
                                pacing_params={"safety": 0.6})
        s.add(Lead(campaign_id=loans.id, phone_e164="+12125550100", zones="America/New_York", fields={},
                   status=LeadStatus.DONE, attempts=1, refusal_reason="too_expensive"))
        new, _ = retarget(s, "Loans", ["too_expensive"], "Cheaper", NOON_NY)
        assert new.pacing_params == {"safety": 0.6}


def test_a_uk_campaign_is_checked_against_its_own_safety(store):
    """The AMD budget's floor is safety x cap: at 0.6 a 2% false-positive share leaves nothing under 3%."""
    with store() as s:
        create_campaign(s, "Default", "survey", dial_mode="predictive", rules_profile="uk", amd_false_positive=0.02)
        with pytest.raises(InvalidInput, match="amd_false_positive: AMD false positives alone"):
            create_campaign(s, "Low", "survey", dial_mode="predictive", rules_profile="uk", amd_false_positive=0.02,
                            pacing_params={"safety": 0.6})


def test_calibrate_writes_the_campaigns_dial_mode_and_parameters_so_the_fit_paces_as_the_daemon(store):
    scenario = _scenario({"policy": "progressive"})
    with store() as s:
        campaign = store_run(s, scenario, simulate(scenario, record=True), "Ledger")
        edit_campaign(s, "Ledger", dial_mode="predictive", abandon_cap=0.025, pacing_params={"safety": 0.6})
        fitted = calibrate(s, campaign)
        daemons = controller_for_campaign(campaign, 0.0)
    assert fitted["pacing"] == {"policy": "predictive", "abandon_cap": 0.025, "predictive": {"safety": 0.6}}
    assert _settings(controller_for(parse_scenario(fitted))) == _settings(daemons)


def test_the_migration_gives_existing_campaigns_empty_parameters(store_url):
    engine = open_engine(store_url)
    upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaign (name, company, kind, dial_mode, abandon_cap, rules_profile, "
                          "max_attempts, retry_rules, catalogue, fresh_share) VALUES ('Old', 'default', 'survey', "
                          "'predictive', 0.03, 'us', 6, '{}', '{}', 0.0)"))
    upgrade(engine)
    with Session(engine) as s:
        campaign = get_campaign(s, "Old")
        assert campaign.pacing_params == {}
        assert controller_for_campaign(campaign, 0.0).ledger.safety == 0.8
        edit_campaign(s, "Old", pacing_params={"safety": 0.7})
        s.commit()
    with Session(engine) as s:
        assert get_campaign(s, "Old").pacing_params == {"safety": 0.7}
    engine.dispose()


def test_a_survey_with_questions_can_still_be_edited(store):
    """The questionnaire is a list in the catalogue: an edit once tried to copy it as a mapping, and every
    later edit of a survey with questions failed (a 500 from PUT /campaigns/{id})."""
    questions = [{"code": "q1", "text": "How satisfied are you?", "kind": "text", "choices": []}]
    with store() as s:
        campaign = create_campaign(s, "Poll", "survey", countries=["US"])
        campaign.catalogue = {**campaign.catalogue, "questions": questions}
        s.flush()
        edit_campaign(s, "Poll", add_refusal_reasons={"moved": "Has moved"}, caller_id="+33142685300")
        assert campaign.catalogue["questions"] == questions
        assert campaign.catalogue["refusal_reasons"]["moved"] == "Has moved"

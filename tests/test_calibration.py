"""Round trip: simulate → write the attempts to a store → calibrate; the fit recovers what went in."""

import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.scenarios import day_of
from cli import main
from dialer.drivers.sim.scenario import parse_scenario
from simulation.calibrate import calibrate, store_run
from simulation.model import simulate

BANDS = {(9, 10, 11): 0.2, (12, 13, 14): 0.3, (15, 16): 0.4}
pytestmark = pytest.mark.slow  # an 8-hour day of 40 agents simulated, stored and fitted


@pytest.fixture(scope="module")
def recorded():
    data = day_of(40, hours=8.0)
    data["list"]["segments"][0]["live"] = {"9": 0.2, "12": 0.3, "15": 0.4}
    data["amd"] = {"enabled": True, "delay_s": 2.0, "false_positive": 0.0, "false_negative": 0.2}
    scenario = parse_scenario(data)
    return scenario, simulate(scenario, record=True)


def _band_rate(segment: dict, key: str, hours: tuple[int, ...], attempts: dict[int, int]) -> float:
    weights = np.array([attempts[h] for h in hours], dtype=float)
    return float(np.average([segment[key][str(h)] for h in hours], weights=weights))


def test_fitted_answer_rates_ring_and_talk_times_come_back_within_5_percent(store, recorded):
    scenario, result = recorded
    attempts = {h: sum(1 for r in result.attempts if int(r.call.dialled_s // 3600) == h) for h in range(24)}
    with store() as s:
        fitted = calibrate(s, store_run(s, scenario, result, "Round trip"))
    segment = fitted["list"]["segments"][0]
    for hours, live in BANDS.items():
        assert _band_rate(segment, "live", hours, attempts) == pytest.approx(live, rel=0.05)
    every_hour = tuple(h for h in range(24) if attempts[h])
    assert _band_rate(segment, "machine", every_hour, attempts) == pytest.approx(0.15, rel=0.05)  # flat all day
    assert segment["ring_live"]["mean"] == pytest.approx(10.0, rel=0.05)  # censored at 25 s, so not a plain mean
    assert segment["ring_machine"]["mean"] == pytest.approx(14.0, rel=0.05)
    assert fitted["talk"]["refusal"]["mean"] == pytest.approx(90.0, rel=0.05)
    assert fitted["talk"]["success"]["mean"] == pytest.approx(135.0, rel=0.05)
    assert fitted["outcomes"]["conversion"] == pytest.approx(0.1, rel=0.1)
    assert fitted["amd"]["enabled"] and fitted["amd"]["delay_s"] == pytest.approx(2.0)
    assert fitted["amd"]["false_negative"] == pytest.approx(0.2, abs=0.02)
    parse_scenario(fitted)  # the fit is itself a valid scenario


def test_ignoring_censoring_would_be_biased(recorded):
    """The check above can fail: the plain mean of the observed live ring times is visibly off."""
    _, result = recorded
    observed = [r.call.answered_s - r.call.dialled_s for r in result.attempts if r.person]
    assert abs(np.mean(observed) - 10.0) / 10.0 > 0.02


def test_calibrate_command_writes_a_runnable_scenario(store_url, recorded, tmp_path):
    from lists.store import open_store

    scenario, result = recorded
    factory = open_store(store_url)
    with factory() as s:
        store_run(s, scenario, result, "Ledger")
    factory.kw["bind"].dispose()
    out = tmp_path / "fitted.toml"
    run = CliRunner().invoke(main, ["simulate", "calibrate", "--campaign", "Ledger", "--out", str(out),
                                    "--database-url", store_url])
    assert run.exit_code == 0, run.output
    assert tomllib.loads(out.read_text())["list"]["size"] == scenario.list_size  # dialled or not, every lead
    again = CliRunner().invoke(main, ["simulate", str(out), "--replications", "1", "--set", "list.size=500",
                                      "--workers", "1"])
    assert again.exit_code == 0, again.output


def test_the_fitted_day_is_the_day_in_the_ledger(store):
    """An evening campaign must not come back as a default 09:00-17:00 day with no date."""
    data = day_of(4, hours=2.0)
    data["day"].update({"date": "2026-05-05", "start": "18:00", "end": "20:00"})
    data["list"]["size"] = 2000
    scenario = parse_scenario(data)
    with store() as s:
        fitted = calibrate(s, store_run(s, scenario, simulate(scenario, record=True), "Evening"))
    assert fitted["day"] == {"date": "2026-05-05", "timezone": "America/New_York", "start": "18:00",
                             "end": "20:00", "days": 1}


def test_the_amd_false_positive_rate_is_flagged_for_the_analyst(store, recorded, caplog):
    from simulation.calibrate import calibration_notes, scenario_toml

    scenario, result = recorded
    with store() as s, caplog.at_level("WARNING"):
        fitted = calibrate(s, store_run(s, scenario, result, "AMD"))
    assert fitted["amd"]["false_positive"] == 0.0
    assert any("false_positive" in r.getMessage() and "cannot know" in r.getMessage() for r in caplog.records)
    text = scenario_toml(fitted, "AMD")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("false_positive"))
    assert "NOT FITTED" in lines[at - 1]
    assert any(line.startswith("# NOTE: amd.false_positive") for line in lines)
    assert tomllib.loads(text) == fitted
    assert not calibration_notes({**fitted, "amd": {"enabled": False}})

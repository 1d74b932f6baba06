"""dialer simulate: tables, JSON, sweeps, the HTML report, planning, and errors, through the real command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from simulation.experiments import estimate, plan_agents

SURVEY = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "survey.toml"
QUICK = ["--set", "list.size=800", "--set", "day.end=12:00", "--workers", "1"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_json_has_means_and_intervals_per_sweep_point():
    result = run("simulate", str(SURVEY), "--replications", "3", "--json", "--set", "agents=2,4", *QUICK)
    assert result.exit_code == 0, result.output
    points = json.loads(result.output)
    assert [p["settings"]["agents"] for p in points] == [2, 4]
    occupancy = points[0]["figures"]["occupancy"]
    assert occupancy["ci95_low"] <= occupancy["mean"] <= occupancy["ci95_high"] and occupancy["n"] == 3
    assert points[1]["figures"]["dials"]["mean"] > points[0]["figures"]["dials"]["mean"]


def test_report_writes_html_plots_and_data(tmp_path):
    result = run("simulate", str(SURVEY), "--replications", "2", "--report", str(tmp_path / "rep"),
                 "--set", "policy=progressive,power", *QUICK)
    assert result.exit_code == 0, result.output
    assert "policy=power" in result.output and "abandoned UK" in result.output
    for name in ("frontier.png", "series.png", "refusals.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "frontier.png" in page and "policy=power" in page
    assert (tmp_path / "rep" / "results.csv").read_text().startswith("policy,")
    series = (tmp_path / "rep" / "series.csv").read_text().splitlines()
    assert series[0].startswith("setting,start_s,dials") and any("policy=power" in r for r in series[1:])


def test_bad_override_and_bad_file_are_one_line_errors(tmp_path):
    unknown = run("simulate", str(SURVEY), "--set", "pacing.speed=3", *QUICK)
    assert unknown.exit_code == 2 and "pacing.speed: unknown key" in unknown.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[day\n", encoding="utf-8")
    assert run("simulate", str(broken)).exit_code == 2


def test_estimate_interval_is_student_t():
    est = estimate([1.0, 2.0, 3.0])
    assert est.mean == 2.0 and est.high - est.mean == est.mean - est.low
    assert round(est.high - est.mean, 4) == round(4.302653 * 1.0 / 3 ** 0.5, 4)


def test_plan_finds_the_smallest_team_that_meets_the_goal():
    overrides = {"list.size": 600, "day.end": "12:00"}
    plan = plan_agents(SURVEY, cap=0.03, goal=0.3, replications=2, overrides=overrides)
    assert plan.agents is not None
    assert plan.tried[plan.agents]["penetration"].mean >= 0.3
    assert plan.tried[plan.agents - 1]["penetration"].mean < 0.3


@pytest.mark.slow
def test_trace_explains_every_predictive_decision(tmp_path):
    trace = tmp_path / "trace.jsonl"
    result = run("simulate", str(SURVEY), "--replications", "1", "--set", "policy=predictive", "--trace", str(trace),
                 *QUICK)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(lines) > 100 and {"t_s", "launch", "reason", "inputs"} <= set(lines[0])
    assert any("expected_abandons" in line["inputs"] for line in lines)
    assert all("allowed_rate" in line["inputs"] for line in lines)


@pytest.mark.daemon
def test_debug_logs_every_decision_with_its_inputs_and_the_budget_left():
    """In a real process: the log's set-up is the command's own, not pytest's."""
    command = [sys.executable, "-c", "from cli import main; main()", "simulate", str(SURVEY), "--replications", "1",
               "--set", "policy=predictive", "--debug", *QUICK]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=SURVEY.parents[2])
    assert done.returncode == 0, done.stderr
    decisions = [line for line in done.stderr.splitlines() if "simulation.model: predictive at" in line]
    assert len(decisions) > 100
    assert all("allowed_rate=" in line for line in decisions)
    assert any("expected_abandons=" in line and "slack_abandons=" in line for line in decisions)


def test_simulate_store_calibrate_simulate_runs_without_python(tmp_path):
    """simulate → store → calibrate → simulate, from the command line alone; the store holds the run's truth."""
    from sqlalchemy import func, select

    from lists.models import Attempt, Campaign
    from lists.store import open_store

    url = f"sqlite:///{tmp_path / 'round.db'}"
    stored = run("simulate", str(SURVEY), "--replications", "1", "--store", url, "--store-name", "Survey day",
                 "--kind", "survey", *QUICK)
    assert stored.exit_code == 0, stored.output
    written = int(stored.output.split("store: ")[1].split()[0])
    factory = open_store(url)
    with factory() as s:
        campaign = s.scalars(select(Campaign).where(Campaign.name == "Survey day")).one()
        assert campaign.kind == "survey"
        assert s.scalar(select(func.count()).select_from(Attempt)) == written > 100
    factory.kw["bind"].dispose()
    fitted = tmp_path / "fitted.toml"
    calibrated = run("simulate", "calibrate", "--campaign", "Survey day", "--out", str(fitted), "--database-url", url,
                     "--success-code", "completed")
    assert calibrated.exit_code == 0, calibrated.output
    again = run("simulate", str(fitted), "--replications", "1", "--set", "agents=3", "--workers", "1")
    assert again.exit_code == 0, again.output
    assert "dials" in again.output


def test_store_refuses_a_sweep_before_any_work(tmp_path):
    result = run("simulate", str(SURVEY), "--store", f"sqlite:///{tmp_path / 'x.db'}", "--set", "agents=2,4", *QUICK)
    assert result.exit_code == 2 and "--store" in result.output
    assert not (tmp_path / "x.db").exists()

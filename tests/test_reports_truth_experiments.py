"""Experiments say when they cannot help: plans out of reach, runs too large to start, and Ctrl-C that stops."""

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import tomli_w

from benchmarks.scenarios import day_of
from dialer.drivers.sim.scenario import parse_scenario
from simulation.experiments import (
    Estimate,
    TooLarge,
    _planned,
    check_cost,
    estimate_cost,
    sweep,
)
from simulation.model import simulate

ROOT = Path(__file__).resolve().parents[1]


def _scenario(size: int, agents: int = 5, hours: float = 1.0, days: int = 1):
    data = day_of(agents, hours=hours)
    data["list"]["size"] = size
    data["day"]["days"] = days
    return data


def test_fifty_million_leads_are_refused_before_anything_is_allocated():
    scenario = parse_scenario(_scenario(50_000_000))
    cost = estimate_cost(scenario)
    assert cost.memory_bytes > 40e9  # 50 M leads × 6 attempts × 11 float64, and the leads themselves
    with pytest.raises(TooLarge, match="GB"):
        check_cost([scenario], 1, 1, memory_bytes=24e9)


def test_a_sweep_is_refused_at_once(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text(tomli_w.dumps(_scenario(50_000_000)), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(TooLarge):
        sweep(path, {"agents": [5, 10]}, 2, workers=2)
    assert time.monotonic() - started < 5  # refused from the estimate, not after allocating


def test_the_memory_estimate_is_within_a_factor_of_two_of_a_real_run():
    scenario = parse_scenario(_scenario(100_000, agents=2, hours=0.25))
    tracemalloc.start()
    simulate(scenario)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert 0.5 < estimate_cost(scenario).memory_bytes / peak < 2.0


def test_the_dial_estimate_is_within_a_factor_of_two_of_a_real_run():
    scenario = parse_scenario(_scenario(20_000, agents=10, hours=2.0))
    assert 0.5 < estimate_cost(scenario).dials / simulate(scenario).dials < 2.0


def test_a_run_of_hours_is_warned_about_with_its_estimate(caplog):
    scenario = parse_scenario(_scenario(2_000_000, agents=400, hours=10.0, days=20))
    with caplog.at_level("WARNING"):
        check_cost([scenario], 5, 2, memory_bytes=1e12)
    assert any("should take about" in r.getMessage() and "dials" in r.getMessage() for r in caplog.records)


def _figures(occupancy: float, reached: float) -> dict[str, Estimate]:
    return {"occupancy": Estimate(occupancy, occupancy, occupancy, 3),
            "penetration": Estimate(reached, reached, reached, 3),
            "abandon_rate_uk": Estimate(0.01, 0.005, 0.015, 3)}


def test_a_plan_that_leaves_agents_idle_says_the_goal_is_out_of_reach(caplog):
    tried = {302: _figures(0.2, 0.97), 604: _figures(0.11, 1.0)}
    with caplog.at_level("WARNING"):
        plan = _planned(604, "penetration", 1.0, 0.03, tried, 0.3)
    assert not plan.reachable and "out of reach" in plan.warnings[0] and "11%" in plan.warnings[0]
    assert any("out of reach" in r.getMessage() for r in caplog.records)
    assert _planned(12, "penetration", 1.0, 0.03, {11: _figures(0.9, 0.9), 12: _figures(0.85, 1.0)}, 0.3).reachable
    assert _planned(1, "penetration", 1.0, 0.03, {1: _figures(0.05, 1.0)}, 0.3).reachable  # a tiny list, not a wall
    none = _planned(None, "penetration", 1.0, 0.03, {1024: _figures(0.5, 0.8)}, 0.3)
    assert not none.reachable and "1024 agents" in none.warnings[0]


SWEEP = """
import sys
from pathlib import Path
from simulation.experiments import sweep
sweep(Path(sys.argv[1]), {"agents": [60, 70]}, 4, workers=2,  # 8 runs of ~7 s: far longer than the test waits
      progress=lambda n: print("run done", flush=True))
print("finished", flush=True)
"""


def _session_processes(session: int) -> list[int]:
    """Live (not zombie) processes whose session id is ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process sessions from /proc")
@pytest.mark.parametrize("when", ["starting", "mid-run"])
def test_ctrl_c_stops_a_parallel_sweep_within_seconds_and_leaves_no_process(tmp_path, when):
    """Mid-run is where it hung: workers caught the interrupt as a job's error and went on to the next job."""
    path = tmp_path / "slow.toml"
    path.write_text(tomli_w.dumps(_scenario(200_000, agents=60, hours=10.0)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", SWEEP, str(path)], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if when == "mid-run":  # one run is done, so both workers are inside a run
            assert process.stdout.readline() == "run done\n", process.stderr.read()
            time.sleep(1.0)
        else:
            time.sleep(2.0)
        assert process.poll() is None, process.stderr.read()
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C: the whole foreground group
        started = time.monotonic()
        process.wait(timeout=30)
        assert time.monotonic() - started < 6, f"the sweep took {time.monotonic() - started:.0f} s to stop"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()
    deadline = time.monotonic() + 3
    while _session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _session_processes(process.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"orphan processes after Ctrl-C: {left}"
    assert process.returncode != 0

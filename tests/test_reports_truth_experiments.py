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
from simulation import experiments
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


def test_a_sweep_is_refused_at_once(tmp_path, monkeypatch):
    """Refused from the estimate: no run is handed to the workers (none would fit in memory)."""
    path = tmp_path / "huge.toml"
    path.write_text(tomli_w.dumps(_scenario(50_000_000)), encoding="utf-8")
    started: list[int] = []
    monkeypatch.setattr(experiments, "_map", lambda jobs, *_: started.append(len(jobs)) or [])
    with pytest.raises(TooLarge):
        sweep(path, {"agents": [5, 10]}, 2, workers=2)
    assert started == [], "the runs started before the sweep was refused"


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
sweep(Path(sys.argv[1]), {"day.days": [1, 12, 13]}, 1, workers=2,  # ~5 s, then two runs of about a minute
      progress=lambda n: print("run done", flush=True))
print("finished", flush=True)
"""
# Well under the minute a long run needs: a sweep that waits for its runs in progress, or goes on to the next
# run, misses it; one that stops its workers is gone in a few seconds.
STOP_DEADLINE_S = 30


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


def _poll(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _await_moment(process: subprocess.Popen, when: str) -> None:
    """Starting: the pool's first process (the fork server) is up. Mid-run: the short run is done, so both
    workers are inside long ones."""
    if when == "mid-run":
        assert process.stdout.readline() == "run done\n", process.stderr.read()
    else:
        assert _poll(lambda: len(_session_processes(process.pid)) > 1, 60), "the pool never started"


@pytest.mark.daemon
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process sessions from /proc")
@pytest.mark.parametrize("when", ["starting", "mid-run"])
def test_ctrl_c_stops_a_parallel_sweep_within_seconds_and_leaves_no_process(tmp_path, when):
    """Mid-run is where it hung: workers caught the interrupt as a job's error and went on to the next job."""
    path = tmp_path / "slow.toml"
    path.write_text(tomli_w.dumps(_scenario(300_000, agents=60, hours=10.0)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", SWEEP, str(path)], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _await_moment(process, when)
        assert process.poll() is None, process.stderr.read()
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C: the whole foreground group
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail("the sweep went on after Ctrl-C")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()
    _poll(lambda: not _session_processes(process.pid), 3)
    left = _session_processes(process.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"orphan processes after Ctrl-C: {left}"
    assert process.returncode != 0

"""``dialer demo`` on a busy machine keeps its calls or says the speed it ran at, and never shows a silent empty shift.

The load test starts one busy process per core for the second of two
same-seed runs (the first is the calm one to compare with); on a machine the
daemon cannot keep up with, its simulated world slows down
(``dialer.service.clock.SpeedGovernor``) and the summary says so. The
wording of the speed and of a campaign that made no attempt is checked on
its own, without a run.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dialer.service.schedule import Speeds
from simulation.demo import CampaignTotals, DemoOptions, DemoResult, idle_lines, run_demo, speed_text

MINUTES = 10  # simulated minutes per run: 2.5 s of daemon at 240x when the machine keeps up


def _demo(folder: Path) -> tuple[DemoResult, str]:
    out = io.StringIO()
    result = run_demo(DemoOptions(folder, speed=240.0, shift_s=MINUTES * 60, live=False), out)
    return result, out.getvalue()


@contextmanager
def _busy(processes: int) -> Iterator[None]:
    """``processes`` Python loops that never sleep, killed after."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


def _attempts(result: DemoResult) -> int:
    return sum(t.attempts for t in result.totals)


@pytest.mark.slow  # two short demos, the second with every core busy
@pytest.mark.daemon  # starts busy processes of its own
def test_on_a_busy_machine_the_demo_keeps_its_calls_or_says_the_speed_it_ran_at(tmp_path):
    calm, _ = _demo(tmp_path / "calm")
    with _busy(len(os.sched_getaffinity(0))):
        busy, said = _demo(tmp_path / "busy")
    assert busy.exit_code == 0
    slowed = f"{speed_text(busy.speeds, live=False)}" in said and busy.speeds.slowed_on_average
    kept = "the simulated clock kept the 240x asked" in said and not busy.speeds.slowed_on_average
    assert slowed or kept  # the summary always says the speed it ran at
    assert _attempts(busy) >= 0.8 * _attempts(calm) or slowed, (_attempts(busy), _attempts(calm), said)
    for totals in busy.totals:  # an empty shift comes with its reason
        assert totals.attempts or f"{totals.name} made no attempt: " in said


def _totals(name: str, attempts: int) -> CampaignTotals:
    return CampaignTotals(name, "survey", 100, 0, attempts, 0, 0, 0, 0.0, 0.0, 0.03, 0.0, [])


def test_the_speed_is_said_as_it_was():
    kept, slowed = Speeds(240.0, 240.0, 238.0), Speeds(240.0, 60.0, 95.4)
    assert speed_text(kept) == "240x speed"
    assert speed_text(kept, live=False) == "the simulated clock kept the 240x asked"
    assert speed_text(slowed) == "running at 60x of 240x asked: machine busy"
    assert speed_text(slowed, live=False) == "the simulated clock ran at 95x of 240x asked: machine busy"
    assert speed_text(Speeds(20.0, 2.5, 2.5)) == "running at 2.5x of 20x asked: machine busy"


def test_a_campaign_that_made_no_attempt_is_named_with_its_reason(tmp_path):
    log = tmp_path / "daemon.log"
    totals = [_totals("Loans", 0), _totals("Survey", 12)]
    slowed = Speeds(240.0, 30.0, 30.0)
    assert idle_lines(totals, slowed, {"Loans": ["outside its calling hours"]}, log) == [
        "Loans made no attempt: outside its calling hours"]
    assert idle_lines(totals, slowed, {}, log) == [
        "Loans made no attempt: the machine was too busy (the simulated clock ran at 30x of 240x asked: machine busy)"]
    assert idle_lines(totals, Speeds(240.0, 240.0, 240.0), {}, log) == [
        f"Loans made no attempt: the daemon gave no reason: its log is {log}"]
    assert idle_lines([_totals("Survey", 12)], slowed, {}, log) == []

"""The daemon as a real process: config validation, end to end on the sim driver, SIGTERM drain.

Real subprocess, real sockets, real timers: ``dialer serve`` runs a French
loan-offer campaign on a temporary SQLite store with simulated customers and
agents at 20× speed, serves its health and metrics over HTTP, and stops on
SIGTERM with exit code 0, leaving a complete ledger.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tests.daemon_helpers import (
    check_ledger,
    make_config,
    make_scenario,
    make_store,
    read_ledger,
    start_daemon,
    wait_for,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "simulation" / "data"  # the demo's, shipped as package data

_METRICS = ("dialer_calls_total", "dialer_calls_in_flight", "dialer_agents", "dialer_dial_level",
            "dialer_abandon_ratio", "dialer_abandon_cap_ratio", "dialer_abandon_budget_calls",
            "dialer_decision_seconds", "dialer_tick_lag_seconds", "dialer_world_lag_seconds",
            "dialer_world_speed_ratio")
_NUMBER = re.compile(r"\+\d{8,}")
DRAIN_BOUND_S = 30  # calls in progress get drain_timeout_s (20 s here), then the ledger is flushed


def _drain_s(events: list[dict]) -> float:
    """Seconds from the daemon's ``draining`` log line to its ``stopped`` line, by the daemon's own clock."""
    at = {e["event"]: datetime.fromisoformat(e["ts"]) for e in events if e.get("event") in ("draining", "stopped")}
    return (at["stopped"] - at["draining"]).total_seconds()


@pytest.mark.daemon
@pytest.mark.slow  # real time: 100 calls at 20x, and the drain's latency bound
def test_end_to_end_run_drains_on_sigterm_and_leaves_a_complete_ledger(tmp_path):
    url = make_store(tmp_path, leads=800)
    config = make_config(tmp_path, url, make_scenario(tmp_path, agents=10), speed=20)
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # stands in for systemd's notify socket
    systemd.bind(str(tmp_path / "notify.sock"))
    systemd.settimeout(5)
    daemon = start_daemon(config, tmp_path / "daemon.log", env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
                                                                "WATCHDOG_USEC": "2000000"})
    try:
        assert wait_for(lambda: daemon.get("/readyz")[0] == 200, 10)
        assert daemon.get("/livez") == (200, "ok\n")
        assert wait_for(lambda: daemon.metric("dialer_calls_total") >= 100, 35), daemon.get("/metrics")[1]
        _, page = daemon.get("/metrics")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log.read_text()[-3000:]
    told = set()
    with systemd:
        systemd.settimeout(0.5)
        while True:
            try:
                told.add(systemd.recv(64).decode())
            except TimeoutError:
                break
    assert {"READY=1", "WATCHDOG=1"} <= told  # the queue holds the first ten; STOPPING=1 may find it full
    for name in _METRICS:
        assert f"\n{name}" in page, name
    assert not _NUMBER.search(page), "a phone number in the metrics"
    ledger = read_ledger(url)
    assert len(ledger.attempts) >= 100
    check_ledger(ledger)
    events = daemon.events()
    assert all(not _NUMBER.search(line) for line in daemon.log.read_text().splitlines()), "unmasked number"
    assert {"ready", "campaign_open", "attempt", "draining", "stopped"} <= {e.get("event") for e in events}
    assert _drain_s(events) < DRAIN_BOUND_S  # the SIGTERM latency bound, measured by the daemon's log


@pytest.mark.daemon
@pytest.mark.slow  # real time: a drain of a few seconds
def test_readyz_says_503_draining_through_the_whole_drain_and_the_process_then_exits_0(tmp_path):
    """SIGTERM with calls in progress (talk lasts minutes at 2x): the drain takes its whole timeout, and every
    answer from the signal to the drain's end is /readyz 503 with draining true, /livez 200."""
    url = make_store(tmp_path, leads=60)
    config = make_config(tmp_path, url, make_scenario(tmp_path, agents=3), speed=2, drain_timeout_s=3)
    daemon = start_daemon(config, tmp_path / "daemon.log")
    answers: list[tuple[datetime, int, dict, int]] = []  # when, /readyz status and body, /livez status
    try:
        assert wait_for(lambda: daemon.metric("dialer_calls_in_flight") > 0, 30, 0.1)
        daemon.process.send_signal(signal.SIGTERM)
        while daemon.process.poll() is None:
            try:
                status, body = daemon.get("/readyz")
                answers.append((datetime.now(UTC), status, json.loads(body), daemon.get("/livez")[0]))
            except OSError:  # closed: the process is on its way out
                pass
            time.sleep(0.05)
        code = daemon.process.wait(timeout=30)
    finally:
        daemon.close()
    assert code == 0, daemon.log.read_text()[-3000:]
    at = {e["event"]: datetime.fromisoformat(e["ts"]) for e in daemon.events() if e.get("event") in
          ("draining", "stopped")}
    assert at["stopped"] - at["draining"] >= timedelta(seconds=2.5)  # calls were in progress: a real drain
    during = [a for a in answers if a[0] >= at["draining"]]
    assert during and all(status == 503 and body["draining"] is True and live == 200
                          for _, status, body, live in during), during
    assert during[-1][0] >= at["stopped"] - timedelta(seconds=0.5)  # served until the drain was over


@pytest.mark.parametrize(("body", "where"), [
    ("[store]\nurl = 'sqlite:///x.db'\n[http]\nprot = 8080\n", ":4: [http] prot: unknown key"),
    ("[store]\nurl = 'sqlite:///x.db'\n[http]\nport = 'eighty'\n", ":4: [http] port: must be a whole number"),
    ("[driver]\nkind = 'sim'\n[sim]\nscenario = 'missing.toml'\n", ":4: [sim] scenario: no file"),
    ("[store\n", "not valid TOML"),
    (f"[driver]\nkind = 'sim'\n[sim]\nscenario = '{SCENARIOS / 'demo.toml'}'\n[sim.scenarios]\nSurvey = 'nope.toml'\n",
     ":6: [sim.scenarios] Survey: no file"),
])
def test_a_bad_config_is_named_with_its_line_and_exits_2(tmp_path, body, where):
    path = tmp_path / "dialer.toml"
    path.write_text(body, encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(path)])
    assert result.exit_code == 2
    assert where in result.output and result.output.count("\n") == 1, result.output


def test_a_campaign_may_have_its_own_scenario(tmp_path):
    """``[sim.scenarios]`` gives one campaign its own customers and agents (the demo's survey); the rest share."""
    from dialer.service.config import load_config

    path = tmp_path / "dialer.toml"
    path.write_text(f"[store]\nurl = 'sqlite:///{tmp_path / 'x.db'}'\n[sim]\nscenario = '{SCENARIOS / 'demo.toml'}'\n"
                    f"[sim.scenarios]\nSurvey = '{SCENARIOS / 'demo-survey.toml'}'\n", encoding="utf-8")
    config = load_config(path)
    assert config.sim is not None and config.sim.scenarios == {"Survey": SCENARIOS / "demo-survey.toml"}

"""Helpers for the daemon tests: a store with one campaign and leads, a small scenario, a config, a client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from dialer.records import UNCHARGED

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN = "Loans"
START = "2026-11-24T10:00:00"  # a Tuesday, 10:00 in Paris: the French window is open


def consented(session: Any, phones: list[str], company: str = "default") -> None:
    """Record every one of ``phones`` as having consented to marketing calls by web form on 1 May 2026: France
    asks for consent from 11 Aug 2026 (``lists/jurisdictions/fr.toml``), and the test worlds run after it."""
    from lists.consent import ConsentChannel, GivenConsent, ImportedConsent, record_imported
    from lists.purposes import Purpose
    from lists.sealing import person_key

    given = ImportedConsent(GivenConsent(Purpose.MARKETING, ConsentChannel.WEB, datetime(2026, 5, 1, tzinfo=UTC),
                                         how="web form"))
    record_imported(session, company, [(person_key(session, phone), given) for phone in phones],
                    datetime(2026, 5, 1, tzinfo=UTC), "test")


def make_store(folder: Path, leads: int = 600, dial_mode: str = "predictive", due: datetime | None = None) -> str:
    """An SQLite store with one French loan-offer campaign and ``leads`` synthetic Paris numbers, due from ``due``
    (naive UTC; None: any time)."""
    from lists.campaigns import create_campaign
    from lists.models import DUE_ANY_TIME, insert_new_leads
    from lists.store import open_store

    url = f"sqlite:///{folder / 'dialer.db'}"
    factory = open_store(url)
    with factory() as session:
        campaign = create_campaign(session, CAMPAIGN, kind="loan-offer", rules_profile="fr", dial_mode=dial_mode,
                                   abandon_cap=0.03, max_attempts=4, caller_id="+33142685300")
        rows = [(f"+3314{k:07d}", f"Person {k}", "FR", "Europe/Paris", "{}") for k in range(leads)]
        insert_new_leads(session, campaign.id, due or DUE_ANY_TIME, rows)
        consented(session, [phone for phone, *_ in rows])
        session.commit()
    factory.kw["bind"].dispose()
    return url


def make_scenario(folder: Path, agents: int = 8) -> Path:
    """A short French loan-offer day: ``agents`` from 09:45, AMD on, a 2 s connect limit."""
    scenario = {
        "name": "daemon test", "seed": 7,
        "day": {"date": datetime(2026, 11, 24).date(), "timezone": "Europe/Paris", "start": "09:00", "end": "20:00"},
        "agents": {"shifts": [{"count": agents, "start": "09:45", "end": "19:00"}]},
        "list": {"size": 5000, "segments": [{
            "name": "all", "share": 1.0, "live": 0.35, "machine": 0.2, "busy": 0.05, "invalid": 0.03,
            "ring_live": {"dist": "lognormal", "mean": 10.0, "sd": 4.0},
            "ring_machine": {"dist": "lognormal", "mean": 14.0, "sd": 4.0}, "no_answer_timeout_s": 25}]},
        "amd": {"enabled": True, "delay_s": 2.5, "false_positive": 0.02, "false_negative": 0.1},
        "talk": {"success": {"dist": "lognormal", "mean": 180.0, "sd": 60.0},
                 "refusal": {"dist": "lognormal", "mean": 60.0, "sd": 30.0},
                 "wrap": {"dist": "gamma", "mean": 15.0, "sd": 6.0}},
        "outcomes": {"success_code": "accepted", "conversion": 0.1,
                     "refusal_reasons": {"too_expensive": 0.6, "no_need": 0.4}},
        "customers": {"patience": {"dist": "exponential", "mean": 6.0}},
        "pacing": {"policy": "predictive", "abandon_cap": 0.03, "connect_limit_s": 2.0},
        "rules": {"profile": "fr", "max_attempts": 4, "zones": ["Europe/Paris"]},
    }
    path = folder / "scenario.toml"
    path.write_text(tomli_w.dumps(scenario), encoding="utf-8")
    return path


def config_head(url: str, name: str, drain_timeout_s: float) -> str:
    """The start of a test daemon's config: its store, HTTP on any free loopback port, its name and drain."""
    return f'''[store]
url = "{url}"
[http]
host = "127.0.0.1"
port = 0
[daemon]
name = "{name}"
drain_timeout_s = {drain_timeout_s}
'''


def make_config(folder: Path, url: str, scenario: Path, speed: float = 20.0, start: str = START,
                drain_timeout_s: float = 20.0, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(config_head(url, "test-dialer", drain_timeout_s) + f'''[driver]
kind = "sim"
[sim]
scenario = "{scenario}"
speed = {speed}
start = {start}
''', encoding="utf-8")
    return path


@dataclass
class Running:
    """A daemon subprocess and the port it announced."""

    process: subprocess.Popen
    port: int
    log: Path
    out: object = None

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metric(self, name: str) -> float:
        """The sum of every sample of ``name`` on /metrics."""
        _, body = self.get("/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def stop(self, timeout_s: float = 45.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self.close()

    def kill(self) -> None:
        """kill -9: no drain, no flush, no goodbye."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.out is not None:
            self.out.close()  # type: ignore[attr-defined]

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


def start_daemon(config: Path, log: Path, timeout_s: float = 30.0, env: dict[str, str] | None = None) -> Running:
    """``dialer serve`` as a real subprocess; waits for its ``ready`` log line and returns its HTTP port."""
    out = log.open("w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--config", str(config)], cwd=REPO,
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if '"event": "ready"' in line:
                return Running(process, json.loads(line)["http_port"], log, out)
        if process.poll() is not None:
            out.close()
            raise AssertionError(f"daemon exited {process.returncode}:\n{log.read_text()}")
        time.sleep(0.1)
    process.kill()
    process.wait()
    out.close()
    raise AssertionError(f"daemon not ready in {timeout_s} s:\n{log.read_text()}")


def wait_for(condition, timeout_s: float, step_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return False


def now_utc() -> datetime:
    return datetime.now(UTC)


OUTCOMES = {"human", "machine", "busy", "no_answer", "invalid", "abandoned", "failed", "interrupted"}
CONNECT_LIMIT_S = 2.0


@dataclass
class Ledger:
    """What the store holds after a run, read with plain SQL (not through the code under test)."""

    leads: list[dict]
    attempts: list[dict]

    @property
    def live(self) -> int:
        return sum(a["outcome"] in ("human", "abandoned") for a in self.attempts)

    @property
    def abandoned(self) -> int:
        return sum(a["outcome"] == "abandoned" for a in self.attempts)


def read_ledger(url: str) -> Ledger:
    import sqlite3

    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.row_factory = sqlite3.Row
    leads = [dict(row) for row in connection.execute("SELECT * FROM lead ORDER BY id")]
    attempts = [dict(row) for row in connection.execute("SELECT * FROM attempt ORDER BY lead_id, dialled_at, id")]
    connection.close()
    return Ledger(leads, attempts)


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def check_bookkeeping(ledger: Ledger) -> None:
    """No lead left claimed or marked, each lead's attempt count is its ledger rows charged to it (not the
    network's or the dialer's failures: ``dialer.records.UNCHARGED``), and a lead's attempts never overlap (no
    slot dialled twice)."""
    by_lead: dict[int, list[dict]] = {}
    for attempt in ledger.attempts:
        by_lead.setdefault(attempt["lead_id"], []).append(attempt)
    for lead in ledger.leads:
        assert lead["status"] != "claimed" and lead["dial_started_at"] is None, lead
        rows = by_lead.get(lead["id"], [])
        assert lead["attempts"] == sum(r["outcome"] not in UNCHARGED for r in rows), (lead, rows)
        for before, after in zip(rows, rows[1:], strict=False):
            assert after["dialled_at"] >= (before["hangup_at"] or before["dialled_at"]), (before, after)


def check_ledger(ledger: Ledger, cap: float = 0.03) -> None:
    """Complete and consistent (``check_bookkeeping``); one known outcome each; every abandon played its
    message within the connect limit; abandonment under the cap."""
    for attempt in ledger.attempts:
        assert attempt["outcome"] in OUTCOMES, attempt
        assert bool(attempt["abandoned"]) == (attempt["outcome"] == "abandoned"), attempt
    check_bookkeeping(ledger)
    for attempt in ledger.attempts:
        if attempt["outcome"] == "abandoned":
            assert attempt["message_played"] == "safe_harbour", attempt
            heard = attempt["amd_end_at"] or attempt["answered_at"]
            assert _seconds(attempt["hangup_at"], heard) <= CONNECT_LIMIT_S + 1e-3, attempt
    assert ledger.abandoned <= cap * ledger.live, (ledger.abandoned, ledger.live)

"""``dialer demo``: the whole product in about a minute, needing nothing but the install.

What it does, in order:

1. makes a fresh SQLite store in a folder (``./demo`` by default) and
   imports the sample list shipped in ``simulation/data/demo-leads.csv``
   (synthetic people, fictional numbers in France, Belgium, the UK and the
   US, a few broken rows on purpose: their line numbers and reasons land in
   ``<dir>/demo-leads.csv.rejects.csv``) into two campaigns: a loan offer
   under the French rules and a survey under the UK rules, both predictive
   with a 3% abandonment cap;
2. runs the real daemon (``dialer.service.daemon.Daemon``: the same engines,
   claim buffer, writer, scheduler and metrics as ``dialer serve``) with
   the sim driver on ``simulation/data/demo.toml``, a 4-hour afternoon
   shift with breaks, at ``speed`` simulated seconds per wall second (240:
   the shift takes about a minute), then stops it as SIGTERM does once the
   simulated clock passes the shift's end, and waits for the drain;
3. meanwhile draws a live view twice a second on a terminal (plain progress
   lines in CI or when stdout is not a terminal);
4. ends with a summary read back from the store and an HTML report with
   plots in ``<dir>/report/index.html``.

Why the view and the summary state the speed: a machine too busy to carry
the speed asked makes the daemon slow its simulated world down
(``dialer.service.clock.SpeedGovernor``); the shift is the same, only longer
in wall time, and the demo says at what speed it ran rather than let a slow
run pass for a poor one. A campaign that made no attempt is named with the
reason the daemon gave.

Nothing printed carries a phone number or a name: the view and the summary
show counts only, and the daemon's log (``<dir>/daemon.log``) goes through
``dialer.service.logs``' masking formatter.

Why two scenarios: the survey's customers answer with its own codes
(``completed``, ``no_time``…) and shorter calls, so the daemon's config
gives that campaign ``simulation/data/demo-survey.toml`` in
``[sim.scenarios]``; the loan offer uses ``demo.toml``.

Why the list and the scenarios are package data (``simulation/data/``,
found through ``importlib.resources``) and not files of ``examples/``: the
demo must work from an installed wheel, in any folder, with no checkout.
"""

from __future__ import annotations

import asyncio
import gc
import html
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialer.api.front import daemon_with_front
from dialer.core.agents import AgentState
from dialer.core.calls import CallState
from dialer.drivers.sim.scenario import Scenario, load_scenario
from dialer.errors import DialerError
from dialer.records import Outcome
from dialer.service.assembly import CampaignRun
from dialer.service.config import Config, SimConfig
from dialer.service.daemon import Daemon
from dialer.service.logs import setup_logging
from dialer.service.schedule import Speeds
from lists.campaigns import create_campaign
from lists.importer import ImportSummary, import_csv
from lists.models import Attempt, Campaign, Lead, as_utc
from lists.reports import Report, dispositions_report, penetration_report, refusals_report
from lists.store import open_store
from pacing.days import local_midnight
from pacing.ledger import Standing
from simulation.plots import plot_report, plot_series_panels

__all__ = ["DemoError", "DemoOptions", "CampaignSpec", "CAMPAIGNS", "LEADS", "SCENARIO", "SURVEY_SCENARIO",
           "prepare_store", "demo_config", "LiveView", "CampaignTotals", "summarise", "summary_text",
           "speed_text", "idle_lines", "series_rows", "write_report", "DemoResult", "run_demo", "shift_window"]

STORE_FILE = "dialer.db"
DEFAULT_SPEED = 240.0  # simulated seconds per wall second: a 4-hour shift in about a minute
REFRESH_S = 0.5  # wall seconds between two frames of the live view
_BIN_S = 900.0  # the report's interval, seconds (15 minutes, as the simulator's series)
_PLAIN_STEPS = (0.25, 0.5, 0.75)  # shares of the shift at which CI output prints a progress line
_HIDE_CURSOR, _SHOW_CURSOR, _CLEAR_DOWN = "\x1b[?25l", "\x1b[?25h", "\x1b[J"


class DemoError(DialerError):
    """The demo cannot start as asked (a folder that already holds campaigns, its data not installed): one line,
    exit code 2."""

    exit_code = 2


def _shipped(name: str) -> Path:
    """One of the files in ``simulation/data/``, found through the package so an installed wheel finds it.

    A path, not a Traversable: the importer, the scenario loader and the
    daemon's config read files by path. An installed package is a folder on
    disk, so its resources are plain files; a zipped one could not run the demo
    (the store's migrations are files too), hence the plain error."""
    resource = resources.files("simulation") / "data" / name
    if not isinstance(resource, Path) or not resource.is_file():
        raise DemoError(f"the demo's {name} is not installed as a file next to the simulation package: reinstall")
    return resource


LEADS = _shipped("demo-leads.csv")
SCENARIO = _shipped("demo.toml")
SURVEY_SCENARIO = _shipped("demo-survey.toml")  # the survey's customers and agents


@dataclass(frozen=True)
class DemoOptions:
    """``directory``: where the store, the copied list, its rejects, the log and the report go. ``speed``:
    simulated seconds per wall second. ``shift_s``: simulated seconds to run from the shift's start (at most the
    scenario's shift). ``live``: draw the terminal view (None: when stdout is a terminal and CI is not set)."""

    directory: Path = Path("demo")
    fresh: bool = False
    speed: float = DEFAULT_SPEED
    shift_s: float | None = None
    live: bool | None = None
    drain_timeout_s: float = 30.0


@dataclass(frozen=True)
class CampaignSpec:
    """One demo campaign: its kind's catalogue, the rules profile whose window is open during the shift, and the
    disposition code that counts as a sale (or a completed survey)."""

    name: str
    kind: str
    rules_profile: str
    success_code: str
    countries: tuple[str, ...]
    max_attempts: int = 4


CAMPAIGNS = (  # each person is dialled under their own country's rules; Belgium has none yet, so its rows are refused
    CampaignSpec("Loans", "loan-offer", "fr", "accepted", ("FR", "GB")),  # France: only those who consented
    CampaignSpec("Survey", "survey", "uk", "completed", ("GB", "FR", "US")))  # no consent needed for a survey

def shift_window(scenario: Scenario) -> tuple[datetime, datetime]:
    """The demo's shift as aware moments: the earliest start and the latest end of the scenario's shifts."""
    start_s = min(shift.start_s for shift in scenario.shifts)
    end_s = max(shift.end_s for shift in scenario.shifts)
    midnight = local_midnight(scenario.date, scenario.timezone)
    return midnight + timedelta(seconds=start_s), midnight + timedelta(seconds=end_s)


# ---- the store ----------------------------------------------------------------------------------------------

def _has_campaigns(store: Path) -> bool:
    if not store.exists():
        return False
    factory = open_store(f"sqlite:///{store}")
    try:
        with factory() as session:
            return bool(session.scalar(select(func.count()).select_from(Campaign)))
    finally:
        factory.kw["bind"].dispose()


def _wipe(directory: Path) -> None:
    """What an earlier demo left: the store with its WAL files, the copied list, its rejects, the log, the report."""
    for name in (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", LEADS.name, f"{LEADS.name}.rejects.csv",
                 "daemon.log"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "report", ignore_errors=True)


def prepare_store(options: DemoOptions, imported_at: datetime) -> tuple[str, dict[str, ImportSummary]]:
    """A new store in ``options.directory`` with the demo's campaigns, each given the sample list.

    The list is copied into the folder first, so the importer's rejects file
    lands next to the copy, not in the repository. ``imported_at`` is the
    leads' due time (before the simulated shift, whatever today's date is).
    Raises DemoError when the folder's store already holds campaigns and
    ``fresh`` is not set."""
    directory, store = options.directory, options.directory / STORE_FILE
    if directory.exists() and not directory.is_dir():
        raise DemoError(f"--dir: {directory} is a file, not a folder")
    if _has_campaigns(store):
        if not options.fresh:
            raise DemoError(f"{store} already holds campaigns: pass --fresh to wipe it, or another --dir")
    if options.fresh:
        _wipe(directory)
    directory.mkdir(parents=True, exist_ok=True)
    leads = Path(shutil.copyfile(LEADS, directory / LEADS.name))
    url = f"sqlite:///{store}"
    factory = open_store(url)
    summaries: dict[str, ImportSummary] = {}
    try:
        with factory() as session:
            for spec in CAMPAIGNS:
                campaign = create_campaign(session, spec.name, kind=spec.kind, rules_profile=spec.rules_profile,
                                           countries=list(spec.countries),
                                           dial_mode="predictive", abandon_cap=0.03, max_attempts=spec.max_attempts)
                session.commit()
                summaries[spec.name] = import_csv(session, campaign, leads, now=imported_at, workers=1)
    finally:
        factory.kw["bind"].dispose()
    return url, summaries


def demo_config(url: str, options: DemoOptions, start: datetime) -> Config:
    """The daemon's configuration, built in code: the demo's store, any free HTTP port, the sim driver."""
    return Config(store_url=url, http_port=0, name="demo", drain_timeout_s=options.drain_timeout_s,
                  campaigns=tuple(spec.name for spec in CAMPAIGNS),
                  sim=SimConfig(SCENARIO, options.speed, start, scenarios={"Survey": SURVEY_SCENARIO}),
                  source="dialer demo")


# ---- the live view ------------------------------------------------------------------------------------------

@dataclass
class _Floor:
    """One campaign's running totals for the view: agent-seconds busy and available since the start."""

    busy_s: float = 0.0
    available_s: float = 0.0

    @property
    def occupancy(self) -> float:
        return self.busy_s / self.available_s if self.available_s else 0.0


_BUSY = (AgentState.TALKING, AgentState.WRAP_UP, AgentState.RESERVED)
_AGENT_COLUMNS = ((AgentState.READY, "ready"), (AgentState.TALKING, "talking"), (AgentState.WRAP_UP, "wrap-up"),
                  (AgentState.PAUSED, "break"), (AgentState.OFF, "off"))
_CALL_COLUMNS = ((CallState.RINGING, "ringing"), (CallState.ANALYSING, "AMD"), (CallState.QUEUED, "waiting"),
                 (CallState.SAFE_HARBOUR, "message"))


@dataclass
class LiveView:
    """The terminal view: sampled from the running daemon, drawn as text (counts only, never a number or name).

    ``start`` and ``end``: the simulated shift shown by the progress bar. ``speeds``: the simulated world's, as
    last sampled before the drain; ``warned``: each campaign's last reasons from the daemon (``lists.idle``): why it
    was not dialling, or what was wrong."""

    start: datetime
    end: datetime
    zone: str
    speeds: Speeds
    floors: dict[str, _Floor] = field(default_factory=dict)
    last_world: datetime | None = None
    wall_start: float = field(default_factory=time.monotonic)
    draining: bool = False
    warned: dict[str, list[str]] = field(default_factory=dict)

    def sample(self, daemon: Daemon) -> None:
        """Add the agent-seconds since the last sample (occupancy = talk, wrap-up, reserved over available);
        note the world's speeds and what the daemon says is wrong, while the shift runs."""
        now = daemon.world.now()
        dt = 0.0 if self.last_world is None else max(0.0, (now - self.last_world).total_seconds())
        self.last_world = now
        if not self.draining:
            self.speeds = daemon.world.speeds()
            self.warned.update({run.name: [r.text for r in said] for run in daemon.runs
                                if (said := daemon.reasons(run.campaign_id))})
        for run in daemon.runs:
            floor = self.floors.setdefault(run.name, _Floor())
            pool = run.engine.pool
            floor.busy_s += dt * sum(pool.count(state) for state in _BUSY)
            floor.available_s += dt * (pool.logged_in - pool.count(AgentState.PAUSED))

    def progress(self) -> float:
        if self.last_world is None:
            return 0.0
        return min(1.0, max(0.0, (self.last_world - self.start) / (self.end - self.start)))

    def render(self, daemon: Daemon) -> str:
        """The frame: the clock and progress bar, then one column per campaign."""
        local = (self.last_world or self.start).astimezone(ZoneInfo(self.zone))
        share = self.progress()
        bar = "#" * round(share * 30) + "." * (30 - round(share * 30))
        state = "draining: calls in progress end, nothing new is dialled" if self.draining else "dialing"
        head = [f"dialer demo: the real daemon engine, simulated customers and agents, {speed_text(self.speeds)}",
                f"{local:%H:%M:%S} {self.zone}  [{bar}] {share:4.0%}  wall {time.monotonic() - self.wall_start:4.0f}"
                f" s  {state}", ""]
        rows = [self._column(daemon, run) for run in daemon.runs]
        labels = ["", "attempts", "live answers", "agents", "calls in flight", "abandoned / cap",
                  "budget left", "occupancy"]
        width = max(len(line) for column in rows for line in column) + 3 if rows else 10
        body = [f"{label:<16}" + "".join(f"{column[k]:<{width}}" for column in rows)
                for k, label in enumerate(labels)]
        return "\n".join(head + body)

    def _column(self, daemon: Daemon, run: CampaignRun) -> list[str]:
        value = _metric_reader(daemon, run.name)
        attempts = sum(value("dialer_calls_total", result=o.value) for o in Outcome)
        live = value("dialer_calls_total", result="human") + value("dialer_calls_total", result="abandoned")
        pool, calls = run.engine.pool, list(run.engine.calls.values())
        agents = " ".join(f"{pool.count(s)} {name}" for s, name in _AGENT_COLUMNS if pool.count(s))
        flight = " ".join(f"{sum(c.state is s for c in calls)} {name}" for s, name in _CALL_COLUMNS
                          if any(c.state is s for c in calls))
        floor = self.floors.get(run.name, _Floor())
        return [run.name, f"{attempts:,.0f}", f"{live:,.0f}", agents or "none logged in", flight or "none",
                f"{value('dialer_abandon_ratio'):.2%} / {run.cap:.0%}",
                f"{value('dialer_abandon_budget_calls'):.1f} calls", f"{floor.occupancy:.0%}"]

    def plain_line(self, daemon: Daemon) -> str:
        """One line for CI logs: the clock and, per campaign, attempts and abandonment."""
        local = (self.last_world or self.start).astimezone(ZoneInfo(self.zone))
        parts = []
        for run in daemon.runs:
            value = _metric_reader(daemon, run.name)
            attempts = sum(value("dialer_calls_total", result=o.value) for o in Outcome)
            parts.append(f"{run.name} {attempts:,.0f} attempts, abandoned {value('dialer_abandon_ratio'):.2%}")
        slowed = f"  ({speed_text(self.speeds)})" if self.speeds.slowed_now else ""
        return f"{local:%H:%M} {self.progress():4.0%}  " + "; ".join(parts) + slowed


def _metric_reader(daemon: Daemon, campaign: str) -> Any:
    """A function reading one sample of the daemon's Prometheus registry for ``campaign`` (0 when absent)."""
    def value(name: str, **labels: str) -> float:
        found = daemon.metrics.registry.get_sample_value(name, {"campaign": campaign, **labels})
        return float(found or 0.0)
    return value


class _Screen:
    """Redraws a frame in place on a terminal (cursor up, clear down); prints milestones otherwise."""

    def __init__(self, out: TextIO, live: bool):
        self.out, self.live, self.lines, self.steps = out, live, 0, list(_PLAIN_STEPS)

    def frame(self, view: LiveView, daemon: Daemon) -> None:
        if self.live:
            text = view.render(daemon)
            up = f"\x1b[{self.lines}F" if self.lines else _HIDE_CURSOR
            self.out.write(up + _CLEAR_DOWN + text + "\n")
            self.lines = text.count("\n") + 1
        elif self.steps and view.progress() >= self.steps[0]:
            while self.steps and view.progress() >= self.steps[0]:
                self.steps.pop(0)
            self.out.write(view.plain_line(daemon) + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.live:
            self.out.write(_SHOW_CURSOR)
            self.out.flush()


async def _watch(daemon: Daemon, task: asyncio.Task[int], view: LiveView, screen: _Screen) -> None:
    """Sample and draw until the daemon has stopped; set its stop event (as SIGTERM does) at the shift's end."""
    while not task.done():
        world = getattr(daemon, "world", None)
        wait_s = REFRESH_S
        if world is not None and daemon.runs:
            view.sample(daemon)
            left_s = (view.end - world.now()).total_seconds()
            if left_s <= 0 and not daemon.stop_event.is_set():
                daemon.stop_event.set()
            view.draining = daemon.stop_event.is_set()
            screen.frame(view, daemon)
            wait_s = min(REFRESH_S, max(0.01, left_s / world.speed)) if left_s > 0 else REFRESH_S
        await asyncio.wait({task}, timeout=wait_s)


async def _run_daemon(daemon: Daemon, view: LiveView, screen: _Screen) -> int:
    task = asyncio.create_task(daemon.run())
    watcher = asyncio.create_task(_watch(daemon, task, view, screen))
    try:
        return await task
    finally:
        await watcher


@contextmanager
def _daemon_log(path: Path) -> Iterator[None]:
    """The daemon's JSON log (masked) to ``path`` for the run; the process's logging and GIL switch are restored."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.getswitchinterval())
    noisy = {name: logging.getLogger(name).level for name in ("apscheduler", "alembic")}
    with path.open("a", encoding="utf-8") as stream:
        setup_logging("info", stream)
        try:
            yield
        finally:
            root.handlers[:], root.level = saved[0], saved[1]
            for name, level in noisy.items():
                logging.getLogger(name).setLevel(level)
            sys.setswitchinterval(saved[2])
            gc.unfreeze()  # the daemon froze its start-up objects; this process goes on after it


# ---- the summary and the report -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignTotals:
    """One campaign's result. ``abandoned`` and ``live``: the day's, as the campaign's ledger counts them
    (people; under the UK rule the AMD false-positive estimate included), the figures pacing kept under the
    cap; the rest is read from the store. ``occupancy``: talk and wrap-up seconds over the agents' available
    seconds (logged in, not on a break); ``abandon_rate``: abandons over live answers."""

    name: str
    kind: str
    leads: int
    leads_dialled: int
    attempts: int
    open_attempts: int
    contacts: int
    sales: int
    abandoned: float
    live: float
    cap: float
    occupancy: float
    refusals: list[tuple[str, int]]

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


def _available_s(scenario: Scenario, until_s: float) -> float:
    """Agent-seconds on the floor from the shifts' starts to ``until_s`` (seconds after local midnight),
    breaks taken out."""
    def overlap(a: float, b: float) -> float:
        return max(0.0, min(b, until_s) - a)

    total = 0.0
    for shift in scenario.shifts:
        on = overlap(shift.start_s, shift.end_s) - sum(overlap(a, b) for a, b in shift.breaks)
        total += shift.count * on
    return total


def _busy_s(rows: Sequence[Any]) -> float:
    """Agent-seconds of talk and wrap-up in the attempts (connected to hang-up, plus the recorded wrap)."""
    return sum(_handled(row)[1] for row in rows)


def _handled(row: Any) -> tuple[datetime | None, float]:
    """(when the agent took the call, agent-seconds it held them), or (None, 0) when no agent took it."""
    if row.connected_at is None or row.hangup_at is None:
        return None, 0.0
    talk = (row.hangup_at - row.connected_at).total_seconds()
    return as_utc(row.connected_at), talk + float((row.data or {}).get("wrap_s", 0.0))


def _attempt_rows(session: Session, campaign_id: int) -> list[Any]:
    return list(session.execute(select(
        Attempt.outcome, Attempt.disposition, Attempt.dialled_at, Attempt.connected_at, Attempt.hangup_at,
        Attempt.data, Attempt.abandoned).where(Attempt.campaign_id == campaign_id)).all())


def summarise(url: str, scenarios: Mapping[str, Scenario], until: datetime,
              standings: Mapping[str, Standing]) -> list[CampaignTotals]:
    """Each demo campaign's totals from the store, its abandonment from its ledger's ``standings``; ``until``:
    the simulated moment the run stopped."""
    factory = open_store(url)
    out = []
    try:
        with factory() as session:
            for spec in CAMPAIGNS:
                campaign = session.scalars(select(Campaign).where(Campaign.name == spec.name)).one()
                out.append(_totals(session, campaign, spec, scenarios[spec.name], until, standings[spec.name]))
    finally:
        factory.kw["bind"].dispose()
    return out


def _totals(session: Session, campaign: Campaign, spec: CampaignSpec, scenario: Scenario,
            until: datetime, standing: Standing) -> CampaignTotals:
    rows = _attempt_rows(session, campaign.id)
    mine = Lead.campaign_id == campaign.id
    leads = session.scalar(select(func.count()).where(mine)) or 0
    dialled = session.scalar(select(func.count()).where(mine, Lead.attempts > 0)) or 0
    local = until.astimezone(ZoneInfo(scenario.timezone))
    until_s = local.hour * 3600.0 + local.minute * 60.0 + local.second
    available = _available_s(scenario, until_s)
    outcomes = [row.outcome for row in rows]
    refusals = [(label, count) for _, label, count, _ in refusals_report(session, campaign).rows]
    return CampaignTotals(
        spec.name, spec.kind, leads, dialled, len(rows), outcomes.count(Outcome.INTERRUPTED.value),
        outcomes.count(Outcome.HUMAN.value), sum(row.disposition == spec.success_code for row in rows),
        standing.abandoned, standing.live, campaign.abandon_cap,
        _busy_s(rows) / available if available else 0.0, refusals)


def _count(value: float) -> str:
    """A count the ledger may hold as an estimate: whole numbers as such, estimates to a tenth."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def summary_text(totals: Sequence[CampaignTotals]) -> str:
    """The closing table (counts only) and each campaign's refusals by reason."""
    head = (f"{'campaign':<10} {'attempts':>8} {'contacts':>8} {'sales':>6} {'abandoned':>16} {'cap':>5} "
            f"{'occupancy':>9} {'leads dialled':>16}")
    lines = [head]
    for t in totals:
        abandoned = f"{t.abandon_rate:.2%} ({_count(t.abandoned)}/{_count(t.live)})"
        lines.append(f"{t.name:<10} {t.attempts:>8,} {t.contacts:>8,} {t.sales:>6,} {abandoned:>16} {t.cap:>5.0%} "
                     f"{t.occupancy:>9.0%} {f'{t.leads_dialled:,} of {t.leads:,}':>16}")
    for t in totals:
        reasons = ", ".join(f"{label.lower()} {count}" for label, count in t.refusals) or "none"
        lines.append(f"{t.name} refusals by reason: {reasons}")
    lines.append("sales: loans accepted, surveys completed; contacts: people who reached an agent; abandoned: live "
                 "answers no agent took within 2 s (the safe-harbour message played), against the 3% cap, as the "
                 "campaign's ledger counts them")
    return "\n".join(lines)


def speed_text(speeds: Speeds, live: bool = True) -> str:
    """The simulated clock's speed in words: the speed asked when it kept it, else what it ran at (``live``: now;
    else on average) of what was asked, and why."""
    short = speeds.slowed_now if live else speeds.slowed_on_average
    if not short:
        return f"{speeds.asked:g}x speed" if live else f"the simulated clock kept the {speeds.asked:g}x asked"
    ran = speeds.current if live else speeds.achieved
    shown = f"{ran:.0f}x" if ran >= 10 else f"{ran:.1f}x"
    return f"{'running' if live else 'the simulated clock ran'} at {shown} of {speeds.asked:g}x asked: machine busy"


def idle_lines(totals: Sequence[CampaignTotals], speeds: Speeds, warned: Mapping[str, Sequence[str]],
               log: Path) -> list[str]:
    """A line for each campaign that made no attempt, with the reason: what the daemon said was wrong with it,
    else a machine too busy for the speed asked, else where to look. An empty shift is never silent."""
    lines = []
    for t in totals:
        if t.attempts:
            continue
        if warned.get(t.name):
            why = "; ".join(warned[t.name])
        elif speeds.slowed_on_average:
            why = f"the machine was too busy ({speed_text(speeds, live=False)})"
        else:
            why = f"the daemon gave no reason: its log is {log}"
        lines.append(f"{t.name} made no attempt: {why}")
    return lines


def series_rows(url: str, campaign: str, scenario: Scenario) -> list[dict[str, float]]:
    """Per 15 minutes of the shift: ``start_s`` (seconds after local midnight), agent-seconds busy and logged in,
    and the abandoned share of live answers; the rows ``simulation.plots`` draws."""
    factory = open_store(url)
    try:
        with factory() as session:
            campaign_id = session.scalars(select(Campaign.id).where(Campaign.name == campaign)).one()
            rows = _attempt_rows(session, campaign_id)
    finally:
        factory.kw["bind"].dispose()
    zone = ZoneInfo(scenario.timezone)
    bins: dict[int, dict[str, float]] = {}

    def slot(moment: datetime) -> dict[str, float]:
        local = moment.astimezone(zone)
        k = int((local.hour * 3600 + local.minute * 60 + local.second) // _BIN_S)
        return bins.setdefault(k, {"start_s": k * _BIN_S, "busy_s": 0.0, "live": 0.0, "abandoned": 0.0})

    for row in rows:
        connected, held = _handled(row)
        if connected is not None:
            slot(connected)["busy_s"] += held
        if row.outcome in (Outcome.HUMAN.value, Outcome.ABANDONED.value):
            entry = slot(as_utc(row.dialled_at))  # type: ignore[arg-type]
            entry["live"] += 1
            entry["abandoned"] += row.outcome == Outcome.ABANDONED.value
    for entry in bins.values():
        start = entry["start_s"]
        entry["logged_in_s"] = _available_s(scenario, start + _BIN_S) - _available_s(scenario, start)
        entry["abandon_rate"] = entry["abandoned"] / entry["live"] if entry["live"] else 0.0
    return [bins[k] for k in sorted(bins)]


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower())


def write_report(url: str, totals: Sequence[CampaignTotals], scenarios: Mapping[str, Scenario],
                 directory: Path) -> Path:
    """``directory/index.html``: the summary, the day per 15 minutes, and each campaign's dispositions,
    refusals and list penetration (``lists.reports``' tables and plots)."""
    directory.mkdir(parents=True, exist_ok=True)
    plot_series_panels([(f"{t.name}: occupancy and abandonment per 15 minutes",
                         series_rows(url, t.name, scenarios[t.name])) for t in totals], directory / "series.png",
                       cap=min((t.cap for t in totals), default=None))
    sections = []
    factory = open_store(url)
    try:
        with factory() as session:
            for t in totals:
                campaign = session.scalars(select(Campaign).where(Campaign.name == t.name)).one()
                reports = [make(session, campaign) for make in (dispositions_report, refusals_report,
                                                                penetration_report)]
                sections.append(_campaign_section(t, reports, directory))
    finally:
        factory.kw["bind"].dispose()
    page = directory / "index.html"
    page.write_text(_page(totals, sections), encoding="utf-8")
    return page


def _campaign_section(totals: CampaignTotals, reports: Sequence[Report], directory: Path) -> str:
    parts = [f"<h2>{html.escape(totals.name)} ({html.escape(totals.kind)})</h2>"]
    for kind, report in zip(("dispositions", "refusals", "penetration"), reports, strict=True):
        png = f"{_slug(totals.name)}-{kind}.png"
        plot_report(report, directory / png)
        parts.append(f'<img src="{png}" alt="{html.escape(report.title)}">')
    return "\n".join(parts)


def _page(totals: Sequence[CampaignTotals], sections: Sequence[str]) -> str:
    columns = ("campaign", "attempts", "contacts", "sales", "abandoned", "live answers", "abandon rate", "cap",
               "occupancy", "leads dialled", "leads")
    cells = [(t.name, f"{t.attempts:,}", f"{t.contacts:,}", f"{t.sales:,}", _count(t.abandoned), _count(t.live),
              f"{t.abandon_rate:.2%}", f"{t.cap:.0%}", f"{t.occupancy:.0%}", f"{t.leads_dialled:,}",
              f"{t.leads:,}") for t in totals]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in cells)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>dialer demo</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 8px;border-bottom:1px solid #ddd;
font-size:13px}}img{{max-width:100%}}</style></head><body><h1>dialer demo: an afternoon shift</h1>
<p>The real daemon engine ran two predictive campaigns against simulated customers and agents; every figure is
read from the store's attempt ledger. Contacts: people who reached an agent. Abandoned: live answers no agent took
within the 2-second connect limit (the safe-harbour message played), as a share of live answers, against the
cap. Occupancy: talk and wrap-up over the agents' time logged in, breaks excluded.</p>
<table><tr>{head}</tr>{body}</table>
<h2>The shift, per 15 minutes</h2><img src="series.png" alt="occupancy and abandonment per 15 minutes">
{"".join(sections)}
</body></html>
"""


# ---- the whole demo -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoResult:
    """What a run left: the store's URL, the report page, the rejects file, the totals, the daemon's exit code,
    the wall seconds the daemon ran and the simulated world's speeds through the shift."""

    url: str
    report: Path
    rejects: Path | None
    totals: list[CampaignTotals]
    exit_code: int
    wall_s: float
    speeds: Speeds


def _live(options: DemoOptions, out: TextIO) -> bool:
    if options.live is not None:
        return options.live
    return out.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")


def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> DemoResult:
    """Prepare the store, run the daemon through the shift with the view, then summarise and report."""
    base = load_scenario(SCENARIO)
    scenarios = {"Loans": base, "Survey": load_scenario(SURVEY_SCENARIO)}
    start, end = shift_window(base)
    if options.shift_s is not None:
        end = min(end, start + timedelta(seconds=options.shift_s))
    url, imports = prepare_store(options, start - timedelta(hours=1))
    say = out.write
    for name, summary in imports.items():
        say(f"imported {LEADS.name} into {name}: {summary.line()}\n")
    hours = (end - start).total_seconds() / 3600
    say(f"running the daemon: {hours:g} simulated hours from {start:%H:%M} {base.timezone} at {options.speed:g}x "
        f"(about {(end - start).total_seconds() / options.speed:.0f} s)\n")
    out.flush()
    view = LiveView(start, end, base.timezone, Speeds(options.speed, options.speed, options.speed))
    screen = _Screen(out, _live(options, out))
    started = time.monotonic()
    with _daemon_log(options.directory / "daemon.log"):
        daemon = daemon_with_front(demo_config(url, options, start))
        try:
            code = asyncio.run(_run_daemon(daemon, view, screen))
        finally:
            screen.close()
    wall_s = time.monotonic() - started
    stopped = view.last_world or end
    standings = {run.name: run.standing() for run in daemon.runs}
    totals = summarise(url, scenarios, min(stopped, end), standings)
    report = write_report(url, totals, scenarios, options.directory / "report")
    rejects = next((s.rejects_path for s in imports.values() if s.rejects_path), None)
    say(f"\nthe daemon stopped (exit code {code}) after {wall_s:.0f} s; {speed_text(view.speeds, live=False)}; "
        "the store and the ledgers say:\n")
    say(summary_text(totals) + "\n")
    idle = idle_lines(totals, view.speeds, view.warned, options.directory / "daemon.log")
    say("".join(line + "\n" for line in idle) + "\n")
    say(f"report: {report}\nrejected rows of the list: {rejects}\ndaemon log (masked): "
        f"{options.directory / 'daemon.log'}\nstore: {url}\n")
    out.flush()
    return DemoResult(url, report, rejects, totals, code, wall_s, view.speeds)

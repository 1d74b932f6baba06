"""``dialer serve``: the engine on asyncio time, one ``Engine`` per campaign, in the foreground for systemd.

Start-up, in order: validate the config (exit 2 on a fault), open and migrate
the store, settle what a dead process left claimed (``store_ports.recover``),
build each campaign's engine with its pacing policy and that policy's stored
parameters (``lists.campaigns.controller_for_campaign``), cap and caller ID, start
APScheduler (campaign hours in each campaign's zone, nightly recycle, DNC
registry age check, daily compliance report, SQLite WAL checkpoint), serve
the HTTP API with ``/livez``, ``/readyz`` and ``/metrics`` (``dialer.api`` on
uvicorn, on this loop), ``gc.freeze()``, then READY=1, and a simulated
world's clock starts (it stood at its start until then, so start-up leaves
it no backlog).

Telephony is the sim driver (modelled customers, ``[sim]``) or Asterisk
(``[asterisk]``, ``dialer.drivers.asterisk``). Agents are the scenario's
simulated shifts, or people working through the API and the agent console
(``dialer.api.floor``): with ``[sim] agents = "api"``, and always on
Asterisk, where logging in calls the agent's phone and holds the line.
A campaign dials only in state ``running`` and within its hours; managers
start, pause and stop it through the API.

SIGTERM (or SIGINT): stop launching, give buffered leads back, let calls in
progress end for up to ``drain_timeout_s``, write what is still open by
``dialer.core.outcomes`` (unanswered: interrupted; answered with no agent: abandoned), flush the
writer and exit 0.

With ``[cluster]`` (several daemons on one PostgreSQL, ``dialer.service.cluster``)
no campaign is built at start-up: ``dialer.service.ownership`` takes campaigns by
lease as the balance allows (``adopt``), drops one whose lease another
daemon took (``lose``), and hands one over without dropping calls
(``drain_run``) for ``dialer drain``, a rebalance or SIGTERM, which also
frees every lease after the flush. Every claim and write then carries the
campaign's fence, and launching waits on the local lease.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Histogram
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialer.core.agents import AgentState
from dialer.core.calls import Call
from dialer.drivers.asterisk import AsteriskDriver
from dialer.drivers.sim.scenario import Scenario, load_scenario
from dialer.service import health
from dialer.service.assembly import Assembly, CampaignRun, Desk
from dialer.service.cluster import Fence, bound_idle_transactions
from dialer.service.config import Config, ConfigError
from dialer.service.floor import SAMPLE_S, History
from dialer.service.http import ApiServer, Response, listen
from dialer.service.idle import ReasonLog, run_facts
from dialer.service.jobs import Jobs
from dialer.service.metrics import EngineCollector, Metrics
from dialer.service.notify import notify
from dialer.service.ownership import Ownership, Taken
from dialer.service.recordings import RecordingStore
from dialer.service.schedule import PACE_CHECK_S, Speeds, WorldClock, window_close_after
from dialer.service.store_ports import (
    Writer,
    open_call_record,
    recover,
)
from lists.idle import Facts, Reason
from lists.idle import reasons as idle_reasons
from lists.lifecycle import CampaignState
from lists.models import Campaign
from lists.rules import in_window
from lists.store import hold_store, open_store

__all__ = ["Daemon", "Front"]

log = logging.getLogger("dialer.service.daemon")
_STORE_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
                  1.0, 2.0, 5.0)  # seconds
_OFF_POLL_S = 0.5  # how often a logging-out agent's state is looked at before their line is hung up, seconds
_PHONE_LINE = "phone_line"  # the pause reason while an agent's phone is called back after an Asterisk restart
_SWITCH_S = 0.001  # GIL hand-over, seconds: the claim and writer threads hold the loop back at most this long


class Front(Protocol):
    """What the daemon serves people through (``dialer.api.front.Front``): the API agents' desk, and the HTTP
    application over the daemon. The API sits in the layer above, so it is handed in, never imported."""

    @property
    def desk(self) -> Desk: ...

    def app(self, daemon: Daemon) -> Any: ...


class Daemon:
    """The service: build with a validated ``Config``, then ``await run()`` for the exit code."""

    def __init__(self, config: Config, front: Front):
        self.config, self.front = config, front
        self.metrics = Metrics()
        self.runs: list[CampaignRun] = []
        self.stop_event = asyncio.Event()
        self.stopping = False
        self.scenario: Scenario | None = load_scenario(config.sim.scenario) if config.sim else None
        own = config.sim.scenarios if config.sim else {}
        self.scenarios = {name: load_scenario(path) for name, path in own.items()}  # campaigns with their own
        self.factory: sessionmaker[Session] = open_store(config.store_url, create=config.create_store,
                                                         key=config.store_key)
        if config.cluster is not None:
            bound_idle_transactions(self.factory.kw["bind"], config.cluster.idle_transaction_s)
        self.claims = ThreadPoolExecutor(1, "dialer-claim")
        self.maintenance = ThreadPoolExecutor(1, "dialer-maintenance")
        self.metrics.registry.register(EngineCollector(lambda: ((r.name, r.engine) for r in self.runs)))
        self.store_time = Histogram("dialer_store_seconds", "Store time of one claim or one written batch",
                                    ["op"], buckets=_STORE_BUCKETS, registry=self.metrics.registry)
        self.desk = front.desk
        self.history = History()
        self.reason_log = ReasonLog()
        self.api_agents = bool(config.sim and config.sim.agents == "api") or config.asterisk is not None
        self.asterisk = (AsteriskDriver(config.asterisk.servers, f"{config.asterisk.app}-{config.name}",
                                        on_agent_lost=self.agent_lost, instance=secrets.token_hex(3),
                                        on_agent_line=self.agent_line)
                         if config.asterisk else None)
        self._line_paused: set[str] = set()  # agents paused while the driver calls their phones back
        self.recordings = (RecordingStore(config.asterisk.recordings_dir)
                           if config.asterisk is not None and config.asterisk.recordings_dir else None)
        self.cors_origins = config.cors_origins
        self.rejects_dir = Path(tempfile.mkdtemp(prefix="dialer-imports-"))
        self.api_threads = ThreadPoolExecutor(4, "dialer-api")
        self.ownership: Ownership | None = None
        self.assembly = Assembly(config, self.scenario, self.scenarios, self.factory, self.metrics, self.store_time,
                                 self.claims, self.desk, self.asterisk, self.api_agents, self._fenced)

    # -- start-up ----------------------------------------------------------------------------------------------
    async def run(self) -> int:
        """Serve until SIGTERM; the exit code. A start-up failure raises a DialerError (one line, exit 2)."""
        hold = hold_store(self.factory, self.config.name)  # before recovery: never settle a live daemon's calls
        try:
            listener = listen(self.config.http_host, self.config.http_port)
            return await self._serve(listener)
        finally:
            hold.release()
            shutil.rmtree(self.rejects_dir, ignore_errors=True)  # uploads' rejects hold raw numbers and names

    async def _serve(self, listener: socket.socket) -> int:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_log_loop_error)
        if self.config.cluster is None:
            self._recover()
        self.world = WorldClock(loop, self._world_start(), self.config.sim.speed if self.config.sim else 1.0,
                                held=self.config.sim is not None)  # a simulated world starts once ready
        self.writer = Writer(self.factory, self.config.name, loop, on_fenced=self._fenced,
                             timed=self.store_time.labels("record").observe)
        self.writer.start()
        if self.asterisk is not None:
            await self.asterisk.start()
        if self.config.cluster is None:
            self.runs.extend(self._build(campaign, loop) for campaign in self._campaigns())
        else:
            self.ownership = Ownership(self, self.config.name, self.config.cluster, [c.id for c in self._campaigns()])
            await self.ownership.start()
        self.jobs = Jobs(self.world, self.factory, self.config.name, self.metrics, self.maintenance, self._sync_hours,
                         self.recordings, self._retention_days())
        self.jobs.start(self.runs)
        for company in {run.company for run in self.runs}:
            await self.jobs.dnc_check(company)
        http = ApiServer(self.front.app(self), self.config.http_host, self.config.http_port,
                         self.config.trusted_proxies)
        port = await http.start(listener)
        for run in self.runs:
            self._sync_hours(run)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)
        sys.setswitchinterval(_SWITCH_S)
        gc.collect()
        gc.freeze()  # start-up objects never move again: no collector pauses walking them mid-call
        log.info("serving", extra={"event": "ready", "http_port": port, "campaigns": [r.name for r in self.runs],
                                   "world_start": self.world.start.isoformat()})
        notify("READY=1")
        self.world.release()
        tasks = [asyncio.create_task(job()) for job in (health.watchdog, self._watch_floor, self._keep_pace)]
        if self.ownership is not None:
            self.ownership.begin()  # renews through the drain below; ended by release_all after the flush
        await self.stop_event.wait()
        for task in tasks:
            task.cancel()
        try:
            return await self._shut_down()
        finally:  # served through the whole drain (``/readyz``: 503, draining), closed only once it is over
            await http.stop()
            self.api_threads.shutdown(wait=True)
            self.maintenance.shutdown(wait=True)  # /readyz's store probe ran on it until now
            self.factory.kw["bind"].dispose()

    def _recover(self) -> None:
        found = recover(self.factory, self.config.name, [c.id for c in self._campaigns()])
        self.metrics.recovered.labels("interrupted").inc(found.interrupted)
        self.metrics.recovered.labels("released").inc(found.released)
        if found.interrupted or found.released:
            log.warning("recovered leads left claimed by a previous run", extra={
                "event": "recovery", "interrupted": found.interrupted, "released": found.released})

    def _build(self, campaign: Campaign, loop: asyncio.AbstractEventLoop, taken: Taken | None = None) -> CampaignRun:
        """The campaign's run (``dialer.service.assembly``) on this daemon's world clock and writer; ``taken``: the
        lease it dials under and the pacing memory it continues from."""
        return self.assembly.build(campaign, self.world, self.writer, loop, taken)

    def _retention_days(self) -> dict[str, int]:
        """Each campaign's recording retention (Asterisk only)."""
        own = self.config.asterisk.campaigns if self.config.asterisk is not None else {}
        return {name: c.recording_retention_days for name, c in own.items()}

    def _world_start(self) -> datetime:
        """The sim's configured start (a local time is in the scenario's zone), else the scenario's day start;
        without the sim driver, now."""
        sim, scenario = self.config.sim, self.scenario
        if sim is None or scenario is None:
            return datetime.now(UTC)
        zone = ZoneInfo(scenario.timezone)
        if sim.start is not None:
            return sim.start if sim.start.tzinfo else sim.start.replace(tzinfo=zone)
        start = time(int(scenario.start_s // 3600), int(scenario.start_s % 3600 // 60))
        return datetime.combine(scenario.date, start, tzinfo=zone)

    def _campaigns(self) -> list[Campaign]:
        with self.factory() as session:
            campaigns = list(session.scalars(select(Campaign).order_by(Campaign.id)))
        if self.config.asterisk is not None:  # a campaign dials on Asterisk only with its telephony settings
            campaigns = self._with_telephony(campaigns)
        if self.config.campaigns is None:
            return campaigns
        known = {c.name: c for c in campaigns}
        missing = [name for name in self.config.campaigns if name not in known]
        if missing:
            raise ConfigError(f"{self.config.source}: [daemon] campaigns: no campaign {missing[0]!r} in the store")
        return [known[name] for name in self.config.campaigns]

    def _with_telephony(self, campaigns: list[Campaign]) -> list[Campaign]:
        assert self.config.asterisk is not None
        own = self.config.asterisk.campaigns
        for campaign in campaigns:
            if campaign.name not in own:
                log.warning("campaign not run: no [asterisk.campaigns] table", extra={
                    "event": "campaign_unconfigured", "campaign": campaign.name})
        return [c for c in campaigns if c.name in own]

    # -- the cluster (dialer.service.ownership) ------------------------------------------------------------------------
    def adopt(self, taken: Taken) -> None:
        """A campaign taken over: its run built on the lease, scheduled, opened if within its hours."""
        recovery = taken.recovery
        self.metrics.recovered.labels("interrupted").inc(recovery.interrupted)
        self.metrics.recovered.labels("released").inc(recovery.released)
        run = self._build(taken.campaign, asyncio.get_running_loop(), taken)
        log.info("campaign taken", extra={
            "event": "campaign_taken", "campaign": taken.campaign.name, "token": taken.fence.token,
            "interrupted": recovery.interrupted, "released": recovery.released, "pacing": run.recalled})
        self.runs.append(run)
        self.jobs.add(run)
        self._sync_hours(run)
        asyncio.get_running_loop().create_task(self.jobs.dnc_check(run.company))

    def _fenced(self, fence: Fence) -> None:
        self.lose(fence, "write refused by the fence")

    def lose(self, fence: Fence, why: str) -> None:
        """Another daemon holds the campaign now: this run launches and writes nothing more (its writes would
        be refused anyway); the new owner settles its calls."""
        run = next((r for r in self.runs if r.fence == fence), None)
        if run is not None:
            log.warning("campaign lost", extra={"event": "campaign_lost", "campaign": run.name,
                                                "token": fence.token, "why": why})
            self.drop(run)

    def drop(self, run: CampaignRun) -> None:
        """Forget a run: no launching, no claims, no scheduled jobs."""
        if run not in self.runs:
            return
        run.engine.stop_dialing(run.clock.now())
        run.leads.open = False
        run.leads.buffer.clear()
        if run.lease is not None:
            run.lease.lose()
        self.jobs.remove(run)
        self.runs.remove(run)
        self.metrics.up.labels(run.name).set(0)
        self.reason_log.forget(run.campaign_id)
        self._unseat(run)

    def _unseat(self, run: CampaignRun) -> None:
        """A run this daemon no longer has: its agents are free to log in where it went (their held lines hung
        up), and its telephony is forgotten so the campaign can be taken again."""
        for agent in list(run.engine.pool.agents):
            if self.desk.seats.get(agent) == run.campaign_id:
                del self.desk.seats[agent]
                if self.asterisk is not None:
                    asyncio.get_running_loop().create_task(self.asterisk.log_out_agent(agent))
        if self.asterisk is not None:
            self.asterisk.campaigns.pop(run.name, None)

    async def drain_run(self, run: CampaignRun) -> None:
        """Stop launching for one campaign, let its calls end (up to the drain timeout), write the rest, flush."""
        run.leaving = True
        run.engine.stop_dialing(run.clock.now())
        run.leads.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout_s
        while run.engine.busy and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self._write_open_calls(run)
        await loop.run_in_executor(None, self.writer.flush, max(10.0, self.config.drain_timeout_s))

    def _sync_hours(self, run: CampaignRun) -> None:
        """Open or close dialing by the campaign's window at the world's now."""
        now, now_s, engine = self.world.now(), run.clock.now(), run.engine
        open_ = in_window(run.profile, (run.zone,), now) and not (self.stopping or run.leaving) \
            and run.state == CampaignState.RUNNING
        if open_ and not engine.dialing:
            closes = window_close_after(run.profile, run.zone, now)
            run.leads.start(now_s)
            engine.start_dialing(now_s, now_s + (closes - now).total_seconds())
            log.info("campaign open", extra={"event": "campaign_open", "campaign": run.name, "until": str(closes)})
        elif not open_ and engine.dialing:
            engine.stop_dialing(now_s)
            run.leads.stop()
            log.info("campaign closed", extra={"event": "campaign_closed", "campaign": run.name})
        self.metrics.up.labels(run.name).set(1 if engine.dialing else 0)

    # -- the API's floor (dialer.api.floor.Floor) -------------------------------------------------------------
    def campaign_run(self, campaign_id: int) -> CampaignRun | None:
        return next((r for r in self.runs if r.campaign_id == campaign_id), None)

    async def phone_in(self, agent: str) -> None:
        """An agent logging in through the API: on Asterisk, their phone is called and held (a nailed-up line)
        before they take calls, unless it is held already; AgentUnreachable when it does not answer. Nothing to
        do on the sim driver."""
        if self.asterisk is not None and agent not in self.asterisk.agents:
            await self.asterisk.log_in_agent(agent)

    async def phone_out(self, agent: str, run: CampaignRun) -> None:
        """An agent logging out: their held line is hung up once they are off (the engine lets a call and its
        wrap-up end first; hanging up at once would leave the customer alone in the bridge)."""
        if self.asterisk is None:
            return
        while agent in run.engine.pool.agents and run.engine.pool.agents[agent].state is not AgentState.OFF:
            await asyncio.sleep(_OFF_POLL_S)
        await self.asterisk.log_out_agent(agent)

    def agent_lost(self, agent: str) -> None:
        """An agent's phone line dropped: they are logged out of their campaign (a call they were on has already
        gone to wrap-up through the driver)."""
        campaign_id = self.desk.seats.get(agent)
        run = self.campaign_run(campaign_id) if campaign_id is not None else None
        if run is not None and agent in run.engine.pool.agents:
            log.warning("agent phone lost", extra={"event": "agent_phone_lost", "agent": agent, "campaign": run.name})
            run.engine.log_out(agent, run.now_s())

    def agent_line(self, agent: str, held: bool) -> None:
        """An agent's phone line went with its Asterisk (``held`` False: a shutdown or a crash; the agent is
        paused, so no call is put through to a line that is not there) or is held again, the driver having called
        the phone back at the reconnect (True: ready again, unless they had paused themselves before)."""
        campaign_id = self.desk.seats.get(agent)
        run = self.campaign_run(campaign_id) if campaign_id is not None else None
        if run is None or agent not in run.engine.pool.agents:
            return
        if not held and run.engine.pool.agents[agent].state not in (AgentState.PAUSED, AgentState.OFF):
            self._line_paused.add(agent)
            run.engine.pause(agent, run.now_s(), _PHONE_LINE)
        elif held and agent in self._line_paused:
            self._line_paused.discard(agent)
            run.engine.ready(agent, run.now_s())
        log.warning("agent phone line %s", "back" if held else "down: calling it back at reconnect",
                    extra={"event": "agent_phone_line", "agent": agent, "campaign": run.name, "held": held})

    def desk_campaigns(self) -> list[int]:
        return [r.campaign_id for r in self.runs]

    def now(self) -> datetime:
        return self.world.now()

    def now_utc(self) -> datetime:
        return datetime.now(UTC)

    async def off_loop(self, fn, *args):  # type: ignore[no-untyped-def]
        """Store work for the API, on its own threads (the scheduler's jobs keep theirs)."""
        return await asyncio.get_running_loop().run_in_executor(self.api_threads, fn, *args)

    async def control(self, campaign_id: int, state: CampaignState) -> None:
        """A manager's start, pause, resume or stop: stored, then the engine opened or closed at once."""
        await self.off_loop(self._store_state, campaign_id, state)
        run = self.campaign_run(campaign_id)
        if run is not None:
            run.state = state
            self._sync_hours(run)
        log.info("campaign state", extra={"event": "campaign_state", "campaign_id": campaign_id, "state": state})

    def _store_state(self, campaign_id: int, state: CampaignState) -> None:
        with self.factory() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None:
                campaign.state = state
                session.commit()

    async def campaign_added(self, campaign_id: int) -> None:
        """A campaign created through the API gets its engine now, idle until a manager starts it."""
        if self.config.campaigns is not None or (self.scenario is None and self.asterisk is None) \
                or self.campaign_run(campaign_id) \
                or self.ownership is not None:  # a cluster's daemons take new campaigns when restarted
            return
        with self.factory() as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            session.expunge(campaign)
        run = self._build(campaign, asyncio.get_running_loop())
        self.runs.append(run)
        self.jobs.add(run)
        self._sync_hours(run)

    def reasons(self, campaign_id: int) -> list[Reason]:
        """Why the campaign is not dialling, and what is wrong while it dials (``lists.idle``), at the world's
        now: for the wallboard, ``/stats`` and the log."""
        run = self.campaign_run(campaign_id)
        now = self.world.now()
        if run is None:
            holder = self.ownership.holders.get(campaign_id) if self.ownership is not None else None
            return idle_reasons(Facts(now, "UTC", CampaignState.RUNNING, "", here=False, holder=holder))
        servers = self.asterisk.status() if self.asterisk is not None else []
        return idle_reasons(run_facts(run, now, self.stopping, servers, tuple(self.jobs.stale.get(run.company, []))))

    async def _watch_floor(self) -> None:
        """Every half second: a stopping campaign with nothing open becomes stopped, and a change in a campaign's
        reasons is logged; every ``SAMPLE_S``, the wallboard's samples."""
        last = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.5)
            for run in self.runs:
                if run.state == CampaignState.STOPPING and not run.engine.busy:
                    await self.control(run.campaign_id, CampaignState.STOPPED)
            for run in self.runs:
                self.reason_log.tell(run.name, run.campaign_id, self.reasons(run.campaign_id))
            if loop.time() - last >= SAMPLE_S:
                last = loop.time()
                for run in self.runs:
                    self.history.sample(run, self.world.now())

    # -- the world's pace ---------------------------------------------------------------------------------------
    async def _keep_pace(self) -> None:
        """Every ``PACE_CHECK_S``: how far the world lags behind its clock and its speeds, as gauges; a simulated
        world the machine cannot carry at the speed asked is slowed down (and sped back up when it can), with a
        log line at each change, so a slow run says why it is slow."""
        while True:
            await asyncio.sleep(PACE_CHECK_S)
            before = self.world.speed
            after = self.world.keep_pace()
            self._publish_pace()
            if after is not None:
                slower = after < before
                log.log(logging.WARNING if slower else logging.INFO,
                        "simulated world slowed: the machine cannot keep up with the speed asked" if slower
                        else "simulated world sped up", extra={
                            "event": "world_speed", "asked": self.world.pace.asked, "speed": round(after, 2),
                            "behind_s": round(self.world.behind_s(), 2)})

    def _publish_pace(self) -> None:
        speeds = self.world.speeds()
        self.metrics.world_lag.set(self.world.behind_s())
        for kind in ("asked", "current", "achieved"):
            self.metrics.world_speed.labels(kind).set(getattr(speeds, kind))

    def world_speeds(self) -> Speeds | None:
        """The simulated world's speeds (asked, current, achieved); None on real telephony, which runs on the
        wall clock."""
        return self.world.speeds() if self.config.sim is not None else None

    # -- health ------------------------------------------------------------------------------------------------
    async def livez(self) -> Response:
        return health.alive()

    async def readyz(self) -> Response:
        checks = {"store": await health.store_answers(self.factory, self.maintenance),
                  "scheduler": bool(self.jobs.scheduler.running),
                  "driver": self.asterisk.connected if self.asterisk else all(
                      run.telephony.engine is not None for run in self.runs),
                  "writer": self.writer.healthy}
        if self.ownership is not None:
            checks["cluster"] = self.ownership.store_ok and not self.ownership.draining
        return health.readiness(checks, draining=self.stopping)

    async def metrics_page(self) -> Response:
        return health.metrics_page(self.metrics)

    # -- shutdown ----------------------------------------------------------------------------------------------
    async def _shut_down(self) -> int:
        """Stop launching, drain, write what is left open, flush; 0 when every record was written. The HTTP server
        goes on serving meanwhile, so ``/readyz`` says 503 with ``draining`` true through the whole drain and
        ``/livez`` 200; ``run`` closes it after."""
        self.stopping = True
        notify("STOPPING=1")
        log.info("draining", extra={"event": "draining", "timeout_s": self.config.drain_timeout_s})
        for run in self.runs:
            run.engine.stop_dialing(run.clock.now())
            run.leads.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout_s
        while any(run.engine.busy for run in self.runs) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        left = sum(self._write_open_calls(run) for run in self.runs)
        self.jobs.scheduler.shutdown(wait=False)
        await loop.run_in_executor(None, self.claims.shutdown, True)
        await asyncio.sleep(0.05)  # let the last claims' callbacks give their leads back
        flushed = await loop.run_in_executor(None, self.writer.stop, max(10.0, self.config.drain_timeout_s))
        if self.asterisk is not None:
            await self.asterisk.stop()
        if self.ownership is not None:
            await self.ownership.release_all()
        log.info("stopped", extra={"event": "stopped", "open_calls_written": left, "flushed": flushed})
        return 0 if flushed else 1

    def _write_open_calls(self, run: CampaignRun) -> int:
        """Calls still open after the drain: each gets its ledger row; a lead never dialled goes back. Agents
        still logged in are logged out in the agents' log: this daemon no longer dials for them."""
        engine = run.engine
        run.presence.sign_out_all(run.clock.now())
        open_calls: dict[int, Call] = {c.id: c for c in (*engine.calls.values(), *engine.wrapping.values())}
        for call in open_calls.values():
            record = open_call_record(call, run.origin)
            if record is None:
                self.writer.release([call.lead], run.fence)
            else:
                self.writer.attempt(run.campaign_id, call.lead, record, run.fence)
        if open_calls:
            log.warning("calls still open after the drain", extra={
                "event": "drain_timeout", "campaign": run.name, "calls": len(open_calls)})
        return len(open_calls)


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:  # type: ignore[type-arg]
    exc = context.get("exception")
    log.error("event loop error: %s", context.get("message"), exc_info=exc, extra={"event": "loop_error"})

"""A campaign's run assembled: its clock, its driver's telephony, its leads, its ledger, its controller, its engine.

Why apart from the daemon: building a run is the one place the layers meet
(the store's claim buffer, the driver, the controller made from the
campaign's stored policy and parameters, the engine), and the daemon builds
runs at start-up, on a takeover and when a manager adds a campaign. Each
run's abandonment figures have one source, its ``AbandonmentLedger``, which
``TimedController`` feeds with what the controller is told and a restart
fills from the store (``lists.models.ledger_days``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Histogram
from sqlalchemy.orm import Session, sessionmaker

from dialer.core.calls import Call
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.outcomes import LineEnd
from dialer.core.ports import AgentConsole
from dialer.drivers.asterisk import AMD_DEFAULTS, AsteriskDriver, CampaignTelephony
from dialer.drivers.sim.scenario import Scenario, for_campaign
from dialer.drivers.sim.store import StoreCustomers
from dialer.drivers.sim.telephony import ShiftLike, SimTelephony, SimWorkforce
from dialer.service.clock import AsyncioClock
from dialer.service.cluster import Fence, LocalLease
from dialer.service.config import Config, ConfigError
from dialer.service.metrics import CampaignRecorder, Metrics, TimedController
from dialer.service.ownership import Taken, epoch_day, recall_pacing
from dialer.service.presence import PresenceLog
from dialer.service.schedule import WorldClock
from dialer.service.store_ports import ClaimBuffer, WriteAheadTelephony, Writer
from lists.campaigns import controller_for_campaign, home_zone
from lists.lifecycle import CampaignState
from lists.models import Campaign, ledger_days
from lists.rules import CallingProfile
from lists.selection import profile_for
from pacing.days import civil_seconds, local_midnight
from pacing.ledger import AbandonmentLedger, Budgeted, Standing

__all__ = ["Assembly", "CampaignRun", "Desk", "Parts", "ForgettingRecorder"]

log = logging.getLogger("dialer.service.daemon")
_STALE_DIAL_S = 2.0  # wall seconds: a cluster daemon makes no dial whose mark took longer (the store was away)


class Desk(Protocol):
    """The agents who work through the API, as the daemon needs them (``dialer.api.floor.AgentDesk``): the
    campaign each is seated in, and the engine's console that reports their states to them."""

    seats: dict[str, int]

    def console(self, campaign_id: int, moment: Callable[[float], datetime]) -> AgentConsole: ...


@dataclass
class CampaignRun:
    """One running campaign: its engine, clock and ports. ``origin``: UTC moment of its engine time 0."""

    name: str
    campaign_id: int
    company: str
    cap: float
    zone: str
    profile: CallingProfile
    origin: datetime
    clock: AsyncioClock
    engine: Engine
    leads: ClaimBuffer
    telephony: SimTelephony | CampaignTelephony
    recorder: CampaignRecorder
    ledger: AbandonmentLedger  # what the law counts: the one source of the campaign's abandonment figures
    presence: PresenceLog  # the agents' log: log-ins, pauses, returns and log-outs, appended to the store
    dial_mode: str = "progressive"
    state: CampaignState = CampaignState.RUNNING  # dials only when running
    fence: Fence | None = None  # several daemons: the lease this run dials under
    lease: LocalLease | None = None
    leaving: bool = False  # being handed over to another daemon: never opened again
    recalled: bool = False  # taken over: its controller continues from the last owner's pacing memory
    countries: tuple[str, ...] = ()  # those it may call, as it was opened (none: it refuses to start)

    def now_s(self) -> float:
        return self.clock.now()

    def civil_now_s(self) -> float:
        """Now on the campaign's civil clock (``pacing.days``), the one its ledger keeps days by."""
        return self.engine.civil(self.now_s())

    def standing(self) -> Standing:
        """Today's live answers and abandons against the cap, from the campaign's ledger."""
        return self.ledger.standing(self.civil_now_s())


@dataclass
class Parts:
    """What a driver gives a campaign's run: its telephony port, the engine settings it implies, the AMD
    false-positive rate the pacing budgets for (fraction of live answers), what to forget when a call is
    written, and, for the sim driver, its simulated agents and their shifts."""

    telephony: SimTelephony | CampaignTelephony
    settings: CampaignSettings
    amd_false_positive: float
    forget: Callable[[Call], object]
    workforce: SimWorkforce | None = None
    shifts: Sequence[ShiftLike] = ()
    days: int = 1


class ForgettingRecorder(CampaignRecorder):
    """The recorder, also letting the driver forget each finished call (a customer plan, a channel's record)."""

    def __init__(self, campaign: str, ledger: AbandonmentLedger, metrics: Metrics, forget: Callable[[Call], object],
                 civil: Callable[[float], float]):
        super().__init__(campaign, ledger, metrics, civil=civil)
        self.forget = forget

    def attempt(self, call: Call) -> None:
        super().attempt(call)
        self.forget(call)


class _Hooks:
    """The engine's timers and the write-ahead's refusals, bound to the engine once it is built (it needs
    them to be built): ``attach``, as a driver attaches."""

    def __init__(self, clock: AsyncioClock, metrics: Metrics, scheduled: bool):
        self.clock, self.metrics, self.scheduled = clock, metrics, scheduled
        self.engine: Engine | None = None

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def wake(self, at_s: float) -> None:
        """Run the engine's timers at ``at_s``; the lateness (by the loop's clock, wall seconds) is the tick lag.

        Why the sim driver stamps the scheduled time (``scheduled``): its
        customers already act at their scheduled times (``SimTelephony``), so
        the simulated world is a discrete-event one paced by the wall clock,
        and a callback run late on a busy machine must not make a 2 s connect
        limit look like 2.3 s at speed 20. A real driver stamps the real time
        (never before the due time: asyncio may run a handle a hair early)."""
        def fire() -> None:
            assert self.engine is not None
            self.metrics.tick_lag.observe(self.clock.late_s(at_s))
            self.engine.advance(at_s if self.scheduled else max(self.clock.now(), at_s))

        self.clock.call_at(at_s, fire)

    def refused(self, call: Call) -> None:
        """A call whose lease ran out, or whose mark came too late, before its dial: never dialled, ended as
        failed (the lead gets its retry time)."""
        assert self.engine is not None
        log.warning("dial refused: lease not held or mark too late",
                    extra={"event": "dial_refused", "campaign": self.engine.settings.name})
        self.engine.hung_up(call.id, self.clock.now(), LineEnd.NOT_PLACED)


class Assembly:
    """Builds campaign runs for one daemon: its config, the sim driver's scenarios (or its Asterisk), its
    store and claim thread, its metrics, and the desk of agents who work through the API."""

    def __init__(self, config: Config, scenario: Scenario | None, scenarios: Mapping[str, Scenario],
                 factory: sessionmaker[Session], metrics: Metrics, store_time: Histogram, claims: Executor,
                 desk: Desk, asterisk: AsteriskDriver | None, api_agents: bool,
                 on_fenced: Callable[[Fence], None]):
        self.config, self.scenario, self.scenarios = config, scenario, scenarios
        self.factory, self.metrics, self.store_time, self.claims = factory, metrics, store_time, claims
        self.desk, self.asterisk, self.api_agents, self.on_fenced = desk, asterisk, api_agents, on_fenced

    def zone(self, campaign: Campaign) -> str:
        """The campaign's time zone: the config's, else the scenario's, else its rules profile's."""
        if campaign.name in self.config.timezones:
            return self.config.timezones[campaign.name]
        return self.scenario.timezone if self.scenario else home_zone(campaign)

    def build(self, campaign: Campaign, world: WorldClock, writer: Writer, loop: asyncio.AbstractEventLoop,
              taken: Taken | None = None) -> CampaignRun:
        """The campaign's engine on its own clock, with the driver's telephony (the sim driver's customers and
        agents, or Asterisk with agents on the API); ``taken``: the lease it dials under (its fence on every
        write) and the pacing memory it continues from."""
        zone = self.zone(campaign)
        origin = local_midnight(world.start, zone).astimezone(UTC)
        clock = world.engine_clock(origin, ordered=self.config.sim is not None)
        parts = self._sim_parts(campaign, clock) if self.asterisk is None else self._asterisk_parts(campaign, clock)
        telephony = parts.telephony
        screen = (parts.workforce if parts.workforce is not None and not self.api_agents
                  else self.desk.console(campaign.id, lambda t: origin + timedelta(seconds=t)))
        fence, lease = (taken.fence, taken.lease) if taken else (None, None)
        console = PresenceLog(screen, writer, campaign.id, lambda t: origin + timedelta(seconds=t), fence)
        may_dial = lease.valid if lease else _always
        leads = ClaimBuffer(campaign.id, self.factory, self.config.name, origin, loop, self.claims, writer,
                            on_claimed=self.metrics.claimed.labels(campaign.name).inc,
                            recheck=True, fence=fence, may_dial=may_dial, on_fenced=self.on_fenced,
                            timed=self.store_time.labels("claim").observe)
        civil = civil_seconds(origin, zone)
        inner = controller_for_campaign(campaign, parts.amd_false_positive)
        own = inner.ledger if isinstance(inner, Budgeted) else None  # predictive paces by a ledger: the one
        ledger = own if own is not None else AbandonmentLedger(cap=campaign.abandon_cap,
                                                               fp_rate=parts.amd_false_positive)
        recorder = ForgettingRecorder(campaign.name, ledger, self.metrics, parts.forget, civil)
        self.metrics.abandon_cap.labels(campaign.name).set(campaign.abandon_cap)
        first = epoch_day(origin, zone)
        recalled = taken is not None and recall_pacing(inner, taken.pacing, campaign.name, first)
        self._restore_counts(campaign, zone, world.now(), first, ledger)
        controller = TimedController(inner, campaign.name, self.metrics, counts=None if own is not None else ledger)
        hooks = _Hooks(clock, self.metrics, scheduled=self.config.sim is not None)
        ahead = WriteAheadTelephony(telephony, writer, leads.moment, fence, may_dial, hooks.refused,
                                    _STALE_DIAL_S if self.config.cluster else math.inf)
        engine = Engine(parts.settings, controller, leads, ahead, recorder, console, wake=hooks.wake, civil=civil)
        hooks.attach(engine)
        telephony.attach(engine)
        if parts.workforce is not None:
            parts.workforce.attach(engine)
            if not self.api_agents:
                parts.workforce.schedule(parts.shifts, parts.days)
        return CampaignRun(campaign.name, campaign.id, campaign.company, campaign.abandon_cap, zone,
                           profile_for(campaign), origin, clock, engine, leads, telephony, recorder, ledger,
                           console, campaign.dial_mode, campaign.state, fence, lease, recalled=recalled,
                           countries=tuple(campaign.countries))

    def _restore_counts(self, campaign: Campaign, zone: str, now: datetime, first: int,
                        ledger: AbandonmentLedger) -> None:
        """The answers and abandons of today and the 30 days before it, from the store's attempts, into the
        campaign's ledger (the controller's own, when it paces by one): a restart or a takeover goes on from the budget
        already spent (the UK cap is per day, the US one over 30 days), not from zero. One grouped query on
        the campaign's dial-time index, before the campaign's first decision. ``first``: the engine's day 0
        (``epoch_day``)."""
        today = now.astimezone(ZoneInfo(zone)).date()
        with self.factory() as session:
            days = ledger_days(session, campaign.id, zone, today, first)
        ledger.restore(days)
        latest = days[today.toordinal() - first]
        log.info("answer counts restored", extra={
            "event": "counts_restored", "campaign": campaign.name,
            "days_with_answers": sum(a.live > 0 for a in days.values()),
            "live_today": int(latest.live - latest.agent_machines), "abandoned_today": int(latest.abandoned),
            "ledger_live_today": ledger.days[today.toordinal() - first].live})

    def _sim_parts(self, campaign: Campaign, clock: AsyncioClock) -> Parts:
        """The sim driver's customers (the campaign's scenario, its people deciding in the campaign's catalogue's
        codes) and, unless agents use the API, its agents."""
        assert self.scenario is not None
        s = for_campaign(self.scenarios.get(campaign.name, self.scenario), campaign.catalogue, campaign.kind)
        telephony = SimTelephony(clock, StoreCustomers(s, clock, campaign.max_attempts).plan, s.amd.delay_s)
        ring_timeout_s = max(seg.no_answer_timeout_s for seg in s.segments)
        settings = CampaignSettings(campaign.name, campaign.caller_id or "", s.pacing.connect_limit_s, s.amd.enabled,
                                    ring_timeout_s, s.pacing.preview_s, s.pacing.tick_s)
        return Parts(telephony, settings, s.amd.false_positive if s.amd.enabled else 0.0,
                          lambda call: telephony.plans.pop(call.id, None),
                          SimWorkforce(clock, telephony, ring_timeout_s + s.amd.delay_s), s.shifts, s.days)

    def _asterisk_parts(self, campaign: Campaign, clock: AsyncioClock) -> Parts:
        """Real calls through Asterisk, with the campaign's ``[asterisk.campaigns.NAME]`` settings; its agents
        work through the API."""
        assert self.asterisk is not None and self.config.asterisk is not None
        own = self.config.asterisk.campaigns.get(campaign.name)
        if own is None:
            raise ConfigError(f"{self.config.source}: [asterisk.campaigns.{campaign.name}]: missing: every campaign "
                              "needs its telephony settings (safe_harbour at least)")
        telephony = self.asterisk.campaign(campaign.name, clock, campaign.caller_id or "", own.trunk_limit,
                                           own.safe_harbour, amd=AMD_DEFAULTS[own.amd_language])
        settings = CampaignSettings(campaign.name, campaign.caller_id or "", own.connect_limit_s, own.amd,
                                    own.ring_timeout_s, tick_s=own.tick_s)
        return Parts(telephony, settings, own.amd_false_positive if own.amd else 0.0,
                     lambda call: None)  # the driver keeps nothing of a finished call: its recording is on the call


def _always() -> bool:
    return True

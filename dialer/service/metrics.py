"""Prometheus metrics and the daemon's ``Recorder``: what ops graph and what the journal keeps.

Names use base units with ``_total`` and ``_seconds``; labels are the
campaign, a state or a result, never a phone number. States of calls and
agents are read from the engines at scrape time (``EngineCollector``) on the
event loop, so a scrape sees one consistent floor.

Abandonment here is the campaign's ``AbandonmentLedger`` (``pacing.ledger``),
fed by ``TimedController`` with exactly what the controller is told: the
gauges, the wallboard, the API's stats and the daily compliance log all read
that one ledger, so the UK's AMD false positives count the same everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dialer.core.agents import AgentState
from dialer.core.calls import Call, CallState
from dialer.core.engine import Engine
from lists.numbers import mask_number
from pacing.controllers import AttemptOutcome, Controller, Decision, Snapshot
from pacing.ledger import AbandonmentLedger

__all__ = ["Metrics", "EngineCollector", "CampaignRecorder", "TimedController"]

log = logging.getLogger("dialer.attempts")


class Metrics:
    """The daemon's registry and instruments (one set for every campaign, labelled by campaign)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter("dialer_calls", "Finished attempts by result", ["campaign", "result"], registry=r)
        self.dial_level = Gauge("dialer_dial_level", "Calls in flight plus calls launched, per logged-in agent",
                                ["campaign"], registry=r)
        self.abandon_rate = Gauge("dialer_abandon_ratio", "Abandoned share of today's live answers", ["campaign"],
                                  registry=r)
        self.abandon_cap = Gauge("dialer_abandon_cap_ratio", "The campaign's abandonment cap", ["campaign"],
                                 registry=r)
        self.abandon_budget = Gauge("dialer_abandon_budget_calls",
                                    "Abandons today's cap can still absorb at today's live answers", ["campaign"],
                                    registry=r)
        self.decision = Histogram("dialer_decision_seconds", "Time of one pacing decision", ["campaign"],
                                  buckets=(1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0), registry=r)
        self.tick_lag = Histogram("dialer_tick_lag_seconds", "Wall seconds an engine wake-up ran late",
                                  buckets=(1e-3, 3e-3, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0, 3.0), registry=r)
        self.world_lag = Gauge("dialer_world_lag_seconds", "World seconds the simulated world's earliest due "
                               "event waits behind the world's clock", registry=r)
        self.world_speed = Gauge("dialer_world_speed_ratio", "World seconds per wall second: asked, current, and "
                                 "achieved on average since start-up", ["kind"], registry=r)
        self.claimed = Counter("dialer_leads_claimed", "Leads claimed from the store", ["campaign"], registry=r)
        self.recovered = Counter("dialer_recovered_leads", "Leads a dead process left claimed, by what was done",
                                 ["action"], registry=r)
        self.dnc_stale = Gauge("dialer_dnc_registries_stale", "DNC registry copies older than allowed",
                               ["company"], registry=r)
        self.up = Gauge("dialer_campaign_dialing", "1 while the campaign is within its hours", ["campaign"],
                        registry=r)


class EngineCollector(Collector):
    """Calls in flight by state and agents by state, read from every engine at scrape time."""

    def __init__(self, engines: Callable[[], Iterable[tuple[str, Engine]]]):
        self.engines = engines

    def collect(self) -> Iterator[GaugeMetricFamily]:
        calls = GaugeMetricFamily("dialer_calls_in_flight", "Calls by state, not yet ended", labels=["campaign",
                                                                                                    "state"])
        agents = GaugeMetricFamily("dialer_agents", "Agents by state", labels=["campaign", "state"])
        for name, engine in self.engines():
            counts = dict.fromkeys(CallState, 0)
            for call in engine.calls.values():
                counts[call.state] += 1
            counts[CallState.TALKING] = sum(1 for a in engine.pool if a.state is AgentState.TALKING)
            for state, n in counts.items():
                if state is not CallState.ENDED:
                    calls.add_metric([name, state.value], n)
            for agent_state in AgentState:
                agents.add_metric([name, agent_state.value], engine.pool.count(agent_state))
        yield calls
        yield agents


@dataclass
class CampaignRecorder:
    """The engine's ``Recorder`` for one campaign: counters, today's abandonment, a JSON log line per attempt."""

    campaign: str
    ledger: AbandonmentLedger
    metrics: Metrics
    civil: Callable[[float], float] = field(default=lambda t: t)  # engine seconds to the campaign's civil seconds

    def attempt(self, call: Call) -> None:
        assert call.outcome is not None and call.dialled_s is not None
        self.metrics.calls.labels(self.campaign, call.outcome.value).inc()
        self._publish(self.civil(call.dialled_s))
        # the number masked here, not only by the JSON formatter: any handler may see the record
        log.info("attempt %s", call.outcome.value, extra={
            "event": "attempt", "campaign": self.campaign, "lead": call.lead, "number": mask_number(call.number),
            "result": call.outcome.value, "agent": call.agent, "attempt": call.attempt + 1,
            "disposition": call.disposition.code if call.disposition else None,
            "message_played": call.message_played})

    def _publish(self, civil_s: float) -> None:
        """The abandonment gauges as the ledger stands on ``civil_s``'s day."""
        standing, m, c = self.ledger.standing(civil_s), self.metrics, self.campaign
        m.abandon_rate.labels(c).set(standing.rate)
        m.abandon_budget.labels(c).set(standing.budget)

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        """Agents' busy time is read as state at scrape time; nothing to keep here."""

    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("decision: %s (placed %d)", decision.explain(), placed,
                      extra={"event": "decision", "campaign": self.campaign, "t_s": now_s})


class TimedController:
    """A ``Controller`` that times each decision and sets the dial level; everything else passes through.

    ``counts``: the campaign's ledger (the figures everyone reads), fed with each answer the controller is told
    of. None for a controller that paces by its own ledger: that one is the campaign's, and the controller
    counts in it itself, so nothing is counted twice."""

    def __init__(self, inner: Controller, campaign: str, metrics: Metrics, counts: AbandonmentLedger | None):
        self.inner, self.campaign, self.metrics, self.counts = inner, campaign, metrics, counts
        self.name, self.reserves_agent = inner.name, inner.reserves_agent

    def decide(self, snapshot: Snapshot) -> Decision:
        started = time.perf_counter()
        decision = self.inner.decide(snapshot)
        self.metrics.decision.labels(self.campaign).observe(time.perf_counter() - started)
        level = (snapshot.in_flight + decision.launch) / snapshot.agents_logged_in if snapshot.agents_logged_in else 0
        self.metrics.dial_level.labels(self.campaign).set(level)
        return decision

    def placed(self, now_s: float, count: int) -> None:
        self.inner.placed(now_s, count)

    def observe(self, outcome: AttemptOutcome) -> None:
        self.inner.observe(outcome)
        if self.counts is not None:
            self.counts.observe(outcome)

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        self.inner.observe_handle(at_s, handle_s)

    def observe_machine(self, at_s: float) -> None:
        self.inner.observe_machine(at_s)
        if self.counts is not None:
            self.counts.agent_machine(at_s)

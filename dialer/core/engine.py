"""The dialing engine: the only code that changes call and agent state, for the simulator and the daemon alike.

Why one engine with no I/O: what analysts tune in simulation must be what
runs in production, so both drive this same object. It never reads a clock
and never blocks. Timestamped events come in (a driver's answer, an AMD
verdict, an agent's wrap-up, a timer firing) and are handled one at a time to
completion; commands go out through the ports in ``dialer.core.ports``. Timers are
kept here in a heap; the runner is asked to call ``advance(now)`` at each
one's time through ``wake`` (SimPy time in the simulator, asyncio's loop in
the daemon).

Pacing runs when an agent becomes free and every ``tick_s`` otherwise: the
snapshot of every call and agent (``dialer.core.snapshot``) goes to the
controller, the lead source is asked for that many dialable leads (every
rule re-checked at claim time), and the controller is told how many calls
were really placed.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from itertools import count

from dialer.core.agents import Agent, AgentPool, AgentState
from dialer.core.calls import AmdResult, Call, CallState, Disposition, IllegalTransition
from dialer.core.outcomes import LineEnd, outcome_of
from dialer.core.ports import AgentConsole, ClaimedLead, LeadSource, Recorder, TelephonyDriver, Waker
from dialer.core.snapshot import FLIGHT, IN_FLIGHT, Flight, snapshot_of
from dialer.records import Outcome
from pacing.controllers import Controller, Snapshot

__all__ = ["CampaignSettings", "Engine", "Timer"]


@dataclass(frozen=True)
class CampaignSettings:
    """What the engine needs of a campaign. ``connect_limit_s``: an answered person must reach an agent within
    this many seconds, else the safe-harbour message plays and the call counts as abandoned (None: wait)."""

    name: str
    caller_id: str = ""
    connect_limit_s: float | None = 2.0
    amd: bool = False
    ring_timeout_s: float = 25.0
    preview_s: float = 0.0
    tick_s: float = 1.0
    safe_harbour_message: str = "safe-harbour"


class Timer(Enum):
    PACE = "pace"
    TICK = "tick"
    PREVIEW = "preview"
    CONNECT = "connect"


def _same(seconds: float) -> float:
    return seconds


class Engine:
    """One campaign's floor: its calls, its agents, its controller.

    ``civil`` maps engine seconds to the campaign's civil seconds (from the
    same local midnight, counting local clock time), the clock the
    controller's days and hours of day follow: across a daylight-saving
    change a local day is 23 or 25 hours, so ``pacing.days.day_index(t)`` of engine time
    would put the day's boundary an hour off. Durations stay in engine
    seconds. Default: the identity (the simulator's fixed-offset days)."""

    def __init__(self, settings: CampaignSettings, controller: Controller, leads: LeadSource,
                 telephony: TelephonyDriver, recorder: Recorder, console: AgentConsole, wake: Waker,
                 civil: Callable[[float], float] | None = None):
        self.settings, self.controller, self.leads = settings, controller, leads
        self.civil = civil or _same
        self.telephony, self.recorder, self.console, self.wake = telephony, recorder, console, wake
        self.pool = AgentPool()
        self.calls: dict[int, Call] = {}  # calls not yet with an agent or ended
        self.wrapping: dict[str, Call] = {}  # agent id: the call they are on or writing the disposition of
        self._talking: dict[int, Call] = {}  # call id: calls with an agent, until the line closes
        self.dialing = False
        self.day_end_s = math.inf
        self._timers: list[tuple[float, int, Timer, int]] = []
        self._seq = count()
        self._ids = count(1)
        self._tick_due_s = math.inf  # the next pacing tick: tick_s after the last decision
        self._tick_armed = False
        self._pace_pending = False
        self._latest_s = -math.inf
        self._flights: dict[Flight, dict[int, Call]] = {flight: {} for flight in IN_FLIGHT}

    def _monotonic(self, now_s: float) -> float:
        """Engine time never runs back: an event stamped before one already handled (a wall-clock loop may run
        callbacks out of order when it lags) is handled at the latest time seen."""
        self._latest_s = max(self._latest_s, now_s)
        return self._latest_s

    # -- campaign hours ----------------------------------------------------------------------------------------
    def start_dialing(self, now_s: float, day_end_s: float) -> None:
        """Open the day's dialing until ``day_end_s`` (seconds on the engine's clock)."""
        now_s = self._monotonic(now_s)
        self.dialing, self.day_end_s = True, day_end_s
        self._request_pace(now_s)

    def stop_dialing(self, now_s: float) -> None:
        """Launch nothing more; calls in flight go on to their end."""
        self.dialing = False

    @property
    def in_flight(self) -> int:
        return len(self.calls)

    @property
    def busy(self) -> bool:
        """Any call or wrap-up still open: a drain waits for this to turn False."""
        return bool(self.calls or self.wrapping)

    def snapshot(self, now_s: float) -> Snapshot:
        """The floor for the controller: ages in engine seconds, the moment on the campaign's civil clock."""
        flights = {flight: calls.values() for flight, calls in self._flights.items()}
        return snapshot_of(now_s, flights, self.pool, self.day_end_s - now_s, self.civil(now_s), self.wait_s)

    def _move(self, call: Call, to: CallState, now_s: float) -> None:
        """The one place a call changes state: its flight bucket follows, so a snapshot need not scan calls."""
        old, new = FLIGHT[call.state], FLIGHT[to]
        call.move(to, now_s)
        if old is not new:
            if old in self._flights:
                del self._flights[old][call.id]
            if new in self._flights:
                self._flights[new][call.id] = call

    # -- agent inputs ------------------------------------------------------------------------------------------
    def log_in(self, agent_id: str, now_s: float) -> None:
        """The agent logs in ready; one still on a call from before simply stays."""
        self._return(agent_id, self._monotonic(now_s), AgentState.OFF)

    def ready(self, agent_id: str, now_s: float) -> None:
        """Back from a pause (or a pause asked for mid-call is taken back)."""
        self._return(agent_id, self._monotonic(now_s), AgentState.PAUSED)

    def _return(self, agent_id: str, now_s: float, away: AgentState) -> None:
        """The agent stays: no pending leave, no wind-down; one ``away`` becomes free for calls."""
        agent = self.pool.get(agent_id)
        self.pool.set_winding_down(agent, False)
        agent.pending = None
        if agent.state is away:
            self._free(agent, now_s)

    def pause(self, agent_id: str, now_s: float, reason: str) -> None:
        """Pause now if idle, else when the current call and wrap-up are done."""
        now_s = self._monotonic(now_s)
        agent = self.pool.get(agent_id)
        agent.pause_reason = reason
        self._leave(agent, AgentState.PAUSED, now_s)

    def log_out(self, agent_id: str, now_s: float) -> None:
        """Log out now if idle, else when the current call and wrap-up are done."""
        self._leave(self.pool.get(agent_id), AgentState.OFF, self._monotonic(now_s))

    def wind_down(self, agent_id: str) -> None:
        """The agent leaves soon: they still take calls, but none is launched for them."""
        self.pool.set_winding_down(self.pool.get(agent_id), True)

    def agent_hang_up(self, agent_id: str, now_s: float) -> None:
        """The agent ends the conversation: the line is hung up and the agent goes to wrap-up."""
        now_s = self._monotonic(now_s)
        call = self.wrapping.get(agent_id)
        if call is None or call.state is not CallState.TALKING:
            raise IllegalTransition(f"agent {agent_id}: no connected call to hang up")
        call.hangup_s = now_s
        self.telephony.hang_up(call)
        self._to_wrap_up(call, now_s)

    def wrap_done(self, agent_id: str, now_s: float, disposition: Disposition) -> None:
        """The agent closes the call with its disposition; the attempt is complete and the agent is free."""
        now_s = self._monotonic(now_s)
        agent = self.pool.get(agent_id)
        if agent.state is not AgentState.WRAP_UP or agent_id not in self.wrapping:
            raise IllegalTransition(f"agent {agent_id}: no call in wrap-up to close")
        call = self.wrapping.pop(agent_id)
        call.disposition, call.wrapped_s = disposition, now_s
        if disposition.code == "machine":
            call.outcome = Outcome.MACHINE
        self._finish(call)
        self.recorder.busy(agent_id, agent.busy_since_s, now_s)
        self.controller.observe_handle(self.civil(now_s), now_s - agent.busy_since_s)
        if call.outcome is Outcome.MACHINE and call.answered_s is not None:
            self.controller.observe_machine(self.civil(call.answered_s))  # the day it was counted as live
        self._free(agent, now_s)

    # -- driver events -----------------------------------------------------------------------------------------
    def answered(self, call_id: int, now_s: float) -> None:
        """Someone or something picked up: AMD listens first if on, else the call goes to an agent."""
        now_s = self._monotonic(now_s)
        call = self.calls[call_id]
        call.answered_s = now_s
        if self.settings.amd:
            self._move(call, CallState.ANALYSING, now_s)
        else:
            self._connect(call, now_s)

    def amd_result(self, call_id: int, now_s: float, verdict: AmdResult) -> None:
        """AMD's verdict: a machine is hung up on (a person wrongly called a machine counts in the UK); a person,
        or a call AMD was not sure of, goes to an agent, or at once to the message when none is free (the connect
        limit ran from the greeting's end, before the verdict: see ``_connect``)."""
        now_s = self._monotonic(now_s)
        call = self.calls[call_id]
        call.amd_end_s, call.amd_machine, call.amd_result = now_s, verdict.machine, verdict
        if verdict.silence_s is not None:
            call.greeting_end_s = now_s - verdict.silence_s
        if not verdict.machine:
            self._connect(call, now_s)
            return
        call.outcome, call.hangup_s = Outcome.MACHINE, now_s
        self.telephony.hang_up(call)
        self._end(call, now_s)

    def hung_up(self, call_id: int, now_s: float, end: LineEnd = LineEnd.HUNG_UP) -> None:
        """The line closed, ``end`` saying how: the customer hung up, our message or hang-up completed, or the
        call never got through (busy, no answer, a shutdown...). The outcome follows the call's stage and
        ``end`` (``dialer.core.outcomes``). A call the engine has already ended (the agent hung up first) is
        ignored."""
        now_s = self._monotonic(now_s)
        call = self.calls.get(call_id) or self._talking.get(call_id)
        if call is None:
            return
        call.hangup_s = call.hangup_s if call.state is CallState.SAFE_HARBOUR else now_s
        if call.state is CallState.TALKING:
            self._to_wrap_up(call, now_s)
            return
        if call.state is CallState.QUEUED:
            self.pool.remove_waiting(call.id)
        call.outcome = outcome_of(call.state, end)
        self._end(call, now_s)

    # -- timers ------------------------------------------------------------------------------------------------
    def advance(self, now_s: float) -> None:
        """Fire every timer due by ``now_s``, then run a pacing decision if one was asked for."""
        now_s = self._monotonic(now_s)
        while self._timers and self._timers[0][0] <= now_s:
            _, _, kind, ref = heapq.heappop(self._timers)
            self._fire(kind, ref, now_s)
        if self._pace_pending:
            self._pace_pending = False
            self._pace(now_s)

    def _fire(self, kind: Timer, ref: int, now_s: float) -> None:
        if kind is Timer.TICK:
            self._tick_armed = False
            if now_s >= self._tick_due_s:
                self._pace_pending = True
            else:  # a decision came since: one timer, moved on, not one timer per decision
                self._arm_tick()
        elif kind is Timer.PREVIEW and ref in self.calls:
            self._originate(self.calls[ref], now_s)
        elif kind is Timer.CONNECT and ref in self.calls and self.calls[ref].state is CallState.QUEUED:
            self._give_up(self.calls[ref], now_s)

    def _at(self, at_s: float, kind: Timer, ref: int = 0) -> None:
        heapq.heappush(self._timers, (at_s, next(self._seq), kind, ref))
        self.wake(at_s)

    def _request_pace(self, now_s: float) -> None:
        if not self._pace_pending:
            self._pace_pending = True
            self.wake(now_s)

    # -- pacing ------------------------------------------------------------------------------------------------
    def _pace(self, now_s: float) -> None:
        if not self.dialing:
            return
        decision = self.controller.decide(self.snapshot(now_s))
        leads = self.leads.claim(decision.launch, now_s) if decision.launch > 0 else ()
        for lead in leads:
            self._launch(lead, now_s)
        self.controller.placed(self.civil(now_s), len(leads))
        self.recorder.decision(now_s, decision, len(leads))
        self._tick_due_s = now_s + self.settings.tick_s
        if not self._tick_armed:
            self._arm_tick()

    def _arm_tick(self) -> None:
        self._tick_armed = True
        self._at(self._tick_due_s, Timer.TICK)

    def _launch(self, lead: ClaimedLead, now_s: float) -> None:
        call = Call(next(self._ids), lead.key, lead.number, lead.segment, lead.attempt, payload=lead.payload)
        self.calls[call.id] = call
        if not self.controller.reserves_agent:
            self._originate(call, now_s)
            return
        agent = self.pool.take_idle()
        if agent is None:
            raise IllegalTransition("preview launch with no idle agent to reserve")
        self.pool.move(agent, AgentState.RESERVED)
        agent.call, call.agent = call.id, agent.id
        self._move(call, CallState.PREVIEW, now_s)
        self.console.agent_changed(agent, call, now_s)
        self._at(now_s + self.settings.preview_s, Timer.PREVIEW, call.id)

    def _originate(self, call: Call, now_s: float) -> None:
        self._move(call, CallState.RINGING, now_s)
        call.dialled_s = now_s
        s = self.settings
        self.telephony.originate(call, s.caller_id, s.ring_timeout_s, s.amd)

    # -- connecting --------------------------------------------------------------------------------------------
    def _connect(self, call: Call, now_s: float) -> None:
        """A person (as far as the dialer knows) is on the line: to their reserved agent, the longest-idle one,
        or the queue for what is left of the connect limit (``wait_s``; none after an AMD verdict: the message
        starts at once)."""
        call.outcome = Outcome.HUMAN
        agent = self.pool.get(call.agent) if call.agent else self.pool.take_idle()
        if agent is not None:
            self._bridge(call, agent, now_s)
            return
        self._move(call, CallState.QUEUED, now_s)
        call.queued_s = now_s
        self.pool.waiting.append(call.id)
        if self.settings.connect_limit_s is None:
            return
        if self.settings.amd:
            self._give_up(call, now_s)
        else:
            self._at(now_s + self.settings.connect_limit_s, Timer.CONNECT, call.id)

    @property
    def wait_s(self) -> float:
        """How long a person the dialer has just found may wait for an agent before the safe-harbour message,
        seconds: the connect limit from the answer; with AMD on, none. Why none: the limit counts from the end of
        the greeting (US TSR, Ofcom), and AMD decides only after the greeting and the silence after it, so at the
        verdict the time left is the limit less that silence, less the time the message takes to reach the
        person: too little to wait for an agent to come free. With no limit the controller still paces for the
        law's 2 s."""
        limit = self.settings.connect_limit_s
        return 2.0 if limit is None else 0.0 if self.settings.amd else limit

    def _bridge(self, call: Call, agent: Agent, now_s: float) -> None:
        self._move(call, CallState.TALKING, now_s)
        self.pool.move(agent, AgentState.TALKING)
        call.connected_s, call.agent = now_s, agent.id
        agent.call, agent.busy_since_s = call.id, now_s
        del self.calls[call.id]
        self.wrapping[agent.id] = self._talking[call.id] = call
        self.telephony.bridge(call, agent.id)
        self.console.agent_changed(agent, call, now_s)
        self._observe(call)

    def _give_up(self, call: Call, now_s: float) -> None:
        """The connect limit passed: play the safe-harbour message and hang up; the call is abandoned."""
        self.pool.remove_waiting(call.id)
        self._move(call, CallState.SAFE_HARBOUR, now_s)
        call.outcome, call.message_played, call.hangup_s, call.message_s = Outcome.ABANDONED, True, now_s, now_s
        self.telephony.play_and_hang_up(call, self.settings.safe_harbour_message)
        self._observe(call)

    def _to_wrap_up(self, call: Call, now_s: float) -> None:
        del self._talking[call.id]
        self._move(call, CallState.ENDED, now_s)
        call.ended_s = now_s
        assert call.agent is not None
        agent = self.pool.get(call.agent)
        self.pool.move(agent, AgentState.WRAP_UP)
        self.console.agent_changed(agent, call, now_s)

    # -- endings -----------------------------------------------------------------------------------------------
    def _end(self, call: Call, now_s: float) -> None:
        """A call that never reached an agent is over: free a reserved agent, learn, record."""
        self._move(call, CallState.ENDED, now_s)
        call.ended_s = now_s
        del self.calls[call.id]
        if call.agent is not None:
            self._free(self.pool.get(call.agent), now_s)
        self._observe(call)
        self._finish(call)

    def _observe(self, call: Call) -> None:
        """Tell the controller the attempt's result once, as soon as the dialer knows it."""
        if not call.observed and call.outcome not in (Outcome.FAILED, Outcome.INTERRUPTED):
            call.observed = True
            self.controller.observe(call.as_outcome(self.civil))

    def _finish(self, call: Call) -> None:
        self.leads.record(call)
        self.recorder.attempt(call)

    def _leave(self, agent: Agent, to: AgentState, now_s: float) -> None:
        self.pool.leave_idle(agent, to)
        self.console.agent_changed(agent, None, now_s)

    def _free(self, agent: Agent, now_s: float) -> None:
        """The agent has no call: to a pending pause or log-out, else to the first waiting call, else idle."""
        if agent.pending is not None:
            self.pool.move(agent, agent.pending)
            agent.pending, agent.call = None, None
            self.pool.set_winding_down(agent, False)
            self.console.agent_changed(agent, None, now_s)
            return
        self.pool.make_ready(agent, now_s)
        while self.pool.waiting and self.pool.idle:
            call = self.calls[self.pool.waiting.popleft()]
            self._bridge(call, self.pool.take_idle(), now_s)  # type: ignore[arg-type]
        if agent.state is AgentState.READY:
            self.console.agent_changed(agent, None, now_s)
            self._request_pace(now_s)

"""The simulated telephone network and workforce: modelled customers and agents, on any clock.

Why here and not in ``simulation``: the daemon's demo and its end-to-end
tests run the real engine against simulated customers and agents, on asyncio
time; the simulator runs the same driver on SimPy time. Both replay the
same per-(lead, attempt) draws (``CustomerPlan``), so one seed gives one day
whichever clock runs it.

The clock is a ``Scheduler``: ``now()`` and ``call_at(at_s, fn)``. Every
event reaches the engine through the scheduler, never inside the engine's
own command, so the engine handles one event at a time to completion, and
carries the time it was scheduled for (a wall-clock loop may run it late;
the simulated world keeps its own times).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from dialer.core.agents import Agent, AgentState
from dialer.core.calls import AmdResult, Call, CallState, Disposition
from dialer.core.engine import Engine
from dialer.core.outcomes import LineEnd
from dialer.records import Outcome
from pacing.days import DAY_S

__all__ = ["Scheduler", "CustomerPlan", "SimTelephony", "ShiftLike", "SimWorkforce", "NETWORK_RESULTS",
           "AFTER_GREETING_SILENCE_S"]

NETWORK_RESULTS = (Outcome.HUMAN, Outcome.MACHINE, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.INVALID)
AFTER_GREETING_SILENCE_S = 0.8
"""AMD decides "person" after this much silence following the greeting (Asterisk's ``after_greeting_silence``):
the greeting ended this long before the verdict, and a person's patience counts from then."""
_UNANSWERED = {Outcome.BUSY: LineEnd.BUSY, Outcome.NO_ANSWER: LineEnd.NO_ANSWER, Outcome.INVALID: LineEnd.INVALID}


class Scheduler(Protocol):
    """A clock in seconds, and callbacks at given times on it."""

    def now(self) -> float: ...

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None: ...


@dataclass(frozen=True)
class CustomerPlan:
    """What the far end of one attempt will do. ``result``: one of ``NETWORK_RESULTS``; ``after_s``: seconds
    from the dial to the answer or to the busy, invalid or no-answer signal; ``patience_s``: how long a person
    waits for an agent after the greeting (and AMD) before hanging up; ``talk_s`` and ``wrap_s``: the
    conversation and the agent's wrap-up, seconds; ``disposition``: what the agent will record."""

    result: Outcome
    after_s: float
    amd_says_machine: bool = False
    patience_s: float = math.inf
    talk_s: float = 0.0
    wrap_s: float = 0.0
    disposition: Disposition = Disposition("machine")


class SimTelephony:
    """A ``TelephonyDriver`` whose far ends follow their ``CustomerPlan``. ``amd_delay_s``: how long AMD listens,
    from the answer to its verdict (the greeting ended ``AFTER_GREETING_SILENCE_S`` before the verdict);
    ``message_s``: the safe-harbour message's length."""

    def __init__(self, clock: Scheduler, plan_for: Callable[[Call], CustomerPlan], amd_delay_s: float = 2.5,
                 message_s: float = 0.0):
        self.clock, self.plan_for, self.amd_delay_s, self.message_s = clock, plan_for, amd_delay_s, message_s
        self.plans: dict[int, CustomerPlan] = {}
        self.engine: Engine | None = None

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def _at(self, at_s: float, fn: Callable[[float], None]) -> None:
        self.clock.call_at(at_s, lambda: fn(at_s))

    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None:
        assert self.engine is not None
        engine, plan = self.engine, self.plan_for(call)
        self.plans[call.id] = plan
        assert call.dialled_s is not None
        at = call.dialled_s + plan.after_s
        if plan.result not in (Outcome.HUMAN, Outcome.MACHINE):
            self._at(at, lambda t: engine.hung_up(call.id, t, _UNANSWERED[plan.result]))
            return
        self._at(at, lambda t: engine.answered(call.id, t))
        greeting_end = at  # without AMD the dialer knows no greeting: it counts from the answer
        if amd:
            verdict, silence = at + self.amd_delay_s, min(AFTER_GREETING_SILENCE_S, self.amd_delay_s)
            greeting_end = verdict - silence
            self._at(verdict, lambda t: engine.amd_result(call.id, t, AmdResult(plan.amd_says_machine,
                                                                                silence_s=silence)))
        if plan.result is Outcome.HUMAN and math.isfinite(plan.patience_s):
            self._at(greeting_end + plan.patience_s, lambda t: self._lose_patience(call, t))

    def _lose_patience(self, call: Call, now_s: float) -> None:
        if call.state is CallState.QUEUED:
            assert self.engine is not None
            self.engine.hung_up(call.id, now_s)

    def bridge(self, call: Call, agent: str) -> None:
        assert self.engine is not None
        engine = self.engine
        assert call.connected_s is not None
        self._at(call.connected_s + self.plans[call.id].talk_s, lambda t: engine.hung_up(call.id, t))

    def play_and_hang_up(self, call: Call, message: str) -> None:
        assert self.engine is not None
        engine = self.engine
        assert call.hangup_s is not None
        self._at(call.hangup_s + self.message_s, lambda t: engine.hung_up(call.id, t))

    def hang_up(self, call: Call) -> None:
        """The far end needs no notice: its pending events check the call's state."""

    def forget(self, call: Call) -> CustomerPlan:
        """The plan of a finished call, dropped from memory (the accounting reads it once)."""
        return self.plans.pop(call.id)


class ShiftLike(Protocol):
    """A shift: ``count`` agents from ``start_s`` to ``end_s`` (seconds after local midnight), with breaks."""

    @property
    def count(self) -> int: ...

    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...

    @property
    def breaks(self) -> Sequence[tuple[float, float]]: ...


class SimWorkforce:
    """Simulated agents on shifts: log in, breaks, log out, and wrap-up with the plan's disposition.

    ``wind_down_s``: an agent stops being dialled for this long before a break or the shift's end (about one
    ring horizon), so calls launched for them still find them in."""

    def __init__(self, clock: Scheduler, telephony: SimTelephony, wind_down_s: float = 0.0):
        self.clock, self.telephony, self.wind_down_s = clock, telephony, wind_down_s
        self.names: list[str] = []
        self._engine: Engine | None = None

    def attach(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "attach the engine first"
        return self._engine

    def schedule(self, shifts: Sequence[ShiftLike], days: int, day_s: float = DAY_S) -> None:
        """Put every agent's day on the clock: ``days`` days from the clock's time 0."""
        for shift in shifts:
            names = [f"a{len(self.names) + k + 1}" for k in range(shift.count)]
            self.names.extend(names)
            for day in range(days):
                for name in names:
                    self._agent_day(name, shift, day * day_s)

    def _agent_day(self, name: str, shift: ShiftLike, base_s: float) -> None:
        e, at = self.engine, self.clock.call_at
        start_s = base_s + shift.start_s
        at(start_s, lambda: e.log_in(name, start_s))
        for start, end in shift.breaks:
            self._step_away(name, base_s + start, lambda t: e.pause(name, t, "break"))
            at(base_s + end, partial(e.ready, name, base_s + end))
        self._step_away(name, base_s + shift.end_s, lambda t: e.log_out(name, t))

    def _step_away(self, name: str, at_s: float, leave: Callable[[float], None]) -> None:
        self.clock.call_at(max(0.0, at_s - self.wind_down_s), lambda: self.engine.wind_down(name))
        self.clock.call_at(at_s, lambda: leave(at_s))

    def agent_changed(self, agent: Agent, call: Call | None, now_s: float) -> None:
        """The agent's screen: after each call, wrap up for the plan's time and record its disposition."""
        if agent.state is AgentState.WRAP_UP and call is not None:
            plan, engine = self.telephony.plans[call.id], self.engine
            self.clock.call_at(now_s + plan.wrap_s, lambda: engine.wrap_done(agent.id, now_s + plan.wrap_s,
                                                                             plan.disposition))

"""Two clocks, one behaviour: the same engine suite on SimPy time and on asyncio time (issue 15's acceptance).

Why: the simulator runs ``dialer.core.engine.Engine`` on SimPy time and the
daemon on asyncio's loop. If a state were handled under one clock and missed
under the other, what analysts tune would not be what runs. So every test
here runs the engine, ``SimTelephony`` and ``SimWorkforce`` with seeded
``CustomerPlan``s on both clocks: ``simulation.model.SimPyClock`` on a
``simpy.Environment``, and ``dialer.service.clock.AsyncioClock`` on ``VirtualTimeLoop``,
a real asyncio loop whose time jumps to the next timer when nothing is
ready, so an hour runs in a fraction of a second and every run is the same.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import selectors
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import simpy

from dialer.core.calls import Call, CallState, Disposition
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.ports import ClaimedLead
from dialer.drivers.sim.telephony import CustomerPlan, Scheduler, SimTelephony, SimWorkforce
from dialer.records import Outcome
from dialer.service.clock import AsyncioClock
from pacing.controllers import Decision
from pacing.registry import make_controller
from simulation.model import SimPyClock

HOUR_S = 3600.0
CLOCKS = ["simpy", "asyncio"]


class _JumpSelector(selectors.DefaultSelector):
    """Never sleeps: where the loop would wait for its next timer, the loop's clock jumps to that timer."""

    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[Any]:
        loop: Any = self.loop  # asyncio's private _ready and _scheduled are not in typeshed
        if timeout is None and not loop._ready:
            raise RuntimeError("nothing scheduled: a virtual-time loop would wait forever")
        if timeout and loop._scheduled:
            loop.virtual_s = max(loop.virtual_s, loop._scheduled[0].when())
        return super().select(0)


class _FifoTimer(asyncio.TimerHandle):
    """A timer that sorts after every earlier-scheduled timer due at the same instant, as SimPy's events do."""

    __slots__ = ("seq",)
    seq: int

    def __lt__(self, other: object) -> bool:
        assert isinstance(other, _FifoTimer)
        return (self.when(), self.seq) < (other.when(), other.seq)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A real asyncio loop whose ``time()`` (seconds, from 0) is virtual; it reads the loop's timer heap
    (``_scheduled``, CPython's since 3.4) to jump exactly to the next timer, so float sums cannot drift.

    ``fifo``: timers due at the same instant run in the order they were scheduled (SimPy's rule). asyncio's
    own heap leaves that order open, and it matters: a 25 s no-answer ends on a 1 s pacing tick, and which
    goes first decides whether that tick dials (the engine paces on agents freed and ticks, not on call ends)."""

    def __init__(self, fifo: bool = True) -> None:
        selector = _JumpSelector()
        super().__init__(selector)
        selector.loop = self
        self.virtual_s, self.fifo, self._seqs = 0.0, fifo, itertools.count()

    def time(self) -> float:
        return self.virtual_s

    def call_at(self, when: float, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        """``BaseEventLoop.call_at`` with a ``_FifoTimer``, when ``fifo``."""
        if not self.fifo:
            return super().call_at(when, callback, *args, context=context)
        self._check_closed()  # type: ignore[attr-defined]
        timer = _FifoTimer(when, callback, args, self, context)
        timer.seq = next(self._seqs)
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer


@dataclass
class Shift:
    """A ``ShiftLike``: ``count`` agents from ``start_s`` to ``end_s`` with ``breaks`` (seconds)."""

    count: int
    start_s: float
    end_s: float
    breaks: Sequence[tuple[float, float]] = ()


@dataclass(frozen=True)
class Customers:
    """Seeded far ends: each (lead, attempt) draws from its own generator, so the plan of a call does not depend
    on the order the clock dials in (common random numbers across clocks and policies)."""

    seed: int
    live: float = 0.3
    machine: float = 0.3
    amd_fp: float = 0.05
    amd_fn: float = 0.1
    patience_mean_s: float = 8.0

    def plan(self, call: Call) -> CustomerPlan:
        rng = np.random.default_rng([self.seed, call.lead, call.attempt])
        u, ring_s, amd_u, patience_s, talk_s, wrap_s = rng.random(6)
        ring_s = 4.0 + 16.0 * ring_s
        if u >= self.live + self.machine:
            return CustomerPlan(Outcome.NO_ANSWER if u < 0.9 else Outcome.BUSY, 25.0 if u < 0.9 else 6.0)
        human = u < self.live
        says_machine = amd_u < self.amd_fp if human else amd_u >= self.amd_fn
        if not human:
            return CustomerPlan(Outcome.MACHINE, ring_s, says_machine, talk_s=20.0)
        return CustomerPlan(Outcome.HUMAN, ring_s, says_machine, -self.patience_mean_s * np.log1p(-patience_s),
                            30.0 + 150.0 * talk_s, 5.0 + 10.0 * wrap_s, Disposition("refused", "no_need"))


@dataclass
class Ledger:
    """LeadSource and Recorder: fresh leads in order, each finished attempt kept."""

    size: int = 100_000
    claimed: int = 0
    attempts: list[Call] = field(default_factory=list)
    decisions: int = 0

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        keys = range(self.claimed, min(self.size, self.claimed + n))
        self.claimed = keys.stop
        return [ClaimedLead(key, f"+1555{key:07d}") for key in keys]

    def record(self, call: Call) -> None:
        """The lead's next state is the store's business; these leads are dialled once."""

    def attempt(self, call: Call) -> None:
        self.attempts.append(call)

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        """Busy periods are checked through the calls' own times here."""

    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        self.decisions += 1


@dataclass
class Floor:
    """One campaign on one clock: the engine, its simulated customers and agents, and how to run it."""

    engine: Engine
    ledger: Ledger
    telephony: SimTelephony
    run_until: Callable[[float], None]


def _clock(kind: str, fifo: bool = True) -> tuple[Scheduler, Callable[[float], None]]:
    """A clock of ``kind`` at time 0, and a function that runs it up to a time (seconds)."""
    if kind == "simpy":
        env = simpy.Environment()
        return SimPyClock(env), lambda until_s: env.run(until=until_s)
    loop = VirtualTimeLoop(fifo)

    def run(until_s: float) -> None:
        loop.call_at(until_s, loop.stop)
        loop.run_forever()
        loop.close()

    return AsyncioClock(loop), run


def floor(kind: str, policy: str = "progressive", agents: int = 2, seed: int = 1, amd: bool = True,
          preview_s: float = 0.0, breaks: tuple[tuple[float, float], ...] = (), fifo: bool = True,
          **params: float) -> Floor:
    """A one-hour campaign of ``agents`` agents on the ``kind`` clock, dialing from 0 to 1 h."""
    clock, run = _clock(kind, fifo)
    ledger, customers = Ledger(), Customers(seed)
    telephony = SimTelephony(clock, customers.plan, amd_delay_s=2.5, message_s=1.0)
    workforce = SimWorkforce(clock, telephony, wind_down_s=30.0)
    settings = CampaignSettings("two-clocks", connect_limit_s=2.0, amd=amd, preview_s=preview_s)
    engine = Engine(settings, make_controller(policy, **params), ledger, telephony, ledger, workforce,
                    wake=lambda at_s: clock.call_at(at_s, lambda: engine.advance(clock.now())))
    telephony.attach(engine)
    workforce.attach(engine)
    workforce.schedule([Shift(agents, 0.0, HOUR_S, breaks)], days=1)
    clock.call_at(0.0, lambda: engine.start_dialing(clock.now(), HOUR_S - 60.0))
    clock.call_at(HOUR_S - 60.0, lambda: engine.stop_dialing(clock.now()))
    return Floor(engine, ledger, telephony, run)


def run_hour(kind: str, **options: Any) -> Floor:
    """Run the campaign to 1 h plus enough for the last calls and wrap-ups to close."""
    built = floor(kind, **options)
    built.run_until(HOUR_S + 600.0)
    return built


def abandoned(calls: list[Call]) -> list[Call]:
    return [call for call in calls if call.outcome is Outcome.ABANDONED]


def signature(calls: list[Call]) -> list[tuple[Any, ...]]:
    """What a run did, call by call: lead, outcome, when dialled and connected, and by whom."""
    return [(c.lead, c.outcome, c.dialled_s, c.connected_s, c.agent, c.hangup_s) for c in calls]


@pytest.fixture(params=CLOCKS)
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def test_progressive_with_amd_abandons_no_one(kind):
    """Issue 15's acceptance: 2 agents, progressive, AMD on: every person is connected or hangs up in AMD."""
    calls = run_hour(kind, policy="progressive").ledger.attempts
    assert sum(call.connected_s is not None for call in calls) > 20  # the hour did real work
    assert sum(call.amd_end_s is not None for call in calls) > 20
    assert abandoned(calls) == []


def test_power_dialing_abandons_some(kind):
    """Three lines per idle agent outrun 2 agents: the connect limit must end some calls on both clocks."""
    calls = run_hour(kind, policy="power", ratio=3.0).ledger.attempts
    assert len(abandoned(calls)) >= 5


def test_every_abandoned_call_hears_the_message_within_the_limit(kind):
    """The law: the message starts within the connect limit (2 s) of the greeting's end. With AMD on the greeting
    ended before the verdict, so a person no agent is free for hears it at the verdict."""
    calls = abandoned(run_hour(kind, policy="power", ratio=3.0).ledger.attempts)
    assert calls and all(call.message_played and call.message_s == call.amd_end_s for call in calls)
    assert all(call.message_s is not None and call.greeting_end_s is not None
               and 0.0 < call.message_s - call.greeting_end_s <= 2.0 for call in calls)


def test_every_attempt_ends_once_with_an_outcome(kind):
    """No call is left in flight and none is recorded twice once the day has drained."""
    built = run_hour(kind, policy="power", ratio=2.0)
    calls = built.ledger.attempts
    assert not built.engine.busy
    assert len({call.id for call in calls}) == len(calls) == built.ledger.claimed
    assert all(call.state is CallState.ENDED and call.outcome is not None for call in calls)


def test_preview_originates_after_the_preview_time(kind):
    """Preview: each call is dialled ``preview_s`` after its agent was reserved and only reaches that agent."""
    calls = run_hour(kind, policy="preview", preview_s=7.0).ledger.attempts
    assert len(calls) > 20 and abandoned(calls) == []
    assert all(call.dialled_s is not None and call.dialled_s >= 7.0 for call in calls)
    assert all(call.connected_s is None or call.agent is not None for call in calls)


def test_a_break_taken_mid_call_waits_for_the_wrap_up(kind):
    """An agent whose break starts mid-call finishes the call and wrap-up first; no call reaches them on break,
    and none is abandoned: the dialer stops launching for them ``wind_down_s`` before the break."""
    calls = run_hour(kind, policy="progressive", agents=1, breaks=((1200.0, 1800.0),)).ledger.attempts
    assert abandoned(calls) == []
    assert not any(1200.0 - 30.0 <= call.dialled_s < 1800.0 for call in calls)  # 30 s: the floor's wind-down
    connected = [call for call in calls if call.connected_s is not None]
    assert connected and not any(1200.0 <= call.connected_s < 1800.0 for call in connected)
    late = [call for call in connected if call.connected_s < 1200.0 <= call.wrapped_s]
    assert all(call.wrapped_s >= call.ended_s for call in late)


@pytest.mark.parametrize("policy, params", [("progressive", {}), ("power", {"ratio": 2.0}),
                                            ("predictive", {})])
def test_same_seed_same_day_on_both_clocks(policy, params):
    """One seed, one day: the attempts, their outcomes and their times agree call by call across clocks."""
    runs = [run_hour(kind, policy=policy, seed=7, agents=3, **params).ledger.attempts for kind in CLOCKS]
    assert len(runs[0]) > 50
    assert signature(runs[0]) == signature(runs[1])


def test_a_different_seed_gives_a_different_day():
    """The equality above means something: the signature does see the customers' draws."""
    one, other = (run_hour("simpy", policy="progressive", seed=seed).ledger.attempts for seed in (7, 8))
    assert signature(one) != signature(other)


def test_asyncio_own_tie_order_moves_times_not_outcomes():
    """With asyncio's own order for timers due at the same instant, the day differs only in when some calls
    were dialled (a tick and a 25 s no-answer coincide): the outcome counts still agree with SimPy's."""
    def outcomes(calls: list[Call]) -> list[str]:
        return sorted(call.outcome.value for call in calls if call.outcome is not None)

    simpy_day = run_hour("simpy", policy="power", ratio=2.0, seed=1, agents=3).ledger.attempts
    loop_day = run_hour("asyncio", policy="power", ratio=2.0, seed=1, agents=3, fifo=False).ledger.attempts
    assert outcomes(simpy_day) == outcomes(loop_day)
    assert signature(simpy_day) != signature(loop_day)

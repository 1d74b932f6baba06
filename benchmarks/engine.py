"""Engine speed: telephony events per second at full speed, and the tick lag of 20 campaigns in one asyncio loop.

Run: python -m benchmarks.engine [--hours 4] [--fleet-minutes 8] [--speed 10]

Targets from issue 15, each printed beside progressive dialing (the
baseline policy: no model, the cheapest decision):
- ``dialer.core.engine.Engine`` with the sim driver (``SimTelephony`` and
  ``SimWorkforce``, pre-drawn customers) at full speed on one core: at least
  20,000 telephony events/s. Events are what the driver tells the engine
  (answered, AMD verdict, failed, hung up); timed on SimPy time and on a
  virtual-time asyncio loop (the same loop, its clock jumping to the next timer).
- 2,000 simulated agents over 20 campaigns (one ``Engine`` per campaign, an
  ``AsyncioClock`` each) in one real asyncio loop: the lag p99 of the
  engine's wake-ups (pacing ticks, connect deadlines, decisions asked for
  by a freed agent) under 50 ms. The loop runs ``--speed`` times faster
  than the wall clock, so it carries that many times a real floor's load:
  a lag met here is met with room to spare at speed 1.

The default run takes about 2.5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from dialer.core.calls import Call, Disposition
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.ports import ClaimedLead
from dialer.drivers.sim.scenario import Shift
from dialer.drivers.sim.telephony import CustomerPlan, Scheduler, SimTelephony, SimWorkforce
from dialer.records import Outcome
from dialer.service.clock import AsyncioClock
from pacing.controllers import Decision
from pacing.registry import make_controller
from simulation.model import SimPyClock

AMD_DELAY_S, RING_TIMEOUT_S, WIND_DOWN_S = 2.5, 25.0, 30.0
DRIVER_EVENTS = ("answered", "amd_result", "failed", "hung_up")
POLICIES = ("predictive", "progressive")


class Customers:
    """Pre-drawn far ends for ``size`` leads (one attempt each), seeded: 25% people, 15% machines, 5% busy, 3%
    invalid, the rest no answer; lognormal rings and talk (90 s mean), gamma wrap-up (15 s), 5 s patience;
    AMD calls 2% of people machines and misses 10% of machines."""

    def __init__(self, size: int, seed: int):
        rng = np.random.default_rng(seed)
        self.u, self.amd_u = rng.random(size), rng.random(size)
        self.ring_live, self.ring_machine = _lognormal(rng, 10.0, 5.0, size), _lognormal(rng, 14.0, 4.0, size)
        self.talk, self.patience = _lognormal(rng, 90.0, 60.0, size), rng.exponential(5.0, size)
        self.wrap = rng.gamma((15.0 / 8.0) ** 2, 8.0**2 / 15.0, size)

    def plan(self, call: Call) -> CustomerPlan:
        i, u = call.lead, self.u[call.lead]
        if u < 0.25 and self.ring_live[i] < RING_TIMEOUT_S:
            return CustomerPlan(Outcome.HUMAN, float(self.ring_live[i]), bool(self.amd_u[i] < 0.02),
                                float(self.patience[i]), float(self.talk[i]), float(self.wrap[i]),
                                Disposition("refused", "no_need"))
        if 0.25 <= u < 0.40 and self.ring_machine[i] < RING_TIMEOUT_S:
            return CustomerPlan(Outcome.MACHINE, float(self.ring_machine[i]), bool(self.amd_u[i] >= 0.1),
                                talk_s=20.0)
        if 0.40 <= u < 0.45:
            return CustomerPlan(Outcome.BUSY, 6.0)
        if 0.45 <= u < 0.48:
            return CustomerPlan(Outcome.INVALID, 3.0)
        return CustomerPlan(Outcome.NO_ANSWER, RING_TIMEOUT_S)


def _lognormal(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    sigma2 = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)


@dataclass
class Tally:
    """LeadSource and Recorder: leads in order; counts of attempts, abandons and decisions."""

    telephony: SimTelephony | None = None
    claimed: int = 0
    attempts: int = 0
    abandoned: int = 0
    decisions: int = 0
    events: list[int] = field(default_factory=lambda: [0])

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        start, self.claimed = self.claimed, self.claimed + n
        return [ClaimedLead(i, "") for i in range(start, self.claimed)]

    def record(self, call: Call) -> None:
        """These leads are dialled once."""

    def attempt(self, call: Call) -> None:
        assert self.telephony is not None
        self.telephony.forget(call)
        self.attempts += 1
        self.abandoned += call.outcome is Outcome.ABANDONED

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        """Not needed here."""

    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        self.decisions += 1


def campaign(clock: Scheduler, policy: str, agents: int, hours: float, seed: int,
             wake: Callable[[Engine, float], None] | None = None) -> tuple[Engine, Tally]:
    """One campaign on ``clock``: ``agents`` agents dialing from 0 to ``hours``, AMD on, 2 s connect limit."""
    customers = Customers(int(agents * hours * 250) + 2000, seed)  # more leads than a day can dial
    telephony = SimTelephony(clock, customers.plan, AMD_DELAY_S, message_s=3.0)
    tally = Tally(telephony)
    workforce = SimWorkforce(clock, telephony, WIND_DOWN_S)
    settings = CampaignSettings(f"c{seed}", connect_limit_s=2.0, amd=True, ring_timeout_s=RING_TIMEOUT_S)
    waker = wake or (lambda engine, at_s: clock.call_at(at_s, lambda: engine.advance(clock.now())))
    engine: Engine
    engine = Engine(settings, make_controller(policy, cap=0.03, fp_rate=0.02), tally, telephony, tally,
                    workforce, wake=lambda at_s: waker(engine, at_s))
    telephony.attach(engine)
    workforce.attach(engine)
    _count_driver_events(engine, tally.events)
    workforce.schedule([Shift(agents, 0.0, hours * 3600.0)], days=1)
    clock.call_at(0.0, lambda: engine.start_dialing(clock.now(), hours * 3600.0))
    clock.call_at(hours * 3600.0, lambda: engine.stop_dialing(clock.now()))
    return engine, tally


def _count_driver_events(engine: Engine, counter: list[int]) -> None:
    """Wrap the engine's driver-event methods on this instance with a counter (about 0.1 µs each)."""
    for name in DRIVER_EVENTS:
        method = getattr(engine, name)

        def counted(*args: Any, _method: Callable[..., None] = method) -> None:
            counter[0] += 1
            _method(*args)

        setattr(engine, name, counted)


# -- full speed ------------------------------------------------------------------------------------------------
class _JumpSelector(selectors.DefaultSelector):
    """Never sleeps: where the loop would wait for a timer, its clock jumps to that timer (see VirtualTimeLoop)."""

    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[Any]:
        loop: Any = self.loop  # asyncio's private _scheduled is not in typeshed
        if timeout and loop._scheduled:
            loop.virtual_s = max(loop.virtual_s, loop._scheduled[0].when())
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A real asyncio loop on virtual time (seconds from 0); ``tests/test_two_clocks.py`` holds the tested copy."""

    def __init__(self) -> None:
        selector = _JumpSelector()
        super().__init__(selector)
        selector.loop = self
        self.virtual_s = 0.0

    def time(self) -> float:
        return self.virtual_s


def full_speed(clock_kind: str, policy: str, agents: int, hours: float) -> dict[str, float]:
    """One campaign's day at full speed; wall seconds and counts."""
    end_s = hours * 3600.0 + 900.0
    if clock_kind == "SimPy":
        env = simpy.Environment()
        engine, tally = campaign(SimPyClock(env), policy, agents, hours, seed=1)
        start = time.perf_counter()
        env.run(until=end_s)
    else:
        loop = VirtualTimeLoop()
        engine, tally = campaign(AsyncioClock(loop), policy, agents, hours, seed=1)
        loop.call_at(end_s, loop.stop)
        start = time.perf_counter()
        loop.run_forever()
        loop.close()
    wall = time.perf_counter() - start
    assert not engine.busy, "the day did not drain"
    return {"wall": wall, "events": tally.events[0], "attempts": tally.attempts, "abandoned": tally.abandoned,
            "decisions": tally.decisions}


# -- many campaigns in one loop --------------------------------------------------------------------------------
@dataclass
class Lags:
    """Wake-up lags (wall seconds) after the warm-up, and how many wake-ups came before their engine time."""

    warmup_s: float
    seconds: list[float] = field(default_factory=list)
    early: int = 0


def _measured_wake(clock: AsyncioClock, lags: Lags) -> Callable[[Engine, float], None]:
    """A waker that records how late each wake-up runs against its due time on the loop."""
    loop = clock.loop

    def fire(engine: Engine, at_s: float) -> None:
        now_s = clock.now()
        if at_s >= lags.warmup_s:
            lags.seconds.append(loop.time() - clock.loop_time(at_s))
        if now_s < at_s:  # the loop ran the callback a hair before its engine time (float round trip)
            lags.early += 1
        engine.advance(max(now_s, at_s))

    return lambda engine, at_s: clock.call_at(at_s, lambda: fire(engine, at_s))


async def _fleet_run(policy: str, campaigns: int, agents: int, minutes: float, speed: float,
                     warmup_min: float) -> tuple[Lags, list[Tally], float]:
    loop = asyncio.get_running_loop()
    lags, tallies = Lags(warmup_min * 60.0), []
    for k in range(campaigns):
        clock = AsyncioClock(loop, speed=speed)
        _, tally = campaign(clock, policy, agents, minutes / 60.0, seed=100 + k, wake=_measured_wake(clock, lags))
        tallies.append(tally)
    gc.collect()
    gc.freeze()  # as the daemon does after start-up
    start = time.perf_counter()
    await asyncio.sleep(minutes * 60.0 / speed)
    return lags, tallies, time.perf_counter() - start


def fleet(policy: str, campaigns: int, agents: int, minutes: float, speed: float,
          warmup_min: float) -> dict[str, float]:
    lags, tallies, wall = asyncio.run(_fleet_run(policy, campaigns, agents, minutes, speed, warmup_min))
    gc.unfreeze()
    ms = np.array(lags.seconds) * 1000.0
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "max": float(ms.max()),
            "wakes": len(ms), "early": lags.early, "wall": wall,
            "attempts": sum(t.attempts for t in tallies), "events": sum(t.events[0] for t in tallies),
            "decisions": sum(t.decisions for t in tallies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100, help="agents in the full-speed campaign")
    parser.add_argument("--hours", type=float, default=4.0, help="hours of the full-speed day")
    parser.add_argument("--fleet-minutes", type=float, default=8.0, help="engine minutes of the 20-campaign run")
    parser.add_argument("--speed", type=float, default=10.0, help="engine seconds per wall second in the fleet")
    parser.add_argument("--warmup-minutes", type=float, default=2.0, help="engine minutes before lags count")
    args = parser.parse_args()
    print(f"full speed, one campaign: {args.agents} agents, {args.hours:g} h, AMD on, one core")
    print(f"{'clock':<10} {'policy':<12} {'wall s':>7} {'events':>9} {'events/s':>9} {'attempts':>9} "
          f"{'abandoned':>9} {'decisions/s':>11}")
    for clock_kind in ("SimPy", "asyncio"):
        for policy in POLICIES:
            r = full_speed(clock_kind, policy, args.agents, args.hours)
            print(f"{clock_kind:<10} {policy:<12} {r['wall']:>7.2f} {r['events']:>9,} "
                  f"{r['events'] / r['wall']:>9,.0f} {r['attempts']:>9,} {r['abandoned']:>9,} "
                  f"{r['decisions'] / r['wall']:>11,.0f}")
    print(f"\n20 campaigns x 100 agents in one asyncio loop at {args.speed:g}x, {args.fleet_minutes:g} engine "
          f"minutes, lags after minute {args.warmup_minutes:g}")
    print(f"{'policy':<12} {'wake p50 ms':>11} {'p99 ms':>8} {'max ms':>8} {'wakes':>8} {'early':>6} "
          f"{'attempts':>9} {'events/s':>9} {'wall s':>7}")
    for policy in POLICIES:
        r = fleet(policy, 20, 100, args.fleet_minutes, args.speed, args.warmup_minutes)
        print(f"{policy:<12} {r['p50']:>11.2f} {r['p99']:>8.2f} {r['max']:>8.1f} {r['wakes']:>8,} "
              f"{r['early']:>6,} {r['attempts']:>9,} {r['events'] / r['wall']:>9,.0f} {r['wall']:>7.1f}")


if __name__ == "__main__":
    main()

"""A simulated world keeps its clock or slows down to what the machine carries, and every reader agrees on its time.

Why a fake loop: the governor's job is a matter of wall time (how late
callbacks run on a busy machine), so these tests give the world's callbacks a
cost in the fake loop's seconds and check, without waiting: the world slows
while it cannot keep up and speeds back up when it can; the world clock and
every engine clock read one time that never runs back; callbacks keep their
world times and their order across changes of speed; the scheduler's world
times hold.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from dialer.service.clock import Pace, SpeedGovernor
from dialer.service.schedule import PACE_CHECK_S, WorldClock, WorldTrigger, retime


class _Handle:
    def __init__(self, fn: Callable[[], None]):
        self.fn, self.cancelled = fn, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """The loop's clock moves only to the next timer, or when a callback says it worked for a while."""

    def __init__(self) -> None:
        self.t = 500.0
        self._timers: list[tuple[float, int, _Handle]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.t

    def call_at(self, when: float, fn: Callable[..., None], *args: Any) -> _Handle:
        handle = _Handle(lambda: fn(*args))
        heapq.heappush(self._timers, (when, next(self._seq), handle))
        return handle

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        raise context["exception"]

    def work(self, seconds: float) -> None:
        self.t += seconds

    def run_until(self, until: float) -> None:
        """As asyncio does: each turn runs every timer due when it starts; those set meanwhile wait a turn."""
        while self._timers and self._timers[0][0] <= until:
            self.t = max(self.t, self._timers[0][0])
            turn = []
            while self._timers and self._timers[0][0] <= self.t:
                turn.append(heapq.heappop(self._timers)[2])
            for handle in turn:
                if not handle.cancelled:
                    handle.fn()
        self.t = max(self.t, until)


START = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


class World:
    """A world clock on the fake loop with one simulated campaign: a callback every world second costing
    ``cost_s`` loop seconds (a pacing tick), and the governor's check every ``PACE_CHECK_S``."""

    def __init__(self, speed: float, cost_s: float):
        self.loop = FakeLoop()
        self.world = WorldClock(self.loop, START, speed)  # type: ignore[arg-type]
        self.clock = self.world.engine_clock(START - timedelta(hours=14), ordered=True)
        self.cost_s = cost_s
        self.ticks: list[tuple[float, float]] = []  # (scheduled engine time, now() inside the callback)
        self.readings: list[tuple[datetime, float]] = []  # (world.now(), engine clock now()) at each check
        self.speeds: list[float] = []
        self._tick(self.clock.now() + 1.0)
        self.loop.call_at(self.loop.t + PACE_CHECK_S, self._check)

    def _tick(self, at_s: float) -> None:
        def fire() -> None:
            self.ticks.append((at_s, self.clock.now()))
            self.loop.work(self.cost_s)
            self._tick(at_s + 1.0)
        self.clock.call_at(at_s, fire)

    def _check(self) -> None:
        self.world.keep_pace()
        self.readings.append((self.world.now(), self.clock.now()))
        self.speeds.append(self.world.speed)
        self.loop.call_at(self.loop.t + PACE_CHECK_S, self._check)

    def run(self, wall_s: float) -> None:
        self.loop.run_until(self.loop.t + wall_s)


def test_a_world_the_machine_cannot_carry_slows_down_and_keeps_up():
    world = World(speed=240.0, cost_s=0.01)  # the machine carries 100 world seconds per wall second
    world.run(30.0)
    late = world.speeds[len(world.speeds) // 2:]
    assert max(late) <= 150 and min(late) >= 25, late  # around what it carries, never stuck far below
    assert world.world.behind_s() / world.world.speed < 1.0  # no backlog left growing
    speeds = world.world.speeds()
    assert speeds.asked == 240 and speeds.slowed_on_average and speeds.achieved < 110


def test_a_world_the_machine_carries_keeps_the_speed_asked():
    world = World(speed=240.0, cost_s=0.001)  # 1000 world seconds per wall second: room to spare
    world.run(10.0)
    assert set(world.speeds) == {240.0}
    assert not world.world.speeds().slowed_on_average


def test_the_world_speeds_back_up_when_the_machine_is_free_again():
    world = World(speed=240.0, cost_s=0.02)
    world.run(10.0)
    assert world.world.speed < 100
    world.cost_s = 0.0
    world.run(20.0)
    assert world.world.speed == 240.0


@pytest.mark.parametrize("cost_s", [0.0, 0.01, 0.05])
def test_every_reader_sees_one_time_that_never_runs_back(cost_s):
    world = World(speed=240.0, cost_s=cost_s)
    world.run(15.0)
    scheduled = [at for at, _ in world.ticks]
    assert scheduled == sorted(scheduled) and all(now == at for at, now in world.ticks)  # each at its own time
    worlds = [w for w, _ in world.readings]
    engines = [e for _, e in world.readings]
    assert worlds == sorted(worlds) and engines == sorted(engines)
    origin = START - timedelta(hours=14)
    for at, engine_s in world.readings:  # the engine's time is the world's, less the lag: never ahead of it
        assert engine_s <= (at - origin).total_seconds() + 1e-6


def test_a_callback_keeps_its_world_time_across_changes_of_speed():
    world = World(speed=240.0, cost_s=0.02)  # slowed at once, then up and down around 50x
    quiet = world.world.engine_clock(START - timedelta(hours=14), ordered=True)  # another campaign: one event
    at_s = quiet.now() + 1800.0
    fired: list[float] = []
    quiet.call_at(at_s, lambda: fired.append(quiet.mapped_now()))
    world.run(120.0)
    assert len(set(world.speeds)) > 3
    assert len(fired) == 1 and at_s <= fired[0] <= at_s + 5.0  # never early; late by a tick's work at most
    moment = START + timedelta(seconds=1500)  # the scheduler's triggers map world and wall time the same way
    assert abs(world.world.world(world.world.wall(moment)) - moment) < timedelta(milliseconds=1)


def test_the_pace_is_continuous_and_monotonic_across_changes():
    pace = Pace(10.0, 240.0)
    assert pace.elapsed(11.0) == 240.0
    pace.change(60.0, 11.0)
    assert pace.elapsed(11.0) == 240.0 and pace.elapsed(12.0) == 300.0
    assert pace.loop_time(300.0) == 12.0
    assert pace.achieved(12.0) == 150.0 and pace.asked == 240.0
    with pytest.raises(ValueError):
        pace.change(0.0, 12.0)


def test_the_governor_slows_only_a_world_falling_further_behind_and_not_below_its_floor():
    governor = SpeedGovernor(240.0)
    assert governor.check(240.0, 100.0) == 240.0  # the first look sets the trend (start-up's burst)
    assert governor.check(240.0, 60.0) == 240.0  # catching up: left to catch up
    assert governor.check(240.0, 80.0) == 240.0  # behind and further behind once
    assert governor.check(240.0, 90.0) == 120.0  # twice in a row: halved
    slow = SpeedGovernor(2.0, floor=1.0)
    speeds = [2.0]
    for behind in range(10, 100, 10):
        speeds.append(slow.check(speeds[-1], float(behind)))
    assert min(speeds) == 1.0
    calm = SpeedGovernor(240.0)
    speed = 30.0
    for _ in range(40):
        speed = calm.check(speed, 0.0)
    assert speed == 240.0


def test_a_scheduled_job_keeps_its_world_time_when_the_world_slows():
    async def run() -> list[datetime]:
        world = WorldClock(asyncio.get_running_loop(), START, 240.0)  # 14:00 in Paris
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
        job = scheduler.add_job(lambda: None, WorldTrigger(CronTrigger(hour=15, timezone="Europe/Paris"), world))
        fires = [world.world(job.next_run_time)]
        world.pace.change(24.0, world.loop.time())
        retime(scheduler, datetime.now(UTC))
        fires.append(world.world(scheduler.get_job(job.id).next_run_time))
        scheduler.shutdown(wait=False)
        return fires

    for fire in asyncio.run(run()):
        assert abs(fire - datetime(2026, 11, 24, 14, 0, tzinfo=UTC)) < timedelta(seconds=0.1)

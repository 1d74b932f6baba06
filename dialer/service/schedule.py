"""Campaign hours and daily jobs on APScheduler, in each campaign's time zone, on the daemon's world clock.

Why a world clock: the sim driver runs the day faster than the wall clock
(``speed``), and the demo and the tests need campaign hours and nightly
jobs to follow simulated time. ``WorldClock`` maps wall time to the world's
time; ``WorldTrigger`` wraps any trigger computed in world time, so at speed
1 (production) it is the identity and APScheduler runs as usual. A simulated
world the machine cannot carry slows down (``WorldClock.keep_pace``); the
jobs' next fire times are then computed again (``retime``), so they still
fire at their world times.

Campaign hours come from the ``lists.rules`` windows of the campaign's
profile: ``WindowEdges`` fires at every window start and end in the
campaign's zone, and the hours job then opens or closes dialing by
``in_window`` (a holiday's edges change nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from dialer.service.clock import AsyncioClock, OrderedClock, Pace, SpeedGovernor
from lists.rules import CallingProfile, in_window

__all__ = ["PACE_CHECK_S", "WorldClock", "Speeds", "WorldTrigger", "retime", "WindowEdges",
           "window_close_after"]

_STEP = timedelta(seconds=1)  # a world trigger's next fire is at least this far after its last (rounding guard)
_SHORT = 0.95  # a speed under this share of the one asked is said to be short of it
PACE_CHECK_S = 0.25  # wall seconds between two checks of a world's pace (``WorldClock.keep_pace``)


class WorldClock:
    """The world's time: ``start`` (aware) at start-up, ``speed`` world seconds per wall second, slowed by its
    ``SpeedGovernor`` while a simulated world cannot keep up (``keep_pace``). ``held``: it stands at ``start``
    until ``release`` (a simulated world, until the daemon is ready).

    Every engine clock it makes shares its one ``Pace``, so the world clock,
    the engines and the scheduler's triggers read the same time, and a
    change of speed moves them together (the ordered clocks re-armed, the
    scheduler told through ``on_change``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start: datetime, speed: float = 1.0, held: bool = False):
        self.loop, self.start = loop, start.astimezone(UTC)
        self._t0_loop, self._t0_wall = loop.time(), datetime.now(UTC)
        self.pace = Pace(self._t0_loop, speed, held)
        self.governor = SpeedGovernor(speed)
        self.ordered: list[OrderedClock] = []
        self.on_change: list[Callable[[], None]] = []

    @property
    def speed(self) -> float:
        return self.pace.speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.pace.elapsed(self.loop.time()))

    def world(self, wall: datetime) -> datetime:
        loop_t = self._t0_loop + (wall - self._t0_wall).total_seconds()
        return self.start + timedelta(seconds=self.pace.elapsed(loop_t))

    def wall(self, world: datetime) -> datetime:
        loop_t = self.pace.loop_time((world - self.start).total_seconds())
        return self._t0_wall + timedelta(seconds=loop_t - self._t0_loop)

    def engine_clock(self, origin: datetime, ordered: bool = False) -> AsyncioClock:
        """A campaign engine's clock: seconds since ``origin`` (its first local midnight), on this world's pace;
        ``ordered`` for a simulated world (``dialer.service.clock.OrderedClock``)."""
        start_s = (self.start - origin).total_seconds()
        if not ordered:
            return AsyncioClock(self.loop, start_s, pace=self.pace)
        clock = OrderedClock(self.loop, start_s, pace=self.pace)
        self.ordered.append(clock)
        return clock

    def behind_s(self) -> float:
        """World seconds the simulated world lags behind this clock: its most behind engine clock's lag."""
        return max((clock.behind_s() for clock in self.ordered), default=0.0)

    def speeds(self) -> Speeds:
        return Speeds(self.pace.asked, self.pace.speed, self.pace.achieved(self.loop.time()))

    def release(self) -> None:
        """A held world starts now."""
        self.pace.release(self.loop.time())
        self._moved()

    def keep_pace(self) -> float | None:
        """One check by the governor (every ``PACE_CHECK_S``); the new speed when it changed it, else None."""
        speed = self.governor.check(self.pace.speed, self.behind_s())
        if speed == self.pace.speed:
            return None
        self.pace.change(speed, self.loop.time())
        self._moved()
        return speed

    def _moved(self) -> None:
        """The pace changed: every ordered clock re-armed, every listener told."""
        for clock in self.ordered:
            clock.rearm()
        for changed in self.on_change:
            changed()


@dataclass(frozen=True)
class Speeds:
    """A world's speeds, world seconds per wall second: ``asked`` (the config's), ``current``, and ``achieved``
    (the average since start-up)."""

    asked: float
    current: float
    achieved: float

    @property
    def slowed_now(self) -> bool:
        """The world runs noticeably (over 5%) slower than asked."""
        return self.current < _SHORT * self.asked

    @property
    def slowed_on_average(self) -> bool:
        """The world has run noticeably (over 5%) slower than asked since start-up."""
        return self.achieved < _SHORT * self.asked


class WorldTrigger(BaseTrigger):
    """``inner`` evaluated in world time; fire times handed to APScheduler in wall time."""

    __slots__ = ("inner", "clock")

    def __init__(self, inner: BaseTrigger, clock: WorldClock):
        self.inner, self.clock = inner, clock

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = None if previous_fire_time is None else self.clock.world(previous_fire_time) + _STEP
        world_now = self.clock.world(now)
        nxt = self.inner.get_next_fire_time(previous, max(world_now, previous) if previous else world_now)
        return None if nxt is None else self.clock.wall(nxt).astimezone(now.tzinfo)


def retime(scheduler: BaseScheduler, now: datetime) -> None:
    """After a change of the world's speed: each world-timed job not yet due at ``now`` (wall, aware) gets its
    next fire time computed again, so it still fires at its world time (the hours of a slowed simulated world
    close when they should)."""
    for job in scheduler.get_jobs():
        if isinstance(job.trigger, WorldTrigger) and job.next_run_time is not None and job.next_run_time > now:
            job.modify(next_run_time=job.trigger.get_next_fire_time(None, now))


def _edges(profile: CallingProfile, zone: str, after: datetime, days: int = 9) -> list[datetime]:
    tz = ZoneInfo(zone)
    today = after.astimezone(tz).date()
    edges = []
    for offset in range(-1, days):
        day = today + timedelta(days=offset)
        for start, end in profile.windows[day.weekday()]:
            edges += [datetime.combine(day, t, tzinfo=tz) for t in (start, end)]
    return sorted(edges)


class WindowEdges(BaseTrigger):
    """Fires at each start and end of the profile's calling windows in ``zone`` (world time)."""

    __slots__ = ("profile", "zone")

    def __init__(self, profile: CallingProfile, zone: str):
        self.profile, self.zone = profile, zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = max(now, previous_fire_time) if previous_fire_time else now
        return next((edge for edge in _edges(self.profile, self.zone, after) if edge > after), None)


def window_close_after(profile: CallingProfile, zone: str, now: datetime) -> datetime:
    """When the window open at ``now`` closes (the first edge after which ``in_window`` is False)."""
    for edge in _edges(profile, zone, now):
        if edge > now and not in_window(profile, (zone,), edge):
            return edge
    return now + timedelta(days=1)

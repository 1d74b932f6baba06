"""Campaign hours and daily jobs on APScheduler, in each campaign's time zone, on the daemon's world clock.

Why a world clock: the sim driver runs the day faster than the wall clock
(``speed``), and the demo and the tests need campaign hours and nightly
jobs to follow simulated time. ``WorldClock`` maps wall time to the world's
time; ``WorldTrigger`` wraps any trigger computed in world time, so at speed
1 (production) it is the identity and APScheduler runs as usual.

Campaign hours come from the ``lists.rules`` windows of the campaign's
profile: ``WindowEdges`` fires at every window start and end in the
campaign's zone, and the hours job then opens or closes dialing by
``in_window`` (a holiday's edges change nothing).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from dialer.service.clock import AsyncioClock, OrderedClock
from lists.rules import CallingProfile, in_window

__all__ = ["WorldClock", "WorldTrigger", "WindowEdges", "window_close_after"]

_STEP = timedelta(seconds=1)  # a world trigger's next fire is at least this far after its last (rounding guard)


class WorldClock:
    """The world's time: ``start`` (aware) at start-up, ``speed`` world seconds per wall second."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start: datetime, speed: float = 1.0):
        self.loop, self.start, self.speed = loop, start.astimezone(UTC), speed
        self._t0_loop, self._t0_wall = loop.time(), datetime.now(UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self.loop.time() - self._t0_loop) * self.speed)

    def world(self, wall: datetime) -> datetime:
        return self.start + (wall - self._t0_wall) * self.speed

    def wall(self, world: datetime) -> datetime:
        return self._t0_wall + (world - self.start) / self.speed

    def engine_clock(self, origin: datetime, ordered: bool = False) -> AsyncioClock:
        """A campaign engine's clock: seconds since ``origin`` (its first local midnight), at this speed, from
        the world's one start instant; ``ordered`` for a simulated world (``dialer.service.clock.OrderedClock``)."""
        kind = OrderedClock if ordered else AsyncioClock
        return kind(self.loop, (self.start - origin).total_seconds(), self.speed, t0=self._t0_loop)


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

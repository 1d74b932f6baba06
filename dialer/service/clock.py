"""The engine's clock on asyncio time, optionally sped up, for the daemon, the demo and the two-clock tests.

Why a speed factor: the demo runs a 4-hour shift in about a minute with the
real daemon loop, and the engine tests fast-forward the same loop. Engine
time is seconds from ``start_s`` (the engine's origin is a campaign's first
local midnight); ``speed`` engine seconds pass per second of the loop.

``OrderedClock`` is for a simulated world (the sim driver): its callbacks
run strictly in order of their times, so the world is one discrete-event
run paced by the wall clock, whatever the speed and however late the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

__all__ = ["AsyncioClock", "OrderedClock"]


class AsyncioClock:
    """``now()`` and ``call_at()`` in engine seconds on a running asyncio loop. ``t0``: the loop time at which
    engine time is ``start_s`` (default: now), so several clocks can share one start instant."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start_s: float = 0.0, speed: float = 1.0,
                 t0: float | None = None):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.loop, self.start_s, self.speed = loop, start_s, speed
        self.t0 = loop.time() if t0 is None else t0

    def now(self) -> float:
        return self.start_s + (self.loop.time() - self.t0) * self.speed

    def loop_time(self, at_s: float) -> float:
        """The loop's time at engine time ``at_s``."""
        return self.t0 + (at_s - self.start_s) / self.speed

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None:
        self.loop.call_at(self.loop_time(at_s), fn)


class OrderedClock(AsyncioClock):
    """An ``AsyncioClock`` whose callbacks run strictly in order of their engine times, each seeing its own
    time as ``now()``; code outside them sees the latest time reached, which never goes back.

    Why: at a speed-up of hundreds, a few milliseconds of loop lag are
    seconds of simulated time, and asyncio runs a timer set in the past
    after later ones already due. The sim driver's customers and agents
    stamp their events with their scheduled times, so out-of-order handles
    would hand the engine a time that runs backwards (the predictive
    controller then failed on a negative elapsed time). One ordered queue
    makes the world a discrete-event run that the wall clock only paces."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start_s: float = 0.0, speed: float = 1.0,
                 t0: float | None = None):
        super().__init__(loop, start_s, speed, t0)
        self.latest = super().now()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._armed: tuple[float, asyncio.TimerHandle] | None = None

    def now(self) -> float:
        return self.latest

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at_s, next(self._seq), fn))
        self._arm()

    def _arm(self) -> None:
        first = self._queue[0][0]
        if self._armed is not None and self._armed[0] <= first:
            return
        if self._armed is not None:
            self._armed[1].cancel()
        self._armed = (first, self.loop.call_at(self.loop_time(first), self._run))

    def _run(self) -> None:
        """Every callback due by the loop's time, earliest first (new ones due by then included)."""
        self._armed = None
        due = AsyncioClock.now(self)
        while self._queue and self._queue[0][0] <= due:
            at_s, _, fn = heapq.heappop(self._queue)
            self.latest = max(self.latest, at_s)
            try:
                fn()
            except Exception as exc:  # as asyncio would: the loop's handler logs it, the world goes on
                self.loop.call_exception_handler({"message": "exception in a simulated event", "exception": exc})
        if self._queue:
            self._arm()

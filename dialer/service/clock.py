"""The engine's clock on asyncio time, optionally sped up, for the daemon, the demo and the two-clock tests.

Why a speed factor: the demo runs a 4-hour shift in about a minute with the
real daemon loop, and the engine tests fast-forward the same loop. Engine
time is seconds from ``start_s`` (the engine's origin is a campaign's first
local midnight); ``speed`` engine seconds pass per second of the loop.

Why the speed may change (``Pace``): a simulated world the machine cannot
carry at the speed asked falls behind its own clock, and at a speed of
hundreds it fell so far behind that a demo made no call in a whole shift.
``SpeedGovernor`` slows such a world down to what the machine carries and
brings it back up when it can. Every clock of one world reads one ``Pace``,
so they all agree on the world's time, and a change of speed starts a new
segment at the time reached: the world's time never jumps or runs back.

``OrderedClock`` is for a simulated world (the sim driver): its callbacks
run strictly in order of their times, so the world is one discrete-event
run paced by the wall clock, whatever the speed and however late the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Pace", "AsyncioClock", "OrderedClock", "SpeedGovernor"]

_BATCH_S = 0.02  # wall seconds an ordered clock runs callbacks before the loop's other work gets its turn


class Pace:
    """World seconds elapsed since ``t0`` (a loop time) as a function of the loop's time, at ``speed`` world
    seconds per loop second from the latest change on; ``asked``: the speed first asked for.

    ``held``: the world stands at its start until ``release`` (a simulated
    world waits for the daemon's start-up, which would otherwise leave it
    minutes behind at a speed of hundreds before the first call)."""

    def __init__(self, t0: float, speed: float, held: bool = False):
        _positive(speed)
        self.t0, self.asked, self.speed, self.held = t0, speed, speed, held
        self._from_loop, self._from_s = t0, 0.0  # where the current speed began: loop time, world seconds

    def elapsed(self, loop_t: float) -> float:
        if self.held:
            return self._from_s
        return self._from_s + (loop_t - self._from_loop) * self.speed

    def loop_time(self, elapsed_s: float) -> float:
        """The loop's time at which ``elapsed_s`` world seconds will have passed (at the current speed; while
        held, as if released when the hold began)."""
        return self._from_loop + (elapsed_s - self._from_s) / self.speed

    def release(self, loop_t: float) -> None:
        """A held world starts from ``loop_t``."""
        self.t0 = self._from_loop = loop_t
        self.held = False

    def change(self, speed: float, loop_t: float) -> None:
        """Run at ``speed`` from ``loop_t`` on, continuing from the world time reached then."""
        _positive(speed)
        self._from_s, self._from_loop, self.speed = self.elapsed(loop_t), loop_t, speed

    def achieved(self, loop_t: float) -> float:
        """World seconds per loop second since ``t0``: the average speed so far (the current one at ``t0``)."""
        wall_s = loop_t - self.t0
        return self.elapsed(loop_t) / wall_s if wall_s > 0 else self.speed


def _positive(speed: float) -> None:
    if not speed > 0:
        raise ValueError("speed must be positive")


class AsyncioClock:
    """``now()`` and ``call_at()`` in engine seconds on a running asyncio loop: engine time is ``start_s`` when
    the ``pace`` began (default: a pace of its own at ``speed``, from now). Clocks sharing one ``Pace`` share
    one start instant and every change of speed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start_s: float = 0.0, speed: float = 1.0,
                 pace: Pace | None = None):
        self.loop, self.start_s = loop, start_s
        self.pace = pace if pace is not None else Pace(loop.time(), speed)

    @property
    def speed(self) -> float:
        return self.pace.speed

    def now(self) -> float:
        return self.mapped_now()

    def mapped_now(self) -> float:
        """Engine time by the loop's clock alone (``OrderedClock.now`` may stand earlier, at its latest event)."""
        return self.start_s + self.pace.elapsed(self.loop.time())

    def late_s(self, at_s: float) -> float:
        """Wall seconds a callback due at engine time ``at_s`` runs late, if run now."""
        return max(0.0, self.mapped_now() - at_s) / self.speed

    def loop_time(self, at_s: float) -> float:
        """The loop's time at engine time ``at_s``."""
        return self.pace.loop_time(at_s - self.start_s)

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
    makes the world a discrete-event run that the wall clock only paces.

    Why in batches of ``_BATCH_S``: a world that has fallen behind would
    otherwise run its whole backlog in one callback, and the loop would hand
    the engine no claimed lead, serve no request and measure no lag until
    it was done."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start_s: float = 0.0, speed: float = 1.0,
                 pace: Pace | None = None):
        super().__init__(loop, start_s, speed, pace)
        self.latest = self.mapped_now()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._armed: tuple[float, asyncio.TimerHandle] | None = None

    def now(self) -> float:
        return self.latest

    def behind_s(self) -> float:
        """Engine seconds the earliest callback due has waited past its time (0 when none is due): how far the
        world lags behind its clock."""
        return max(0.0, self.mapped_now() - self._queue[0][0]) if self._queue else 0.0

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at_s, next(self._seq), fn))
        self._arm()

    def rearm(self) -> None:
        """After a change of speed or a release: the next callback's loop time again."""
        if self._armed is not None:
            self._armed[1].cancel()
            self._armed = None
        if self._queue:
            self._arm()

    def _arm(self) -> None:
        if self.pace.held:  # armed by ``rearm`` once released
            return
        first = self._queue[0][0]
        if self._armed is not None and self._armed[0] <= first:
            return
        if self._armed is not None:
            self._armed[1].cancel()
        self._armed = (first, self.loop.call_at(self.loop_time(first), self._run, first))

    def _run(self, armed_s: float) -> None:
        """Callbacks due by the loop's time, earliest first (new ones due by then included), for at most
        ``_BATCH_S`` wall seconds. Those at ``armed_s`` are due whatever the rounding of the loop's time: the
        loop ran this because their time came."""
        self._armed = None
        due, until = max(self.mapped_now(), armed_s), self.loop.time() + _BATCH_S
        while self._queue and self._queue[0][0] <= due and self.loop.time() < until:
            at_s, _, fn = heapq.heappop(self._queue)
            self.latest = max(self.latest, at_s)
            try:
                fn()
            except Exception as exc:  # as asyncio would: the loop's handler logs it, the world goes on
                self.loop.call_exception_handler({"message": "exception in a simulated event", "exception": exc})
        if self._queue:
            self._arm()


@dataclass
class SpeedGovernor:
    """The speed a simulated world runs at, checked every few tenths of a wall second against how far it lags.

    Behind by more than ``slow_after_s`` wall seconds and further behind at
    each of the last ``growing_checks`` checks (not a burst it is working
    off, as at start-up): the speed halves, down to ``floor`` (or the speed
    asked, if lower). Within ``calm_within_s`` for ``calm_checks`` checks in a
    row: it rises by a quarter, up to the speed asked. In between it holds.
    Wall seconds, not world seconds, because the lag a machine adds is in wall
    time (a busy core, a long pacing decision).
    """

    asked: float
    slow_after_s: float = 0.1
    calm_within_s: float = 0.02
    growing_checks: int = 2
    calm_checks: int = 4
    floor: float = 1.0
    _growing: int = 0
    _calm: int = 0
    _last_behind_s: float = math.inf

    def check(self, speed: float, behind_s: float) -> float:
        """The speed to run at now, at ``speed`` with the world ``behind_s`` world seconds behind its clock."""
        late_s = behind_s / speed
        self._growing = self._growing + 1 if behind_s > self._last_behind_s else 0
        self._last_behind_s = behind_s
        if late_s > self.calm_within_s:
            self._calm = 0
            if late_s > self.slow_after_s and self._growing >= self.growing_checks:
                self._growing = 0
                return max(min(self.floor, self.asked), speed / 2)
            return speed
        self._calm += 1
        if self._calm < self.calm_checks or speed >= self.asked:
            return speed
        self._calm = 0
        return min(self.asked, speed * 1.25)

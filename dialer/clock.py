"""The engine's clock on asyncio time, optionally sped up, for the daemon, the demo and the two-clock tests.

Why a speed factor: the demo runs a 4-hour shift in about a minute with the
real daemon loop, and the engine tests fast-forward the same loop. Engine
time is seconds from ``start_s`` (the engine's origin is a campaign's first
local midnight); ``speed`` engine seconds pass per second of the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["AsyncioClock"]


class AsyncioClock:
    """``now()`` and ``call_at()`` in engine seconds on a running asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start_s: float = 0.0, speed: float = 1.0):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.loop, self.start_s, self.speed = loop, start_s, speed
        self._t0 = loop.time()

    def now(self) -> float:
        return self.start_s + (self.loop.time() - self._t0) * self.speed

    def loop_time(self, at_s: float) -> float:
        """The loop's time at engine time ``at_s``."""
        return self._t0 + (at_s - self.start_s) / self.speed

    def call_at(self, at_s: float, fn: Callable[[], None]) -> None:
        self.loop.call_at(self.loop_time(at_s), fn)

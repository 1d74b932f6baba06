"""Pacing controllers: how many calls to launch now, decided from a snapshot of the floor.

Why one interface: the daemon (wall clock, real telephony) and the simulator
(SimPy time) build the same ``Snapshot`` and call the same ``decide``. A
controller never reads a clock and does no I/O; time arrives in the snapshot.
``observe`` feeds finished attempts back, for controllers that learn (the
static ones here ignore it).

Static policies, from safest to most aggressive:
- ``Preview``: one call per idle agent, reserved for that agent (no abandonment possible).
- ``Progressive``: one line per idle agent; an answered call always finds an agent.
- ``Power``: ``ratio`` lines per idle agent; abandonment depends on the ratio.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pacing.errors import InvalidInput

__all__ = ["Snapshot", "Decision", "AttemptOutcome", "Controller", "Preview", "Progressive", "Power",
           "make_controller", "POLICIES"]


@dataclass(frozen=True)
class Snapshot:
    """The floor at one moment. Times are seconds; ``now_s`` counts from any fixed origin."""

    now_s: float
    agents_logged_in: int
    agents_idle: int
    busy_elapsed_s: tuple[float, ...] = ()
    ringing_elapsed_s: tuple[float, ...] = ()
    waiting: int = 0

    @property
    def in_flight(self) -> int:
        """Calls launched and not yet with an agent: ringing, or answered and waiting."""
        return len(self.ringing_elapsed_s) + self.waiting


@dataclass(frozen=True)
class Decision:
    """Calls to launch now, and why: the inputs the controller used, for the debug log and the trace."""

    launch: int
    reason: str
    inputs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptOutcome:
    """A finished attempt as the controller learns it. ``result``: live, machine, busy, no_answer, invalid."""

    dialled_at_s: float
    ring_s: float
    result: str
    abandoned: bool = False
    handle_s: float | None = None


class Controller(Protocol):
    name: str
    reserves_agent: bool

    def decide(self, snapshot: Snapshot) -> Decision: ...

    def observe(self, outcome: AttemptOutcome) -> None: ...


class _Static:
    name = "static"
    reserves_agent = False

    def observe(self, outcome: AttemptOutcome) -> None:
        """Static policies do not learn."""


class Preview(_Static):
    """Each idle agent gets one call of their own: they see the lead first, and the call cannot be abandoned."""

    name = "preview"
    reserves_agent = True

    def decide(self, snapshot: Snapshot) -> Decision:
        return Decision(snapshot.agents_idle, "one reserved call per idle agent", {"idle": snapshot.agents_idle})


class Progressive(_Static):
    """One line per idle agent, counting calls already in flight: no answered call is left without an agent."""

    name = "progressive"

    def decide(self, snapshot: Snapshot) -> Decision:
        launch = max(0, snapshot.agents_idle - snapshot.in_flight)
        return Decision(launch, "idle agents minus calls in flight",
                        {"idle": snapshot.agents_idle, "in_flight": snapshot.in_flight})


@dataclass
class Power(_Static):
    """``ratio`` lines per idle agent (rounded half up), counting calls in flight. No model, so no guarantee."""

    ratio: float = 1.5
    name = "power"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ratio) and self.ratio >= 1.0):
            raise InvalidInput("ratio", "must be a number >= 1 (lines per idle agent)")

    def decide(self, snapshot: Snapshot) -> Decision:
        lines = math.floor(self.ratio * snapshot.agents_idle + 0.5)
        launch = max(0, lines - snapshot.in_flight)
        return Decision(launch, f"{self.ratio:g} lines per idle agent minus calls in flight",
                        {"idle": snapshot.agents_idle, "in_flight": snapshot.in_flight, "ratio": self.ratio})


POLICIES: dict[str, Callable[..., Controller]] = {"preview": Preview, "progressive": Progressive, "power": Power}


def make_controller(policy: str, **params: float) -> Controller:
    """A fresh controller for ``policy`` with its parameters (``ratio`` for power)."""
    if policy not in POLICIES:
        raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}")
    try:
        return POLICIES[policy](**params)
    except TypeError:
        raise InvalidInput("policy", f"{policy} takes no parameters {', '.join(params)}") from None

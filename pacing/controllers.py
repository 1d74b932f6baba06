"""Pacing controllers: how many calls to launch now, decided from a snapshot of the floor.

Why one interface: the daemon (wall clock, real telephony) and the simulator
(SimPy time) build the same ``Snapshot`` and call the same ``decide``. A
controller never reads a clock and does no I/O; time arrives in the snapshot.
``placed`` reports, right after each ``decide``, how many calls were actually
originated (the list may have had fewer dialable leads than decided);
``observe`` feeds each attempt's result back as soon as the dialer knows it,
and ``observe_handle`` each agent's handle time (talk plus wrap-up, seconds)
when the agent is free again; static controllers ignore all three.

``pacing.registry`` names every policy with its typed parameters.

Static policies here, from safest to most aggressive (``pacing.predictive`` and
``pacing.vicidial`` hold the adaptive ones):
- ``Preview``: one call per idle agent, reserved for that agent (no abandonment possible).
- ``Progressive``: one line per idle agent; an answered call always finds an agent.
- ``Power``: ``ratio`` lines per idle agent; abandonment depends on the ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from pacing.errors import InvalidInput

__all__ = ["Snapshot", "Decision", "AttemptOutcome", "Controller", "Preview", "Progressive", "Power"]


@dataclass(frozen=True)
class Snapshot:
    """The floor at one moment. Times are seconds; ``now_s`` counts from a local midnight (the campaign's day
    boundaries fall on multiples of 86,400 s); ``seconds_left`` is the dialing time left today.

    ``ringing_segments`` names each ringing call's list segment, in the order of ``ringing_elapsed_s``, with the
    names the outcomes carry (``AttemptOutcome.segment``); empty means every call is in segment ``"all"``.

    ``analysing_elapsed_s``: seconds since each answered call entered answering-machine detection (AMD), and
    ``analysing_segments`` their segments (same convention). Why: for the AMD delay (2–3 s) such a call is
    neither ringing nor waiting, yet it may be a person about to need an agent; a controller that missed it
    launched again for the same free agent (progressive with 1 agent then abandons a fifth of its live answers).

    ``wait_s``: seconds a person the dialer has found (at the answer, or with AMD at the verdict) may wait for an
    agent before the safe-harbour message: the connect limit, or with AMD on what the engine leaves of it after
    the verdict (``dialer.core.engine.Engine.wait_s``: none)."""

    now_s: float
    agents_logged_in: int
    agents_idle: int
    busy_elapsed_s: tuple[float, ...] = ()
    ringing_elapsed_s: tuple[float, ...] = ()
    waiting: int = 0
    seconds_left: float = math.inf
    agents_on_call: int = 0
    ringing_segments: tuple[str, ...] = ()
    analysing_elapsed_s: tuple[float, ...] = ()
    analysing_segments: tuple[str, ...] = ()
    wait_s: float = 2.0  # how long a person found (after the answer, or AMD's verdict) may wait for an agent

    def __post_init__(self) -> None:
        if self.ringing_segments and len(self.ringing_segments) != len(self.ringing_elapsed_s):
            raise InvalidInput("ringing_segments", "must name one segment per ringing call, or be empty")
        if self.analysing_segments and len(self.analysing_segments) != len(self.analysing_elapsed_s):
            raise InvalidInput("analysing_segments", "must name one segment per call under AMD analysis, or be empty")

    @property
    def in_flight(self) -> int:
        """Calls launched and not yet with an agent: ringing, answered and under AMD analysis, or waiting."""
        return len(self.ringing_elapsed_s) + len(self.analysing_elapsed_s) + self.waiting


@dataclass(frozen=True)
class Decision:
    """Calls to launch now, and why: the inputs the controller used, for the debug log and the trace."""

    launch: int
    reason: str
    inputs: dict[str, float] = field(default_factory=dict)

    def explain(self) -> str:
        """One line for a debug log: the launch, its reason and every input (rates are fractions, times seconds)."""
        return f"launch {self.launch}: {self.reason}; " + " ".join(f"{k}={v:.4g}" for k, v in self.inputs.items())


@dataclass(frozen=True)
class AttemptOutcome:
    """A finished attempt as the dialer saw it. ``result``: live, machine, busy, no_answer, invalid.

    ``ring_s`` runs from the dial to the answer (or to the give-up for a no-answer);
    ``amd_detected`` marks a machine the detector hung up on (it may have been a person).
    ``dropped`` marks an abandon where the dialer hung up at the connect limit: the dialer cannot tell whether
    a person or a machine was waiting (``abandoned`` without it: the caller hung up while waiting, a person).
    The dialer reports it as soon as it knows: at the connect or the give-up for a live answer."""

    dialled_at_s: float
    ring_s: float
    result: str
    abandoned: bool = False
    amd_detected: bool = False
    segment: str = "all"
    dropped: bool = False


class Controller(Protocol):
    name: str
    reserves_agent: bool

    def decide(self, snapshot: Snapshot) -> Decision: ...

    def placed(self, now_s: float, count: int) -> None:
        """Called right after each ``decide`` with the calls actually originated (0 ≤ count ≤ the decision's
        launch): a controller that learns from its launches must learn from these, not from the decision."""

    def observe(self, outcome: AttemptOutcome) -> None: ...

    def observe_handle(self, at_s: float, handle_s: float) -> None: ...

    def observe_machine(self, at_s: float) -> None:
        """An answer passed to an agent as live was a machine, by the agent's word (AMD off, or a false
        negative): the abandonment measures count people, so it leaves the live answers. ``at_s``: when it
        was answered (the day it was counted on)."""


class _Static:
    name = "static"
    reserves_agent = False

    def placed(self, now_s: float, count: int) -> None:
        """Static policies do not learn."""

    def observe(self, outcome: AttemptOutcome) -> None:
        """Static policies do not learn."""

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        """Static policies do not learn."""

    def observe_machine(self, at_s: float) -> None:
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

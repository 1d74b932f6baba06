"""What the engine asks of the world, as protocols: telephony, leads, records, agents' screens, wake-ups.

Why ports: the engine does no I/O and reads no clock (h11's shape). The
simulator plugs in modelled customers and a SimPy clock; the daemon plugs in
Asterisk, the store and asyncio. Commands go out through these methods;
events come back as calls on ``dialer.core.engine.Engine``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dialer.core.agents import Agent
from dialer.core.calls import Call
from pacing.controllers import Decision

__all__ = ["ClaimedLead", "TelephonyDriver", "LeadSource", "Recorder", "AgentConsole", "Waker"]


@dataclass(frozen=True)
class ClaimedLead:
    """A lead the source has handed over for one attempt. ``attempt``: earlier attempts (0 for the first)."""

    key: int
    number: str
    segment: str = "all"
    attempt: int = 0
    payload: Any = None


class TelephonyDriver(Protocol):
    """Places and controls calls; reports back through the engine's ``answered``, ``amd_result`` and
    ``hung_up`` (with how the line ended). ``ring_timeout_s`` is the no-answer give-up, seconds."""

    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None: ...

    def bridge(self, call: Call, agent: str) -> None: ...

    def play_and_hang_up(self, call: Call, message: str) -> None: ...

    def hang_up(self, call: Call) -> None: ...


class LeadSource(Protocol):
    """Hands out dialable leads (every rule checked at claim time) and moves a lead on after its attempt."""

    def claim(self, n: int, now_s: float) -> Sequence[ClaimedLead]: ...

    def record(self, call: Call) -> None: ...


class Recorder(Protocol):
    """Keeps what happened: finished attempts, agents' busy periods (seconds) and pacing decisions."""

    def attempt(self, call: Call) -> None: ...

    def busy(self, agent: str, start_s: float, end_s: float) -> None: ...

    def decision(self, now_s: float, decision: Decision, placed: int) -> None: ...


class AgentConsole(Protocol):
    """The agent's screen: a screen pop when a call is connected, and every change of the agent's state."""

    def agent_changed(self, agent: Agent, call: Call | None, now_s: float) -> None: ...


class Waker(Protocol):
    """Call the engine's ``advance`` at (or just after) ``at_s``, with a time no earlier than ``at_s``: a loop
    may run a callback a hair early, and a timer found not yet due is not woken for again. A wake that finds
    nothing due is harmless."""

    def __call__(self, at_s: float) -> None: ...

"""The agents' floor: who is idle, who is busy, and which answered calls wait for an agent.

Why its own module: the connect rule is what the law measures (an agent
within 2 s of the greeting, else the call is abandoned), and the validation
tests drive this very class with Poisson arrivals to check it against
M/M/n+D and Erlang-A.

The longest-idle agent takes the next call; waiting calls are served first
come, first served. A waiting call gives up at its deadline (the connect
limit, or the customer's patience if shorter).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

__all__ = ["Agent", "Floor"]


@dataclass(eq=False)
class Agent:
    """One agent. ``state``: off, idle, busy, reserved (preview) or break."""

    name: str
    state: str = "off"
    busy_since: float = 0.0
    leave_after_call: str | None = None  # "break" or "off", when a break or shift end comes mid-call
    winding_down: bool = False  # a break or the shift end is near: take calls, but do not dial for this agent


@dataclass(eq=False)
class _Waiting:
    granted: simpy.Event
    gave_up: bool = False


@dataclass
class Floor:
    env: simpy.Environment
    idle: deque[Agent] = field(default_factory=deque)
    busy: set[Agent] = field(default_factory=set)
    waiting: deque[_Waiting] = field(default_factory=deque)
    logged_in: int = 0
    on_busy: Callable[[float, float], None] | None = None  # told of each busy period (start, end), seconds

    def __post_init__(self) -> None:
        self.changed = self.env.event()

    def _notify(self) -> None:
        if not self.changed.triggered:
            self.changed.succeed()
        self.changed = self.env.event()

    # -- agents come and go ----------------------------------------------------------------------------------
    def log_in(self, agent: Agent) -> None:
        self.logged_in += 1
        if agent.state in ("busy", "reserved"):  # still on yesterday's call
            agent.leave_after_call = None
            return
        self.release(agent, finished=False)

    def wind_down(self, agent: Agent) -> None:
        """Stop counting the agent as available for new dials; calls already in flight may still reach them."""
        agent.winding_down = True

    @property
    def available(self) -> int:
        """Idle agents the dialer may dial for: not about to leave."""
        return sum(1 for agent in self.idle if not agent.winding_down)

    def step_away(self, agent: Agent, why: str) -> None:
        """Start a break or end a shift: at once if idle, else when the current call is done."""
        if agent.state == "idle":
            self.idle.remove(agent)
            self._leave(agent, why)
        elif agent.state in ("busy", "reserved"):
            agent.leave_after_call = why

    def come_back(self, agent: Agent) -> None:
        if agent.state == "break":
            self.release(agent, finished=False)
        elif agent.leave_after_call == "break":
            agent.leave_after_call = None

    def _leave(self, agent: Agent, why: str) -> None:
        agent.state, agent.leave_after_call, agent.winding_down = why, None, False
        if why == "off":
            self.logged_in -= 1

    # -- calls -----------------------------------------------------------------------------------------------
    def reserve(self) -> Agent | None:
        """Take the longest-idle agent for a preview call of their own."""
        if not self.idle:
            return None
        agent = self.idle.popleft()
        agent.state = "reserved"
        return agent

    def start(self, agent: Agent) -> None:
        agent.state, agent.busy_since = "busy", self.env.now
        self.busy.add(agent)

    def connect(self, deadline_s: float | None) -> Generator[simpy.Event, Any, tuple[Agent | None, float]]:
        """Wait for an agent up to ``deadline_s`` (None: forever). Returns (agent or None, wait in seconds)."""
        arrived = self.env.now
        if self.idle:
            agent = self.idle.popleft()
            self.start(agent)
            return agent, 0.0
        ticket = _Waiting(self.env.event())
        self.waiting.append(ticket)
        if deadline_s is None or math.isinf(deadline_s):
            yield ticket.granted
        else:
            yield ticket.granted | self.env.timeout(deadline_s)
        if ticket.granted.triggered:
            return ticket.granted.value, self.env.now - arrived
        ticket.gave_up = True
        return None, self.env.now - arrived

    def release(self, agent: Agent, finished: bool = True) -> None:
        """The agent is free: to the first call still waiting, else to the idle queue (or a pending break)."""
        if finished and agent in self.busy:
            self.busy.discard(agent)
            if self.on_busy is not None:
                self.on_busy(agent.busy_since, self.env.now)
        if agent.leave_after_call:
            self._leave(agent, agent.leave_after_call)
            return
        while self.waiting:
            ticket = self.waiting.popleft()
            if not ticket.gave_up:
                self.start(agent)
                ticket.granted.succeed(agent)
                return
        agent.state = "idle"
        self.idle.append(agent)
        self._notify()

    @property
    def waiting_now(self) -> int:
        return sum(1 for ticket in self.waiting if not ticket.gave_up)

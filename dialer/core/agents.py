"""Agents and the connect rule, without any clock: the floor that the simulator and the daemon share.

Why its own module: the connect rule is what the law measures (an agent
within 2 s of the greeting, else the call is abandoned). The longest-idle
agent takes the next answered call; answered calls wait first come, first
served. The validation tests drive this pool with Poisson arrivals and check
it against M/M/n+D and Erlang-A, so the rule production uses is the one
tested against theory.

An agent asked to pause or log out while on a call leaves when the call and
its wrap-up are done (``pending``). ``winding_down`` marks an agent about to
leave: they still take calls, but the dialer launches none for them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from dialer.core.calls import IllegalTransition

__all__ = ["AgentState", "AGENT_TRANSITIONS", "Agent", "AgentPool"]


class AgentState(Enum):
    __hash__ = object.__hash__  # singletons: identity hashing keeps the snapshot cheap

    OFF = "off"
    READY = "ready"
    RESERVED = "reserved"  # holding a preview call of their own
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


A = AgentState
AGENT_TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    A.OFF: frozenset({A.READY, A.PAUSED}),
    A.READY: frozenset({A.RESERVED, A.TALKING, A.PAUSED, A.OFF}),
    A.RESERVED: frozenset({A.TALKING, A.READY, A.PAUSED, A.OFF}),
    A.TALKING: frozenset({A.WRAP_UP}),
    A.WRAP_UP: frozenset({A.READY, A.PAUSED, A.OFF}),
    A.PAUSED: frozenset({A.READY, A.OFF}),
}
del A  # the table's shorthand, not an export


_BUSY = frozenset({AgentState.TALKING, AgentState.WRAP_UP})


@dataclass(eq=False, slots=True)
class Agent:
    """One agent. ``busy_since_s``: when the current call was connected (talk and wrap-up count as busy)."""

    id: str
    state: AgentState = AgentState.OFF
    pause_reason: str | None = None
    busy_since_s: float = 0.0
    idle_since_s: float = 0.0
    call: int | None = None
    pending: AgentState | None = None  # PAUSED or OFF, to take effect when the current call is done
    winding_down: bool = False

    def move(self, to: AgentState) -> None:
        if to not in AGENT_TRANSITIONS[self.state]:
            raise IllegalTransition(f"agent {self.id}: {self.state.value} -> {to.value} is not allowed")
        self.state = to


class AgentPool:
    """Who is idle (longest first), who is busy, and which answered calls wait for an agent (first first)."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.idle: deque[Agent] = deque()
        self.waiting: deque[int] = deque()  # call ids, in order of answer
        self.busy: dict[str, Agent] = {}  # talking or in wrap-up
        self.logged_in = 0
        self.talking = 0
        self._idle_winding = 0  # idle agents winding down: in ``idle`` but not ``available``

    def move(self, agent: Agent, to: AgentState) -> None:
        """The one place a pooled agent changes state: the busy set and the logged-in count follow."""
        old = agent.state
        agent.move(to)
        self.logged_in += (old is AgentState.OFF) - (to is AgentState.OFF)
        self.talking += (to is AgentState.TALKING) - (old is AgentState.TALKING)
        if to in _BUSY:
            self.busy[agent.id] = agent
        elif old in _BUSY:
            del self.busy[agent.id]

    def get(self, agent_id: str) -> Agent:
        if agent_id not in self.agents:
            self.agents[agent_id] = Agent(agent_id)
        return self.agents[agent_id]

    def __iter__(self) -> Iterator[Agent]:
        return iter(self.agents.values())

    def make_ready(self, agent: Agent, now_s: float) -> None:
        self.move(agent, AgentState.READY)
        agent.call, agent.pause_reason, agent.idle_since_s = None, None, now_s
        self.idle.append(agent)
        self._idle_winding += agent.winding_down

    def set_winding_down(self, agent: Agent, winding: bool) -> None:
        """Mark the agent about to leave (or not); the available count follows."""
        if agent.state is AgentState.READY:
            self._idle_winding += winding - agent.winding_down
        agent.winding_down = winding

    def leave_idle(self, agent: Agent, to: AgentState) -> None:
        """A ready or reserved agent pauses or logs out; a busy one will when the call is done."""
        if agent.state in (AgentState.TALKING, AgentState.WRAP_UP):
            agent.pending = to
            return
        if agent.state is AgentState.READY:
            self.idle.remove(agent)
            self._idle_winding -= agent.winding_down
        self.move(agent, to)
        agent.winding_down, agent.pending = False, None

    def take_idle(self) -> Agent | None:
        """The longest-idle agent, out of the idle queue; None when every agent is busy."""
        if not self.idle:
            return None
        agent = self.idle.popleft()
        self._idle_winding -= agent.winding_down
        return agent

    def remove_waiting(self, call_id: int) -> None:
        self.waiting.remove(call_id)

    @property
    def available(self) -> int:
        """Idle agents the dialer may dial for: not about to leave."""
        return len(self.idle) - self._idle_winding

    def count(self, state: AgentState) -> int:
        return sum(1 for agent in self.agents.values() if agent.state is state)

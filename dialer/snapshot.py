"""The pacing snapshot, built from the engine's calls and agents through one table.

Why a table: a call the controller cannot see is a call it dials again for
the same agent. ``FLIGHT`` says, for every ``CallState``, where the call
counts in the ``Snapshot`` (or why it does not), and a test fails if a state
is missing from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from dialer.agents import AgentPool, AgentState
from dialer.calls import Call, CallState
from pacing.controllers import Snapshot

__all__ = ["Flight", "FLIGHT", "build_snapshot"]


class Flight(Enum):
    __hash__ = object.__hash__

    RINGING = "ringing"  # Snapshot.ringing_elapsed_s: may still answer
    ANALYSING = "analysing"  # Snapshot.analysing_elapsed_s: answered, AMD listening; may be a person
    WAITING = "waiting"  # Snapshot.waiting: a person on the line, no agent yet
    NONE = "none"  # not in flight: no lead line yet, already with an agent, or already given up


FLIGHT: dict[CallState, Flight] = {
    CallState.CLAIMED: Flight.NONE,  # placed in the same step it is claimed
    CallState.PREVIEW: Flight.NONE,  # its agent is reserved, so not idle: it can never find the floor short
    CallState.RINGING: Flight.RINGING,
    CallState.ANALYSING: Flight.ANALYSING,
    CallState.QUEUED: Flight.WAITING,
    CallState.TALKING: Flight.NONE,  # counted through its agent (busy_elapsed_s, agents_on_call)
    CallState.SAFE_HARBOUR: Flight.NONE,  # already abandoned: the message plays, no agent will take it
    CallState.ENDED: Flight.NONE,
}

_BUSY = frozenset({AgentState.TALKING, AgentState.WRAP_UP})


def build_snapshot(now_s: float, calls: Iterable[Call], pool: AgentPool, seconds_left: float) -> Snapshot:
    """The floor at ``now_s`` (seconds) for the controller, with ``seconds_left`` of dialing today."""
    flights: dict[Flight, list[Call]] = {flight: [] for flight in Flight}
    for call in calls:
        flights[FLIGHT[call.state]].append(call)
    ringing, analysing = flights[Flight.RINGING], flights[Flight.ANALYSING]
    logged_in, on_call, busy_elapsed = 0, 0, []
    for agent in pool:
        if agent.state is not AgentState.OFF:
            logged_in += 1
            if agent.state in _BUSY:
                busy_elapsed.append(now_s - agent.busy_since_s)
                on_call += agent.state is AgentState.TALKING
    return Snapshot(
        now_s=now_s, agents_logged_in=logged_in, agents_idle=pool.available, busy_elapsed_s=tuple(busy_elapsed),
        ringing_elapsed_s=tuple(now_s - call.since_s for call in ringing),
        ringing_segments=tuple(call.segment for call in ringing),
        analysing_elapsed_s=tuple(now_s - call.since_s for call in analysing),
        analysing_segments=tuple(call.segment for call in analysing),
        waiting=len(flights[Flight.WAITING]), seconds_left=seconds_left, agents_on_call=on_call)

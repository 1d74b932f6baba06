"""The pacing snapshot, built from the engine's calls and agents through one table.

Why a table: a call the controller cannot see is a call it dials again for
the same agent. ``FLIGHT`` says, for every ``CallState``, where the call
counts in the ``Snapshot`` (or why it does not), and a test fails if a state
is missing from it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from enum import Enum

from dialer.core.agents import AgentPool
from dialer.core.calls import Call, CallState
from pacing.controllers import Snapshot

__all__ = ["Flight", "FLIGHT", "IN_FLIGHT", "build_snapshot", "snapshot_of"]


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

IN_FLIGHT = (Flight.RINGING, Flight.ANALYSING, Flight.WAITING)  # the flights a snapshot reports


def build_snapshot(now_s: float, calls: Iterable[Call], pool: AgentPool, seconds_left: float) -> Snapshot:
    """The floor at ``now_s`` (seconds) for the controller, with ``seconds_left`` of dialing today."""
    flights: dict[Flight, list[Call]] = {flight: [] for flight in Flight}
    for call in calls:
        flights[FLIGHT[call.state]].append(call)
    return snapshot_of(now_s, flights, pool, seconds_left)


def snapshot_of(now_s: float, flights: Mapping[Flight, Collection[Call]], pool: AgentPool,
                seconds_left: float, civil_now_s: float | None = None, wait_s: float = 2.0) -> Snapshot:
    """The snapshot from calls already grouped by ``FLIGHT`` (the engine keeps them so, call by call); ages are
    taken at ``now_s``, and the snapshot's moment is ``civil_now_s`` when given (``Engine.civil``)."""
    ringing, analysing = flights[Flight.RINGING], flights[Flight.ANALYSING]
    busy = pool.busy.values()
    return Snapshot(
        now_s=now_s if civil_now_s is None else civil_now_s, agents_logged_in=pool.logged_in,
        agents_idle=pool.available,
        busy_elapsed_s=tuple([now_s - agent.busy_since_s for agent in busy]),
        ringing_elapsed_s=tuple([now_s - call.since_s for call in ringing]),
        ringing_segments=tuple([call.segment for call in ringing]),
        analysing_elapsed_s=tuple([now_s - call.since_s for call in analysing]),
        analysing_segments=tuple([call.segment for call in analysing]),
        waiting=len(flights[Flight.WAITING]), seconds_left=seconds_left,
        agents_on_call=pool.talking, wait_s=wait_s)

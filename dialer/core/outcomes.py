"""The one mapping from what the line said to an attempt's outcome.

Why a table: a line ends for many reasons (the customer was busy, the
server shut down while it rang, the call vanished in a crash, the customer
hung up while AMD listened), and what the ledger, the lead's retry and the
abandonment count must say depends on how far the call had got. Written as
scattered ifs in the driver, a shutdown came out as the customer's
no-answer and a crash as a network failure, and a person left in AMD at a
crash as a "human" no agent ever reached. Here each (stage, line end) pair
has one outcome, and a test checks the table covers every pair.

The rules the table holds:

- before an answer, a line lost by the dialer's side (the server shut down
  or crashed, the dialer lost its driver) is ``interrupted``: not charged to
  the lead, retried soon; congestion and network faults are ``failed``: not
  charged either; a call never placed is ``failed``;
- after an answer, any end that no agent and no message reached is
  ``abandoned`` (the conservative side: the person may have heard dead air),
  with the abandon's quarantine; the message's end keeps it abandoned;
- a call with an agent keeps ``human``: the agent's disposition says the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from dialer.core.calls import CallState
from dialer.records import Outcome

__all__ = ["LineEnd", "Stage", "STAGE_OF", "OUTCOMES", "outcome_of"]


class LineEnd(StrEnum):
    """How the line ended, as the telephony driver saw it."""

    HUNG_UP = "hung_up"          # an answered line closed normally (the customer, or our hang-up or message)
    BUSY = "busy"                # the customer's line was busy
    NO_ANSWER = "no_answer"      # rang out, declined on the phone, no user responding
    INVALID = "invalid"          # unallocated, changed or malformed number
    CONGESTION = "congestion"    # congestion or a network fault on the way to the customer
    NOT_PLACED = "not_placed"    # the call was never placed (no free trunk, the originate refused)
    SHUTDOWN = "shutdown"        # the telephony server stopped and cleared the line
    CRASH = "crash"              # the line vanished with the telephony server (found gone at reconnect)
    DRIVER_LOST = "driver_lost"  # the dialer lost the line (its driver stopped, a drain timed out)


class Stage(StrEnum):
    """How far a call had got when its line ended."""

    RINGING = "ringing"    # not answered (or not yet placed)
    ANSWERED = "answered"  # answered; AMD listening or waiting for an agent: no agent, no message yet
    MESSAGE = "message"    # the safe-harbour message was playing
    AGENT = "agent"        # with an agent


STAGE_OF: Mapping[CallState, Stage] = {
    CallState.CLAIMED: Stage.RINGING,
    CallState.PREVIEW: Stage.RINGING,
    CallState.RINGING: Stage.RINGING,
    CallState.ANALYSING: Stage.ANSWERED,
    CallState.QUEUED: Stage.ANSWERED,
    CallState.SAFE_HARBOUR: Stage.MESSAGE,
    CallState.TALKING: Stage.AGENT,
    CallState.ENDED: Stage.AGENT,  # an ended call keeps what it had (an agent's call in wrap-up)
}

_BEFORE_ANSWER: Mapping[LineEnd, Outcome] = {
    LineEnd.HUNG_UP: Outcome.INTERRUPTED,  # no customer clears a ringing line normally: the server did
    LineEnd.BUSY: Outcome.BUSY,
    LineEnd.NO_ANSWER: Outcome.NO_ANSWER,
    LineEnd.INVALID: Outcome.INVALID,
    LineEnd.CONGESTION: Outcome.FAILED,
    LineEnd.NOT_PLACED: Outcome.FAILED,
    LineEnd.SHUTDOWN: Outcome.INTERRUPTED,
    LineEnd.CRASH: Outcome.INTERRUPTED,
    LineEnd.DRIVER_LOST: Outcome.INTERRUPTED,
}

OUTCOMES: Mapping[tuple[Stage, LineEnd], Outcome] = {
    **{(Stage.RINGING, end): outcome for end, outcome in _BEFORE_ANSWER.items()},
    **{(Stage.ANSWERED, end): Outcome.ABANDONED for end in LineEnd},
    **{(Stage.MESSAGE, end): Outcome.ABANDONED for end in LineEnd},
    **{(Stage.AGENT, end): Outcome.HUMAN for end in LineEnd},
}
"""(stage, line end) -> the attempt's outcome: every pair, no default."""


def outcome_of(state: CallState, end: LineEnd) -> Outcome:
    """The outcome of a call in ``state`` whose line ended with ``end``."""
    return OUTCOMES[STAGE_OF[state], end]

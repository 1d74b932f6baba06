"""One attempt's life as a state machine, and the one record every part of the dialer keeps of it.

Why a table: the pacing guarantee depends on every call in flight being seen
(a call under answering-machine detection once was not, and progressive
dialing abandoned answers with AMD on). So each state is declared once here,
its legal moves are a table, and ``dialer.core.snapshot`` maps every state to what
the controller sees. An illegal move raises ``IllegalTransition``.

States, in the order a call can take them::

    CLAIMED ─┬─> PREVIEW ──> RINGING          (preview: an agent sees the lead first)
             └─> RINGING ─┬─> ANALYSING ─┐    (AMD listens to the greeting)
                          ├──────────────┴─> QUEUED ──> TALKING ──> ENDED
                          │                    └─> SAFE_HARBOUR ──> ENDED (abandoned)
                          └─> ENDED (busy, no answer, invalid, network failure)

A ``Call`` converts to the controller's ``AttemptOutcome`` and to the store's
``AttemptRecord``; both use ``Outcome``'s names, so an attempt has one record
and one vocabulary from the driver to the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from dialer.errors import IllegalTransition
from dialer.records import AttemptRecord, Outcome
from pacing.controllers import AttemptOutcome

__all__ = ["CallState", "TRANSITIONS", "IllegalTransition", "Call", "Disposition", "AmdResult"]


class CallState(Enum):
    """Where a call is; members hash by identity (they are singletons), which keeps the snapshot cheap."""

    __hash__ = object.__hash__

    CLAIMED = "claimed"
    PREVIEW = "preview"
    RINGING = "ringing"
    ANALYSING = "analysing"
    QUEUED = "queued"
    TALKING = "talking"
    SAFE_HARBOUR = "safe_harbour"
    ENDED = "ended"


S = CallState
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    S.CLAIMED: frozenset({S.PREVIEW, S.RINGING, S.ENDED}),
    S.PREVIEW: frozenset({S.RINGING, S.ENDED}),
    S.RINGING: frozenset({S.ANALYSING, S.QUEUED, S.TALKING, S.ENDED}),
    S.ANALYSING: frozenset({S.QUEUED, S.TALKING, S.ENDED}),
    S.QUEUED: frozenset({S.TALKING, S.SAFE_HARBOUR, S.ENDED}),
    S.TALKING: frozenset({S.ENDED}),
    S.SAFE_HARBOUR: frozenset({S.ENDED}),
    S.ENDED: frozenset(),
}
del S  # the table's shorthand, not an export


@dataclass(frozen=True)
class Disposition:
    """What the agent recorded in wrap-up. ``code``: the campaign catalogue's outcome (a sale code, ``refused``,
    ``callback``, ``dnc_request``, ``machine``); ``refusal_reason`` a catalogue code; ``callback_at`` UTC."""

    code: str
    refusal_reason: str | None = None
    callback_at: datetime | None = None
    callback_owner: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AmdResult:
    """AMD's verdict on an answered call. ``machine``: the dialer hangs up on it; ``sure``: False when AMD could
    not decide (the dialer treats the call as a person's, and the ledger keeps "not_sure", which calibration
    needs apart from a sure "human"); ``silence_s``: how long the silence after the greeting had lasted when AMD
    decided, seconds (None: unknown). Why it matters: the connect limit counts from the greeting's end, which is
    ``silence_s`` before the verdict, not from the verdict."""

    machine: bool
    sure: bool = True
    silence_s: float | None = None

    @property
    def ledger(self) -> str:
        """The ledger's ``amd_result``: machine, human or not_sure."""
        return "not_sure" if not self.sure else "machine" if self.machine else "human"


@dataclass(eq=False, slots=True)
class Call:
    """One attempt. Times are seconds on the engine's clock (from the campaign's first local midnight)."""

    id: int
    lead: int
    number: str
    segment: str
    attempt: int
    state: CallState = CallState.CLAIMED
    since_s: float = 0.0  # when the call entered its current state, seconds
    agent: str | None = None
    outcome: Outcome | None = None
    amd_machine: bool | None = None
    amd_result: AmdResult | None = None
    dialled_s: float | None = None
    answered_s: float | None = None
    amd_end_s: float | None = None
    queued_s: float | None = None
    connected_s: float | None = None
    hangup_s: float | None = None
    ended_s: float | None = None
    wrapped_s: float | None = None  # the agent closed the wrap-up
    disposition: Disposition | None = None
    message_played: bool = False
    message_s: float | None = None  # the safe-harbour message started
    greeting_end_s: float | None = None  # the customer's greeting ended: the connect limit counts from here
    recording: str | None = None  # the recording's name (the driver's), once asked for
    recording_error: str | None = None  # why the recording did not start
    observed: bool = False  # the controller has been told of its result
    payload: Any = None  # the lead source's own handle (a store row id, a simulated lead)

    def move(self, to: CallState, now_s: float) -> None:
        """Change state at ``now_s`` (seconds), or raise ``IllegalTransition`` naming both states."""
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"call {self.id}: {self.state.value} -> {to.value} is not allowed")
        self.state, self.since_s = to, now_s

    @property
    def disposition_code(self) -> str | None:
        """The agent's disposition as the store keeps it: none for a machine an agent heard (not a contact)."""
        d = self.disposition
        return d.code if d is not None and d.code != "machine" else None

    def as_outcome(self, civil: Callable[[float], float] | None = None) -> AttemptOutcome:
        """The attempt as the controller learns it: an abandon is a live answer, a false positive a machine.
        ``civil`` maps the dial time to the controller's clock (``Engine.civil``); the ring time stays as is."""
        assert self.dialled_s is not None and self.outcome is not None
        ring = (self.answered_s if self.answered_s is not None else self.hangup_s or self.dialled_s) - self.dialled_s
        result = _AS_SEEN.get(self.outcome, "other")
        dialled = civil(self.dialled_s) if civil is not None else self.dialled_s
        abandoned = self.outcome is Outcome.ABANDONED
        return AttemptOutcome(dialled, ring, result, abandoned, bool(self.amd_machine), self.segment,
                              dropped=abandoned and self.message_played)

    def as_record(self, origin: datetime) -> AttemptRecord:
        """The store's record of the attempt; ``origin`` is the UTC moment of engine time 0."""
        assert self.outcome is not None and self.dialled_s is not None

        def at(seconds: float | None) -> datetime | None:
            return None if seconds is None else origin + timedelta(seconds=seconds)

        d = self.disposition if self.disposition_code is not None else None
        data = dict(d.data) if d else {}
        if self.wrapped_s is not None and self.ended_s is not None:
            data["wrap_s"] = self.wrapped_s - self.ended_s
        amd = None if self.amd_result is None else self.amd_result.ledger
        dialled = at(self.dialled_s)
        assert dialled is not None
        return AttemptRecord(
            outcome=self.outcome, dialled_at=dialled, answered_at=at(self.answered_s), amd_result=amd,
            amd_end_at=at(self.amd_end_s), connected_at=at(self.connected_s), hangup_at=at(self.hangup_s),
            message_played="safe_harbour" if self.message_played else None,
            disposition=d.code if d else None, refusal_reason=d.refusal_reason if d else None, agent=self.agent,
            callback_at=d.callback_at if d else None, callback_owner=d.callback_owner if d else None,
            data=data, greeting_end_at=at(self.greeting_end_s), message_at=at(self.message_s),
            recording=self.recording, recording_error=self.recording_error)


_AS_SEEN = {Outcome.HUMAN: "live", Outcome.ABANDONED: "live", Outcome.MACHINE: "machine", Outcome.BUSY: "busy",
            Outcome.NO_ANSWER: "no_answer", Outcome.INVALID: "invalid"}

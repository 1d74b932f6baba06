"""The words every layer shares: what an attempt's outcome is, and the record of one dial.

Why the bottom layer: the engine's core (``dialer.core``) hands the store
(``lists``) what happened on a dial, and the store writes it. Defined beside
the store's queries, the record made importing the engine load SQLAlchemy and
the list machinery; defined in the core, it made the store import the dialer.
Here it imports nothing of the project, like ``dialer.errors``, and both
layers import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Outcome", "UNCHARGED", "AttemptRecord"]


class Outcome(StrEnum):
    """What the network and the dialer made of an attempt: the store's ``attempt.outcome`` values.

    A ``StrEnum``, so a member is the very string the store's column holds and compares equal to it."""

    HUMAN = "human"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    INVALID = "invalid"
    ABANDONED = "abandoned"
    FAILED = "failed"  # congestion or another network fault: retried, not charged to the lead
    INTERRUPTED = "interrupted"  # the dialer stopped (crash, drain timeout) with the call in flight

    __hash__ = str.__hash__  # equal members and strings must hash alike


UNCHARGED = frozenset({Outcome.FAILED, Outcome.INTERRUPTED})
"""Outcomes that are the dialer's or the network's doing, not the person's: such an attempt is written to the
ledger but not counted against the lead (its attempts, its attempt cap, a rolling cap's count)."""


@dataclass
class AttemptRecord:
    """What happened on one dial, as the store keeps it."""

    outcome: Outcome
    dialled_at: datetime
    answered_at: datetime | None = None
    amd_result: str | None = None
    amd_end_at: datetime | None = None
    connected_at: datetime | None = None
    hangup_at: datetime | None = None
    message_played: str | None = None
    disposition: str | None = None
    refusal_reason: str | None = None
    agent: str | None = None
    callback_at: datetime | None = None
    callback_owner: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    greeting_end_at: datetime | None = None  # the greeting ended: the connect limit counts from here
    message_at: datetime | None = None  # the safe-harbour message started
    recording: str | None = None  # the call's recording, by its name under the recordings folder
    recording_error: str | None = None  # why the recording did not start

    def __post_init__(self) -> None:
        self.outcome = Outcome(self.outcome)  # a stray string fails here, not in the ledger

    @property
    def answer_unknown(self) -> bool:
        """An interrupted attempt written from a dial mark alone (a crashed process, a takeover): the call may
        have been answered and its person left unserved, so its lead waits as long as after an abandon.
        Such rows carry ``data["interrupted"]``."""
        return self.outcome is Outcome.INTERRUPTED and self.data.get("interrupted") is True

    def as_json(self) -> dict[str, Any]:
        """The record as JSON values, its times as ISO 8601 with their offset: what a result refused by the fence
        carries to the campaign's next owner (``lists.handover``). ``data`` is JSON already (the ledger keeps it
        in a JSON column)."""
        return {f.name: _iso(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> AttemptRecord:
        """The record ``as_json`` gave; a stray outcome or time fails here."""
        known: dict[str, Any] = {name: datetime.fromisoformat(v) if name in _TIMES and v is not None else v
                                 for name, v in value.items()}
        return cls(**known)


_TIMES = frozenset(f.name for f in fields(AttemptRecord) if "datetime" in str(f.type))  # moments, by annotation


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value

"""The agents' log (``agent_event``): appending each change of presence, and reading back logged-in and paused time.

Why a log of changes, not a table of sessions: a row is written when the
change happens and never touched again (the attempt ledger's rule), so a
crash loses at most the changes not yet written, never a finished session.
Reading turns the changes back into time: an agent is logged in from a
log-in to a log-out, and paused from a pause to the next ready or log-out.

A session the log never closed (a daemon that died: a clean stop logs every
agent out) runs until the agent's next log-in, or the end of the period read,
or now. A change written twice (a commit retried after a lost connection)
reads as one: the second moves the agent where they already are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from lists.lifecycle import Presence
from lists.models import PresenceEvent, to_db

__all__ = ["PresenceChange", "append_presence", "AgentTime", "agent_times", "Where", "WHERE_AFTER"]


@dataclass(frozen=True)
class PresenceChange:
    """One change of one agent's presence in a campaign, at an aware moment; a pause carries its reason."""

    campaign_id: int
    agent: str
    at: datetime
    event: Presence
    pause_reason: str | None = None


def append_presence(session: Session, changes: Sequence[PresenceChange]) -> None:
    """Append the changes to the log, in the caller's transaction (never an update: the log is append-only)."""
    if changes:
        session.execute(insert(PresenceEvent), [
            {"campaign_id": c.campaign_id, "agent": c.agent, "at": to_db(c.at), "event": c.event,
             "pause_reason": c.pause_reason} for c in changes])


class Where(Enum):
    """Where an agent is between two changes: off, taking calls (or on one), or paused."""

    OFF = "off"
    IN = "in"
    PAUSED = "paused"


WHERE_AFTER: dict[Presence, Where] = {
    Presence.LOG_IN: Where.IN, Presence.READY: Where.IN, Presence.PAUSE: Where.PAUSED, Presence.LOG_OUT: Where.OFF,
}
"""Where each change leaves the agent."""


@dataclass
class AgentTime:
    """One agent's seconds logged in within a period, and of those, seconds paused by reason."""

    logged_in_s: float = 0.0
    paused_s: dict[str, float] = field(default_factory=dict)

    @property
    def available_s(self) -> float:
        """Logged in and not paused: the time occupancy is a share of."""
        return self.logged_in_s - sum(self.paused_s.values())


@dataclass
class _Walk:
    """An agent's presence read change by change: where they are since when, and the time summed so far."""

    start: datetime
    where: Where = Where.OFF
    reason: str = ""
    since: datetime | None = None
    time: AgentTime = field(default_factory=AgentTime)

    def to(self, moment: datetime) -> None:
        """Count the time from the last change to ``moment`` (the period's start, at the earliest)."""
        moment = max(moment, self.start)
        if self.since is not None and self.where is not Where.OFF:
            seconds = max(0.0, (moment - self.since).total_seconds())
            self.time.logged_in_s += seconds
            if self.where is Where.PAUSED:
                self.time.paused_s[self.reason] = self.time.paused_s.get(self.reason, 0.0) + seconds
        self.since = moment

    def change(self, event: Presence, reason: str | None) -> None:
        self.where, self.reason = WHERE_AFTER[event], reason or "no reason given"


def agent_times(session: Session, campaign_id: int, start: datetime | None, end: datetime | None,
                now: datetime) -> dict[str, AgentTime]:
    """Each agent's logged-in and paused seconds in the campaign from ``start`` to ``end`` (aware moments; None
    is open). Where each agent was at ``start`` is read from their last change before it; an agent the log
    leaves logged in counts up to ``now`` (within the period), and never less than up to their last change."""
    walks: dict[str, _Walk] = {}
    first = start if start is not None else datetime.min.replace(tzinfo=UTC)
    for agent, at, event, reason in _changes(session, campaign_id, start, end):
        walk = walks.setdefault(agent, _Walk(first))
        walk.to(at)
        walk.change(event, reason)
    close = now if end is None else min(end, now)
    for walk in walks.values():
        walk.to(max(close, walk.since or close))
    return {agent: walk.time for agent, walk in walks.items() if walk.time.logged_in_s > 0}


def _changes(session: Session, campaign_id: int, start: datetime | None,
             end: datetime | None) -> Iterable[tuple[str, datetime, Presence, str | None]]:
    """The changes before ``end``, oldest first: from ``start``, with each agent's last ones before it."""
    columns = (PresenceEvent.id, PresenceEvent.agent, PresenceEvent.at, PresenceEvent.event,
               PresenceEvent.pause_reason)
    mine = PresenceEvent.campaign_id == campaign_id
    within = select(*columns).where(mine)
    if end is not None:
        within = within.where(PresenceEvent.at < to_db(end))
    if start is None:
        rows = session.execute(within.order_by(PresenceEvent.at, PresenceEvent.id)).all()
    else:
        last = (select(PresenceEvent.agent, func.max(PresenceEvent.at).label("at"))
                .where(mine, PresenceEvent.at < to_db(start)).group_by(PresenceEvent.agent).subquery())
        before = select(*columns).join(last, and_(PresenceEvent.agent == last.c.agent,
                                                  PresenceEvent.at == last.c.at)).where(mine)
        rows = session.execute(within.where(PresenceEvent.at >= to_db(start)).union_all(before)
                               .order_by("at", "id")).all()
    return ((agent, at.replace(tzinfo=UTC), Presence(event), reason) for _, agent, at, event, reason in rows)

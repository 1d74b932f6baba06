"""The simulated call list: leads with a segment, zones and history, chosen by the ``lists`` rules.

Why the real rules: a simulated day is only worth planning with if it
dials whom the daemon would dial. Each lead is checked with
``lists.rules.refusal`` at dial time, rescheduled with ``dialable_from`` when
blocked for now, closed as ``CLOSED_AS`` says when it never may be, and
queues are served by ``take_in_priority`` with the scenario's
``fresh_share``, as the store's claim serves a campaign's. Every status
change passes ``lists.lifecycle.move_lead``, the store's own table.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from dialer.core.calls import Call
from dialer.core.ports import ClaimedLead
from dialer.drivers.sim.scenario import Scenario
from dialer.records import Outcome
from lists.lifecycle import CLOSED, LeadStatus, move_lead
from lists.rules import (
    CLOSED_AS,
    CallingProfile,
    LeadHistory,
    after_attempt,
    dialable_from,
    refusal,
    take_in_priority,
)

__all__ = ["SimLead", "SimList"]


@dataclass(eq=False)
class SimLead:
    index: int
    segment: int
    zones: tuple[str, ...]
    status: LeadStatus = LeadStatus.NEW
    attempts: list[datetime] = field(default_factory=list)
    last_abandoned_at: datetime | None = None

    @property
    def final(self) -> bool:
        """Closed: reached, invalid, out of attempts or not to be called; never dialled again."""
        return self.status in CLOSED

    def move(self, to: LeadStatus) -> None:
        self.status = move_lead(self.status, to, f"sim:{self.index}")

    def history(self) -> LeadHistory:
        return LeadHistory(zones=self.zones, attempts=tuple(self.attempts), last_abandoned_at=self.last_abandoned_at,
                           final=self.final)


class SimList:
    """Leads in the claim's queues (``NEW``, ``RETRY``; no simulated callback is booked), each a heap of
    (due time in seconds, lead index); a lead's status is its queue's while it waits there."""

    def __init__(self, scenario: Scenario, segments: np.ndarray, origin: datetime, profile: CallingProfile):
        zones = scenario.rules.zones
        self.leads = [SimLead(i, int(s), (zones[i % len(zones)],)) for i, s in enumerate(segments)]
        self.queues: dict[LeadStatus, list[tuple[float, int]]] = {
            LeadStatus.NEW: [(0.0, i) for i in range(len(self.leads))], LeadStatus.RETRY: [], LeadStatus.CALLBACK: []}
        self.origin, self.profile, self.retry = origin, profile, scenario.rules.retry
        self.fresh_share = scenario.rules.fresh_share
        self.segment_names = [segment.name for segment in scenario.segments]
        self.dialled: set[int] = set()

    def moment(self, now_s: float) -> datetime:
        return self.origin + timedelta(seconds=now_s)

    def take(self, n: int, now_s: float) -> list[SimLead]:
        """Up to ``n`` leads dialable at ``now_s``, by the same priority rules and mix as the store's claim."""
        return take_in_priority(lambda queue, k: self._take(queue, k, now_s), n, self.fresh_share) if n > 0 else []

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        """The engine's ``LeadSource.claim``: ``take``, each lead handed over with its attempt number."""
        names = self.segment_names
        return [ClaimedLead(lead.index, f"sim:{lead.index}", names[lead.segment], len(lead.attempts), lead)
                for lead in self.take(n, now_s)]

    def record(self, call: Call) -> None:
        """The engine's ``LeadSource.record``: the attempt moves its lead on, by the store's own rule."""
        assert call.outcome is not None and call.dialled_s is not None
        end_s = call.hangup_s if call.hangup_s is not None else call.dialled_s
        self.finish(self.leads[call.lead], call.outcome.value, self.moment(call.dialled_s), self.moment(end_s),
                    call.disposition_code)

    def _take(self, queue: LeadStatus, k: int, now_s: float) -> list[SimLead]:
        """Claim up to ``k`` due leads of ``queue``; set aside the others as the store's claim does (closed when
        they never may be dialled, rescheduled when blocked for now, dropped when no window opens)."""
        heap, now = self.queues[queue], self.moment(now_s)
        out: list[SimLead] = []
        while heap and len(out) < k and heap[0][0] <= now_s:
            _, index = heapq.heappop(heap)
            lead = self.leads[index]
            history = lead.history()
            reason = refusal(self.profile, history, now)
            if reason is None:
                lead.move(LeadStatus.CLAIMED)
                out.append(lead)
                self.dialled.add(index)
            elif reason in CLOSED_AS:
                lead.move(CLOSED_AS[reason])
            elif (later := dialable_from(self.profile, history, now)) is not None:
                heapq.heappush(heap, ((later - self.origin).total_seconds(), index))
        return out

    def finish(self, lead: SimLead, outcome: str, dialled_at: datetime, end: datetime,
               disposition: str | None = None) -> None:
        """Record the attempt and move the lead where ``lists.rules.after_attempt`` says: back in the retry queue,
        or closed. The simulator books no callback (no ``callback_at``), so a callback disposition closes it."""
        lead.attempts.append(dialled_at)
        if outcome == Outcome.ABANDONED:
            lead.last_abandoned_at = end
        step = after_attempt(self.retry, self.profile.max_attempts, len(lead.attempts), outcome, end, disposition)
        lead.move(step.status)
        if step.status is LeadStatus.RETRY:
            assert step.next_at is not None  # a retry is always due at a time
            heapq.heappush(self.queues[LeadStatus.RETRY], ((step.next_at - self.origin).total_seconds(), lead.index))

    @property
    def penetration(self) -> float:
        """Share of the list dialled at least once."""
        return len(self.dialled) / len(self.leads)

    @property
    def finished(self) -> float:
        """Share of the list with a final outcome (reached, invalid, or out of attempts)."""
        return sum(lead.final for lead in self.leads) / len(self.leads)

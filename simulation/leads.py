"""The simulated call list: leads with a segment, zones and history, chosen by the ``lists`` rules.

Why the real rules: a simulated day is only worth planning with if it
dials whom the daemon would dial. Each lead is checked with
``lists.rules.refusal`` at dial time, rescheduled with ``dialable_from`` when
blocked for now, and queues are served by ``take_in_priority``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from dialer.core.calls import Call
from dialer.core.ports import ClaimedLead
from dialer.drivers.sim.scenario import Scenario
from lists.rules import (
    PERMANENT,
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
    attempts: list[datetime] = field(default_factory=list)
    last_abandoned_at: datetime | None = None
    final: bool = False

    def history(self) -> LeadHistory:
        return LeadHistory(zones=self.zones, attempts=tuple(self.attempts), last_abandoned_at=self.last_abandoned_at,
                           final=self.final)


class SimList:
    """Leads in two queues ("new", "retry"), each a heap of (due time in seconds, lead index)."""

    def __init__(self, scenario: Scenario, segments: np.ndarray, origin: datetime, profile: CallingProfile):
        zones = scenario.rules.zones
        self.leads = [SimLead(i, int(s), (zones[i % len(zones)],)) for i, s in enumerate(segments)]
        self.queues: dict[str, list[tuple[float, int]]] = {"new": [(0.0, i) for i in range(len(self.leads))],
                                                           "retry": [], "callback": []}
        self.origin, self.profile, self.retry = origin, profile, scenario.rules.retry
        self.segment_names = [segment.name for segment in scenario.segments]
        self.dialled: set[int] = set()

    def moment(self, now_s: float) -> datetime:
        return self.origin + timedelta(seconds=now_s)

    def take(self, n: int, now_s: float) -> list[SimLead]:
        """Up to ``n`` leads dialable at ``now_s``, by the same priority rules as the store's claim."""
        return take_in_priority(lambda queue, k: self._take(queue, k, now_s), n) if n > 0 else []

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

    def _take(self, queue: str, k: int, now_s: float) -> list[SimLead]:
        heap, now = self.queues[queue], self.moment(now_s)
        out: list[SimLead] = []
        while heap and len(out) < k and heap[0][0] <= now_s:
            _, index = heapq.heappop(heap)
            lead = self.leads[index]
            history = lead.history()
            reason = refusal(self.profile, history, now)
            if reason is None:
                out.append(lead)
                self.dialled.add(index)
            elif reason not in PERMANENT:
                later = dialable_from(self.profile, history, now)
                if later is not None:
                    heapq.heappush(heap, ((later - self.origin).total_seconds(), index))
        return out

    def finish(self, lead: SimLead, outcome: str, dialled_at: datetime, end: datetime,
               disposition: str | None = None) -> None:
        """Record the attempt and queue the retry ``lists.rules.after_attempt`` calls for, unless the lead is done."""
        lead.attempts.append(dialled_at)
        if outcome == "abandoned":
            lead.last_abandoned_at = end
        step = after_attempt(self.retry, self.profile.max_attempts, len(lead.attempts), outcome, end, disposition)
        if step.status != "retry" or step.next_at is None:
            lead.final = True
            return
        heapq.heappush(self.queues["retry"], ((step.next_at - self.origin).total_seconds(), lead.index))

    @property
    def penetration(self) -> float:
        """Share of the list dialled at least once."""
        return len(self.dialled) / len(self.leads)

    @property
    def finished(self) -> float:
        """Share of the list with a final outcome (reached, invalid, or out of attempts)."""
        return sum(lead.final for lead in self.leads) / len(self.leads)

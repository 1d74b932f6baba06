"""The engine's ports on the store: claims topped up off the event loop, one ordered writer, crash recovery.

Why threads: the engine's ``claim`` is synchronous and runs on the event
loop, which must never wait on the store (an SQLite checkpoint once took
50 ms, a PostgreSQL claim 60 ms). So ``ClaimBuffer`` hands out leads already
claimed by a single claim thread, and asks it for more when it runs low;
leads claimed but not dialled go back to their queue.

Why one writer: every ledger row goes through ``lists.selection`` (the one
attempt-writing path) in order, on one thread with its own session, so a
lead's attempt is never written before its dial mark and a shutdown can
flush everything. The dial mark (``lead.dial_started_at``) is written ahead:
``WriteAheadTelephony`` originates a call only once its mark is committed, so
after a crash a claimed lead with a mark was maybe rung (it gets an
"interrupted" attempt and a retry time) and one without was not (it goes
back to its queue as it was). Measured 2026-12-03 on SQLite, 2 shared cores:
the mark delays a dial by a few milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dialer.calls import Call, CallState, Outcome
from dialer.ports import ClaimedLead, TelephonyDriver
from lists.models import Campaign, Lead, as_utc, to_db
from lists.rules import CallingProfile, LeadHistory, refusal
from lists.selection import AttemptRecord, claim_leads, dial_histories, record_attempts

__all__ = ["LeadRef", "Writer", "ClaimBuffer", "WriteAheadTelephony", "release_leads", "recover", "Recovery",
           "interrupted_record", "open_call_record"]

log = logging.getLogger(__name__)
Factory = sessionmaker[Session]


@dataclass(frozen=True)
class LeadRef:
    """A claimed lead's store handle, carried as the engine call's ``payload``, with its history at the claim
    (None: not checked again at dial time)."""

    id: int
    campaign_id: int
    history: LeadHistory | None = None


# ---- the writer -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Mark:
    lead_id: int
    at: datetime
    done: Callable[[], None]


@dataclass(frozen=True)
class _Attempt:
    campaign_id: int
    lead_id: int
    record: AttemptRecord


@dataclass(frozen=True)
class _Release:
    lead_ids: tuple[int, ...]


_Item = _Mark | _Attempt | _Release


class Writer:
    """One thread writing dial marks, attempts and releases in order; ``flush`` waits for all of them.

    Why batches: under load the queue holds many items, and one commit for
    a batch (``record_attempts``) costs about what one attempt costs alone. A
    failing store is retried with back-off (``retry_s`` up to 5 s): nothing
    queued is dropped, and ``healthy`` turns False for ``/readyz``.
    """

    def __init__(self, factory: Factory, claimer: str, loop: asyncio.AbstractEventLoop, batch: int = 200,
                 retry_s: float = 0.2):
        self.factory, self.claimer, self.loop, self.batch, self.retry_s = factory, claimer, loop, batch, retry_s
        self.queue: queue.Queue[_Item | None] = queue.Queue()
        self.healthy = True
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="dialer-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark(self, lead_id: int, at: datetime, done: Callable[[], None]) -> None:
        """Commit the dial mark, then call ``done`` on the event loop."""
        self.queue.put(_Mark(lead_id, at, done))

    def attempt(self, campaign_id: int, lead_id: int, record: AttemptRecord) -> None:
        self.queue.put(_Attempt(campaign_id, lead_id, record))

    def release(self, lead_ids: Sequence[int]) -> None:
        if lead_ids:
            self.queue.put(_Release(tuple(lead_ids)))

    @property
    def backlog(self) -> int:
        return self.queue.qsize()

    def flush(self, timeout_s: float) -> bool:
        """Wait (blocking: call off the loop) until every queued item is written; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.queue.unfinished_tasks

    def stop(self, timeout_s: float) -> bool:
        """Flush, then end the thread; False when items were left unwritten."""
        flushed = self.flush(timeout_s)
        self.queue.put(None)
        self._thread.join(timeout=1.0)
        return flushed

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                self.queue.task_done()
                return
            items = [first]
            while len(items) < self.batch:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)
                    self.queue.task_done()
                    break
                items.append(nxt)
            self._write_until_done(items)
            for _ in items:
                self.queue.task_done()

    def _write_until_done(self, items: list[_Item]) -> None:
        delay = self.retry_s
        while True:
            try:
                self._write(items)
            except DBAPIError as exc:
                self.healthy = False
                log.error("store write failed, retrying in %.1f s: %s", delay, str(exc).splitlines()[0],
                          extra={"event": "store_error"})
                time.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            self.healthy = True
            self.written += len(items)
            for item in items:
                if isinstance(item, _Mark):
                    self.loop.call_soon_threadsafe(item.done)
            return

    def _write(self, items: list[_Item]) -> None:
        """Marks first, then releases, then attempts: a lead's record always follows its mark (see module doc)."""
        with self.factory() as session:
            for item in items:
                if isinstance(item, _Mark):
                    session.execute(update(Lead).where(Lead.id == item.lead_id)
                                    .values(dial_started_at=to_db(item.at)))
            releases = [i for item in items if isinstance(item, _Release) for i in item.lead_ids]
            if releases:
                release_leads(session, releases, self.claimer)
            session.commit()
            _write_attempts(session, [item for item in items if isinstance(item, _Attempt)])


def _write_attempts(session: Session, attempts: list[_Attempt]) -> None:
    """Each campaign's attempts through ``record_attempts``, which clears each lead's dial mark in the same commit."""
    if not attempts:
        return
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(
        Lead.id.in_({a.lead_id for a in attempts})).execution_options(populate_existing=True))}
    by_campaign: dict[int, list[tuple[Lead, AttemptRecord]]] = {}
    for item in attempts:
        by_campaign.setdefault(item.campaign_id, []).append((leads[item.lead_id], item.record))
    for campaign_id, rows in by_campaign.items():
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        record_attempts(session, campaign, rows)


def release_leads(session: Session, lead_ids: Sequence[int], claimer: str) -> int:
    """Give back claimed leads that were never dialled: to the queue they came from, keeping their due time.

    The claim keeps no copy of the old status, so it is inferred: a lead
    whose last disposition was a callback is a callback, one never tried is
    new, any other a retry. Leads with a dial mark are left alone (they get
    an attempt instead). Not committed here."""
    status = case((Lead.last_disposition == "callback", "callback"), (Lead.attempts == 0, "new"), else_="retry")
    result = session.execute(
        update(Lead).where(Lead.id.in_(list(lead_ids)), Lead.status == "claimed", Lead.claimed_by == claimer,
                           Lead.dial_started_at.is_(None))
        .values(status=status, claimed_by=None, claimed_at=None).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- crash recovery -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recovery:
    """What start-up found left by a dead process: attempts marked interrupted, leads put back untouched."""

    interrupted: int
    released: int


def recover(factory: Factory, claimer: str) -> Recovery:
    """Settle every lead this claimer left claimed: a dial mark means the call may have rung, so it gets an
    "interrupted" attempt dated at the mark (its retry time follows the retry rules); no mark, no dial: the
    lead goes back to its queue. Runs before any claim, so no lead is dialled twice for one slot."""
    with factory() as session:
        stuck = list(session.scalars(select(Lead).where(Lead.status == "claimed", Lead.claimed_by == claimer)))
        dialled = [lead for lead in stuck if lead.dial_started_at is not None]
        released = release_leads(session, [lead.id for lead in stuck if lead.dial_started_at is None], claimer)
        session.commit()
        attempts = [_Attempt(lead.campaign_id, lead.id, interrupted_record(as_utc(lead.dial_started_at)))
                    for lead in dialled]
        _write_attempts(session, attempts)
    return Recovery(len(dialled), released)


def interrupted_record(dialled_at: datetime | None, **known: object) -> AttemptRecord:
    """The ledger row of a call the dialer lost track of (crash, drain timeout)."""
    assert dialled_at is not None
    return AttemptRecord(outcome=Outcome.INTERRUPTED.value, dialled_at=dialled_at,
                         data={"interrupted": True, **known})


# ---- the lead source ------------------------------------------------------------------------------------------

@dataclass
class ClaimBuffer:
    """One campaign's ``LeadSource``: leads claimed ahead by the claim thread, handed out at once.

    ``max_age_s`` (engine seconds): a lead waiting longer is given back (its
    DNC state may have changed since the claim). ``most``: the largest
    buffer, so a burst never holds a big slice of the list. With ``profile``
    every lead is checked against the calling rules again when it is handed
    to the engine, the moment it is dialled (its window may have closed in
    its own zone since the claim); one that fails goes back to its queue.
    """

    campaign_id: int
    factory: Factory
    claimer: str
    origin: datetime  # UTC moment of engine time 0
    loop: asyncio.AbstractEventLoop
    claims: Executor
    writer: Writer
    max_age_s: float = 30.0
    least: int = 2
    most: int = 200
    on_claimed: Callable[[int], None] = lambda n: None
    profile: CallingProfile | None = None
    buffer: deque[tuple[float, ClaimedLead]] = field(default_factory=deque)
    demand: float = 0.0
    open: bool = False
    _pending: bool = False
    _now_s: float = 0.0

    def start(self, now_s: float) -> None:
        """Campaign hours begin: claims may be topped up."""
        self.open, self._now_s = True, now_s
        self._top_up(now_s)

    def stop(self) -> None:
        """Campaign hours end (or SIGTERM): no more claims, and every buffered lead goes back."""
        self.open = False
        self._give_back([lead for _, lead in self.buffer])
        self.buffer.clear()

    def claim(self, n: int, now_s: float) -> Sequence[ClaimedLead]:
        """Up to ``n`` buffered leads (fewer while the claim thread catches up); never waits on the store."""
        self._now_s = now_s
        self._drop_stale(now_s)
        self.demand = max(float(n), 0.9 * self.demand)
        dialable: list[ClaimedLead] = []
        blocked: list[ClaimedLead] = []
        for _ in range(min(n, len(self.buffer))):
            lead = self.buffer.popleft()[1]
            (dialable if self._dialable(lead, now_s) else blocked).append(lead)
        self._give_back(blocked)
        self._top_up(now_s)
        return dialable

    def _dialable(self, lead: ClaimedLead, now_s: float) -> bool:
        """Every calling rule again, at the moment of dialing, from the history read at the claim."""
        history = lead.payload.history if isinstance(lead.payload, LeadRef) else None
        if self.profile is None or history is None:
            return True
        return refusal(self.profile, history, self.moment(now_s)) is None

    def record(self, call: Call) -> None:
        """The finished attempt to the ledger, through the ordered writer."""
        self.writer.attempt(self.campaign_id, call.lead, call.as_record(self.origin))

    def moment(self, now_s: float) -> datetime:
        return self.origin + timedelta(seconds=now_s)

    def _drop_stale(self, now_s: float) -> None:
        stale = []
        while self.buffer and now_s - self.buffer[0][0] > self.max_age_s:
            stale.append(self.buffer.popleft()[1])
        self._give_back(stale)

    def _give_back(self, leads: list[ClaimedLead]) -> None:
        self.writer.release([lead.key for lead in leads])

    def _top_up(self, now_s: float) -> None:
        want = min(self.most, math.ceil(1.5 * self.demand) + self.least) - len(self.buffer)
        if not self.open or self._pending or want <= 0:
            return
        self._pending = True
        future = self.loop.run_in_executor(self.claims, self._claim_now, want, self.moment(now_s))
        future.add_done_callback(lambda f: self._claimed(f, now_s))

    def _claim_now(self, n: int, now: datetime) -> list[ClaimedLead]:
        """On the claim thread: claim ``n`` leads with every rule checked at ``now``."""
        with self.factory() as session:
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            leads = claim_leads(session, campaign, n, now, self.claimer)
            histories = dial_histories(session, leads, now) if self.profile is not None else {}
            return [ClaimedLead(lead.id, lead.phone_e164, str((lead.fields or {}).get("segment", "all")),
                                lead.attempts, LeadRef(lead.id, self.campaign_id, histories.get(lead.id)))
                    for lead in leads]

    def _claimed(self, future: asyncio.Future[list[ClaimedLead]], asked_s: float) -> None:
        self._pending = False
        if future.cancelled():
            return
        if future.exception() is not None:
            log.error("claim failed: %s", future.exception(), extra={"event": "claim_error"})
            return
        leads = future.result()
        self.on_claimed(len(leads))
        if not self.open:
            self._give_back(leads)
            return
        self.buffer.extend((asked_s, lead) for lead in leads)


class WriteAheadTelephony:
    """A ``TelephonyDriver`` that originates each call only after its dial mark is committed (module doc)."""

    def __init__(self, driver: TelephonyDriver, writer: Writer, moment: Callable[[float], datetime]):
        self.driver, self.writer, self.moment = driver, writer, moment

    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None:
        assert call.dialled_s is not None
        self.writer.mark(call.lead, self.moment(call.dialled_s),
                         lambda: self.driver.originate(call, caller_id, ring_timeout_s, amd))

    def bridge(self, call: Call, agent: str) -> None:
        self.driver.bridge(call, agent)

    def play_and_hang_up(self, call: Call, message: str) -> None:
        self.driver.play_and_hang_up(call, message)

    def hang_up(self, call: Call) -> None:
        self.driver.hang_up(call)


def open_call_record(call: Call, origin: datetime) -> AttemptRecord | None:
    """The ledger row for a call still open when the drain timed out: an abandon whose message is playing
    stays abandoned, a call with an agent keeps its result, any other is interrupted; None if never dialled."""
    if call.dialled_s is None:
        return None
    if call.state is CallState.SAFE_HARBOUR or call.state is CallState.ENDED:
        return call.as_record(origin)
    return replace(call, outcome=Outcome.INTERRUPTED).as_record(origin)


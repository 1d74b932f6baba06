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
the mark delays a dial by a few milliseconds. The agents' log
(``lists.presence``) goes through the same writer: the event loop that
sees an agent log in or pause never waits on the store.

Why each write is exactly once: a commit the connection lost (PostgreSQL
restarting) may or may not have happened, and the writer retries it. So a
mark is written only to a lead still claimed, and an attempt only for a
lead still claimed and marked (the attempt clears both): a retried batch
whose first commit went through writes nothing twice.

Fencing (several daemons, ``dialer.service.cluster``): items carry the campaign's
``Fence``; each campaign's items are written in one transaction that first
checks the fence, and a refused batch is reported through ``on_fenced`` (the
daemon stops dialling that campaign: another owns it). What in it would be
lost is handed over to the campaign's owner instead (``lists.handover``), in
a transaction of its own that needs no lease: the finished calls' results
(the new owner applies them with its token, ``apply_handed_over``: a DNC
request made on such a call is honoured) and the agents' log rows, written
as they are (they record what the agents did on this daemon, and nothing
decides on them). Marks and releases need nothing: a refused mark was never
dialled, and the takeover put every claimed lead without a committed mark
back in its queue (``settle``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dialer.core.calls import Call, CallState
from dialer.core.outcomes import LineEnd, outcome_of
from dialer.core.ports import ClaimedLead, TelephonyDriver
from dialer.records import AttemptRecord, Outcome
from dialer.service.cluster import Fence, Fenced, holds
from lists.dnc import honour_objection
from lists.handover import Applied, apply_handovers, hand_over, pending_campaigns
from lists.idle import Outlook, queue_outlook
from lists.jurisdictions import lead_profile
from lists.lifecycle import LeadStatus
from lists.models import Campaign, Lead, as_utc, to_db
from lists.presence import PresenceChange, append_presence
from lists.rules import CallingProfile, LeadHistory, refusal
from lists.selection import claim, record_attempts, release_leads

__all__ = ["LeadRef", "Writer", "ClaimBuffer", "WriteAheadTelephony", "recover", "Recovery",
           "interrupted_record", "open_call_record", "settle", "apply_handed_over"]

log = logging.getLogger(__name__)
Factory = sessionmaker[Session]
_T = TypeVar("_T")


@dataclass(frozen=True)
class LeadRef:
    """A claimed lead's store handle, carried as the engine call's ``payload``, with its history at the claim
    and the rules its person is called under (None: not checked again at dial time)."""

    id: int
    campaign_id: int
    history: LeadHistory | None = None
    profile: CallingProfile | None = None


# ---- the writer -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Mark:
    lead_id: int
    at: datetime
    done: Callable[[], None]
    fence: Fence | None = None


@dataclass(frozen=True)
class _Attempt:
    campaign_id: int
    lead_id: int
    record: AttemptRecord
    fence: Fence | None = None


@dataclass(frozen=True)
class _Release:
    lead_ids: tuple[int, ...]
    fence: Fence | None = None


@dataclass(frozen=True)
class _Presence:
    change: PresenceChange
    fence: Fence | None = None


_Item = _Mark | _Attempt | _Release | _Presence


class Writer:
    """One thread writing dial marks, attempts and releases in order; ``flush`` waits for all of them.

    Why batches: under load the queue holds many items, and one commit for
    a batch (``record_attempts``) costs about what one attempt costs alone. A
    failing store is retried with back-off (``retry_s`` up to 5 s): nothing
    queued is dropped, and ``healthy`` turns False for ``/readyz``. Items
    refused by their fence are handed over (module doc): ``on_fenced`` hears
    of it on the loop, ``refused`` counts them and ``handed_over`` the
    results among them.
    """

    def __init__(self, factory: Factory, claimer: str, loop: asyncio.AbstractEventLoop, batch: int = 200,
                 retry_s: float = 0.2, on_fenced: Callable[[Fence], None] = lambda fence: None,
                 timed: Callable[[float], None] = lambda seconds: None):
        self.factory, self.claimer, self.loop, self.batch, self.retry_s = factory, claimer, loop, batch, retry_s
        self.on_fenced, self.timed = on_fenced, timed
        self.queue: queue.Queue[_Item | None] = queue.Queue()
        self.healthy = True
        self.written = 0
        self.refused = 0
        self.handed_over = 0
        self._thread = threading.Thread(target=self._run, name="dialer-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark(self, lead_id: int, at: datetime, done: Callable[[], None], fence: Fence | None = None) -> None:
        """Commit the dial mark, then call ``done`` on the event loop (never, if the fence refuses it)."""
        self.queue.put(_Mark(lead_id, at, done, fence))

    def attempt(self, campaign_id: int, lead_id: int, record: AttemptRecord, fence: Fence | None = None) -> None:
        self.queue.put(_Attempt(campaign_id, lead_id, record, fence))

    def presence(self, change: PresenceChange, fence: Fence | None = None) -> None:
        """Append an agent's log-in, pause, ready or log-out to the agents' log."""
        self.queue.put(_Presence(change, fence))

    def release(self, lead_ids: Sequence[int], fence: Fence | None = None) -> None:
        if lead_ids:
            self.queue.put(_Release(tuple(lead_ids), fence))

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
        """Each fence's items in their own transaction, retried with back-off until written or refused."""
        groups: dict[Fence | None, list[_Item]] = {}
        for item in items:
            groups.setdefault(item.fence, []).append(item)
        for fence, group in groups.items():
            self._write_group_until_done(fence, group)

    def _write_group_until_done(self, fence: Fence | None, items: list[_Item]) -> None:
        try:
            self._until_written(lambda session: _write_group(session, fence, items, self.claimer))
        except Fenced:
            assert fence is not None
            self.refused += len(items)
            log.warning("writes refused by the fence: results handed over", extra={
                "event": "fenced", "campaign_id": fence.campaign_id, "items": len(items)})
            self.handed_over += self._until_written(lambda session: _hand_over(session, fence, items))
            self.loop.call_soon_threadsafe(self.on_fenced, fence)
            return
        self.written += len(items)
        for item in items:
            if isinstance(item, _Mark):
                self.loop.call_soon_threadsafe(item.done)

    def _until_written(self, write: Callable[[Session], _T]) -> _T:
        """One transaction of ``write``, retried with back-off while the store fails; what it returned. ``Fenced``
        goes through."""
        delay = self.retry_s
        while True:
            try:
                started = time.perf_counter()
                with self.factory() as session:
                    done = write(session)
                self.timed(time.perf_counter() - started)
            except DBAPIError as exc:
                self.healthy = False
                log.error("store write failed, retrying in %.1f s: %s", delay, str(exc).splitlines()[0],
                          extra={"event": "store_error"})
                time.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            except Fenced:
                self.healthy = True
                raise
            self.healthy = True
            return done


def _write_group(session: Session, fence: Fence | None, items: list[_Item], claimer: str) -> None:
    """One transaction: the fence checked first, then marks, releases, attempts and the agents' log, in that
    order, so a lead's record always follows its mark (see module doc); Fenced when the campaign is no longer
    ours."""
    if fence is not None and not holds(session, fence):
        session.rollback()
        raise Fenced(f"campaign {fence.campaign_id}: lease token {fence.token} is no longer held")
    for item in items:
        if isinstance(item, _Mark):
            session.execute(update(Lead).where(Lead.id == item.lead_id, Lead.status == LeadStatus.CLAIMED)
                            .values(dial_started_at=to_db(item.at)))
    releases = [i for item in items if isinstance(item, _Release) for i in item.lead_ids]
    if releases:
        release_leads(session, releases, claimer)
    _write_attempts(session, [item for item in items if isinstance(item, _Attempt)], fence)
    append_presence(session, [item.change for item in items if isinstance(item, _Presence)])
    session.commit()


def _hand_over(session: Session, fence: Fence, items: list[_Item]) -> int:
    """One transaction, no lease needed: the refused results queued for the campaign's owner, the agents' log rows
    written as they are (module doc); how many results were queued (a retried commit queues none twice)."""
    now = datetime.now(UTC)
    handed = sum(hand_over(session, item.campaign_id, item.lead_id, item.record, fence.token, now)
                 for item in items if isinstance(item, _Attempt))
    append_presence(session, [item.change for item in items if isinstance(item, _Presence)])
    session.commit()
    return handed


def _write_attempts(session: Session, attempts: list[_Attempt], fence: Fence | None = None) -> None:
    """Each campaign's attempts through ``record_attempts``, which clears each lead's dial mark in the same commit.

    Only leads still claimed and marked get one (module doc: a retried batch writes nothing twice)."""
    if not attempts:
        return
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(
        Lead.id.in_({a.lead_id for a in attempts}), Lead.status == LeadStatus.CLAIMED,
        Lead.dial_started_at.is_not(None)).execution_options(populate_existing=True))}
    by_campaign: dict[int, list[tuple[Lead, AttemptRecord]]] = {}
    for item in attempts:
        if item.lead_id in leads:
            by_campaign.setdefault(item.campaign_id, []).append((leads.pop(item.lead_id), item.record))
    for campaign_id, rows in by_campaign.items():
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        for lead, record in rows:  # in the attempts' commit: an objection is never lost apart from its call
            honour_objection(session, campaign.company, lead, record)
        record_attempts(session, campaign, rows, token=fence.token if fence else None)


# ---- crash recovery -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recovery:
    """What start-up found left by a dead process: attempts marked interrupted, leads put back untouched."""

    interrupted: int
    released: int


def recover(factory: Factory, claimer: str, campaign_ids: Collection[int] = ()) -> Recovery:
    """Settle every lead this claimer left claimed: a dial mark means the call may have rung, so it gets an
    "interrupted" attempt dated at the mark (its retry time follows the retry rules); no mark, no dial: the
    lead goes back to its queue. Runs before any claim, so no lead is dialled twice for one slot.

    Then results handed over for ``campaign_ids`` are applied: a single
    daemon never has a write refused by a fence, but a store a cluster ran
    before may hold some no owner applied (``apply_handed_over``)."""
    with factory() as session:
        stuck = list(session.scalars(select(Lead).where(Lead.status == LeadStatus.CLAIMED, Lead.claimed_by == claimer)))
        dialled = [lead for lead in stuck if lead.dial_started_at is not None]
        released = release_leads(session, [lead.id for lead in stuck if lead.dial_started_at is None], claimer)
        session.commit()
        attempts = [_Attempt(lead.campaign_id, lead.id, interrupted_record(as_utc(lead.dial_started_at)))
                    for lead in dialled]
        _write_attempts(session, attempts)
        session.commit()
        for campaign_id in sorted(pending_campaigns(session, campaign_ids)):
            apply_handed_over(session, campaign_id, None, datetime.now(UTC))
    return Recovery(len(dialled), released)


def settle(session: Session, fence: Fence) -> Recovery:
    """A takeover's ``recover``, for one campaign, in the caller's transaction (the one that took the lease, so
    no write of the last owner can come between): whatever it left claimed is settled under the new token, a
    dial mark as an "interrupted" attempt, no mark back to its queue. Commits."""
    stuck = list(session.scalars(select(Lead).where(Lead.campaign_id == fence.campaign_id,
                                                    Lead.status == LeadStatus.CLAIMED)
                                 .execution_options(populate_existing=True)))
    dialled = [lead for lead in stuck if lead.dial_started_at is not None]
    released = release_leads(session, [lead.id for lead in stuck if lead.dial_started_at is None], None)
    attempts = [_Attempt(lead.campaign_id, lead.id, interrupted_record(as_utc(lead.dial_started_at)), fence)
                for lead in dialled]
    _write_attempts(session, attempts, fence)
    session.commit()
    return Recovery(len(dialled), released)


def apply_handed_over(session: Session, campaign_id: int, fence: Fence | None, now: datetime) -> list[Applied]:
    """The results paused owners handed over for the campaign (``lists.handover``), applied under ``fence``,
    checked first in the same transaction (``Fenced``: the campaign is no longer ours); None: a single daemon.
    ``now``: when, for the record. Committed."""
    if fence is not None and not holds(session, fence):
        session.rollback()
        raise Fenced(f"campaign {campaign_id}: lease token {fence.token} is no longer held")
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    return apply_handovers(session, campaign, fence.token if fence else None, now)


def interrupted_record(dialled_at: datetime | None, **known: object) -> AttemptRecord:
    """The ledger row of a call the dialer lost track of (crash, drain timeout)."""
    assert dialled_at is not None
    return AttemptRecord(outcome=Outcome.INTERRUPTED, dialled_at=dialled_at,
                         data={"interrupted": True, **known})


# ---- the lead source ------------------------------------------------------------------------------------------

@dataclass
class ClaimBuffer:
    """One campaign's ``LeadSource``: leads claimed ahead by the claim thread, handed out at once.

    ``max_age_s`` (engine seconds): a lead waiting longer is given back (its
    DNC state may have changed since the claim). ``most``: the largest
    buffer, so a burst never holds a big slice of the list. With ``recheck``
    every lead is checked against its person's calling rules again when it
    is handed to the engine, the moment it is dialled (its window may have
    closed in its own zone since the claim); one that fails goes back to its
    queue.

    Several daemons (``dialer.service.cluster``): ``fence`` is checked in each claim's
    transaction and goes with every release; while ``may_dial`` (the local
    lease) is False nothing is handed out, so nothing is launched.

    ``outlook``: after a claim that found no lead, the queues as that claim
    left them (``lists.idle.queue_outlook``: when the next lead is due, or the
    list is exhausted), for the reasons the campaign is idle; None after a
    claim that found some.
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
    recheck: bool = False
    fence: Fence | None = None
    may_dial: Callable[[], bool] = lambda: True
    on_fenced: Callable[[Fence], None] = lambda fence: None
    timed: Callable[[float], None] = lambda seconds: None  # each claim's store time, seconds
    buffer: deque[tuple[float, ClaimedLead]] = field(default_factory=deque)
    outlook: Outlook | None = None
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
        if not self.may_dial():
            return []
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
        ref = lead.payload if isinstance(lead.payload, LeadRef) else None
        if not self.recheck or ref is None or ref.history is None or ref.profile is None:
            return True
        return refusal(ref.profile, ref.history, self.moment(now_s)) is None

    def record(self, call: Call) -> None:
        """The finished attempt to the ledger, through the ordered writer."""
        self.writer.attempt(self.campaign_id, call.lead, call.as_record(self.origin), self.fence)

    def moment(self, now_s: float) -> datetime:
        return self.origin + timedelta(seconds=now_s)

    def _drop_stale(self, now_s: float) -> None:
        stale = []
        while self.buffer and now_s - self.buffer[0][0] > self.max_age_s:
            stale.append(self.buffer.popleft()[1])
        self._give_back(stale)

    def _give_back(self, leads: list[ClaimedLead]) -> None:
        keys = [lead.key for lead in leads]
        if self.fence is None:
            self.writer.release(keys)
        else:
            self.writer.release(keys, self.fence)

    def _top_up(self, now_s: float) -> None:
        want = min(self.most, math.ceil(1.5 * self.demand) + self.least) - len(self.buffer)
        if not self.open or self._pending or want <= 0:
            return
        self._pending = True
        future = self.loop.run_in_executor(self.claims, self._claim_now, want, self.moment(now_s))
        future.add_done_callback(lambda f: self._claimed(f, now_s))

    def _claim_now(self, n: int, now: datetime) -> tuple[list[ClaimedLead], Outlook | None]:
        """On the claim thread: claim ``n`` leads with every rule checked at ``now``; with none found, the
        queues' outlook."""
        started = time.perf_counter()
        try:
            return self._claim_in_store(n, now)
        finally:
            self.timed(time.perf_counter() - started)

    def _claim_in_store(self, n: int, now: datetime) -> tuple[list[ClaimedLead], Outlook | None]:
        with self.factory() as session:
            if self.fence is not None and not holds(session, self.fence):
                raise Fenced(f"campaign {self.campaign_id}: lease token {self.fence.token} is no longer held")
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            took = claim(session, campaign, n, now, self.claimer, token=self.fence.token if self.fence else None)
            if not took.leads:
                return [], queue_outlook(session, self.campaign_id)
            histories = took.histories if self.recheck else {}
            return [ClaimedLead(lead.id, lead.phone_e164, str((lead.fields or {}).get("segment", "all")),
                                lead.attempts, LeadRef(lead.id, self.campaign_id, histories.get(lead.id),
                                                       lead_profile(campaign, lead.region, now)))
                    for lead in took.leads], None

    def _claimed(self, future: asyncio.Future[tuple[list[ClaimedLead], Outlook | None]], asked_s: float) -> None:
        self._pending = False
        if future.cancelled():
            return
        error = future.exception()
        if isinstance(error, Fenced) and self.fence is not None:
            self.open = False
            self.on_fenced(self.fence)
            return
        if error is not None:
            log.error("claim failed: %s", str(error).splitlines()[0], extra={"event": "claim_error"})
            return
        leads, self.outlook = future.result()
        self.on_claimed(len(leads))
        if not self.open:
            self._give_back(leads)
            return
        self.buffer.extend((asked_s, lead) for lead in leads)


class WriteAheadTelephony:
    """A ``TelephonyDriver`` that originates each call only after its dial mark is committed (module doc).

    Several daemons: the mark is fenced, and once it is committed the local
    lease is asked again (``may_dial``), since the process may have been
    paused in between; so is a call whose mark took longer than ``stale_s``
    wall seconds to commit (the store was away: the pacing decision behind it
    is stale). A refused call goes to ``refused`` (the daemon ends it as
    failed, never dialled). ``dialled`` counts calls originated."""

    def __init__(self, driver: TelephonyDriver, writer: Writer, moment: Callable[[float], datetime],
                 fence: Fence | None = None, may_dial: Callable[[], bool] = lambda: True,
                 refused: Callable[[Call], None] = lambda call: None, stale_s: float = math.inf):
        self.driver, self.writer, self.moment, self.fence = driver, writer, moment, fence
        self.may_dial, self.refused, self.stale_s = may_dial, refused, stale_s
        self.dialled = 0

    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None:
        assert call.dialled_s is not None
        asked = time.monotonic()
        self.writer.mark(call.lead, self.moment(call.dialled_s),
                         lambda: self._dial(call, caller_id, ring_timeout_s, amd, asked), self.fence)

    def _dial(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool, asked: float) -> None:
        if not self.may_dial() or time.monotonic() - asked > self.stale_s:
            self.refused(call)
            return
        self.dialled += 1
        if log.isEnabledFor(logging.DEBUG):
            token = self.fence.token if self.fence else None
            log.debug("dial", extra={"event": "dial", "lead": call.lead, "token": token})
        self.driver.originate(call, caller_id, ring_timeout_s, amd)

    def bridge(self, call: Call, agent: str) -> None:
        self.driver.bridge(call, agent)

    def play_and_hang_up(self, call: Call, message: str) -> None:
        self.driver.play_and_hang_up(call, message)

    def hang_up(self, call: Call) -> None:
        self.driver.hang_up(call)


def open_call_record(call: Call, origin: datetime) -> AttemptRecord | None:
    """The ledger row for a call still open when the drain timed out: the dialer lost its line
    (``LineEnd.DRIVER_LOST``), so a call not yet answered is interrupted, one answered that no agent reached is
    abandoned (an abandon whose message is playing stays so), and a call with an agent keeps its result; None if
    never dialled."""
    if call.dialled_s is None:
        return None
    if call.state is CallState.ENDED:
        return call.as_record(origin)
    return replace(call, outcome=outcome_of(call.state, LineEnd.DRIVER_LOST)).as_record(origin)


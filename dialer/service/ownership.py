"""The daemon's side of the cluster: heartbeat, lease renewals, takeovers, hand-overs and pacing saves.

Every ``renew_s`` seconds, on its own thread so it never waits behind a
claim or a maintenance job: heartbeat (and read the drain flag), renew
every held lease, then either hand everything over (draining) or take one
free campaign / give one away as ``cluster.pick`` balances by agents. A
renewal the database refuses means another daemon holds the campaign: its
run is dropped at once. A store that does not answer is not a refusal: the
local leases simply run out (``LocalLease``), so launching stops before any
lease can expire, calls in progress go on, and the next cycle that reaches
the store renews what nobody took.

A takeover settles, in the transaction that took the lease, what the last
owner left in flight (``store_ports.settle``) and loads the campaign's
pacing memory: what the controller learned (``pacing.memory``: versioned
JSON, saved in the lease row every ``pacing_save_s``), recalled into a
controller made afresh from the campaign's current settings, so a cap a
manager changed holds after a takeover. Its times are moved onto the new
owner's clock (``epoch_day``: each daemon's clock counts from local midnight
of the day it started). A memory that does not fit (another format, policy
or shape, a value no memory may hold, or an old release's pickled
controller) is refused, and the campaign starts fresh. A policy that learns
nothing saves no memory and clears the row, so an older policy's memory is
not recalled if the campaign switches back to it. A hand-over frees the
lease even when its save fails.

Results handed over (``lists.handover``): a paused owner's finished calls
whose writes the fence refused wait in the store for the campaign's owner,
who applies them with its token at the takeover (before the run is built,
so the counts it restores include them) and every cycle after. Each
replaces the "interrupted" placeholder the takeover wrote for its dial,
which the run's abandonment ledger counted as no answer; so the answers
they bring (a live answer, an abandon) are added to that ledger on the
loop, counted by the same query that restores it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dialer.core.engine import Engine
from dialer.service.cluster import (
    Fence,
    Fenced,
    LeaseTimes,
    LocalLease,
    ensure_leases,
    heartbeat,
    leases,
    load_pacing,
    members,
    pick,
    release,
    renew,
    save_pacing,
    take,
)
from dialer.service.store_ports import Recovery, apply_handed_over, settle
from lists.handover import Applied, pending_campaigns
from lists.models import Campaign, HandoverResult, ledger_days
from pacing import memory
from pacing.ledger import AbandonmentLedger, DayAnswers

__all__ = ["Ownership", "Holder", "Seat", "Taken", "recall_pacing", "epoch_day"]

log = logging.getLogger("dialer.service.cluster")


class Seat(Protocol):
    """A campaign this daemon runs, as its lease sees it (``dialer.service.daemon.CampaignRun``)."""

    name: str
    campaign_id: int
    zone: str
    origin: datetime
    engine: Engine
    ledger: AbandonmentLedger
    fence: Fence | None
    lease: LocalLease | None

    def now_s(self) -> float: ...


class Holder(Protocol):
    """The daemon, as its leases need it (``dialer.service.daemon.Daemon``): the store, the campaigns it runs,
    and what to do when one is taken, lost or handed on."""

    factory: sessionmaker[Session]
    stopping: bool

    @property
    def runs(self) -> Sequence[Seat]: ...

    def campaign_run(self, campaign_id: int) -> Seat | None: ...

    def adopt(self, taken: Taken) -> None: ...

    def lose(self, fence: Fence, why: str) -> None: ...

    def drop(self, run: Any) -> None: ...

    async def drain_run(self, run: Any) -> None: ...


@dataclass(frozen=True)
class Taken:
    """A campaign just taken over: its fence, the local lease, what was settled, the saved pacing memory."""

    campaign: Campaign
    fence: Fence
    lease: LocalLease
    recovery: Recovery
    pacing: bytes | None


@dataclass(frozen=True)
class _Save:
    """What a pacing save writes into ``campaign``'s lease row, taken on the loop that owns its controller: the
    memory (``pacing.memory.document``, serialised on the store's thread), or None to clear an older one."""

    campaign: str
    document: dict[str, Any] | None


class Ownership:
    """Which campaigns this daemon dials, kept by lease. ``campaign_ids``: those it may dial."""

    def __init__(self, daemon: Holder, name: str, times: LeaseTimes, campaign_ids: list[int]):
        self.daemon, self.times, self.campaign_ids = daemon, times, campaign_ids
        self.name = name
        self.thread = ThreadPoolExecutor(1, "dialer-lease")
        self.draining = False
        self.store_ok = True
        self._saved_at = 0.0
        self.holders: dict[int, str] = {}  # campaign id: the other daemon whose live lease the last cycle read
        self._handing: dict[int, asyncio.Task[None]] = {}  # campaign id: its hand-over, running beside the cycle
        self._cycling: asyncio.Task[None] | None = None

    async def _store(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)

    def _session(self):  # type: ignore[no-untyped-def]
        return self.daemon.factory()

    async def start(self) -> None:
        """Lease rows for every campaign this daemon may dial (a no-op when they exist)."""
        def ensure() -> None:
            with self._session() as session:
                ensure_leases(session, self.campaign_ids)
        await self._store(ensure)

    def begin(self) -> None:
        """Start the cycle on the running loop; it runs until ``release_all`` (so leases are renewed while a
        SIGTERM drain lets calls end)."""
        self._cycling = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        """The cycle, every ``renew_s``, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.cycle()
                self.store_ok = True
            except DBAPIError as exc:
                self.store_ok = False
                log.error("cluster cycle: store unavailable: %s", str(exc).splitlines()[0],
                          extra={"event": "store_error"})
            except Exception:  # one bad campaign must not stop renewing every other lease
                log.exception("cluster cycle failed", extra={"event": "cluster_error"})
            await asyncio.sleep(max(0.0, self.times.renew_s - (loop.time() - started)))

    async def cycle(self) -> None:
        agents = sum(run.engine.pool.logged_in for run in self.daemon.runs)
        self.draining = await self._store(self._heartbeat, agents)
        await self._renew_all()
        if self.daemon.stopping:
            return
        if self.draining:
            for run in list(self.daemon.runs):
                self._hand_over_soon(run, "drain")
            return
        await self._balance()
        await self._apply_handed_over()
        await self._save_due()

    def _heartbeat(self, agents: int) -> bool:
        with self._session() as session:
            return heartbeat(session, self.name, agents)

    async def _renew_all(self) -> None:
        for run in list(self.daemon.runs):
            if run.fence is None or run.lease is None:
                continue  # a run being handed over is renewed too: its calls in progress still write
            sent = run.lease.sent()
            if await self._store(self._renew, run.fence, run.engine.pool.logged_in):
                run.lease.granted(sent)
            else:
                self.daemon.lose(run.fence, "renewal refused")

    def _renew(self, fence: Fence, agents: int) -> bool:
        with self._session() as session:
            return renew(session, fence, self.times.lease_s, agents)

    async def _balance(self) -> None:
        mine = [run.campaign_id for run in self.daemon.runs]
        alive, rows = await self._store(self._view)
        self.holders = {row.campaign_id: row.owner for row in rows
                        if row.live and row.owner is not None and row.owner != self.name}
        taking, giving = pick(self.name, alive, rows, mine)
        if taking is not None:
            taken = await self._store(self._take, taking)
            if taken is not None:
                self.daemon.adopt(taken)
        elif giving is not None and not self._handing:
            run = self.daemon.campaign_run(giving)
            if run is not None:
                self._hand_over_soon(run, "balance")

    def _view(self) -> tuple[list[Any], list[Any]]:
        with self._session() as session:
            return members(session, self.times.lease_s), leases(session, self.campaign_ids)

    def _take(self, campaign_id: int) -> Taken | None:
        """Take the lease and settle the last owner's calls in one transaction; the pacing memory with it."""
        lease = LocalLease(self.times)
        with self._session() as session:
            sent = lease.sent()
            fence = take(session, campaign_id, self.name, self.times.lease_s, wait_s=self.times.renew_s)
            if fence is None:
                session.rollback()
                return None
            recovery = settle(session, fence)
            try:
                _applied(campaign_id, apply_handed_over(session, campaign_id, fence, datetime.now(UTC)))
            except Fenced:
                return None  # taken from us already: the next owner applies them
            lease.granted(sent)
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            session.expunge(campaign)
            return Taken(campaign, fence, lease, recovery, load_pacing(session, campaign_id))

    # -- results handed over by paused owners (lists.handover) ----------------------------------------------
    async def _apply_handed_over(self) -> None:
        """Apply what paused owners handed over for this daemon's campaigns, and count the answers it brings into
        each run's ledger (module doc)."""
        runs = {run.campaign_id: run for run in self.daemon.runs if run.fence is not None}
        waiting = await self._store(self._waiting, list(runs))
        for campaign_id in sorted(waiting):
            run = runs[campaign_id]
            fence = run.fence
            assert fence is not None
            today = (run.origin + timedelta(seconds=run.now_s())).astimezone(ZoneInfo(run.zone)).date()
            days = await self._store(self._apply, fence, run.zone, today, epoch_day(run.origin, run.zone))
            if run.fence == fence and run in self.daemon.runs:
                run.ledger.add(days)

    def _waiting(self, campaign_ids: list[int]) -> set[int]:
        with self._session() as session:
            return pending_campaigns(session, campaign_ids)

    def _apply(self, fence: Fence, zone: str, today: date, first: int) -> dict[int, DayAnswers]:
        """On the store's thread: apply, then the answers of the attempts that now hold the results, by the run's
        days (``today``: its date; ``first``: its day 0). Nothing when the campaign is no longer ours (the
        renewal finds that out)."""
        with self._session() as session:
            try:
                applied = apply_handed_over(session, fence.campaign_id, fence, datetime.now(UTC))
            except Fenced:
                return {}
            _applied(fence.campaign_id, applied)
            ids = [a.attempt_id for a in applied if a.attempt_id is not None]
            return ledger_days(session, fence.campaign_id, zone, today, first, ids) if ids else {}

    # -- hand-over ---------------------------------------------------------------------------------------------
    def _hand_over_soon(self, run: Seat, why: str) -> None:
        """Start a hand-over beside the cycle (calls may take minutes to end; renewals must go on meanwhile)."""
        if run.fence is not None and run.campaign_id not in self._handing:
            task = asyncio.get_running_loop().create_task(self.hand_over(run, why))
            self._handing[run.campaign_id] = task
            task.add_done_callback(lambda _: self._handing.pop(run.campaign_id, None))

    async def hand_over(self, run: Seat, why: str) -> None:
        """Give a campaign up without dropping a call: stop launching, let calls in progress end (up to the drain
        timeout), write what is left, flush, save the pacing memory, then free the lease for the next taker."""
        log.info("handing a campaign over", extra={"event": "hand_over", "campaign": run.name, "why": why})
        await self.daemon.drain_run(run)
        if run.fence is not None and run in self.daemon.runs:
            await self._store(self._save_and_release, run.fence, self._pacing_save(run))
            self.daemon.drop(run)
            log.info("campaign handed over", extra={"event": "handed_over", "campaign": run.name})

    def _save_and_release(self, fence: Fence, save: _Save | None) -> None:
        """Save the pacing memory, then free the lease, each in its own transaction (a statement that fails spoils
        the transaction it ran in). A save that fails is logged and the lease freed all the same: else the next
        owner would wait for it to expire, and a shutdown would free none of the leases after it."""
        if save is not None:
            try:
                self._save(fence, save)
            except Exception as exc:  # any: nothing a save meets may keep the lease
                _not_saved(save.campaign, exc)
        with self._session() as session:
            release(session, fence)

    async def release_all(self) -> None:
        """At shutdown, after the drain and the flush: every lease freed, so a takeover need not wait."""
        for task in [self._cycling, *self._handing.values()]:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for run in list(self.daemon.runs):
            if run.fence is not None:
                await self._store(self._save_and_release, run.fence, self._pacing_save(run))
        self.thread.shutdown(wait=True)

    # -- pacing memory -----------------------------------------------------------------------------------------
    @staticmethod
    def _pacing_save(run: Seat) -> _Save | None:
        """What a save writes for ``run``: what its controller learned (estimators, ledger, calibration), read on
        the loop that owns it, times on the run's clock (``epoch_day``); a document of None, clearing the row, for
        a policy that learns nothing; None, nothing written (logged), when reading it fails, so the hand-over
        still frees the lease. A memory that is not plain JSON (a number gone NaN, a value JSON has no type for)
        writes nothing either (``_save``).

        Why a failed dump keeps the row rather than clearing it: the row then
        holds the last memory saved (most often a save or two old), whose
        ledger still counts most of today's abandons; cleared, the next owner
        would count today from nothing, and the day's cap with it. Cleared it
        is for a policy that learns nothing: an older policy's memory would
        otherwise come back if the campaign switched back to that policy."""
        inner = getattr(run.engine.controller, "inner", run.engine.controller)
        try:
            return _Save(run.name, memory.document(inner, epoch_day(run.origin, run.zone)))
        except Exception as exc:  # any: a save must not stop a hand-over from freeing the lease
            _not_saved(run.name, exc)
            return None

    async def _save_due(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._saved_at < self.times.pacing_save_s:
            return
        self._saved_at = loop.time()
        for run in list(self.daemon.runs):
            save = self._pacing_save(run)
            if run.fence is not None and save is not None:
                await self._store(self._save, run.fence, save)

    def _save(self, fence: Fence, save: _Save) -> None:
        """On the store's thread: the memory serialised, then stored, fenced. Why here: serialising is most of a
        save, every ``pacing_save_s`` for each campaign, and the event loop would wait it out (measured
        2026-12-03, 2 busy cores: 1 to 9 ms for one segment, 16 to 111 ms for 20, from few weights set to all;
        reading the memory, on the loop, 0.1 to 3.7 ms). One that cannot be serialised is logged and writes
        nothing: the row keeps the last one (``_pacing_save``)."""
        try:
            blob = None if save.document is None else memory.encode(save.document)
        except Exception as exc:  # any: the lease is freed after (``_save_and_release``)
            _not_saved(save.campaign, exc)
            return
        with self._session() as session:
            save_pacing(session, fence, blob)


def _applied(campaign_id: int, applied: list[Applied]) -> None:
    """Log what applying handed-over results did, by kind (``HandoverResult``)."""
    if applied:
        log.info("results handed over by a paused owner applied", extra={
            "event": "handover_applied", "campaign_id": campaign_id,
            **{kind.value: sum(a.result is kind for a in applied) for kind in HandoverResult}})


def _not_saved(campaign: str, exc: Exception) -> None:
    """Log a pacing save that wrote nothing, with the error's first line only: a store error's statement and
    parameters come on the lines after."""
    log.warning("pacing memory not saved: %s", str(exc).partition("\n")[0],
                extra={"event": "pacing_not_saved", "campaign": campaign})


def epoch_day(origin: datetime, zone: str) -> int:
    """The day a run's clock counts from (its ``origin``, a local midnight in the campaign's ``zone``), as the
    local date's ``toordinal``: what its pacing memory's times are moved by between owners (``pacing.memory``)."""
    return origin.astimezone(ZoneInfo(zone)).date().toordinal()


def recall_pacing(controller: object, blob: bytes | None, campaign: str, day: int) -> bool:
    """Recall a taken campaign's saved pacing memory into its ``controller``, just made from the campaign's
    current settings, whose clock counts from ``day`` (``epoch_day``); True when recalled. A memory refused
    (another format or policy, no epoch day, an old release's pickled controller, a shape today's settings do
    not give, a value a memory may not hold) is logged, and the controller starts fresh. Never raises: a recall
    that fails (a controller that cannot be copied for the trial: this code's fault, not the memory's) is
    logged as an error, and the controller starts fresh too, so no memory can stop a takeover."""
    try:
        if memory.recall(controller, blob, day):
            return True
    except Exception:  # any: the campaign must start whatever its memory
        log.exception("pacing memory not recalled: the recall failed, the campaign starts fresh",
                      extra={"event": "pacing_not_recalled", "campaign": campaign})
        return False
    if blob is not None:
        log.info("pacing memory not recalled: the campaign starts fresh",
                 extra={"event": "pacing_not_recalled", "campaign": campaign})
    return False

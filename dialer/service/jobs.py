"""The daemon's scheduled work: each campaign's hours at its window edges, and its nightly and daily jobs.

Why apart from the daemon: the jobs are timetable and bookkeeping (when to
open, what to tidy, what to report), not the running of calls. Their store
work is the store's own functions (``lists``), run on the maintenance
thread so the event loop never waits on them. Times follow the world clock
(the simulated one on the sim driver), in each campaign's zone; recordings
age in real days.

Per campaign: hours (open or close dialing at each window edge), nightly
recycle (03:00: claims left by nobody go back), DNC registry age check
(06:00) and the compliance report (23:55). Once: the recordings' purge
(03:30 UTC) and, on SQLite, a passive WAL checkpoint every 5 minutes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from dialer.service.assembly import CampaignRun
from dialer.service.metrics import Metrics
from dialer.service.recordings import RecordingStore, nightly_purge
from dialer.service.schedule import WindowEdges, WorldClock, WorldTrigger, retime
from lists.dnc import stale_registries
from lists.selection import release_orphans
from lists.store import checkpoint

__all__ = ["Jobs"]

log = logging.getLogger("dialer.service.daemon")
_ORPHAN_AGE = timedelta(hours=1)  # a claim without a dial mark older than this is no buffer's: recycle gives it back


class Jobs:
    """The scheduler and the jobs it runs. ``sync_hours`` opens or closes a campaign by its window (the
    daemon's); ``retention_days``: each campaign's recording retention, with ``recordings`` to purge."""

    def __init__(self, world: WorldClock, factory: sessionmaker[Session], claimer: str, metrics: Metrics,
                 thread: Executor, sync_hours: Callable[[CampaignRun], None], recordings: RecordingStore | None = None,
                 retention_days: Mapping[str, int] | None = None):
        self.world, self.factory, self.claimer, self.metrics = world, factory, claimer, metrics
        self.thread, self.sync_hours = thread, sync_hours
        self.recordings, self.retention_days = recordings, dict(retention_days or {})
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stale: dict[str, list[str]] = {}  # company: its stale DNC registry copies, as the warnings say them
        world.on_change.append(lambda: retime(self.scheduler, datetime.now(UTC)))

    def start(self, runs: list[CampaignRun]) -> None:
        for run in runs:
            self.add(run)
        if self.recordings is not None:
            self.scheduler.add_job(self._purge_recordings, CronTrigger(hour=3, minute=30, timezone=UTC),
                                   id="recordings-purge", misfire_grace_time=None, coalesce=True)
        if self.factory.kw["bind"].dialect.name == "sqlite":
            self.scheduler.add_job(self._checkpoint, IntervalTrigger(minutes=5), id="wal-checkpoint", coalesce=True)
        self.scheduler.start()

    def add(self, run: CampaignRun) -> None:
        """A campaign's hours and its daily jobs, in its zone on the world clock."""
        add, world = self.scheduler.add_job, self.world
        add(self.sync_hours, WorldTrigger(WindowEdges(run.profile, run.zone), world), [run],
            id=f"hours:{run.name}", misfire_grace_time=None, coalesce=True)
        for job, hour, minute in ((self._recycle, 3, 0), (self._dnc_check, 6, 0), (self._compliance, 23, 55)):
            add(job, WorldTrigger(CronTrigger(hour=hour, minute=minute, timezone=run.zone), world), [run],
                id=f"{job.__name__}:{run.name}", misfire_grace_time=None, coalesce=True)

    def remove(self, run: CampaignRun) -> None:
        """Drop every job of a campaign this daemon no longer runs."""
        for job in self.scheduler.get_jobs():
            if job.args and job.args[0] is run:
                job.remove()

    async def _off_loop(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)

    def _in_store(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.factory() as session:
            return fn(session, *args)

    async def _recycle(self, run: CampaignRun) -> None:
        """Nightly: give back claims no buffer or call holds (older than an hour, no dial mark)."""
        before = self.world.now() - _ORPHAN_AGE
        count = await self._off_loop(self._in_store, release_orphans, run.campaign_id, self.claimer, before)
        log.info("nightly recycle", extra={"event": "recycle", "campaign": run.name, "released": count})

    async def _dnc_check(self, run: CampaignRun) -> None:
        await self.dnc_check(run.company)

    async def dnc_check(self, company: str) -> None:
        """The company's DNC registry copies against their age limit: a gauge, a warning, and the words."""
        stale = await self._off_loop(self._in_store, stale_registries, company, self.world.now())
        self.metrics.dnc_stale.labels(company).set(len(stale))
        self.stale[company] = [f"{name} (refreshed {at:%Y-%m-%d})" for name, at in stale]
        if stale:
            log.warning("DNC registry copies are stale", extra={
                "event": "dnc_stale", "company": company, "registries": [name for name, _ in stale]})

    async def _compliance(self, run: CampaignRun) -> None:
        """Daily: today's (UK measure) and the last 30 days' (US) live answers and abandons, from the campaign's
        ledger, against the cap."""
        civil_s = run.civil_now_s()
        report = {}
        for period, (abandoned, live) in (("day", run.ledger.uk_counts(civil_s)),
                                          ("30_days", run.ledger.us_counts(civil_s))):
            report[period] = {"live": live, "abandoned": abandoned, "rate": abandoned / live if live else 0.0}
        over = any(p["rate"] > run.cap for p in report.values())
        log.log(logging.WARNING if over else logging.INFO, "compliance report", extra={
            "event": "compliance_report", "campaign": run.name, "cap": run.cap, "over_cap": over, **report})

    async def _purge_recordings(self) -> None:
        """Nightly: delete each campaign's recordings older than its retention. Real time, not the world's: the
        files age in real days."""
        assert self.recordings is not None
        counts = await self._off_loop(nightly_purge, self.recordings, self.retention_days, datetime.now(UTC))
        log.info("recordings purged", extra={"event": "recordings_purge", "deleted": counts})

    async def _checkpoint(self) -> None:
        await self._off_loop(checkpoint, self.factory)

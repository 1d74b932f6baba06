"""The call recordings on this host: finding an attempt's file, and deleting a campaign's old ones.

Why files and not the store: Asterisk writes each connected call's bridge
recording itself (``dialer.drivers.asterisk.recording_name``) as
``<root>/<campaign>/<lead>-<attempt>.wav``: the campaign's name made safe
for a path, the lead's id and the attempt's number (0 for the lead's first
attempt). The store knows the attempt, so its file is found again from the
attempt's row (``attempt_number``) with no table of file names to keep.

Why every path is checked against the root: a campaign's name is free text,
and one called ``..`` would name a folder above the recordings; a lookup or
a purge never leaves the root, and a purge deletes only files named like a
recording (``<digits>-<digits>.wav``), never links.

Retention is in whole days per campaign (``Retention``); ages are measured
from a file's modification time (when the recording stopped), in real UTC
time, never the simulated world's.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lists.models import Attempt, Campaign

__all__ = ["RecordingStore", "RecordingKey", "Retention", "attempt_number", "nightly_purge", "EXTENSION"]

EXTENSION = ".wav"  # the driver's RECORDING_FORMAT
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")  # what the driver replaces with "_" in a campaign's folder name
_RECORDING = re.compile(r"\d+-\d+" + re.escape(EXTENSION))


class RecordingKey(NamedTuple):
    """What names an attempt's recording: its campaign's name, its lead's id, the attempt's number from 0."""

    campaign: str
    lead_id: int
    attempt_no: int


def attempt_number(session: Session, attempt_id: int) -> RecordingKey | None:
    """The recording's key of attempt ``attempt_id`` (None: no such attempt). The number is how many of the
    lead's attempts came before it, by ``dialled_at`` then id: what the engine passed the driver as the
    lead's attempt count when it dialled."""
    row = session.execute(select(Campaign.name, Attempt.lead_id, Attempt.dialled_at)
                          .join(Campaign, Campaign.id == Attempt.campaign_id).where(Attempt.id == attempt_id)).first()
    if row is None:
        return None
    name, lead_id, dialled_at = row
    earlier = session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.lead_id == lead_id,
        or_(Attempt.dialled_at < dialled_at, and_(Attempt.dialled_at == dialled_at, Attempt.id < attempt_id))))
    return RecordingKey(name, lead_id, earlier or 0)


class RecordingStore:
    """Asterisk's recording folder as this host sees it (``[asterisk] recordings_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _inside(self, path: Path) -> Path | None:
        """``path`` with its links resolved, if that is still under the root; None otherwise."""
        real = path.resolve()
        return real if real.is_relative_to(self.root) else None

    def folder_of(self, campaign_name: str) -> Path | None:
        """The campaign's folder, as the driver names it; None when that name would leave the root."""
        return self._inside(self.root / _UNSAFE.sub("_", campaign_name))

    def path_for(self, campaign_name: str, lead_id: int, attempt_no: int) -> Path | None:
        """The attempt's ``.wav`` file; None if it is absent or would be outside the root."""
        folder = self.folder_of(campaign_name)
        found = self._inside(folder / f"{lead_id}-{attempt_no}{EXTENSION}") if folder else None
        return found if found is not None and found.is_file() else None

    def purge(self, campaign_name: str, older_than: datetime) -> int:
        """Delete the campaign's recordings last modified before ``older_than`` (aware; compared as POSIX
        seconds); returns how many. A folder outside the root, or none yet, deletes nothing."""
        if older_than.tzinfo is None:
            raise ValueError("older_than must be an aware datetime (UTC), not a naive one")
        folder = self.folder_of(campaign_name)
        if folder is None or not folder.is_dir():
            return 0
        cutoff_s = older_than.timestamp()
        old = [path for path in folder.iterdir() if _RECORDING.fullmatch(path.name) and _older(path, cutoff_s)]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)


def _older(path: Path, cutoff_s: float) -> bool:
    """A regular file (not a link) last modified before ``cutoff_s`` (POSIX seconds)."""
    info = path.lstat()
    return stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff_s


@dataclass(frozen=True)
class Retention:
    """How many whole days recordings are kept: ``days`` by campaign name, ``default_days`` for the rest.

    Why at least one day: a zero would delete a call's recording the night it was made, before anyone who
    must hear it (a complaint, a dispute) could; the config allows 1 to 3650 days."""

    days: Mapping[str, int] = field(default_factory=dict)
    default_days: int = 90

    def __post_init__(self) -> None:
        for name, days in {**self.days, "(default)": self.default_days}.items():
            if days < 1:
                raise ValueError(f"retention of {name}: {days} days; it must be at least 1")

    def days_for(self, campaign_name: str) -> int:
        return self.days.get(campaign_name, self.default_days)

    def cutoff(self, campaign_name: str, now: datetime) -> datetime:
        """Recordings of the campaign last modified before this moment are past their retention."""
        return now - timedelta(days=self.days_for(campaign_name))


def nightly_purge(store: RecordingStore, campaigns: Mapping[str, int], now: datetime) -> dict[str, int]:
    """The nightly job: each campaign's recordings older than its retention (days) at ``now`` (aware, real
    UTC time: files age in real days) are deleted; returns how many per campaign. Blocking file work: run
    it off the event loop."""
    retention = Retention(campaigns)
    return {name: store.purge(name, retention.cutoff(name, now)) for name in campaigns}

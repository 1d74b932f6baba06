"""The call recordings on this host: finding an attempt's file, and deleting a campaign's old ones.

Why files named by an id and kept on the attempt: Asterisk writes each
connected call's bridge recording itself as ``<root>/<campaign>/<id>.wav``,
the campaign's name made safe for a path and an id no other attempt of any
store shares (``dialer.drivers.asterisk.new_recording_name``: a random UUID), and the attempt's
ledger row keeps that name (``Attempt.recording``). The file served for an
attempt is the one its row names, or none. Files once named after the lead
and the attempt's number (``<lead>-<n>``) collided whenever a campaign name
was reused or lead ids repeated (a new store, another daemon): Asterisk
refused the new recording and the API served the older call, another
person's.

Why every path is checked against the root: a campaign's name is free text,
and one called ``..`` would name a folder above the recordings; a lookup or
a purge never leaves the root, and a purge deletes only files named like a
recording (a UUID, or the old ``<digits>-<digits>``), never links.

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

from dialer.drivers.asterisk import RECORDING_FORMAT, RECORDING_ID, recording_folder

__all__ = ["RecordingStore", "Retention", "nightly_purge", "EXTENSION"]

EXTENSION = f".{RECORDING_FORMAT}"
_RECORDING = re.compile(rf"(?:{RECORDING_ID.pattern}|\d+-\d+){re.escape(EXTENSION)}")  # ids; the old lead-numbers


class RecordingStore:
    """Asterisk's recording folder as this host sees it (``[asterisk] recordings_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _inside(self, path: Path) -> Path | None:
        """``path`` with its links resolved, if that is still under the root; None otherwise."""
        real = path.resolve()
        return real if real.is_relative_to(self.root) else None

    def folder_of(self, campaign_name: str) -> Path | None:
        """The campaign's folder, as recordings are named; None when that name would leave the root."""
        return self._inside(self.root / recording_folder(campaign_name))

    def path_of(self, recording: str) -> Path | None:
        """The ``.wav`` file of the recording ``recording`` (an attempt's ``recording``); None if it is absent,
        not named like a recording, or would be outside the root."""
        if not RECORDING_ID.fullmatch(Path(recording).name):
            return None
        found = self._inside(self.root / f"{recording}{EXTENSION}")
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

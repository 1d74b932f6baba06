"""CSV import of leads: normalise numbers to E.164, find time zones, reject loudly.

Why a reject file: nothing may be dropped silently. Every row ends up either
imported, rejected (with its line number and reason) or counted as a
duplicate, and the three counts add up to the rows read.

Why batches: a list of a million rows streams through in batches of
``BATCH`` rows, each inserted and committed at once. An import cut short
keeps what it committed, and running it again adds only the rest, since
numbers already in the campaign count as duplicates.
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lists.models import Campaign, DncEntry, Lead, to_db
from lists.numbers import normalise_number, valid_zone, zone_for_postal_code
from pacing.errors import InvalidInput

__all__ = ["ImportSummary", "import_csv", "count_rows", "read_csv"]

BATCH = 5000
_PARALLEL_BYTES = 4 << 20
_PHONE_KEYS = ("phone", "phone_number", "number", "tel", "telephone", "msisdn")
_REGION_KEYS = ("country", "region", "country_code")
_ZONE_KEYS = ("timezone", "time_zone", "tz")
_POSTAL_KEYS = ("postal_code", "postcode", "zip", "zip_code", "plz")
_NOT_FIELDS = frozenset((*_PHONE_KEYS, *_REGION_KEYS, *_ZONE_KEYS, "name"))


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejects_path: Path | None = None

    def line(self) -> str:
        return (f"{self.rows} rows: {self.imported} imported, {self.rejected} rejected, "
                f"{self.duplicates} duplicates" + (f" (see {self.rejects_path})" if self.rejects_path else ""))


def _detect_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(handle: TextIO, delimiter: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The lower-cased header and (line number, row) pairs; blank lines are skipped."""
    sample = handle.read(64 * 1024)
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter or _detect_delimiter(sample))
    header = [h.strip().lower() for h in next(reader, [])]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for values in reader:
            if any(v.strip() for v in values):
                yield reader.line_num, dict(zip(header, (v.strip() for v in values), strict=False))

    return header, rows()


def count_rows(path: Path) -> int:
    """Lines after the header, for a progress bar's total (fast: counts newlines in binary)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first(row: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((row[k] for k in keys if row.get(k)), "")


def import_csv(session: Session, campaign: Campaign, path: Path, *, default_region: str | None = None,
               mapping: dict[str, str] | None = None, delimiter: str | None = None, encoding: str = "utf-8-sig",
               progress: Callable[[int], None] | None = None, now: datetime | None = None,
               workers: int | None = None) -> ImportSummary:
    """Import ``path`` into ``campaign``; rejected and duplicate rows go to ``PATH.rejects.csv``.

    ``mapping`` renames file columns to fields (``{"Telefon": "phone"}``).
    ``progress`` is called with the number of rows done since its last call.
    ``workers`` processes normalise numbers (default: several for files over
    a few MB, where the pool's start-up pays for itself).
    """
    mapping = {k.lower(): v for k, v in (mapping or {}).items()}
    rejects_path = path.with_name(path.name + ".rejects.csv")
    with (path.open(encoding=encoding, newline="") as handle,
          rejects_path.open("w", newline="", encoding="utf-8") as out):
        header, rows = read_csv(handle, delimiter)
        if not any(mapping.get(h, h) in _PHONE_KEYS for h in header):
            raise InvalidInput("file", f"has no phone column (looked for {', '.join(_PHONE_KEYS)})")
        writer = csv.writer(out)
        writer.writerow(["line", "reason", *header])
        chunks = _chunks(((line, raw, {mapping.get(k, k): v for k, v in raw.items()}) for line, raw in rows), BATCH)
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if path.stat().st_size > _PARALLEL_BYTES else 1
        summary = _Import(session, campaign, default_region, to_db(now or datetime.now(UTC))).run(
            chunks, writer, workers, progress)
    if summary.rejected + summary.duplicates:
        summary.rejects_path = rejects_path
    else:
        rejects_path.unlink()
    return summary


Parsed = tuple[str, str, tuple[str, ...]] | str  # (E.164, region, zones), or why the number was rejected
Chunk = list[tuple[int, dict[str, str], dict[str, str]]]  # (line, row as in the file, row with fields renamed)


def _normalise_chunk(numbers: list[tuple[str, str | None]]) -> list[Parsed]:
    """Normalise (text, region) pairs. Runs in worker processes on big files: phonenumbers is most of the cost."""
    parsed: list[Parsed] = []
    for text, region in numbers:
        try:
            parsed.append(normalise_number(text, region) if text else "missing field: phone")
        except ValueError as exc:
            parsed.append(str(exc))
    return parsed


class _Import:
    """One import's state: numbers already seen, the DNC set and the batch being filled."""

    def __init__(self, session: Session, campaign: Campaign, default_region: str | None, now: datetime | None):
        self.session, self.campaign, self.now = session, campaign, now
        self.default_region = default_region.upper() if default_region else None
        self.seen = set(session.scalars(select(Lead.phone_e164).where(Lead.campaign_id == campaign.id)))
        self.dnc = set(session.scalars(select(DncEntry.phone_e164).where(DncEntry.company == campaign.company)))
        self.batch: list[dict[str, Any]] = []

    def run(self, chunks: Iterator[Chunk], writer: Any, workers: int,
            progress: Callable[[int], None] | None) -> ImportSummary:
        summary = ImportSummary()
        for chunk, parsed in self._parsed(chunks, workers):
            for (line, raw, row), number in zip(chunk, parsed, strict=True):
                outcome = self.row(row, number)
                summary.imported += outcome == "imported"
                summary.duplicates += outcome == "duplicate"
                summary.rejected += outcome not in ("imported", "duplicate")
                if outcome != "imported":
                    writer.writerow([line, outcome, *raw.values()])
            summary.rows += len(chunk)
            self.flush()
            if progress:
                progress(len(chunk))
        return summary

    def _numbers(self, chunk: Chunk) -> list[tuple[str, str | None]]:
        return [(_first(row, _PHONE_KEYS), _first(row, _REGION_KEYS).upper() or self.default_region)
                for _, _, row in chunk]

    def _parsed(self, chunks: Iterator[Chunk], workers: int) -> Iterator[tuple[Chunk, list[Parsed]]]:
        """Each chunk with its normalised numbers, in file order; a few chunks ahead in a process pool."""
        if workers <= 1:
            yield from ((chunk, _normalise_chunk(self._numbers(chunk))) for chunk in chunks)
            return
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
            pending: deque[tuple[Chunk, Future[list[Parsed]]]] = deque()
            for chunk in chunks:
                pending.append((chunk, pool.submit(_normalise_chunk, self._numbers(chunk))))
                if len(pending) > 2 * workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            yield from ((done, future.result()) for done, future in pending)

    def flush(self) -> None:
        if self.batch:
            self.session.execute(insert(Lead.__table__), self.batch)
            self.batch = []
        self.session.commit()

    def row(self, row: dict[str, str], number: Parsed) -> str:
        """Queue the row for insert and return "imported", or return why not."""
        if isinstance(number, str):
            return number
        e164, region, zones = number
        if e164 in self.seen:
            return "duplicate"
        if e164 in self.dnc:
            return "on DNC"
        explicit = _first(row, _ZONE_KEYS)
        if explicit and not valid_zone(explicit):
            return f"unknown time zone: {explicit}"
        zone = explicit or zone_for_postal_code(region, _first(row, _POSTAL_KEYS))
        self.seen.add(e164)
        self.batch.append({
            "campaign_id": self.campaign.id, "phone_e164": e164, "name": row.get("name") or None, "region": region,
            "zones": zone or ",".join(zones), "status": "new", "attempts": 0, "priority": 0, "next_at": self.now,
            "fields": {k: v for k, v in row.items() if k not in _NOT_FIELDS and v},
        })
        return "imported"

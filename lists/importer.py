"""CSV import of leads: normalise numbers to E.164, find time zones, reject loudly.

Why a reject file: nothing may be dropped silently. Every row ends up either
imported, rejected (with its line number and reason) or counted as a
duplicate, and the three counts add up to the rows read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import timezone as pn_timezone
from sqlalchemy import select
from sqlalchemy.orm import Session

from lists.models import Campaign, DncEntry, Lead
from pacing.errors import InvalidInput

__all__ = ["ImportSummary", "import_csv", "normalise_number"]

_PHONE_KEYS = ("phone", "phone_number", "number", "tel", "telephone", "msisdn")
_REGION_KEYS = ("country", "region", "country_code")
_ZONE_KEYS = ("timezone", "time_zone", "tz")


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejects_path: Path | None = None

    def line(self) -> str:
        return (f"{self.rows} rows: {self.imported} imported, {self.rejected} rejected, "
                f"{self.duplicates} duplicates" + (f" (see {self.rejects_path})" if self.rejected else ""))


def normalise_number(text: str, region: str | None) -> tuple[str, str, tuple[str, ...]]:
    """(E.164, region, candidate time zones) for a number as people write it; ValueError if invalid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("invalid number")
    zones = tuple(z for z in pn_timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.region_code_for_number(number) or (region or ""), zones


def _detect_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _rows(path: Path, encoding: str, delimiter: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    handle = path.open(encoding=encoding, newline="")
    sample = handle.read(64 * 1024)
    handle.seek(0)
    reader = csv.reader(handle, delimiter=delimiter or _detect_delimiter(sample))
    header = [h.strip().lower() for h in next(reader, [])]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, dict(zip(header, (v.strip() for v in values), strict=False))

    return header, rows()


def _first(row: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((row[k] for k in keys if row.get(k)), "")


def import_csv(session: Session, campaign: Campaign, path: Path, *, default_region: str | None = None,
               mapping: dict[str, str] | None = None, delimiter: str | None = None, encoding: str = "utf-8-sig",
               progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import ``path`` into ``campaign``; rejected rows go to ``PATH.rejects.csv``.

    ``mapping`` renames file columns to fields (``{"Telefon": "phone"}``).
    Duplicates are dropped within the file and against the campaign.
    """
    header, rows = _rows(path, encoding, delimiter)
    mapping = {k.lower(): v for k, v in (mapping or {}).items()}
    if not any(mapping.get(h, h) in _PHONE_KEYS for h in header):
        raise InvalidInput("file", f"has no phone column (looked for {', '.join(_PHONE_KEYS)})")
    seen = set(session.scalars(select(Lead.phone_e164).where(Lead.campaign_id == campaign.id)))
    dnc = set(session.scalars(select(DncEntry.phone_e164).where(DncEntry.company == campaign.company)))
    summary, rejects = ImportSummary(), io.StringIO()
    writer = csv.writer(rejects)
    writer.writerow(["line", "reason", *header])
    for line, raw in rows:
        summary.rows += 1
        row = {mapping.get(k, k): v for k, v in raw.items()}
        outcome = _import_row(session, campaign, row, default_region, seen, dnc)
        summary.imported += outcome == "imported"
        summary.duplicates += outcome == "duplicate"
        summary.rejected += outcome not in ("imported", "duplicate")
        if outcome != "imported":
            writer.writerow([line, outcome, *raw.values()])
        if progress and summary.rows % 1000 == 0:
            progress(1000)
    session.commit()
    if summary.rejected + summary.duplicates:
        summary.rejects_path = path.with_name(path.name + ".rejects.csv")
        summary.rejects_path.write_text(rejects.getvalue(), encoding="utf-8")
    return summary


def _import_row(session: Session, campaign: Campaign, row: dict[str, str], default_region: str | None,
                seen: set[str], dnc: set[str]) -> str:
    phone = _first(row, _PHONE_KEYS)
    if not phone:
        return "missing field: phone"
    region = (_first(row, _REGION_KEYS) or default_region or "").upper() or None
    try:
        e164, region_found, zones = normalise_number(phone, region)
    except ValueError as exc:
        return str(exc)
    if e164 in seen:
        return "duplicate"
    if e164 in dnc:
        return "on DNC"
    explicit_zone = _first(row, _ZONE_KEYS)
    seen.add(e164)
    fields = {k: v for k, v in row.items() if k not in (*_PHONE_KEYS, *_REGION_KEYS, *_ZONE_KEYS, "name") and v}
    session.add(Lead(campaign_id=campaign.id, phone_e164=e164, name=row.get("name") or None, region=region_found,
                     zones=explicit_zone or ",".join(zones), fields=fields, status="new", attempts=0))
    return "imported"

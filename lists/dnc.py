"""Do-not-call lists: the company's own list and imported registry copies, each with its refresh date.

Why per company: a DNC request binds the company that received it, in
every one of its campaigns (FCC 64.1200(d)); a registry copy is bought and
refreshed by each company, and a US copy older than 31 days is no defence.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from lists.models import Campaign, DncEntry, DncRegistry, Lead, as_utc, to_db
from lists.numbers import normalise_number

__all__ = ["add_to_dnc", "RegistryImport", "import_registry", "registries", "stale_registries", "MAX_REGISTRY_AGE"]

MAX_REGISTRY_AGE = timedelta(days=31)


def add_to_dnc(session: Session, company: str, phone_e164: str, now: datetime, source: str = "internal") -> None:
    """Suppress a number for the whole company at once: every campaign's lead for it is closed."""
    exists = session.scalar(select(DncEntry.id).where(
        DncEntry.company == company, DncEntry.phone_e164 == phone_e164, DncEntry.source == source))
    if exists is None:
        session.add(DncEntry(company=company, phone_e164=phone_e164, source=source, added_at=to_db(now)))
    campaigns = select(Campaign.id).where(Campaign.company == company)
    session.execute(update(Lead).where(Lead.phone_e164 == phone_e164, Lead.campaign_id.in_(campaigns))
                    .values(status="dnc").execution_options(synchronize_session=False))


@dataclass
class RegistryImport:
    name: str
    numbers: int
    rejected: int
    rejects_path: Path | None

    def line(self) -> str:
        extra = f" (see {self.rejects_path})" if self.rejects_path else ""
        return f"registry {self.name}: {self.numbers} numbers, {self.rejected} rejected{extra}"


def _numbers(path: Path, default_region: str | None) -> tuple[set[str], list[tuple[int, str, str]]]:
    """The first column of every line, normalised; a header line is simply rejected."""
    found: set[str] = set()
    bad: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, values in enumerate(csv.reader(handle), start=1):
            text = values[0].strip() if values else ""
            if not text:
                continue
            try:
                found.add(normalise_number(text, default_region)[0])
            except ValueError as exc:
                bad.append((line, str(exc), text))
    return found, bad


def import_registry(session: Session, company: str, name: str, path: Path, now: datetime,
                    default_region: str | None = "US") -> RegistryImport:
    """Replace the company's copy of registry ``name`` with ``path`` (one number per line) and date it ``now``."""
    found, bad = _numbers(path, default_region)
    session.execute(delete(DncEntry).where(DncEntry.company == company, DncEntry.source == name))
    session.execute(insert(DncEntry.__table__), [
        {"company": company, "phone_e164": number, "source": name, "added_at": to_db(now)} for number in found])
    session.merge(DncRegistry(company=company, name=name, refreshed_at=to_db(now), entries=len(found)))
    session.commit()
    rejects = None
    if bad:
        rejects = path.with_name(path.name + ".rejects.csv")
        with rejects.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([("line", "reason", "number"), *bad])
    return RegistryImport(name, len(found), len(bad), rejects)


def registries(session: Session, company: str) -> list[DncRegistry]:
    return list(session.scalars(select(DncRegistry).where(DncRegistry.company == company).order_by(DncRegistry.name)))


def stale_registries(session: Session, company: str, now: datetime,
                     max_age: timedelta = MAX_REGISTRY_AGE) -> list[tuple[str, datetime]]:
    """(name, refreshed_at) of the company's registry copies older than ``max_age``."""
    return [(r.name, as_utc(r.refreshed_at)) for r in registries(session, company)
            if now - as_utc(r.refreshed_at) > max_age]

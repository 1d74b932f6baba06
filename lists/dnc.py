"""Do-not-call lists: the company's own list and imported registry copies, each with its refresh date.

Why per company: a DNC request binds the company that received it, in
every one of its campaigns (FCC 64.1200(d)); a registry copy is bought and
refreshed by each company, and a US copy older than 31 days is no defence.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from lists.importer import check_text
from lists.lifecycle import LeadStatus, move_lead, moving_to
from lists.models import Campaign, DncEntry, DncRegistry, Lead, to_db
from lists.numbers import normalise_number, region_code
from pacing.errors import InvalidInput

__all__ = ["add_to_dnc", "remove_from_dnc", "own_list", "OwnList", "dnc_entries", "RegistryImport",
           "import_registry", "registries", "stale_registries", "MAX_REGISTRY_AGE", "OWN"]

MAX_REGISTRY_AGE = timedelta(days=31)
OWN = "internal"  # the source of the company's own list: requests taken by its agents and `dnc add`


def _utc(stored: datetime) -> datetime:
    """A non-null stored time (naive UTC) as an aware datetime; ``models.as_utc`` also takes None."""
    return stored.replace(tzinfo=UTC)


def add_to_dnc(session: Session, company: str, phone_e164: str, now: datetime, source: str = OWN) -> bool:
    """Suppress a number for the whole company at once: every campaign's lead for it is closed, whatever its
    status (``lists.lifecycle``: every other status may move to DNC). False when ``source`` listed it already
    (its leads are closed all the same), so a caller can say so rather than "added" again."""
    exists = session.scalar(select(DncEntry.id).where(
        DncEntry.company == company, DncEntry.phone_e164 == phone_e164, DncEntry.source == source))
    if exists is None:
        session.add(DncEntry(company=company, phone_e164=phone_e164, source=source, added_at=to_db(now)))
    campaigns = select(Campaign.id).where(Campaign.company == company)
    session.execute(update(Lead).where(Lead.phone_e164 == phone_e164, Lead.campaign_id.in_(campaigns),
                                       Lead.status.in_(sorted(moving_to(LeadStatus.DNC))))
                    .values(status=LeadStatus.DNC).execution_options(synchronize_session=False))
    return exists is None


def remove_from_dnc(session: Session, company: str, phone_e164: str, now: datetime) -> int:
    """Take a number off the company's own list; returns how many of its closed leads were reopened.

    Why reopen at all: a number added by mistake closed the lead in every
    campaign. A lead stays closed when the number is still on a registry
    copy, or when the person's own last answer was a request not to be called.
    """
    removed = session.execute(delete(DncEntry).where(
        DncEntry.company == company, DncEntry.phone_e164 == phone_e164, DncEntry.source == OWN))
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise InvalidInput("number", f"{phone_e164} is not on {company}'s own DNC list")
    still_listed = select(DncEntry.id).where(DncEntry.company == company, DncEntry.phone_e164 == phone_e164)
    if session.scalar(still_listed) is not None:
        return 0
    campaigns = select(Campaign.id).where(Campaign.company == company)
    leads = (Lead.phone_e164 == phone_e164, Lead.campaign_id.in_(campaigns), Lead.status == LeadStatus.DNC,
             Lead.last_disposition.is_distinct_from("dnc_request"))
    reopened = 0
    for status, attempted in ((LeadStatus.NEW, Lead.attempts == 0), (LeadStatus.RETRY, Lead.attempts > 0)):
        result = session.execute(update(Lead).where(*leads, attempted)
                                 .values(status=move_lead(LeadStatus.DNC, status), next_at=to_db(now))
                                 .execution_options(synchronize_session=False))
        reopened += result.rowcount  # type: ignore[attr-defined]
    return reopened


@dataclass(frozen=True)
class OwnList:
    """The company's own DNC list at a glance, for ``dnc status``."""

    numbers: int
    last_added: datetime | None


def own_list(session: Session, company: str) -> OwnList:
    count, last = session.execute(select(func.count(), func.max(DncEntry.added_at)).where(
        DncEntry.company == company, DncEntry.source == OWN)).one()
    return OwnList(count, _utc(last) if last else None)


def dnc_entries(session: Session, company: str, source: str = OWN) -> list[tuple[str, datetime]]:
    """(E.164, added at) of one list of the company, the own list by default, in number order."""
    rows = session.execute(select(DncEntry.phone_e164, DncEntry.added_at).where(
        DncEntry.company == company, DncEntry.source == source).order_by(DncEntry.phone_e164))
    return [(phone, _utc(added)) for phone, added in rows]


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
    check_text(path)
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
    """Replace the company's copy of registry ``name`` with ``path`` (one number per line) and date it ``now``.

    A file with no valid number is refused and the old copy kept: an empty
    or wrong file would otherwise silently lift every suppression.
    """
    if name == OWN:
        raise InvalidInput("registry", f"{OWN!r} is the company's own list; give the registry's name")
    try:
        region = region_code(default_region) if default_region else None
    except ValueError as exc:
        raise InvalidInput("default_region", str(exc)) from None
    found, bad = _numbers(path, region)
    if not found:
        found_none = f"{len(bad)} lines, none a valid number" if bad else "no numbers"
        raise InvalidInput("file", f"{path.name} has {found_none}; the copy of {name} was left as it was")
    session.execute(delete(DncEntry).where(DncEntry.company == company, DncEntry.source == name))
    session.execute(insert(cast(Table, DncEntry.__table__)), [
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
    return [(r.name, _utc(r.refreshed_at)) for r in registries(session, company)
            if now - _utc(r.refreshed_at) > max_age]

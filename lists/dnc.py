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

from dialer.records import AttemptRecord
from lists.consent import withdraw_consent
from lists.importer import check_text
from lists.lifecycle import LeadStatus, move_lead, moving_to
from lists.models import Campaign, DncEntry, DncRegistry, Lead, to_db
from lists.numbers import mask_number, normalise_number, region_code
from lists.sealing import person_key
from pacing.errors import InvalidInput

__all__ = ["add_to_dnc", "record_objection", "honour_objection", "OBJECTS", "remove_from_dnc", "own_list",
           "OwnList", "dnc_entries", "RegistryImport", "import_registry", "registries", "stale_registries",
           "registry_region", "MAX_REGISTRY_AGE", "OWN", "REGISTRY_COUNTRIES"]

MAX_REGISTRY_AGE = timedelta(days=31)
OWN = "internal"  # the source of the company's own list: requests taken by its agents and `dnc add`
OBJECTS = "objects"  # the disposition of a person objecting to further calls (offered on every call)
REGISTRY_COUNTRIES = {  # national do-not-call registries, by the names a company gives its copies of them
    "us-national": "US", "national-dnc": "US", "us-dnc": "US",  # the FTC's National Do Not Call Registry
    "bloctel": "FR",  # France's opposition list (Code de la consommation, L223-1)
    "tps": "GB", "ctps": "GB",  # the UK's Telephone Preference Service, and its corporate one
    "dncl": "CA", "lnnte": "CA",  # Canada's National Do Not Call List (Liste nationale de numéros exclus)
    "dncm": "BE", "ne-m-appelez-plus": "BE", "bel-me-niet-meer": "BE",  # Belgium's "Ne m'appelez plus"
    "rpo": "IT",  # Italy's Registro pubblico delle opposizioni
    "dncr": "AU",  # Australia's Do Not Call Register
}


def _utc(stored: datetime) -> datetime:
    """A non-null stored time (naive UTC) as an aware datetime; ``models.as_utc`` also takes None."""
    return stored.replace(tzinfo=UTC)


def add_to_dnc(session: Session, company: str, phone_e164: str, now: datetime, source: str = OWN) -> bool:
    """Suppress a number for the whole company at once: every campaign's lead for it is closed, whatever its
    status (``lists.lifecycle``: every other status may move to DNC). False when ``source`` listed it already
    (its leads are closed all the same), so a caller can say so rather than "added" again."""
    key = person_key(session, phone_e164)
    exists = session.scalar(select(DncEntry.id).where(
        DncEntry.company == company, DncEntry.phone_key == key, DncEntry.source == source))
    if exists is None:
        session.add(DncEntry(company=company, phone_e164=phone_e164, source=source, added_at=to_db(now)))
    campaigns = select(Campaign.id).where(Campaign.company == company)
    session.execute(update(Lead).where(Lead.phone_key == key, Lead.campaign_id.in_(campaigns),
                                       Lead.status.in_(sorted(moving_to(LeadStatus.DNC))))
                    .values(status=LeadStatus.DNC).execution_options(synchronize_session=False))
    return exists is None


def record_objection(session: Session, company: str, phone_e164: str, now: datetime, by: str) -> None:
    """The person objects to further calls from the company (the ``objects`` disposition): their consent to every
    purpose is withdrawn and their number joins the company's own list, closing their leads in every campaign at
    once (not committed).

    Why both: the withdrawal is the record a regulator asks for (Netherlands:
    the right to object, offered in every call); the DNC entry is what stops
    every dial, whatever the campaign's purpose or the person's country."""
    withdraw_consent(session, company, phone_e164, now, by, how="objected to further calls in a call")
    add_to_dnc(session, company, phone_e164, now)


def honour_objection(session: Session, company: str, lead: Lead, record: AttemptRecord) -> bool:
    """If ``record`` holds the ``objects`` disposition, ``record_objection`` for its person at the call's end, by
    its agent; True if it did (not committed).

    Why the writers call it before the attempt's own commit: the withdrawal,
    the DNC entry and the attempt then land together or not at all. The
    lead itself ends closed by its disposition (``lists.rules.after_attempt``)."""
    if record.disposition != OBJECTS:
        return False
    record_objection(session, company, lead.phone_e164, record.hangup_at or record.dialled_at, record.agent or "agent")
    return True


def remove_from_dnc(session: Session, company: str, phone_e164: str, now: datetime) -> int:
    """Take a number off the company's own list; returns how many of its closed leads were reopened.

    Why reopen at all: a number added by mistake closed the lead in every
    campaign. A lead stays closed when the number is still on a registry
    copy, or when the person's own last answer was a request not to be called.
    """
    key = person_key(session, phone_e164)
    removed = session.execute(delete(DncEntry).where(
        DncEntry.company == company, DncEntry.phone_key == key, DncEntry.source == OWN))
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise InvalidInput("number", f"{mask_number(phone_e164)} is not on {company}'s own DNC list")
    still_listed = select(DncEntry.id).where(DncEntry.company == company, DncEntry.phone_key == key)
    if session.scalar(still_listed) is not None:
        return 0
    campaigns = select(Campaign.id).where(Campaign.company == company)
    leads = (Lead.phone_key == key, Lead.campaign_id.in_(campaigns), Lead.status == LeadStatus.DNC,
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
    """(E.164, added at) of one list of the company, the own list by default, in number order; an erased
    person's entry (kept as its blind index alone) reads "" and comes first.

    Why sorted here: a sealed number sorts by its ciphertext in the store."""
    rows = session.execute(select(DncEntry.phone_e164, DncEntry.added_at).where(
        DncEntry.company == company, DncEntry.source == source))
    return sorted((phone, _utc(added)) for phone, added in rows)


@dataclass
class RegistryImport:
    """What a registry import did: ``region`` is the country its national numbers were read in (None: each
    needed its +CC); ``header`` the column name its first line gave, if it had one."""

    name: str
    numbers: int
    rejected: int
    rejects_path: Path | None
    region: str | None = None
    header: str | None = None

    def line(self) -> str:
        notes = [f"header {self.header!r} skipped"] if self.header else []
        notes.append(f"national numbers read as {self.region}" if self.region
                     else "no default region: national numbers need --default-region")
        extra = f" (see {self.rejects_path})" if self.rejects_path else ""
        return f"registry {self.name}: {self.numbers} numbers, {self.rejected} rejected{extra}; {'; '.join(notes)}"


def registry_region(name: str, default_region: str | None = None) -> str | None:
    """The country a registry's national numbers are read in: ``default_region`` when given, else the
    registry's own (``REGISTRY_COUNTRIES``: bloctel is French, tps British), else None. InvalidInput naming
    ``default_region`` for a code that is no country.

    Why the registry's country: a national registry lists its own country's
    numbers, mostly written nationally; read as American, every French one
    was rejected."""
    try:
        return region_code(default_region) if default_region else REGISTRY_COUNTRIES.get(name.lower())
    except ValueError as exc:
        raise InvalidInput("default_region", str(exc)) from None


def _is_header(text: str) -> bool:
    """A first line naming its column ("phone", "Numéro", "MSISDN"): no digit, so no number."""
    return not any(char.isdigit() for char in text)


def _numbers(path: Path, default_region: str | None) -> tuple[set[str], list[tuple[int, str, str]], str | None]:
    """The first column of every line, normalised, the rejected lines, and the header (a first line with no
    digit) if there is one."""
    check_text(path)
    found: set[str] = set()
    bad: list[tuple[int, str, str]] = []
    header = None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, values in enumerate(csv.reader(handle), start=1):
            text = values[0].strip() if values else ""
            if not text:
                continue
            if not (found or bad or header) and _is_header(text):
                header = text
                continue
            try:
                found.add(normalise_number(text, default_region)[0])
            except ValueError as exc:
                bad.append((line, str(exc), text))
    return found, bad, header


def import_registry(session: Session, company: str, name: str, path: Path, now: datetime,
                    default_region: str | None = None) -> RegistryImport:
    """Replace the company's copy of registry ``name`` with ``path`` (one number per line, a header line
    allowed) and date it ``now``; national numbers are read in ``registry_region``'s country.

    A file with no valid number is refused and the old copy kept: an empty
    or wrong file would otherwise silently lift every suppression.
    """
    if name == OWN:
        raise InvalidInput("registry", f"{OWN!r} is the company's own list; give the registry's name")
    region = registry_region(name, default_region)
    found, bad, header = _numbers(path, region)
    if not found:
        found_none = f"{len(bad)} lines, none a valid number" if bad else "no numbers"
        raise InvalidInput("file", f"{path.name} has {found_none}; the copy of {name} was left as it was")
    session.execute(delete(DncEntry).where(DncEntry.company == company, DncEntry.source == name))
    session.execute(insert(cast(Table, DncEntry.__table__)), [
        {"company": company, "phone_e164": number, "source": name, "added_at": to_db(now)}
        for number in sorted(found)])
    session.merge(DncRegistry(company=company, name=name, refreshed_at=to_db(now), entries=len(found)))
    session.commit()
    rejects = None
    if bad:
        rejects = path.with_name(path.name + ".rejects.csv")
        with rejects.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([("line", "reason", "number"), *bad])
    return RegistryImport(name, len(found), len(bad), rejects, region, header)


def registries(session: Session, company: str) -> list[DncRegistry]:
    return list(session.scalars(select(DncRegistry).where(DncRegistry.company == company).order_by(DncRegistry.name)))


def stale_registries(session: Session, company: str, now: datetime,
                     max_age: timedelta = MAX_REGISTRY_AGE) -> list[tuple[str, datetime]]:
    """(name, refreshed_at) of the company's registry copies older than ``max_age``."""
    return [(r.name, _utc(r.refreshed_at)) for r in registries(session, company)
            if now - _utc(r.refreshed_at) > max_age]

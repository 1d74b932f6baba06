"""A person's data on request and over time: erasure, a company's retention period, and sealing a clear store.

Why erasure keeps what it keeps: a DNC request must outlive the person's
erasure (else the next list bought brings them back), so the DNC entry
stays as the blind index alone (``lists.sealing``); and the attempt
records prove each call was lawful (the abandonment rate, the calling
hours), so they stay for the profile's ``record_days``. They hold no name
or number: the lead row they hang on keeps only its blind index, status
and counts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.orm import Session

from lists.audit import record
from lists.companies import get_company
from lists.jurisdictions import PROFILES
from lists.lifecycle import LeadStatus, move_lead
from lists.models import Attempt, AuditAction, Campaign, DncEntry, Lead, to_db
from lists.numbers import mask_number
from lists.sealing import ERASED, Sealer, SealError, SealMode, person_key
from lists.store import upgrade
from pacing.errors import InvalidInput

__all__ = ["Erasure", "erase_person", "set_retention", "purge_expired", "Sealing", "encrypt_store"]


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed and what it kept, and until when the kept attempt records must stay."""

    leads: int  # leads whose name, number and fields were removed
    dnc_entries: int  # DNC entries kept as the blind index alone
    attempts: int  # attempt records kept (no name or number in them)
    kept_until: date | None  # the latest attempt plus the longest record period of its campaigns' profiles

    def line(self, shown: str) -> str:
        kept = f"kept {self.dnc_entries} DNC entries (as a blind index) and {self.attempts} attempt records"
        until = f" until {self.kept_until} (the rules profile's record period)" if self.kept_until else ""
        return f"erased {shown}: {self.leads} leads' name, number and fields removed; {kept}{until}"


def _erase_leads(leads: list[Lead]) -> None:
    for lead in leads:
        lead.status = move_lead(lead.status, LeadStatus.ERASED, lead.id)
        lead.phone_e164, lead.name, lead.fields, lead.zones, lead.callback_owner = ERASED, None, {}, "", None


def _kept_until(session: Session, leads: list[Lead]) -> tuple[int, date | None]:
    """How many attempts the leads have, and the day the last of them may go."""
    ids = [lead.id for lead in leads]
    count, last = session.execute(select(func.count(), func.max(Attempt.dialled_at))
                                  .where(Attempt.lead_id.in_(ids))).one() if ids else (0, None)
    if last is None:
        return 0, None
    profiles = session.scalars(select(Campaign.rules_profile).where(
        Campaign.id.in_({lead.campaign_id for lead in leads})))
    days = max(PROFILES[name].record_days for name in profiles)
    return int(count), (last + timedelta(days=days)).date()


def erase_person(session: Session, company: str, e164: str, now: datetime, actor: str) -> Erasure:
    """Erase a person (their E.164 number) from ``company``'s campaigns, and audit it; the caller commits.

    InvalidInput naming ``number`` while a call to them is being placed:
    the call's result would write into the lead after the erasure."""
    key = person_key(session, e164)
    leads = list(session.scalars(select(Lead).join(Campaign, Campaign.id == Lead.campaign_id).where(
        Campaign.company == company, Lead.phone_key == key, Lead.status != LeadStatus.ERASED)))
    if any(lead.status == LeadStatus.CLAIMED for lead in leads):
        raise InvalidInput("number", f"a call to {mask_number(e164)} is being placed; erase it after the call")
    attempts, kept_until = _kept_until(session, leads)
    _erase_leads(leads)
    listed = session.execute(update(DncEntry).where(DncEntry.company == company, DncEntry.phone_key == key)
                             .values(phone_e164=ERASED).execution_options(synchronize_session=False))
    erasure = Erasure(len(leads), listed.rowcount, attempts, kept_until)  # type: ignore[attr-defined]
    record(session, actor, AuditAction.ERASE, now, company=company, number=mask_number(e164), leads=erasure.leads,
           dnc_entries=erasure.dnc_entries, attempts=attempts, kept_until=str(kept_until or ""))
    return erasure


def _shortest_retention(session: Session, company: str) -> int:
    profiles = set(session.scalars(select(Campaign.rules_profile).where(Campaign.company == company))) or set(PROFILES)
    return max(PROFILES[name].record_days for name in profiles)


def set_retention(session: Session, company: str, days: int | None, now: datetime, actor: str) -> None:
    """Keep ``company``'s lead data ``days`` after each lead's last call (None: until erased on request).

    InvalidInput naming ``days`` below the longest record period of its
    campaigns' profiles: lead data kept shorter would orphan the records
    that prove those calls were lawful."""
    shortest = _shortest_retention(session, company)
    if days is not None and days < shortest:
        raise InvalidInput("days", f"{days} is shorter than the record period of {company}'s rules profiles "
                                   f"({shortest} days); give at least that")
    get_company(session, company).retention_days = days
    record(session, actor, AuditAction.PURGE, now, company=company, retention_days=days)


def _expired(session: Session, campaign: Campaign, days: int, now: datetime) -> list[Lead]:
    """The campaign's leads whose last call (or, never dialled, the time they came due) is ``days`` old."""
    last_call = (select(func.max(Attempt.dialled_at)).where(Attempt.lead_id == Lead.id).scalar_subquery())
    since = func.coalesce(last_call, Lead.next_at)
    return list(session.scalars(select(Lead).where(
        Lead.campaign_id == campaign.id, Lead.status.not_in([LeadStatus.ERASED, LeadStatus.CLAIMED]),
        since < to_db(now - timedelta(days=days)))))


def purge_expired(session: Session, now: datetime, actor: str) -> dict[str, int]:
    """Erase the lead data each company keeps no longer (its retention, never under its profile's record
    period); DNC entries and attempt records stay. Company → leads purged; the caller commits."""
    purged: dict[str, int] = {}
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
        retention = get_company(session, campaign.company).retention_days
        if retention is None:
            continue
        leads = _expired(session, campaign, max(retention, PROFILES[campaign.rules_profile].record_days), now)
        _erase_leads(leads)
        purged[campaign.company] = purged.get(campaign.company, 0) + len(leads)
    for company, count in purged.items():
        record(session, actor, AuditAction.PURGE, now, company=company, leads=count)
    return purged


_KEYED_ONLY = ("consent", "consent_withdrawal", "customer_relationship")
"""Tables that find a person by blind index alone, with nothing to seal (``lists.consent``): sealing re-keys them."""


@dataclass(frozen=True)
class Sealing:
    """What ``encrypt_store`` sealed."""

    leads: int
    dnc_entries: int


def _seal_rows(connection: Connection, sealer: Sealer, table: str, columns: tuple[str, ...],
               indexed: bool = True) -> int:
    """Seal ``columns`` of every row of ``table`` and, when it is ``indexed``, re-key its ``phone_key``."""
    keyed = ("phone_key",) if indexed else ()
    rows = connection.execute(text(f"SELECT {', '.join(('id', *keyed, *columns))} FROM {table}")).all()
    sets = ", ".join(f"{column} = :{column}" for column in (*keyed, *columns))
    if rows:
        connection.execute(text(f"UPDATE {table} SET {sets} WHERE id = :id"), [
            {"id": row[0], **({"phone_key": sealer.rekeyed(row[1])} if indexed else {}),
             **{column: None if value is None else sealer.seal(value, f"{table}.{column}")
                for column, value in zip(columns, row[1 + len(keyed):], strict=True)}} for row in rows])
    return len(rows)


def encrypt_store(engine: Engine, key: bytes) -> Sealing:
    """Seal a clear store's numbers and names with ``key`` and re-key its blind index, in one transaction.

    Why re-key rather than recompute: an erased person's DNC entry has no
    number left to index again, but its clear index re-keys all the same
    (``Sealer.rekeyed``), so it still matches the number."""
    upgrade(engine, seal=False)
    with engine.begin() as connection:
        mode, salt = connection.execute(text("SELECT mode, index_salt FROM store_seal WHERE id = 1")).one()
        if mode != SealMode.CLEAR:
            raise SealError("the store is encrypted already")
        sealer = Sealer.sealing(base64.b64decode(salt), key)
        sealing = Sealing(_seal_rows(connection, sealer, "lead", ("phone_e164", "name")),
                          _seal_rows(connection, sealer, "dnc_entry", ("phone_e164",)))
        _seal_rows(connection, sealer, "app_user", ("totp_secret",), indexed=False)
        for table in _KEYED_ONLY:
            _seal_rows(connection, sealer, table, ())
        connection.execute(text("UPDATE store_seal SET mode = :mode, key_check = :check WHERE id = 1"),
                           {"mode": SealMode.AES_GCM.value, "check": sealer.check()})
    return sealing

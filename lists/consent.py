"""Consent to be called, per person and company: given for a purpose, through a channel, with its proof, until it
expires or the person withdraws it; and the customer relationship the Netherlands accept in its place.

Why per company and person, not per lead: consent binds the company that
received it, in every one of its campaigns, and so does a withdrawal, at
once. A person is the blind index of their E.164 number within a company
(``lists.sealing.person_key``), so none of these rows holds a number.

A consent holds at ``now`` when it was given by then, has not expired, and
was given after the person's last withdrawal for that purpose (or for every
purpose). Withdrawals are rows of their own (``ConsentWithdrawal``): a
person may object with no consent on file, and a consent dated before their
objection, imported later, must not revive it. ``consent_states`` answers
the claim for a batch of people in two queries.

A list brings consent in columns (``IMPORT_COLUMNS``); ``imported`` reads
a row's, and ``record_imported`` stores a batch of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, literal_column, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from lists.models import (
    Consent,
    ConsentChannel,
    ConsentWithdrawal,
    CustomerRelationship,
    as_utc,
    to_db,
)
from lists.purposes import Purpose
from lists.sealing import person_key
from pacing.errors import InvalidInput

__all__ = ["ConsentState", "NO_CONSENT", "consent_states", "GivenConsent", "Relationship", "ImportedConsent",
           "give_consent", "withdraw_consent", "PersonConsent", "person_consent", "IMPORT_COLUMNS", "imported",
           "record_imported", "moment", "day"]

IMPORT_COLUMNS = ("consent_purpose", "consent_channel", "consent_given_at", "consent_expires_at", "consent_proof",
                  "consent_how", "customer_since", "customer_until")
"""A list's optional columns that become consent and customer-relationship rows, not lead fields."""
_REQUIRED = ("consent_purpose", "consent_channel", "consent_given_at")
_TEXT_MAX = 200  # characters of ``how`` and ``proof``


@dataclass(frozen=True)
class ConsentState:
    """A person's standing with a company for one purpose at a moment, as the claim asks about it.

    ``valid``: a consent given by then, not expired, given after the last
    withdrawal; ``given_at``: the latest consent given by then and not
    expired (withdrawn since or not); ``withdrawn_at``: the person's last
    withdrawal for this purpose or every purpose (None: never);
    ``customer_until``: the last day they were a customer (None: never),
    for the Netherlands' 3 years."""

    valid: bool
    given_at: datetime | None = None
    withdrawn_at: datetime | None = None
    customer_until: date | None = None


    def why_not(self) -> str:
        """Why this consent is not in force, in words ("" when it is)."""
        if self.valid:
            return ""
        if self.withdrawn_at is not None:
            return f"withdrawn {self.withdrawn_at:%Y-%m-%d %H:%M} UTC"
        return "none given, or it expired"


NO_CONSENT = ConsentState(valid=False)

_GIVEN, _WITHDRAWN = "given", "withdrawn"


def consent_states(session: Session, company: str, keys: Collection[str], purpose: Purpose,
                   now: datetime) -> dict[str, ConsentState]:
    """Each of ``keys`` (people's blind indexes, ``Lead.phone_key``) with its ``ConsentState`` for ``purpose`` at
    ``now`` in ``company``; a person with no record gets ``NO_CONSENT``.

    Two queries whatever the batch: the latest consent in force and the
    latest withdrawal per person (one UNION), then the relationships.
    Every withdrawal counts, even one stamped after ``now`` (another
    daemon's clock): the cautious reading."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    at = to_db(now)
    given = (select(Consent.phone_key, _kind(_GIVEN), Consent.given_at)
             .where(Consent.company == company, Consent.phone_key.in_(wanted), Consent.purpose == purpose,
                    Consent.given_at <= at, (Consent.expires_at.is_(None)) | (Consent.expires_at > at)))
    withdrawn = (select(ConsentWithdrawal.phone_key, _kind(_WITHDRAWN), ConsentWithdrawal.withdrawn_at)
                 .where(ConsentWithdrawal.company == company, ConsentWithdrawal.phone_key.in_(wanted),
                        ConsentWithdrawal.purpose.is_(None) | (ConsentWithdrawal.purpose == purpose)))
    latest: dict[tuple[str, str], datetime] = {}
    for key, kind, when in session.execute(union_all(given, withdrawn)).all():
        latest[key, kind] = max(latest.get((key, kind), when), when)
    customers = dict(session.execute(select(CustomerRelationship.phone_key, CustomerRelationship.customer_until)
                                     .where(CustomerRelationship.company == company,
                                            CustomerRelationship.phone_key.in_(wanted))).all())
    return {key: _state(latest.get((key, _GIVEN)), latest.get((key, _WITHDRAWN)), customers.get(key))
            for key in wanted}


def _kind(word: str) -> ColumnClause[str]:
    """A constant column naming a UNION branch, as SQL text rather than a bound parameter of no stated type."""
    return literal_column(f"'{word}'", String)


def _state(given: datetime | None, withdrawn: datetime | None, customer_until: date | None) -> ConsentState:
    valid = given is not None and (withdrawn is None or given > withdrawn)
    return ConsentState(valid, as_utc(given), as_utc(withdrawn), customer_until)


@dataclass(frozen=True)
class GivenConsent:
    """A consent as a person gave it (aware UTC times): for ``purpose``, through ``channel``, described by ``how``,
    proved by ``proof`` (a form id, a recording's name), ending at ``expires_at`` (None: until withdrawn)."""

    purpose: Purpose
    channel: ConsentChannel
    given_at: datetime
    how: str = ""
    proof: str | None = None
    expires_at: datetime | None = None

    def problem(self, now: datetime) -> tuple[str, str] | None:
        """(field, why) when this consent cannot be recorded at ``now``; None when it can."""
        if self.given_at > now:
            return "given_at", f"{self.given_at:%Y-%m-%d %H:%M} UTC is in the future"
        if self.expires_at is not None and self.expires_at <= self.given_at:
            return "expires_at", "must be after the consent was given"
        for field, text in (("how", self.how), ("proof", self.proof or "")):
            if len(text) > _TEXT_MAX:
                return field, f"at most {_TEXT_MAX} characters"
        return None


@dataclass(frozen=True)
class Relationship:
    """A customer relationship: since a day (None: not known) until a day (its end, or a day it still held)."""

    customer_since: date | None
    customer_until: date


def _checked(consent: GivenConsent, now: datetime) -> None:
    problem = consent.problem(now)
    if problem is not None:
        raise InvalidInput(*problem)


def give_consent(session: Session, company: str, e164: str, consent: GivenConsent, now: datetime, by: str) -> bool:
    """Record the consent of the person ``e164`` to ``company``'s calls (the caller commits); False when that very
    consent (purpose, channel, moment) is recorded already. InvalidInput naming the field if it cannot hold."""
    _checked(consent, now)
    return record_imported(session, company, [(person_key(session, e164), ImportedConsent(consent))], now, by) == 1


def withdraw_consent(session: Session, company: str, e164: str, now: datetime, by: str,
                     purpose: Purpose | None = None, how: str = "") -> None:
    """The person ``e164`` withdraws their consent to ``company``'s calls for ``purpose`` (None: every purpose), at
    ``now``, in every campaign at once (the caller commits)."""
    session.add(ConsentWithdrawal(company=company, phone_key=person_key(session, e164), purpose=purpose,
                                  withdrawn_at=to_db(now), how=how, recorded_by=by))


@dataclass(frozen=True)
class PersonConsent:
    """Everything a company holds of one person's consent, for ``dialer consent show`` and the API's check:
    their consents and withdrawals, oldest first, their relationship, and their state per purpose at a moment."""

    consents: list[Consent]
    withdrawals: list[ConsentWithdrawal]
    relationship: Relationship | None
    states: dict[Purpose, ConsentState]

    def lines(self, person: str) -> list[str]:
        """What ``dialer consent show`` prints; ``person`` names them (a masked number), never the number."""
        out = [f"{person}, now:"]
        for purpose, state in self.states.items():
            given = f", given {state.given_at:%Y-%m-%d %H:%M} UTC" if state.given_at else ""
            out.append(f"  {purpose.value:<11} {'valid' if state.valid else 'no: ' + state.why_not()}{given}")
        if self.relationship:
            since = f" (since {self.relationship.customer_since})" if self.relationship.customer_since else ""
            out.append(f"  customer until {self.relationship.customer_until}{since}")
        out += [f"consent {c.purpose.value} given {c.given_at:%Y-%m-%d %H:%M} UTC by {c.channel.value}"
                f"{_shown(' expires ', c.expires_at)}{_shown(' how: ', c.how)}{_shown(' proof: ', c.proof)}"
                f" (recorded by {c.recorded_by})" for c in self.consents]
        out += [f"withdrawn {w.withdrawn_at:%Y-%m-%d %H:%M} UTC: {w.purpose.value if w.purpose else 'every purpose'}"
                f"{_shown(' how: ', w.how)} (recorded by {w.recorded_by})" for w in self.withdrawals]
        return out


def _shown(label: str, value: object) -> str:
    if not value:
        return ""
    return f"{label}{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else f"{label}{value}"


def person_consent(session: Session, company: str, e164: str, now: datetime) -> PersonConsent:
    key = person_key(session, e164)
    consents = list(session.scalars(select(Consent).where(Consent.company == company, Consent.phone_key == key)
                                    .order_by(Consent.given_at, Consent.id)))
    withdrawals = list(session.scalars(select(ConsentWithdrawal).where(
        ConsentWithdrawal.company == company, ConsentWithdrawal.phone_key == key)
        .order_by(ConsentWithdrawal.withdrawn_at, ConsentWithdrawal.id)))
    row = session.scalar(select(CustomerRelationship).where(CustomerRelationship.company == company,
                                                            CustomerRelationship.phone_key == key))
    states = {purpose: consent_states(session, company, [key], purpose, now)[key] for purpose in Purpose}
    relationship = None if row is None else Relationship(row.customer_since, row.customer_until)
    return PersonConsent(consents, withdrawals, relationship, states)


# ---- a list's consent columns ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedConsent:
    """What one row of a list says of its person's consent and customer relationship (either may be None)."""

    consent: GivenConsent | None = None
    relationship: Relationship | None = None


def moment(text: str) -> datetime:
    """An ISO 8601 day (``2026-03-01``: its start, UTC) or moment (``2026-03-01T09:30+01:00``; no offset: UTC) as
    an aware UTC datetime; ValueError otherwise."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a day or moment (YYYY-MM-DD or YYYY-MM-DDTHH:MM[+HH:MM]): {text!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def day(text: str) -> date:
    """An ISO 8601 day (``2026-03-01``), or a month or a year (``2026-03``, ``2026``: its first day, as lists
    often give "customer since 2022"); ValueError otherwise."""
    for shape, first in ((r"\d{4}", "-01-01"), (r"\d{4}-\d{2}", "-01")):
        if re.fullmatch(shape, text):
            text += first
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a day (YYYY-MM-DD, YYYY-MM or YYYY): {text!r}") from None


def _word(enum: type[Any], column: str, text: str) -> Any:
    try:
        return enum(text.lower())
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not one of {', '.join(m.value for m in enum)}") from None


def _parsed(row: Mapping[str, str], column: str, parse: Callable[[str], Any]) -> Any:
    """The column's value parsed, None when its cell is empty; ValueError naming the column."""
    text = row.get(column)
    try:
        return parse(text) if text else None
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


def imported(row: Mapping[str, str], now: datetime, how: str) -> ImportedConsent | str | None:
    """A row's consent and relationship (``IMPORT_COLUMNS``, cells stripped), or why they cannot be recorded
    (``column: why``), or None when the row has none. ``how``: the consent's source when ``consent_how`` is
    empty (the file's name). A relationship with no end is taken to hold on ``now``'s day: the day the list
    said so, the cautious reading."""
    try:
        consent = _consent(row, now, how)
        relationship = _relationship(_parsed(row, "customer_since", day), _parsed(row, "customer_until", day), now)
    except ValueError as exc:
        return str(exc)
    return ImportedConsent(consent, relationship) if consent or relationship else None


def _consent(row: Mapping[str, str], now: datetime, how: str) -> GivenConsent | None:
    if not any(row.get(column) for column in IMPORT_COLUMNS[:6]):
        return None
    missing = [column for column in _REQUIRED if not row.get(column)]
    if missing:
        raise ValueError(f"{missing[0]}: a consent needs {', '.join(_REQUIRED)}")
    given = GivenConsent(_word(Purpose, "consent_purpose", row["consent_purpose"]),
                         _word(ConsentChannel, "consent_channel", row["consent_channel"]),
                         _parsed(row, "consent_given_at", moment), row.get("consent_how") or how,
                         row.get("consent_proof") or None, _parsed(row, "consent_expires_at", moment))
    problem = given.problem(now)
    if problem is not None:
        raise ValueError(f"consent_{problem[0]}: {problem[1]}")
    return given


def _relationship(since: date | None, until: date | None, now: datetime) -> Relationship | None:
    if since is None and until is None:
        return None
    today = now.astimezone(UTC).date()
    if since is not None and since > today:
        raise ValueError(f"customer_since: {since} is in the future")
    end = min(until or today, today)
    if since is not None and end < since:
        raise ValueError("customer_until: before customer_since")
    return Relationship(since, end)


def record_imported(session: Session, company: str, rows: Sequence[tuple[str, ImportedConsent]], now: datetime,
                    by: str) -> int:
    """Store the consents and relationships of ``rows`` ((blind index, what its row said) each) for ``company``,
    not committed; returns how many consents were new.

    A consent recorded before (same person, purpose, channel and moment) is
    not recorded twice, so a list imported again adds nothing; a known
    relationship widens to the earliest start and the latest day."""
    keys = sorted({key for key, _ in rows})
    if not keys:
        return 0
    known = {tuple(row) for row in session.execute(
        select(Consent.phone_key, Consent.purpose, Consent.channel, Consent.given_at)
        .where(Consent.company == company, Consent.phone_key.in_(keys)))}
    added = 0
    for key, row in rows:
        given = row.consent
        if given is None or (key, given.purpose, given.channel, to_db(given.given_at)) in known:
            continue
        known.add((key, given.purpose, given.channel, to_db(given.given_at)))
        session.add(Consent(company=company, phone_key=key, purpose=given.purpose, channel=given.channel,
                            given_at=to_db(given.given_at), how=given.how, proof=given.proof,
                            expires_at=to_db(given.expires_at), recorded_at=to_db(now), recorded_by=by[:80]))
        added += 1
    _relate(session, company, [(key, row.relationship) for key, row in rows if row.relationship], keys)
    return added


def _relate(session: Session, company: str, rows: list[tuple[str, Relationship]], keys: list[str]) -> None:
    stored = {row.phone_key: row for row in session.scalars(select(CustomerRelationship).where(
        CustomerRelationship.company == company, CustomerRelationship.phone_key.in_(keys)))}
    for key, relation in rows:
        row = stored.get(key)
        if row is None:
            row = stored[key] = CustomerRelationship(company=company, phone_key=key,
                                                     customer_since=relation.customer_since,
                                                     customer_until=relation.customer_until)
            session.add(row)
            continue
        starts = [d for d in (row.customer_since, relation.customer_since) if d is not None]
        row.customer_since = min(starts) if starts else None
        row.customer_until = max(row.customer_until, relation.customer_until)

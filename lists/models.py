"""The store's tables as typed SQLAlchemy 2.0 models.

Times are stored as naive UTC (SQLite has no time zone type); ``as_utc``
turns them back into aware datetimes for the rules. The attempt ledger is
append-only: rows are inserted, never deleted, and updated in one case
only: a takeover's "interrupted" placeholder is replaced once by the real
result of that very dial, which the paused owner handed over
(``AttemptHandover``, ``lists.handover``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, overload

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    UniqueConstraint,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from dialer.records import Outcome
from lists.lifecycle import CampaignState, LeadStatus, Presence
from lists.numbers import country_of
from lists.purposes import Purpose
from lists.sealing import Sealed, key_default, sealer_of
from pacing.days import local_midnight
from pacing.ledger import DayAnswers
from pacing.registry import PolicyName

__all__ = ["Base", "Company", "CompanyMember", "DEFAULT_COMPANY", "Campaign", "Lead", "insert_new_leads", "Attempt",
           "answers_by_day", "DncEntry", "DncRegistry", "StoreSeal",
           "as_utc", "to_db", "User", "ApiToken", "CampaignGrant", "LeadView",
           "CampaignLease", "ClusterMember", "Word", "PresenceEvent", "AuditAction", "ViewPurpose", "AuditEvent",
           "HandoverResult", "AttemptHandover", "ledger_days", "Scorecard", "ScorecardCriterion", "QualityScore",
           "QualityAnswer", "region_default", "ConsentChannel", "Consent", "ConsentWithdrawal", "CustomerRelationship"]

CAMPAIGN_KINDS = ("loan-offer", "tariff-switch", "survey", "payment-reminder", "debt-collection")
DEFAULT_COMPANY = "default"  # the company of a store made before companies were objects, and of a one-firm store
DUE_ANY_TIME = datetime(2000, 1, 1)  # a lead's next_at when nothing holds it back (naive UTC, like every stored time)


@overload
def to_db(moment: datetime) -> datetime: ...
@overload
def to_db(moment: None) -> None: ...
def to_db(moment: datetime | None) -> datetime | None:
    """Aware datetime → naive UTC for storage."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def as_utc(moment: datetime | None) -> datetime | None:
    """Stored naive UTC → aware datetime."""
    return None if moment is None else moment.replace(tzinfo=UTC)


_E = TypeVar("_E", bound=StrEnum)


class Word(TypeDecorator[_E]):
    """A domain word (``StrEnum``: a lead's status, a campaign's state, an attempt's outcome, a policy's name)
    stored as its string: rows read back as members, and a value that is no member is refused before it
    reaches the store. The column stays a plain VARCHAR, so the schema is unchanged."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[_E], length: int) -> None:
        super().__init__(length)
        self.enum, self.length = enum, length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> _E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Company(Base):
    """A tenant: it owns campaigns and DNC lists, and its members see nothing of another company's.

    Why an object and not only a name on each campaign: with a bare name, anyone who could create a campaign
    could name any company in it and reach that company's DNC list. ``name`` is what campaigns and DNC rows
    carry (``campaign.company`` is a foreign key to it), so every existing query by company stays as it was.
    """

    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # lead data kept this long after its last call


class CompanyMember(Base):
    """A user belonging to a company: the companies whose campaigns, DNC lists and people the user may reach
    (as far as their role allows: ``dialer.service.users``)."""

    __tablename__ = "company_member"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True)


class Campaign(Base):
    """A campaign: what is offered, how it is dialled and which rules bind it.

    ``fresh_share`` is the fraction of each claim (after due callbacks)
    reserved for fresh leads, so retries cannot starve a new list; 0 means
    strict priority, retries first.

    ``pacing_params`` are the dial mode's own parameters (``safety`` for
    predictive, ``ratio`` for power: ``pacing.registry.POLICIES``), typed and
    checked by ``lists.campaigns``; {} dials on the policy's defaults. They
    are what a scenario's ``[pacing]`` table holds, so what an analyst tunes
    in the simulator is what the daemon dials with.
    """

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    company: Mapped[str] = mapped_column(String(120), ForeignKey("company.name", name="fk_campaign_company"),
                                         default=DEFAULT_COMPANY)
    kind: Mapped[str] = mapped_column(String(32))
    dial_mode: Mapped[PolicyName] = mapped_column(Word(PolicyName, 16), default=PolicyName.PROGRESSIVE)
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    rules_profile: Mapped[str] = mapped_column(String(16), default="us")
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    caller_id: Mapped[str | None] = mapped_column(String(32))
    retry_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    catalogue: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fresh_share: Mapped[float] = mapped_column(Float, default=0.0)
    pacing_params: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    countries: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")  # ISO codes it may call
    # running: the daemon dials it within its hours (what the CLI creates); the API creates it initialized
    state: Mapped[CampaignState] = mapped_column(Word(CampaignState, 16), default=CampaignState.RUNNING,
                                                 server_default=CampaignState.RUNNING.value)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # optimistic concurrency


def region_default(context: Any) -> str | None:
    """A lead's country when none is given: its number's (``lists.numbers.country_of``), whose rules it is
    dialled under."""
    return country_of(context.get_current_parameters()["phone_e164"])


class Lead(Base):
    """One person to call in one campaign. ``zones`` lists every candidate time zone, comma-separated.

    ``next_at`` is when the lead may next be considered: a retry's due time,
    a callback's appointment, or the moment its window opens.
    """

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_key", name="uq_lead_campaign_person"),
        Index("ix_lead_person", "phone_key"),  # one person's contacts across the company's campaigns
        Index("ix_lead_queue", "campaign_id", "status", "next_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    phone_e164: Mapped[str] = mapped_column(Sealed("lead.phone_e164"))  # "" once erased
    phone_key: Mapped[str] = mapped_column(String(32), default=key_default)  # the person: lists.sealing
    name: Mapped[str | None] = mapped_column(Sealed("lead.name"))
    region: Mapped[str | None] = mapped_column(String(3), default=region_default)  # ISO 3166, 001: non-geographic
    zones: Mapped[str] = mapped_column(String(1000), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[LeadStatus] = mapped_column(Word(LeadStatus, 16), default=LeadStatus.NEW)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime, default=DUE_ANY_TIME)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    dial_started_at: Mapped[datetime | None] = mapped_column(DateTime)  # the daemon's write-ahead dial mark
    claim_token: Mapped[int | None] = mapped_column(BigInteger)  # the campaign lease's fencing token at the claim
    callback_owner: Mapped[str | None] = mapped_column(String(64))
    last_disposition: Mapped[str | None] = mapped_column(String(48))
    refusal_reason: Mapped[str | None] = mapped_column(String(48))
    last_abandoned_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_refusal_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def zone_list(self) -> tuple[str, ...]:
        return tuple(z for z in self.zones.split(",") if z)


_IMPORT_COLUMNS = ("campaign_id", "phone_e164", "phone_key", "name", "region", "zones", "fields", "status", "attempts",
                   "priority", "next_at")


def insert_new_leads(session: Session, campaign_id: int, next_at: datetime,
                     rows: Sequence[tuple[str, str | None, str, str, str]],
                     status: LeadStatus = LeadStatus.NEW) -> None:
    """Insert fresh leads: (E.164, name, region, zones, fields as JSON text) each, due from ``next_at``, in
    ``status`` (``NO_WINDOW`` for leads the campaign's window never opens for).

    Why one prepared statement and plain tuples: SQLAlchemy's per-row
    parameter processing was half an import's cost in the parent process.
    The fields arrive already encoded (the import's workers do it) and the
    due time passes through its column type's bind processor once; the
    number and the name are sealed here, as their ``Sealed`` type would.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    process = Lead.__table__.c.next_at.type.dialect_impl(dialect).bind_processor(dialect)
    due = process(next_at) if process else next_at
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO lead ({', '.join(_IMPORT_COLUMNS)}) "
           f"VALUES ({', '.join([marker] * len(_IMPORT_COLUMNS))})")
    sealer = sealer_of(dialect)
    connection.exec_driver_sql(sql, [
        (campaign_id, sealer.seal(phone, "lead.phone_e164"), sealer.key_of(phone),
         None if name is None else sealer.seal(name, "lead.name"), *rest, status.value, 0, 0, due)
        for phone, name, *rest in rows])


class Attempt(Base):
    """The append-only ledger: one row per dial, with every moment regulators ask for."""

    __tablename__ = "attempt"
    __table_args__ = (Index("ix_attempt_lead", "lead_id", "dialled_at"),
                      Index("ix_attempt_campaign_dialled", "campaign_id", "dialled_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    dialled_at: Mapped[datetime] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    amd_result: Mapped[str | None] = mapped_column(String(16))
    amd_end_at: Mapped[datetime | None] = mapped_column(DateTime)
    connected_at: Mapped[datetime | None] = mapped_column(DateTime)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    message_played: Mapped[str | None] = mapped_column(String(64))
    hangup_at: Mapped[datetime | None] = mapped_column(DateTime)
    caller_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[Outcome] = mapped_column(Word(Outcome, 24))
    disposition: Mapped[str | None] = mapped_column(String(48))
    refusal_reason: Mapped[str | None] = mapped_column(String(48))
    agent: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_token: Mapped[int | None] = mapped_column(BigInteger)  # the fencing token it was written under
    greeting_end_at: Mapped[datetime | None] = mapped_column(DateTime)  # the connect limit counts from here
    message_at: Mapped[datetime | None] = mapped_column(DateTime)  # the safe-harbour message started
    recording: Mapped[str | None] = mapped_column(String(255))  # its file's name under the recordings folder
    recording_error: Mapped[str | None] = mapped_column(String(80))  # why the recording did not start


_RING_LIMIT = timedelta(hours=1)  # no attempt rings longer: how far before a day its answers may have been dialled


def answers_by_day(session: Session, campaign_id: int, day_starts: Sequence[datetime],
                   attempt_ids: Collection[int] | None = None) -> list[DayAnswers]:
    """The campaign's answers in each day from ``day_starts[i]`` to ``day_starts[i + 1]`` (aware datetimes, a
    day's local midnight), by answer time, as the abandonment ledger counts them (``pacing.ledger.DayAnswers``);
    ``attempt_ids``: only those attempts (None: all).

    Why: a daemon that (re)starts a campaign must not forget the abandons it
    already spent today (the UK cap is per day) or in the last 30 days (the US
    rule); the ledger is the record of them. One grouped query, bounded by the
    campaign's dial-time index. The owner counts the results a paused owner
    handed over (``lists.handover``) with the same query, on their ids."""
    bounds = [to_db(start) for start in day_starts]
    day = case(*((Attempt.answered_at < end, index) for index, end in enumerate(bounds[1:])))
    agent_machine = and_(Attempt.outcome == Outcome.MACHINE, Attempt.connected_at.is_not(None))
    counted = (or_(Attempt.outcome.in_((Outcome.HUMAN, Outcome.ABANDONED)), agent_machine),
               Attempt.outcome == Outcome.ABANDONED,
               and_(Attempt.outcome == Outcome.MACHINE, Attempt.amd_result == "machine"),
               agent_machine,
               and_(Attempt.outcome == Outcome.ABANDONED, Attempt.message_played.is_not(None)))
    rows = session.execute(
        select(day, *(func.sum(case((condition, 1), else_=0)) for condition in counted))
        .where(Attempt.campaign_id == campaign_id, Attempt.dialled_at >= bounds[0] - _RING_LIMIT,
               Attempt.dialled_at < bounds[-1], Attempt.answered_at >= bounds[0], Attempt.answered_at < bounds[-1],
               *(() if attempt_ids is None else (Attempt.id.in_(list(attempt_ids)),)))
        .group_by(day)).all()
    days = [DayAnswers() for _ in bounds[1:]]
    for index, *counts in rows:  # every answer falls in a day: the query keeps those within the bounds
        days[index] = DayAnswers(*(float(count) for count in counts))
    return days


def ledger_days(session: Session, campaign_id: int, zone: str, today: date, first: int,
                attempt_ids: Collection[int] | None = None) -> dict[int, DayAnswers]:
    """``answers_by_day`` for ``today`` and the 30 days before it (the US rule's reach) in the campaign's ``zone``,
    keyed as a run's ledger keys its days: the local date's ordinal less ``first``, the run's day 0
    (``dialer.service.ownership.epoch_day``). ``attempt_ids``: only those attempts."""
    dates = [today + timedelta(days=k) for k in range(-30, 2)]
    counted = answers_by_day(session, campaign_id, [local_midnight(d, zone) for d in dates], attempt_ids)
    return {d.toordinal() - first: answers for d, answers in zip(dates[:-1], counted, strict=True)}


class DncEntry(Base):
    """A suppressed number for a company, from its internal list or an imported registry."""

    __tablename__ = "dnc_entry"
    __table_args__ = (UniqueConstraint("company", "phone_key", "source", name="uq_dnc_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(120))
    phone_e164: Mapped[str] = mapped_column(Sealed("dnc_entry.phone_e164"))  # "" once the person is erased
    phone_key: Mapped[str] = mapped_column(String(32), default=key_default, index=True)
    source: Mapped[str] = mapped_column(String(64), default="internal")
    added_at: Mapped[datetime] = mapped_column(DateTime)


class ConsentChannel(StrEnum):
    """How a person gave their consent: what its proof is (Hungary asks for consent per channel)."""

    PHONE = "phone"  # said on a call, not recorded
    SMS = "sms"
    EMAIL = "email"
    WEB = "web"  # a web form's box ticked
    PAPER = "paper"  # a signed form
    RECORDED_CALL = "recorded_call"  # said on a recorded call: the recording is the proof


class Consent(Base):
    """A person's consent to be called by a company for one purpose (``lists.consent``): given at a moment, through
    a channel, with its proof, until it expires or the person withdraws it (``ConsentWithdrawal``).

    Why by ``phone_key`` and company, not by lead: consent binds the company
    that received it in all its campaigns, and a person is their E.164 number
    within a company (``lists.sealing``), so the row holds no number at all.
    (company, person, purpose, channel, given_at) is unique: a list imported
    twice records each consent once."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("company", "phone_key", "purpose", "channel", "given_at",
                                       name="uq_consent_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(120))
    phone_key: Mapped[str] = mapped_column(String(32), index=True)
    purpose: Mapped[Purpose] = mapped_column(Word(Purpose, 16))
    channel: Mapped[ConsentChannel] = mapped_column(Word(ConsentChannel, 16))
    given_at: Mapped[datetime] = mapped_column(DateTime)
    how: Mapped[str] = mapped_column(String(200), default="")  # the source in words: "web form loans-2026"
    proof: Mapped[str | None] = mapped_column(String(200))  # where the proof is: a form id, a recording's name
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))  # a user, ``cli:<account>`` or ``import:<file>``


class ConsentWithdrawal(Base):
    """A person taking back their consent to a company's calls: for one purpose, or every one (``purpose`` None).
    Append-only.

    Why a row of its own and not a date on each consent: a person may object
    with no consent on file (the objection in a call), and a consent dated
    before the withdrawal, imported afterwards, must still count as withdrawn.
    Consent holds only when given after the person's last withdrawal."""

    __tablename__ = "consent_withdrawal"

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(120))
    phone_key: Mapped[str] = mapped_column(String(32), index=True)
    purpose: Mapped[Purpose | None] = mapped_column(Word(Purpose, 16))
    withdrawn_at: Mapped[datetime] = mapped_column(DateTime)
    how: Mapped[str] = mapped_column(String(200), default="")  # "objected in a call", "letter of 3 May"
    recorded_by: Mapped[str] = mapped_column(String(80))


class CustomerRelationship(Base):
    """A person's customer relationship with a company: the Netherlands let a company call its customers of the
    last 3 years without consent (Telecommunicatiewet 11.7).

    ``customer_until`` is the last day the person is known to have been a
    customer: the relationship's end, or the day a list said they still were."""

    __tablename__ = "customer_relationship"
    __table_args__ = (UniqueConstraint("company", "phone_key", name="uq_customer_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(120))
    phone_key: Mapped[str] = mapped_column(String(32))
    customer_since: Mapped[date | None] = mapped_column(Date)
    customer_until: Mapped[date] = mapped_column(Date)


class StoreSeal(Base):
    """The one row saying how this store keeps personal data (``lists.sealing``): clear or sealed, the blind
    index's salt of a clear store, and the check that tells a sealed store's key from a wrong one."""

    __tablename__ = "store_seal"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    index_salt: Mapped[str] = mapped_column(String(64))
    key_check: Mapped[str | None] = mapped_column(String(64))


class DncRegistry(Base):
    """An imported DNC registry copy of a company and when it was refreshed (US: no older than 31 days)."""

    __tablename__ = "dnc_registry"

    company: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime)
    entries: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """An account of the API and the consoles. ``role``: agent, supervisor, manager, analyst or admin;
    ``password_hash``: scrypt (``dialer.service.users``), None for token-only accounts (CRMs, monitoring)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(Sealed("app_user.totp_secret"))  # base32; None: no 2nd factor
    totp_step: Mapped[int | None] = mapped_column(Integer)  # the last 30-second step a code was taken for
    trainee: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # in their first months
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", name="fk_app_user_mentor"))


class ApiToken(Base):
    """A bearer token or a console session, stored as its SHA-256 only (the token itself is 256 random bits,
    so a fast hash is enough: there is nothing to guess)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session
    label: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class CampaignGrant(Base):
    """A campaign an agent, supervisor or manager may see, always one of a company they belong to (admins and
    analysts see every campaign of their companies)."""

    __tablename__ = "campaign_grant"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)


class ViewPurpose(StrEnum):
    """Why a user saw a person's name or number (``LeadView.purpose``)."""

    LEAD_CARD = "lead_card"  # the agent's screen pop, or a supervisor opening a lead
    RECORDING = "recording"  # a call's recording was fetched
    CALLBACKS = "callbacks"  # a callback list showed the name or the whole number
    QUALITY = "quality"  # a call opened to be scored, or its scores reviewed (``lists.quality``)


class LeadView(Base):
    """The audit log of lead-card views: who saw which lead, when. Append-only, like the attempt ledger."""

    __tablename__ = "lead_view"
    __table_args__ = (Index("ix_lead_view_lead", "lead_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    viewed_at: Mapped[datetime] = mapped_column(DateTime)
    purpose: Mapped[ViewPurpose] = mapped_column(Word(ViewPurpose, 32), default=ViewPurpose.LEAD_CARD)


class AuditAction(StrEnum):
    """What someone did that an auditor asks about: personal data leaving the store, and changes to what
    the dialer does."""

    EXPORT = "export"  # a list or a DNC list written out, or an upload's rejects downloaded
    SETTINGS = "settings"  # a campaign created or its settings or catalogue changed
    CONTROL = "control"  # a campaign started, paused, resumed or stopped
    DNC_ADD = "dnc_add"
    DNC_REMOVE = "dnc_remove"
    USERS = "users"  # an account added, granted, given a token or revoked
    ERASE = "erase"  # a person's data erased on request (lists.privacy)
    PURGE = "purge"  # lead data past its company's retention removed, or the retention changed
    QUALITY = "quality"  # a call scored against its campaign's scorecard (``lists.quality``)
    CONSENT = "consent"  # a person's consent recorded or withdrawn
    CONSENT_READ = "consent_read"  # a person's consent records shown (by number)


class AuditEvent(Base):
    """The audit log of actions (``lists.audit``); reads of one person are ``LeadView`` rows. Append-only.
    ``actor``: a user name, or ``cli:<system user>`` for the command line; ``detail`` holds no raw number or
    name (numbers masked)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[AuditAction] = mapped_column(Word(AuditAction, 16))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PresenceEvent(Base):
    """The agents' log: one row each time an agent logs in, pauses (with its reason), is ready again or logs out,
    in a campaign. Append-only, like the attempt ledger: the agents report reads logged-in and paused time from
    it (``lists.presence``), talk and wrap-up from the attempts."""

    __tablename__ = "agent_event"
    __table_args__ = (Index("ix_agent_event_campaign_at", "campaign_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    agent: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    event: Mapped[Presence] = mapped_column(Word(Presence, 16))
    pause_reason: Mapped[str | None] = mapped_column(String(48))


class HandoverResult(StrEnum):
    """What applying a result handed over by a paused owner did (``lists.handover``)."""

    REPLACED = "replaced"  # its dial's "interrupted" placeholder replaced; the lead moved on by the real outcome
    CORRECTED = "corrected"  # placeholder replaced; the lead was dialled again since: its state is that dial's
    UNMATCHED = "unmatched"  # no "interrupted" attempt of that dial (its mark was refused: never dialled): no row


class AttemptHandover(Base):
    """A finished call's result the fence refused (its daemon was paused past its lease and another took the
    campaign over), kept for the campaign's current owner, who applies it with its own token (``lists.handover``).

    Why a table and not a ledger write: the old owner may not write the
    ledger any more, but a message to the owner needs no lease. ``dialled_at``
    is the dial's mark (naive UTC), equal to the ``dialled_at`` of the
    "interrupted" placeholder the takeover wrote for it: (lead, dial mark) is
    the dial's key, unique here, so a retried commit queues nothing twice.
    ``record``: the full ``AttemptRecord`` (``as_json``); ``token``: the one
    the fence refused; ``handed_at``, ``applied_at``: wall-clock UTC;
    ``applied_token``: the owner's token that applied it (None: a single
    daemon)."""

    __tablename__ = "attempt_handover"
    __table_args__ = (UniqueConstraint("lead_id", "dialled_at", name="uq_attempt_handover_dial"),
                      Index("ix_attempt_handover_pending", "campaign_id", "applied_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    dialled_at: Mapped[datetime] = mapped_column(DateTime)
    record: Mapped[dict[str, Any]] = mapped_column()
    token: Mapped[int] = mapped_column(BigInteger)
    handed_at: Mapped[datetime] = mapped_column(DateTime)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    applied_token: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[HandoverResult | None] = mapped_column(Word(HandoverResult, 16))


class CampaignLease(Base):
    """Which daemon dials a campaign (``dialer.service.cluster``): ``token`` grows at every takeover and fences every
    write; ``expires_at`` is judged by the database's clock; ``agents`` weighs the campaign for balance;
    ``pacing`` is the controller's memory, saved at intervals by the owner."""

    __tablename__ = "campaign_lease"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    token: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(DateTime, default=DUE_ANY_TIME, server_default="2000-01-01 00:00:00")
    agents: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    pacing: Mapped[bytes | None] = mapped_column(LargeBinary)
    pacing_saved_at: Mapped[datetime | None] = mapped_column(DateTime)


class ClusterMember(Base):
    """A daemon of the cluster: its heartbeat (database clock), the agents it dials for, and its drain flag."""

    __tablename__ = "cluster_member"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    agents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    draining: Mapped[bool] = mapped_column(Boolean, default=False)


class Scorecard(Base):
    """One version of a campaign's quality scorecard; its criteria are ``ScorecardCriterion`` rows.

    Why versions: setting a scorecard adds a version and never edits one, so
    a score keeps the criteria and weights it was given under, and an agent's
    old scores do not change meaning when a manager reweighs the card.
    ``created_by``: a user name, or ``cli:<system user>``."""

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("campaign_id", "version", name="uq_scorecard_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(80))


class ScorecardCriterion(Base):
    """What a scorer judges: ``weight`` (> 0) is its share of the score; a ``critical`` one failed zeroes the
    whole score (a mis-sold loan is not redeemed by a friendly greeting)."""

    __tablename__ = "scorecard_criterion"
    __table_args__ = (UniqueConstraint("scorecard_id", "code", name="uq_scorecard_criterion_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecard.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(48))
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)


class QualityScore(Base):
    """One scorer's score of one connected call (``lists.quality``): ``total`` 0-100, 0 when a critical
    criterion failed. ``agent`` and ``campaign_id`` are the attempt's, copied so the agents report reads
    scores by agent without joining the ledger. One score per scorer and call: several scorers of one call
    are a calibration."""

    __tablename__ = "quality_score"
    __table_args__ = (UniqueConstraint("attempt_id", "scorer_id", name="uq_quality_score_scorer"),
                      Index("ix_quality_score_campaign_agent", "campaign_id", "agent"))

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecard.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    agent: Mapped[str] = mapped_column(String(64))
    scorer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    scored_at: Mapped[datetime] = mapped_column(DateTime)
    total: Mapped[float] = mapped_column(Float)
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(String(1000))


class QualityAnswer(Base):
    """A score's judgement of one criterion: ``value`` from 0 (not met) to 1 (met), None: not applicable."""

    __tablename__ = "quality_answer"

    score_id: Mapped[int] = mapped_column(ForeignKey("quality_score.id"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("scorecard_criterion.id"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)

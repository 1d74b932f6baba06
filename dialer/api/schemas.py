"""The API's request and response bodies as pydantic v2 models: they are the OpenAPI spec's schemas.

Why named models everywhere: the spec is what CRMs and the consoles code
against, and schemathesis checks every answer against it. Limits (lengths,
ranges) live here so a bad request is refused with a 422 naming the field
before any handler runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
)

from dialer.service.floor import Sample
from dialer.service.schedule import Speeds
from lists.idle import Reason, Why
from lists.lifecycle import CampaignState
from lists.models import ConsentChannel
from lists.purposes import Purpose
from pacing.registry import POLICIES, Param, PolicyName

__all__ = ["ErrorOut", "LoginIn", "MeOut", "AgentLoginIn", "PauseIn", "AgentStatusOut", "AgentEvent", "AttemptView",
           "Question", "LeadCard", "Order", "CallbackOwner", "DispositionIn", "DispositionOut", "CampaignState",
           "CampaignIn", "CampaignPatch", "ReasonOut", "CampaignOut", "CatalogueOut", "ImportOut", "DncIn", "DncOut",
           "PersonIn", "ConsentIn", "ConsentWithdrawIn", "ConsentCheckIn", "PurposeConsentOut", "ConsentOut",
           "HourRow", "Sample", "StatsOut", "ReportRow", "ReportOut", "AgentPerformanceRow", "CallbackRow",
           "UserOut", "FloorAgent", "Code", "Kind", "DialMode", "PacingParams", "Profile", "ERRORS", "CampaignId",
           "LeadId", "AttemptId", "Number", "Whole", "Moment", "CriterionIn", "ScorecardIn", "CriterionOut",
           "ScorecardOut", "ScoreIn", "AnswerOut", "ScoreOut", "CallToScoreOut", "ScoredCallOut", "AgentQualityOut",
           "CriterionSpreadOut", "CalibrationOut", "QualityReportOut"]

Code = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")  # catalogue codes: what screens, reports and --reason use
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # ids beyond the store's integers are 422, not 500
LeadId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AttemptId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the store's integers: beyond is 422, not 500


def _json_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


# numbers in request bodies as JSON Schema has them: pydantic's lax mode would read false as 0 and "5" as 5, which
# the spec (and so a CRM, and schemathesis) calls invalid; a whole number may be written 381.0, as JSON Schema allows
Number = Annotated[float, BeforeValidator(_json_number)]
Whole = Annotated[int, BeforeValidator(_json_number)]


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time with its offset, as text")
    return value


# a moment as the spec's date-time: text only (lax pydantic would read 2000000000 as a Unix time)
Moment = Annotated[AwareDatetime, BeforeValidator(_text)]
Kind = Literal["loan-offer", "tariff-switch", "survey", "payment-reminder", "debt-collection"]


def _known_policy(name: str) -> str:
    if name not in POLICIES:
        raise ValueError(f"must be one of {', '.join(POLICIES)}")
    return name


# any policy in the pacing registry, so the API, the CLI and the scenarios offer the same ones
DialMode = Annotated[str, AfterValidator(_known_policy),
                     WithJsonSchema({"type": "string", "enum": list(POLICIES)})]
Profile = Literal["us", "fr", "uk"]


def _params_schema(params: Iterable[Param]) -> dict[str, Any]:
    """The JSON Schema of a set of pacing parameters: each one's type and bounds, no other name."""
    return {"type": "object", "additionalProperties": False, "properties": {
        p.name: {"type": "integer" if p.kind is int else "number", "minimum": p.low, "maximum": p.high,
                 "description": p.doc} for p in params}}


# the dial mode's own parameters: names, types and bounds are the pacing registry's, checked with the dial mode
# (``lists.campaigns.check_pacing``), so a wrong one is a 422 naming ``pacing_params.NAME``. The spec lists every
# mode's; which of them a new campaign takes is said by ``CampaignIn``'s ``anyOf``, one branch per dial mode.
PacingParams = Annotated[dict[str, Any], Field(max_length=20), WithJsonSchema({
    **_params_schema({p.name: p for policy in POLICIES.values() for p in policy.params}.values()),
    "examples": [{"safety": 0.7}, {"ratio": 1.8}],
    "description": "the dial mode's parameters (safety for predictive, ratio for power ...); {}: its defaults"})]


def _pacing_by_dial_mode(schema: dict[str, Any]) -> None:
    """A new campaign's pacing parameters are its dial mode's: one ``anyOf`` branch per mode, the default's
    (progressive, none) when ``dial_mode`` is left out."""
    schema["anyOf"] = [{"properties": {"dial_mode": {"const": name}, "pacing_params": _params_schema(policy.params)},
                        **({} if name == PolicyName.PROGRESSIVE else {"required": ["dial_mode"]})}
                       for name, policy in POLICIES.items()]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422 naming it, not silently ignored


class ErrorOut(BaseModel):
    """Every 4xx: ``detail`` says what is wrong, ``field`` names the part of the request at fault."""

    detail: str
    field: str | None = None


ERRORS: dict[int | str, dict[str, object]] = {  # every route may answer these, each with an ``ErrorOut``
    code: {"model": ErrorOut, "description": text} for code, text in (
        (400, "The body cannot be read (not UTF-8, not JSON)"),
        (401, "No credential, or a dead one"), (403, "The role may not do this"),
        (404, "No such thing, or not one of yours"), (409, "A stale version, or not allowed in this state"),
        (413, "The body is over its route's limit (login 4 KB, an upload 200 MB, others 1 MB)"),
        (422, "A field is wrong: ``field`` names it"), (429, "Too many failed logins"))}


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    otp: str | None = Field(default=None, pattern=r"^[0-9]{6}$")  # the authenticator's code, for accounts with one


class MeOut(BaseModel):
    name: str
    role: str
    companies: list[str] = Field(description="the companies the user belongs to")
    campaigns: list[int] = Field(description="ids of the campaigns the user sees: for admins and analysts every "
                                             "campaign of their companies, for the rest the granted ones")
    campaign_names: dict[str, str] = Field(default_factory=dict, description="campaign id: name, of those seen")


class AgentLoginIn(_In):
    campaign_id: Whole = Field(ge=1, le=2**31 - 1)


class PauseIn(_In):
    reason: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$", examples=["break", "training", "meeting"])


class AgentStatusOut(BaseModel):
    """The agent's state; ``now`` is the daemon's clock (the simulated one on the sim driver), for pickers."""

    agent: str
    state: str
    campaign_id: int | None
    pause_reason: str | None
    call_id: int | None
    lead_id: int | None
    now: datetime


class AttemptView(BaseModel):
    dialled_at: datetime
    outcome: str
    disposition: str | None
    refusal_reason: str | None
    agent: str | None


class Question(BaseModel):
    """One question of a survey questionnaire; ``choices`` for ``kind = choice``."""

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    text: str = Field(min_length=1, max_length=500)
    kind: Literal["choice", "text", "number", "yesno"] = "text"
    choices: list[str] = Field(default_factory=list, max_length=20)


class LeadCard(BaseModel):
    """What the agent sees when a call is connected. ``number`` is masked unless the role needs it."""

    lead_id: int
    campaign_id: int
    campaign: str
    kind: str
    call_id: int | None
    name: str | None
    number: str
    fields: dict[str, object]
    script: str
    attempts: list[AttemptView]
    earlier_refusals: list[str]
    outcomes: dict[str, str]
    refusal_reasons: dict[str, str]
    questions: list[Question]


class AgentEvent(BaseModel):
    """A WebSocket message: the agent's state (``type = state``) or a screen pop with the lead card."""

    type: Literal["state", "screen_pop"]
    agent: str
    campaign_id: int | None
    state: str
    pause_reason: str | None = None
    call_id: int | None = None
    lead_id: int | None = None
    at: datetime
    card: LeadCard | None = None


class Order(_In):
    """What was sold: a product code and an amount (currency units); ``term_months`` for a loan."""

    product: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    amount: Number = Field(ge=0, le=1e9)
    term_months: Whole | None = Field(default=None, ge=1, le=600)


class CallbackOwner(StrEnum):
    OWN = "own"  # the same agent calls back
    ANYONE = "anyone"  # the first free agent


class DispositionIn(_In):
    """The wrap-up: ``outcome`` from the campaign's catalogue; ``refused`` needs a ``refusal_reason`` from it;
    ``callback`` needs ``callback_at`` (with its time zone) in the future."""

    outcome: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    refusal_reason: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    callback_at: Moment | None = None
    callback_owner: CallbackOwner = CallbackOwner.OWN
    survey_answers: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=100)
    order: Order | None = None


class DispositionOut(BaseModel):
    call_id: int
    lead_id: int
    outcome: str
    state: str


class CampaignIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_pacing_by_dial_mode)

    name: str = Field(min_length=1, max_length=120, pattern=r"^\S(.*\S)?$")
    kind: Kind
    company: str = Field(default="default", min_length=1, max_length=120,
                         description="a company the caller belongs to; any other answers 404")
    dial_mode: DialMode = "progressive"
    abandon_cap: Number = Field(default=0.03, ge=0, le=0.03)
    rules_profile: Profile = "us"
    max_attempts: Whole = Field(default=6, ge=1, le=100)
    caller_id: str | None = Field(default=None, max_length=32)
    fresh_share: Number = Field(default=0.0, ge=0, le=1)
    pacing_params: PacingParams = Field(default_factory=dict)


class CampaignPatch(_In):
    """An edit: ``version`` must be the one read, else 409 (someone else changed it since). ``pacing_params``
    replaces the stored set ({}: the defaults); left out, the stored ones are kept, and re-checked against a new
    ``dial_mode``."""

    version: Whole = Field(ge=1, le=2**31 - 1)
    dial_mode: DialMode | None = None
    abandon_cap: Number | None = Field(default=None, ge=0, le=0.03)
    max_attempts: Whole | None = Field(default=None, ge=1, le=100)
    caller_id: str | None = Field(default=None, max_length=32)
    fresh_share: Number | None = Field(default=None, ge=0, le=1)
    pacing_params: PacingParams | None = None
    add_refusal_reasons: dict[str, str] = Field(default_factory=dict, max_length=50)
    remove_refusal_reasons: list[str] = Field(default_factory=list, max_length=50)
    questions: list[Question] | None = Field(default=None, max_length=100)


class ReasonOut(BaseModel):
    """Why a campaign is not dialling, or a warning while it dials (``lists.idle``): ``reason`` the kind,
    ``until`` when it lifts (UTC) where that is known, ``detail`` its own, ``text`` in words (times in the
    campaign's zone, named), ``stops`` whether it keeps the campaign from dialling."""

    reason: Why
    until: datetime | None
    detail: str
    text: str
    stops: bool

    @classmethod
    def of(cls, reason: Reason) -> ReasonOut:
        return cls(reason=reason.why, until=reason.until, detail=reason.detail, text=reason.text,
                   stops=reason.stops)


class CampaignOut(BaseModel):
    """A campaign's settings and where it is: ``dialing`` when nothing in ``reasons`` keeps it from dialling,
    ``warnings`` the reasons in words."""

    id: int
    name: str
    company: str
    kind: str
    dial_mode: str
    abandon_cap: float
    rules_profile: str
    max_attempts: int
    caller_id: str | None
    fresh_share: float
    pacing_params: dict[str, float | int]
    state: CampaignState
    version: int
    dialing: bool
    reasons: list[ReasonOut]
    warnings: list[str]


class CatalogueOut(BaseModel):
    version: int
    outcomes: dict[str, str]
    refusal_reasons: dict[str, str]
    questions: list[Question]


class ImportOut(BaseModel):
    """``uncertain_zones``: leads imported with several candidate time zones; ``no_window``: those set aside because
    the campaign's window never opens in all of theirs; ``zones_given``: leads set aside before that this file
    gave a zone; ``warning`` says what that means and what resolves it (a timezone or subdivision column).
    ``zone_by_*``: leads given one zone by the timezone column, a US ZIP code, the subdivision (a federal subject,
    a state, a city) or the number alone (with ``uncertain_zones`` they add up to ``imported``);
    ``unknown_subdivisions``: leads whose subdivision is not one of their number's country (own zones kept);
    ``with_consent`` and ``customers``: leads imported with a consent or a customer relationship (the list's
    consent columns)."""

    import_id: str
    rows: int
    imported: int
    rejected: int
    duplicates: int
    already_imported: int
    rejects_url: str | None
    uncertain_zones: int = 0
    no_window: int = 0
    zones_given: int = 0
    zone_by_timezone: int = 0
    zone_by_postal_code: int = 0
    zone_by_subdivision: int = 0
    zone_by_number: int = 0
    unknown_subdivisions: int = 0
    warning: str | None = None
    with_consent: int = 0
    customers: int = 0


class PersonIn(_In):
    """A person of a company: their number (in the body, never the URL), read in ``default_region`` when it has no
    +CC."""

    number: str = Field(min_length=3, max_length=32)
    company: str = Field(default="default", min_length=1, max_length=120,
                         description="a company the caller belongs to; any other answers 404")
    default_region: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")


class DncIn(PersonIn):
    pass


class ConsentIn(PersonIn):
    """A consent the person gave: for ``purpose``, through ``channel``, at ``given_at`` (not in the future), with
    ``how`` (its source in words) and ``proof`` (where the proof is), until ``expires_at`` (after ``given_at``)."""

    purpose: Purpose
    channel: ConsentChannel
    given_at: Moment = Field(examples=["2026-01-05T09:30:00Z"])
    how: str = Field(default="", max_length=200)
    proof: str | None = Field(default=None, max_length=200)
    expires_at: Moment | None = None


class ConsentWithdrawIn(PersonIn):
    """The person takes back their consent for ``purpose``, or for every purpose when it is left out."""

    purpose: Purpose | None = None
    how: str = Field(default="", max_length=200)


class ConsentCheckIn(PersonIn):
    pass


class PurposeConsentOut(BaseModel):
    """The person's consent for one purpose now: ``valid`` when given, not expired and not withdrawn since."""

    purpose: Purpose
    valid: bool
    given_at: datetime | None
    withdrawn_at: datetime | None


class ConsentOut(BaseModel):
    """A person's consent with the company, per purpose; ``customer_until``: the last day of their customer
    relationship (the Netherlands accept one of the last 3 years in place of consent); ``recorded``: whether the
    request added a consent (false when that very consent was on file)."""

    number: str
    company: str
    purposes: list[PurposeConsentOut]
    customer_until: date | None
    recorded: bool = False


class DncOut(BaseModel):
    number: str
    company: str
    listed: bool
    sources: list[str]
    reopened: int = 0


class HourRow(BaseModel):
    hour: int
    attempts: int
    contacts: int
    sales: int
    refusals: int
    recordings_failed: int = 0


class FloorAgent(BaseModel):
    agent: str
    campaign_id: int
    state: str
    pause_reason: str | None


class StatsOut(BaseModel):
    """Live figures of one campaign. Abandonment and contact rate are today's (the campaign's local day);
    ``dialing``, ``reasons`` and ``warnings`` as in ``CampaignOut``."""

    campaign_id: int
    name: str
    state: CampaignState
    dialing: bool
    at: datetime
    zone: str  # the campaign's time zone: its hours, its day, the times its reasons give
    dial_level: float
    calls_in_flight: dict[str, int]
    agents: dict[str, int]
    attempts_today: int
    live_today: float  # people, as the law counts them (the UK's AMD false-positive estimate included)
    contact_rate: float
    abandoned_today: float
    abandon_rate: float
    abandon_cap: float
    abandon_budget_calls: float
    occupancy: float
    hourly: list[HourRow]
    history: list[Sample]
    refusals_today: dict[str, int]
    recordings_failed_today: int = 0  # connected calls whose recording did not start (the ledger says why)
    reasons: list[ReasonOut]
    warnings: list[str]
    speed: Speeds | None = None  # a simulated world's speeds (asked, current, achieved on average); None: real time


class ReportRow(BaseModel):
    code: str
    label: str
    count: int
    share: float


class ReportOut(BaseModel):
    title: str
    total: int
    rows: list[ReportRow]


class AgentPerformanceRow(BaseModel):
    """One agent over the report's period (``lists.reports.AgentRow``): seconds, shares as fractions of 1, None
    where the time a share needs is missing (no logged-in time, no contact)."""

    agent: str
    calls: int
    calls_per_hour: float | None
    logged_in_s: float
    waiting_s: float = Field(description="ready and waiting for a call: logged in, not paused, not talking or in "
                                         "wrap-up")
    talk_s: float
    wrap_s: float
    paused_s: dict[str, float]
    occupancy: float | None
    contacts: int
    sales: int
    refusals: int
    conversion: float | None
    quality: float | None = Field(description="the mean score (0-100) of the agent's scored calls; None: none scored")
    quality_calls: int = Field(description="how many of the agent's calls were scored")


class CallbackRow(BaseModel):
    lead_id: int
    owner: str
    due_at: datetime
    name: str | None
    number: str


class UserOut(BaseModel):
    name: str
    role: str
    companies: list[str] = Field(description="the user's companies among the caller's")
    campaigns: list[str] = Field(description="the user's granted campaigns among the caller's companies'")
    active_tokens: int
    trainee: bool = Field(description="an agent in their first months, working under a mentor")
    mentor: str | None = Field(description="the trainee's mentor (None: none)")


# ---- call quality (``lists.quality``) ------------------------------------------------------------------------

class CriterionIn(_In):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$", examples=["greeting"],
                      description="what answers and reports name the criterion by; unique in the scorecard")
    label: str = Field(min_length=1, max_length=200, pattern=r"\S", examples=["Greets and names the company"])
    weight: Number = Field(gt=0, le=1000, examples=[1.0], description="its share of the score")
    critical: StrictBool = Field(default=False, description="pass or fail, always judged; failed zeroes the score")


class ScorecardIn(_In):
    """A campaign's new scorecard version: its criteria, in the order scorers see them."""

    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)


class CriterionOut(BaseModel):
    code: str
    label: str
    weight: float
    critical: bool


class ScorecardOut(BaseModel):
    """A campaign's current scorecard; version 0 with no criteria: none set yet."""

    campaign_id: int
    version: int
    created_at: datetime | None
    created_by: str | None
    criteria: list[CriterionOut]


Fraction = Annotated[Number, Field(ge=0, le=1)]


class ScoreIn(_In):
    """One scorer's judgement of a call: every criterion of the campaign's scorecard by its code, from 0 (not met)
    to 1 (met), null for not applicable (a critical one: 0 or 1)."""

    answers: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")], Fraction | None] = Field(
        max_length=50, examples=[{"greeting": 1, "needs": 0.5, "apr": 1}])
    comment: str | None = Field(default=None, max_length=1000)


class AnswerOut(CriterionOut):
    value: float | None = Field(description="0 (not met) to 1 (met); None: not applicable")


class ScoreOut(BaseModel):
    """One score of one call: ``total`` 0-100, 0 when a critical criterion failed."""

    id: int
    attempt_id: int
    campaign_id: int
    agent: str
    scorer: str
    scored_at: datetime
    scorecard_version: int
    total: float
    critical_failed: bool
    comment: str | None
    answers: list[AnswerOut]


class CallToScoreOut(BaseModel):
    """A connected call as the scoring list shows it: no name or number. ``talk_s``: seconds connected."""

    attempt_id: int
    agent: str
    dialled_at: datetime
    talk_s: float
    disposition: str | None
    scores: int = Field(description="how many scorers scored it")


class ScoredCallOut(BaseModel):
    """A call opened to be scored (the view of the person is audited): the number masked unless the role needs
    it; ``scores``: the scores you may see (others' once you have scored it yourself, so a calibration is blind;
    managers and admins see all), ``scores_hidden`` how many are not shown."""

    call: CallToScoreOut
    campaign_id: int
    lead_name: str | None
    lead_number: str
    recording: str = Field(description="the recording's URL (404 where this daemon keeps none)")
    scorecard: ScorecardOut = Field(description="the campaign's current scorecard (version 0: none set)")
    scores: list[ScoreOut]
    scores_hidden: int


class AgentQualityOut(BaseModel):
    agent: str
    quality: float = Field(description="the mean over the agent's scored calls of each call's mean score, 0-100")
    calls: int = Field(description="scored calls")


class CriterionSpreadOut(BaseModel):
    code: str
    label: str
    values: dict[str, float | None] = Field(description="scorer: value from 0 to 1 (None: not applicable)")
    spread: float | None = Field(description="highest less lowest value given; None: fewer than two given")


class CalibrationOut(BaseModel):
    """A call two or more scorers scored: their totals and how far apart they are, per criterion too."""

    attempt_id: int
    agent: str
    totals: dict[str, float]
    total_spread: float
    criteria: list[CriterionSpreadOut]


class QualityReportOut(BaseModel):
    title: str
    agents: list[AgentQualityOut]
    calibrations: list[CalibrationOut]

"""Campaigns and their disposition catalogues, with the queries that serve them."""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from lists.companies import get_company
from lists.jurisdictions import BY_COUNTRY, JURISDICTIONS, PROFILE_ZONES, PROFILES
from lists.lifecycle import LeadStatus, reopened
from lists.models import CAMPAIGN_KINDS, DEFAULT_COMPANY, Campaign, Lead, to_db
from lists.numbers import normalise_number
from lists.purposes import Purpose, purpose_of
from pacing.controllers import Controller
from pacing.errors import InvalidInput
from pacing.ledger import AmdVerdict, amd_verdict
from pacing.registry import POLICIES, PolicyName, make_controller

__all__ = ["default_catalogue", "success_outcome", "check_setting", "check_amd", "check_pacing", "dial_modes",
           "create_campaign", "get_campaign", "list_campaigns", "edit_campaign", "retarget", "controller_for_campaign",
           "NothingToRetarget", "CoolOff", "cooling_off", "SALE_CODES", "known_reasons", "label_of", "NOT_IN_CATALOGUE",
           "home_zone", "check_dialling"]

_SALES_REFUSALS = {  # an offer of something to buy: a loan, a tariff
    "too_expensive": "Too expensive",
    "has_provider": "Already has a provider / happy with the current one",
    "no_need": "No need",
    "distrust": "Distrust / wants it in writing",
    "bad_timing": "Bad timing",
    "not_decision_maker": "Not the decision maker",
}
_KIND_REFUSALS = {  # why a person said no differs by what was asked: nothing is sold in a survey or a reminder
    "loan-offer": _SALES_REFUSALS,
    "tariff-switch": {**_SALES_REFUSALS, "contract_lock": "Tied to a current contract"},
    "survey": {
        "declined": "Declined (no reason given)",
        "no_time": "No time for a survey",
        "privacy": "Worried about privacy / use of answers",
        "not_eligible": "Not in the surveyed group",
        "bad_timing": "Bad timing",
    },
    "payment-reminder": {
        "disputes_debt": "Disputes the amount owed",
        "cannot_pay": "Cannot pay now (hardship)",
        "has_arrangement": "Already has a payment arrangement",
        "not_account_holder": "Not the account holder",
        "bad_timing": "Bad timing",
    },
    "debt-collection": {
        "disputes_debt": "Disputes the debt",
        "cannot_pay": "Cannot pay (hardship)",
        "has_arrangement": "Already has a repayment plan",
        "not_debtor": "Not the debtor",
        "refers_to_lawyer": "Refers to a lawyer or representative",
    },
}
_COMMON_OUTCOMES = {
    "callback": "Callback requested",
    "wrong_number": "Wrong number",
    "dnc_request": "Asked not to be called again",
    "refused": "Refused (with a reason)",
    "objects": "Objects to further calls",  # withdraws consent and lists the number (lists.dnc.record_objection)
}
_KIND_OUTCOMES = {
    "loan-offer": {"accepted": "Loan offer accepted"},
    "tariff-switch": {"accepted": "Tariff switch accepted"},
    "payment-reminder": {"promise_to_pay": "Promised to pay", "paid": "Already paid"},
    "debt-collection": {"promise_to_pay": "Promised to pay", "paid": "Already paid",
                        "repayment_plan": "Agreed a repayment plan"},
    "survey": {
        "completed": "Survey completed",
        "partial": "Survey partly completed",
        "declined": "Declined the survey",
    },
}

SALE_CODES = frozenset({"accepted", "promise_to_pay", "paid", "completed"})
"""The outcomes that count as a sale (a loan or tariff accepted, a payment promised or made, a survey completed)."""


def default_catalogue(kind: str) -> dict[str, Any]:
    """The outcome and refusal-reason codes a new campaign of ``kind`` starts with."""
    return {"outcomes": {**_KIND_OUTCOMES[kind], **_COMMON_OUTCOMES}, "refusal_reasons": dict(_KIND_REFUSALS[kind])}


def success_outcome(kind: str) -> str:
    """The outcome a campaign of ``kind`` is run for: a loan or tariff accepted, a promise to pay, a completed
    survey (its kind's first own outcome)."""
    return next(iter(_KIND_OUTCOMES[kind]))


def known_reasons() -> dict[str, str]:
    """Every refusal reason of every kind's catalogue with its label: for figures with no campaign to ask
    (a simulated day's refusal mix)."""
    return {code: label for reasons in _KIND_REFUSALS.values() for code, label in reasons.items()}


NOT_IN_CATALOGUE = " (not in catalogue)"


def label_of(code: str, labels: Mapping[str, str], missing: str = "") -> str:
    """A code's label from a catalogue; a code it lacks (removed since, or written by another tool) in words,
    never as the raw code: ``not_decision_maker`` reads "Not decision maker", followed by ``missing``
    (``NOT_IN_CATALOGUE`` where a reader must know the campaign has no such code)."""
    return labels.get(code) or code.replace("_", " ").capitalize() + missing


def check_setting(field: str, value: Any) -> None:
    """InvalidInput naming ``field`` unless ``value`` is allowed; the one rule for campaigns, scenarios and plans.

    ``dial_mode`` is any policy of ``pacing.controllers.POLICIES`` (the one
    registry the scenario parser and the CLI read); ``abandon_cap`` a
    fraction from 0 to the legal 3%."""
    allowed = {"kind": CAMPAIGN_KINDS, "dial_mode": dial_modes(), "rules_profile": tuple(PROFILES)}.get(field)
    if allowed is not None and value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
    if field == "abandon_cap" and not 0.0 <= float(value) <= 0.03:
        raise InvalidInput(field, "must be a fraction between 0 and 0.03 (the legal cap)")
    if field == "max_attempts" and int(value) < 1:
        raise InvalidInput(field, "must be at least 1")
    if field == "fresh_share" and not 0.0 <= float(value) <= 1.0:
        raise InvalidInput(field, "must be a fraction between 0 and 1")
    if field == "countries":
        _check_countries(value)


def _check_countries(countries: Any) -> None:
    """Each an ISO 3166 code the product has rules for (``lists.jurisdictions``)."""
    if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
        raise InvalidInput("countries", "must be a list of ISO 3166 country codes, such as FR, NL, PL")
    unknown = [c for c in countries if c not in BY_COUNTRY]
    if unknown:
        raise InvalidInput("countries", f"no rules for {', '.join(unknown)} (the product has rules for: "
                                        f"{', '.join(sorted(BY_COUNTRY))})")


def check_dialling(kind: str, dial_mode: str, countries: list[str]) -> None:
    """InvalidInput naming ``countries`` when a country forbids dialling this campaign's calls this way: Russia
    bans automatic dialling for advertising whatever the consent (38-FZ art. 18), so its marketing leads are
    dialled only in preview."""
    for country in countries:
        jurisdiction = BY_COUNTRY[country]
        if jurisdiction.automated_marketing_banned and purpose_of(kind) is Purpose.MARKETING \
                and dial_mode != PolicyName.PREVIEW:
            raise InvalidInput("countries", f"{country}: automatic dialling for advertising is banned there "
                                            f"(38-FZ art. 18); call its marketing leads from a preview campaign")


def _home(settings: dict[str, Any]) -> None:
    """The countries and the rules profile, each from the other when only one is given: a profile names
    its own country; countries name the profile of the first (the campaign's abandonment regime and its
    reports' zone). Neither given: no countries, and the campaign refuses to start until it has some."""
    if "countries" in settings and "rules_profile" not in settings and settings["countries"]:
        settings["rules_profile"] = BY_COUNTRY[settings["countries"][0]].code
    elif "rules_profile" in settings and "countries" not in settings:
        settings["countries"] = list(JURISDICTIONS[settings["rules_profile"]].countries)


def dial_modes() -> tuple[str, ...]:
    """The pacing policies a campaign may be dialled with: the names in ``pacing.controllers.POLICIES``."""
    return tuple(POLICIES)


def check_pacing(dial_mode: str, params: Any) -> dict[str, float | int]:
    """``params`` typed and bounded by ``dial_mode``'s policy (``pacing.registry.POLICIES``), or InvalidInput
    naming ``pacing_params.KEY``: a name the policy does not take, a value of the wrong type or out of bounds.

    Why the policy's own check: the scenario parser uses it too, so a
    parameter a scenario accepts is one a campaign accepts, with the same
    type (``trunk_limit`` a whole number), and the daemon dials with it."""
    if not isinstance(params, Mapping):
        raise InvalidInput("pacing_params", "must be a table of parameter names and numbers")
    try:
        return POLICIES[dial_mode].check(params)
    except InvalidInput as exc:
        raise InvalidInput(f"pacing_params.{exc.argument}", str(exc).partition(": ")[2]) from None


def _safety(dial_mode: str, params: Mapping[str, float | int]) -> float:
    """The share of the cap predictive pacing aims at least for (the AMD budget's floor); 0.8 for the rest."""
    return float(params.get("safety", 0.8)) if dial_mode == "predictive" else 0.8


def check_amd(rules_profile: str, abandon_cap: float, false_positive: float | None,
              if_no_budget: str = "refuse", safety: float = 0.8) -> AmdVerdict:
    """Whether a campaign may dial with a detector whose tested false-positive share is ``false_positive``.

    Where the rules count AMD false positives as abandoned calls (the UK
    profile: Ofcom), they take their share of the cap whatever the pacing,
    so a detector at or above the pacer's floor (``safety`` × cap: 2.4%
    under 3% at predictive's default 0.8) leaves nothing to dial ahead
    with: InvalidInput naming ``amd_false_positive`` says so in words
    (``pacing.ledger.amd_verdict``), or, with ``if_no_budget="amd-off"``,
    the verdict says the campaign runs with AMD off. ``None`` (no AMD)
    always runs.
    """
    if false_positive is None:
        return AmdVerdict("run", "no answering-machine detection")
    if not 0.0 <= float(false_positive) < 1.0:
        raise InvalidInput("amd_false_positive", "must be a fraction from 0 to below 1")
    verdict = amd_verdict(float(abandon_cap), float(false_positive), rules_profile == "uk", if_no_budget, safety)
    if verdict.action == "refuse":
        raise InvalidInput("amd_false_positive", verdict.message)
    return verdict


_PROFILE_COUNTRY = {"us": "US", "fr": "FR", "uk": "GB"}
_CODE = re.compile(r"[A-Za-z0-9_.-]+")


def _caller_id(value: str, profile: str) -> str:
    """The caller ID in E.164; national digits are read in the profile's country.

    Why refuse anything else: the carrier rejects or rewrites a presented
    number that is not one, and France and the US forbid calling from a
    number the person cannot call back.
    """
    try:
        return normalise_number(value, _PROFILE_COUNTRY.get(profile))[0]
    except ValueError as exc:
        raise InvalidInput("caller_id", f"{value!r} is not a phone number ({exc})") from None


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name", "must not be empty")
    if name != name.strip():
        raise InvalidInput("name", f"{name!r} starts or ends with spaces")
    control = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf")), None)
    if control is not None:  # ESC or BEL in a name would drive the terminal of whoever lists campaigns
        raise InvalidInput("name", f"{name!r} holds the control character U+{ord(control):04X}")
    return name


def _reason_code(code: str) -> str:
    """Codes are what agents' screens, reports and ``--reason`` use, so they must survive a shell unquoted."""
    if not _CODE.fullmatch(code):
        raise InvalidInput("add_reason", f"code {code!r} may hold only letters, digits, '_', '-' and '.' "
                                         "(no spaces)")
    return code


def create_campaign(session: Session, name: str, kind: str, **settings: Any) -> Campaign:
    """Add a campaign with the kind's default catalogue; ``settings`` override column defaults.

    ``amd_false_positive`` (not a column: the detector belongs to the
    telephony driver) is the tested false-positive share of the detector the
    campaign will dial with; a UK campaign it leaves no budget is refused in
    words (``check_amd``). ``pacing_params`` are the dial mode's own
    parameters ({} or left out: its defaults), checked by ``check_pacing``. ``company`` (default
    ``default``) must exist: InvalidInput naming ``company`` otherwise."""
    _name(name)
    check_setting("kind", kind)
    false_positive = settings.pop("amd_false_positive", None)
    params = settings.pop("pacing_params", {})
    for field, value in settings.items():
        check_setting(field, value)
    _home(settings)
    mode = settings.get("dial_mode", "progressive")
    check_dialling(kind, mode, settings.get("countries", []))
    settings["pacing_params"] = check_pacing(mode, params)
    check_amd(settings.get("rules_profile", "us"), settings.get("abandon_cap", 0.03), false_positive,
              safety=_safety(mode, settings["pacing_params"]))
    if settings.get("caller_id") is not None:
        settings["caller_id"] = _caller_id(settings["caller_id"], settings.get("rules_profile", "us"))
    get_company(session, settings.setdefault("company", DEFAULT_COMPANY))
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise InvalidInput("name", f"a campaign called {name!r} already exists")
    campaign = Campaign(name=name, kind=kind, catalogue=default_catalogue(kind), retry_rules={}, **settings)
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, name: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.name == name))
    if campaign is None:
        raise InvalidInput("campaign", f"no campaign called {name!r}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.name)))


def _edited_reasons(reasons: dict[str, str], add: dict[str, str], remove: list[str]) -> dict[str, str]:
    """The refusal reasons after removing, then adding; unknown removals and silent relabels are refused.

    Why removals first: ``--remove-reason x --add-reason x=New`` is how a
    user says "relabel x" on purpose; ``--add-reason x=New`` alone would
    change what every past refusal coded ``x`` means in the reports.
    """
    edited = dict(reasons)
    for code in remove:
        if code not in edited:
            raise InvalidInput("remove_reason", f"no refusal reason {code!r} (there are: {', '.join(edited)})")
        del edited[code]
    for code, label in add.items():
        _reason_code(code)
        if edited.get(code, label) != label:
            raise InvalidInput("add_reason", f"{code!r} already means {edited[code]!r}; to relabel it, "
                                             f"also give --remove-reason {code}")
        edited[code] = label
    return edited


def edit_campaign(session: Session, name: str, **changes: Any) -> Campaign:
    """Change settings; ``add_refusal_reasons`` ({code: label}) and ``remove_refusal_reasons`` edit the catalogue;
    ``amd_false_positive`` is checked against the (new or kept) profile and cap as in ``create_campaign``.
    ``pacing_params``, when given, replaces the stored ones; a new ``dial_mode`` re-checks those it keeps.

    Everything is checked before anything changes, so a refused edit leaves the campaign as it was.
    """
    campaign = get_campaign(session, name)
    catalogue = copy.deepcopy(campaign.catalogue)  # a new object, so the JSON column sees the change
    catalogue["refusal_reasons"] = _edited_reasons(catalogue.get("refusal_reasons", {}),
                                                   changes.pop("add_refusal_reasons", {}),
                                                   list(changes.pop("remove_refusal_reasons", ())))
    false_positive = changes.pop("amd_false_positive", None)
    for field, value in changes.items():
        if field != "pacing_params":
            check_setting(field, value)
    mode = changes.get("dial_mode", campaign.dial_mode)
    check_dialling(campaign.kind, mode, changes.get("countries", campaign.countries))
    changes["pacing_params"] = _edited_pacing(campaign, mode, changes.get("pacing_params"))
    check_amd(changes.get("rules_profile", campaign.rules_profile), changes.get("abandon_cap", campaign.abandon_cap),
              false_positive, safety=_safety(mode, changes["pacing_params"]))
    if changes.get("caller_id") is not None:
        changes["caller_id"] = _caller_id(changes["caller_id"], changes.get("rules_profile", campaign.rules_profile))
    campaign.catalogue = catalogue
    profile_changed = changes.get("rules_profile", campaign.rules_profile) != campaign.rules_profile \
        or changes.get("countries", campaign.countries) != campaign.countries
    for field, value in changes.items():
        setattr(campaign, field, value)
    if profile_changed:
        _reopen_windowless(session, campaign)
    session.flush()
    return campaign


def _reopen_windowless(session: Session, campaign: Campaign) -> None:
    """Give the leads set aside under the old profile's window back to their queues: the claim checks them
    against the new window, and sets aside again those it never opens for either."""
    for status, attempted in ((reopened(0), Lead.attempts == 0), (reopened(1), Lead.attempts > 0)):
        session.execute(update(Lead).where(Lead.campaign_id == campaign.id, Lead.status == LeadStatus.NO_WINDOW,
                                           attempted).values(status=status)
                        .execution_options(synchronize_session=False))


def _edited_pacing(campaign: Campaign, mode: str, given: Any) -> dict[str, float | int]:
    """The given parameters checked for ``mode``, else the stored ones (re-checked when the mode changes).

    Why re-check: a parameter of the old dial mode (``safety``) means nothing
    to the new one (power), and dropping it quietly would lose a tuning the
    analyst may mean to keep for a switch back; the error names it.
    """
    if given is not None:
        return check_pacing(mode, given)
    if mode == campaign.dial_mode:
        return dict(campaign.pacing_params)
    try:
        return check_pacing(mode, campaign.pacing_params)
    except InvalidInput as exc:
        raise InvalidInput(exc.argument, f"{str(exc).partition(': ')[2]}; it was set for {campaign.dial_mode}: "
                                         "drop it in the same change of dial mode") from None


def controller_for_campaign(campaign: Campaign, fp_rate: float) -> Controller:
    """A fresh controller for ``campaign``: its dial mode, its cap (fraction of live answers) and its stored pacing
    parameters; ``fp_rate`` is the tested AMD false-positive share of the detector it dials with (0: no AMD).

    Why one function: the daemon builds every campaign's controller here, and
    the simulator's ``simulation.model.controller_for`` makes one from a
    scenario the same way (``pacing.registry.make_controller``), so a tuned
    scenario and the campaign it was tuned for pace alike."""
    return make_controller(campaign.dial_mode, campaign.abandon_cap, fp_rate, **campaign.pacing_params)


_INHERITED = ("company", "dial_mode", "abandon_cap", "rules_profile", "max_attempts", "caller_id", "fresh_share",
              "pacing_params")


class NothingToRetarget(DialerError):
    """No lead matches a retarget: nothing is made, and the CLI exits 1 (a search that found nothing, not a
    mistyped argument)."""

    exit_code = 1


@dataclass(frozen=True)
class CoolOff:
    """A campaign's leads still in their jurisdiction's cool-off after a refusal: how many, and when the first
    and the last of them may be dialled again (aware UTC)."""

    leads: int
    first: datetime
    last: datetime


def cooling_off(session: Session, campaign: Campaign, now: datetime) -> CoolOff | None:
    """Its open leads that the refusal cool-off (France: 60 days) still blocks at ``now``; None when none is.

    Why: a retargeted list is due at once in the store, yet the law moves
    every recent refuser weeks out, so the manager must be told when the
    calls can start."""
    days = PROFILES[campaign.rules_profile].refusal_cooloff_days
    if not days:
        return None
    since = to_db(now - timedelta(days=days))
    refused = list(session.scalars(select(Lead.last_refusal_at).where(
        Lead.campaign_id == campaign.id, Lead.last_refusal_at > since,
        Lead.status.in_((LeadStatus.NEW, LeadStatus.RETRY, LeadStatus.CALLBACK)))))
    if not refused:
        return None
    free = sorted(at.replace(tzinfo=UTC) + timedelta(days=days) for at in refused if at is not None)
    return CoolOff(len(free), free[0], free[-1])


def retarget(session: Session, source: str, reasons: list[str], name: str, now: datetime,
             kind: str | None = None) -> tuple[Campaign, int]:
    """A new campaign of the leads in ``source`` that refused for one of ``reasons``; returns it and the lead count.

    This is calling refusers back when a better offer appears ("too
    expensive" gets the cheaper tariff). The refusal date travels with each
    lead, because a cool-off after a refusal (France: 60 days) binds the
    person, not the campaign. Leads on DNC are left out. The refusal reason
    travels too, so the new list's export says why each person is on it.
    """
    old = get_campaign(session, source)
    unknown = sorted(set(reasons) - set(old.catalogue.get("refusal_reasons", {})))
    if unknown or not reasons:
        raise InvalidInput("reason", f"not in {source}'s refusal catalogue: {', '.join(unknown) or '(none given)'}")
    new = create_campaign(session, name, kind or old.kind, **{f: getattr(old, f) for f in _INHERITED})
    new.retry_rules = dict(old.retry_rules)
    leads = list(session.scalars(select(Lead).where(
        Lead.campaign_id == old.id, Lead.refusal_reason.in_(reasons), Lead.status != LeadStatus.DNC)))
    if not leads:  # checked after the new campaign's settings, so a bad --name is still the error named
        session.rollback()
        raise NothingToRetarget(f"no lead of {source} refused for {', '.join(reasons)} (and is off the DNC list): "
                                "no campaign made")
    rows = [{"campaign_id": new.id, "phone_e164": lead.phone_e164, "name": lead.name, "region": lead.region,
             "zones": lead.zones, "status": LeadStatus.NEW, "attempts": 0, "priority": 0, "next_at": to_db(now),
             "last_refusal_at": lead.last_refusal_at, "refusal_reason": lead.refusal_reason,
             "fields": {**lead.fields, "retargeted_from": old.name, "earlier_refusal": lead.refusal_reason}}
            for lead in leads]
    if rows:
        session.execute(insert(Lead), rows)
    session.commit()
    return new, len(rows)


def home_zone(campaign: Campaign) -> str:
    """The zone a campaign's hours and report days are kept in when nothing else says: its rules profile's
    (``lists.rules.PROFILE_ZONES``; the daemon's ``[timezones]`` may set another)."""
    return PROFILE_ZONES.get(campaign.rules_profile, "UTC")

"""Campaigns and their disposition catalogues, with the queries that serve them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lists.models import CAMPAIGN_KINDS, DIAL_MODES, Campaign
from lists.rules import PROFILES
from pacing.errors import InvalidInput

__all__ = ["default_catalogue", "create_campaign", "get_campaign", "list_campaigns", "edit_campaign"]

_REFUSALS = {
    "too_expensive": "Too expensive",
    "has_provider": "Already has a provider / happy with the current one",
    "no_need": "No need",
    "distrust": "Distrust / wants it in writing",
    "bad_timing": "Bad timing",
    "not_decision_maker": "Not the decision maker",
}
_COMMON_OUTCOMES = {
    "callback": "Callback requested",
    "wrong_number": "Wrong number",
    "dnc_request": "Asked not to be called again",
    "refused": "Refused (with a reason)",
}
_KIND_OUTCOMES = {
    "loan-offer": {"accepted": "Loan offer accepted"},
    "tariff-switch": {"accepted": "Tariff switch accepted"},
    "payment-reminder": {"promise_to_pay": "Promised to pay", "paid": "Already paid"},
    "survey": {
        "completed": "Survey completed",
        "partial": "Survey partly completed",
        "declined": "Declined the survey",
    },
}


def default_catalogue(kind: str) -> dict[str, Any]:
    """The outcome and refusal-reason codes a new campaign of ``kind`` starts with."""
    return {"outcomes": {**_KIND_OUTCOMES[kind], **_COMMON_OUTCOMES}, "refusal_reasons": dict(_REFUSALS)}


def _validate(field: str, value: Any) -> None:
    allowed = {"kind": CAMPAIGN_KINDS, "dial_mode": DIAL_MODES, "rules_profile": tuple(PROFILES)}.get(field)
    if allowed is not None and value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
    if field == "abandon_cap" and not 0.0 <= float(value) <= 0.03:
        raise InvalidInput(field, "must be a fraction between 0 and 0.03 (the legal cap)")
    if field == "max_attempts" and int(value) < 1:
        raise InvalidInput(field, "must be at least 1")


def create_campaign(session: Session, name: str, kind: str, **settings: Any) -> Campaign:
    """Add a campaign with the kind's default catalogue; ``settings`` override column defaults."""
    _validate("kind", kind)
    for field, value in settings.items():
        _validate(field, value)
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


def edit_campaign(session: Session, name: str, **changes: Any) -> Campaign:
    """Change settings; ``add_refusal_reasons`` ({code: label}) and ``remove_refusal_reasons`` edit the catalogue."""
    campaign = get_campaign(session, name)
    catalogue = {k: dict(v) for k, v in campaign.catalogue.items()}
    for code, label in changes.pop("add_refusal_reasons", {}).items():
        catalogue["refusal_reasons"][code] = label
    for code in changes.pop("remove_refusal_reasons", ()):
        catalogue["refusal_reasons"].pop(code, None)
    campaign.catalogue = catalogue
    for field, value in changes.items():
        _validate(field, value)
        setattr(campaign, field, value)
    session.flush()
    return campaign

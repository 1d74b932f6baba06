"""The lead card (what an agent sees when a call is connected), the scripts, and the disposition's checks.

Why the card is read from the store, with an audit row in the same
transaction: a card shows a bank customer's name and history, so every view
is written down (user, lead, time) before it is shown, and nothing of it
goes to the application log. Numbers are masked for roles that do not need
them (``Principal.unmasked``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.api.errors import ApiError, NotFound
from dialer.api.schemas import AttemptView, DispositionIn, LeadCard, Question
from dialer.core.calls import Disposition
from lists.audit import record_view
from lists.campaigns import SALE_CODES
from lists.models import Attempt, Campaign, Lead, as_utc
from lists.numbers import mask_number

__all__ = ["SCRIPTS", "DEFAULT_QUESTIONS", "questions_of", "lead_card", "to_disposition",
           "catalogue_of"]

SCRIPTS = {  # the opening each campaign kind's agents read; {name} is the lead's name
    "loan-offer": ("Hello {name}, this is {agent} from the bank. You had a loan with us before, and we can now "
                   "offer you a new one at a better rate. Do you have two minutes?"),
    "tariff-switch": ("Hello {name}, this is {agent}. We have a tariff that would lower your monthly bill. "
                      "May I tell you what you would pay?"),
    "survey": ("Hello {name}, this is {agent}. We are running a short survey of about three minutes; your answers "
               "are used only in aggregate. May I ask you a few questions?"),
    "payment-reminder": ("Hello, may I speak to {name}? This is {agent} calling about your account. "
                         "A payment is overdue; can we agree on how to settle it?"),
    "debt-collection": ("Hello, may I speak to {name}? This is {agent}, calling about a debt on your account. "
                        "Can we agree today on how it will be repaid?"),
}
DEFAULT_QUESTIONS = {
    "survey": [
        Question(code="satisfaction", text="How satisfied are you with your bank?", kind="choice",
                 choices=["very", "somewhat", "not really", "not at all"]),
        Question(code="recommend", text="Would you recommend it to a friend?", kind="yesno"),
        Question(code="comment", text="Anything you would change?", kind="text"),
    ],
}


def questions_of(campaign: Campaign) -> list[Question]:
    """The campaign's questionnaire: its own, else its kind's default (only surveys have one)."""
    own = campaign.catalogue.get("questions")
    if own is not None:
        return [Question.model_validate(q) for q in own]
    return list(DEFAULT_QUESTIONS.get(campaign.kind, []))


def catalogue_of(campaign: Campaign) -> tuple[dict[str, str], dict[str, str]]:
    return dict(campaign.catalogue.get("outcomes", {})), dict(campaign.catalogue.get("refusal_reasons", {}))


def lead_card(session: Session, user_id: int, lead_id: int, call_id: int | None, unmasked: bool,
              viewer: str, now: datetime) -> LeadCard:
    """The card of ``lead_id``, after writing its audit row (committed here)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead {lead_id}", "lead_id")
    campaign = session.get(Campaign, lead.campaign_id)
    assert campaign is not None
    outcomes, reasons = catalogue_of(campaign)
    rows = session.scalars(select(Attempt).where(Attempt.lead_id == lead.id).order_by(Attempt.dialled_at))
    attempts = [AttemptView(dialled_at=as_utc(a.dialled_at), outcome=a.outcome, disposition=a.disposition,  # type: ignore[arg-type]
                            refusal_reason=a.refusal_reason, agent=a.agent) for a in rows]
    refusals = [a.refusal_reason for a in attempts if a.refusal_reason]
    if lead.refusal_reason and lead.refusal_reason not in refusals:  # a re-targeted lead's earlier campaign's
        refusals.insert(0, lead.refusal_reason)
    record_view(session, user_id, lead.id, campaign.id, now)
    session.commit()
    name = lead.name or ""
    fields = {k: v for k, v in (lead.fields or {}).items() if k != "segment"}
    return LeadCard(
        lead_id=lead.id, campaign_id=campaign.id, campaign=campaign.name, kind=campaign.kind, call_id=call_id,
        name=lead.name, number=lead.phone_e164 if unmasked else mask_number(lead.phone_e164), fields=fields,
        script=SCRIPTS.get(campaign.kind, "").format(name=name or "there", agent=viewer), attempts=attempts,
        earlier_refusals=[reasons.get(r, r) for r in refusals], outcomes=outcomes, refusal_reasons=reasons,
        questions=questions_of(campaign))


def to_disposition(campaign: Campaign, body: DispositionIn, agent: str, now: datetime) -> Disposition:
    """The engine's ``Disposition`` for a checked wrap-up; ApiError naming the field otherwise."""
    outcomes, reasons = catalogue_of(campaign)
    if body.outcome not in outcomes:
        raise ApiError(f"not in the campaign's outcomes ({', '.join(outcomes)})", "outcome")
    if body.outcome == "refused" and body.refusal_reason is None:
        raise ApiError("a refusal needs a reason from the catalogue", "refusal_reason")
    if body.refusal_reason is not None and body.refusal_reason not in reasons:
        raise ApiError(f"not in the campaign's refusal reasons ({', '.join(reasons)})", "refusal_reason")
    if body.outcome == "callback":
        if body.callback_at is None:
            raise ApiError("a callback needs a time (with its time zone)", "callback_at")
        if body.callback_at <= now:
            raise ApiError(f"must be after now ({now.isoformat()})", "callback_at")
    elif body.callback_at is not None:
        raise ApiError("only a callback takes a time", "callback_at")
    data: dict[str, Any] = {}
    if body.survey_answers:
        codes = {q.code for q in questions_of(campaign)}
        unknown = sorted(set(body.survey_answers) - codes)
        if unknown:
            raise ApiError(f"no question {unknown[0]!r} in the questionnaire", "survey_answers")
        data["survey"] = dict(body.survey_answers)
    if body.order is not None:
        if body.outcome not in SALE_CODES:
            raise ApiError("an order goes with a sale outcome", "order")
        data["order"] = body.order.model_dump(exclude_none=True)
    owner = agent if body.outcome == "callback" and body.callback_owner.value == "own" else None
    return Disposition(body.outcome, body.refusal_reason, body.callback_at, owner, data)

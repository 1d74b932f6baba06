"""Consent: record a person's consent to the company's calls, withdraw it, check it.

Like the DNC routes (``dialer.api.dnc``): numbers travel in request bodies,
never in URLs; a caller reaches only the companies they belong to
(``dialer.api.auth.own_company``: another company answers 404 before the
store is read); every change and every read is audited with the number
masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from dialer.api.auth import Principal, floor_of, own_company, require
from dialer.api.dnc import person_number
from dialer.api.floor import Floor
from dialer.api.schemas import (
    ERRORS,
    ConsentCheckIn,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawIn,
    PersonIn,
    PurposeConsentOut,
)
from dialer.service.users import Role
from lists.audit import record
from lists.consent import GivenConsent, give_consent, person_consent, withdraw_consent
from lists.models import AuditAction
from lists.numbers import mask_number

__all__ = ["router", "add", "withdraw", "check"]

router = APIRouter(prefix="/api/v1/outbound/consent", tags=["consent"], responses=ERRORS)
Manager = Annotated[Principal, Depends(require(Role.MANAGER, Role.ADMIN))]


def _out(session: Session, floor: Floor, who: Principal, company: str, e164: str, recorded: bool = False) -> ConsentOut:
    held = person_consent(session, company, e164, floor.now())
    purposes = [PurposeConsentOut(purpose=purpose, valid=state.valid, given_at=state.given_at,
                                  withdrawn_at=state.withdrawn_at) for purpose, state in held.states.items()]
    until = held.relationship.customer_until if held.relationship else None
    return ConsentOut(number=e164 if who.unmasked else mask_number(e164), company=company, purposes=purposes,
                      customer_until=until, recorded=recorded)


def _add(floor: Floor, who: Principal, body: ConsentIn) -> ConsentOut:
    own_company(who, body.company)
    e164 = person_number(body)
    consent = GivenConsent(body.purpose, body.channel, body.given_at, body.how, body.proof, body.expires_at)
    with floor.factory() as session:
        recorded = give_consent(session, body.company, e164, consent, floor.now(), who.name)
        record(session, who.name, AuditAction.CONSENT, floor.now_utc(), company=body.company,
               number=mask_number(e164), given=body.purpose.value, channel=body.channel.value, recorded=recorded)
        session.commit()
        return _out(session, floor, who, body.company, e164, recorded)


def _withdraw(floor: Floor, who: Principal, body: ConsentWithdrawIn) -> ConsentOut:
    own_company(who, body.company)
    e164 = person_number(body)
    with floor.factory() as session:
        withdraw_consent(session, body.company, e164, floor.now(), who.name, body.purpose, body.how)
        record(session, who.name, AuditAction.CONSENT, floor.now_utc(), company=body.company,
               number=mask_number(e164), withdrawn=body.purpose.value if body.purpose else "every purpose")
        session.commit()
        return _out(session, floor, who, body.company, e164)


def _check(floor: Floor, who: Principal, body: PersonIn) -> ConsentOut:
    own_company(who, body.company)
    e164 = person_number(body)
    with floor.factory() as session:
        record(session, who.name, AuditAction.CONSENT_READ, floor.now_utc(), company=body.company,
               number=mask_number(e164))
        session.commit()
        return _out(session, floor, who, body.company, e164)


@router.post("", response_model=ConsentOut)
async def add(body: ConsentIn, request: Request, who: Manager) -> ConsentOut:
    """Record the person's consent to the company's calls for a purpose, in every campaign of the company."""
    floor = floor_of(request)
    return await floor.off_loop(_add, floor, who, body)  # type: ignore[no-any-return]


@router.post("/withdraw", response_model=ConsentOut)
async def withdraw(body: ConsentWithdrawIn, request: Request, who: Manager) -> ConsentOut:
    """Withdraw the person's consent (one purpose, or every one), at once in every campaign of the company."""
    floor = floor_of(request)
    return await floor.off_loop(_withdraw, floor, who, body)  # type: ignore[no-any-return]


@router.post("/check", response_model=ConsentOut)
async def check(body: ConsentCheckIn, request: Request, who: Manager) -> ConsentOut:
    """The person's consent with the company now, per purpose, and their customer relationship."""
    floor = floor_of(request)
    return await floor.off_loop(_check, floor, who, body)  # type: ignore[no-any-return]

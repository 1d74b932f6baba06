"""DNC (Genesys Cloud's ``dnclists``): add a number to a company's own list, remove it, check it.

Numbers travel in request bodies, never in URLs, so no access log or proxy
keeps them. A caller works only on the lists of the companies they belong to
(``dialer.api.auth.own_company``): another company's list answers 404
before the store is read, the same whether that company exists or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from dialer.api.auth import Principal, floor_of, own_company, require
from dialer.api.errors import ApiError
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, DncIn, DncOut, PersonIn
from dialer.service.users import Role
from lists.audit import record
from lists.dnc import add_to_dnc, remove_from_dnc
from lists.models import AuditAction, DncEntry
from lists.numbers import mask_number, normalise_number
from lists.sealing import person_key

__all__ = ["router", "add", "check", "remove", "person_number"]

router = APIRouter(prefix="/api/v1/outbound/dnc", tags=["dnc"], responses=ERRORS)
Manager = Annotated[Principal, Depends(require(Role.MANAGER, Role.ADMIN))]
Checker = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ADMIN))]


def person_number(body: PersonIn) -> str:
    """The body's number in E.164; 422 naming ``number`` when it is not one."""
    try:
        return normalise_number(body.number, body.default_region.upper() if body.default_region else None)[0]
    except ValueError as exc:
        raise ApiError(f"not a phone number ({exc})", "number") from None


def _out(session: Any, who: Principal, company: str, e164: str, reopened: int = 0) -> DncOut:
    sources = sorted(session.scalars(select(DncEntry.source).where(DncEntry.company == company,
                                                                   DncEntry.phone_key == person_key(session, e164))))
    return DncOut(number=e164 if who.unmasked else mask_number(e164), company=company, listed=bool(sources),
                  sources=sources, reopened=reopened)


def _run(floor: Floor, who: Principal, body: DncIn, action: str) -> DncOut:
    own_company(who, body.company)
    e164 = person_number(body)
    with floor.factory() as session:
        reopened = 0
        if action == "add":
            added = add_to_dnc(session, body.company, e164, floor.now())
            record(session, who.name, AuditAction.DNC_ADD, floor.now_utc(), company=body.company,
                   number=mask_number(e164), added=added)
        elif action == "remove":
            reopened = remove_from_dnc(session, body.company, e164, floor.now())
            record(session, who.name, AuditAction.DNC_REMOVE, floor.now_utc(), company=body.company,
                   number=mask_number(e164), reopened=reopened)
        session.commit()
        return _out(session, who, body.company, e164, reopened)


@router.post("", response_model=DncOut)
async def add(body: DncIn, request: Request, who: Manager) -> DncOut:
    """Suppress the number in every campaign of the company at once."""
    floor = floor_of(request)
    return await floor.off_loop(_run, floor, who, body, "add")  # type: ignore[no-any-return]


@router.post("/remove", response_model=DncOut)
async def remove(body: DncIn, request: Request, who: Manager) -> DncOut:
    """Take the number off the company's own list (a registry's copy still suppresses it)."""
    floor = floor_of(request)
    return await floor.off_loop(_run, floor, who, body, "remove")  # type: ignore[no-any-return]


@router.post("/check", response_model=DncOut)
async def check(body: DncIn, request: Request, who: Checker) -> DncOut:
    """Is the number on any of the company's lists (its own or an imported registry)?"""
    floor = floor_of(request)
    return await floor.off_loop(_run, floor, who, body, "check")  # type: ignore[no-any-return]

"""Companies (tenants) and their members, with the queries that serve them.

Why a company is an object: it owns campaigns and DNC lists, and it is the
boundary of what its people may reach. Campaigns and DNC rows carry the
company's name, as before; a user reaches a company only as its member
(``dialer.service.users`` adds what each role may do within it).

Company names are identifiers, typed in ``--company`` and in API bodies:
letters, digits and ``_ . -``, so one never needs quoting nor hides a
character a terminal would act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lists.models import Campaign, Company, CompanyMember, to_db
from pacing.errors import InvalidInput

__all__ = ["CompanyInfo", "add_company", "get_company", "list_companies", "companies_of", "add_members"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")


@dataclass(frozen=True)
class CompanyInfo:
    """A company as listed: how many campaigns it owns and how many users belong to it."""

    name: str
    campaigns: int
    members: int


def add_company(session: Session, name: str, now: datetime) -> Company:
    """A new company with no members yet; flushes, the caller commits."""
    if not _NAME.fullmatch(name):
        raise InvalidInput("company", f"{name!r} must be 1-120 letters, digits or _ . - (a letter or digit first)")
    if session.scalar(select(Company.id).where(Company.name == name)) is not None:
        raise InvalidInput("company", f"a company called {name!r} already exists")
    company = Company(name=name, created_at=to_db(now))
    session.add(company)
    session.flush()
    return company


def get_company(session: Session, name: str) -> Company:
    company = session.scalar(select(Company).where(Company.name == name))
    if company is None:
        raise InvalidInput("company", f"no company called {name!r} (dialer company add makes one)")
    return company


def list_companies(session: Session) -> list[CompanyInfo]:
    """Every company, by name, with its campaign and member counts."""
    campaigns: dict[str, int] = {name: count for name, count in session.execute(
        select(Campaign.company, func.count()).group_by(Campaign.company))}
    members: dict[int, int] = {company: count for company, count in session.execute(
        select(CompanyMember.company_id, func.count()).group_by(CompanyMember.company_id))}
    return [CompanyInfo(c.name, campaigns.get(c.name, 0), members.get(c.id, 0))
            for c in session.scalars(select(Company).order_by(Company.name))]


def companies_of(session: Session, user_id: int) -> list[str]:
    """Names of the companies the user belongs to, in name order."""
    return list(session.scalars(select(Company.name).join(CompanyMember, CompanyMember.company_id == Company.id)
                                .where(CompanyMember.user_id == user_id).order_by(Company.name)))


def add_members(session: Session, user_id: int, names: Iterable[str]) -> None:
    """Make the user a member of each named company (a membership held already is kept once); InvalidInput
    naming ``company`` for one that does not exist, before anything changes."""
    wanted = {get_company(session, name).id for name in names}
    have = set(session.scalars(select(CompanyMember.company_id).where(CompanyMember.user_id == user_id)))
    session.add_all(CompanyMember(user_id=user_id, company_id=c) for c in sorted(wanted - have))
    session.flush()

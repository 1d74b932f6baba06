"""Accounts, roles, tokens and console passwords, and the lead-view audit log: the library ``dialer users`` and
the API share.

Why tokens are random and stored hashed: bank customers' data is
confidential, so a stolen copy of the store must not let anyone in. A token
is 256 random bits (``secrets``), shown once when issued, and kept only as
its SHA-256; with that much entropy a slow hash adds nothing. Console
passwords are what people choose, so they are kept with scrypt (2**14, 8, 1:
about 40 ms on this project's 2-core machine, 2026-12), and failed logins
are rate-limited by the API.

Errors::

    DialerError
    └── UserError        an unknown user, a taken name, a bad role or password
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import pyotp
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from lists.companies import add_members, companies_of, get_company
from lists.models import (
    DEFAULT_COMPANY,
    ApiToken,
    Campaign,
    CampaignGrant,
    Company,
    CompanyMember,
    User,
    as_utc,
    to_db,
)

__all__ = ["Role", "UserError", "UserInfo", "Scope", "add_user", "get_user", "grant", "join", "issue_token",
           "revoke_tokens", "list_users", "user_for_token", "check_password", "verify_login", "hash_password",
           "scope_of", "TOKEN_PREFIX", "token_hash", "token_expiry", "revoked_since", "TOTP_ROLES", "enable_totp",
           "disable_totp", "take_code", "MENTOR_ROLES", "set_trainee"]

TOKEN_PREFIX = "dlr_"  # so a token pasted somewhere it should not be is easy to find (secret scanners)
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_MIN_PASSWORD = 8
_DECOY = f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${'00' * 16}${'00' * 64}"  # matches no password


class Role(Enum):
    """Who may do what within their companies (the API's ``dialer.api.auth`` says what each may reach);
    nobody reaches anything of a company they do not belong to."""

    AGENT = "agent"  # takes calls; sees only the lead of their own current call or callback
    SUPERVISOR = "supervisor"  # watches granted campaigns' floors and reports; numbers masked
    MANAGER = "manager"  # runs granted campaigns: settings, lists, DNC, start and stop
    ANALYST = "analyst"  # reads every campaign of their companies: statistics and reports; numbers masked
    ADMIN = "admin"  # everything in their companies


_EVERY_CAMPAIGN = frozenset({Role.ADMIN.value, Role.ANALYST.value})  # see every campaign of their companies


class UserError(DialerError):
    """An account operation that cannot be done: names what is wrong (the CLI exits 2, the API answers 4xx)."""


@dataclass(frozen=True)
class UserInfo:
    """An account as listed: never its password or token hashes."""

    name: str
    role: Role
    companies: tuple[str, ...]
    campaigns: tuple[str, ...]
    active_tokens: int
    has_password: bool
    disabled: bool
    trainee: bool = False
    mentor: str | None = None  # the trainee's mentor's name (None: none assigned, or of a company not shown)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex); refuses passwords shorter than 8 characters."""
    if len(password) < _MIN_PASSWORD:
        raise UserError(f"password: must be at least {_MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 << 20, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(user: User, password: str) -> bool:
    """True when ``password`` is the user's (constant-time compare); False for a disabled or password-less one.
    Always one scrypt call, so the answer's time does not tell which."""
    matches = _matches(user.password_hash or _DECOY, password)
    return matches and not user.disabled and bool(user.password_hash)


def verify_login(session: Session, name: str, password: str) -> User | None:
    """The user ``name`` if ``password`` is theirs, else None. An unknown name costs the same one scrypt call as
    a known one (against a hash nobody's password matches), so timing does not tell which accounts exist."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        _matches(_DECOY, password)
        return None
    return user if check_password(user, password) else None


TOTP_ROLES = frozenset({Role.MANAGER, Role.ADMIN})  # who may add a second factor: they run lists and DNC
_STEP_S = 30  # RFC 6238's time step, seconds


def enable_totp(session: Session, name: str) -> str:
    """Give ``name`` a new TOTP secret (a manager or an admin); returns the ``otpauth://`` URI to show once,
    for an authenticator app. From then on their console log-in asks for the code."""
    user = get_user(session, name)
    if Role(user.role) not in TOTP_ROLES:
        raise UserError(f"name: a {user.role} has no second factor (managers and admins may)")
    user.totp_secret, user.totp_step = pyotp.random_base32(), None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=name, issuer_name="dialer")


def disable_totp(session: Session, name: str) -> None:
    user = get_user(session, name)
    user.totp_secret, user.totp_step = None, None


def take_code(user: User, code: str, now: datetime) -> bool:
    """True when ``code`` is the user's for the current step or one either side (clock drift), and that step
    is later than the last one taken: each code is taken once, so one read over a shoulder cannot be replayed.
    The caller commits the step with the session."""
    assert user.totp_secret is not None
    totp, step = pyotp.TOTP(user.totp_secret), int(now.timestamp()) // _STEP_S
    for candidate in (step - 1, step, step + 1):
        if candidate > (user.totp_step or -1) and hmac.compare_digest(totp.at(candidate * _STEP_S), code):
            user.totp_step = candidate
            return True
    return False


def _matches(stored: str, password: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                           maxmem=64 << 20)
    return hmac.compare_digest(found.hex(), digest)


def token_hash(token: str) -> str:
    """The stored form of a token (SHA-256, hex)."""
    return _token_hash(token)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"user: no user called {name!r}")
    return user


@dataclass(frozen=True)
class Scope:
    """What a user may reach: the names of their companies and the ids of the campaigns they see (every campaign
    of their companies for admins and analysts, the granted ones of their companies for the rest)."""

    companies: frozenset[str]
    campaigns: frozenset[int]


def _grantable(session: Session, name: str, companies: set[str], campaigns: tuple[str, ...]) -> list[int]:
    """Ids of the named campaigns, each of one of ``companies`` (user ``name``'s); UserError naming the first that
    is not."""
    ids = []
    for campaign in campaigns:
        found = session.execute(select(Campaign.id, Campaign.company).where(Campaign.name == campaign)).first()
        if found is None:
            raise UserError(f"campaign: no campaign called {campaign!r}")
        if found.company not in companies:
            raise UserError(f"campaign: {campaign!r} is a campaign of company {found.company!r}, which {name!r} "
                            f"does not belong to (dialer users join {name} --company {found.company})")
        ids.append(found.id)
    return ids


def add_user(session: Session, name: str, role: Role, now: datetime, password: str | None = None,
             campaigns: tuple[str, ...] = (), companies: tuple[str, ...] = (DEFAULT_COMPANY,)) -> User:
    """A new account with ``role``, member of ``companies`` and granted ``campaigns`` (names, each of one of those
    companies); everything is checked before anything is written. Flushes, the caller commits."""
    if not _NAME.fullmatch(name):
        raise UserError(f"name: {name!r} must be 1-64 letters, digits or _ . @ -")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"name: a user called {name!r} already exists")
    grants = _grantable(session, name, {get_company(session, c).name for c in companies}, campaigns)
    user = User(name=name, role=role.value, created_at=to_db(now), disabled=False,
                password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    session.flush()
    add_members(session, user.id, companies)
    session.add_all(CampaignGrant(user_id=user.id, campaign_id=c) for c in grants)
    session.flush()
    return user


MENTOR_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.MANAGER})  # who takes calls or watches them


def set_trainee(session: Session, name: str, mentor: str | None) -> None:
    """Mark agent ``name`` a trainee under ``mentor``, or (``mentor`` None) end their traineeship.

    Why the checks: a mentor listens to the trainee's calls, so they must be
    someone who takes or watches calls (``MENTOR_ROLES``) and a member of one
    of the trainee's companies; nobody mentors themselves. UserError names
    ``mentor`` or ``user``."""
    user = get_user(session, name)
    if user.role != Role.AGENT.value:
        raise UserError(f"user: {name!r} is a {user.role}; only agents are trainees")
    if mentor is None:
        user.trainee, user.mentor_id = False, None
        return
    guide = get_user(session, mentor)
    if guide.id == user.id:
        raise UserError("mentor: nobody mentors themselves")
    if Role(guide.role) not in MENTOR_ROLES:
        raise UserError(f"mentor: {mentor!r} is an {guide.role}; a mentor is an agent, supervisor or manager")
    if not set(companies_of(session, user.id)) & set(companies_of(session, guide.id)):
        raise UserError(f"mentor: {mentor!r} belongs to none of {name!r}'s companies")
    user.trainee, user.mentor_id = True, guide.id
    session.flush()


def join(session: Session, name: str, companies: tuple[str, ...]) -> None:
    """Make the user a member of ``companies`` too (memberships held already are kept once)."""
    add_members(session, get_user(session, name).id, companies)


def grant(session: Session, name: str, campaigns: tuple[str, ...]) -> None:
    """Let the user see ``campaigns`` too, each of a company they belong to (already granted ones are kept once)."""
    user = get_user(session, name)
    have = set(session.scalars(select(CampaignGrant.campaign_id).where(CampaignGrant.user_id == user.id)))
    mine = set(companies_of(session, user.id))
    session.add_all(CampaignGrant(user_id=user.id, campaign_id=c)
                    for c in _grantable(session, name, mine, campaigns) if c not in have)
    session.flush()


def scope_of(session: Session, user: User) -> Scope:
    """The user's companies and the campaigns they see. A grant counts only within a company the user belongs to,
    so no grant, however made, reaches across companies."""
    companies = frozenset(companies_of(session, user.id))
    query = select(Campaign.id).where(Campaign.company.in_(companies))
    if user.role not in _EVERY_CAMPAIGN:
        query = query.join(CampaignGrant, CampaignGrant.campaign_id == Campaign.id).where(
            CampaignGrant.user_id == user.id)
    return Scope(companies, frozenset(session.scalars(query)))


def issue_token(session: Session, name: str, now: datetime, label: str | None = None, kind: str = "api",
                ttl: timedelta | None = None) -> str:
    """A new random token for ``name``; only its hash is stored, so this is the one time it is seen."""
    user = get_user(session, name)
    if user.disabled:
        raise UserError(f"user: {name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), kind=kind, label=label,
                         created_at=to_db(now), expires_at=to_db(now + ttl) if ttl else None))
    session.flush()
    return token


def revoke_tokens(session: Session, now: datetime, name: str | None = None, token: str | None = None) -> int:
    """Revoke every live token (and console session) of ``name``, or the one ``token``; returns how many."""
    where: list[ColumnElement[bool]] = [ApiToken.revoked_at.is_(None)]
    if token is not None:
        where.append(ApiToken.token_hash == _token_hash(token))
    if name is not None:
        where.append(ApiToken.user_id == get_user(session, name).id)
    if len(where) == 1:
        raise UserError("revoke: give a user name or a token")
    result = session.execute(update(ApiToken).where(*where).values(revoked_at=to_db(now)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    """The enabled user a live (not revoked, not expired) token belongs to, else None."""
    row = session.execute(select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    user, expires = row
    expires_at = as_utc(expires)
    if user.disabled or (expires_at is not None and expires_at <= now):
        return None
    return user  # type: ignore[no-any-return]


def token_expiry(session: Session, token: str) -> datetime | None:
    """When a token expires (aware), None for one that does not."""
    return as_utc(session.scalar(select(ApiToken.expires_at).where(ApiToken.token_hash == _token_hash(token))))


def revoked_since(session: Session, since: datetime) -> list[str]:
    """Hashes of the tokens revoked at or after ``since``: what a cache of live tokens must forget."""
    return list(session.scalars(select(ApiToken.token_hash).where(ApiToken.revoked_at >= to_db(since))))


def list_users(session: Session, now: datetime, companies: frozenset[str] | None = None) -> list[UserInfo]:
    """Accounts with their role, companies, granted campaigns and count of live tokens; with ``companies``, only
    the members of those, each shown with only those companies and their campaigns (an admin of one company
    learns nothing of another's)."""
    shown = companies if companies is not None else frozenset(session.scalars(select(Company.name)))
    names: dict[int, str] = {i: n for i, n in session.execute(
        select(Campaign.id, Campaign.name).where(Campaign.company.in_(shown)))}
    grants: dict[int, list[str]] = {}
    for user_id, campaign_id in session.execute(select(CampaignGrant.user_id, CampaignGrant.campaign_id)):
        if campaign_id in names:
            grants.setdefault(user_id, []).append(names[campaign_id])
    members: dict[int, list[str]] = {}
    for user_id, company in session.execute(select(CompanyMember.user_id, Company.name).join(
            Company, Company.id == CompanyMember.company_id).where(Company.name.in_(shown))):
        members.setdefault(user_id, []).append(company)
    live: dict[int, int] = {}
    for user_id, expires in session.execute(select(ApiToken.user_id, ApiToken.expires_at).where(
            ApiToken.revoked_at.is_(None))):
        if expires is None or as_utc(expires) > now:  # type: ignore[operator]
            live[user_id] = live.get(user_id, 0) + 1
    users = [u for u in session.scalars(select(User).order_by(User.name)) if companies is None or u.id in members]
    shown_names = {u.id: u.name for u in users}
    return [UserInfo(u.name, Role(u.role), tuple(sorted(members.get(u.id, []))),
                     tuple(sorted(grants.get(u.id, []))), live.get(u.id, 0), u.password_hash is not None, u.disabled,
                     u.trainee, shown_names.get(u.mentor_id) if u.mentor_id is not None else None)
            for u in users]


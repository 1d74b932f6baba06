"""Who is asking: bearer tokens and console session cookies, roles, companies and campaign grants, the login
rate limit.

Why the same accounts for both: an agent's console and a CRM's script are
the same person or system as far as the audit log goes. A console logs in
with a name and password and gets a session cookie (HttpOnly: no script can
read it; SameSite=Strict: no other site can send it); the cookie's value is
a token like the CLI's, stored hashed, revoked by ``dialer users revoke``.

Every caller is scoped to the companies they belong to, admins included
(``Principal.companies``): a campaign, lead, upload or DNC list of another
company answers 404, as if it did not exist, whatever exists there.

Lookups are cached for ``CACHE_S`` (2 s) so a busy agent's requests do not
each read the store: a revoked token stops working within that time.
Failed logins back off per account and address, per account, and per
address (``Backoff``: then 429 with Retry-After), so a password cannot be
guessed online and one person's typos lock out nobody else behind their proxy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.dependencies.models import Dependant
from sqlalchemy import select
from starlette.requests import HTTPConnection

from dialer.api.csrf import CSRF_COOKIE, check_browser, check_origin, csrf_token
from dialer.api.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, LoginIn, MeOut, UserOut
from dialer.service.users import (
    Role,
    issue_token,
    list_users,
    revoke_tokens,
    revoked_since,
    scope_of,
    take_code,
    token_expiry,
    token_hash,
    user_for_token,
    verify_login,
)
from lists.models import Campaign, User

__all__ = ["Principal", "TokenCache", "LoginLimiter", "Backoff", "PAIR", "ACCOUNT", "ADDRESS", "principal",
           "require", "Require", "roles_of", "floor_of", "router",
           "SESSION_COOKIE", "CACHE_S", "NEEDS_NUMBERS", "visible", "own_company", "login", "logout",
           "me", "users", "principal_from_token", "Caller",
           "authenticate", "KEEP_S"]

SESSION_COOKIE = "dialer_session"
CACHE_S = 2.0  # seconds: how soon a revocation takes effect (the revocation poll), and unknown tokens are kept
KEEP_S = 60.0  # seconds a known token's principal is kept between revocation polls
SESSION_TTL = timedelta(hours=12)
NEEDS_NUMBERS = frozenset({Role.MANAGER, Role.ADMIN})  # who sees phone numbers unmasked (DNC work, exports)

router = APIRouter(prefix="/api/v1", tags=["users"], responses=ERRORS)


@dataclass(frozen=True)
class Principal:
    """The caller. ``companies``: names of those they belong to; ``campaigns``: ids they may see, all of those
    companies (every campaign of them for admins and analysts: ``dialer.service.users.scope_of``). ``token`` is
    the raw credential only so that logout can revoke its own session."""

    user_id: int
    name: str
    role: Role
    companies: frozenset[str]
    campaigns: frozenset[int]
    token: str

    def sees(self, campaign_id: int) -> bool:
        return campaign_id in self.campaigns

    @property
    def unmasked(self) -> bool:
        return self.role in NEEDS_NUMBERS


class TokenCache:
    """Token → principal, kept ``KEEP_S`` seconds (or until the token expires), unknown tokens ``CACHE_S``.

    Why not a plain short cache: an agent's requests come every few seconds,
    so a 2 s cache missed nearly every time and put a store read on each
    disposition (p99 95 ms with 200 agents). Instead, every ``CACHE_S`` a
    poll asks the store which tokens were revoked since the last poll and
    forgets them, so a revocation still takes effect within about 2 s.
    """

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Principal | None]] = {}  # by token hash
        self.polled = time.monotonic()
        self.since: datetime | None = None  # real time of the last poll's start
        self.polling = False
        self.task: asyncio.Task[None] | None = None

    def kick(self, floor: Floor) -> None:
        """Start a revocation poll in the background when one is due (requests never wait for it)."""
        if not self.polling and time.monotonic() - self.polled >= CACHE_S:
            self.task = asyncio.get_running_loop().create_task(self.poll(floor))

    def get(self, token: str) -> tuple[bool, Principal | None]:
        hit = self.entries.get(token_hash(token))
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, token: str, who: Principal | None, keep_s: float = KEEP_S) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[token_hash(token)] = (time.monotonic() + (keep_s if who else CACHE_S), who)

    def drop(self, token: str) -> None:
        self.entries.pop(token_hash(token), None)

    def forget(self, hashes: list[str]) -> None:
        for digest in hashes:
            self.entries.pop(digest, None)

    async def poll(self, floor: Floor) -> None:
        """Forget tokens revoked since the last poll (at most one poll in flight)."""
        if self.polling or time.monotonic() - self.polled < CACHE_S:
            return
        self.polling, started = True, floor.now_utc()
        try:
            since = self.since or started - timedelta(seconds=KEEP_S)
            self.forget(await floor.off_loop(_revoked, floor, since - timedelta(seconds=1)))
            self.since, self.polled = started, time.monotonic()
        finally:
            self.polling = False


def _revoked(floor: Floor, since: datetime) -> list[str]:
    with floor.factory() as session:
        return revoked_since(session, since)


@dataclass(frozen=True)
class Backoff:
    """A login throttle for one kind of key: after ``free`` failures the next try waits ``base_s`` seconds,
    doubled per further failure up to ``cap_s``; a key whose last failure is ``forget_s`` old starts afresh."""

    free: int
    base_s: float
    cap_s: float
    forget_s: float

    def wait_s(self, failures: int) -> float:
        return 0.0 if failures < self.free else min(self.cap_s, self.base_s * 2 ** (failures - self.free))


# Why three keys: a person mistyping is one account from one address; a guesser spread over many addresses
# is one account from anywhere; a sprayer trying many accounts is one address. No key is an address alone at
# a low count, so the people behind one proxy do not lock each other out.
PAIR = Backoff(free=5, base_s=1.0, cap_s=300.0, forget_s=900.0)
ACCOUNT = Backoff(free=20, base_s=2.0, cap_s=900.0, forget_s=3600.0)
ADDRESS = Backoff(free=100, base_s=1.0, cap_s=300.0, forget_s=900.0)


class LoginLimiter:
    """Failed logins per (account, address), per account and per address, each with its back-off; times are
    ``clock()`` seconds (monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[tuple[str, ...], tuple[int, float]] = {}  # key: (count, last failure)

    def _keys(self, account: str, address: str) -> tuple[tuple[tuple[str, ...], Backoff], ...]:
        return (("pair", account, address), PAIR), (("account", account), ACCOUNT), (("address", address), ADDRESS)

    def check(self, account: str, address: str) -> None:
        """429 with the seconds to wait while any of the three keys is backing off."""
        now = self.clock()
        for key, rule in self._keys(account, address):
            count, last = self.failures.get(key, (0, now))
            if now - last >= rule.forget_s:
                self.failures.pop(key, None)
                continue
            left = last + rule.wait_s(count) - now
            if left > 0:
                raise TooManyRequests("too many failed logins; try again later", left)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        for key, rule in self._keys(account, address):
            count, last = self.failures.get(key, (0, now))
            self.failures[key] = (1 if now - last >= rule.forget_s else count + 1, now)

    def succeeded(self, account: str, address: str) -> None:
        """The account's own failures end with its right password; the address's stay (it may spray others)."""
        self.failures.pop(("pair", account, address), None)
        self.failures.pop(("account", account), None)


def floor_of(request: HTTPConnection) -> Floor:
    return request.app.state.floor  # type: ignore[no-any-return]


def _load(floor: Floor, token: str, now: datetime) -> tuple[Principal | None, float]:
    """The token's principal and how long it may be cached (seconds: until it expires, at most ``KEEP_S``)."""
    with floor.factory() as session:
        user = user_for_token(session, token, now)
        if user is None:
            return None, CACHE_S
        scope = scope_of(session, user)
        expires = token_expiry(session, token)
        keep_s = KEEP_S if expires is None else min(KEEP_S, (expires - now).total_seconds())
        return Principal(user.id, user.name, Role(user.role), scope.companies, scope.campaigns, token), keep_s


def _credential(request: HTTPConnection) -> tuple[str | None, bool]:
    """The token, and whether it came in the session cookie (so the browser may have sent it on its own)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None, False
    return request.cookies.get(SESSION_COOKIE) or None, True


async def principal(request: Request) -> Principal:
    """The authenticated caller, or 401."""
    return await authenticate(request)


async def authenticate(request: HTTPConnection) -> Principal:
    """The caller of a request or a WebSocket, or 401; 403 for a cookie sent by a page not of the consoles."""
    token, cookie = _credential(request)
    if token is None:
        raise Unauthorized("log in first: a bearer token or the console's session cookie", "authorization")
    floor = floor_of(request)
    if cookie:
        check_browser(request, token, floor.cors_origins)
    cache: TokenCache = request.app.state.tokens
    cache.kick(floor)
    hit, who = cache.get(token)
    if not hit:
        who, keep_s = await floor.off_loop(_load, floor, token, floor.now_utc())
        cache.put(token, who, keep_s)
    if who is None:
        raise Unauthorized("the token or session is unknown, revoked or expired", "authorization")
    return who


Caller = Annotated[Principal, Depends(principal)]


class Require:
    """A dependency: the caller, if their role is one of ``roles``; 403 otherwise.

    Why a class: the roles stay readable on the route, so the OpenAPI
    document says who may call each operation (``x-roles``, from
    ``roles_of``), and the authorization test reads them there instead of
    from a table kept by hand."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, who: Caller) -> Principal:
        if who.role not in self.roles:
            raise Forbidden(f"a {who.role.value} may not do this", "role")
        return who


def require(*roles: Role) -> Require:
    return Require(*roles)


def roles_of(dependant: Dependant) -> frozenset[Role] | None:
    """The roles a route lets in: those of its ``Require``, every role when it needs only a credential, None
    when it needs none (the login)."""
    calls = [dependant.call] + [d.call for d in dependant.dependencies]
    for call in calls:
        if isinstance(call, Require):
            return call.roles
    if principal in calls or any(roles_of(d) is not None for d in dependant.dependencies):
        return frozenset(Role)
    return None


def _login(floor: Floor, body: LoginIn, now: datetime) -> tuple[str, User] | None:
    """The new session's token and its user; None for a wrong password or code. An account with a second
    factor and no code given: 401 naming ``otp``. Codes are checked against the wall clock, as the
    authenticator app keeps it, whatever the simulated world's time."""
    with floor.factory() as session:
        user = verify_login(session, body.username, body.password)
        if user is None:
            return None
        if user.totp_secret is not None:
            if body.otp is None:
                raise Unauthorized("enter the 6-digit code of your authenticator app", "otp")
            if not take_code(user, body.otp, datetime.now(UTC)):
                return None
        token = issue_token(session, body.username, now, "console", kind="session", ttl=SESSION_TTL)
        session.commit()
        return token, user


@router.post("/auth/login", response_model=MeOut)
async def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Console log-in: sets the HttpOnly, SameSite=Strict session cookie, and the anti-forgery token's cookie
    the consoles read (``dialer.api.csrf``)."""
    if "origin" in request.headers or "referer" in request.headers:  # a browser: only the consoles log in
        check_origin(request, floor_of(request).cors_origins)
    limiter: LoginLimiter = request.app.state.logins
    keys = (body.username, request.client.host if request.client else "?")
    limiter.check(*keys)
    floor = floor_of(request)
    found = await floor.off_loop(_login, floor, body, floor.now_utc())
    if found is None:
        limiter.failed(*keys)
        raise Unauthorized("wrong user name, password or code", "password")
    limiter.succeeded(*keys)
    token, user = found
    secure, max_age = request.url.scheme == "https", int(SESSION_TTL.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure,
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf_token(token), max_age=max_age, samesite="strict", secure=secure, path="/")
    who = await principal_from_token(request, token)
    return await _me(floor, who)


async def _me(floor: Floor, who: Principal) -> MeOut:
    def names() -> dict[str, str]:
        with floor.factory() as session:
            return {str(i): n for i, n in session.execute(
                select(Campaign.id, Campaign.name).where(Campaign.id.in_(who.campaigns)))}

    return MeOut(name=who.name, role=who.role.value, companies=sorted(who.companies), campaigns=sorted(who.campaigns),
                 campaign_names=await floor.off_loop(names))


async def principal_from_token(request: Request, token: str) -> Principal:
    floor = floor_of(request)
    who, keep_s = await floor.off_loop(_load, floor, token, floor.now_utc())
    assert who is not None
    request.app.state.tokens.put(token, who, keep_s)
    return who  # type: ignore[no-any-return]


def _revoke(floor: Floor, token: str, now: datetime) -> None:
    with floor.factory() as session:
        revoke_tokens(session, now, token=token)
        session.commit()


@router.post("/auth/logout", status_code=204)
async def logout(who: Caller, request: Request, response: Response) -> None:
    """Ends a console session (a bearer token is only revoked from the CLI)."""
    if request.cookies.get(SESSION_COOKIE) == who.token:
        floor = floor_of(request)
        await floor.off_loop(_revoke, floor, who.token, floor.now_utc())
        request.app.state.tokens.drop(who.token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/users/me", response_model=MeOut)
async def me(who: Caller, request: Request) -> MeOut:
    """The caller's name, role, companies and the campaigns they may see."""
    return await _me(floor_of(request), who)


@router.get("/users", response_model=list[UserOut])
async def users(request: Request, who: Annotated[Principal, Depends(require(Role.ADMIN))]) -> list[UserOut]:
    """The accounts of the admin's companies (admins only); issue and revoke tokens with ``dialer users``."""
    floor = floor_of(request)

    def read() -> list[UserOut]:
        with floor.factory() as session:
            return [UserOut(name=u.name, role=u.role.value, companies=list(u.companies), campaigns=list(u.campaigns),
                            active_tokens=u.active_tokens, trainee=u.trainee, mentor=u.mentor)
                    for u in list_users(session, floor.now_utc(), who.companies)]

    return await floor.off_loop(read)  # type: ignore[no-any-return]


def visible(who: Principal, campaign_id: int) -> None:
    """404 unless the caller may see the campaign (a campaign one may not see is one that does not exist)."""
    if not who.sees(campaign_id):
        raise NotFound(f"no campaign {campaign_id}", "campaign_id")


def own_company(who: Principal, company: str) -> None:
    """404 unless the caller belongs to ``company``: the same answer whether another company of that name exists
    or not, so nobody learns which companies a store holds."""
    if company not in who.companies:
        raise NotFound(f"no company {company!r} of yours", "company")

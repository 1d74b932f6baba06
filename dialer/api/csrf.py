"""Cross-site request forgery: a request the browser sends with the session cookie must come from the consoles.

Why two checks when the cookie is already SameSite=Strict: a site on the
same registrable domain (another port, another subdomain) is "same-site",
so the browser sends the cookie with its requests; a ``text/plain`` POST
needs no CORS preflight, and a WebSocket has no CORS at all. So every
cookie-authenticated state change must carry an ``Origin`` (or ``Referer``)
of the daemon itself or of ``[http] cors_origins``, and a token the page
read from the ``dialer_csrf`` cookie, which a page of another origin cannot
read. The token is derived from the session, so it needs no storage and a
new session makes it new. A WebSocket handshake must carry an allowed Origin.
Bearer-token callers (scripts, CRMs) send no cookie and are not affected.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from dialer.api.errors import Forbidden

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "csrf_token", "check_browser", "check_origin"]

CSRF_COOKIE = "dialer_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session: str) -> str:
    """The session's anti-forgery token (hex): one-way, so the page's copy reveals nothing of the session."""
    return hashlib.sha256(f"dialer csrf {session}".encode()).hexdigest()


def _origin_of(connection: HTTPConnection) -> str | None:
    origin = connection.headers.get("origin")
    if origin is None and (referer := connection.headers.get("referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    return origin


def _own_origin(connection: HTTPConnection) -> str:
    """The daemon's origin as the browser sees it (behind a trusted proxy, its scheme and host)."""
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    return f"{scheme}://{connection.url.netloc}"


def check_origin(connection: HTTPConnection, allowed: tuple[str, ...]) -> None:
    """403 naming ``origin`` unless the request comes from the daemon's own origin or one of ``allowed``."""
    origin = _origin_of(connection)
    if origin is None or origin not in (_own_origin(connection), *allowed):
        raise Forbidden(f"a request with the session cookie from {origin or 'no origin'} is refused: "
                        "use the consoles, or a bearer token", "origin")


def check_browser(connection: HTTPConnection, session: str, allowed: tuple[str, ...]) -> None:
    """The checks a cookie-authenticated request must pass: an allowed origin for a WebSocket or any state
    change, and the session's token in ``X-CSRF-Token`` for a state change."""
    websocket = connection.scope["type"] == "websocket"
    if not websocket and connection.scope["method"] in _SAFE:
        return
    check_origin(connection, allowed)
    if not websocket and not hmac.compare_digest(connection.headers.get(CSRF_HEADER, ""), csrf_token(session)):
        raise Forbidden("the anti-forgery token is missing or wrong: reload the console", CSRF_HEADER)

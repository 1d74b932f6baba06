"""The API's errors and their HTTP status: every deliberate error is a ``DialerError`` and becomes a 4xx.

Why one table: bad input must never surface as a 5xx, and a client needs the
field that was wrong. ``InvalidInput`` already names its argument; the
errors below name theirs::

    DialerError
    └── ApiError            422: ``field`` names what was wrong
        ├── Unauthorized    401: no token or session, or a dead one
        ├── Forbidden       403: the role may not do this
        ├── NotFound        404: no such thing, or one this user may not know exists
        ├── Conflict        409: a stale version, or a state that does not allow it now
        └── TooManyRequests 429: too many failed logins; ``retry_after_s``
"""

from __future__ import annotations

from dialer.errors import DialerError

__all__ = ["ApiError", "Unauthorized", "Forbidden", "NotFound", "Conflict", "TooManyRequests"]


class ApiError(DialerError):
    """A request the API refuses; ``field`` names the part of the request at fault (None: the request)."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

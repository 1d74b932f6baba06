"""The project's root exception.

Every error the service raises on purpose derives from ``DialerError``, so a
caller (the CLI, the API) can turn them all into a clear message and a 4xx
or exit code 2, and let anything else surface as a bug:

    DialerError
    └── pacing.errors.PacingError
        ├── InvalidInput
        └── Overloaded
"""

from __future__ import annotations

__all__ = ["DialerError"]


class DialerError(Exception):
    """Base class of every deliberate error in the dialer."""

    exit_code = 2

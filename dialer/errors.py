"""The project's root exception, and the errors that belong to no one package.

Every error the service raises on purpose derives from ``DialerError``, so a
caller (the CLI, the API) can turn them all into a clear message and a 4xx
or exit code 2, and let anything else surface as a bug:

    DialerError
    ├── pacing.errors.PacingError
    │   ├── InvalidInput      an argument out of its domain (also used by lists/ and the CLI)
    │   └── Overloaded
    ├── lists.campaigns.NothingToRetarget   a retarget matched no lead: nothing made (exit 1)
    ├── StoreError            the store's URL cannot be opened: not a URL, no driver, no server, no folder,
    │                         read-only, or held by another daemon
    ├── dialer.service.config.ConfigError    a daemon configuration it cannot run (file, line, key)
    ├── dialer.service.http.ListenError      the daemon's HTTP port cannot be opened
    ├── IllegalTransition     a call, an agent or a lead asked to move where its state table does not allow
    └── Interrupted           a long job was stopped part-way; says what it had already done
"""

from __future__ import annotations

__all__ = ["DialerError", "StoreError", "IllegalTransition", "Interrupted"]


class DialerError(Exception):
    """Base class of every deliberate error in the dialer."""

    exit_code = 2


class StoreError(DialerError):
    """The store cannot be opened or reached. ``url`` is shown with its password hidden.

    Why its own class: a mistyped URL is the user's input, not a bug, so it
    must reach them as one line naming the URL, never as SQLAlchemy's
    traceback (which also prints the password).
    """

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"store {url}: {message}")
        self.url = url


class IllegalTransition(DialerError):
    """A call, an agent or a lead was asked to move where its state table does not allow: a bug or a stale event.

    Why here: the call's and the agent's tables (``dialer.core``) and the
    lead's (``lists.lifecycle``) sit in different layers, and all three
    refuse a move alike, so the API answers each with a 409.
    """


class Interrupted(DialerError):
    """Ctrl-C (or a signal) stopped a job; the message says what was kept, so a re-run can finish it.

    Exit code 130 is the shell's convention for a stop by SIGINT.
    """

    exit_code = 130

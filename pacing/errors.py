"""Errors raised by the pacing maths.

    DialerError                (dialer.errors, the project's root)
    └── PacingError
        ├── InvalidInput       an argument is out of its domain; names the argument
        └── Overloaded         Erlang C asked for a load at or above the agent count
"""

from __future__ import annotations

from dialer.errors import DialerError

__all__ = ["PacingError", "InvalidInput", "Overloaded"]


class PacingError(DialerError):
    """Anything the pacing package refuses to compute."""


class InvalidInput(PacingError, ValueError):
    """An argument is outside its domain. ``argument`` names it for the CLI and API."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


class Overloaded(InvalidInput):
    """Erlang C has no steady state when offered load ≥ agents; use Erlang-A or M/M/n+D."""

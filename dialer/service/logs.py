"""Logs as one JSON object per line, with phone numbers and names masked.

Why JSON lines: journald and log shippers index fields, so an operator
filters ``campaign`` or ``event`` without regular expressions. Why masking
here, at the one formatter: any message, from any module, may carry a lead's
number; the formatter hides every E.164-looking number (``lists.numbers``'
operator masking: first and last three digits) and every field named for a
person, so nothing reaches the journal unmasked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from lists.numbers import mask_number

__all__ = ["JsonFormatter", "mask_text", "mask_name", "setup_logging", "PERSON_FIELDS"]

_NUMBER = re.compile(r"\+\d{7,15}")
PERSON_FIELDS = frozenset({"person", "lead_name", "first_name", "last_name", "full_name"})  # "name" is the logger's
_NUMBER_FIELDS = frozenset({"number", "phone", "phone_e164", "caller"})
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_text(text: str) -> str:
    """Every E.164 number in ``text`` masked: ``call to +33142685300`` → ``call to +331*****300``."""
    return _NUMBER.sub(lambda m: mask_number(m.group(0)), text)


def mask_name(name: str) -> str:
    """A person's name reduced to initials: ``Jeanne Martin`` → ``J. M.``."""
    return " ".join(f"{part[0]}." for part in name.split() if part) or "*"


def _masked(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in PERSON_FIELDS:
            return mask_name(value)
        return mask_number(value) if key in _NUMBER_FIELDS else mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(key, v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra}``; fields passed with ``extra=`` are kept, masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": mask_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = _masked(key, value)
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Route every logger to one JSON-lines handler on ``stream`` (stderr: journald keeps it)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

"""A report's period: from a moment to a moment, read from ``--from``/``--to`` in the campaign's zone.

Why a module of its own: every report over time reads one (the ledger reports, the agents report, the audit
trail, the quality scores), and the quality scores feed the agents report, so the period cannot live in
``lists.reports`` without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from lists.models import to_db
from pacing.days import local_midnight
from pacing.errors import InvalidInput

__all__ = ["Period", "EVERYTHING", "period_of"]


@dataclass(frozen=True)
class Period:
    """What a report covers: from ``start`` (included) to ``end`` (excluded), aware moments; None is open.
    ``label`` says it in the words it was asked in ("" for all time)."""

    start: datetime | None = None
    end: datetime | None = None
    label: str = ""

    def holds(self, moment: Any) -> list[ColumnElement[bool]]:
        """The conditions that keep a stored (naive UTC) moment within the period."""
        conditions = []
        if self.start is not None:
            conditions.append(moment >= to_db(self.start))
        if self.end is not None:
            conditions.append(moment < to_db(self.end))
        return conditions

    def titled(self, title: str) -> str:
        return f"{title}, {self.label}" if self.label else title


EVERYTHING = Period()


def _moment(text: str, option: str, zone: str, day_end: bool) -> tuple[datetime, str]:
    """A date (the day's first moment; with ``day_end``, the next day's) or an ISO date and time (a time
    without an offset is the campaign's), in UTC, and how to say it."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return local_midnight(day + timedelta(days=day_end), zone).astimezone(UTC), day.isoformat()
        moment = datetime.fromisoformat(text)
        aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))
        return aware.astimezone(UTC), aware.isoformat(sep=" ", timespec="minutes")
    except (ValueError, OverflowError):
        raise InvalidInput(option, f"{text!r} is not a date (YYYY-MM-DD) or a date and time "
                                   "(YYYY-MM-DDTHH:MM, an offset optional)") from None


def period_of(start: str | None, end: str | None, zone: str) -> Period:
    """The period from ``--from`` to ``--to`` as typed: a date is a whole day of the campaign's zone, and
    ``--to`` takes in its day; an ISO date and time is that moment. InvalidInput names the option."""
    first = _moment(start, "from", zone, day_end=False) if start else None
    last = _moment(end, "to", zone, day_end=True) if end else None
    if first and last and last[0] <= first[0]:
        raise InvalidInput("to", f"{end} is not after --from {start}")
    words = [f"from {first[1]}" if first else "", f"to {last[1]}" if last else ""]
    label = " ".join(w for w in words if w)
    return Period(first[0] if first else None, last[0] if last else None, f"{label} ({zone})" if label else "")

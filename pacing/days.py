"""The campaign's civil day: seconds in a day, local midnight, and a day's index.

Why one module: the ledger, the estimators, the pacing memory, the daemon's
clock, the recorder, the restore and the simulator all split time into a
campaign's local days. Each doing it its own way let them disagree about
which day an answer fell on; here each asks the same three things.

Civil seconds are the local clock's reading counted from a local midnight
(``civil_seconds``), so ``day_index`` is the local day and ``% DAY_S`` the time
of day even across a daylight-saving change, when a local day lasts 23 or
25 hours of elapsed time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DAY_S", "local_midnight", "day_index", "civil_seconds"]

DAY_S = 86_400.0  # civil seconds in a civil day


def local_midnight(day: date | datetime, zone: str) -> datetime:
    """The aware midnight, in ``zone``, that starts ``day`` (a date, or the local date of an aware moment)."""
    tz = ZoneInfo(zone)
    if isinstance(day, datetime):
        day = day.astimezone(tz).date()
    return datetime.combine(day, time(0), tzinfo=tz)


def day_index(civil_s: float) -> int:
    """The index of the civil day holding ``civil_s`` civil seconds, counted from day 0's midnight."""
    return int(civil_s // DAY_S)


def civil_seconds(origin: datetime, zone: str) -> Callable[[float], float]:
    """Engine seconds (elapsed since ``origin``, an aware local midnight) to civil seconds from that midnight."""
    tz, origin_utc = ZoneInfo(zone), origin.astimezone(UTC)  # aware arithmetic in a zone is wall-clock arithmetic
    start = origin.astimezone(tz).replace(tzinfo=None)

    def civil(seconds: float) -> float:
        local = (origin_utc + timedelta(seconds=seconds)).astimezone(tz).replace(tzinfo=None)
        return (local - start).total_seconds()

    return civil

"""A wall-clock daemon's days follow local midnight across daylight-saving changes.

Why: the UK cap is per calendar day and the controller's estimators learn by
hour of day, both from ``t // 86400`` and ``t % 86400`` of the times they
are given. Engine time counts real seconds, so after a change of clocks a
local day is 23 or 25 hours of it; the engine hands the controller civil
seconds (``pacing.days.civil_seconds``) instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialer.core.engine import CampaignSettings, Engine
from pacing.days import civil_seconds
from tests.test_engine import Scripted, Telephony, World

LONDON = ZoneInfo("Europe/London")
SPRING = datetime(2027, 3, 27, tzinfo=LONDON)  # the clocks go forward at 01:00 on Sunday 28 March 2027
AUTUMN = datetime(2027, 10, 30, tzinfo=LONDON)  # and back at 02:00 on Sunday 31 October 2027


def _real_s(moment: datetime, origin: datetime) -> float:
    """Real seconds between two aware moments (in one zone Python subtracts wall clocks: convert first)."""
    return (moment.astimezone(UTC) - origin.astimezone(UTC)).total_seconds()


@pytest.mark.parametrize(("origin", "local"), [
    (SPRING, datetime(2027, 3, 29, 0, 30)),  # Monday 00:30 BST: 47.5 real hours after Saturday's midnight
    (SPRING, datetime(2027, 3, 28, 9, 0)),
    (AUTUMN, datetime(2027, 11, 1, 0, 30)),  # Monday 00:30 GMT: 49.5 real hours after Saturday's midnight
    (AUTUMN, datetime(2027, 10, 31, 21, 0)),
])
def test_civil_seconds_give_the_local_day_and_time_of_day(origin, local):
    real_s = _real_s(local.replace(tzinfo=LONDON), origin)
    civil = civil_seconds(origin, "Europe/London")(real_s)
    day, time_of_day = divmod(civil, 86400)
    assert day == (local.date() - origin.date()).days
    assert time_of_day == local.hour * 3600 + local.minute * 60


def test_real_seconds_would_put_monday_after_the_spring_change_on_sunday():
    real_s = _real_s(datetime(2027, 3, 29, 0, 30, tzinfo=LONDON), SPRING)
    assert real_s // 86400 == 1  # Sunday: the day the civil clock fixes (above, day 2)


def test_the_engine_hands_the_controller_civil_times_and_keeps_ages_in_real_seconds():
    controller, telephony, world = Scripted(), Telephony(), World()
    engine = Engine(CampaignSettings("uk"), controller, world, telephony, world, world, world,
                    civil=civil_seconds(SPRING, "Europe/London"))
    monday_0830_s = _real_s(datetime(2027, 3, 29, 8, 30, tzinfo=LONDON), SPRING)
    engine.log_in("a1", monday_0830_s)
    controller.launches.append(1)
    engine.start_dialing(monday_0830_s, monday_0830_s + 3600)
    engine.advance(monday_0830_s)
    call = next(iter(engine.calls.values()))
    engine.answered(call.id, monday_0830_s + 7)
    seen = controller.seen[0]
    assert divmod(seen.now_s, 86400) == (2, 8.5 * 3600)  # Monday, 08:30 on the local clock
    assert monday_0830_s // 86400 == 2 and monday_0830_s % 86400 == 7.5 * 3600  # what real seconds would say
    outcome = controller.observed[0]
    assert outcome.dialled_at_s == seen.now_s and outcome.ring_s == 7.0

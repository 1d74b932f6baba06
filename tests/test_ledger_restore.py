"""A (re)started campaign goes on from the abandons already spent, read from the store's attempts.

Why: the UK cap is per calendar day and the US one over 30 days, and a daemon
that restarts or takes a campaign over mid-day starts a new controller. Its
abandonment ledger must count what the attempt ledger already holds, or the
afternoon spends the whole day's budget again. The daemon-level check (the
counts a restarted daemon restores equal the attempts the killed one wrote) is
in ``tests/test_daemon_crash.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.core.calls import AmdResult, Disposition
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.outcomes import LineEnd
from lists.campaigns import create_campaign
from lists.models import Attempt, Lead, answers_by_day, to_db
from lists.store import open_store
from pacing.controllers import Decision, Snapshot
from pacing.days import DAY_S, civil_seconds
from pacing.ledger import AbandonmentLedger, DayAnswers
from pacing.registry import make_controller
from tests.test_engine import Telephony, World

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 10, 24)  # the UK clocks go back in the night after it: the next day lasts 25 hours


def _midnights(first: date, count: int) -> list[datetime]:
    return [datetime.combine(first + timedelta(days=k), time(0), tzinfo=LONDON) for k in range(count)]


@pytest.fixture
def store(tmp_path):
    factory = open_store(f"sqlite:///{tmp_path / 'dialer.db'}")
    with factory() as session:
        ours = create_campaign(session, "Tariffs", kind="tariff-switch", rules_profile="uk")
        other = create_campaign(session, "Loans", kind="loan-offer", rules_profile="uk")
        for campaign in (ours, other):
            session.add(Lead(campaign_id=campaign.id, phone_e164="+447700900123", zones="Europe/London",
                             fields={}, status="new", attempts=0))
        session.commit()
        yield factory, session, ours.id, other.id
    factory.kw["bind"].dispose()


def _attempt(session, campaign_id: int, answered: datetime | None, outcome: str, **more) -> None:
    """One attempt answered at ``answered`` (local), dialled 20 s before."""
    dialled = (answered or datetime.combine(DAY, time(12), tzinfo=LONDON)) - timedelta(seconds=20)
    lead = session.query(Lead).filter_by(campaign_id=campaign_id).one()
    session.add(Attempt(lead_id=lead.id, campaign_id=campaign_id, dialled_at=to_db(dialled),
                        answered_at=to_db(answered) if answered else None, outcome=outcome,
                        abandoned=outcome == "abandoned", **more))


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=LONDON)


def test_each_kind_of_answer_is_counted_as_the_controller_counts_it(store):
    factory, session, ours, other = store
    noon = at(DAY, 12)
    _attempt(session, ours, noon, "human", connected_at=to_db(noon))
    _attempt(session, ours, noon, "human", connected_at=to_db(noon))
    _attempt(session, ours, noon, "abandoned", message_played="safe_harbour")  # dropped at the connect limit
    _attempt(session, ours, noon, "abandoned")  # hung up while waiting
    _attempt(session, ours, noon, "machine", amd_result="machine")  # AMD's verdict: not a live answer
    _attempt(session, ours, noon, "machine", amd_result="human", connected_at=to_db(noon))  # an agent found it
    _attempt(session, ours, None, "no_answer")
    _attempt(session, ours, noon, "interrupted")
    _attempt(session, other, noon, "abandoned")  # another campaign's
    session.commit()
    [counts] = answers_by_day(session, ours, _midnights(DAY, 2))
    assert counts == DayAnswers(live=5, abandoned=2, amd_machines=1, agent_machines=1, dropped=1)


def test_answers_fall_on_their_local_day_by_answer_time_across_a_clock_change(store):
    factory, session, ours, _ = store
    sunday = DAY + timedelta(days=1)  # 25 hours long
    _attempt(session, ours, at(DAY, 23, 59, 50), "abandoned")  # dialled on Saturday, answered on Saturday
    _attempt(session, ours, at(sunday, 0, 0, 10), "human")  # dialled on Saturday, answered on Sunday
    late = datetime(2026, 10, 25, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT again): still Sunday
    _attempt(session, ours, late.astimezone(LONDON), "human")
    _attempt(session, ours, at(sunday + timedelta(days=1), 0, 0, 5), "abandoned")  # Monday: after the last bound
    _attempt(session, ours, at(DAY - timedelta(days=1), 23, 59), "human")  # Friday: before the first bound
    session.commit()
    saturday, sunday_counts = answers_by_day(session, ours, _midnights(DAY, 3))
    assert (saturday.live, saturday.abandoned) == (1, 1)
    assert (sunday_counts.live, sunday_counts.abandoned) == (2, 0)


def _noon_ledger(morning: DayAnswers | None) -> AbandonmentLedger:
    """A ledger at noon with 60 live answers in the last 10 minutes, and ``morning`` restored (None: fresh)."""
    ledger = AbandonmentLedger(cap=0.03)
    if morning is not None:
        ledger.restore({0: morning})
    for k in range(60):
        ledger.live(NOON - 600 + 10 * k)
    return ledger


NOON, AFTERNOON_S = 12 * 3600.0, 6 * 3600.0


def test_a_morning_over_budget_restored_into_the_ledger_holds_the_afternoon_back():
    """A restart after a morning's burst (8% abandoned) leaves nothing to dial ahead with, and one at 3.2%
    leaves less than a fresh day: the afternoon brings the day back under the cap, as without the restart."""
    fresh = _noon_ledger(None).allowed_rate(NOON, AFTERNOON_S)
    assert fresh > 0.02
    assert _noon_ledger(DayAnswers(live=1000, abandoned=80)).allowed_rate(NOON, AFTERNOON_S) == 0.0
    near = _noon_ledger(DayAnswers(live=1000, abandoned=32))
    assert near.allowed_rate(NOON, AFTERNOON_S) < fresh - 0.001
    assert near.uk_rate(NOON) == pytest.approx(32 / 1060)


def test_thirty_days_restored_count_under_the_us_rule():
    ledger = AbandonmentLedger(cap=0.03)
    ledger.restore({day: DayAnswers(live=100, abandoned=3.5) for day in range(-29, 1)})
    assert ledger.us_rate(0.5 * DAY_S) == pytest.approx(0.035)
    assert ledger.us_rate(1.5 * DAY_S) == pytest.approx(0.035)  # tomorrow: 29 of those days still count
    assert ledger.uk_rate(1.5 * DAY_S) == 0.0


class _Scripted:
    """A predictive controller whose launches the test scripts: the engine's own calls feed its real ledger."""

    reserves_agent, name = False, "predictive"

    def __init__(self) -> None:
        self.inner, self.launch = make_controller("predictive", 0.03), 0

    def decide(self, snapshot: Snapshot) -> Decision:
        launch, self.launch = self.launch, 0
        return Decision(launch, "scripted")

    def placed(self, now_s: float, count: int) -> None:
        self.inner.placed(now_s, count)

    def observe(self, outcome) -> None:
        self.inner.observe(outcome)

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        self.inner.observe_handle(at_s, handle_s)

    def observe_machine(self, at_s: float) -> None:
        self.inner.observe_machine(at_s)


def _one_of_each(origin: datetime, day: date, amd: bool) -> tuple[list, _Scripted]:
    """Every way an answer ends, on ``day``, by a real engine whose clock counts from ``origin``; then a call
    dialled at 23:59:50 and answered after midnight."""
    controller, telephony, world = _Scripted(), Telephony(), World()
    engine = Engine(CampaignSettings("T", connect_limit_s=2.0, amd=amd), controller, world, telephony, world,
                    world, world, civil=civil_seconds(origin, "Europe/London"))
    engine.log_in("a1", 0.0)
    engine.start_dialing(0.0, 1e9)

    def launch(count: int, t: float) -> list:
        before = set(engine.calls)
        controller.launch = count
        engine._request_pace(t)
        engine.advance(t)
        return [engine.calls[k] for k in sorted(set(engine.calls) - before)]

    def answer(call, t: float) -> None:
        """A person answers at ``t``; with AMD on, the detector says so 3 s later."""
        engine.answered(call.id, t)
        if amd:
            engine.amd_result(call.id, t + 3, AmdResult(False))

    def talk(call, t: float, code: str) -> None:
        answer(call, t)
        engine.agent_hang_up("a1", t + 30)
        engine.wrap_done("a1", t + 40, Disposition(code))

    t = (datetime.combine(day, time(12), tzinfo=LONDON) - origin).total_seconds()
    talk(launch(1, t)[0], t + 10, "sale")
    talk(launch(1, t + 100)[0], t + 110, "machine")  # an agent found a machine
    first, second = launch(2, t + 200)
    answer(first, t + 205)
    answer(second, t + 206)  # no agent free: abandoned at the connect limit
    engine.advance(t + 215)
    engine.hung_up(second.id, t + 218)
    engine.agent_hang_up("a1", t + 240)
    engine.wrap_done("a1", t + 250, Disposition("sale"))
    engine.hung_up(launch(1, t + 300)[0].id, t + 325, LineEnd.NO_ANSWER)
    if amd:
        machine = launch(1, t + 400)[0]
        engine.answered(machine.id, t + 410)
        engine.amd_result(machine.id, t + 413, AmdResult(True))
        quick = launch(1, t + 500)[0]
        engine.answered(quick.id, t + 510)
        engine.hung_up(quick.id, t + 512)  # hung up while AMD listened: no agent reached them, an abandon
    late = (datetime.combine(day, time(23, 59, 50), tzinfo=LONDON) - origin).total_seconds()
    talk(launch(1, late)[0], late + 15, "sale")
    return world.recorded, controller


@pytest.mark.parametrize("origin_day, day, amd", [
    (DAY, DAY, False),
    (date(2026, 10, 20), date(2026, 11, 2), False),  # a daemon started days before, across the clock change
    (date(2026, 10, 20), date(2026, 11, 2), True),
    (date(2026, 3, 20), date(2026, 4, 2), True),  # and across the spring one
])
def test_the_stores_counts_are_the_ledger_the_engine_kept(tmp_path, origin_day, day, amd):
    """The engine's own calls, recorded as the daemon records them, read back by local day and keyed as the
    daemon keys them (days since its origin's date), equal what the live controller's ledger counted."""
    origin = datetime.combine(origin_day, time(0), tzinfo=LONDON).astimezone(UTC)
    calls, controller = _one_of_each(origin, day, amd)
    factory = open_store(f"sqlite:///{tmp_path / 'dialer.db'}")
    with factory() as session:
        campaign = create_campaign(session, "Tariffs", kind="tariff-switch", rules_profile="uk")
        lead = Lead(campaign_id=campaign.id, phone_e164="+447700900123", zones="Europe/London", fields={},
                    status="new", attempts=0)
        session.add(lead)
        session.flush()
        for call in calls:
            record = call.as_record(origin)
            session.add(Attempt(lead_id=lead.id, campaign_id=campaign.id, outcome=record.outcome,
                                dialled_at=to_db(record.dialled_at), answered_at=to_db(record.answered_at),
                                amd_result=record.amd_result, connected_at=to_db(record.connected_at),
                                message_played=record.message_played, abandoned=record.outcome == "abandoned"))
        session.commit()
        dates = [day + timedelta(days=k) for k in range(-2, 3)]
        counted = answers_by_day(session, campaign.id, [datetime.combine(d, time(0), tzinfo=LONDON) for d in dates])
    factory.kw["bind"].dispose()
    restored = {(d - origin_day).days: answers for d, answers in zip(dates, counted, strict=False) if answers.live}
    assert restored == controller.inner.ledger.days
    assert len(restored) == 2 and (day - origin_day).days in restored  # the late call's answer is the next day's
    kinds = restored[(day - origin_day).days]
    assert (kinds.abandoned, kinds.dropped, kinds.agent_machines, kinds.amd_machines) == (1 + amd, 1, 1, int(amd))

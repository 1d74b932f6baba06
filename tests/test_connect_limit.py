"""The connect limit counts from the end of the customer's greeting (US TSR, FCC, Ofcom), not from AMD's verdict.

AMD decides "person" only after the greeting and the silence after it, so with AMD on the engine takes the
abandonment decision at the verdict: an agent if one is free, else the safe-harbour message at once; the
ledger keeps the greeting's end, the verdict and the bridge or the message's start. The real Asterisk's
timing, measured at the customer, is in ``tests/test_asterisk_message_timing_real.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.core.calls import AmdResult, CallState
from dialer.drivers.asterisk import amd_verdict
from dialer.drivers.sim.telephony import AFTER_GREETING_SILENCE_S, CustomerPlan, SimTelephony
from dialer.records import Outcome
from tests.test_engine import rig

ORIGIN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_with_no_agent_free_the_message_starts_at_the_verdict_and_the_ledger_has_every_moment():
    r = rig(agents=(), amd=True)
    r.engine.log_in("a1", 0.0)
    r.engine.pause("a1", 0.0, "break")
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    r.engine.amd_result(call.id, 10.0, AmdResult(machine=False, silence_s=0.8))
    assert call.state is CallState.SAFE_HARBOUR and r.telephony.sent("play") == [call.id]
    assert (call.greeting_end_s, call.amd_end_s, call.message_s) == (9.2, 10.0, 10.0)
    record = call.as_record(ORIGIN)
    assert record.outcome is Outcome.ABANDONED
    assert (record.greeting_end_at, record.amd_end_at, record.message_at) == (
        ORIGIN + timedelta(seconds=9.2), ORIGIN + timedelta(seconds=10), ORIGIN + timedelta(seconds=10))


def test_with_an_agent_free_the_person_is_bridged_at_the_verdict():
    r = rig(amd=True)
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    r.engine.amd_result(call.id, 10.0, AmdResult(machine=False, silence_s=0.8))
    assert (call.state, call.connected_s, call.message_s) == (CallState.TALKING, 10.0, None)
    assert call.as_record(ORIGIN).greeting_end_at == ORIGIN + timedelta(seconds=9.2)


def test_without_amd_the_limit_runs_from_the_answer_and_the_controller_is_told_how_long_a_person_may_wait():
    r = rig(agents=())
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    assert call.state is CallState.QUEUED and r.engine.snapshot(8.5).wait_s == 2.0
    r.engine.advance(10.0)
    assert call.message_s == 10.0 and call.greeting_end_s is None  # the dialer heard no greeting
    assert rig(amd=True).engine.snapshot(0.0).wait_s == 0.0  # with AMD: no time left after the verdict


def test_asterisk_amd_causes_give_the_silence_after_the_greeting():
    assert amd_verdict("HUMAN", "HUMAN-800-800") == AmdResult(False, silence_s=0.8)
    assert amd_verdict("MACHINE", "LONGGREETING-1500-1500") == AmdResult(True)
    assert amd_verdict("NOTSURE", "TOOLONG-5000") == AmdResult(False, sure=False)
    assert amd_verdict("HANGUP", "") == AmdResult(False, sure=False)


def test_the_sim_driver_ends_the_greeting_before_the_verdict_and_counts_patience_from_there():
    """Answer at 5 s, AMD's verdict 2.5 s later; the greeting ended 0.8 s before the verdict."""
    r = rig(agents=(), amd=True)
    pending: list[tuple[float, object]] = []

    class Clock:
        def now(self) -> float:
            return 0.0

        def call_at(self, at_s: float, fn: object) -> None:
            pending.append((at_s, fn))

    plan = CustomerPlan(Outcome.HUMAN, after_s=5.0, patience_s=1.0)
    sim = SimTelephony(Clock(), lambda call: plan, amd_delay_s=2.5)  # type: ignore[arg-type]
    sim.attach(r.engine)
    (call,) = r.launch(1, 0.0)
    sim.originate(call, "", 25.0, amd=True)
    times = sorted(at for at, _ in pending)
    verdict = 5.0 + 2.5
    assert times == sorted([5.0, verdict, verdict - AFTER_GREETING_SILENCE_S + 1.0])

"""Today's abandonment figures come from the campaign's ledger alone, counted as the controller is told them.

The gauges, the wallboard's samples, the API's stats and the compliance log
read ``AbandonmentLedger.standing``; under the UK rule it carries the AMD
false-positive estimate, which a raw count of abandoned over live answers
leaves out.
"""

from __future__ import annotations

import pytest

from dialer.core.calls import Call
from dialer.records import Outcome
from dialer.service.metrics import CampaignRecorder, Metrics, TimedController
from pacing.controllers import AttemptOutcome
from pacing.ledger import AbandonmentLedger
from pacing.registry import make_controller


def _gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name, {"campaign": "Loans"})
    assert value is not None
    return value


def _fed(fp_rate: float) -> tuple[AbandonmentLedger, TimedController, Metrics]:
    """A progressive campaign (no ledger of its own) told of 200 live answers, 3 abandoned, and 50 machines AMD
    hung up on, between 10:00 and 11:00 (civil seconds)."""
    ledger, metrics = AbandonmentLedger(cap=0.03, fp_rate=fp_rate), Metrics()
    controller = TimedController(make_controller("progressive"), "Loans", metrics, ledger)
    for i in range(200):
        controller.observe(AttemptOutcome(36_000.0 + i, 10.0, "live", abandoned=i < 3))
    for i in range(50):
        controller.observe(AttemptOutcome(37_000.0 + i, 8.0, "machine", amd_detected=True))
    return ledger, controller, metrics


@pytest.mark.parametrize("fp_rate", [0.0, 0.02])
def test_the_gauges_show_the_ledgers_standing_false_positives_included(fp_rate):
    ledger, _, metrics = _fed(fp_rate)
    call = Call(id=1, lead=1, number="+441632960001", segment="all", attempt=0)
    call.outcome, call.dialled_s = Outcome.BUSY, 38_000.0
    CampaignRecorder("Loans", ledger, metrics).attempt(call)
    fp = fp_rate / (1 - fp_rate) * 200
    expected_rate = (3 + fp) / (200 + fp)
    assert _gauge(metrics, "dialer_abandon_ratio") == pytest.approx(expected_rate, rel=1e-12)
    assert _gauge(metrics, "dialer_abandon_budget_calls") == pytest.approx(max(0.0, 0.03 * (200 + fp) - 3 - fp))
    assert ledger.standing(38_000.0).rate == pytest.approx(expected_rate, rel=1e-12)


def test_machines_agents_found_leave_the_live_answers():
    ledger, controller, _ = _fed(0.0)
    for i in range(20):
        controller.observe_machine(36_100.0 + i)
    standing = ledger.standing(38_000.0)
    assert standing.live == pytest.approx(180.0) and standing.abandoned == pytest.approx(3.0)


def test_a_controller_that_paces_by_its_own_ledger_counts_each_answer_once():
    """Predictive's ledger is the campaign's: with ``counts`` None each answer lands in it once."""
    inner = make_controller("predictive")
    controller = TimedController(inner, "Loans", Metrics(), counts=None)
    for i in range(10):
        controller.observe(AttemptOutcome(36_000.0 + i, 10.0, "live", abandoned=i == 0))
    controller.observe_machine(36_100.0)
    day = inner.ledger.days[0]
    assert (day.live, day.abandoned, day.agent_machines) == (10, 1, 1)

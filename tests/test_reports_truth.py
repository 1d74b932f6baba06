"""Every manager report tells the truth: checked against stores whose contents are known.

The stores are written through the one attempt-writing path
(``lists.selection.record_attempt`` / ``record_attempts``), by hand here and
by the simulator (``simulation.calibrate.store_run``).
"""

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lists.campaigns import create_campaign, default_catalogue, retarget
from lists.dnc import import_registry
from lists.models import Attempt, Lead
from lists.reports import dispositions_report, export_leads, penetration_report, refusals_report
from lists.selection import AttemptRecord, record_attempt

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["survey", "payment-reminder"])
def test_each_kind_has_its_own_refusal_reasons(kind):
    """A survey sells nothing: 'too expensive' and 'has a provider' are a loan's reasons, not its own."""
    reasons = default_catalogue(kind)["refusal_reasons"]
    assert not {"too_expensive", "has_provider"} & set(reasons)
    assert reasons != default_catalogue("loan-offer")["refusal_reasons"]


def test_survey_catalogue_holds_the_shipped_survey_scenarios_reasons():
    assert {"declined", "bad_timing"} <= set(default_catalogue("survey")["refusal_reasons"])

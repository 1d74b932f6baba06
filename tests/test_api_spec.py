"""The OpenAPI spec says what the API accepts, so schemathesis's generated data (and a CRM's) is what the code reads:
a new campaign's pacing parameters are its dial mode's, report dates the forms ``period_of`` reads, and a value of
another JSON type than the spec's is refused rather than converted."""

from __future__ import annotations

import re

import jsonschema
import pytest
from pydantic import ValidationError

from dialer.api.reports import MOMENT
from dialer.api.schemas import AgentLoginIn, CampaignIn, CampaignPatch, DispositionIn
from lists.campaigns import check_pacing
from lists.reports import period_of
from pacing.errors import InvalidInput

BODIES = [
    {}, {"dial_mode": "progressive"}, {"pacing_params": {"ratio": 1.8}}, {"dial_mode": "power", "pacing_params": {}},
    {"dial_mode": "power", "pacing_params": {"ratio": 1.8}}, {"dial_mode": "power", "pacing_params": {"ratio": 0.5}},
    {"dial_mode": "power", "pacing_params": {"safety": 0.7}},
    {"dial_mode": "predictive", "pacing_params": {"safety": 0.6, "trunk_limit": 40}},
    {"dial_mode": "predictive", "pacing_params": {"trunk_limit": 2.5}},
    {"dial_mode": "predictive", "pacing_params": {"safety": True}},
    {"dial_mode": "vicidial-hard", "pacing_params": {"intensity": -40, "calls_per_second": 1000}},
    {"dial_mode": "vicidial-hard", "pacing_params": {"ratio": 2}}, {"dial_mode": "preview", "pacing_params": {"x": 1}},
]


def _code_accepts(body: dict) -> bool:
    try:
        check_pacing(body.get("dial_mode", "progressive"), body.get("pacing_params", {}))
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize("body", BODIES, ids=lambda body: repr(body))
def test_the_spec_accepts_the_pacing_parameters_the_dial_mode_takes_and_no_others(body):
    schema = CampaignIn.model_json_schema()
    full = {"name": "Spring", "kind": "survey", **body}
    assert jsonschema.Draft202012Validator(schema).is_valid(full) == _code_accepts(body)


@pytest.mark.parametrize("text, ok", [
    ("2026-11-02", True), ("2026-11-02T09:00", True), ("2026-11-02T09:00:30.25+01:00", True),
    ("2026-11-02T09:00:00Z", True), ("2026-13-02", False), ("0000-01-01", False), ("2026-11-02 09:00", False),
    ("02/11/2026", False), ("2026-11-02T24:00", False),
])
def test_report_dates_the_spec_allows_are_those_the_reports_read(text, ok):
    assert bool(re.fullmatch(MOMENT, text)) == ok
    if ok:
        assert period_of(text, None, "Europe/Paris").start is not None


@pytest.mark.parametrize("model, body", [
    (CampaignIn, {"name": "Spring", "kind": "survey", "fresh_share": False}),
    (CampaignIn, {"name": "Spring", "kind": "survey", "max_attempts": "5"}),
    (CampaignPatch, {"version": True}), (CampaignPatch, {"version": 1, "abandon_cap": "0.01"}),
    (AgentLoginIn, {"campaign_id": "1"}),
    (DispositionIn, {"outcome": "sale", "order": {"product": "loan", "amount": True}}),
    (DispositionIn, {"outcome": "callback", "callback_at": 2_000_000_000}),
], ids=lambda value: value if isinstance(value, dict) else value.__name__)
def test_a_value_of_another_json_type_than_the_specs_is_refused_not_converted(model, body):
    assert not jsonschema.Draft202012Validator(model.model_json_schema()).is_valid(body)
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_a_whole_number_may_be_written_with_a_decimal_point_as_json_schema_allows():
    assert jsonschema.Draft202012Validator(AgentLoginIn.model_json_schema()).is_valid({"campaign_id": 381.0})
    assert AgentLoginIn.model_validate({"campaign_id": 381.0}).campaign_id == 381
    with pytest.raises(ValidationError):
        AgentLoginIn.model_validate({"campaign_id": 381.5})

"""Every campaign kind has a legal purpose, so no kind is dialled under rules that do not know why it calls."""

from lists.models import CAMPAIGN_KINDS
from lists.purposes import KIND_PURPOSES, Purpose, purpose_of


def test_every_kind_maps_to_a_purpose_and_selling_is_marketing():
    assert set(KIND_PURPOSES) == set(CAMPAIGN_KINDS)
    assert {purpose_of(kind) for kind in ("loan-offer", "tariff-switch")} == {Purpose.MARKETING}
    assert purpose_of("survey") is Purpose.SURVEY

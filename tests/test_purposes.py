"""Every campaign kind has a legal purpose, so no kind is dialled under rules that do not know why it calls."""

from lists.models import CAMPAIGN_KINDS
from lists.purposes import KIND_PURPOSES, Purpose, purpose_of


def test_every_kind_maps_to_a_purpose_and_selling_is_marketing():
    assert set(KIND_PURPOSES) == set(CAMPAIGN_KINDS)
    assert {purpose_of(kind) for kind in ("loan-offer", "tariff-switch")} == {Purpose.MARKETING}
    assert purpose_of("survey") is Purpose.SURVEY


def test_the_cli_and_the_api_offer_every_kind():
    import typing

    from cli import _KINDS
    from dialer.api.schemas import Kind

    assert list(_KINDS.choices) == list(CAMPAIGN_KINDS) == list(typing.get_args(Kind))
    assert purpose_of("debt-collection") is Purpose.COLLECTION


def test_the_cli_offers_every_jurisdiction_as_a_rules_profile():
    from cli import _PROFILES
    from lists.jurisdictions import JURISDICTIONS

    assert _PROFILES == sorted(JURISDICTIONS)

"""The legal purpose of a call, by campaign kind: what consent rules and contact limits ask about.

Why a purpose and not the kind: the law speaks of marketing, surveys, debt
collection and service calls, and several kinds share one purpose (a loan
offer and a tariff switch are both marketing). Consent (``lists.consent``)
is given for a purpose, and each country's rules (``lists.jurisdictions``)
say which purposes need it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Purpose", "KIND_PURPOSES", "purpose_of"]


class Purpose(StrEnum):
    """Why a company calls a person, in the law's words."""

    MARKETING = "marketing"  # selling: a loan offer, a tariff switch
    SURVEY = "survey"  # market or opinion research, nothing sold
    COLLECTION = "collection"  # recovering a debt (Russia: 230-FZ limits the contacts)
    SERVICE = "service"  # about an existing contract: a payment reminder before anything is overdue

    __hash__ = str.__hash__


KIND_PURPOSES: dict[str, Purpose] = {
    "loan-offer": Purpose.MARKETING,
    "tariff-switch": Purpose.MARKETING,
    "survey": Purpose.SURVEY,
    "payment-reminder": Purpose.SERVICE,
    "debt-collection": Purpose.COLLECTION,  # an overdue debt: Russia's 230-FZ counts these conversations
}


def purpose_of(kind: str) -> Purpose:
    """The legal purpose of a campaign of ``kind`` (``lists.models.CAMPAIGN_KINDS``)."""
    return KIND_PURPOSES[kind]

"""Store, campaigns and the attempt ledger, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lists.campaigns import create_campaign, edit_campaign, get_campaign
from lists.models import Attempt, DncEntry, Lead
from lists.selection import AttemptRecord, claim_leads, record_attempt
from lists.store import open_engine, upgrade
from pacing.errors import InvalidInput

NOON_NY = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def _leads(session, campaign, phones, zones="America/New_York"):
    for phone in phones:
        session.add(Lead(campaign_id=campaign.id, phone_e164=phone, zones=zones, fields={}, status="new", attempts=0))
    session.commit()


def test_migrations_are_idempotent(store_url):
    engine = open_engine(store_url)
    upgrade(engine)
    upgrade(engine)
    engine.dispose()


def test_campaign_kinds_ship_catalogues_and_can_be_edited(store):
    with store() as s:
        survey = create_campaign(s, "Survey Q4", "survey")
        assert {"completed", "partial", "declined"} <= set(survey.catalogue["outcomes"])
        loan = create_campaign(s, "Loans", "loan-offer", rules_profile="us")
        assert "too_expensive" in loan.catalogue["refusal_reasons"]
        s.commit()
        edit_campaign(s, "Loans", add_refusal_reasons={"rate_too_high": "Interest rate too high"},
                      remove_refusal_reasons=["bad_timing"], abandon_cap=0.02)
        s.commit()
    with store() as s:
        loan = get_campaign(s, "Loans")
        assert "rate_too_high" in loan.catalogue["refusal_reasons"]
        assert "bad_timing" not in loan.catalogue["refusal_reasons"] and loan.abandon_cap == 0.02
        with pytest.raises(InvalidInput, match="already exists"):
            create_campaign(s, "Loans", "loan-offer")
        with pytest.raises(InvalidInput, match="kind"):
            create_campaign(s, "X", "lottery")
        with pytest.raises(InvalidInput, match="abandon_cap"):
            edit_campaign(s, "Loans", abandon_cap=0.05)


def test_claim_order_and_ledger(store):
    with store() as s:
        c = create_campaign(s, "Tariffs", "tariff-switch")
        _leads(s, c, ["+12025550101", "+12025550102", "+12025550103"])
        callback = s.scalar(select(Lead).where(Lead.phone_e164 == "+12025550103"))
        callback.status, callback.next_at = "callback", (NOON_NY - timedelta(minutes=5)).replace(tzinfo=None)
        s.commit()
        first = claim_leads(s, c, 1, NOON_NY)
        assert [lead.phone_e164 for lead in first] == ["+12025550103"]
        rest = claim_leads(s, c, 5, NOON_NY)
        assert len(rest) == 2 and claim_leads(s, c, 5, NOON_NY) == []
        record_attempt(s, c, rest[0], AttemptRecord(
            outcome="human", dialled_at=NOON_NY, answered_at=NOON_NY + timedelta(seconds=12),
            connected_at=NOON_NY + timedelta(seconds=13), hangup_at=NOON_NY + timedelta(minutes=3),
            disposition="refused", refusal_reason="too_expensive", agent="a1"))
        record_attempt(s, c, rest[1], AttemptRecord(outcome="busy", dialled_at=NOON_NY))
        record_attempt(s, c, first[0], AttemptRecord(
            outcome="human", dialled_at=NOON_NY, disposition="dnc_request", hangup_at=NOON_NY))
        assert s.scalar(select(func.count()).select_from(Attempt)) == 3
        assert s.scalar(select(DncEntry.phone_e164)) == "+12025550103"
        refused = s.get(Lead, rest[0].id)
        assert (refused.status, refused.refusal_reason) == ("done", "too_expensive")
        busy = s.get(Lead, rest[1].id)
        assert busy.status == "retry" and busy.next_at == (NOON_NY + timedelta(minutes=10)).replace(tzinfo=None)
        assert claim_leads(s, c, 5, NOON_NY + timedelta(minutes=9)) == []
        assert [lead.id for lead in claim_leads(s, c, 5, NOON_NY + timedelta(minutes=10))] == [busy.id]


def test_dnc_request_suppresses_the_number_in_every_campaign_of_the_company(store):
    with store() as s:
        a, b = create_campaign(s, "A", "loan-offer"), create_campaign(s, "B", "survey")
        _leads(s, a, ["+12025550111"])
        _leads(s, b, ["+12025550111"])
        lead = claim_leads(s, a, 1, NOON_NY)[0]
        record_attempt(s, a, lead, AttemptRecord(outcome="human", dialled_at=NOON_NY, disposition="dnc_request"))
        assert claim_leads(s, b, 1, NOON_NY) == []
        assert {x.status for x in s.scalars(select(Lead))} == {"dnc"}

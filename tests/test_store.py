"""Store, campaigns and the attempt ledger, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from dialer.records import AttemptRecord
from lists.campaigns import create_campaign, edit_campaign, get_campaign
from lists.models import Attempt, Base, DncEntry, Lead
from lists.privacy import Sealing, encrypt_store
from lists.sealing import SealError, person_key, read_key
from lists.selection import claim_leads, record_attempt
from lists.store import open_engine, upgrade
from pacing.errors import InvalidInput

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

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


def test_the_migrations_build_the_schema_the_models_declare(store_url):
    """A model change without its migration (a column widened in Python only) shows here as a difference."""
    engine = open_engine(store_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_upgrade_keeps_the_rows_of_a_live_database(store_url, store_backend):
    """A store at revision 0001 with a lead that has no next_at upgrades in place and the lead stays dialable;
    with a store key set, the clear store is refused until ``encrypt_store`` seals it, and then dials the same."""
    engine = open_engine(store_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaign (name, company, kind, dial_mode, abandon_cap, rules_profile, "
                          "max_attempts, retry_rules, catalogue) VALUES ('Old', 'default', 'survey', 'progressive', "
                          "0.03, 'us', 6, '{}', '{}')"))
        conn.execute(text("INSERT INTO lead (campaign_id, phone_e164, zones, fields, status, priority, attempts) "
                          "SELECT id, '+12025550199', 'America/New_York', '{}', 'new', 0, 0 FROM campaign"))
    if store_backend.endswith("-sealed"):
        with pytest.raises(SealError, match="the store holds numbers in clear: seal them with dialer privacy encrypt"):
            upgrade(engine)
        assert encrypt_store(engine, read_key()) == Sealing(leads=1, dnc_entries=0)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT phone_e164 FROM lead")).scalar_one().startswith("s1.")
    upgrade(engine)
    with Session(engine) as s:
        campaign = get_campaign(s, "Old")
        assert campaign.fresh_share == 0.0
        assert campaign.pacing_params == {}  # the policy's defaults: it dials as it did before
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 5, NOON_NY)] == ["+12025550199"]
    engine.dispose()


def test_fresh_share_reserves_slots_for_new_leads_and_owned_callbacks_wait_for_their_agent(store):
    with store() as s:
        c = create_campaign(s, "Mix", "loan-offer", countries=["US"], fresh_share=0.25)
        _leads(s, c, [f"+1202555{i:04d}" for i in range(20)])
        leads = list(s.scalars(select(Lead).order_by(Lead.id)))
        for lead in leads[:10]:
            lead.status, lead.next_at = "retry", (NOON_NY - timedelta(hours=1)).replace(tzinfo=None)
        for lead, owner in zip(leads[10:12], ("alice", None), strict=True):
            lead.status, lead.callback_owner = "callback", owner
            lead.next_at = (NOON_NY - timedelta(minutes=1)).replace(tzinfo=None)
        s.commit()
        got = claim_leads(s, c, 10, NOON_NY, free_agents={"bob"})
        assert [lead.status for lead in got].count("claimed") == 10
        kinds = [("callback" if lead.callback_owner or lead.id == leads[11].id else
                  "retry" if lead.id <= leads[9].id else "new") for lead in got]
        assert kinds == ["callback"] + ["retry"] * 7 + ["new"] * 2  # 9 left after the callback: round(9 * .25) = 2
        assert all(lead.callback_owner != "alice" for lead in got)
        assert [lead.callback_owner for lead in claim_leads(s, c, 1, NOON_NY, free_agents={"alice"})] == ["alice"]


def test_campaign_kinds_ship_catalogues_and_can_be_edited(store):
    with store() as s:
        survey = create_campaign(s, "Survey Q4", "survey", countries=["US"])
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
            create_campaign(s, "Loans", "loan-offer", countries=["US"])
        with pytest.raises(InvalidInput, match="kind"):
            create_campaign(s, "X", "lottery", countries=["US"])
        with pytest.raises(InvalidInput, match="abandon_cap"):
            edit_campaign(s, "Loans", abandon_cap=0.05)


def test_claim_order_and_ledger(store):
    with store() as s:
        c = create_campaign(s, "Tariffs", "tariff-switch", countries=["US"])
        _leads(s, c, ["+12025550101", "+12025550102", "+12025550103"])
        callback = s.scalar(select(Lead).where(Lead.phone_key == person_key(s, "+12025550103")))
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
        a, b = create_campaign(s, "A", "loan-offer", countries=["US"]), create_campaign(s, "B", "survey")
        _leads(s, a, ["+12025550111"])
        _leads(s, b, ["+12025550111"])
        lead = claim_leads(s, a, 1, NOON_NY)[0]
        record_attempt(s, a, lead, AttemptRecord(outcome="human", dialled_at=NOON_NY, disposition="dnc_request"))
        assert claim_leads(s, b, 1, NOON_NY) == []
        assert {x.status for x in s.scalars(select(Lead))} == {"dnc"}

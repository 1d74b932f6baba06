"""claim_leads never returns a lead that is on DNC, outside its window, over a cap or quarantined."""

import os
import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from lists.campaigns import create_campaign
from lists.lifecycle import LeadStatus
from lists.models import DUE_ANY_TIME, Attempt, Campaign, DncEntry, Lead, to_db
from lists.selection import claim_leads
from lists.store import open_store

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/Paris", "America/New_York,America/Los_Angeles",
         "Europe/Kaliningrad,Asia/Kamchatka"]  # UTC+2 and UTC+12: the French window is never open in both
BASE = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

lead_st = st.fixed_dictionaries({
    "zones": st.sampled_from(ZONES),
    "dnc": st.booleans(),
    # whole minutes: the store keeps microseconds, so sub-microsecond offsets would blur the boundaries
    "attempt_days_ago": st.lists(st.integers(min_value=1, max_value=40 * 1440).map(lambda m: m / 1440), max_size=7),
    "abandoned_h_ago": st.none() | st.integers(min_value=1, max_value=100 * 60).map(lambda m: m / 60),
    "refused_d_ago": st.none() | st.integers(min_value=1, max_value=90 * 1440).map(lambda m: m / 1440),
    "due_in_h": st.none() | st.integers(min_value=-48 * 60, max_value=48 * 60).map(lambda m: m / 60),
})


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    return open_store(f"sqlite:///{tmp_path_factory.mktemp('claim') / 'p.db'}")


def _populate(session, campaign: Campaign, specs, now) -> None:
    """The leads, each in the campaign's one country (``region``: whose rules it is called under)."""
    for i, spec in enumerate(specs):
        phone = f"+1202555{i:04d}"
        lead = Lead(campaign_id=campaign.id, phone_e164=phone, zones=spec["zones"], fields={}, status="new",
                    region=campaign.countries[0],
                    attempts=len(spec["attempt_days_ago"]),
                    last_abandoned_at=to_db(now - timedelta(hours=spec["abandoned_h_ago"]))
                    if spec["abandoned_h_ago"] else None,
                    last_refusal_at=to_db(now - timedelta(days=spec["refused_d_ago"]))
                    if spec["refused_d_ago"] else None,
                    next_at=DUE_ANY_TIME if spec["due_in_h"] is None
                    else to_db(now + timedelta(hours=spec["due_in_h"])))
        session.add(lead)
        session.flush()
        for days in spec["attempt_days_ago"]:
            session.add(Attempt(lead_id=lead.id, campaign_id=campaign.id, outcome="no_answer",
                                dialled_at=to_db(now - timedelta(days=days)), data={}))
        if spec["dnc"]:
            session.add(DncEntry(company=campaign.company, phone_e164=phone, source="registry", added_at=to_db(now)))
    session.commit()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lead_st, min_size=1, max_size=25),
       st.integers(min_value=0, max_value=7 * 24 * 60).map(lambda m: m / 60),
       st.sampled_from(["us", "fr"]), st.integers(min_value=1, max_value=30))
def test_claimed_leads_are_always_dialable(sqlite_store, specs, hours, profile, n):
    now = BASE + timedelta(hours=hours)
    with sqlite_store() as s:
        for table in (Attempt, DncEntry, Lead, Campaign):
            s.execute(delete(table))
        campaign = create_campaign(s, "P", "survey", rules_profile=profile, max_attempts=5)  # no consent needed
        _populate(s, campaign, specs, now)
        claimed = claim_leads(s, campaign, n, now)
        assert len(claimed) <= n and len({lead.id for lead in claimed}) == len(claimed)
        for lead in claimed:
            assert _dialable(specs[int(lead.phone_e164[-4:])], profile, now)
        assert len(claimed) == min(n, sum(_dialable(spec, profile, now) for spec in specs))
        aside = s.scalars(select(Lead.zones).where(Lead.status == LeadStatus.NO_WINDOW)).all()
        assert all(_never_open(profile, zones) for zones in aside)  # set aside only when no moment suits all


@lru_cache
def _never_open(profile: str, zones: str) -> bool:
    """No quarter-hour of a week open in every zone, by the regulations written out again (zones without DST)."""
    week = (BASE + timedelta(minutes=15 * k) for k in range(7 * 96))
    return not any(all(_local_open(profile, zone, moment) for zone in zones.split(",")) for moment in week)


def _local_open(profile: str, zone: str, now: datetime) -> bool:
    """The regulations written out again, independently of lists.rules."""
    local = now.astimezone(ZoneInfo(zone))
    minutes = local.hour * 60 + local.minute
    if profile == "us":
        return 8 * 60 <= minutes < 21 * 60
    return (local.weekday() < 5 and local.date() not in holidays.France(years=local.year)
            and (10 * 60 <= minutes < 13 * 60 or 14 * 60 <= minutes < 20 * 60))


def _dialable(spec: dict, profile: str, now: datetime) -> bool:
    ok = (not spec["dnc"] and len(spec["attempt_days_ago"]) < 5
          and all(_local_open(profile, zone, now) for zone in spec["zones"].split(","))
          and (spec["due_in_h"] is None or spec["due_in_h"] <= 0)
          and (spec["abandoned_h_ago"] is None or spec["abandoned_h_ago"] >= 72))
    if profile == "fr":
        ok = ok and (sum(1 for d in spec["attempt_days_ago"] if d < 30) < 4
                     and (spec["refused_d_ago"] is None or spec["refused_d_ago"] >= 60))
    return ok


@pytest.mark.pg
@pytest.mark.skipif(not os.environ.get("DIALER_TEST_PG_URL"), reason="needs PostgreSQL (README test command)")
def test_concurrent_claimers_on_postgresql_never_share_a_lead(store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("the concurrency guarantee under test is PostgreSQL's SKIP LOCKED")
    factory = open_store(store_url)
    now = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    with factory() as s:
        campaign = create_campaign(s, "Race", "survey", countries=["US"])
        s.add_all(Lead(campaign_id=campaign.id, phone_e164=f"+1202556{i:04d}", zones="America/New_York",
                       fields={}, status="new", attempts=0) for i in range(600))
        s.commit()
    results: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        got: list[int] = []
        with factory() as s:
            camp = s.get(Campaign, campaign.id)
            while batch := claim_leads(s, camp, 7, now, claimer=name):
                got.extend(lead.id for lead in batch)
        results[name] = got

    threads = [threading.Thread(target=claimer, args=(f"d{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [lead_id for got in results.values() for lead_id in got]
    assert len(every) == len(set(every)) == 600
    assert sum(1 for got in results.values() if got) >= 2
    factory.kw["bind"].dispose()

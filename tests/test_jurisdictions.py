"""Each person is dialled under their own country's rules (issue 29): property tests through the store's claim.

The checker below is written from the rules table (``shared/anchors/regulations.md`` and the docs), not from
``lists/jurisdictions/*.toml``: calling hours in the person's own zone, public holidays of their country,
consent for marketing where the country asks for it, and contact limits counted per person across the
company's campaigns. Each property is then broken on purpose (one rule switched off in ``lists.rules``), and
hypothesis must find a claim that breaks it: a property that cannot fail proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

import lists.rules
from lists.campaigns import create_campaign
from lists.jurisdictions import BY_COUNTRY, JURISDICTIONS
from lists.models import Attempt, Campaign, DncEntry, Lead, to_db
from lists.selection import claim_leads
from lists.store import open_store

START = datetime(2026, 12, 18, 0, 0, tzinfo=UTC)  # three weeks over Christmas, New Year and Russia's January holidays
ZONES = {"US": ("America/New_York", "America/Los_Angeles"), "FR": ("Europe/Paris",), "GB": ("Europe/London",),
         "NL": ("Europe/Amsterdam",), "DE": ("Europe/Berlin",), "PL": ("Europe/Warsaw",),
         "HU": ("Europe/Budapest",), "RU": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok")}

# ---- the rules, written out again from the table -------------------------------------------------------------

_WEEKDAYS_9_20 = {d: [(9, 20)] for d in range(5)}
HOURS: dict[str, tuple[dict[int, list[tuple[int, int]]], list[tuple[int, int]] | None]] = {
    # country: (hours by weekday, 0 = Monday; hours on a public holiday, None: as any other day)
    "US": ({d: [(8, 21)] for d in range(7)}, None),
    "FR": ({d: [(10, 13), (14, 20)] for d in range(5)}, []),
    "GB": ({d: [(8, 21)] for d in range(7)}, []),
    "NL": (_WEEKDAYS_9_20, []), "DE": (_WEEKDAYS_9_20, []), "PL": (_WEEKDAYS_9_20, []), "HU": (_WEEKDAYS_9_20, []),
    "RU": ({**{d: [(8, 22)] for d in range(5)}, 5: [(9, 20)], 6: [(9, 20)]}, [(9, 20)]),
}
MARKETING_CONSENT_FROM = {"NL": date(2021, 7, 1), "DE": date(2004, 7, 8), "PL": date(2024, 11, 10),
                          "HU": date(2008, 9, 1), "RU": date(2006, 7, 1), "FR": date(2026, 8, 11)}


@lru_cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def _open(country: str, zone: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(zone))
    week, on_holiday = HOURS[country]
    spans = on_holiday if on_holiday is not None and local.date() in _holidays(country, local.year) \
        else week.get(local.weekday(), [])
    return any(time(start) <= local.time() < time(end) for start, end in spans)


def _frequency_ok(person: dict, kind: str, now: datetime) -> bool:
    """France: at most 4 attempts in 30 days; Russia, debt collection: 1 conversation a local day, 2 in any
    7 days, 8 in any 30 (every live answer, abandoned ones too)."""
    times = [(now - timedelta(hours=h), outcome) for h, outcome in person["history"]]
    if person["country"] == "FR":
        return sum(t > now - timedelta(days=30) for t, _ in times) < 4
    if person["country"] == "RU" and kind == "debt-collection":
        talks = [t for t, outcome in times if outcome in ("human", "abandoned")]
        local = now.astimezone(ZoneInfo(person["zone"])).date()
        today = sum(t.astimezone(ZoneInfo(person["zone"])).date() == local for t in talks)
        return today < 1 and sum(t > now - timedelta(days=7) for t in talks) < 2 \
            and sum(t > now - timedelta(days=30) for t in talks) < 8
    return True


def lawful(person: dict, kind: str, now: datetime) -> list[str]:
    """The rules a claim of ``person`` at ``now`` for a ``kind`` campaign would break."""
    broken = []
    if not _open(person["country"], person["zone"], now):
        broken.append("hours")
    since = MARKETING_CONSENT_FROM.get(person["country"])
    if kind == "loan-offer" and since is not None and now.date() >= since:
        broken.append("consent")  # no consent is recorded for anyone here
    if not _frequency_ok(person, kind, now):
        broken.append("frequency")
    return broken


# ---- the claim -------------------------------------------------------------------------------------------------

history_st = st.lists(st.tuples(st.integers(1, 40 * 24), st.sampled_from(["human", "no_answer", "abandoned"])),
                      max_size=9)
person_st = st.sampled_from(sorted(ZONES)).flatmap(lambda country: st.fixed_dictionaries({
    "country": st.just(country), "zone": st.sampled_from(ZONES[country]), "history": history_st}))
claim_st = st.tuples(st.lists(person_st, min_size=1, max_size=12), st.sampled_from(["survey", "debt-collection",
                                                                                     "loan-offer"]),
                     st.integers(0, 21 * 24 * 4))  # quarter-hours from START


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    return open_store(f"sqlite:///{tmp_path_factory.mktemp('countries') / 'c.db'}")


def _claimed(factory, people: list[dict], kind: str, now: datetime) -> list[dict]:
    """Claim in campaign A, which calls every country; each person's history is in campaign B of the same
    company, so only a count across campaigns sees it."""
    with factory() as s:
        for table in (Attempt, DncEntry, Lead, Campaign):
            s.execute(delete(table))
        mode = {"dial_mode": "preview"} if kind == "loan-offer" else {}  # Russia: advertising only in preview
        a = create_campaign(s, "A", kind, countries=sorted(ZONES), max_attempts=10, **mode)
        b = create_campaign(s, "B", kind, countries=sorted(ZONES), max_attempts=10, **mode)
        for i, person in enumerate(people):
            phone = f"+9990{i:07d}"
            s.add(Lead(campaign_id=a.id, phone_e164=phone, region=person["country"], zones=person["zone"],
                       fields={}, status="new"))
            other = Lead(campaign_id=b.id, phone_e164=phone, region=person["country"], zones=person["zone"],
                         fields={}, status="done", attempts=len(person["history"]))
            s.add(other)
            s.flush()
            s.add_all(Attempt(lead_id=other.id, campaign_id=b.id, outcome=outcome, data={},
                              dialled_at=to_db(now - timedelta(hours=h))) for h, outcome in person["history"])
        s.commit()
        return [people[int(lead.phone_e164[-7:])] for lead in claim_leads(s, a, len(people), now)]


def violations(factory, example: tuple[list[dict], str, int]) -> list[str]:
    people, kind, quarters = example
    now = START + timedelta(minutes=15 * quarters)
    return [rule for person in _claimed(factory, people, kind, now) for rule in lawful(person, kind, now)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim_st)
def test_no_claim_breaks_a_persons_own_rules(factory, example):
    assert violations(factory, example) == []


def test_every_lawful_person_is_claimed(factory):
    """The other side: rules that refuse everyone also pass the property above. A Monday at 15:00 in Paris:
    one French, one Dutch and one Russian person with no history are all claimed for a survey."""
    people = [{"country": c, "zone": ZONES[c][0], "history": []} for c in ("FR", "NL", "RU")]
    now = datetime(2026, 12, 21, 14, 0, tzinfo=UTC)
    assert _claimed(factory, people, "survey", now) == people


# ---- each rule broken on purpose: hypothesis must find the claim that breaks it --------------------------------

def _always(value: object) -> Callable[..., object]:
    return lambda *args, **kwargs: value


BREAKS = {  # rule: (what switches it off in lists.rules, people who can show it)
    "hours": ("in_window", True, sorted(ZONES)),
    "consent": ("_consented", True, ["NL", "DE", "PL", "FR"]),
    "frequency": ("_over_limit", None, ["FR", "RU"]),
}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_breaking_a_rule_is_caught(factory, monkeypatch, rule):
    name, value, countries = BREAKS[rule]
    monkeypatch.setattr(lists.rules, name, _always(value))
    lists.rules._open_in_zone.cache_clear()
    lists.rules.next_open.cache_clear()
    people = st.sampled_from(countries).flatmap(lambda country: st.fixed_dictionaries({
        "country": st.just(country), "zone": st.sampled_from(ZONES[country]), "history": history_st}))
    kinds = {"consent": ["loan-offer"], "frequency": ["survey", "debt-collection"]}.get(rule, ["survey"])
    found = find(st.tuples(st.lists(people, min_size=1, max_size=12), st.sampled_from(kinds),
                           st.integers(0, 21 * 24 * 4)),
                 lambda example: rule in violations(factory, example),
                 settings=settings(max_examples=400, database=None, deadline=None))
    assert rule in violations(factory, found)


def test_a_holiday_closes_the_day_as_the_table_says(factory, monkeypatch):
    """Christmas Day, a Friday, 15:00 in Paris: no French person is claimed; with holidays switched off they are."""
    people = [{"country": "FR", "zone": "Europe/Paris", "history": []}]
    christmas = datetime(2026, 12, 25, 14, 0, tzinfo=UTC)
    assert lawful(people[0], "survey", christmas) == ["hours"]
    assert _claimed(factory, people, "survey", christmas) == []
    monkeypatch.setattr(lists.rules, "_holidays", _always(frozenset()))
    lists.rules._open_in_zone.cache_clear()
    lists.rules.next_open.cache_clear()
    assert _claimed(factory, people, "survey", christmas) == people
    lists.rules._open_in_zone.cache_clear()
    lists.rules.next_open.cache_clear()


# ---- the data files --------------------------------------------------------------------------------------------

def test_every_country_in_scope_has_its_rules_with_their_sources():
    assert set(BY_COUNTRY) >= {"US", "FR", "GB", "NL", "DE", "PL", "HU", "RU"}
    for jurisdiction in JURISDICTIONS.values():
        assert jurisdiction.sources and all(source.text for source in jurisdiction.sources), jurisdiction.code
    assert JURISDICTIONS["ru"].automated_marketing_banned and JURISDICTIONS["nl"].caller_id_required


def test_frances_consent_is_a_dated_rule():
    from lists.purposes import Purpose

    france = JURISDICTIONS["fr"]
    assert not france.profile(Purpose.MARKETING, date(2026, 8, 10)).needs_consent
    assert france.profile(Purpose.MARKETING, date(2026, 8, 11)).needs_consent
    assert not france.profile(Purpose.SURVEY, date(2026, 8, 11)).needs_consent
    assert JURISDICTIONS["nl"].profile(Purpose.MARKETING, date(2026, 1, 1)).relationship_days == 1096


def test_consent_or_a_recent_customer_relationship_lets_a_marketing_call_through_and_a_withdrawal_stops_it(factory):
    """21 and 22 Dec 2026, 15:00 in Amsterdam and Warsaw: a Dutch and a Polish person with consent are called; a
    Dutch customer of 2 years ago is called, one of 4 years ago is not (3 years at most), nor a German with none;
    a withdrawal stops the next call at once."""
    from lists.consent import (
        ConsentChannel,
        GivenConsent,
        ImportedConsent,
        Relationship,
        give_consent,
        record_imported,
        withdraw_consent,
    )
    from lists.purposes import Purpose
    from lists.sealing import person_key

    now = datetime(2026, 12, 21, 14, 0, tzinfo=UTC)
    people = [{"country": c, "zone": ZONES[c][0], "history": []} for c in ("NL", "PL", "NL", "NL", "DE")]
    assert _claimed(factory, people, "loan-offer", now) == []  # nobody has consent yet
    with factory() as s:
        given = GivenConsent(Purpose.MARKETING, ConsentChannel.WEB, now - timedelta(days=30), how="web form")
        for i in (0, 1):
            give_consent(s, "default", f"+9990{i:07d}", given, now, "test")
        for i, years in ((2, 2), (3, 4)):
            until = (now - timedelta(days=365 * years)).date()
            record_imported(s, "default", [(person_key(s, f"+9990{i:07d}"),
                                            ImportedConsent(None, Relationship(None, until)))], now, "test")
        s.commit()
        campaign = s.scalars(select(Campaign).where(Campaign.name == "A")).one()
        next_day = now + timedelta(days=1)  # a lead refused for want of consent is looked at again a day later
        claimed = {lead.phone_e164 for lead in claim_leads(s, campaign, 10, next_day)}
        assert claimed == {"+99900000000", "+99900000001", "+99900000002"}
        withdraw_consent(s, "default", "+99900000001", next_day, "test")
        s.commit()
    assert _fresh_claim(factory, next_day) == set()  # the withdrawn one is not called again


def _fresh_claim(factory, now: datetime) -> set[str]:
    """The leads of campaign A a claim takes now, once those claimed before are back in their queue."""
    with factory() as s:
        s.execute(update(Lead).where(Lead.status == "claimed").values(status="new"))
        s.commit()
        campaign = s.scalars(select(Campaign).where(Campaign.name == "A")).one()
        return {lead.phone_e164 for lead in claim_leads(s, campaign, 10, now)} - {
            "+99900000000", "+99900000002"}

"""A subdivision column (a Russian federal subject, a US state, a big city) gives a lead the zone of the place:
every Russian subject maps to a zone tzdata lists for Russia, a US state split between zones keeps all of them, a
place never leaves its number's country, the import summary counts the leads given their zone each way, and a
Russian mobile with its subject is dialled under the French window while one without stays set aside."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import phonenumbers
import pytest
import zipcodes
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lists.campaigns import create_campaign
from lists.importer import import_csv
from lists.lifecycle import LeadStatus
from lists.models import Lead
from lists.numbers import normalise_number
from lists.places import ZoneSource, lead_zones, place_zones
from lists.sealing import person_key
from lists.selection import claim_leads

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # a Tuesday: noon in Paris, 16:00 in Yekaterinburg

# ISO 3166-2:RU, copied from the standard (not from the product's table): 21 republics, 9 krais, 46 oblasts,
# 2 cities, 1 autonomous oblast, 4 autonomous okrugs; then Crimea and Sevastopol, which ISO files under UA.
RU_SUBJECTS = """AD AL BA BU CE CU DA IN KB KL KC KR KK KO ME MO SA SE TA TY UD
    ALT KAM KHA KDA KYA PER PRI STA ZAB
    AMU ARK AST BEL BRY CHE IRK IVA KGD KLU KEM KIR KOS KGN KRS LEN LIP MAG MOS MUR NIZ NGR NVS OMS ORE ORL PNZ PSK
    ROS RYA SAK SAM SAR SMO SVE TAM TOM TUL TVE TYU ULY VLA VGG VLG VOR YAR
    MOW SPE YEV CHU KHM NEN YAN""".split()
CRIMEA = ["UA-43", "UA-40"]
SPLIT_STATES = "FL TX IN KY TN MI ND SD NE KS OR ID AK AZ".split()


def _zone_tab() -> dict[str, set[str]]:
    """country → zones, read from tzdata's zone.tab here rather than through the product."""
    table: dict[str, set[str]] = defaultdict(set)
    for line in resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            table[country].add(zone)
    return table


ZONE_TAB = _zone_tab()


def _table(name: str) -> list[dict[str, str]]:
    text = resources.files("lists").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def test_every_russian_subject_resolves_to_a_zone_tzdata_lists_for_russia():
    assert len(RU_SUBJECTS) == 83
    codes = [f"RU-{code}" for code in RU_SUBJECTS] + CRIMEA
    assert [row["code"] for row in _table("ru-subjects.csv")] == codes
    for code in codes:
        zones = place_zones("RU", code)
        assert zones and zones <= ZONE_TAB["RU"], code
    for code in RU_SUBJECTS:  # without the country, in any case
        assert place_zones("RU", code.lower()) == place_zones("RU", f"RU-{code}")
    assert len(place_zones("RU", "RU-SA")) == 4  # Sakha spans UTC+9 to UTC+11: all its zones kept


@pytest.mark.parametrize(("text", "zone"), [
    ("RU-SVE", "Asia/Yekaterinburg"), ("Свердловская область", "Asia/Yekaterinburg"),
    ("Sverdlovsk Oblast", "Asia/Yekaterinburg"), ("свердловская обл.", "Asia/Yekaterinburg"),
    ("Москва", "Europe/Moscow"), ("Moscow", "Europe/Moscow"), ("г. Москва", "Europe/Moscow"),
    ("RU-NVS", "Asia/Novosibirsk"), ("Республика Татарстан", "Europe/Moscow"), ("RU-KGD", "Europe/Kaliningrad"),
    ("Камчатский край", "Asia/Kamchatka"), ("Udmurtia", "Europe/Samara"), ("Республика Крым", "Europe/Moscow"),
    ("Екатеринбург", "Asia/Yekaterinburg"), ("Vladivostok", "Asia/Vladivostok"),
])
def test_a_russian_subject_or_city_by_code_or_name_in_russian_or_english(text: str, zone: str):
    assert place_zones("RU", text) == {zone}


def test_each_us_state_split_between_zones_gives_all_of_them_and_a_whole_state_one():
    for state in SPLIT_STATES:
        assert len(place_zones("US", state)) >= 2, state
    assert place_zones("US", "TX") == place_zones("US", "US-TX") == place_zones("US", "Texas") == {
        "America/Chicago", "America/Denver"}
    assert place_zones("US", "California") == {"America/Los_Angeles"}
    assert place_zones("US", "El Paso") == {"America/Denver"}  # a city narrows what its state cannot
    assert place_zones("US", "Portland") == {"America/Los_Angeles", "America/New_York"}  # OR and ME: both
    assert place_zones("US", "Kansas City") == {"America/Chicago"}  # the city, not the state of Kansas


def test_every_zone_a_us_zip_code_has_is_among_its_states():
    """An independent source: the zipcodes package's zone of each ZIP code lies within its state's zones."""
    by_state: dict[str, set[str]] = defaultdict(set)
    for entry in zipcodes.list_all():
        if entry["timezone"] in ZONE_TAB["US"]:  # not the territories' own zones, nor a stray town name
            by_state[entry["state"]].add(entry["timezone"])
    states = {row["code"] for row in _table("us-states.csv")}
    assert len(states) == 51
    for state, zones in by_state.items():
        if f"US-{state}" in states:
            assert zones <= place_zones("US", state), state


def _examples(region: str) -> list[str]:
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    found = (phonenumbers.example_number_for_type(region, kind) for kind in kinds)
    return [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in found if n]


NUMBERS = [number for region in ("RU", "US", "CA", "FR", "KZ", "UA", "GB", "PR") for number in _examples(region)]
PLACES = ([f"RU-{code}" for code in RU_SUBJECTS] + CRIMEA + ["Texas", "FL", "US-AK", "Москва", "El Paso", "Portland",
          "Paris", "Île-de-France", "Atlantis", "", "ON", "Ontario", "Almaty", "Київ"])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NUMBERS), st.sampled_from(PLACES))
def test_a_resolved_zone_is_always_one_of_the_numbers_own_country(number: str, place: str):
    _, region, number_zones = normalise_number(number, None)
    zones, source = lead_zones(region, number_zones, place)
    assert zones and set(zones) <= ZONE_TAB[region]
    if place_zones(region, place):
        assert source == ZoneSource.SUBDIVISION
    else:  # not a place of the number's country: the number's own zones, the miss counted when one was given
        assert (zones, source) == (number_zones, ZoneSource.UNKNOWN_PLACE if place else ZoneSource.NUMBER)


def _campaign(store, name: str = "Loans"):
    with store() as s:
        campaign = create_campaign(s, name, "survey", rules_profile="fr", countries=["FR", "RU", "US"])
        s.commit()
        return campaign


def _zones_of(store, campaign, phone: str) -> tuple[str, LeadStatus]:
    with store() as s:
        lead = s.scalars(select(Lead).where(Lead.campaign_id == campaign.id,
                                            Lead.phone_key == person_key(s, phone))).one()
        return lead.zones, lead.status


MIXED = """name,phone,subdivision,timezone,zip
Ivan,+7 916 123 45 67,RU-SVE,,
Olga,+7 916 765 43 21,Новосибирская область,,
Petr,+7 903 111 22 33,Sverdlovsk Oblast,,
Anna,+7 926 222 33 44,,,
John,+1 201 555 0123,TX,,
Mary,+1 201 555 0124,CA,,
Bob,+1 201 555 0125,El Paso,,
Zoé,+33 1 42 68 53 00,RU-MOW,,
Kate,+7 916 111 22 33,Atlantis,,
Tom,+1 201 555 0126,,America/Chicago,
Sue,+1 201 555 0127,,,10001
Gus,+33 6 12 34 56 78,,,
"""


def test_a_mixed_file_imports_every_row_and_its_summary_counts_each_way_a_zone_was_found(store, tmp_path: Path):
    campaign = _campaign(store)
    path = tmp_path / "leads.csv"
    path.write_text(MIXED, encoding="utf-8")
    with store() as s:
        summary = import_csv(s, campaign, path, now=NOW)
    assert (summary.rows, summary.imported, summary.rejected) == (12, 12, 0)
    counts = (summary.zone_by_timezone, summary.zone_by_postal_code, summary.zone_by_subdivision,
              summary.zone_by_number, summary.uncertain_zones, summary.unknown_subdivisions)
    assert counts == (1, 1, 5, 2, 3, 2)
    assert summary.line().endswith(
        "; time zones: 1 from the timezone column, 5 from the subdivision, 1 from the ZIP code, "
        "2 from the number alone, 3 uncertain (several zones), 2 with a subdivision not known for the number's "
        "country")
    assert _zones_of(store, campaign, "+79161234567") == ("Asia/Yekaterinburg", LeadStatus.NEW)
    assert _zones_of(store, campaign, "+79167654321")[0] == "Asia/Novosibirsk"
    assert _zones_of(store, campaign, "+12015550123")[0] == "America/Chicago,America/Denver"  # the state wins
    assert _zones_of(store, campaign, "+12015550125")[0] == "America/Denver"
    assert _zones_of(store, campaign, "+33142685300")[0] == "Europe/Paris"  # a Russian subject on a French number
    zones, status = _zones_of(store, campaign, "+79161112233")  # not a place: the number's own 26 zones, kept:
    assert len(zones.split(",")) == 26 and status == LeadStatus.NEW  # Russia's hours hold in all on weekday mornings


def test_a_russian_mobile_with_its_subject_is_dialled_in_its_own_hours_and_one_without_when_all_26_agree(
        store, tmp_path: Path):
    """Russia's hours (weekdays 08:00-22:00 local) in the person's zone; a mobile with no subject has 26
    candidate zones, UTC+2 to UTC+12, which all agree only on weekday mornings, 06:00-10:00 UTC."""
    campaign = _campaign(store)
    path = tmp_path / "leads.csv"
    path.write_text("name,phone,state\nIvan,+7 916 123 45 67,Свердловская область\nOlga,+7 916 765 43 21,\n"
                    "Pavel,+7 916 555 44 33,RU-KAM\n", encoding="utf-8")
    with store() as s:
        summary = import_csv(s, campaign, path, now=NOW)
    assert (summary.zone_by_subdivision, summary.uncertain_zones, summary.no_window) == (2, 1, 0)
    with store() as s:  # 16:00 in Yekaterinburg, 23:00 in Kamchatka
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW)] == ["+79161234567"]
    with store() as s:  # Wednesday 11:00 in Kamchatka, 04:00 in Yekaterinburg
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW + timedelta(hours=12))] == [
            "+79165554433"]
    with store() as s:  # Wednesday 07:00 UTC: 09:00 in Kaliningrad, 19:00 in Kamchatka, open in all 26
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW + timedelta(hours=20))] == [
            "+79167654321"]


def test_the_tables_name_their_sources_and_hold_only_zones_of_their_country():
    for name, country in (("ru-subjects.csv", "RU"), ("us-states.csv", "US"), ("cities.csv", None)):
        assert "\n# Sources: " in resources.files("lists").joinpath("data", name).read_text(encoding="utf-8")
        for row in _table(name):
            zones = (row.get("zones") or row["zone"]).split()
            assert set(zones) <= ZONE_TAB[country or row["country"]], row

"""Imports say what they did with every line: a quote left open is reported at the line that opened it and the
rows after it still import; cells past the header reject their row; a registry's country reads its national
numbers and its header is no rejected number; leads whose time zone is uncertain are counted, and those the
campaign's window never opens for are set aside, not rescheduled day after day."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lists.campaigns import create_campaign
from lists.importer import UNBALANCED, import_csv
from lists.models import Lead
from lists.sealing import person_key

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # a Tuesday, noon in Paris


def _campaign(store, name: str = "Loans", profile: str = "fr"):
    with store() as s:
        campaign = create_campaign(s, name, "loan-offer", rules_profile=profile)
        s.commit()
        return campaign


def _rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def _import(store, campaign, path: Path, text: str, **options):
    path.write_text(text, encoding="utf-8")
    with store() as s:
        summary = import_csv(s, campaign, path, **options)
        phones = set(s.scalars(select(Lead.phone_e164).where(Lead.campaign_id == campaign.id)))
    return summary, phones


def test_an_unbalanced_quote_is_reported_at_its_line_and_the_rows_after_it_import(store, tmp_path: Path):
    text = ('name,phone,note\n'
            '"Anne,+33612345680,first\n'  # line 2: the quote never closes
            'Bob,+33612345681,second\n'
            'Carl,+33612345682,"a note\non two lines"\n'  # lines 4-5: a cell with a line break, as CSV allows
            'Dora,+33612345683,"open\n'  # line 6: closed by a stray quote on line 7, a row taken in
            'Emil,+33612345684,x"y\n'
            'Fred,+33612345685,last "\n'
            'Gina,+33612345686,"to the end\n')  # line 9: open at the end of the file
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", text)
    assert phones == {"+33612345681", "+33612345682", "+33612345684", "+33612345685"}
    assert (summary.rows, summary.imported, summary.rejected) == (7, 4, 3)
    assert _rejects(summary.rejects_path) == [
        ["2", UNBALANCED, '"Anne,+33612345680,first'],
        ["6", UNBALANCED, 'Dora,+33612345683,"open'],
        ["9", UNBALANCED, 'Gina,+33612345686,"to the end'],
    ]
    assert "missing field" not in summary.rejects_path.read_text(encoding="utf-8")


def test_a_quote_left_open_takes_in_no_more_than_twenty_lines(store, tmp_path: Path):
    rows = "".join(f"P{i},+336123450{i:02d}\n" for i in range(40))
    text = 'name,phone\n"Open,+33612349999\n' + rows
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", text)
    assert len(phones) == 40 and summary.rejected == 1
    assert _rejects(summary.rejects_path)[0][:2] == ["2", UNBALANCED]


def test_cells_past_the_header_reject_their_row_with_its_line(store, tmp_path: Path):
    text = ("name,phone\n"
            "Anne,+33612345680\n"
            "Dupont, Bob,+33612345681\n"  # a stray delimiter: three cells under two columns
            "Carl,+33612345682,,\n"  # empty cells past the end, as spreadsheets write them: nothing to lose
            "Dora,+33612345683,x,y,z\n")
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", text)
    assert phones == {"+33612345680", "+33612345682"}
    assert _rejects(summary.rejects_path) == [
        ["3", "1 cell more than the header's 2 columns (a stray delimiter, or a column with no name)",
         "Dupont", " Bob", "+33612345681"],
        ["5", "3 cells more than the header's 2 columns (a stray delimiter, or a column with no name)",
         "Dora", "+33612345683", "x", "y", "z"],
    ]


def test_a_registry_reads_national_numbers_in_its_own_country_and_skips_its_header(store, tmp_path: Path):
    from lists.dnc import dnc_entries, import_registry

    registry = tmp_path / "bloctel.csv"
    registry.write_text("Numéro de téléphone\n01 42 68 53 00\n06 12 34 56 80\n", encoding="utf-8")
    with store() as s:
        result = import_registry(s, "default", "bloctel", registry, NOW)
        listed = [phone for phone, _ in dnc_entries(s, "default", "bloctel")]
    assert (result.numbers, result.rejected, result.rejects_path) == (2, 0, None)  # the header is not rejected
    assert listed == ["+33142685300", "+33612345680"]
    assert result.line() == ("registry bloctel: 2 numbers, 0 rejected; header 'Numéro de téléphone' skipped; "
                             "national numbers read as FR")


@pytest.mark.parametrize(("registry", "given", "region"), [
    ("bloctel", None, "FR"), ("TPS", None, "GB"), ("us-national", None, "US"), ("bloctel", "be", "BE"),
    ("my-own-copy", None, None)])
def test_the_registrys_country_is_the_default_region_and_an_option_overrides_it(registry, given, region):
    from lists.dnc import registry_region

    assert registry_region(registry, given) == region


def test_dnc_import_of_a_uk_registry_needs_no_region(tmp_path: Path):
    from click.testing import CliRunner

    from cli import main

    tps = tmp_path / "tps.txt"
    tps.write_text("number\n020 7946 0018\n07400 123456\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["dnc", "import", str(tps), "--registry", "tps",
                                     "--database-url", f"sqlite:///{tmp_path / 'dialer.db'}"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("registry tps: 2 numbers, 0 rejected; header 'number' skipped; ")


# ---- leads whose time zone is uncertain ---------------------------------------------------------------------

RUSSIAN_MOBILE = "+7 916 123 45 67"  # 26 candidate zones, Kaliningrad (UTC+2) to Kamchatka (UTC+12)


def _lead(store, campaign, phone: str) -> Lead:
    with store() as s:
        return s.scalars(select(Lead).where(Lead.campaign_id == campaign.id,
                                            Lead.phone_key == person_key(s, phone))).one()


def _both(store, name: str = "Polls"):
    """A survey calling France and Russia: no consent needed, and Russia allows automatic dialling for it."""
    with store() as s:
        campaign = create_campaign(s, name, "survey", rules_profile="fr", countries=["FR", "RU"])
        s.commit()
        return campaign


def test_a_russian_mobile_is_refused_by_a_campaign_that_does_not_call_russia_naming_its_country(
        store, tmp_path: Path):
    campaign = _campaign(store)  # France only
    path = tmp_path / "leads.csv"
    summary, _ = _import(store, campaign, path, f"name,phone\nIvan,{RUSSIAN_MOBILE}\nZoé,01 42 68 53 00\n",
                         default_region="FR", now=NOW)
    assert (summary.imported, summary.rejected) == (1, 1)
    assert [row[1] for row in _rejects(path.with_name("leads.csv.rejects.csv"))] == [
        "country RU: not one the campaign calls (FR)"]


def test_a_russian_mobile_is_dialled_in_russias_hours_when_all_its_zones_agree(store, tmp_path: Path):
    """26 candidate zones, UTC+2 to UTC+12: Russia's weekday hours (08:00-22:00) hold in all from 06:00 to
    10:00 UTC, so it is kept, not set aside, and dialled then; a timezone column makes it dialable all day."""
    from lists.selection import claim_leads

    campaign = _both(store)
    summary, _ = _import(store, campaign, tmp_path / "leads.csv", f"name,phone\nIvan,{RUSSIAN_MOBILE}\n",
                         default_region="FR", now=NOW)
    assert (summary.imported, summary.uncertain_zones, summary.no_window) == (1, 1, 0)
    assert summary.warning() == (
        "1 leads have several candidate time zones (a mobile or country-wide number): each is dialled only when "
        "its country's window is open in all of them; a timezone column, or a subdivision column (a Russian "
        "federal subject, a US state, a big city), gives a lead its own zone (import the file again with it)")
    with store() as s:  # Tuesday 11:00 UTC: 23:00 in Kamchatka
        assert claim_leads(s, campaign, 10, NOW) == []
    with store() as s:  # Wednesday 07:00 UTC: 09:00 in Kaliningrad, 19:00 in Kamchatka
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW + timedelta(hours=20))] == [
            "+79161234567"]


def test_a_timezone_column_makes_the_russian_mobile_dialable_from_the_start(store, tmp_path: Path):
    from lists.selection import claim_leads

    campaign = _both(store)
    summary, _ = _import(store, campaign, tmp_path / "leads.csv",
                         f"name,phone,timezone\nIvan,{RUSSIAN_MOBILE},Europe/Moscow\n", now=NOW)
    assert (summary.imported, summary.uncertain_zones, summary.no_window, summary.warning()) == (1, 0, 0, None)
    with store() as s:  # 14:00 in Moscow
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW)] == ["+79161234567"]


def test_the_claim_sets_aside_a_lead_of_a_country_not_called_and_adding_the_country_gives_it_back(store):
    from lists.campaigns import edit_campaign
    from lists.lifecycle import LeadStatus
    from lists.numbers import normalise_number
    from lists.selection import claim_leads

    with store() as s:
        campaign = create_campaign(s, "Polls", "survey", rules_profile="fr")  # France only
        s.commit()
    zones = ",".join(normalise_number(RUSSIAN_MOBILE, None)[2])
    with store() as s:  # a lead stored by another path (the API, a retarget), never checked against the countries
        s.add(Lead(campaign_id=campaign.id, phone_e164="+79161234567", region="RU", zones=zones, fields={},
                   status="retry", attempts=1, next_at=NOW.replace(tzinfo=None)))
        s.commit()
        assert claim_leads(s, campaign, 10, NOW) == []
    assert _lead(store, campaign, "+79161234567").status == LeadStatus.NO_WINDOW
    with store() as s:
        both = edit_campaign(s, "Polls", countries=["FR", "RU"])
        s.commit()
        assert _lead(store, campaign, "+79161234567").status == LeadStatus.RETRY
        later_7_utc = NOW.replace(hour=7) + timedelta(days=2)  # the set-aside lead was due again a day after
        assert [lead.phone_e164 for lead in claim_leads(s, both, 10, later_7_utc)] == ["+79161234567"]


def test_the_import_warns_on_the_command_line_and_campaign_show_names_the_countries(tmp_path: Path):
    from click.testing import CliRunner

    from cli import main

    db = ["--database-url", f"sqlite:///{tmp_path / 'dialer.db'}"]
    leads = tmp_path / "leads.csv"
    leads.write_text(f"name,phone\nIvan,{RUSSIAN_MOBILE}\nOlga,+7 916 765 43 21\nZoé,+33 1 42 68 53 00\n",
                     encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(main, ["campaign", "create", "Polls", "--kind", "survey", "--countries", "fr,ru", *db])
    assert made.exit_code == 0 and "profile fr, countries FR, RU" in made.output, made.output
    done = runner.invoke(main, ["lists", "import", str(leads), "--campaign", "Polls", *db])
    assert done.exit_code == 0, done.output
    assert done.stdout == ("3 rows: 3 imported, 0 rejected, 0 duplicates; "
                           "time zones: 1 from the number alone, 2 uncertain (several zones)\n")
    assert done.stderr.startswith("warning: 2 leads have several candidate time zones")
    assert "timezone column" in done.stderr and "set aside" not in done.stderr
    shown = runner.invoke(main, ["campaign", "show", "Polls", *db])
    assert re.search(r"countries +FR, RU", shown.output), shown.output

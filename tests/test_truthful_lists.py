"""Lists tell the truth about numbers: ``00`` is the international prefix, parse errors are in the product's own
words, and adding a listed number to the DNC list says it was listed already."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from lists.numbers import normalise_number


@pytest.mark.parametrize("written", ["0033 6 12 34 56 80", "00 33 6 12 34 56 80", " 0033612345680"])
def test_the_00_international_prefix_needs_no_default_region(written):
    e164, region, _ = normalise_number(written, None)
    assert (e164, region) == ("+33612345680", "FR")


@pytest.mark.parametrize(("written", "region", "said"), [
    ("hello", "FR", "not a phone number"),
    ("06 12 34 56 80", None, "no country: write it with + and its country code, or import with a default region"),
    ("+33 6 12 34 56 80 12 34 56 78 90", None, "too long"),
])
def test_parse_errors_are_in_the_products_words(written, region, said):
    with pytest.raises(ValueError) as error:
        normalise_number(written, region)
    assert str(error.value) == f"invalid number: {said}"
    assert "(" not in str(error.value)  # the phone library's internal codes, "(1) The string supplied ..."


def test_an_import_takes_00_numbers_and_rejects_with_the_products_reasons(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'dialer.db'}"
    leads = tmp_path / "leads.csv"
    leads.write_text("name,phone\nAnne,0033 6 12 34 56 80\nBad,hello\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["campaign", "create", "Loans", "--kind", "loan-offer", "--rules-profile", "fr",
                                "--database-url", db]).exit_code == 0
    done = runner.invoke(main, ["lists", "import", str(leads), "--campaign", "Loans", "--database-url", db])
    assert done.exit_code == 0, done.output
    with open(tmp_path / "leads.csv.rejects.csv", encoding="utf-8") as rejects:
        rows = list(csv.DictReader(rejects))
    assert [(row["line"], row["reason"]) for row in rows] == [("3", "invalid number: not a phone number")]


def test_dnc_add_of_a_listed_number_says_it_was_listed(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'dialer.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["dnc", "add", "+33612345680", "--database-url", db])
    again = runner.invoke(main, ["dnc", "add", "+33612345680", "--database-url", db])
    assert first.exit_code == again.exit_code == 0
    assert first.output.startswith("added ") and again.output.startswith("already listed: ")
    assert "612345680" not in again.output  # masked


def _refusers(db: str) -> datetime:
    """A French tariff campaign whose two leads refused as too expensive 20 and 10 days ago; returns now."""
    from lists.campaigns import create_campaign
    from lists.lifecycle import LeadStatus
    from lists.models import Lead
    from lists.store import open_store

    now = datetime.now(UTC)
    factory = open_store(db)
    with factory() as s:
        old = create_campaign(s, "Tariff A", "tariff-switch", rules_profile="fr")
        s.add_all(Lead(campaign_id=old.id, phone_e164=f"+3314268000{i}", zones="Europe/Paris", fields={},
                       status=LeadStatus.DONE, attempts=1, refusal_reason="too_expensive",
                       last_refusal_at=(now - timedelta(days=days)).replace(tzinfo=None))
                  for i, days in enumerate((20, 10)))
        s.commit()
    factory.kw["bind"].dispose()
    return now


def test_retarget_says_when_the_cool_off_lets_the_leads_be_dialled(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'dialer.db'}"
    now = _refusers(db)
    done = CliRunner().invoke(main, ["campaign", "retarget", "--from", "Tariff A", "--reason", "too_expensive",
                                     "--name", "Tariff S", "--database-url", db])
    assert done.exit_code == 0, done.output
    first, last = now + timedelta(days=40), now + timedelta(days=50)
    assert "created campaign Tariff S with 2 leads" in done.output
    assert (f"2 leads are in the fr cool-off after a refusal: dialable from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
            in done.output)
    shown = CliRunner().invoke(main, ["campaign", "show", "Tariff S", "--database-url", db])
    assert f"dialable from {first:%Y-%m-%d}" in shown.output


def test_retarget_with_a_reason_nobody_gave_makes_nothing_and_exits_1(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'dialer.db'}"
    _refusers(db)
    done = CliRunner().invoke(main, ["campaign", "retarget", "--from", "Tariff A", "--reason", "no_need",
                                     "--name", "Tariff Z", "--database-url", db])
    assert done.exit_code == 1
    assert "no lead of Tariff A refused for no_need" in done.output
    listed = CliRunner().invoke(main, ["campaign", "list", "--database-url", db])
    assert "Tariff Z" not in listed.output

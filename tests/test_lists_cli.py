"""Campaign, list, DNC and report commands on a real store, and the library functions behind them."""

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from dialer.records import AttemptRecord
from lists.campaigns import create_campaign, get_campaign, retarget
from lists.dnc import add_to_dnc, import_registry, stale_registries
from lists.models import Lead
from lists.reports import dispositions_report, penetration_report, refusals_report
from lists.selection import claim_leads, record_attempt

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

NOON_PARIS = datetime(2026, 4, 21, 10, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Paris: before its opt-in (11 Aug 2026)
LEADS = "name;phone;country\nJan de Vries;06 12345678;NL\nZoë Lefèvre;01 42 68 53 00;FR\nBad;123;FR\n"


def run(db_url: str, *args: str):
    return CliRunner().invoke(main, [*args[:2], "--database-url", db_url, *args[2:]])


def test_campaign_commands_round_trip_and_name_the_bad_field(store_url, tmp_path: Path):
    assert run(store_url, "campaign", "create", "Tariffs", "--kind", "tariff-switch", "--rules-profile", "fr",
               "--abandon-cap", "0.02").exit_code == 0
    listed = run(store_url, "campaign", "list")
    assert "Tariffs" in listed.output and "tariff-switch" in listed.output
    edited = run(store_url, "campaign", "edit", "Tariffs", "--add-reason", "rate_too_high=Rate too high",
                 "--remove-reason", "bad_timing", "--dial-mode", "power")
    assert edited.exit_code == 0, edited.output
    shown = run(store_url, "campaign", "show", "Tariffs")
    assert "rate_too_high (Rate too high)" in shown.output and "bad_timing" not in shown.output
    assert "power" in shown.output
    bad = run(store_url, "campaign", "create", "X", "--kind", "survey", "--abandon-cap", "0.05")
    assert bad.exit_code == 2 and "--abandon-cap" in bad.output
    dup = run(store_url, "campaign", "create", "Tariffs", "--kind", "survey")
    assert dup.exit_code == 2 and "already exists" in dup.output
    missing = run(store_url, "campaign", "show", "Nope")
    assert missing.exit_code == 2 and "NAME: no campaign called 'Nope'" in missing.output


def test_import_then_export_with_and_without_masking(store_url, tmp_path: Path):
    run(store_url, "campaign", "create", "EU", "--kind", "loan-offer")
    source = tmp_path / "leads.csv"
    source.write_text(LEADS, encoding="utf-8")
    imported = run(store_url, "lists", "import", str(source), "--campaign", "EU")
    assert imported.exit_code == 0 and "3 rows: 2 imported, 1 rejected, 0 duplicates" in imported.output
    plain, masked = tmp_path / "plain.csv", tmp_path / "masked.csv"
    assert run(store_url, "lists", "export", "--campaign", "EU", "--out", str(plain)).exit_code == 0
    assert run(store_url, "lists", "export", "--campaign", "EU", "--out", str(masked), "--mask").exit_code == 0
    rows = list(csv.DictReader(plain.read_text(encoding="utf-8").splitlines()))
    assert {r["phone_e164"] for r in rows} == {"+31612345678", "+33142685300"}
    assert {"timezone", "status", "attempts", "last_disposition", "refusal_reason"} <= set(rows[0])
    hidden = masked.read_text(encoding="utf-8")
    assert "+31612345678" not in hidden and "+316*****678" in hidden and "Lefèvre" not in hidden


def test_bad_encoding_is_one_clear_error(store_url, tmp_path: Path):
    run(store_url, "campaign", "create", "RU", "--kind", "survey")
    source = tmp_path / "ru.csv"
    source.write_bytes("name,phone\nАнна,+74951234567\n".encode("cp1251"))
    result = run(store_url, "lists", "import", str(source), "--campaign", "RU")
    assert result.exit_code == 2 and "--encoding" in result.output


def _called(s, campaign, outcomes):
    """Claim every lead once and record the given (disposition, reason) per lead, in phone order."""
    leads = sorted(claim_leads(s, campaign, 100, NOON_PARIS), key=lambda lead: lead.phone_e164)
    for lead, (disposition, reason) in zip(leads, outcomes, strict=True):
        record_attempt(s, campaign, lead, AttemptRecord(
            outcome="human", dialled_at=NOON_PARIS, answered_at=NOON_PARIS + timedelta(seconds=9),
            connected_at=NOON_PARIS + timedelta(seconds=10), hangup_at=NOON_PARIS + timedelta(minutes=2),
            disposition=disposition, refusal_reason=reason, agent="a1",
            data={"offer": "tariff-S", "address_confirmed": True} if disposition == "accepted" else {}))
    return leads


def _paris_leads(s, campaign, n):
    s.add_all(Lead(campaign_id=campaign.id, phone_e164=f"+3314268{i:04d}", zones="Europe/Paris", fields={},
                   status="new", attempts=0) for i in range(n))
    s.commit()


def test_retarget_takes_the_refusers_and_keeps_their_cool_off(store):
    outcomes = [("refused", "too_expensive"), ("refused", "too_expensive"), ("refused", "no_need"),
                ("accepted", None), ("dnc_request", None), ("refused", "too_expensive")]
    with store() as s:
        old = create_campaign(s, "Tariff A", "tariff-switch", rules_profile="fr")
        _paris_leads(s, old, len(outcomes))
        leads = _called(s, old, outcomes)
        # The person who refused as too expensive and then asked for no calls (a closed lead is never dialled
        # again, so the request reaches the company's own list) must not come back.
        add_to_dnc(s, old.company, leads[5].phone_e164, NOON_PARIS)
        new, count = retarget(s, "Tariff A", ["too_expensive"], "Tariff S", NOON_PARIS)
        phones = set(s.scalars(select(Lead.phone_e164).where(Lead.campaign_id == new.id)))
        assert count == 2 and phones == {leads[0].phone_e164, leads[1].phone_e164}
        assert new.rules_profile == "fr" and new.kind == "tariff-switch"
        # France: no contact for 60 days after a refusal, whichever campaign calls.
        assert claim_leads(s, new, 10, NOON_PARIS + timedelta(days=59)) == []
        assert len(claim_leads(s, new, 10, NOON_PARIS + timedelta(days=62))) == 2
        with pytest.raises(Exception, match="refusal catalogue"):
            retarget(s, "Tariff A", ["lottery"], "Tariff Z", NOON_PARIS)


def test_reports_count_the_ledger_and_write_csv_json_and_png(store_url, store, tmp_path: Path):
    outcomes = [("refused", "too_expensive"), ("refused", "too_expensive"), ("refused", "no_need"),
                ("accepted", None)]
    with store() as s:
        campaign = create_campaign(s, "Survey", "tariff-switch", rules_profile="fr")
        _paris_leads(s, campaign, 5)
        _called(s, campaign, [*outcomes, ("callback", None)])
        refusals = refusals_report(s, campaign)
        assert [(r[0], r[2]) for r in refusals.rows] == [("too_expensive", 2), ("no_need", 1)]
        assert refusals.rows[0][3] == pytest.approx(2 / 3)
        dispositions = {r[0]: r[2] for r in dispositions_report(s, campaign).rows}
        assert dispositions == {"refused": 3, "accepted": 1, "callback": 1}
        penetration = {r[0]: r[2] for r in penetration_report(s, campaign).rows}
        assert penetration["attempted"] == 5 and penetration["reached"] == 5 and penetration["untouched"] == 0
    out = {ext: tmp_path / f"refusals.{ext}" for ext in ("csv", "json", "png")}
    result = run(store_url, "report", "refusals", "--campaign", "Survey", "--csv", str(out["csv"]),
                 "--json", str(out["json"]), "--plot", str(out["png"]))
    assert result.exit_code == 0 and "Too expensive" in result.output
    assert json.loads(out["json"].read_text())["rows"][0]["count"] == 2
    assert out["csv"].read_text().splitlines()[1].startswith("too_expensive,Too expensive,2,")
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_order_form_fields_are_kept_with_the_attempt(store):
    from lists.models import Attempt

    with store() as s:
        campaign = create_campaign(s, "Loans", "loan-offer", rules_profile="fr")
        _paris_leads(s, campaign, 1)
        _called(s, campaign, [("accepted", None)])
        assert s.scalar(select(Attempt.data)) == {"offer": "tariff-S", "address_confirmed": True}


def test_dnc_registry_refresh_replaces_the_copy_and_goes_stale_after_31_days(store, tmp_path: Path):
    registry = tmp_path / "registry.txt"
    registry.write_text("phone\n+33142680000\n0142680001\n0142\n", encoding="utf-8")
    with store() as s:
        campaign = create_campaign(s, "Loans", "loan-offer", rules_profile="fr")
        _paris_leads(s, campaign, 3)
        result = import_registry(s, "default", "bloctel", registry, NOON_PARIS, default_region="FR")
        assert (result.numbers, result.rejected, result.header) == (2, 1, "phone")  # a header is no number
        assert "4,invalid number" in result.rejects_path.read_text()
        claimed = {lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOON_PARIS)}
        assert claimed == {"+33142680002"}
        assert stale_registries(s, "default", NOON_PARIS + timedelta(days=31)) == []
        assert [name for name, _ in stale_registries(s, "default", NOON_PARIS + timedelta(days=32))] == ["bloctel"]
        registry.write_text("+33142680002\n", encoding="utf-8")
        import_registry(s, "default", "bloctel", registry, NOON_PARIS + timedelta(days=32), default_region="FR")
        assert stale_registries(s, "default", NOON_PARIS + timedelta(days=40)) == []
        assert get_campaign(s, "Loans").company == "default"

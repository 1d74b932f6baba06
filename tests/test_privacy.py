"""Personal data at rest and on request (issue 28, item 8): sealed numbers and names, erasure, retention.

Each store test runs on a clear and a sealed store (``sealed_too``), on SQLite and PostgreSQL. The erasure's
promise: the name, number and fields go; the DNC entry (its blind index) and the attempt records stay, so the
person is never dialled again and the compliance counts do not move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cli import main
from lists.campaigns import create_campaign
from lists.dnc import add_to_dnc, dnc_entries
from lists.importer import import_csv
from lists.lifecycle import LeadStatus
from lists.models import Attempt, AuditEvent, DncEntry, Lead, insert_new_leads, to_db
from lists.privacy import Erasure, encrypt_store, erase_person, purge_expired, set_retention
from lists.sealing import KEY_ENV, Sealer, SealError, person_key, read_key
from lists.selection import claim_leads
from lists.store import open_engine, open_store
from pacing.errors import InvalidInput
from tests.conftest import TEST_STORE_KEY
from tests.daemon_helpers import make_scenario

pytestmark = pytest.mark.sealed_too

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Paris: the French window is open
PEOPLE = [("+33612345601", "Jean Dupont"), ("+33612345602", "Marie Curie"), ("+33612345603", "Ana Lopes")]


def _campaign(session, name: str = "Loans", company: str = "default"):
    campaign = create_campaign(session, name, "survey", rules_profile="fr", company=company)  # no consent needed
    insert_new_leads(session, campaign.id, to_db(NOW - timedelta(days=1)),
                     [(phone, person, "FR", "Europe/Paris", "{}") for phone, person in PEOPLE])
    session.flush()
    return campaign


def _attempt(session, lead: Lead, at: datetime, abandoned: bool) -> None:
    session.add(Attempt(lead_id=lead.id, campaign_id=lead.campaign_id, dialled_at=to_db(at),
                        answered_at=to_db(at + timedelta(seconds=9)), abandoned=abandoned,
                        outcome="abandoned" if abandoned else "human", hangup_at=to_db(at + timedelta(seconds=40))))
    lead.attempts += 1


def _counts(session, campaign_id: int) -> tuple[int, int, int]:
    """(attempts, live answers, abandoned) of the campaign: what its compliance figures are made of."""
    rows = session.execute(select(Attempt.outcome, Attempt.abandoned).where(Attempt.campaign_id == campaign_id)).all()
    return len(rows), sum(o in ("human", "abandoned") for o, _ in rows), sum(bool(a) for _, a in rows)


def test_an_erasure_removes_the_person_keeps_their_dnc_entry_and_records_and_the_counts(store):
    with store() as s:
        campaign = _campaign(s)
        jean = s.scalars(select(Lead).where(Lead.phone_key == person_key(s, PEOPLE[0][0]))).one()
        _attempt(s, jean, NOW - timedelta(days=3), abandoned=True)
        _attempt(s, jean, NOW - timedelta(days=2), abandoned=False)
        add_to_dnc(s, "default", PEOPLE[0][0], NOW)
        s.commit()
        before = _counts(s, campaign.id)
        erasure = erase_person(s, "default", PEOPLE[0][0], NOW, "cli:test")
        s.commit()
        assert erasure == Erasure(leads=1, dnc_entries=1, attempts=2,
                                  kept_until=(NOW - timedelta(days=2) + timedelta(days=1826)).date())
        assert _counts(s, campaign.id) == before == (2, 2, 1)
        s.expire_all()
        jean = s.get_one(Lead, jean.id)
        assert (jean.phone_e164, jean.name, jean.fields, jean.status) == ("", None, {}, LeadStatus.ERASED)
        assert dnc_entries(s, "default")[0][0] == ""  # the entry stays, its number gone
        assert s.scalar(select(DncEntry.phone_key)) == person_key(s, PEOPLE[0][0])
        assert [lead.phone_e164 for lead in claim_leads(s, campaign, 10, NOW)] == [p for p, _ in PEOPLE[1:]]
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "erase")).one()
        assert audit.detail["number"] == "+336*****601" and PEOPLE[0][1] not in str(audit.detail)


def test_an_erased_number_on_dnc_is_refused_when_a_list_brings_it_back(store, tmp_path):
    with store() as s:
        campaign = _campaign(s)
        add_to_dnc(s, "default", PEOPLE[1][0], NOW)
        erase_person(s, "default", PEOPLE[1][0], NOW, "cli:test")
        other = create_campaign(s, "Tariffs", "tariff-switch", rules_profile="fr")
        s.commit()
        csv = tmp_path / "again.csv"
        csv.write_text(f"phone,name\n{PEOPLE[1][0]},{PEOPLE[1][1]}\n+33612345699,New Person\n", encoding="utf-8")
        summary = import_csv(s, other, csv, now=NOW)
        assert (summary.imported, summary.rejected) == (1, 1)
        assert "on DNC" in (tmp_path / "again.csv.rejects.csv").read_text(encoding="utf-8")
        assert campaign.id != other.id


def test_a_person_being_dialled_is_not_erased_until_the_call_ends(store):
    with store() as s:
        campaign = _campaign(s)
        claimed = claim_leads(s, campaign, 1, NOW)
        s.commit()
        with pytest.raises(InvalidInput, match=r"^number: a call to \+336\*{5}\d{3} is being placed"):
            erase_person(s, "default", claimed[0].phone_e164, NOW, "cli:test")


def test_retention_is_never_shorter_than_the_record_period_and_purges_only_lead_data(store):
    with store() as s:
        campaign = _campaign(s)
        leads = list(s.scalars(select(Lead).order_by(Lead.id)))
        _attempt(s, leads[0], NOW - timedelta(days=2000), abandoned=False)  # past 1826 days: purged
        _attempt(s, leads[1], NOW - timedelta(days=1000), abandoned=True)  # inside the record period: kept
        add_to_dnc(s, "default", PEOPLE[0][0], NOW - timedelta(days=2000))
        s.commit()
        with pytest.raises(InvalidInput, match=r"^days: 30 is shorter than the record period .* \(1826 days\)"):
            set_retention(s, "default", 30, NOW, "cli:test")
        set_retention(s, "default", 1900, NOW, "cli:test")
        assert purge_expired(s, NOW, "cli:test") == {"default": 1}
        s.commit()
        s.expire_all()
        assert [lead.status for lead in s.scalars(select(Lead).order_by(Lead.id))] == [
            LeadStatus.ERASED, LeadStatus.NEW, LeadStatus.NEW]
        assert dnc_entries(s, "default")[0][0] == PEOPLE[0][0]  # never a DNC entry
        assert _counts(s, campaign.id) == (2, 2, 1)
        assert purge_expired(s, NOW + timedelta(days=1000), "cli:test") == {"default": 1}  # 2000 days past its call
        assert purge_expired(s, NOW + timedelta(days=1900), "cli:test") == {"default": 1}  # never dialled, due then


def test_a_sealed_store_holds_no_number_or_name_in_clear(store, store_backend):
    if not store_backend.endswith("-sealed"):
        pytest.skip("a clear store holds them in clear, by design")
    with store() as s:
        _campaign(s)
        add_to_dnc(s, "default", PEOPLE[2][0], NOW)
        s.commit()
        raw = s.execute(text("SELECT phone_e164, name FROM lead UNION ALL SELECT phone_e164, '' FROM dnc_entry"))
        stored = " ".join(f"{phone} {name}" for phone, name in raw)
    assert stored.count("s1.") == 7 and not any(p[-9:] in stored or n in stored for p, n in PEOPLE)


def test_the_key_must_be_the_stores_own_and_present(store_url, store_backend, monkeypatch):
    if not store_backend.endswith("-sealed"):
        pytest.skip("a clear store needs no key")
    open_store(store_url).kw["bind"].dispose()  # made sealed: empty, with the key set
    monkeypatch.setenv(KEY_ENV, "A" * 43 + "=")
    with pytest.raises(SealError, match="^the store key is not this store's"):
        open_store(store_url)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SealError, match="^the store is encrypted: set DIALER_STORE_KEY"):
        open_store(store_url)
    monkeypatch.setenv(KEY_ENV, "not base64!")
    with pytest.raises(SealError, match="^DIALER_STORE_KEY: the store key is not base64"):
        open_store(store_url)


def test_sealing_a_clear_store_keeps_an_erased_persons_dnc_entry_matching(store_url, store_backend, monkeypatch):
    """The number is gone, yet after ``privacy encrypt`` the entry still refuses the number: the index re-keys."""
    if store_backend.endswith("-sealed"):
        pytest.skip("starts from a clear store")
    factory = open_store(store_url)
    with factory() as s:
        campaign = _campaign(s)
        add_to_dnc(s, "default", PEOPLE[0][0], NOW)
        erase_person(s, "default", PEOPLE[0][0], NOW, "cli:test")
        s.commit()
        campaign_id = campaign.id
    factory.kw["bind"].dispose()
    monkeypatch.setenv(KEY_ENV, TEST_STORE_KEY)
    engine = open_engine(store_url)
    assert encrypt_store(engine, read_key()).leads == 3
    engine.dispose()
    factory = open_store(store_url)
    with factory() as s:
        assert s.scalar(select(DncEntry.phone_key)) == person_key(s, PEOPLE[0][0])
        assert sorted(lead.phone_e164 for lead in claim_leads(s, s.get_one(type(campaign), campaign_id), 5, NOW)) \
            == [p for p, _ in PEOPLE[1:]]
    factory.kw["bind"].dispose()


def test_the_cli_erases_and_says_what_it_kept(store, store_url):
    with store() as s:
        _campaign(s)
        s.commit()
    runner = CliRunner()
    result = runner.invoke(main, ["privacy", "erase", "--number", "06 12 34 56 02", "--default-region", "FR",
                                  "--database-url", store_url])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("erased +336*****602: 1 leads' name, number and fields removed; "
                                     "kept 0 DNC entries (as a blind index) and 0 attempt records")
    assert PEOPLE[1][1] not in result.output


def test_a_blind_index_is_keyed_and_sealing_is_bound_to_its_column():
    salt, master = bytes(32), bytes(range(32))
    clear, sealed = Sealer(salt), Sealer.sealing(salt, master)
    assert clear.key_of("+33612345601") == clear.key_of("+33612345601") != clear.key_of("+33612345602")
    assert sealed.key_of("+33612345601") == sealed.rekeyed(clear.key_of("+33612345601"))
    assert sealed.key_of("+33612345601") != Sealer.sealing(salt, bytes(32)).key_of("+33612345601")
    token = sealed.seal("Jean Dupont", "lead.name")
    assert token != sealed.seal("Jean Dupont", "lead.name")  # a fresh nonce each time
    assert sealed.open(token, "lead.name") == "Jean Dupont"
    with pytest.raises(SealError, match="does not open"):
        sealed.open(token, "lead.phone_e164")  # the column is the associated data


def test_the_daemon_reads_its_key_file_and_a_wrong_one_stops_the_start_with_its_line(tmp_path):
    from dialer.service.config import ConfigError, load_config

    good, bad = tmp_path / "store.key", tmp_path / "bad.key"
    good.write_text(TEST_STORE_KEY + "\n", encoding="ascii")
    bad.write_text("short", encoding="ascii")
    config, sim = tmp_path / "dialer.toml", f'[sim]\nscenario = "{make_scenario(tmp_path)}"\n'
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/d.db"\nkey_file = "store.key"\n{sim}', encoding="utf-8")
    assert load_config(config).store_key == read_key(str(good))
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/d.db"\nkey_file = "bad.key"\n{sim}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dialer.toml:3: \[store\] key_file: .*bad.key: the store key is not base64"):
        load_config(config)

"""Consent per person and company (issue 29, item 2): given, expired, withdrawn, a customer relationship; imported
with a list; withdrawn with the number listed when the person objects; recorded and read through the CLI.

Each store test runs on a clear and a sealed store (``sealed_too``): a person is their blind index.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from cli import main
from dialer.records import AttemptRecord
from lists.campaigns import create_campaign, get_campaign
from lists.consent import (
    ConsentState,
    GivenConsent,
    ImportedConsent,
    Relationship,
    consent_states,
    give_consent,
    record_imported,
    withdraw_consent,
)
from lists.dnc import OWN, honour_objection
from lists.handover import apply_handovers, hand_over
from lists.importer import import_csv
from lists.lifecycle import LeadStatus
from lists.models import (
    AuditEvent,
    Consent,
    ConsentChannel,
    ConsentWithdrawal,
    DncEntry,
    HandoverResult,
    Lead,
    insert_new_leads,
    to_db,
)
from lists.privacy import encrypt_store
from lists.purposes import Purpose
from lists.sealing import KEY_ENV, person_key, read_key
from lists.store import open_engine, open_store, upgrade
from pacing.errors import InvalidInput
from tests.conftest import TEST_STORE_KEY

pytestmark = pytest.mark.sealed_too

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ANA, BEN, CY, DEE = "+33612345601", "+33612345602", "+33612345603", "+31612345604"
WEB = ConsentChannel.WEB


def _given(days_ago: float, purpose: Purpose = Purpose.MARKETING, expires_in: float | None = None) -> GivenConsent:
    expires = None if expires_in is None else NOW + timedelta(days=expires_in)
    return GivenConsent(purpose, WEB, NOW - timedelta(days=days_ago), "web form", "form-1", expires)


def _states(session: Session, people: list[str], purpose: Purpose = Purpose.MARKETING,
            company: str = "default") -> dict[str, ConsentState]:
    keys = {person_key(session, number): number for number in people}
    return {keys[key]: state for key, state in consent_states(session, company, list(keys), purpose, NOW).items()}


def test_consent_holds_when_given_not_expired_and_not_withdrawn_since(store):
    with store() as s:
        give_consent(s, "default", ANA, _given(10), NOW, "t")  # valid
        give_consent(s, "default", BEN, _given(400, expires_in=-1), NOW, "t")  # expired yesterday
        give_consent(s, "default", CY, _given(30), NOW, "t")
        withdraw_consent(s, "default", CY, NOW - timedelta(days=2), "t")  # every purpose, after it was given
        give_consent(s, "default", DEE, _given(30), NOW, "t")
        withdraw_consent(s, "default", DEE, NOW - timedelta(days=20), "t", Purpose.MARKETING)
        give_consent(s, "default", DEE, _given(5), NOW, "t")  # given again after the withdrawal
        s.commit()
        states = _states(s, [ANA, BEN, CY, DEE])
        assert states[ANA] == ConsentState(True, NOW - timedelta(days=10))
        assert states[BEN] == ConsentState(False)
        assert states[CY] == ConsentState(False, NOW - timedelta(days=30), NOW - timedelta(days=2))
        assert states[DEE] == ConsentState(True, NOW - timedelta(days=5), NOW - timedelta(days=20))
        assert not any(state.valid for state in _states(s, [ANA, DEE], Purpose.SURVEY).values()), \
            "consent is for its purpose only"


def test_a_consent_dated_before_a_withdrawal_never_counts_even_recorded_after_it(store):
    """An objection in a call with no consent on file, then a list bringing an older consent: still withdrawn."""
    with store() as s:
        withdraw_consent(s, "default", ANA, NOW - timedelta(days=1), "agent")
        give_consent(s, "default", ANA, _given(10), NOW, "import:old.csv")
        s.commit()
        assert not _states(s, [ANA])[ANA].valid


def test_another_companys_consent_and_a_future_one_do_not_count(store):
    with store() as s:
        give_consent(s, "initech", ANA, _given(10), NOW, "t")
        give_consent(s, "default", BEN, _given(-1), NOW + timedelta(days=2), "t")  # recorded as given tomorrow
        s.commit()
        assert not _states(s, [ANA])[ANA].valid and _states(s, [ANA], company="initech")[ANA].valid
        assert not _states(s, [BEN])[BEN].valid


def test_a_consent_that_cannot_hold_is_refused_naming_its_field(store):
    with store() as s, pytest.raises(InvalidInput) as refused:
        give_consent(s, "default", ANA, _given(-1), NOW, "t")
    assert refused.value.argument == "given_at"
    with store() as s, pytest.raises(InvalidInput) as refused:
        give_consent(s, "default", ANA, _given(10, expires_in=-20), NOW, "t")
    assert refused.value.argument == "expires_at"


def test_a_batch_of_people_is_answered_in_two_queries_with_their_relationships(store):
    people = [f"+336123{n:05d}" for n in range(300)]
    with store() as s:
        for number in people[:100]:
            give_consent(s, "default", number, _given(3), NOW, "t")
        keys = [person_key(s, number) for number in people]
        customer = ImportedConsent(relationship=Relationship(date(2020, 1, 1), date(2024, 6, 30)))
        record_imported(s, "default", [(key, customer) for key in keys[250:]], NOW, "t")
        s.commit()
        statements: list[str] = []
        engine = s.get_bind()
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            states = consent_states(s, "default", keys, Purpose.MARKETING, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert len(statements) == 2, statements
        assert [states[key].valid for key in keys] == [True] * 100 + [False] * 200
        assert [states[key].customer_until for key in keys[249:]] == [None] + [date(2024, 6, 30)] * 50


def _campaign(session: Session, name: str = "Loans", company: str = "default"):
    return create_campaign(session, name, "loan-offer", rules_profile="fr", company=company)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


CONSENT_LIST = """\
phone;country;consent_purpose;consent_channel;consent_given_at;consent_proof;customer_since;customer_until
06 12 34 56 01;FR;marketing;web;2026-03-01T09:30+01:00;form-88;;
06 12 34 56 02;FR;;;;;2019-05-01;
06 12 34 56 03;FR;;;;;;
06 12 34 56 04;FR;marketting;web;2026-03-01;;;
06 12 34 56 05;FR;marketing;web;2099-03-01;;;
06 12 34 56 06;FR;marketing;;2026-03-01;;;
06 12 34 56 07;FR;;;;;2024-02-30;
06 12 34 56 08;FR;survey;recorded_call;2026-03-01;call-8;2020-01-01;2023-12-31
"""


def test_a_list_imports_consent_and_relationships_and_rejects_bad_ones_by_line(store, tmp_path: Path):
    path = tmp_path / "consented.csv"
    path.write_text(CONSENT_LIST, encoding="utf-8")
    with store() as s:
        campaign = _campaign(s)
        summary = import_csv(s, campaign, path, now=NOW)
        s.commit()
        assert (summary.imported, summary.rejected, summary.with_consent, summary.customers) == (4, 4, 2, 2)
        assert "4 imported (2 with consent, 2 customers), 4 rejected" in summary.line()
        reasons = {int(row[0]): row[1] for row in _rows(path.with_name(path.name + ".rejects.csv"))[1:]}
        assert reasons == {5: "consent_purpose: 'marketting' is not one of marketing, survey, collection, service",
                           6: "consent_given_at: 2099-03-01 00:00 UTC is in the future",
                           7: "consent_channel: a consent needs consent_purpose, consent_channel, consent_given_at",
                           8: "customer_since: not a day (YYYY-MM-DD, YYYY-MM or YYYY): '2024-02-30'"}
        first = s.scalars(select(Consent)).all()
        assert [(c.purpose, c.channel, c.given_at, c.proof, c.how, c.recorded_by) for c in first] == [
            (Purpose.MARKETING, WEB, datetime(2026, 3, 1, 8, 30), "form-88", "list consented.csv",
             "import:consented.csv"),
            (Purpose.SURVEY, ConsentChannel.RECORDED_CALL, datetime(2026, 3, 1), "call-8", "list consented.csv",
             "import:consented.csv")]
        states = _states(s, ["+33612345601", "+33612345602", "+33612345603", "+33612345608"])
        assert states["+33612345601"].valid
        assert states["+33612345602"].customer_until == NOW.date(), "an open relationship holds on the list's day"
        assert states["+33612345608"].customer_until == date(2023, 12, 31)
        assert states["+33612345603"] == ConsentState(False)
        leads = s.scalars(select(Lead.fields)).all()
        assert all(not set(fields) & {"consent_purpose", "customer_since"} for fields in leads), \
            "consent columns become consent rows, not lead fields"
        again = import_csv(s, get_campaign(s, "Loans"), path, now=NOW + timedelta(days=1))
        s.commit()
        assert again.already_imported == 4 and len(s.scalars(select(Consent)).all()) == 2, "recorded once"


def test_an_objection_withdraws_every_purpose_and_lists_the_number_for_the_whole_company(store):
    with store() as s:
        loans, survey = _campaign(s), create_campaign(s, "Survey", "survey", rules_profile="fr")
        for campaign in (loans, survey):
            insert_new_leads(s, campaign.id, to_db(NOW), [(ANA, "Ana", "FR", "Europe/Paris", "{}")])
        give_consent(s, "default", ANA, _given(10), NOW, "t")
        give_consent(s, "default", ANA, _given(10, Purpose.SURVEY), NOW, "t")
        s.flush()
        lead = s.scalars(select(Lead).where(Lead.campaign_id == loans.id)).one()
        end = NOW - timedelta(minutes=1)
        record = AttemptRecord(outcome="human", dialled_at=end - timedelta(minutes=2), hangup_at=end,
                               disposition="objects", agent="agent7")
        assert honour_objection(s, "default", lead, record)
        assert not honour_objection(s, "default", lead, AttemptRecord(outcome="human", dialled_at=end,
                                                                      disposition="refused"))
        s.commit()
        assert not any(state.valid for purpose in Purpose for state in _states(s, [ANA], purpose).values())
        withdrawal = s.scalars(select(ConsentWithdrawal)).one()
        assert (withdrawal.purpose, withdrawal.recorded_by, withdrawal.withdrawn_at) == (None, "agent7", to_db(end))
        assert s.scalar(select(DncEntry.source).where(DncEntry.phone_key == person_key(s, ANA))) == OWN
        other = s.scalars(select(Lead).where(Lead.campaign_id == survey.id)).one()
        assert other.status == LeadStatus.DNC, "the other campaign's lead closes at once"


def test_an_objection_handed_over_by_a_paused_owner_is_honoured_whatever_became_of_its_dial(store):
    with store() as s:
        campaign = _campaign(s)
        insert_new_leads(s, campaign.id, to_db(NOW), [(ANA, "Ana", "FR", "Europe/Paris", "{}")])
        lead = s.scalars(select(Lead)).one()
        record = AttemptRecord(outcome="human", dialled_at=NOW, hangup_at=NOW + timedelta(minutes=2),
                               disposition="objects", agent="agent7")
        hand_over(s, campaign.id, lead.id, record, 1, NOW)
        s.commit()
        assert [applied.result for applied in apply_handovers(s, campaign, None, NOW)] == [HandoverResult.UNMATCHED]
        assert s.scalars(select(ConsentWithdrawal.recorded_by)).all() == ["agent7"]
        assert s.scalar(select(DncEntry.source).where(DncEntry.phone_key == person_key(s, ANA))) == OWN


def test_every_campaign_offers_the_objection():
    from lists.campaigns import default_catalogue
    from lists.models import CAMPAIGN_KINDS

    assert all("objects" in default_catalogue(kind)["outcomes"] for kind in CAMPAIGN_KINDS)


def test_the_migration_offers_the_objection_in_stored_campaigns(store_url, store_backend):
    if store_backend.endswith("-sealed"):
        pytest.skip("the upgrade's catalogue change is the same on a sealed store")
    engine = open_engine(store_url)
    upgrade(engine, "0016")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaign (name, company, kind, dial_mode, abandon_cap, rules_profile, "
                          "max_attempts, retry_rules, catalogue, fresh_share, pacing_params, state, version) VALUES "
                          "('Old', 'default', 'survey', 'progressive', 0.03, 'us', 6, '{}', :catalogue, 0, '{}', "
                          "'running', 1)"), {"catalogue": '{"outcomes": {"completed": "Done"}, "refusal_reasons": {}}'})
    upgrade(engine)
    with Session(engine) as s:
        assert get_campaign(s, "Old").catalogue["outcomes"] == {"completed": "Done",
                                                                 "objects": "Objects to further calls"}
    engine.dispose()


def test_sealing_a_clear_store_keeps_its_consents(store_url, store_backend, monkeypatch):
    if store_backend.endswith("-sealed"):
        pytest.skip("starts from a clear store")
    factory = open_store(store_url)
    with factory() as s:
        give_consent(s, "default", ANA, _given(10), NOW, "t")
        withdraw_consent(s, "default", BEN, NOW, "t")
        s.commit()
    factory.kw["bind"].dispose()
    monkeypatch.setenv(KEY_ENV, TEST_STORE_KEY)
    engine = open_engine(store_url)
    encrypt_store(engine, read_key())
    engine.dispose()
    factory = open_store(store_url)
    with factory() as s:
        states = _states(s, [ANA, BEN])
        assert states[ANA].valid and states[BEN].withdrawn_at == NOW
    factory.kw["bind"].dispose()


def _cli(store_url: str, *args: str):
    return CliRunner().invoke(main, ["consent", *args, "--database-url", store_url])


def test_the_cli_records_withdraws_and_shows_consent_masked_and_audited(store_url):
    ok = _cli(store_url, "add", "06 12 34 56 01", "--default-region", "FR", "--purpose", "marketing", "--channel",
              "web", "--given-at", "2026-03-01", "--proof", "form-88", "--expires", "2099-01-01")
    assert ok.exit_code == 0, ok.output
    assert ok.output == ("recorded +336*****601's consent to default's marketing calls, given 2026-03-01 00:00 UTC "
                         "by web\n")
    shown = _cli(store_url, "show", "+33612345601")
    assert shown.exit_code == 0 and "marketing   valid, given 2026-03-01 00:00 UTC" in shown.output
    assert "proof: form-88" in shown.output and "+33612345601" not in shown.output
    withdrawn = _cli(store_url, "withdraw", "+33612345601", "--purpose", "marketing")
    assert withdrawn.output == "withdrew +336*****601's consent to default's calls, for marketing\n"
    assert "marketing   no: withdrawn" in _cli(store_url, "show", "+33612345601").output
    consent = ("add", "+33612345601", "--purpose", "marketing")
    bad = _cli(store_url, *consent, "--channel", "fax", "--given-at", "2026-03-01")
    assert bad.exit_code == 2 and "--channel: 'fax' is not one of" in bad.output
    future = _cli(store_url, *consent, "--channel", "web", "--given-at", "2099-01-01")
    assert future.exit_code == 2 and "--given-at" in future.output
    assert _cli(store_url, "show", "+33612345601", "--company", "nope").exit_code == 2
    factory = open_store(store_url)
    with factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        audited = [(e.action.value, e.detail.get("number")) for e in events]
    factory.kw["bind"].dispose()
    assert audited == [("consent", "+336*****601"), ("consent_read", "+336*****601"), ("consent", "+336*****601"),
                       ("consent_read", "+336*****601")]


def test_a_customer_since_a_year_or_a_month_is_a_relationship_and_the_demo_list_imports_whole(store, tmp_path: Path):
    """Lists say "customer since 2022": the demo's own list does, and each such row was once rejected as no day."""
    from lists.consent import day

    assert (day("2022"), day("2022-05"), day("2022-05-03")) == (date(2022, 1, 1), date(2022, 5, 1), date(2022, 5, 3))
    with pytest.raises(ValueError, match="not a day"):
        day("22")
    demo = tmp_path / "demo-leads.csv"  # a copy: the rejects file lands beside it
    demo.write_bytes((Path(__file__).parents[1] / "simulation" / "data" / "demo-leads.csv").read_bytes())
    with demo.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with store() as s:
        campaign = create_campaign(s, "Demo", "survey", rules_profile="uk", countries=["GB", "FR", "US"])
        s.commit()
        summary = import_csv(s, campaign, demo, now=NOW)
    with (tmp_path / "demo-leads.csv.rejects.csv").open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert rejected and not any(row["reason"].startswith("customer_") for row in rejected)
    with_since = sum(1 for row in rows if row["customer_since"]) - sum(1 for row in rejected if row["customer_since"])
    assert summary.customers == with_since > 2500  # Belgium has no rules yet: its rows are refused

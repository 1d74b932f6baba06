"""Accounts on every store backend: roles, grants, hashed tokens, revocation, passwords, the audit log; the
``dialer users`` commands; the config's ``[sim] agents`` and ``[http] cors_origins`` checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cli import main
from dialer.service.users import (
    Role,
    UserError,
    add_user,
    check_password,
    grant,
    issue_token,
    join,
    list_users,
    revoke_tokens,
    revoked_since,
    scope_of,
    user_for_token,
)
from lists.audit import record_view
from lists.campaigns import create_campaign
from lists.companies import add_company, list_companies
from lists.models import DUE_ANY_TIME, ApiToken, Lead, LeadView, User, insert_new_leads
from lists.store import open_engine, open_store, upgrade

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_tokens_are_random_stored_hashed_and_revocable(store_url):
    factory = open_store(store_url)
    with factory() as session:
        campaign = create_campaign(session, "Loans", kind="loan-offer", countries=["US"])
        assert campaign.state == "running" and campaign.version == 1  # what the CLI creates runs, as before
        add_user(session, "ann", Role.MANAGER, NOW, "a long password", ("Loans",))
        add_user(session, "zoe", Role.ANALYST, NOW)
        first, second = issue_token(session, "ann", NOW), issue_token(session, "ann", NOW, "crm")
        session.commit()
        assert first != second and len(first) > 40
        stored = set(session.scalars(select(ApiToken.token_hash)))
        assert first not in stored and hashlib.sha256(first.encode()).hexdigest() in stored
        assert user_for_token(session, first, NOW).name == "ann"
        assert scope_of(session, user_for_token(session, first, NOW)).campaigns == {campaign.id}
        assert scope_of(session, user_for_token(session, issue_token(session, "zoe", NOW), NOW)).campaigns == {
            campaign.id}  # an analyst: every campaign of their companies
        assert revoke_tokens(session, NOW, token=first) == 1
        session.commit()
        assert user_for_token(session, first, NOW) is None and user_for_token(session, second, NOW) is not None
        assert revoked_since(session, NOW - timedelta(seconds=1)) == [hashlib.sha256(first.encode()).hexdigest()]
        assert revoke_tokens(session, NOW, name="ann") == 1
        session.commit()
        assert user_for_token(session, second, NOW) is None
        short = issue_token(session, "zoe", NOW, kind="session", ttl=timedelta(hours=1))
        assert user_for_token(session, short, NOW + timedelta(minutes=59)) is not None
        assert user_for_token(session, short, NOW + timedelta(hours=1)) is None
        ann = next(u for u in list_users(session, NOW) if u.name == "ann")
        assert ann.campaigns == ("Loans",) and ann.active_tokens == 0 and ann.has_password
    factory.kw["bind"].dispose()


def test_passwords_names_and_the_audit_log(store_url):
    factory = open_store(store_url)
    with factory() as session:
        campaign = create_campaign(session, "Loans", kind="loan-offer", countries=["US"])
        insert_new_leads(session, campaign.id, DUE_ANY_TIME, [("+33142685300", "A B", "FR", "Europe/Paris", "{}")])
        user = add_user(session, "bob", Role.AGENT, NOW, "correct horse")
        assert check_password(user, "correct horse") and not check_password(user, "correct horsE")
        assert "correct horse" not in (user.password_hash or "")
        for bad, field in ((("bob", Role.AGENT, NOW), "name"), (("b b", Role.AGENT, NOW), "name")):
            with pytest.raises(UserError, match=field):
                add_user(session, *bad)
        with pytest.raises(UserError, match="password"):
            add_user(session, "carl", Role.AGENT, NOW, "short")
        with pytest.raises(UserError, match="campaign"):
            add_user(session, "dora", Role.AGENT, NOW, campaigns=("Nope",))
        lead_id = session.scalar(select(Lead.id))
        record_view(session, user.id, lead_id, campaign.id, NOW)
        session.commit()
        views = session.execute(select(LeadView.user_id, LeadView.lead_id, LeadView.viewed_at)).all()
        assert views == [(user.id, lead_id, NOW.replace(tzinfo=None))]
        assert session.execute(text("SELECT count(*) FROM lead_view")).scalar() == 1
    factory.kw["bind"].dispose()


def test_users_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    run = CliRunner().invoke
    assert run(main, ["campaign", "create", "Loans", "--kind", "loan-offer", "--database-url", url]).exit_code == 0
    added = run(main, ["users", "add", "ann", "--role", "manager", "--campaign", "Loans", "--password-stdin",
                       "--database-url", url], input="a long password\n")
    assert added.exit_code == 0 and "added manager ann" in added.output
    token = run(main, ["users", "token", "ann", "--label", "crm", "--database-url", url]).output.strip()
    assert token.startswith("dlr_")
    listed = run(main, ["users", "list", "--database-url", url]).output
    assert "ann\tmanager\tdefault\tLoans\t1 token(s)\tpassword" in listed and token not in listed
    assert run(main, ["users", "revoke", "ann", "--database-url", url]).output.strip() == "revoked 1 token(s)"
    again = run(main, ["users", "add", "ann", "--role", "agent", "--database-url", url])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = run(main, ["users", "add", "x", "--role", "king", "--database-url", url])
    assert bad.exit_code == 2


def test_users_reach_only_their_companies_and_a_grant_never_crosses_them(store_url):
    """Admins and analysts see every campaign of their own companies, not of others; a grant of another
    company's campaign is refused until the user joins it; an admin's user list shows only their companies'."""
    factory = open_store(store_url)
    with factory() as session:
        add_company(session, "acme", NOW)
        own = create_campaign(session, "Loans", kind="loan-offer", countries=["US"])
        acme = create_campaign(session, "AcmeLoans", kind="loan-offer", countries=["US"], company="acme")
        admin = add_user(session, "root", Role.ADMIN, NOW)
        analyst = add_user(session, "zoe", Role.ANALYST, NOW, companies=("acme",))
        ann = add_user(session, "ann", Role.MANAGER, NOW, campaigns=("Loans",))
        with pytest.raises(UserError, match="'AcmeLoans' is a campaign of company 'acme', which 'ann' does not"):
            grant(session, "ann", ("AcmeLoans",))
        with pytest.raises(UserError, match="campaign: .*acme"):
            add_user(session, "bo", Role.AGENT, NOW, campaigns=("AcmeLoans",))
        assert scope_of(session, admin) == scope_of(session, ann)  # default's one campaign, granted or not
        assert scope_of(session, admin).campaigns == {own.id} and scope_of(session, admin).companies == {"default"}
        assert scope_of(session, analyst).campaigns == {acme.id}
        join(session, "ann", ("acme",))
        grant(session, "ann", ("AcmeLoans",))
        assert scope_of(session, ann).campaigns == {own.id, acme.id}
        shown = {u.name: u for u in list_users(session, NOW, frozenset({"acme"}))}
        assert set(shown) == {"zoe", "ann"} and shown["ann"].companies == ("acme",)
        assert shown["ann"].campaigns == ("AcmeLoans",)  # the other company's campaign is not named
        assert [(c.name, c.campaigns, c.members) for c in list_companies(session)] == [("acme", 1, 2),
                                                                                        ("default", 1, 2)]
    factory.kw["bind"].dispose()


def test_an_upgraded_store_keeps_what_each_user_saw(store_url):
    """A store at 0008 (companies were names): each company name becomes a company; a manager keeps the campaigns
    granted to them, within their company only; admins and analysts keep every campaign; an agent granted
    nothing still sees nothing."""
    engine = open_engine(store_url)
    upgrade(engine, "0008")
    insert = ("INSERT INTO campaign (name, company, kind, dial_mode, abandon_cap, rules_profile, max_attempts, "
              "retry_rules, catalogue) VALUES (:name, :company, 'survey', 'progressive', 0.03, 'us', 6, '{}', '{}')")
    with engine.begin() as conn:
        for name, company in (("Loans", "default"), ("AcmeLoans", "acme"), ("AcmeSurvey", "acme")):
            conn.execute(text(insert), {"name": name, "company": company})
        conn.execute(text("INSERT INTO dnc_entry (company, phone_e164, source, added_at) "
                          "VALUES ('initech', '+12025550123', 'internal', '2026-01-01 00:00:00')"))
        for name, role in (("ann", "manager"), ("root", "admin"), ("zoe", "analyst"), ("bob", "agent")):
            conn.execute(text("INSERT INTO app_user (name, role, created_at, disabled) "
                              "VALUES (:n, :r, '2026-01-01 00:00:00', false)"), {"n": name, "r": role})
        conn.execute(text("INSERT INTO campaign_grant (user_id, campaign_id) SELECT u.id, c.id FROM app_user u, "
                          "campaign c WHERE u.name = 'ann' AND c.name = 'AcmeLoans'"))
    upgrade(engine)
    with Session(engine) as session:
        ids = dict(session.execute(text("SELECT name, id FROM campaign")).all())
        scopes = {u.name: scope_of(session, u) for u in session.scalars(select(User))}
        assert scopes["ann"].campaigns == {ids["AcmeLoans"]} and scopes["ann"].companies == {"acme"}
        for everything in ("root", "zoe"):
            assert scopes[everything].campaigns == set(ids.values())
            assert scopes[everything].companies == {"acme", "default", "initech"}
        assert scopes["bob"].campaigns == set() and scopes["bob"].companies == set()
        add_user(session, "eve", Role.MANAGER, NOW, companies=("initech",))  # a company known only by its DNC list
    engine.dispose()


def test_company_and_membership_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    run = CliRunner().invoke
    assert run(main, ["company", "add", "acme", "--database-url", url]).output == "added company acme\n"
    assert run(main, ["company", "add", "acme", "--database-url", url]).exit_code == 2
    unknown = run(main, ["campaign", "create", "X", "--kind", "survey", "--company", "acmee", "--database-url", url])
    assert unknown.exit_code == 2 and "--company: no company called 'acmee'" in unknown.output
    assert run(main, ["dnc", "add", "+12025550123", "--company", "acmee", "--database-url", url]).exit_code == 2
    made = run(main, ["campaign", "create", "AcmeLoans", "--kind", "loan-offer", "--company", "acme",
                      "--database-url", url])
    assert made.exit_code == 0, made.output
    refused = run(main, ["users", "add", "ann", "--role", "manager", "--campaign", "AcmeLoans", "--database-url", url])
    assert refused.exit_code == 2 and "users join ann --company acme" in refused.output
    added = run(main, ["users", "add", "ann", "--role", "manager", "--company", "acme", "--company", "default",
                       "--campaign", "AcmeLoans", "--database-url", url])
    assert added.exit_code == 0 and "added manager ann to acme, default" in added.output
    assert run(main, ["users", "add", "bob", "--role", "agent", "--database-url", url]).exit_code == 0
    assert run(main, ["users", "join", "bob", "--company", "acme", "--database-url", url]).exit_code == 0
    assert run(main, ["users", "grant", "bob", "--campaign", "AcmeLoans", "--database-url", url]).exit_code == 0
    listed = run(main, ["company", "list", "--database-url", url]).output.splitlines()
    assert listed == ["acme\t1 campaign(s)\t2 member(s)", "default\t0 campaign(s)\t2 member(s)"]


@pytest.mark.parametrize(("line", "where"), [
    ("agents = 'robots'", "[sim] agents: must be one of simulated, api"),
])
def test_a_bad_agents_option_is_named_with_its_line(tmp_path, line, where):
    from tests.daemon_helpers import make_config, make_scenario

    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", make_scenario(tmp_path))
    config.write_text(config.read_text() + line + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2 and where in result.output, result.output


def test_cors_origins_must_be_origins(tmp_path):
    from tests.daemon_helpers import make_config, make_scenario

    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", make_scenario(tmp_path))
    config.write_text(config.read_text().replace("port = 0\n", "port = 0\ncors_origins = ['crm.example.com']\n"),
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2 and "[http] cors_origins: must be a list of origins" in result.output

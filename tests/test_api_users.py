"""Accounts on every store backend: roles, grants, hashed tokens, revocation, passwords, the audit log; the
``dialer users`` commands; the config's ``[sim] agents`` and ``[http] cors_origins`` checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cli import main
from dialer.service.users import (
    Role,
    UserError,
    add_user,
    check_password,
    granted_campaigns,
    issue_token,
    list_users,
    revoke_tokens,
    revoked_since,
    user_for_token,
)
from lists.audit import record_view
from lists.campaigns import create_campaign
from lists.models import DUE_ANY_TIME, ApiToken, Lead, LeadView, insert_new_leads
from lists.store import open_store

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_tokens_are_random_stored_hashed_and_revocable(store_url):
    factory = open_store(store_url)
    with factory() as session:
        campaign = create_campaign(session, "Loans", kind="loan-offer")
        assert campaign.state == "running" and campaign.version == 1  # what the CLI creates runs, as before
        add_user(session, "ann", Role.MANAGER, NOW, "a long password", ("Loans",))
        add_user(session, "zoe", Role.ANALYST, NOW)
        first, second = issue_token(session, "ann", NOW), issue_token(session, "ann", NOW, "crm")
        session.commit()
        assert first != second and len(first) > 40
        stored = set(session.scalars(select(ApiToken.token_hash)))
        assert first not in stored and hashlib.sha256(first.encode()).hexdigest() in stored
        assert user_for_token(session, first, NOW).name == "ann"
        assert granted_campaigns(session, user_for_token(session, first, NOW)) == {campaign.id}
        assert granted_campaigns(session, user_for_token(session, issue_token(session, "zoe", NOW), NOW)) is None
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
        campaign = create_campaign(session, "Loans", kind="loan-offer")
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
    assert "ann\tmanager\tLoans\t1 token(s)\tpassword" in listed and token not in listed
    assert run(main, ["users", "revoke", "ann", "--database-url", url]).output.strip() == "revoked 1 token(s)"
    again = run(main, ["users", "add", "ann", "--role", "agent", "--database-url", url])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = run(main, ["users", "add", "x", "--role", "king", "--database-url", url])
    assert bad.exit_code == 2


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

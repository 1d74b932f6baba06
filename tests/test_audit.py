"""The audit trail: settings changes name each setting with its old and new value; exports, DNC edits and
account changes made on the command line are recorded with the system user; ``dialer audit`` lists views and
actions by time, never a whole number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from dialer.service.users import Role, add_user
from lists.audit import audit_trail, cli_actor, record_settings, record_view, settings_of
from lists.campaigns import create_campaign, edit_campaign
from lists.models import DUE_ANY_TIME, AuditAction, AuditEvent, Lead, ViewPurpose, insert_new_leads
from lists.reports import Period

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_settings_change_names_each_changed_setting_with_old_and_new_values(store) -> None:
    with store() as session:
        campaign = create_campaign(session, "Loans", "loan-offer", rules_profile="fr")
        before = settings_of(campaign)
        edit_campaign(session, "Loans", abandon_cap=0.02, add_refusal_reasons={"rate_too_high": "Rate too high"})
        record_settings(session, "manager", NOW, campaign, before)
        record_settings(session, "manager", NOW, campaign, settings_of(campaign))  # nothing changed: no row
        session.commit()
        rows = session.scalars(select(AuditEvent)).all()
    assert len(rows) == 1 and rows[0].action is AuditAction.SETTINGS and rows[0].actor == "manager"
    assert rows[0].detail == {"changed": {"abandon_cap": [0.03, 0.02],
                                          "catalogue.refusal_reasons.rate_too_high": [None, "Rate too high"]}}


def test_the_trail_merges_views_and_actions_by_time_and_filters_them(store) -> None:
    with store() as session:
        campaign = create_campaign(session, "Loans", "loan-offer", rules_profile="fr")
        insert_new_leads(session, campaign.id, DUE_ANY_TIME, [("+33142685300", "Zoé L", "FR", "Europe/Paris", "{}")])
        user = add_user(session, "sup", Role.SUPERVISOR, NOW, None, ("Loans",))
        lead = session.scalar(select(Lead.id))
        assert lead is not None
        record_view(session, user.id, lead, campaign.id, NOW + timedelta(minutes=2), ViewPurpose.CALLBACKS)
        record_settings(session, "admin", NOW + timedelta(minutes=1), campaign, None)
        session.commit()
        hour = Period(NOW, NOW + timedelta(hours=1))
        trail = audit_trail(session, hour)
        by_sup = audit_trail(session, hour, actor="sup")
        later = audit_trail(session, Period(NOW + timedelta(minutes=3), NOW + timedelta(hours=1)))
    assert [(r.actor, r.action, r.campaign, r.what) for r in trail] == [
        ("admin", "settings", "Loans", "created=Loans"), ("sup", "view", "Loans", f"lead {lead} (callbacks)")]
    assert [r.actor for r in by_sup] == ["sup"] and later == []


def test_command_line_exports_dnc_edits_and_accounts_are_audited(store_url: str, tmp_path: Path) -> None:
    def run(*args: str):  # type: ignore[no-untyped-def]
        result = CliRunner().invoke(main, [*args[:2], "--database-url", store_url, *args[2:]])
        assert result.exit_code == 0, result.output
        return result

    run("campaign", "create", "Loans", "--kind", "loan-offer", "--rules-profile", "fr")
    run("campaign", "edit", "Loans", "--abandon-cap", "0.02")
    run("lists", "export", "--campaign", "Loans", "--out", str(tmp_path / "loans.csv"))
    run("dnc", "add", "+33142685377")
    run("dnc", "list", "--unmasked")
    run("users", "add", "ana", "--role", "analyst")
    listed = CliRunner().invoke(main, ["audit", "--database-url", store_url])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if cli_actor() in line]
    assert [line.split()[2] for line in lines] == ["settings", "settings", "export", "dnc_add", "export", "users"]
    assert "abandon_cap" in listed.output and "+331*****377" in listed.output
    assert "+33142685377" not in listed.output

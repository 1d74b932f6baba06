"""Why a campaign is not dialling: each reason from the facts that make it, in words, and from the store.

Why facts and not a daemon: the reasons are decided in one place
(``lists.idle.reasons``) from what is known of a campaign, so each reason is
a fact or two away. The engine's floor (``dialer.service.floor.floor_now``)
is read from a real ``Engine``; the store's side (``store_reasons``, what
``dialer campaign show`` prints) from a real store, on SQLite and on
PostgreSQL. A daemon shows them on the wallboard in
``tests/test_console_browser.py``, and a lease another daemon holds in
``tests/test_cluster.py``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialer.service.floor import floor_now
from dialer.service.idle import ReasonLog
from lists.campaigns import create_campaign
from lists.idle import (
    STATE_REASONS,
    STOPS,
    WORDS,
    Facts,
    FloorNow,
    Outlook,
    Reason,
    Why,
    dialing,
    queue_outlook,
    reasons,
    store_reasons,
)
from lists.lifecycle import CampaignState, LeadStatus
from lists.models import CampaignLease, Lead, insert_new_leads, to_db
from lists.store import open_store
from pacing.ledger import Standing
from pacing.registry import POLICIES
from tests.daemon_helpers import REPO
from tests.test_engine import rig

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # a Tuesday, 11:30 in Paris: the French window is open
LATER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 the next morning in Paris
WORKING = FloorNow(logged_in=4, ready=2, working=2, in_flight=1)
QUIET = FloorNow(logged_in=4, ready=4, working=0, in_flight=0)


def _facts(**changes) -> Facts:
    """A running campaign within its hours, agents ready and leads due: nothing in the way."""
    base = Facts(NOW, "Europe/Paris", CampaignState.RUNNING, "predictive", floor=QUIET,
                 outlook=Outlook(NOW - timedelta(hours=1), claimed=False), standing=Standing(100, 1, 0.03))
    return dataclasses.replace(base, **changes)


def _kinds(facts: Facts) -> list[Why]:
    return [reason.why for reason in reasons(facts)]


def test_every_reason_has_its_words_and_every_campaign_state_its_reason():
    assert set(WORDS) == set(Why) and STOPS <= set(Why)
    assert set(STATE_REASONS) == set(CampaignState)
    assert all(POLICIES[name].spent for name in POLICIES), "each policy says what it does once the budget is spent"


def test_a_campaign_with_agents_ready_and_leads_due_names_nothing_and_dials():
    said = reasons(_facts())
    assert said == [] and dialing(said)


@pytest.mark.parametrize(("changes", "kind", "words"), [
    ({"here": False}, Why.NOT_HERE, "not running on this daemon"),
    ({"here": False, "holder": "dialer-2"}, Why.LEASE_ELSEWHERE, "lease held by another daemon: dialer-2"),
    ({"state": CampaignState.INITIALIZED}, Why.NOT_STARTED, "not started: a manager starts it"),
    ({"state": CampaignState.PAUSED}, Why.PAUSED, "paused by a manager"),
    ({"state": CampaignState.STOPPING}, Why.STOPPING, "stopping: waiting for calls in progress to end"),
    ({"state": CampaignState.STOPPED}, Why.STOPPED, "stopped by a manager"),
    ({"state": CampaignState.COMPLETED}, Why.COMPLETED, "completed"),
    ({"shutting_down": True}, Why.SHUTTING_DOWN, "the daemon is shutting down"),
    ({"handing_over": True}, Why.HANDING_OVER, "being handed over to another daemon"),
    ({"window_closed": True, "window_opens": LATER}, Why.WINDOW_CLOSED,
     "calling window closed until 2026-11-25 10:00 Europe/Paris"),
    ({"servers": 1, "servers_down": ("ast1",)}, Why.DRIVER_DOWN, "driver down: Asterisk not connected (ast1)"),
    ({"floor": FloorNow(0, 0, 0, 0)}, Why.NO_AGENT_READY, "no agent ready: none logged in"),
    ({"floor": FloorNow(3, 0, 0, 0)}, Why.NO_AGENT_READY, "no agent ready: 3 logged in, all paused or leaving"),
    ({"outlook": Outlook(None, claimed=False)}, Why.LIST_EXHAUSTED, "list exhausted"),
    ({"outlook": Outlook(LATER, claimed=False)}, Why.NO_LEAD_DUE, "no lead due before 2026-11-25 10:00 Europe/Paris"),
    ({"countries": ()}, Why.NO_COUNTRIES, "no countries to call: each person is dialled under their own country's "
                                          "rules, so set those it may call (dialer campaign edit NAME --countries"),
])
def test_each_reason_that_stops_dialing_is_named_in_words(changes, kind, words):
    said = reasons(_facts(**changes))
    assert said[0].why is kind and words in said[0].text, said
    assert said[0].stops and not dialing(said)


def test_times_are_in_the_campaigns_zone_and_say_it():
    reason = Reason(Why.NO_LEAD_DUE, LATER, zone="America/New_York")
    assert reason.text == "no lead due before 2026-11-25 04:00 America/New_York"


def test_a_state_or_closed_hours_hide_the_floors_reasons():
    """A paused campaign with nobody logged in is paused: the agents are not why it does not dial."""
    assert _kinds(_facts(state=CampaignState.PAUSED, floor=FloorNow(0, 0, 0, 0))) == [Why.PAUSED]
    assert _kinds(_facts(window_closed=True, floor=FloorNow(0, 0, 0, 0))) == [Why.WINDOW_CLOSED]


def test_no_lead_due_and_no_agent_are_both_said_when_both_hold():
    assert _kinds(_facts(floor=FloorNow(0, 0, 0, 0), outlook=Outlook(LATER, False))) == [Why.NO_AGENT_READY,
                                                                                          Why.NO_LEAD_DUE]


def test_leads_are_no_reason_while_the_floor_works_or_a_past_due_time_was_read():
    """Calls in flight or agents on calls: dialling goes on, whatever the last claim found. A due time already
    passed (read before the agents left) is not a reason: leads are due."""
    assert _kinds(_facts(floor=WORKING, outlook=Outlook(LATER, False))) == []
    assert _kinds(_facts(floor=WORKING, outlook=Outlook(None, False))) == []
    assert _kinds(_facts(outlook=Outlook(NOW - timedelta(minutes=1), False))) == []
    assert _kinds(_facts(outlook=Outlook(None, claimed=True))) == [], "a claimed lead may come back"


def test_over_the_cap_warns_whatever_the_policy_and_power_says_it_does_not_slow_down():
    """Power mode at 38% on a 3% cap: a warning, and the truth of what power does (it was "fallen back to
    progressive", which power never does)."""
    said = reasons(_facts(dial_mode="power", standing=Standing(live=50, abandoned=19, cap=0.03), floor=WORKING))
    assert [r.why for r in said] == [Why.OVER_CAP, Why.BUDGET_SPENT] and dialing(said)
    assert "38.0% of today's live answers abandoned (19 of 50), cap 3.0%" in said[0].text
    assert "does not slow down" in said[1].text and "fallen back" not in said[1].text
    for policy in ("progressive", "preview", "vicidial-hard"):
        assert _kinds(_facts(dial_mode=policy, standing=Standing(50, 19, 0.03))) == [Why.OVER_CAP, Why.BUDGET_SPENT]


def test_a_spent_budget_says_what_the_policy_does_then():
    spent = Standing(live=100, abandoned=3, cap=0.03)  # at the cap, not over it
    said = reasons(_facts(standing=spent, floor=WORKING))
    assert [r.why for r in said] == [Why.BUDGET_SPENT] and not said[0].stops
    assert "abandonment cap budget spent today: predictive dialing takes new risk only" in said[0].text
    assert _kinds(_facts(state=CampaignState.PAUSED, standing=spent)) == [Why.PAUSED]


def test_less_than_one_call_left_early_in_the_day_is_not_a_spent_budget():
    """Ten answers and the AMD false-positive estimate (2% of them): the cap cannot absorb one more abandon yet,
    as on every morning; the old wallboard called that spent."""
    early = Standing(live=10.2, abandoned=0.2, cap=0.03)
    assert early.budget < 1 and _kinds(_facts(standing=early)) == []
    assert _kinds(_facts(standing=Standing(live=10, abandoned=0, cap=0.03))) == []


def test_calls_in_flight_with_nobody_to_take_them_are_a_warning_not_a_dialling_campaign():
    """The wallboard showed "dialing yes, ringing 1" with nobody logged in: a call launched before the last
    agent left rings on, and an answer will be abandoned."""
    r = rig(agents=("a1",))
    r.launch(1, 1.0)
    r.engine.log_out("a1", 2.0)
    floor = floor_now(r.engine)
    assert floor == FloorNow(logged_in=0, ready=0, working=0, in_flight=1)
    said = reasons(_facts(floor=floor))
    assert [x.why for x in said] == [Why.NO_AGENT_READY, Why.UNATTENDED_CALLS] and not dialing(said)
    assert said[1].text == "1 call in flight with no agent ready or working: an answer will be abandoned"


def test_the_floor_counts_agents_working_and_calls_in_flight_from_the_engine():
    r = rig(agents=("a1", "a2"))
    call = r.launch(1, 1.0)[0]
    assert floor_now(r.engine) == FloorNow(logged_in=2, ready=2, working=0, in_flight=1)
    r.talk(call, 3.0)
    r.engine.pause("a2", 4.0, "break")
    assert floor_now(r.engine) == FloorNow(logged_in=2, ready=0, working=1, in_flight=0)


def test_one_asterisk_server_down_of_two_is_a_warning_the_calls_go_through_the_other():
    said = reasons(_facts(servers=2, servers_down=("ast2",)))
    assert [r.text for r in said] == ["driver partly down: Asterisk ast2 not connected; calls go through the others"]
    assert dialing(said)


def test_stale_dnc_copies_are_warnings_beside_the_rest():
    said = reasons(_facts(stale_dnc=("bloctel (2026-10-01)",)))
    assert [r.text for r in said] == ["DNC registry copy stale: bloctel (2026-10-01)"] and dialing(said)


def test_the_log_says_a_change_once_not_every_look(caplog):
    log = ReasonLog()
    waiting = reasons(_facts(outlook=Outlook(LATER, False)))
    with caplog.at_level(logging.INFO, logger="dialer.service.daemon"):
        log.tell("Loans", 1, [])  # dialling from the first look: nothing to say
        for _ in range(3):
            log.tell("Loans", 1, waiting)
        log.tell("Loans", 1, reasons(_facts(standing=Standing(50, 19, 0.03), floor=WORKING)))
        log.tell("Loans", 1, [])
    lines = [r for r in caplog.records if getattr(r, "event", None) == "campaign_reasons"]
    assert [r.reasons for r in lines] == [["no_lead_due"], ["over_cap", "budget_spent"], []]
    assert lines[0].getMessage() == "campaign Loans not dialling: no lead due before 2026-11-25 10:00 Europe/Paris"
    assert [r.levelname for r in lines] == ["INFO", "WARNING", "INFO"] and lines[2].dialing


# ---- the store's side -------------------------------------------------------------------------------------------

def _campaign(session, due: list[datetime], status: LeadStatus = LeadStatus.NEW):
    campaign = create_campaign(session, "Loans", "loan-offer", rules_profile="fr", caller_id="+33142685300")
    for k, at in enumerate(due):
        insert_new_leads(session, campaign.id, to_db(at), [(f"+3314268{k:04d}", None, "FR", "Europe/Paris", "{}")])
    session.query(Lead).update({"status": status})
    session.commit()
    return campaign


def test_the_store_says_no_lead_due_before_the_earliest_one(store):
    with store() as session:
        campaign = _campaign(session, [LATER + timedelta(hours=2), LATER])
        assert queue_outlook(session, campaign.id) == Outlook(LATER, claimed=False)
        said = store_reasons(session, campaign, NOW)
    assert [r.text for r in said] == ["no lead due before 2026-11-25 10:00 Europe/Paris"]


def test_the_store_says_the_list_is_exhausted_when_every_lead_is_closed(store):
    with store() as session:
        campaign = _campaign(session, [NOW], status=LeadStatus.DONE)
        assert [r.why for r in store_reasons(session, campaign, NOW)] == [Why.LIST_EXHAUSTED]


def test_the_store_says_the_window_is_closed_until_monday_in_the_campaigns_zone(store):
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    with store() as session:
        campaign = _campaign(session, [NOW])
        said = store_reasons(session, campaign, saturday)
    assert [r.text for r in said] == ["calling window closed until 2026-11-30 10:00 Europe/Paris"]


def test_the_store_names_the_daemon_holding_a_live_lease(store):
    with store() as session:
        campaign = _campaign(session, [NOW])
        session.add(CampaignLease(campaign_id=campaign.id, owner="dialer-2", token=3,
                                  expires_at=to_db(NOW + timedelta(seconds=10))))
        session.commit()
        assert [r.text for r in store_reasons(session, campaign, NOW)] == ["lease held by another daemon: dialer-2"]
        assert store_reasons(session, campaign, NOW + timedelta(seconds=11)) == [], "an expired lease holds nothing"


def test_campaign_show_prints_what_the_store_says(tmp_path, monkeypatch):
    import cli

    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    factory = open_store(url)
    with factory() as session:
        _campaign(session, [LATER])
    factory.kw["bind"].dispose()
    monkeypatch.setattr(cli, "_now", lambda: NOW)
    shown = CliRunner().invoke(cli.main, ["campaign", "show", "Loans", "--database-url", url])
    assert shown.exit_code == 0, shown.output
    assert "keeps it from dialling" in shown.output
    assert "  no lead due before 2026-11-25 10:00 Europe/Paris\n" in shown.output


def test_the_shipped_config_starts_its_world_now_so_imported_leads_are_due(tmp_path):
    """``deploy/dialer.toml`` ran its world on the scenario's day, before any lead imported today was due: 0
    claims, agents ready, nothing said. Its world now keeps the real calendar."""
    from dialer.service.config import load_config

    shipped = (REPO / "deploy" / "dialer.toml").read_text(encoding="utf-8")
    path = tmp_path / "dialer.toml"
    path.write_text(shipped.replace("/usr/share/dialer/scenarios/", f"{REPO / 'examples' / 'scenarios'}/")
                    .replace("/var/lib/dialer/", f"{tmp_path}/"), encoding="utf-8")
    before = datetime.now(UTC)
    config = load_config(path)
    assert config.sim is not None and config.sim.start is not None
    assert before <= config.sim.start <= datetime.now(UTC)


def test_a_campaign_made_without_countries_says_so_and_claims_nothing(tmp_path):
    """No silent default: neither a rules profile nor countries given, it names what to set, in the store's words."""
    factory = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    with factory() as s:
        campaign = create_campaign(s, "Nowhere", "survey")
        insert_new_leads(s, campaign.id, to_db(NOW - timedelta(days=1)),
                         [("+33142685300", None, "FR", "Europe/Paris", "{}")])
        s.commit()
        from lists.selection import claim_leads

        assert campaign.countries == [] and claim_leads(s, campaign, 5, NOW) == []
        assert [r.why for r in store_reasons(s, campaign, NOW)][:1] == [Why.NO_COUNTRIES]
        assert s.scalar(select(Lead.status)) == LeadStatus.NEW  # untouched, not set aside
    factory.kw["bind"].dispose()

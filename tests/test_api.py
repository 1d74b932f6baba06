"""The API as an agent, a manager and an admin use it, against ``dialer serve`` as a real subprocess.

The daemon runs the sim driver at 20x with ``[sim] agents = "api"``: the
customers are simulated, the agents are these tests. An agent logs in,
receives the screen pop on the WebSocket, and records a refusal that the
manager then finds in the report; managers run campaigns, lists and DNC;
every bad request is a 4xx naming its field.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime

import pytest
from click.testing import CliRunner
from websockets.sync.client import connect

from cli import main
from lists.campaigns import get_campaign
from lists.models import Lead
from lists.store import open_store
from tests.api_helpers import CAMPAIGN, OTHER, PASSWORD, events, start_api_daemon
from tests.daemon_helpers import wait_for

pytestmark = pytest.mark.daemon  # one `dialer serve` subprocess for the module


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("api"))
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _ws(api, user: str):
    return connect(f"ws://127.0.0.1:{api.running.port}/api/v1/agents/me/events",
                   additional_headers={"Authorization": f"Bearer {api.tokens[user]}"}, open_timeout=10)


def _next(socket, want, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if want(event):
            return event
    raise AssertionError("no such event in time")


def test_agent_gets_a_screen_pop_and_records_a_refusal_the_manager_sees(api):
    loans = api.campaigns[CAMPAIGN]
    agent, manager = api.client("agent"), api.client("manager")
    with _ws(api, "agent") as socket:
        first = json.loads(socket.recv(timeout=10))
        assert first["type"] == "state" and first["state"] == "off"
        status = agent.post("/api/v1/agents/me/login", json={"campaign_id": loans})
        assert status.status_code == 200 and status.json()["state"] == "ready", status.text
        pop = _next(socket, lambda e: e["type"] == "screen_pop")
        card = pop["card"]
        assert card["campaign"] == CAMPAIGN and card["name"].startswith("Person ")
        assert "*" in card["number"], "an agent sees the number masked"
        assert card["script"].startswith(f"Hello {card['name']}") and "too_expensive" in card["refusal_reasons"]
        early = agent.post("/api/v1/agents/me/contact/disposition",
                           json={"outcome": "refused", "refusal_reason": "too_expensive"})
        if early.status_code == 409:  # still talking: the disposition is taken in wrap-up
            assert early.json()["field"] == "state"
            _next(socket, lambda e: e["state"] == "wrap_up")
            early = agent.post("/api/v1/agents/me/contact/disposition",
                               json={"outcome": "refused", "refusal_reason": "too_expensive"})
        assert early.status_code == 200, early.text
        assert early.json()["lead_id"] == card["lead_id"]
        paused = agent.post("/api/v1/agents/me/pause", json={"reason": "break"})
        assert paused.status_code == 200 and paused.json()["state"] in ("paused", "talking", "wrap_up")

    def refused() -> bool:
        rows = manager.get(f"/api/v1/outbound/campaigns/{loans}/reports/refusals").json()["rows"]
        return any(r["code"] == "too_expensive" and r["count"] >= 1 for r in rows)

    assert wait_for(refused, 15)
    performance = manager.get(f"/api/v1/outbound/campaigns/{loans}/reports/agents").json()
    assert any(r["agent"] == "agent" and r["refusals"] >= 1 and r["logged_in_s"] > 0 for r in performance), \
        performance  # the log-in is in the agents' log
    with sqlite3.connect(api.url.removeprefix("sqlite:///")) as db:
        seen = db.execute("SELECT u.name FROM lead_view v JOIN app_user u ON u.id = v.user_id "
                          "WHERE v.lead_id = ?", (card["lead_id"],)).fetchall()
    assert ("agent",) in seen, "the screen pop's card view is in the audit log"
    assert card["name"] not in api.log.read_text(), "a lead's name in the application log"


def test_an_agent_sees_only_the_lead_of_their_own_call(api):
    agent2 = api.client("agent2")
    assert agent2.get("/api/v1/agents/me/contact").status_code == 409  # not logged in to a campaign
    assert agent2.get("/api/v1/leads/1").status_code == 404
    supervisor = api.client("supervisor")
    card = supervisor.get("/api/v1/leads/1").json()
    assert "*" in card["number"]
    assert api.client("manager").get("/api/v1/leads/1").json()["number"].startswith("+3314")
    assert api.client("manager_other").get("/api/v1/leads/1").status_code == 404
    assert api.client("analyst").get("/api/v1/leads/1").status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "refused", "refusal_reason": "not_a_reason"}, "refusal_reason"),
    ({"outcome": "sold_a_yacht"}, "outcome"),
    ({"outcome": "refused"}, "refusal_reason"),
    ({"outcome": "callback"}, "callback_at"),
    ({"outcome": "callback", "callback_at": "2001-01-01T10:00:00+00:00"}, "callback_at"),
    ({"outcome": "callback", "callback_at": "2026-11-25T10:00:00"}, "callback_at"),  # no time zone
    ({"outcome": "accepted", "order": {"product": "loan", "amount": -5}}, "order.amount"),
    ({"outcome": "accepted", "colour": "red"}, "colour"),
])
def test_a_bad_disposition_is_a_422_naming_the_field(api, body, field):
    agent = api.client("agent2")
    assert agent.post("/api/v1/agents/me/login", json={"campaign_id": api.campaigns[CAMPAIGN]}).status_code == 200
    try:
        response = agent.post("/api/v1/agents/me/contact/disposition", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    finally:
        agent.post("/api/v1/agents/me/logout")


def test_disposition_shape_errors_are_422_before_any_state_check(api):
    agent = api.client("agent2")
    response = agent.post("/api/v1/agents/me/contact/disposition", content=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    response = agent.post("/api/v1/agents/me/contact/disposition", json={"outcome": "a b"})
    assert response.status_code == 422 and response.json()["field"] == "outcome"


def test_manager_runs_a_campaign_through_its_states_with_versioned_edits(api):
    manager = api.client("manager")
    created = manager.post("/api/v1/outbound/campaigns", json={
        "name": "Tariffs", "kind": "tariff-switch", "rules_profile": "fr", "caller_id": "+33142685302"})
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["state"] == "initialized" and campaign["version"] == 1 and not campaign["dialing"]
    cid = campaign["id"]
    edited = manager.put(f"/api/v1/outbound/campaigns/{cid}", json={
        "version": 1, "abandon_cap": 0.02, "add_refusal_reasons": {"too_slow": "Too slow to switch"}})
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["abandon_cap"] == 0.02
    stale = manager.put(f"/api/v1/outbound/campaigns/{cid}", json={"version": 1, "max_attempts": 3})
    assert stale.status_code == 409 and stale.json()["field"] == "version"
    assert manager.get(f"/api/v1/outbound/campaigns/{cid}").json()["max_attempts"] != 3
    catalogue = manager.get(f"/api/v1/outbound/campaigns/{cid}/catalogue").json()
    assert catalogue["refusal_reasons"]["too_slow"] == "Too slow to switch"
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/resume").status_code == 409
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/start").json()["state"] == "running"
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/pause").json()["state"] == "paused"
    assert "paused by a manager" in manager.get(f"/api/v1/outbound/campaigns/{cid}").json()["warnings"]
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/resume").json()["state"] == "running"
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/stop").json()["state"] in ("stopping", "stopped")
    assert wait_for(lambda: manager.get(f"/api/v1/outbound/campaigns/{cid}").json()["state"] == "stopped", 10)
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/pause").status_code == 409
    assert api.client("manager_other").get(f"/api/v1/outbound/campaigns/{cid}").status_code == 404
    assert api.client("supervisor").post(f"/api/v1/outbound/campaigns/{cid}/start").status_code == 403
    duplicate = manager.post("/api/v1/outbound/campaigns", json={"name": "Tariffs", "kind": "survey"})
    assert duplicate.status_code == 422 and duplicate.json()["field"] == "name"


def test_pacing_params_are_checked_by_the_policy_and_a_bad_one_is_a_422_naming_it(api):
    manager, campaigns = api.client("manager"), "/api/v1/outbound/campaigns"
    for params, field, words in (({"safety": 2}, "pacing_params.safety", "must be from 0.1 to 1"),
                                 ({"safety": "high"}, "pacing_params.safety", "must be a number"),
                                 ({"ratio": 1.8}, "pacing_params.ratio", "is not a parameter of predictive")):
        bad = manager.post(campaigns, json={"name": "Paced", "kind": "survey", "dial_mode": "predictive",
                                            "pacing_params": params})
        assert bad.status_code == 422 and bad.json()["field"] == field and words in bad.json()["detail"], bad.text
    created = manager.post(campaigns, json={"name": "Paced", "kind": "survey", "dial_mode": "predictive",
                                            "pacing_params": {"safety": 0.6, "trunk_limit": 40}})
    assert created.status_code == 201 and created.json()["pacing_params"] == {"safety": 0.6, "trunk_limit": 40}
    cid = created.json()["id"]
    switch = manager.put(f"{campaigns}/{cid}", json={"version": 1, "dial_mode": "power"})
    assert switch.status_code == 422 and switch.json()["field"] == "pacing_params.safety", switch.text
    assert "it was set for predictive" in switch.json()["detail"]
    switched = manager.put(f"{campaigns}/{cid}", json={"version": 1, "dial_mode": "power",
                                                     "pacing_params": {"ratio": 1.8}})
    assert switched.status_code == 200, switched.text
    assert (switched.json()["dial_mode"], switched.json()["pacing_params"]) == ("power", {"ratio": 1.8})
    assert manager.get(f"{campaigns}/{cid}").json()["pacing_params"] == {"ratio": 1.8}


def test_list_upload_imports_good_rows_and_serves_the_rejects(api):
    manager = api.client("manager")
    cid = api.campaigns[OTHER]
    csv = ("phone,name,timezone\n+33 1 42 68 53 99,Ann,Europe/Paris\n0142685398,Bob,Europe/Paris\nnot-a-number,X,\n"
           "+7 916 123 45 67,Ivan,\n+33 6 12 34 56 78,Zoé,\n")  # the campaign calls France, not Russia
    assert manager.post(f"/api/v1/outbound/campaigns/{cid}/contactlists", content=csv).status_code == 404
    admin = api.client("admin")
    response = admin.post(f"/api/v1/outbound/campaigns/{cid}/contactlists?default_region=FR", content=csv,
                          headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["rows"], summary["imported"], summary["rejected"]) == (5, 3, 2)
    assert (summary["uncertain_zones"], summary["no_window"]) == (0, 0)
    assert (summary["zone_by_timezone"], summary["zone_by_subdivision"], summary["zone_by_number"]) == (2, 0, 1)
    assert summary["warning"] is None
    rejects = admin.get(summary["rejects_url"])
    assert rejects.status_code == 200 and "not-a-number" in rejects.text and rejects.text.startswith("line,")
    assert "country RU: not one the campaign calls (FR)" in rejects.text
    assert api.client("manager_other").get(summary["rejects_url"]).status_code == 200
    assert manager.get(summary["rejects_url"]).status_code == 404
    empty = admin.post(f"/api/v1/outbound/campaigns/{cid}/contactlists", content=b"")
    assert empty.status_code == 422 and empty.json()["field"] == "body"
    no_phone = admin.post(f"/api/v1/outbound/campaigns/{cid}/contactlists", content="a,b\n1,2\n")
    assert no_phone.status_code == 422 and no_phone.json()["field"] == "file"


def test_dnc_add_check_remove_and_masking(api):
    manager, supervisor = api.client("manager"), api.client("supervisor")
    number = {"number": "01 42 68 53 77", "default_region": "FR"}
    added = manager.post("/api/v1/outbound/dnc", json=number)
    assert added.status_code == 200 and added.json() == {"number": "+33142685377", "company": "default",
                                                          "listed": True, "sources": ["internal"], "reopened": 0}
    checked = supervisor.post("/api/v1/outbound/dnc/check", json=number).json()
    assert checked["listed"] and checked["number"] == "+331*****377"
    assert supervisor.post("/api/v1/outbound/dnc", json=number).status_code == 403
    assert manager.post("/api/v1/outbound/dnc/remove", json=number).json()["listed"] is False
    again = manager.post("/api/v1/outbound/dnc/remove", json=number)
    assert again.status_code == 422 and again.json()["field"] == "number"
    bad = manager.post("/api/v1/outbound/dnc/check", json={"number": "12"})
    assert bad.status_code == 422 and bad.json()["field"] == "number"
    assert manager.post("/api/v1/outbound/dnc/check", json={**number, "company": "Acme"}).status_code == 404


def test_live_statistics_and_callbacks(api):
    supervisor = api.client("supervisor")
    url = f"/api/v1/outbound/campaigns/{api.campaigns[CAMPAIGN]}/stats"
    agent = api.client("agent2")  # an agent on the floor, so the campaign dials whichever test ran before
    assert agent.post("/api/v1/agents/me/login", json={"campaign_id": api.campaigns[CAMPAIGN]}).status_code == 200
    try:  # a first call ended (an attempt today) or reached the agent, who never closes it here

        def dialled() -> bool:
            s = supervisor.get(url).json()
            return s["attempts_today"] >= 1 or s["calls_in_flight"]["talking"] >= 1

        assert wait_for(dialled, 30.0)
        stats = supervisor.get(url)
    finally:
        agent.post("/api/v1/agents/me/logout")
    assert stats.status_code == 200, stats.text
    s = stats.json()
    assert set(s["calls_in_flight"]) >= {"ringing", "queued", "talking"} and "ready" in s["agents"]
    assert 0 <= s["occupancy"] <= 1 and s["abandon_cap"] == 0.03 and s["abandon_budget_calls"] >= 0
    assert s["attempts_today"] + s["calls_in_flight"]["talking"] >= 1 and s["state"] == "running"
    assert s["speed"]["asked"] == 20.0 and 0 < s["speed"]["current"] <= 20.0  # the simulated world's speeds
    callbacks = supervisor.get(f"/api/v1/outbound/campaigns/{api.campaigns[CAMPAIGN]}/callbacks")
    assert callbacks.status_code == 200 and isinstance(callbacks.json(), list)


def test_health_and_metrics_keep_their_paths_and_bodies(api):
    anonymous = api.client()
    assert anonymous.get("/livez").text == "ok\n"
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.json()["store"] is True
    assert ready.json()["draining"] is False  # says what holds: not draining
    assert "dialer_calls_total" in anonymous.get("/metrics").text
    spec = anonymous.get("/openapi.json").json()
    assert "/api/v1/agents/me/contact/disposition" in spec["paths"]
    assert anonymous.get("/api/v1/outbound/campaigns").status_code == 401


def test_console_login_sets_a_strict_http_only_cookie_and_failures_are_rate_limited(api):
    client = api.client()
    response = client.post("/api/v1/auth/login", json={"username": "analyst", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["role"] == "analyst"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/v1/users/me").json()["name"] == "analyst"
    assert client.post("/api/v1/auth/logout", headers={
        "Origin": api.base, "X-CSRF-Token": client.cookies["dialer_csrf"]}).status_code == 204
    assert client.get("/api/v1/users/me").status_code == 401
    answers = [client.post("/api/v1/auth/login", json={"username": "supervisor", "password": "wrong"}).status_code
               for _ in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    limited = client.post("/api/v1/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_cors_is_off_by_default(api):
    response = api.client().options("/api/v1/users/me", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers


def test_admin_lists_users_and_a_revoked_token_stops_working(api):
    admin = api.client("admin")
    users = {u["name"]: u for u in admin.get("/api/v1/users").json()}
    assert CAMPAIGN in users["manager"]["campaigns"] and OTHER not in users["manager"]["campaigns"]
    assert users["admin"]["role"] == "admin" and users["admin"]["active_tokens"] >= 1
    assert api.client("manager").get("/api/v1/users").status_code == 403
    result = CliRunner().invoke(main, ["users", "token", "analyst", "--database-url", api.url])
    token = result.output.strip()
    fresh = api.client()
    fresh.headers["Authorization"] = f"Bearer {token}"
    assert fresh.get("/api/v1/users/me").status_code == 200
    result = CliRunner().invoke(main, ["users", "revoke", "--token", token, "--database-url", api.url])
    assert result.output.strip() == "revoked 1 token(s)"
    assert wait_for(lambda: fresh.get("/api/v1/users/me").status_code == 401, 5)


def test_no_phone_number_or_name_in_the_application_log(api):
    text = api.log.read_text()
    assert "Person 1" not in text
    assert not any("+3314" in json.dumps(e) for e in events(api.log))




def test_callback_lists_showing_names_are_audited_and_so_are_dnc_changes(api):
    factory = open_store(api.url)  # through the store's seal: it gives the person's blind index
    with factory() as s:
        cid = get_campaign(s, CAMPAIGN).id
        booked = Lead(campaign_id=cid, phone_e164="+33142685999", name="Callback Person", region="FR",
                      zones="Europe/Paris", fields={}, status="callback", next_at=datetime(2099, 1, 1, 10),
                      attempts=1, callback_owner="agent", priority=0)
        s.add(booked)
        s.commit()
        lead = booked.id
    factory.kw["bind"].dispose()
    shown = api.client("supervisor").get(f"/api/v1/outbound/campaigns/{cid}/callbacks", params={"agent": "agent"})
    assert shown.status_code == 200 and [r["name"] for r in shown.json()] == ["Callback Person"]
    own = api.client("agent").get("/api/v1/agents/me/callbacks")
    assert [r["name"] for r in own.json()] == ["Callback Person"]
    unnamed = api.client("supervisor").get(f"/api/v1/outbound/campaigns/{cid}/callbacks")  # no names: no row
    assert all(r["name"] is None for r in unnamed.json())
    number = {"number": "01 42 68 53 78", "default_region": "FR"}
    assert api.client("manager").post("/api/v1/outbound/dnc", json=number).status_code == 200
    with sqlite3.connect(api.url.removeprefix("sqlite:///")) as db:
        views = db.execute("SELECT u.name, v.purpose FROM lead_view v JOIN app_user u ON u.id = v.user_id "
                           "WHERE v.lead_id = ? ORDER BY v.id", (lead,)).fetchall()
        actions = db.execute("SELECT actor, action, detail FROM audit_event WHERE action = 'dnc_add'").fetchall()
    assert views == [("supervisor", "callbacks"), ("agent", "callbacks")]
    assert any(actor == "manager" and "+331*****378" in detail for actor, _, detail in actions)
    assert not any("+3314268537" in detail for _, _, detail in actions)  # never a whole number


def _console(api, user: str):  # type: ignore[no-untyped-def]
    """A client logged in as the console is: the session cookie and the anti-forgery cookie."""
    client = api.client()
    assert client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD}).status_code == 200
    return client


def test_a_cookie_sent_by_another_origin_changes_nothing(api):
    agent, manager = _console(api, "agent2"), _console(api, "manager")
    same_site = api.base.rsplit(":", 1)[0] + ":1"  # same host, another port: same-site, so the cookie goes along
    login = {"campaign_id": api.campaigns[CAMPAIGN]}
    before = agent.get("/api/v1/agents/me").json()["state"]
    forged = agent.post("/api/v1/agents/me/login", json=login, headers={"Origin": same_site})
    assert forged.status_code == 403 and forged.json()["field"] == "origin"
    plain = agent.post("/api/v1/agents/me/pause", content='{"reason": "break"}',
                       headers={"Origin": same_site, "Content-Type": "text/plain"})
    assert plain.status_code == 403 and plain.json()["field"] == "origin"
    upload = manager.post(f"/api/v1/outbound/campaigns/{api.campaigns[CAMPAIGN]}/contactlists",
                          content="phone\n+33142685001\n", headers={"Origin": same_site})
    assert upload.status_code == 403
    untokened = agent.post("/api/v1/agents/me/login", json=login, headers={"Origin": api.base})
    assert untokened.status_code == 403 and untokened.json()["field"] == "x-csrf-token"
    no_origin = agent.post("/api/v1/agents/me/login", json=login,
                           headers={"X-CSRF-Token": agent.cookies["dialer_csrf"]})
    assert no_origin.status_code == 403 and no_origin.json()["field"] == "origin"
    assert agent.get("/api/v1/agents/me").json()["state"] == before  # none of them did anything
    own = agent.post("/api/v1/agents/me/login", json=login,
                     headers={"Origin": api.base, "X-CSRF-Token": agent.cookies["dialer_csrf"]})
    assert own.status_code in (200, 409), own.text  # through the gate: the floor's own answer
    bearer = api.client("agent2")  # a script with a token sends no cookie: no origin needed
    assert bearer.post("/api/v1/agents/me/login", json=login).status_code in (200, 409)


def test_the_agent_websocket_refuses_another_origin(api):
    agent = _console(api, "agent2")
    cookie = f"dialer_session={agent.cookies['dialer_session']}"
    url = api.base.replace("http://", "ws://") + "/api/v1/agents/me/events"
    with connect(url, additional_headers={"Cookie": cookie}, origin=api.base,  # type: ignore[arg-type]
                 open_timeout=30) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "state"
    same_site = api.base.rsplit(":", 1)[0] + ":1"
    with pytest.raises(Exception) as refused, \
            connect(url, additional_headers={"Cookie": cookie}, origin=same_site,  # type: ignore[arg-type]
                    open_timeout=30) as socket:
        socket.recv(timeout=10)
    assert "4403" in str(refused.value) or "403" in str(refused.value)

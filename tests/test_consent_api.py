"""Consent through the API of a real ``dialer serve``: an agent records that the person objects to further calls,
and the store then holds the withdrawal and the DNC entry; managers record, withdraw and check consent within
their own companies only, numbers masked for those who may not see them, every change and read audited."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from websockets.sync.client import connect

from tests.api_helpers import CAMPAIGN, FOREIGN_COMPANY, start_api_daemon
from tests.daemon_helpers import wait_for

pytestmark = pytest.mark.daemon  # one `dialer serve` subprocess for the module

NUMBER = {"number": "01 42 68 53 88", "default_region": "FR"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("consent"), leads=50, foreign=True)
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _next(socket, want, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if want(event):
            return event
    raise AssertionError("no such event in time")


def _rows(api, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(api.url.removeprefix("sqlite:///")) as db:
        return db.execute(sql, args).fetchall()


def test_an_agents_objects_disposition_withdraws_consent_and_lists_the_number(api):
    agent = api.client("agent")
    with connect(f"ws://127.0.0.1:{api.running.port}/api/v1/agents/me/events",
                 additional_headers={"Authorization": f"Bearer {api.tokens['agent']}"}, open_timeout=10) as socket:
        login = agent.post("/api/v1/agents/me/login", json={"campaign_id": api.campaigns[CAMPAIGN]})
        assert login.status_code == 200, login.text
        card = _next(socket, lambda e: e["type"] == "screen_pop")["card"]
        assert card["outcomes"]["objects"] == "Objects to further calls", "offered on every call"
        _next(socket, lambda e: e.get("state") == "wrap_up")
        done = agent.post("/api/v1/agents/me/contact/disposition", json={"outcome": "objects"})
        assert done.status_code == 200, done.text
        agent.post("/api/v1/agents/me/logout")
    (key,) = _rows(api, "SELECT phone_key FROM lead WHERE id = ?", card["lead_id"])[0]

    def settled() -> bool:
        return bool(_rows(api, "SELECT 1 FROM consent_withdrawal WHERE phone_key = ?", key))

    assert wait_for(settled, 15), "the objection reaches the store with its attempt"
    assert _rows(api, "SELECT company, purpose, recorded_by FROM consent_withdrawal WHERE phone_key = ?", key) \
        == [("default", None, "agent")], "every purpose, by the agent who took it"
    assert _rows(api, "SELECT company, source FROM dnc_entry WHERE phone_key = ?", key) == [("default", "internal")]
    assert _rows(api, "SELECT status, last_disposition FROM lead WHERE id = ?", card["lead_id"])[0][1] == "objects"
    assert _rows(api, "SELECT status FROM lead WHERE id = ?", card["lead_id"])[0][0] in ("done", "dnc"), \
        "the lead is closed"


def test_managers_record_withdraw_and_check_consent_in_their_own_companies(api):
    manager, supervisor = api.client("manager"), api.client("supervisor")
    given = {**NUMBER, "purpose": "marketing", "channel": "web", "given_at": "2026-03-01T09:30:00+01:00",
             "proof": "form-88"}
    added = manager.post("/api/v1/outbound/consent", json=given)
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["number"] == "+33142685388" and body["recorded"] and body["customer_until"] is None
    marketing = next(p for p in body["purposes"] if p["purpose"] == "marketing")
    assert marketing == {"purpose": "marketing", "valid": True, "given_at": "2026-03-01T08:30:00Z",
                         "withdrawn_at": None}
    assert manager.post("/api/v1/outbound/consent", json=given).json()["recorded"] is False, "recorded once"
    withdrawn = manager.post("/api/v1/outbound/consent/withdraw", json={**NUMBER, "purpose": "marketing"}).json()
    assert not next(p for p in withdrawn["purposes"] if p["purpose"] == "marketing")["valid"]
    checked = manager.post("/api/v1/outbound/consent/check", json=NUMBER)
    assert checked.status_code == 200 and not any(p["valid"] for p in checked.json()["purposes"])
    assert supervisor.post("/api/v1/outbound/consent/check", json=NUMBER).status_code == 403
    future = manager.post("/api/v1/outbound/consent", json={**given, "given_at": "2099-01-01T00:00:00Z"})
    assert future.status_code == 422 and future.json()["field"] == "given_at"
    foreign = manager.post("/api/v1/outbound/consent/check", json={**NUMBER, "company": FOREIGN_COMPANY})
    missing = manager.post("/api/v1/outbound/consent/check", json={**NUMBER, "company": "nosuchco"})
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["field"] == missing.json()["field"] == "company"
    owner = api.client("foreign_manager").post("/api/v1/outbound/consent/check",
                                                json={**NUMBER, "company": FOREIGN_COMPANY}).json()
    assert not any(p["valid"] for p in owner["purposes"]) and owner["purposes"][0]["withdrawn_at"] is None, \
        "another company's consent and withdrawal are its own"
    audited = _rows(api, "SELECT actor, action, detail FROM audit_event WHERE action IN ('consent', 'consent_read')")
    assert [(actor, action) for actor, action, _ in audited] == [
        ("manager", "consent"), ("manager", "consent"), ("manager", "consent"), ("manager", "consent_read"),
        ("foreign_manager", "consent_read")]
    assert all("+33142685388" not in detail for *_, detail in audited), "numbers masked in the audit log"

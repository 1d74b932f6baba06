"""Who may reach what: every endpoint of the spec x every role x their own and another's resource, and
schemathesis against the OpenAPI spec (no 5xx, no schema violation) with a bounded number of examples.

"Another's resource" is the campaign ``Other`` (no test user but its manager
and the admin are granted it), its lead, its import, and a company none of
the granted campaigns belongs to. A campaign or lead one may not see answers
404, as if it did not exist; a role that may not act answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.api_helpers import CAMPAIGN, OTHER, ROLES, start_api_daemon

pytestmark = [pytest.mark.daemon, pytest.mark.slow]  # a `dialer serve` subprocess; schemathesis's examples

ALLOWED = {200, 201, 204, 409, 422}  # let through: done, or refused for the request's own content or state
READERS = {"supervisor", "manager", "analyst", "admin"}
MANAGERS = {"manager", "admin"}
EVERYONE = set(ROLES)
_names = count()


def rule(roles: set[str], everywhere: frozenset[str] = frozenset({"admin"})) -> Callable[[str, bool], set[int]]:
    """``roles`` may act; on another's resource only ``everywhere`` roles, the rest see 404."""
    def expect(role: str, other: bool) -> set[int]:
        if role not in roles:
            return {403}
        return {404} if other and role not in everywhere else ALLOWED
    return expect


def _lead_rule(role: str, other: bool) -> set[int]:
    if role == "analyst":
        return {403}
    if role == "agent":  # only the lead of their own current call or callback: they have none here
        return {404}
    return {404} if other and role != "admin" else ALLOWED


def _agent_login_rule(role: str, other: bool) -> set[int]:
    if role != "agent":
        return {403}
    return {404} if other else ALLOWED


READ = rule(READERS, frozenset({"analyst", "admin"}))
WATCH = rule({"supervisor", "manager", "admin"})
MANAGE = rule(MANAGERS)
AGENT = rule({"agent"}, frozenset({"agent"}))  # "me" endpoints: no one else's resource to name
ANYONE = rule(EVERYONE, frozenset(EVERYONE))


def _campaign_body(ids: dict, other: bool) -> dict:
    return {"name": f"authz {next(_names)}", "kind": "survey"}


_CSV = "phone,name\n+33142685111,A\nnope,B\n"
_DNC = {"number": "+33142685222"}

# (method, spec path) -> (how to fill it for own / other, expected answers by role)
TABLE: dict[tuple[str, str], tuple[Callable[[dict, bool], dict], Callable[[str, bool], set[int]]]] = {
    ("post", "/api/v1/auth/logout"): (lambda i, o: {}, ANYONE),
    ("get", "/api/v1/users/me"): (lambda i, o: {}, ANYONE),
    ("get", "/api/v1/users"): (lambda i, o: {}, rule({"admin"})),
    ("post", "/api/v1/agents/me/login"): (lambda i, o: {"json": {"campaign_id": i[OTHER if o else CAMPAIGN]}},
                                          _agent_login_rule),
    ("post", "/api/v1/agents/me/ready"): (lambda i, o: {}, AGENT),
    ("post", "/api/v1/agents/me/pause"): (lambda i, o: {"json": {"reason": "break"}}, AGENT),
    ("post", "/api/v1/agents/me/logout"): (lambda i, o: {}, AGENT),
    ("get", "/api/v1/agents/me"): (lambda i, o: {}, AGENT),
    ("get", "/api/v1/agents/me/contact"): (lambda i, o: {}, AGENT),
    ("post", "/api/v1/agents/me/contact/disposition"): (lambda i, o: {"json": {"outcome": "no_need"}}, AGENT),
    ("post", "/api/v1/agents/me/contact/hangup"): (lambda i, o: {}, AGENT),
    ("get", "/api/v1/agents/me/callbacks"): (lambda i, o: {}, AGENT),
    ("get", "/api/v1/agents"): (lambda i, o: {"params": {"campaign_id": i[OTHER if o else CAMPAIGN]}}, READ),
    ("get", "/api/v1/leads/{lead_id}"): (lambda i, o: {"lead_id": i["other_lead"] if o else 1}, _lead_rule),
    ("get", "/api/v1/outbound/campaigns"): (lambda i, o: {}, rule(READERS, frozenset(READERS))),
    # the sim daemon keeps no recordings: an allowed role reaches the 404 "not kept on this daemon"
    ("get", "/api/v1/outbound/attempts/{attempt_id}/recording"): (
        lambda i, o: {"attempt_id": 1}, lambda role, other: {403} if role in {"agent", "analyst"} else {404}),
    ("post", "/api/v1/outbound/campaigns"): (lambda i, o: {"json": _campaign_body(i, o)},
                                             rule(MANAGERS, frozenset(MANAGERS))),
    ("get", "/api/v1/outbound/campaigns/{campaign_id}"): (None, READ),  # type: ignore[dict-item]
    ("put", "/api/v1/outbound/campaigns/{campaign_id}"): (lambda i, o: {"json": {"version": 99999}}, MANAGE),
    ("post", "/api/v1/outbound/campaigns/{campaign_id}/start"): (None, MANAGE),  # type: ignore[dict-item]
    ("post", "/api/v1/outbound/campaigns/{campaign_id}/pause"): (None, MANAGE),  # type: ignore[dict-item]
    ("post", "/api/v1/outbound/campaigns/{campaign_id}/resume"): (None, MANAGE),  # type: ignore[dict-item]
    ("post", "/api/v1/outbound/campaigns/{campaign_id}/stop"): (None, MANAGE),  # type: ignore[dict-item]
    ("get", "/api/v1/outbound/campaigns/{campaign_id}/catalogue"): (None, READ),  # type: ignore[dict-item]
    ("get", "/api/v1/outbound/campaigns/{campaign_id}/stats"): (None, READ),  # type: ignore[dict-item]
    ("get", "/api/v1/outbound/campaigns/{campaign_id}/callbacks"): (None, WATCH),  # type: ignore[dict-item]
    ("get", "/api/v1/outbound/campaigns/{campaign_id}/reports/agents"): (None, READ),  # type: ignore[dict-item]
    ("get", "/api/v1/outbound/campaigns/{campaign_id}/reports/{kind}"): (
        lambda i, o: {"campaign_id": i[OTHER if o else CAMPAIGN], "kind": "refusals"}, READ),
    ("post", "/api/v1/outbound/campaigns/{campaign_id}/contactlists"): (
        lambda i, o: {"campaign_id": i[OTHER if o else CAMPAIGN], "content": _CSV}, MANAGE),
    ("get", "/api/v1/outbound/imports/{import_id}/rejects"): (
        lambda i, o: {"import_id": i["other_import" if o else "own_import"]}, MANAGE),
    ("post", "/api/v1/outbound/dnc"): (lambda i, o: {"json": {**_DNC, "company": "Acme" if o else "default"}},
                                       MANAGE),
    ("post", "/api/v1/outbound/dnc/remove"): (
        lambda i, o: {"json": {**_DNC, "company": "Acme" if o else "default"}}, MANAGE),
    ("post", "/api/v1/outbound/dnc/check"): (
        lambda i, o: {"json": {**_DNC, "company": "Acme" if o else "default"}}, WATCH),
}
PUBLIC = {("post", "/api/v1/auth/login")}  # no credential needed (rate-limited; tested in test_api)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("authz"), leads=50)
    admin = daemon.client("admin")
    for key, name in (("own_import", CAMPAIGN), ("other_import", OTHER)):
        upload = admin.post(f"/api/v1/outbound/campaigns/{daemon.campaigns[name]}/contactlists", content=_CSV)
        daemon.campaigns[key] = upload.json()["rejects_url"].split("/")[-2]
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _parts(api, method: str, path: str, other: bool) -> tuple[str, dict]:
    """The URL and the request's keyword arguments for own (``other`` False) or another's resource."""
    fill, _ = TABLE[(method, path)]
    parts = {"campaign_id": api.campaigns[OTHER if other else CAMPAIGN], **(fill(api.campaigns, other) if fill
                                                                             else {})}
    kwargs = {k: parts.pop(k) for k in ("json", "params", "content") if k in parts}
    return path.format(**parts), kwargs


def _request(api, role: str | None, method: str, path: str, other: bool):
    url, kwargs = _parts(api, method, path, other)
    return api.client(role).request(method.upper(), url, **kwargs)


def test_the_table_covers_every_endpoint_of_the_spec(api):
    spec = api.client().get("/openapi.json").json()
    operations = {(m, p) for p, methods in spec["paths"].items() for m in methods}
    assert operations == set(TABLE) | PUBLIC


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_each_role_as_the_table_says(api, role):
    wrong = []
    for method, path in TABLE:
        for other in (False, True):
            response = _request(api, role, method, path, other)
            expected = TABLE[(method, path)][1](role, other)
            if response.status_code not in expected:
                wrong.append(f"{method.upper()} {path} other={other}: {response.status_code} not in "
                             f"{sorted(expected)} ({response.text[:120]})")
    assert not wrong, "\n".join(wrong)


def test_without_a_credential_every_endpoint_is_401(api):
    for method, path in TABLE:
        assert _request(api, None, method, path, False).status_code == 401, path


def test_the_agent_websocket_refuses_other_roles(api):
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{api.running.port}/api/v1/agents/me/events"
    for role, code in (("manager", 4403), (None, 4401)):
        headers = {"Authorization": f"Bearer {api.tokens[role]}"} if role else {}
        try:
            with connect(url, additional_headers=headers, open_timeout=5) as socket:
                socket.recv(timeout=5)  # let in, the state arrives at once; nothing within 5 s fails the test
        except InvalidStatus as exc:  # closed before the handshake: uvicorn answers 403
            assert exc.response.status_code == 403
        except ConnectionClosed as exc:  # closed after accepting: the close code says why
            assert exc.rcvd is not None and exc.rcvd.code == code, exc
        else:
            raise AssertionError(f"{role} was let in")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(api):
    return schemathesis.openapi.from_url(f"{api.base}/openapi.json")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_spec_and_never_answers_5xx(case, api):
    """Every default check but positive_data_acceptance: a schema-valid body may still name a campaign that
    exists already or a caller ID that is no phone number, which only the store and the rules can tell."""
    case.call_and_validate(headers={"Authorization": f"Bearer {api.tokens['admin']}"},
                           excluded_checks=[positive_data_acceptance])

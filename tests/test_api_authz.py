"""Who may reach what, generated from the OpenAPI document: every operation × every role × a resource of
their own, one of their company that is not theirs, one of another company, and one that does not exist; the
cross-company attack by name; and schemathesis against the spec (no 5xx, no schema violation).

Nothing here lists the routes. Each operation's path parameters are filled with the ids of one of four
``Whose`` (campaign, lead, upload, attempt, company), its JSON body with a minimal valid example built from its
schema (naming that company or campaign), a CSV body with a small list. Who may call an operation is the
document's ``x-roles``, which the application writes from each route's own ``Require``. What must hold:

- a role the operation does not let in gets 403, whatever it names;
- a resource the caller may not see (another company's, or, for a role that sees only granted campaigns, an
  ungranted one of their company) is never a success, and gets exactly the answer a resource that does not
  exist gets (status, field and words, the identifier aside), so existence is not leaked;
- their own resource, by a role let in, is never 401 or 403, nor a 404 naming what was filled in;
- no answer to a user of the company ``default`` carries the other company's data (its campaign's name, its
  people's names or numbers, its users' names).

A new route is covered as soon as it is in the document; a new kind of path parameter fails the test until
``Whose`` gets an id for it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import count
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.api_helpers import (
    CAMPAIGN,
    FOREIGN,
    FOREIGN_COMPANY,
    FOREIGN_LISTED,
    FOREIGN_OPEN,
    FOREIGN_PERSON,
    OTHER,
    ROLES,
    start_api_daemon,
)

pytestmark = [pytest.mark.daemon, pytest.mark.slow]  # a `dialer serve` subprocess; schemathesis's examples

MISSING_ID = 2**31 - 1  # within every id's bounds, so the route looks it up rather than refusing it as input
SEE_THEIR_COMPANY = {"admin", "analyst"}  # see every campaign of their companies; the rest, granted ones only
CAMPAIGN_SCOPED = {"campaign_id", "lead_id", "import_id", "attempt_id"}
_CSV = "phone,name\n+33142685111,A\nnope,B\n"
_DNC_NUMBER = "+33142685222"
_names = count()


class Whose(StrEnum):
    OWN = "own"  # the caller's: the campaign granted to every test user, of their company
    UNGRANTED = "ungranted"  # their company's campaign granted to none of them (admins and analysts see it)
    FOREIGN = "foreign"  # another company's
    MISSING = "missing"  # nobody's: what an invisible resource must look like


@dataclass(frozen=True)
class Resources:
    """The ids a request names, by path parameter or body field."""

    campaign_id: int
    lead_id: int
    import_id: str
    attempt_id: int
    company: str


@dataclass(frozen=True)
class Call:
    """One request of the generated matrix and what it names."""

    method: str
    url: str
    kwargs: dict[str, Any]
    named: frozenset[str]  # the resource fields filled in (path, query or body)


def _upload(client: httpx.Client, campaign_id: int) -> str:
    response = client.post(f"/api/v1/outbound/campaigns/{campaign_id}/contactlists", content=_CSV)
    assert response.status_code == 201, response.text
    return response.json()["import_id"]  # type: ignore[no-any-return]


def _attempts(url: str, leads: dict[Whose, int]) -> dict[Whose, int]:
    """One ledger row per lead (no answer), so the recording route has real attempts to look up."""
    from lists.models import Attempt, Lead
    from lists.store import open_store

    factory = open_store(url)
    ids = {}
    with factory() as session:
        for whose, lead_id in leads.items():
            lead = session.get(Lead, lead_id)
            attempt = Attempt(lead_id=lead_id, campaign_id=lead.campaign_id, dialled_at=datetime.now(UTC),
                              outcome="no_answer")
            session.add(attempt)
            session.flush()
            ids[whose] = attempt.id
        session.commit()
    factory.kw["bind"].dispose()
    return ids


def _callback_lead(url: str, campaign_id: int) -> int:
    """A lead of the own campaign booked as the test agent's callback next year: the one lead card an agent
    with no call may open."""
    from sqlalchemy import select

    from lists.lifecycle import LeadStatus
    from lists.models import Lead
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        lead = session.scalars(select(Lead).where(Lead.campaign_id == campaign_id).order_by(Lead.id.desc())).first()
        lead.status, lead.callback_owner = LeadStatus.CALLBACK, "agent"
        lead.next_at = datetime(datetime.now(UTC).year + 1, 1, 5, 10)
        session.commit()
        found = lead.id
    factory.kw["bind"].dispose()
    return found


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("authz"), leads=50, foreign=True)
    ids = daemon.campaigns
    leads = {Whose.OWN: _callback_lead(daemon.url, ids[CAMPAIGN]), Whose.UNGRANTED: ids["other_lead"],
             Whose.FOREIGN: _foreign_lead(daemon.url, FOREIGN_OPEN)}
    attempts = _attempts(daemon.url, leads)
    imports = {Whose.OWN: _upload(daemon.client("admin"), ids[CAMPAIGN]),
               Whose.UNGRANTED: _upload(daemon.client("admin"), ids[OTHER]),
               Whose.FOREIGN: _upload(daemon.client("foreign_admin"), ids[FOREIGN])}
    campaigns = {Whose.OWN: ids[CAMPAIGN], Whose.UNGRANTED: ids[OTHER], Whose.FOREIGN: ids[FOREIGN]}
    companies = {Whose.OWN: "default", Whose.UNGRANTED: "default", Whose.FOREIGN: FOREIGN_COMPANY}
    daemon.resources = {w: Resources(campaigns[w], leads[w], imports[w], attempts[w], companies[w])
                        for w in (Whose.OWN, Whose.UNGRANTED, Whose.FOREIGN)}
    daemon.resources[Whose.MISSING] = Resources(MISSING_ID, MISSING_ID, f"{MISSING_ID}-0123456789abcdef",
                                                MISSING_ID, "nosuchco")
    daemon.spec = daemon.client().get("/openapi.json").json()
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _foreign_lead(url: str, number: str) -> int:
    from sqlalchemy import select

    from lists.models import Lead
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        found = session.scalar(select(Lead.id).where(Lead.phone_e164 == number))
    factory.kw["bind"].dispose()
    assert found is not None
    return found


# ---- the request generator: the spec in, requests out ------------------------------------------------------

def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example(spec: dict, schema: dict, field: str, ids: Resources, named: set[str]) -> Any:
    """A minimal valid value for ``schema``; a resource field gets the variant's id, and is noted in ``named``."""
    if field in asdict(ids):
        named.add(field)
        return asdict(ids)[field]
    if field == "name":
        return f"authz {next(_names)}"
    if field == "number":
        return _DNC_NUMBER
    schema = _resolve(spec, schema)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if "anyOf" in schema:
        return _example(spec, next(s for s in schema["anyOf"] if s.get("type") != "null"), field, ids, named)
    return _by_type(spec, schema, ids, named)


def _by_type(spec: dict, schema: dict, ids: Resources, named: set[str]) -> Any:
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        wanted = set(schema.get("required", ())) | (set(properties) & set(asdict(ids)))
        return {k: _example(spec, properties[k], k, ids, named) for k in sorted(wanted)}
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return "x" * max(1, schema.get("minLength", 1))


def _call(spec: dict, method: str, path: str, operation: dict, ids: Resources) -> Call:
    named: set[str] = set()
    values, params = {}, {}
    for parameter in operation.get("parameters", ()):
        name, where, schema = parameter["name"], parameter["in"], parameter.get("schema", {})
        if where == "path":
            if name not in asdict(ids) and not _resolve(spec, schema).get("enum"):
                raise AssertionError(f"{method.upper()} {path}: no id for path parameter {name!r}; add it to Resources")
            values[name] = _example(spec, schema, name, ids, named)
        elif where == "query" and (name in asdict(ids) or parameter.get("required")):
            params[name] = _example(spec, schema, name, ids, named)
    kwargs: dict[str, Any] = {"params": params}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = _example(spec, content["application/json"]["schema"], "body", ids, named)
    elif "text/csv" in content:
        kwargs["content"] = _CSV
    return Call(method.upper(), path.format(**values), kwargs, frozenset(named))


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, operation) for path, methods in spec["paths"].items()
            for method, operation in methods.items()]


# ---- what must hold --------------------------------------------------------------------------------------

def _hidden(role: str, whose: Whose, named: frozenset[str]) -> bool:
    """May the role not see what the request names? Another company's and a missing one never; an ungranted
    campaign of their company only admins and analysts; a company-wide request (DNC) names their company."""
    if whose in (Whose.FOREIGN, Whose.MISSING):
        return True
    return whose is Whose.UNGRANTED and bool(named & CAMPAIGN_SCOPED) and role not in SEE_THEIR_COMPANY


def _error(response: httpx.Response) -> dict[str, Any]:
    """The answer's ``ErrorOut`` (detail, field), {} for any other body."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _shape(response: httpx.Response, ids: Resources) -> tuple[int, str | None, str]:
    """Status, field and words of an answer, the request's identifiers each replaced by ``<id>``."""
    error = _error(response)
    detail = str(error.get("detail", ""))
    for value in sorted({str(v) for v in asdict(ids).values()}, key=len, reverse=True):
        detail = re.sub(rf"\b{re.escape(value)}\b", "<id>", detail)
    return response.status_code, error.get("field"), detail


FOREIGN_DATA = (FOREIGN, FOREIGN_PERSON, FOREIGN_LISTED, FOREIGN_OPEN, "foreign_admin", "foreign_manager")


def _leaks(response: httpx.Response) -> list[str]:
    return [marker for marker in FOREIGN_DATA if marker in response.text]


def _check(role: str, roles: list[str], whose: Whose, call: Call, response: httpx.Response,
           missing: tuple[int, str | None, str], ids: Resources) -> str | None:
    """What is wrong with one answer, in words; None when it is as it must be."""
    status = response.status_code
    if role not in roles:
        return None if status == 403 else f"{status}, not 403, for a role the operation does not let in"
    if _hidden(role, whose, call.named):
        if 200 <= status < 300:
            return f"{status}: a {whose} resource was reached"
        if whose is not Whose.MISSING and _shape(response, ids) != missing:
            return f"{_shape(response, ids)} differs from the answer for a missing one {missing}"
        return None
    if status in (401, 403) or (status == 404 and _error(response).get("field") in call.named):
        return f"{status} for a resource the role may reach ({response.text[:120]})"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_of_the_spec_answers_each_role_by_company(api, role):
    wrong = []
    client = api.client(role)
    for method, path, operation in _operations(api.spec):
        roles = operation.get("x-roles")
        if roles is None:  # the login: needs no credential (rate-limited; tested in test_api and test_logins)
            continue
        missing_ids = api.resources[Whose.MISSING]
        missing_call = _call(api.spec, method, path, operation, missing_ids)
        missing = _shape(client.request(missing_call.method, missing_call.url, **missing_call.kwargs), missing_ids)
        for whose in (Whose.OWN, Whose.UNGRANTED, Whose.FOREIGN, Whose.MISSING):
            call = _call(api.spec, method, path, operation, api.resources[whose])
            if whose is not Whose.OWN and not call.named:
                continue  # names nothing: the same request as the own one
            response = client.request(call.method, call.url, **call.kwargs)
            problem = _check(role, roles, whose, call, response, missing, api.resources[whose])
            leaked = _leaks(response)
            if problem or leaked:
                wrong.append(f"{call.method} {path} ({whose}): {problem or ''}{f' leaks {leaked}' if leaked else ''}")
    assert not wrong, "\n".join(wrong)


def test_the_spec_says_who_may_call_every_operation_and_agents_and_analysts_stay_in_their_lanes(api):
    """``x-roles`` on every operation but the login; agents reach only their own desk (``/agents/me…``), the
    lead card and their account; analysts only read (and log out)."""
    for method, path, operation in _operations(api.spec):
        roles = operation.get("x-roles")
        if path == "/api/v1/auth/login":
            assert roles is None
            continue
        assert roles and set(roles) <= set(ROLES), (method, path)
        if "agent" in roles:
            assert path.startswith(("/api/v1/agents/me", "/api/v1/leads/", "/api/v1/users/me", "/api/v1/auth/")), path
        if "analyst" in roles and path != "/api/v1/auth/logout":
            assert method == "get", path


def test_without_a_credential_every_operation_is_401(api):
    for method, path, operation in _operations(api.spec):
        if operation.get("x-roles") is not None:
            call = _call(api.spec, method, path, operation, api.resources[Whose.OWN])
            assert api.client().request(call.method, call.url, **call.kwargs).status_code == 401, path


# ---- the attack of issue 28, by name -----------------------------------------------------------------------

@dataclass(frozen=True)
class Tenant:
    """What a company holds that the attack would change: its leads' suppression, its DNC list, its campaigns."""

    suppressed: frozenset[str]  # numbers of its leads closed by DNC
    open: frozenset[str]  # numbers of its leads still to be called (new, or claimed by the daemon's buffer)
    dnc: frozenset[tuple[str, str]]  # (number, source)
    campaigns: frozenset[str]


def _tenant(url: str) -> Tenant:
    from sqlalchemy import select

    from lists.models import Campaign, DncEntry, Lead
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        leads = session.execute(select(Lead.phone_e164, Lead.status).join(Campaign, Campaign.id == Lead.campaign_id)
                                .where(Campaign.company == FOREIGN_COMPANY)).all()
        tenant = Tenant(frozenset(p for p, status in leads if status == "dnc"),
                        frozenset(p for p, status in leads if status in ("new", "claimed")),
                        frozenset(session.execute(select(DncEntry.phone_e164, DncEntry.source).where(
                            DncEntry.company == FOREIGN_COMPANY)).all()),
                        frozenset(session.scalars(select(Campaign.name).where(Campaign.company == FOREIGN_COMPANY))))
    factory.kw["bind"].dispose()
    return tenant


def test_cross_company_dnc_is_denied_and_the_foreign_leads_untouched(api):
    """The attack: a manager (or an admin) of one company names another in a new campaign, then checks and
    removes that company's DNC numbers. Every step is the 404 a company that does not exist gets, and the other
    company's leads, DNC list and campaigns stay exactly as they were."""
    before = _tenant(api.url)
    assert FOREIGN_LISTED in before.suppressed and FOREIGN_OPEN in before.open
    assert before.dnc == {(FOREIGN_LISTED, "internal")} and before.campaigns == {FOREIGN}
    for role in ("manager", "admin"):
        client = api.client(role)
        made = client.post("/api/v1/outbound/campaigns", json={"name": f"beachhead {role}", "kind": "survey",
                                                                "company": FOREIGN_COMPANY})
        assert made.status_code == 404 and made.json()["field"] == "company", made.text
        for action in ("", "/check", "/remove"):
            for number in (FOREIGN_LISTED, FOREIGN_OPEN):
                answers = [client.post(f"/api/v1/outbound/dnc{action}", json={"number": number, "company": company})
                           for company in (FOREIGN_COMPANY, "nosuchco")]
                assert [a.status_code for a in answers] == [404, 404], answers[0].text
                assert answers[0].json()["detail"].replace(FOREIGN_COMPANY, "nosuchco") == answers[1].json()["detail"]
        # their own company's list may hold the same number: it closes nothing of the other company's
        assert client.post("/api/v1/outbound/dnc", json={"number": FOREIGN_OPEN}).json()["company"] == "default"
    assert _tenant(api.url) == before
    owner = api.client("foreign_manager").post("/api/v1/outbound/dnc/check",
                                               json={"number": FOREIGN_LISTED, "company": FOREIGN_COMPANY})
    assert owner.status_code == 200 and owner.json()["listed"]  # the list is there, for its own company


def test_admins_and_analysts_read_only_their_own_companies(api):
    """An admin and an analyst of ``default`` see every campaign of it, and nothing of ``initech``: no stats,
    reports, catalogue, lead card or user; and the other way round."""
    foreign, own = api.campaigns[FOREIGN], api.campaigns[CAMPAIGN]
    reads = ("", "/stats", "/catalogue", "/reports/refusals", "/reports/agents")
    for role in ("admin", "analyst"):
        client = api.client(role)
        listed = {c["name"] for c in client.get("/api/v1/outbound/campaigns").json()}
        assert {CAMPAIGN, OTHER} <= listed and FOREIGN not in listed
        for read in reads:
            assert client.get(f"/api/v1/outbound/campaigns/{foreign}{read}").status_code == 404, read
            assert client.get(f"/api/v1/outbound/campaigns/{own}{read}").status_code == 200, read
    admin = api.client("admin")
    lead = _foreign_lead(api.url, FOREIGN_OPEN)
    assert admin.get(f"/api/v1/leads/{lead}").status_code == 404
    assert admin.get("/api/v1/users/me").json()["companies"] == ["default"]
    assert not {"foreign_admin", "foreign_manager"} & {u["name"] for u in admin.get("/api/v1/users").json()}
    theirs = api.client("foreign_admin")
    assert theirs.get(f"/api/v1/outbound/campaigns/{foreign}/stats").status_code == 200
    assert theirs.get(f"/api/v1/leads/{lead}").json()["name"] == FOREIGN_PERSON
    assert theirs.get(f"/api/v1/outbound/campaigns/{own}").status_code == 404
    assert {u["name"] for u in theirs.get("/api/v1/users").json()} == {"foreign_admin", "foreign_manager"}


def test_an_agent_opens_no_other_companys_callback_booked_under_their_name(api):
    """A callback owner is a name, and names say nothing of the company: the card stays the other company's."""
    theirs = _callback_lead(api.url, api.campaigns[FOREIGN])
    assert api.client("agent").get(f"/api/v1/leads/{theirs}").status_code == 404
    assert api.client("agent").get(f"/api/v1/leads/{api.resources[Whose.OWN].lead_id}").status_code == 200
    listed = api.client("agent").get("/api/v1/agents/me/callbacks").json()
    assert theirs not in [row["lead_id"] for row in listed] and FOREIGN_PERSON not in str(listed)


def test_a_new_campaign_is_seen_at_once_by_its_creator_and_its_company_only(api):
    made = api.client("manager").post("/api/v1/outbound/campaigns", json={"name": "Fresh", "kind": "survey"})
    assert made.status_code == 201 and made.json()["company"] == "default"
    fresh = made.json()["id"]
    for role, status in (("manager", 200), ("admin", 200), ("analyst", 200), ("supervisor", 404),
                         ("foreign_admin", 404)):
        assert api.client(role).get(f"/api/v1/outbound/campaigns/{fresh}").status_code == status, role


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

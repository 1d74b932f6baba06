"""Call quality through a real ``dialer serve``: a manager sets the scorecard, supervisors and managers score
connected calls, the calibration report shows each criterion's spread, the agents report carries the quality
score, agents read only their own scores; every scoring and every opening of a call is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api_helpers import CAMPAIGN, PERSON, add_connected_calls, start_api_daemon

pytestmark = pytest.mark.daemon  # one `dialer serve` subprocess for the module

CARD = {"criteria": [{"code": "greeting", "label": "Greets and names the bank", "weight": 1},
                     {"code": "needs", "label": "Asks about the customer's needs", "weight": 3},
                     {"code": "apr", "label": "States the APR", "weight": 2, "critical": True}]}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("quality"), leads=5)
    daemon.calls = add_connected_calls(daemon.url, daemon.campaigns)
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _stored(url: str):
    from lists.models import AuditEvent, LeadView, QualityScore, User
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        scores = session.execute(select(QualityScore.attempt_id, User.name, QualityScore.total)
                                 .join(User, User.id == QualityScore.scorer_id)).all()
        audits = session.execute(select(AuditEvent.actor, AuditEvent.detail)
                                 .where(AuditEvent.action == "quality")).all()
        views = session.execute(select(User.name, LeadView.purpose).join(User, User.id == LeadView.user_id)).all()
    factory.kw["bind"].dispose()
    return ({(a, n): t for a, n, t in scores}, [(actor, d["attempt"]) for actor, d in audits],
            [(n, p.value) for n, p in views])


def test_scoring_calibration_reports_and_each_ones_own_scores(api):
    loans, calls = api.campaigns[CAMPAIGN], api.calls
    manager, supervisor = api.client("manager"), api.client("supervisor")
    card_url = f"/api/v1/outbound/campaigns/{loans}/scorecard"
    assert supervisor.get(card_url).json()["version"] == 0  # none set yet
    assert supervisor.put(card_url, json=CARD).status_code == 403
    bad = manager.put(card_url, json={"criteria": [{**CARD["criteria"][0], "weight": 0}]})
    assert (bad.status_code, bad.json()["field"]) == (422, "criteria.0.weight")
    assert manager.put(card_url, json=CARD).json()["version"] == 1
    assert api.client("analyst").get(card_url).json()["criteria"][2] == {**CARD["criteria"][2], "weight": 2.0}

    listed = supervisor.get(f"/api/v1/outbound/campaigns/{loans}/quality/calls")
    assert {c["attempt_id"] for c in listed.json()} == {calls["a1"], calls["a2"], calls["b1"]}
    assert PERSON not in listed.text and "+3314" not in listed.text

    opened = supervisor.get(f"/api/v1/outbound/attempts/{calls['a1']}/quality").json()
    assert opened["lead_name"] == PERSON and "*" in opened["lead_number"]  # a supervisor's numbers are masked
    assert opened["call"]["talk_s"] == 90.0 and opened["scorecard"]["version"] == 1

    score_url = f"/api/v1/outbound/attempts/{calls['a1']}/scores"
    wrong = supervisor.post(score_url, json={"answers": {"greeting": 1, "needs": 0.5, "apr": 0.5}})
    assert (wrong.status_code, wrong.json()["field"]) == (422, "answers.apr")
    given = supervisor.post(score_url, json={"answers": {"greeting": 1, "needs": 0.5, "apr": 1},
                                             "comment": "rushed the needs"})
    assert given.status_code == 201 and given.json()["total"] == pytest.approx(75.0)  # (1 + 1.5 + 2) / 6
    again = supervisor.post(score_url, json={"answers": {"greeting": 1, "needs": 1, "apr": 1}})
    assert (again.status_code, again.json()["field"]) == (409, "attempt_id")
    none = supervisor.post(f"/api/v1/outbound/attempts/{calls['none']}/scores",
                           json={"answers": {"greeting": 1, "needs": 1, "apr": 1}})
    assert (none.status_code, none.json()["field"]) == (409, "attempt_id")
    other = supervisor.post(f"/api/v1/outbound/attempts/{calls['other']}/scores",
                            json={"answers": {"greeting": 1, "needs": 1, "apr": 1}})
    assert (other.status_code, other.json()["field"]) == (404, "attempt_id")  # not their campaign
    assert api.client("agent").post(score_url, json={"answers": {}}).status_code == 403

    # the manager scores a1 too (a calibration), and b1 first: the supervisor does not see it until they score
    manager.post(score_url, json={"answers": {"greeting": 0, "needs": 1, "apr": 1}})  # 5/6
    manager.post(f"/api/v1/outbound/attempts/{calls['b1']}/scores", json={"answers": {"greeting": 1, "needs": 1,
                                                                                       "apr": 0}})
    blind = supervisor.get(f"/api/v1/outbound/attempts/{calls['b1']}/quality").json()
    assert (blind["scores"], blind["scores_hidden"]) == ([], 1)
    assert len(supervisor.get(f"/api/v1/outbound/attempts/{calls['a1']}/quality").json()["scores"]) == 2

    report = api.client("analyst").get(f"/api/v1/outbound/campaigns/{loans}/quality").json()
    [calibration] = report["calibrations"]
    assert calibration["attempt_id"] == calls["a1"] and calibration["total_spread"] == pytest.approx(500 / 6 - 75)
    spreads = {c["code"]: c["spread"] for c in calibration["criteria"]}
    assert spreads == {"greeting": 1.0, "needs": 0.5, "apr": 0.0}
    quality = {a["agent"]: (a["quality"], a["calls"]) for a in report["agents"]}
    assert quality["agent"] == (pytest.approx((75 + 500 / 6) / 2), 1) and quality["agent2"] == (0.0, 1)
    rows = {r["agent"]: r for r in supervisor.get(f"/api/v1/outbound/campaigns/{loans}/reports/agents").json()}
    assert rows["agent"]["quality"] == pytest.approx((75 + 500 / 6) / 2) and rows["agent"]["quality_calls"] == 1

    own = api.client("agent").get("/api/v1/agents/me/scores").json()
    assert {(s["attempt_id"], s["scorer"]) for s in own} == {(calls["a1"], "supervisor"), (calls["a1"], "manager")}
    assert PERSON not in str(own)
    assert [s["critical_failed"] for s in api.client("agent2").get("/api/v1/agents/me/scores").json()] == [True]

    scores, audits, views = _stored(api.url)
    assert scores == {(calls["a1"], "supervisor"): pytest.approx(75.0),
                      (calls["a1"], "manager"): pytest.approx(500 / 6), (calls["b1"], "manager"): 0.0}
    assert sorted(audits) == sorted([("supervisor", calls["a1"]), ("manager", calls["a1"]),
                                     ("manager", calls["b1"])])
    assert views.count(("supervisor", "quality")) == 3  # each opening of a call, none for the list or report

"""Call quality: the score maths against hand-computed values, then scorecards, scores, the agents report's
quality and calibration spreads in a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dialer.service.users import Role, add_user
from lists.campaigns import create_campaign
from lists.models import DUE_ANY_TIME, Attempt, AuditEvent, Lead, LeadView, QualityAnswer, QualityScore, User
from lists.periods import Period
from lists.quality import (
    Criterion,
    QualityConflict,
    agent_quality,
    calibrations,
    open_call,
    quality_report,
    score_call,
    score_of,
    set_scorecard,
    spread,
)
from lists.reports import agents_report
from pacing.errors import InvalidInput

CARD = [Criterion("greeting", "Greets and names the company", 1.0),
        Criterion("needs", "Asks about the customer's needs", 3.0),
        Criterion("apr", "States the APR", 2.0, critical=True)]
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


# ---- the maths, by hand ------------------------------------------------------------------------------------

def test_the_score_is_the_weighted_mean_of_the_criteria_judged_in_percent():
    # (1*1 + 3*0.5 + 2*1) / (1 + 3 + 2) = 4.5 / 6 = 75 %
    assert score_of(CARD, {"greeting": 1, "needs": 0.5, "apr": 1}).total == pytest.approx(75.0)
    # not applicable leaves the criterion out of both sums: (3*0.5 + 2*1) / (3 + 2) = 3.5 / 5 = 70 %
    judged = score_of(CARD, {"greeting": None, "needs": 0.5, "apr": 1})
    assert judged.total == pytest.approx(70.0) and not judged.critical_failed


def test_a_failed_critical_criterion_zeroes_the_score_whatever_the_rest():
    judged = score_of(CARD, {"greeting": 1, "needs": 1, "apr": 0})
    assert (judged.total, judged.critical_failed) == (0.0, True)


@pytest.mark.parametrize(("answers", "field"), [
    ({"greeting": 1, "needs": 1}, "answers.apr"),  # missing
    ({"greeting": 1, "needs": 1, "apr": 1, "smile": 1}, "answers.smile"),  # no such criterion
    ({"greeting": 1.5, "needs": 1, "apr": 1}, "answers.greeting"),  # above 1
    ({"greeting": 1, "needs": 1, "apr": 0.5}, "answers.apr"),  # a critical one is pass or fail
    ({"greeting": 1, "needs": 1, "apr": None}, "answers.apr"),  # and always judged
])
def test_a_wrong_answer_is_refused_naming_it(answers, field):
    with pytest.raises(InvalidInput) as caught:
        score_of(CARD, answers)
    assert caught.value.argument == field


def test_nothing_judged_is_refused():
    with pytest.raises(InvalidInput) as caught:
        score_of(CARD[:2], {"greeting": None, "needs": None})
    assert caught.value.argument == "answers"


def test_the_spread_is_the_highest_less_the_lowest_value_given():
    assert spread([1.0, 0.5, 0.0]) == 1.0
    assert spread([0.5, None, 1.0]) == 0.5  # not applicable left out
    assert spread([1.0, None]) is None  # one value is no spread
    assert spread([75.0, 60.0]) == 15.0


# ---- in a store ----------------------------------------------------------------------------------------------

def _world(session):
    """Loans with a scorecard, three connected calls (two of ann's, one of bob's) and one unanswered dial;
    two supervisors and an agent."""
    campaign = create_campaign(session, "Loans", kind="loan-offer", rules_profile="fr")
    session.add(Lead(campaign_id=campaign.id, phone_e164="+33142685123", name="Marie Curie", zones="Europe/Paris",
                     fields={}, status="done", attempts=4, next_at=DUE_ANY_TIME))
    session.flush()
    lead = session.scalars(select(Lead)).one()
    calls = {}
    for key, agent, minutes in (("ann1", "ann", 0), ("ann2", "ann", 10), ("bob1", "bob", 20), ("none", None, 30)):
        at = T0.replace(tzinfo=None) + timedelta(minutes=minutes)
        attempt = Attempt(lead_id=lead.id, campaign_id=campaign.id, dialled_at=at, outcome="human" if agent else
                          "no_answer", agent=agent, connected_at=at + timedelta(seconds=10) if agent else None,
                          hangup_at=at + timedelta(seconds=130) if agent else None)
        session.add(attempt)
        session.flush()
        calls[key] = attempt
    for name in ("sue", "sam"):
        add_user(session, name, Role.SUPERVISOR, T0, campaigns=("Loans",))
    set_scorecard(session, campaign, CARD, "cli:test", T0)
    session.commit()
    users = {u.name: u for u in session.scalars(select(User))}
    return campaign, calls, users


def test_scores_are_stored_with_their_answers_and_audited(store):
    with store() as session:
        campaign, calls, users = _world(session)
        score = score_call(session, calls["ann1"], users["sue"], {"greeting": 1, "needs": 0.5, "apr": 1},
                           "good pace", T0)
        session.commit()
        assert (score.agent, score.total, score.critical_failed) == ("ann", pytest.approx(75.0), False)
        values = sorted(session.scalars(select(QualityAnswer.value).where(QualityAnswer.score_id == score.id)))
        assert values == [0.5, 1.0, 1.0]
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "quality")).one()
        assert audit.actor == "sue" and audit.detail["attempt"] == calls["ann1"].id and audit.detail["total"] == 75.0
        assert "Marie" not in str(audit.detail) and "+3314" not in str(audit.detail)


def test_a_call_no_agent_took_or_scored_twice_by_one_scorer_is_refused(store):
    with store() as session:
        campaign, calls, users = _world(session)
        answers = {"greeting": 1, "needs": 1, "apr": 1}
        with pytest.raises(QualityConflict) as caught:
            score_call(session, calls["none"], users["sue"], answers, None, T0)
        assert caught.value.field == "attempt_id"
        score_call(session, calls["ann1"], users["sue"], answers, None, T0)
        with pytest.raises(QualityConflict) as caught:
            score_call(session, calls["ann1"], users["sue"], answers, None, T0)
        assert caught.value.field == "attempt_id"


def test_an_agents_quality_is_the_mean_of_their_calls_each_call_the_mean_of_its_scorers(store):
    with store() as session:
        campaign, calls, users = _world(session)
        score_call(session, calls["ann1"], users["sue"], {"greeting": 1, "needs": 1, "apr": 1}, None, T0)  # 100
        score_call(session, calls["ann1"], users["sam"], {"greeting": 1, "needs": 0, "apr": 1}, None, T0)  # 50
        score_call(session, calls["ann2"], users["sue"], {"greeting": 0, "needs": 1, "apr": 1}, None, T0)  # 83.3
        score_call(session, calls["bob1"], users["sue"], {"greeting": 1, "needs": 1, "apr": 0}, None, T0)  # 0
        session.commit()
        quality = agent_quality(session, campaign.id)
        # ann: call 1 (100 + 50) / 2 = 75, call 2 5/6 = 83.33; (75 + 83.33) / 2 = 79.17 over 2 calls
        assert quality["ann"].mean == pytest.approx((75 + 500 / 6) / 2) and quality["ann"].calls == 2
        assert (quality["bob"].mean, quality["bob"].calls) == (0.0, 1)
        # a period holding only ann's first call (dialled 09:00; the second at 09:10)
        first = Period(T0 - timedelta(minutes=1), T0 + timedelta(minutes=5))
        assert agent_quality(session, campaign.id, first)["ann"].mean == pytest.approx(75.0)
        report = agents_report(session, campaign, Period(), T0 + timedelta(hours=1))
        rows = {row.agent: row for row in report.rows}
        assert rows["ann"].quality == pytest.approx(quality["ann"].mean) and rows["ann"].quality_calls == 2
        assert report.total.quality == pytest.approx((75 + 500 / 6 + 0) / 3)  # every scored call weighs the same
        assert "79.2 (2)" in report.text()


def test_calibration_shows_each_criterions_spread_between_scorers(store):
    with store() as session:
        campaign, calls, users = _world(session)
        score_call(session, calls["ann1"], users["sue"], {"greeting": 1, "needs": 1, "apr": 1}, None, T0)
        score_call(session, calls["ann1"], users["sam"], {"greeting": None, "needs": 0.5, "apr": 1}, None, T0)
        score_call(session, calls["ann2"], users["sue"], {"greeting": 1, "needs": 1, "apr": 1}, None, T0)
        session.commit()
        [calibration] = calibrations(session, campaign.id)  # ann2 has one scorer: no calibration
        assert calibration.attempt_id == calls["ann1"].id and calibration.agent == "ann"
        # sue 100; sam (3*0.5 + 2*1) / 5 = 70
        assert calibration.totals == {"sam": pytest.approx(70.0), "sue": 100.0}
        assert calibration.total_spread == pytest.approx(30.0)
        by_code = {c.code: c for c in calibration.criteria}
        assert by_code["needs"].spread == 0.5 and by_code["needs"].values == {"sam": 0.5, "sue": 1.0}
        assert by_code["greeting"].spread is None  # sam found it not applicable: one value
        assert by_code["apr"].spread == 0.0
        text = quality_report(session, campaign).text()
        assert "spread 30.0 points" in text and "needs (Asks about the customer's needs): spread 0.50" in text


def test_opening_a_call_to_score_shows_the_person_and_is_audited(store):
    with store() as session:
        campaign, calls, users = _world(session)
        call = open_call(session, calls["ann1"], users["sue"].id, T0)
        session.commit()
        assert (call.lead_name, call.attempt.agent, call.attempt.talk_s) == ("Marie Curie", "ann", 120.0)
        view = session.scalars(select(LeadView)).one()
        assert (view.user_id, view.purpose.value) == (users["sue"].id, "quality")


def test_a_new_scorecard_version_leaves_earlier_scores_as_given(store):
    with store() as session:
        campaign, calls, users = _world(session)
        score_call(session, calls["ann1"], users["sue"], {"greeting": 1, "needs": 0, "apr": 1}, None, T0)
        card = set_scorecard(session, campaign, [Criterion("needs", "Needs", 1.0)], "cli:test", T0)
        score_call(session, calls["ann2"], users["sue"], {"needs": 1}, None, T0)
        session.commit()
        assert card.version == 2
        totals = sorted(session.scalars(select(QualityScore.total)))
        assert totals == [pytest.approx(50.0), 100.0]  # (1 + 2) / 6 under version 1, unchanged
        with pytest.raises(InvalidInput) as caught:
            set_scorecard(session, campaign, [Criterion("a", "A", 1.0), Criterion("a", "B", 1.0)], "x", T0)
        assert caught.value.argument == "criteria.1.code"


def test_the_cli_sets_and_shows_a_scorecard_and_reports(tmp_path):
    from click.testing import CliRunner

    import cli

    url = ["--database-url", f"sqlite:///{tmp_path / 'q.db'}"]
    runner = CliRunner()
    assert runner.invoke(cli.main, ["campaign", "create", "Loans", "--kind", "loan-offer", *url]).exit_code == 0
    shown = runner.invoke(cli.main, ["quality", "scorecard", "show", "--campaign", "Loans", *url])
    assert shown.exit_code == 1 and "no scorecard" in shown.output
    made = runner.invoke(cli.main, ["quality", "scorecard", "set", "--campaign", "Loans", "--criterion",
                                    "greeting=1:Greets and names the bank", "--criterion", "apr=2:States the APR",
                                    "--critical", "apr", *url])
    assert made.exit_code == 0 and "version 1, 2 criteria" in made.output
    shown = runner.invoke(cli.main, ["quality", "scorecard", "show", "--campaign", "Loans", *url])
    assert "apr (States the APR)" in shown.output and "weight 2, critical" in shown.output
    wrong = runner.invoke(cli.main, ["quality", "scorecard", "set", "--campaign", "Loans", "--criterion", "a=1:A",
                                     "--critical", "b", *url])
    assert wrong.exit_code == 2 and "--critical: 'b' is no --criterion's code" in wrong.output
    report = runner.invoke(cli.main, ["quality", "report", "--campaign", "Loans", *url])
    assert report.exit_code == 0 and "(no call scored)" in report.output


def test_a_score_racing_the_scorers_own_first_is_refused_as_scored_already(store, monkeypatch):
    """Two requests at once (a double click) both pass the check before either commits; the unique key refuses
    the second, which must be the same 409-worthy refusal, not an IntegrityError."""
    import lists.quality
    from lists.quality import current_scorecard

    with store() as session:
        campaign, calls, users = _world(session)
        answers = {"greeting": 1, "needs": 1, "apr": 1}
        score_call(session, calls["ann1"], users["sue"], answers, None, T0)
        session.commit()
        monkeypatch.setattr(lists.quality, "_scorable", lambda s, attempt, scorer: current_scorecard(s, campaign.id))
        with pytest.raises(QualityConflict) as caught:
            score_call(session, calls["ann1"], users["sue"], answers, None, T0)
        assert caught.value.field == "attempt_id"
        assert len(session.scalars(select(QualityScore)).all()) == 1  # the session is usable, the first kept

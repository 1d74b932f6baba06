"""Call quality over the API (``lists.quality``): scorecards, scoring a call, the quality report, an agent's own
scores.

Who may do what, and why:

- managers (and admins) set a campaign's scorecard: it decides what agents are paid on;
- supervisors and managers of the campaign score its calls: the people who answer for them. Admins run the
  system and do not judge calls; analysts read aggregates (the report), never a call;
- opening a call to score shows who was called (name, number masked unless the role needs it), so each
  opening is audited like a lead card (``lead_view``, purpose ``quality``), and each score is an audited
  action; the scoring list and the report show no name or number;
- a supervisor sees other scorers' scores of a call only once they have scored it: several scorers of one
  call are a calibration, and one who has read the others' first is no longer a fair second opinion;
- an agent sees their own scores (``/agents/me/scores``), in the campaigns they are granted, and nobody's else.

A campaign or call one may not see answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from dialer.api.auth import Principal, floor_of, require, visible
from dialer.api.errors import Conflict, NotFound
from dialer.api.reports import From, To, campaign_or_404, period_for
from dialer.api.schemas import (
    ERRORS,
    AgentQualityOut,
    AnswerOut,
    AttemptId,
    CalibrationOut,
    CallToScoreOut,
    CampaignId,
    CriterionOut,
    CriterionSpreadOut,
    QualityReportOut,
    ScorecardIn,
    ScorecardOut,
    ScoredCallOut,
    ScoreIn,
    ScoreOut,
)
from dialer.service.users import Role
from lists.models import Attempt, User, as_utc
from lists.numbers import mask_number
from lists.quality import (
    CallToScore,
    Criterion,
    QualityConflict,
    QualityReport,
    ScoreDetail,
    calls_to_score,
    criteria_of,
    current_scorecard,
    open_call,
    quality_report,
    score_call,
    scores_of_agent,
    scores_of_attempt,
    set_scorecard,
)

__all__ = ["router", "scorecard", "put_scorecard", "scoring_list", "report", "scored_call", "score", "my_scores",
           "SEE_EVERY_SCORE"]

Setter = Annotated[Principal, Depends(require(Role.MANAGER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ANALYST, Role.ADMIN))]
Opener = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ADMIN))]
Scorer = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER))]
Agent = Annotated[Principal, Depends(require(Role.AGENT))]
SEE_EVERY_SCORE = frozenset({Role.MANAGER, Role.ADMIN})  # who sees a call's scores without scoring it first

router = APIRouter(prefix="/api/v1", tags=["quality"], responses=ERRORS)


def _card_out(session: Session, campaign_id: int) -> ScorecardOut:
    """The campaign's current scorecard; version 0 with no criteria when none is set (the campaign exists, so
    its scorecard is a resource that is there, empty, rather than a 404)."""
    card = current_scorecard(session, campaign_id)
    if card is None:
        return ScorecardOut(campaign_id=campaign_id, version=0, created_at=None, created_by=None, criteria=[])
    return ScorecardOut(campaign_id=card.campaign_id, version=card.version, created_at=as_utc(card.created_at),
                        created_by=card.created_by,
                        criteria=[CriterionOut(**vars(c)) for c in criteria_of(session, card.id)])


def _score_out(detail: ScoreDetail) -> ScoreOut:
    return ScoreOut(id=detail.score_id, attempt_id=detail.attempt_id, campaign_id=detail.campaign_id,
                    agent=detail.agent, scorer=detail.scorer, scored_at=detail.scored_at,
                    scorecard_version=detail.scorecard_version, total=detail.total,
                    critical_failed=detail.critical_failed, comment=detail.comment,
                    answers=[AnswerOut(**vars(a.criterion), value=a.value) for a in detail.answers])


def _call_out(call: CallToScore) -> CallToScoreOut:
    return CallToScoreOut(attempt_id=call.attempt_id, agent=call.agent, dialled_at=call.dialled_at,
                          talk_s=call.talk_s, disposition=call.disposition, scores=call.scores)


@router.get("/outbound/campaigns/{campaign_id}/scorecard", response_model=ScorecardOut)
async def scorecard(campaign_id: CampaignId, request: Request, who: Reader) -> ScorecardOut:
    """The campaign's current scorecard: its criteria with their weights, critical ones marked (version 0 and no
    criteria: none set yet)."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> ScorecardOut:
        with floor.factory() as session:
            campaign_or_404(session, campaign_id)
            return _card_out(session, campaign_id)

    return await floor.off_loop(read)  # type: ignore[no-any-return]


@router.put("/outbound/campaigns/{campaign_id}/scorecard", response_model=ScorecardOut,
            responses={409: {"description": "Another version was set at the same moment"}})
async def put_scorecard(campaign_id: CampaignId, body: ScorecardIn, request: Request, who: Setter) -> ScorecardOut:
    """A new version of the campaign's scorecard (managers, admins; audited). Scores given under an earlier
    version keep it."""
    visible(who, campaign_id)
    floor = floor_of(request)
    criteria = [Criterion(c.code, c.label, c.weight, c.critical) for c in body.criteria]

    def write() -> ScorecardOut:
        with floor.factory() as session:
            campaign = campaign_or_404(session, campaign_id)
            try:
                set_scorecard(session, campaign, criteria, who.name, floor.now_utc())
            except QualityConflict as conflict:
                raise Conflict(str(conflict), conflict.field) from None
            session.commit()
            return _card_out(session, campaign_id)

    return await floor.off_loop(write)  # type: ignore[no-any-return]


@router.get("/outbound/campaigns/{campaign_id}/quality/calls", response_model=list[CallToScoreOut])
async def scoring_list(campaign_id: CampaignId, request: Request, who: Opener, start: From = None,
                       end: To = None) -> list[CallToScoreOut]:
    """The campaign's latest 50 connected calls dialled in the period, newest first, with how often each was
    scored (no name or number)."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> list[CallToScoreOut]:
        with floor.factory() as session:
            campaign = campaign_or_404(session, campaign_id)
            return [_call_out(c) for c in calls_to_score(session, campaign_id,
                                                         period_for(floor, campaign, start, end))]

    return await floor.off_loop(read)  # type: ignore[no-any-return]


def _report_out(r: QualityReport) -> QualityReportOut:
    return QualityReportOut(
        title=r.title, agents=[AgentQualityOut(agent=a, quality=q.mean, calls=q.calls) for a, q in r.agents.items()],
        calibrations=[CalibrationOut(attempt_id=c.attempt_id, agent=c.agent, totals=c.totals,
                                     total_spread=c.total_spread,
                                     criteria=[CriterionSpreadOut(**vars(s)) for s in c.criteria])
                      for c in r.calibrations])


@router.get("/outbound/campaigns/{campaign_id}/quality", response_model=QualityReportOut)
async def report(campaign_id: CampaignId, request: Request, who: Reader, start: From = None,
                 end: To = None) -> QualityReportOut:
    """Each agent's quality over the calls dialled in the period, and the calls two or more scorers scored
    (calibrations) with each criterion's spread between them."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> QualityReportOut:
        with floor.factory() as session:
            campaign = campaign_or_404(session, campaign_id)
            return _report_out(quality_report(session, campaign, period_for(floor, campaign, start, end)))

    return await floor.off_loop(read)  # type: ignore[no-any-return]


def _attempt(session: Session, who: Principal, attempt_id: int) -> Attempt:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or not who.sees(attempt.campaign_id):
        raise NotFound(f"no attempt {attempt_id}", "attempt_id")
    return attempt


@router.get("/outbound/attempts/{attempt_id}/quality", response_model=ScoredCallOut)
async def scored_call(attempt_id: AttemptId, request: Request, who: Opener) -> ScoredCallOut:
    """A call to score or review: who was called, the scorecard, its scores (others' once you have scored it,
    unless you are a manager or admin), the recording's URL. Audited."""
    floor = floor_of(request)

    def read() -> ScoredCallOut:
        with floor.factory() as session:
            attempt = _attempt(session, who, attempt_id)
            call = open_call(session, attempt, who.user_id, floor.now_utc())
            session.commit()
            mine = any(s.scorer == who.name for s in call.scores)
            shown = call.scores if mine or who.role in SEE_EVERY_SCORE else []
            return ScoredCallOut(
                call=_call_out(call.attempt), campaign_id=call.campaign_id, lead_name=call.lead_name,
                lead_number=call.lead_number if who.unmasked else mask_number(call.lead_number),
                recording=f"/api/v1/outbound/attempts/{attempt_id}/recording",
                scorecard=_card_out(session, attempt.campaign_id), scores=[_score_out(s) for s in shown],
                scores_hidden=len(call.scores) - len(shown))

    return await floor.off_loop(read)  # type: ignore[no-any-return]


@router.post("/outbound/attempts/{attempt_id}/scores", response_model=ScoreOut, status_code=201,
             responses={409: {"description": "No agent took the call, the campaign has no scorecard, or you "
                                             "have scored the call already"}})
async def score(attempt_id: AttemptId, body: ScoreIn, request: Request, who: Scorer) -> ScoreOut:
    """Score a connected call on its campaign's current scorecard (supervisors and managers of the campaign;
    audited). A wrong answer is a 422 naming ``answers.<code>``."""
    floor = floor_of(request)

    def write() -> ScoreOut:
        with floor.factory() as session:
            attempt = _attempt(session, who, attempt_id)
            scorer = session.get(User, who.user_id)
            assert scorer is not None
            try:
                made = score_call(session, attempt, scorer, body.answers, body.comment, floor.now_utc())
            except QualityConflict as conflict:
                raise Conflict(str(conflict), conflict.field) from None
            session.commit()
            return _score_out(next(s for s in scores_of_attempt(session, attempt_id) if s.score_id == made.id))

    return await floor.off_loop(write)  # type: ignore[no-any-return]


@router.get("/agents/me/scores", response_model=list[ScoreOut])
async def my_scores(request: Request, who: Agent) -> list[ScoreOut]:
    """The agent's own scores in their campaigns, newest first (at most 100): each criterion's answer and the
    scorer's comment, no customer's name or number."""
    floor = floor_of(request)

    def read() -> list[ScoreOut]:
        with floor.factory() as session:
            return [_score_out(s) for s in scores_of_agent(session, who.name, sorted(who.campaigns))]

    return await floor.off_loop(read)  # type: ignore[no-any-return]

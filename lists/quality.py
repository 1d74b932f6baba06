"""Call quality: a campaign's scorecard, the scores supervisors give its connected calls, and what they add up to.

A scorecard is a list of criteria, each with a weight and maybe critical.
A scorer judges each criterion of a call from 0 (not met) to 1 (met), or
not applicable (None), and the call's score is the weighted mean of the
criteria judged, in percent::

    total = 100 * sum(weight * value) / sum(weight)   over the criteria judged

A critical criterion (the loan's rate stated, consent asked) is pass or
fail, always judged, and failed zeroes the total whatever the rest: a
mis-sold loan is not redeemed by a friendly greeting.

Why scores are kept per scorer: two or more scorers of one call are a
calibration, and the spread of their judgements of each criterion (highest
less lowest) says where the scorers read the scorecard differently. An
agent's quality score is the mean over their scored calls of each call's
mean score, so a call scored by three supervisors weighs what a call scored
by one weighs.

Scorecards are versioned (``Scorecard``): setting one adds a version, so a
score keeps the criteria and weights it was given under.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from lists.audit import record, record_view
from lists.models import (
    Attempt,
    AuditAction,
    Campaign,
    Lead,
    QualityAnswer,
    QualityScore,
    Scorecard,
    ScorecardCriterion,
    User,
    ViewPurpose,
    as_utc,
    to_db,
)
from lists.periods import EVERYTHING, Period
from pacing.errors import InvalidInput

__all__ = ["Criterion", "Judged", "Answer", "score_of", "spread", "QualityConflict", "set_scorecard", "criterion_of",
           "current_scorecard", "criteria_of", "score_call", "ScoreDetail", "scores_of_attempt", "scores_of_agent",
           "AgentQuality", "agent_quality", "CriterionSpread", "Calibration", "calibrations", "CallToScore",
           "calls_to_score", "ScoredCall", "open_call", "QualityReport", "quality_report", "CODE"]

CODE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")  # a criterion's code: what answers and reports name it by
_COMMENT_CHARS = 1000


@dataclass(frozen=True)
class Criterion:
    """One line of a scorecard: ``weight`` > 0 is its share of the score; ``critical``: failed zeroes it."""

    code: str
    label: str
    weight: float
    critical: bool = False


@dataclass(frozen=True)
class Judged:
    """A call's score from one scorer's answers: ``total`` 0-100; ``critical_failed``: a critical criterion
    failed, so the total is 0."""

    total: float
    critical_failed: bool


class QualityConflict(DialerError):
    """A write the store's state does not allow now (not bad input: that is ``InvalidInput``): a call no agent
    took, a campaign with no scorecard, a call its scorer has scored already, a scorecard changed meanwhile;
    ``field`` names what is at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _checked_answer(criterion: Criterion, answers: Mapping[str, float | None]) -> float | None:
    field = f"answers.{criterion.code}"
    if criterion.code not in answers:
        raise InvalidInput(field, "is missing: judge every criterion (null: not applicable)")
    value = answers[criterion.code]
    if value is None:
        if criterion.critical:
            raise InvalidInput(field, "is critical: it is always judged, 0 (failed) or 1 (passed)")
        return None
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(field, f"{value} is not from 0 (not met) to 1 (met)")
    if criterion.critical and value not in (0.0, 1.0):
        raise InvalidInput(field, "is critical: 0 (failed) or 1 (passed), nothing between")
    return float(value)


def score_of(criteria: Sequence[Criterion], answers: Mapping[str, float | None]) -> Judged:
    """The score of one scorer's ``answers`` (criterion code → 0..1, None: not applicable) on ``criteria``.
    InvalidInput names ``answers.<code>`` for an answer missing, unknown or out of range, ``answers`` when no
    criterion was judged."""
    known = {c.code for c in criteria}
    for code in answers:
        if code not in known:
            raise InvalidInput(f"answers.{code}", "is no criterion of the campaign's scorecard")
    judged = [(c, value) for c in criteria if (value := _checked_answer(c, answers)) is not None]
    if not judged:
        raise InvalidInput("answers", "judge at least one criterion (all are not applicable)")
    if any(c.critical and value == 0.0 for c, value in judged):
        return Judged(0.0, True)
    weight = sum(c.weight for c, _ in judged)
    return Judged(100.0 * sum(c.weight * value for c, value in judged) / weight, False)


def spread(values: Sequence[float | None]) -> float | None:
    """How far scorers are apart on one criterion or total: the highest less the lowest of the values given
    (None: not applicable, left out); None when fewer than two scorers gave one."""
    given = [v for v in values if v is not None]
    return max(given) - min(given) if len(given) >= 2 else None


# ---- scorecards --------------------------------------------------------------------------------------------

def criterion_of(text: str, critical: bool = False) -> Criterion:
    """A criterion as the command line writes it: ``CODE=WEIGHT:LABEL`` (``apr=2:States the APR``).
    InvalidInput names ``--criterion``."""
    code, sep, rest = text.partition("=")
    weight, colon, label = rest.partition(":")
    try:
        value: float | None = float(weight)
    except ValueError:
        value = None
    if not sep or not colon or value is None:
        raise InvalidInput("criterion", f"expects CODE=WEIGHT:LABEL (apr=2:States the APR), got {text!r}")
    return Criterion(code.strip(), label.strip(), value, critical)


def _checked_criteria(criteria: Sequence[Criterion]) -> None:
    if not criteria:
        raise InvalidInput("criteria", "a scorecard needs at least one criterion")
    seen: set[str] = set()
    for k, c in enumerate(criteria):
        if not CODE.match(c.code):
            raise InvalidInput(f"criteria.{k}.code", f"{c.code!r} is not 1-48 letters, digits or _.-")
        if c.code in seen:
            raise InvalidInput(f"criteria.{k}.code", f"{c.code!r} is named twice")
        if not 0 < c.weight <= 1000:
            raise InvalidInput(f"criteria.{k}.weight", f"{c.weight} is not above 0 and at most 1000")
        if not c.label.strip() or len(c.label) > 200:
            raise InvalidInput(f"criteria.{k}.label", "must be 1-200 characters")
        seen.add(c.code)


def set_scorecard(session: Session, campaign: Campaign, criteria: Sequence[Criterion], actor: str,
                  now: datetime) -> Scorecard:
    """A new version of the campaign's scorecard, audited as a settings change (the caller commits). Earlier
    scores keep the version they were given under. QualityConflict when another version was set meanwhile."""
    _checked_criteria(criteria)
    current = current_scorecard(session, campaign.id)
    card = Scorecard(campaign_id=campaign.id, version=current.version + 1 if current else 1, created_at=to_db(now),
                     created_by=actor)
    _insert(session, card, QualityConflict("the scorecard was changed meanwhile: read it, then set it again",
                                           "criteria"))
    session.add_all(ScorecardCriterion(scorecard_id=card.id, position=k, code=c.code, label=c.label.strip(),
                                       weight=float(c.weight), critical=c.critical) for k, c in enumerate(criteria))
    record(session, actor, AuditAction.SETTINGS, now, campaign.id, scorecard=card.version,
           criteria=[f"{c.code}:{c.weight:g}{':critical' if c.critical else ''}" for c in criteria])
    return card


def current_scorecard(session: Session, campaign_id: int) -> Scorecard | None:
    """The campaign's latest scorecard version (None: none set)."""
    return session.scalars(select(Scorecard).where(Scorecard.campaign_id == campaign_id)
                           .order_by(Scorecard.version.desc()).limit(1)).first()


def criteria_of(session: Session, scorecard_id: int) -> list[Criterion]:
    rows = session.scalars(select(ScorecardCriterion).where(ScorecardCriterion.scorecard_id == scorecard_id)
                           .order_by(ScorecardCriterion.position))
    return [Criterion(r.code, r.label, r.weight, r.critical) for r in rows]


def _insert(session: Session, row: Scorecard | QualityScore, conflict: QualityConflict) -> None:
    """Insert ``row`` now; ``conflict`` (the session rolled back) when a unique key refuses it.

    Why: the check before the insert reads what was committed, so two
    requests at once (a double click, two managers saving) both pass it and
    the second meets the unique key: that is the same refusal, not a bug."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict from None


# ---- scoring -----------------------------------------------------------------------------------------------

def _scorable(session: Session, attempt: Attempt, scorer: User) -> Scorecard:
    """The scorecard to score the call on; QualityConflict when the call or the scorer's record forbid it."""
    if attempt.agent is None or attempt.connected_at is None:
        raise QualityConflict(f"attempt {attempt.id} was not put through to an agent: there is no call to score",
                             "attempt_id")
    card = current_scorecard(session, attempt.campaign_id)
    if card is None:
        raise QualityConflict("the campaign has no scorecard yet (a manager sets one)", "scorecard")
    if session.scalar(select(QualityScore.id).where(QualityScore.attempt_id == attempt.id,
                                                    QualityScore.scorer_id == scorer.id)) is not None:
        raise QualityConflict(f"you have scored attempt {attempt.id} already", "attempt_id")
    return card


def score_call(session: Session, attempt: Attempt, scorer: User, answers: Mapping[str, float | None],
               comment: str | None, now: datetime) -> QualityScore:
    """Score a connected call on its campaign's current scorecard, audited (the caller commits, so the score
    and its audit row land together). InvalidInput names a wrong answer; QualityConflict a call that cannot be
    scored, a campaign with no scorecard, a scorer who has scored the call already."""
    card = _scorable(session, attempt, scorer)
    if comment is not None and len(comment) > _COMMENT_CHARS:
        raise InvalidInput("comment", f"is longer than {_COMMENT_CHARS} characters")
    rows = session.scalars(select(ScorecardCriterion).where(ScorecardCriterion.scorecard_id == card.id)
                           .order_by(ScorecardCriterion.position)).all()
    judged = score_of([Criterion(r.code, r.label, r.weight, r.critical) for r in rows], answers)
    assert attempt.agent is not None
    score = QualityScore(attempt_id=attempt.id, scorecard_id=card.id, campaign_id=attempt.campaign_id,
                         agent=attempt.agent, scorer_id=scorer.id, scored_at=to_db(now), total=judged.total,
                         critical_failed=judged.critical_failed, comment=comment or None)
    _insert(session, score, QualityConflict(f"you have scored attempt {attempt.id} already", "attempt_id"))
    session.add_all(QualityAnswer(score_id=score.id, criterion_id=r.id, value=answers[r.code]) for r in rows)
    record(session, scorer.name, AuditAction.QUALITY, now, attempt.campaign_id, attempt=attempt.id,
           agent=attempt.agent, scorecard=card.version, total=round(judged.total, 1),
           critical_failed=judged.critical_failed)
    return score


@dataclass(frozen=True)
class Answer:
    """One criterion of a score as given: the criterion, and the value (None: not applicable)."""

    criterion: Criterion
    value: float | None


@dataclass(frozen=True)
class ScoreDetail:
    """One score as people read it: who scored which call when, the total and each criterion's answer."""

    score_id: int
    attempt_id: int
    campaign_id: int
    agent: str
    scorer: str
    scored_at: datetime
    scorecard_version: int
    total: float
    critical_failed: bool
    comment: str | None
    answers: tuple[Answer, ...]


def _details(session: Session, *where: ColumnElement[bool]) -> list[ScoreDetail]:
    scores = session.execute(select(QualityScore, User.name, Scorecard.version)
                             .join(User, User.id == QualityScore.scorer_id)
                             .join(Scorecard, Scorecard.id == QualityScore.scorecard_id)
                             .where(*where).order_by(QualityScore.scored_at.desc(), QualityScore.id.desc())).all()
    answers: dict[int, list[Answer]] = defaultdict(list)
    ids = [score.id for score, _, _ in scores]
    for score_id, c, value in session.execute(
            select(QualityAnswer.score_id, ScorecardCriterion, QualityAnswer.value)
            .join(ScorecardCriterion, ScorecardCriterion.id == QualityAnswer.criterion_id)
            .where(QualityAnswer.score_id.in_(ids)).order_by(ScorecardCriterion.position)):
        answers[score_id].append(Answer(Criterion(c.code, c.label, c.weight, c.critical), value))
    return [ScoreDetail(s.id, s.attempt_id, s.campaign_id, s.agent, scorer, as_utc(s.scored_at),  # type: ignore[arg-type]
                        version, s.total, s.critical_failed, s.comment, tuple(answers[s.id]))
            for s, scorer, version in scores]


def scores_of_attempt(session: Session, attempt_id: int) -> list[ScoreDetail]:
    """Every score of one call, newest first."""
    return _details(session, QualityScore.attempt_id == attempt_id)


def scores_of_agent(session: Session, agent: str, campaign_ids: Sequence[int], limit: int = 100) -> list[ScoreDetail]:
    """An agent's own scores in the campaigns they may see, newest first, at most ``limit``."""
    return _details(session, QualityScore.agent == agent, QualityScore.campaign_id.in_(list(campaign_ids)))[:limit]


# ---- what scores add up to ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentQuality:
    """An agent's quality over a period: the mean (0-100) over their scored calls of each call's mean score, and
    how many calls were scored."""

    mean: float
    calls: int


def _call_means(session: Session, campaign_id: int, period: Period) -> list[tuple[str, int, float]]:
    """(agent, attempt id, the mean of the call's scores) for the campaign's calls dialled in ``period``."""
    rows = session.execute(select(QualityScore.agent, QualityScore.attempt_id, func.avg(QualityScore.total))
                           .join(Attempt, Attempt.id == QualityScore.attempt_id)
                           .where(QualityScore.campaign_id == campaign_id, *period.holds(Attempt.dialled_at))
                           .group_by(QualityScore.agent, QualityScore.attempt_id)).all()
    return [(agent, attempt_id, float(mean)) for agent, attempt_id, mean in rows]


def agent_quality(session: Session, campaign_id: int, period: Period = EVERYTHING) -> dict[str, AgentQuality]:
    """Each scored agent's quality, over the calls dialled in ``period`` (as the agents report counts calls)."""
    means: dict[str, list[float]] = defaultdict(list)
    for agent, _, mean in _call_means(session, campaign_id, period):
        means[agent].append(mean)
    return {agent: AgentQuality(sum(values) / len(values), len(values)) for agent, values in means.items()}


@dataclass(frozen=True)
class CriterionSpread:
    """One criterion of a calibrated call: each scorer's value (None: not applicable), and their spread."""

    code: str
    label: str
    values: dict[str, float | None]
    spread: float | None


@dataclass(frozen=True)
class Calibration:
    """A call scored by two or more scorers: their totals, the totals' spread, and each criterion's."""

    attempt_id: int
    agent: str
    totals: dict[str, float]
    total_spread: float
    criteria: tuple[CriterionSpread, ...]


def _calibration(attempt_id: int, scores: list[ScoreDetail]) -> Calibration:
    scores = sorted(scores, key=lambda s: s.scorer)
    labels: dict[str, str] = {}
    for s in sorted(scores, key=lambda s: s.scorecard_version):  # the newest version's words
        labels |= {a.criterion.code: a.criterion.label for a in s.answers}
    criteria = []
    for code, label in labels.items():
        values = {s.scorer: next((a.value for a in s.answers if a.criterion.code == code), None) for s in scores}
        criteria.append(CriterionSpread(code, label, values, spread(list(values.values()))))
    totals = {s.scorer: s.total for s in scores}
    return Calibration(attempt_id, scores[0].agent, totals, max(totals.values()) - min(totals.values()),
                       tuple(criteria))


def calibrations(session: Session, campaign_id: int, period: Period = EVERYTHING,
                 attempt_id: int | None = None) -> list[Calibration]:
    """The campaign's calls dialled in ``period`` (or the one call ``attempt_id``) that two or more scorers
    scored, newest call first."""
    several = (select(QualityScore.attempt_id).join(Attempt, Attempt.id == QualityScore.attempt_id)
               .where(QualityScore.campaign_id == campaign_id, *period.holds(Attempt.dialled_at),
                      *(() if attempt_id is None else (QualityScore.attempt_id == attempt_id,)))
               .group_by(QualityScore.attempt_id).having(func.count() >= 2))
    by_call: dict[int, list[ScoreDetail]] = defaultdict(list)
    for detail in _details(session, QualityScore.attempt_id.in_(several)):
        by_call[detail.attempt_id].append(detail)
    return [_calibration(call, by_call[call]) for call in sorted(by_call, reverse=True)]


# ---- the calls supervisors score ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CallToScore:
    """A connected call of the campaign, as the scoring list shows it: no name or number (those are shown,
    and audited, only when the call is opened: ``open_call``). ``talk_s``: seconds connected."""

    attempt_id: int
    agent: str
    dialled_at: datetime
    talk_s: float
    disposition: str | None
    scores: int


def calls_to_score(session: Session, campaign_id: int, period: Period = EVERYTHING,
                   limit: int = 50) -> list[CallToScore]:
    """The campaign's latest connected calls dialled in ``period``, newest first, with how often each was scored."""
    scored = (select(QualityScore.attempt_id, func.count().label("n")).group_by(QualityScore.attempt_id)
              .subquery())
    rows = session.execute(
        select(Attempt, func.coalesce(scored.c.n, 0)).outerjoin(scored, scored.c.attempt_id == Attempt.id)
        .where(Attempt.campaign_id == campaign_id, Attempt.agent.is_not(None), Attempt.connected_at.is_not(None),
               *period.holds(Attempt.dialled_at))
        .order_by(Attempt.dialled_at.desc(), Attempt.id.desc()).limit(limit)).all()
    return [CallToScore(a.id, a.agent, as_utc(a.dialled_at), _talk_s(a), a.disposition, n)  # type: ignore[arg-type]
            for a, n in rows]


def _talk_s(attempt: Attempt) -> float:
    connected = attempt.connected_at
    return 0.0 if connected is None else max(0.0, ((attempt.hangup_at or connected) - connected).total_seconds())


@dataclass(frozen=True)
class ScoredCall:
    """A call opened for scoring: the attempt, who was called (name and number, as stored: the caller masks
    the number for those who may not see it), and its scores."""

    attempt: CallToScore
    campaign_id: int
    lead_name: str | None
    lead_number: str
    scores: list[ScoreDetail]


def open_call(session: Session, attempt: Attempt, viewer_id: int, now: datetime) -> ScoredCall:
    """A call for a scorer to score or review, the view of the person's name and number audited (``lead_view``,
    purpose ``quality``; the caller commits)."""
    lead = session.get(Lead, attempt.lead_id)
    assert lead is not None
    scores = scores_of_attempt(session, attempt.id)
    record_view(session, viewer_id, lead.id, attempt.campaign_id, now, ViewPurpose.QUALITY)
    call = CallToScore(attempt.id, attempt.agent or "", as_utc(attempt.dialled_at),  # type: ignore[arg-type]
                       _talk_s(attempt), attempt.disposition, len(scores))
    return ScoredCall(call, attempt.campaign_id, lead.name, lead.phone_e164, scores)


# ---- the report ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QualityReport:
    """``dialer quality report``: each agent's quality, and the calibrated calls with each criterion's spread."""

    title: str
    agents: dict[str, AgentQuality]
    calibrations: list[Calibration]

    def text(self) -> str:
        width = max((len(agent) for agent in self.agents), default=5)
        lines = [self.title, f"{'agent'.ljust(width)}  quality  calls scored"]
        lines += [f"{agent.ljust(width)}  {q.mean:7.1f}  {q.calls:12,}" for agent, q in sorted(self.agents.items())]
        if not self.agents:
            lines.append("(no call scored)")
        for c in self.calibrations:
            totals = ", ".join(f"{scorer} {total:.1f}" for scorer, total in c.totals.items())
            lines.append(f"calibration of attempt {c.attempt_id} (agent {c.agent}): {totals}; "
                         f"spread {c.total_spread:.1f} points")
            lines += [f"  {s.code} ({s.label}): spread {'-' if s.spread is None else f'{s.spread:.2f}'}; "
                      + ", ".join(f"{scorer} {'n/a' if v is None else f'{v:g}'}" for scorer, v in s.values.items())
                      for s in c.criteria]
        lines.append("quality: the mean over an agent's scored calls of each call's mean score (0-100); spread: the "
                     "highest less the lowest scorer's value (criteria from 0 to 1)")
        return "\n".join(lines)


def quality_report(session: Session, campaign: Campaign, period: Period = EVERYTHING) -> QualityReport:
    return QualityReport(period.titled(f"Quality: {campaign.name}"), agent_quality(session, campaign.id, period),
                         calibrations(session, campaign.id, period))

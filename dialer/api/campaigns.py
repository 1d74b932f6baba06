"""Campaigns (Genesys Cloud's ``/outbound/campaigns``): create, edit with a version, start, pause, resume,
stop; the catalogue and questionnaire; live statistics.

The states and the actions between them are one table,
``lists.lifecycle.CAMPAIGN_ACTIONS`` (here ``ACTIONS``), so no state is
handled in one place and missed in another.
``completed`` is declared for clients that know it; the daemon does not set it yet.
Settings edits (dial mode and its pacing parameters, cap, attempts) are stored at once and reach a
running engine at the daemon's next start; catalogue edits apply to the next
disposition.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dialer.api.auth import Principal, floor_of, own_company, require, visible
from dialer.api.cards import catalogue_of, questions_of
from dialer.api.errors import Conflict, NotFound
from dialer.api.floor import Floor
from dialer.api.schemas import (
    ERRORS,
    CampaignId,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CatalogueOut,
    ReasonOut,
    StatsOut,
)
from dialer.api.stats import hourly
from dialer.service.floor import floor_counts, occupancy
from dialer.service.users import Role
from lists.audit import record, record_settings, settings_of
from lists.campaigns import create_campaign, edit_campaign
from lists.idle import dialing
from lists.lifecycle import CAMPAIGN_ACTIONS as ACTIONS
from lists.lifecycle import CampaignState
from lists.models import AuditAction, Campaign, CampaignGrant

__all__ = ["router", "ACTIONS", "campaign_out", "catalogue", "create", "edit", "get", "list_campaigns", "pause",
           "resume", "start", "stats", "stop"]

router = APIRouter(prefix="/api/v1/outbound/campaigns", tags=["campaigns"], responses=ERRORS)
Reader = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ANALYST, Role.ADMIN))]
Manager = Annotated[Principal, Depends(require(Role.MANAGER, Role.ADMIN))]


def campaign_out(floor: Floor, c: Campaign) -> CampaignOut:
    return CampaignOut(id=c.id, name=c.name, company=c.company, kind=c.kind, dial_mode=c.dial_mode,
                       abandon_cap=c.abandon_cap, rules_profile=c.rules_profile, max_attempts=c.max_attempts,
                       caller_id=c.caller_id, fresh_share=c.fresh_share, pacing_params=c.pacing_params,
                       state=c.state, version=c.version, **_where(floor, c.id))


def _where(floor: Floor, campaign_id: int) -> dict[str, Any]:
    """``dialing``, ``reasons`` and ``warnings`` of a campaign, from the daemon's one list of reasons."""
    said = floor.reasons(campaign_id)
    return {"dialing": dialing(said), "reasons": [ReasonOut.of(r) for r in said],
            "warnings": [r.text for r in said]}


def _get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", "campaign_id")
    return campaign


@router.get("", response_model=list[CampaignOut])
async def list_campaigns(request: Request, who: Reader) -> list[CampaignOut]:
    floor = floor_of(request)

    def read() -> list[Campaign]:
        with floor.factory() as session:
            found = list(session.scalars(select(Campaign).order_by(Campaign.id)))
            session.expunge_all()
            return found

    return [campaign_out(floor, c) for c in await floor.off_loop(read) if who.sees(c.id)]


@router.post("", response_model=CampaignOut, status_code=201)
async def create(body: CampaignIn, request: Request, who: Manager) -> CampaignOut:
    """A new campaign in state ``initialized`` with its kind's catalogue, in one of the caller's companies (any
    other answers 404 naming ``company``); its creator is granted it."""
    own_company(who, body.company)
    floor = floor_of(request)

    def write() -> Campaign:
        with floor.factory() as session:
            settings = body.model_dump(exclude={"name", "kind"})
            if settings["caller_id"] is None:
                del settings["caller_id"]
            campaign = create_campaign(session, body.name, body.kind, **settings)
            campaign.state = CampaignState.INITIALIZED
            session.add(CampaignGrant(user_id=who.user_id, campaign_id=campaign.id))
            record_settings(session, who.name, floor.now_utc(), campaign, None)
            session.commit()
            session.refresh(campaign)
            session.expunge(campaign)
            return campaign

    campaign = await floor.off_loop(write)
    request.app.state.tokens.entries.clear()  # the creator's grants and the company's campaigns changed
    await floor.campaign_added(campaign.id)
    return campaign_out(floor, campaign)


@router.get("/{campaign_id}", response_model=CampaignOut)
async def get(campaign_id: CampaignId, request: Request, who: Reader) -> CampaignOut:
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> Campaign:
        with floor.factory() as session:
            campaign = _get(session, campaign_id)
            session.expunge(campaign)
            return campaign

    return campaign_out(floor, await floor.off_loop(read))


@router.put("/{campaign_id}", response_model=CampaignOut)
async def edit(campaign_id: CampaignId, body: CampaignPatch, request: Request, who: Manager) -> CampaignOut:
    """Change settings and the catalogue; 409 when ``version`` is not the stored one (re-read, then retry)."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def write() -> Campaign:
        with floor.factory() as session:
            old = _get(session, campaign_id)
            name, before = old.name, settings_of(old)
            bumped = session.execute(update(Campaign).where(Campaign.id == campaign_id,
                                                            Campaign.version == body.version)
                                     .values(version=body.version + 1))
            if not bumped.rowcount:  # type: ignore[attr-defined]
                session.rollback()
                raise Conflict(f"version {body.version} is stale: someone changed the campaign since", "version")
            session.expire_all()
            changes = body.model_dump(exclude_none=True, exclude={"version", "questions", "add_refusal_reasons",
                                                                  "remove_refusal_reasons"})
            campaign = edit_campaign(session, name, add_refusal_reasons=body.add_refusal_reasons,
                                     remove_refusal_reasons=body.remove_refusal_reasons, **changes)
            if body.questions is not None:
                campaign.catalogue = {**campaign.catalogue,
                                      "questions": [q.model_dump() for q in body.questions]}
            record_settings(session, who.name, floor.now_utc(), campaign, before)
            session.commit()
            session.refresh(campaign)
            session.expunge(campaign)
            return campaign

    edited = await floor.off_loop(write)
    request.app.state.campaigns.pop(campaign_id, None)  # dispositions see the new catalogue at once
    return campaign_out(floor, edited)


async def _act(request: Request, who: Principal, campaign_id: int, action: str) -> CampaignOut:
    visible(who, campaign_id)
    floor = floor_of(request)
    allowed, to = ACTIONS[action]

    def check() -> Campaign:
        with floor.factory() as session:
            campaign = _get(session, campaign_id)
            if campaign.state not in allowed:
                raise Conflict(f"cannot {action} a campaign that is {campaign.state}", "state")
            return campaign

    def audit() -> None:
        with floor.factory() as session:
            record(session, who.name, AuditAction.CONTROL, floor.now_utc(), campaign_id, command=action)
            session.commit()

    await floor.off_loop(check)
    await floor.control(campaign_id, to)
    await floor.off_loop(audit)
    return await get(campaign_id, request, who)


@router.post("/{campaign_id}/start", response_model=CampaignOut)
async def start(campaign_id: CampaignId, request: Request, who: Manager) -> CampaignOut:
    """Dial within the campaign's hours."""
    return await _act(request, who, campaign_id, "start")


@router.post("/{campaign_id}/pause", response_model=CampaignOut)
async def pause(campaign_id: CampaignId, request: Request, who: Manager) -> CampaignOut:
    """Launch nothing more; calls in progress go on, agents stay logged in."""
    return await _act(request, who, campaign_id, "pause")


@router.post("/{campaign_id}/resume", response_model=CampaignOut)
async def resume(campaign_id: CampaignId, request: Request, who: Manager) -> CampaignOut:
    return await _act(request, who, campaign_id, "resume")


@router.post("/{campaign_id}/stop", response_model=CampaignOut)
async def stop(campaign_id: CampaignId, request: Request, who: Manager) -> CampaignOut:
    """Stop launching; ``stopping`` until every call and wrap-up is done, then ``stopped``."""
    return await _act(request, who, campaign_id, "stop")


@router.get("/{campaign_id}/catalogue", response_model=CatalogueOut)
async def catalogue(campaign_id: CampaignId, request: Request, who: Reader) -> CatalogueOut:
    """Outcomes, refusal reasons and the survey questionnaire (edit them with PUT on the campaign)."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> CatalogueOut:
        with floor.factory() as session:
            campaign = _get(session, campaign_id)
            outcomes, reasons = catalogue_of(campaign)
            return CatalogueOut(version=campaign.version, outcomes=outcomes, refusal_reasons=reasons,
                                questions=questions_of(campaign))

    return await floor.off_loop(read)  # type: ignore[no-any-return]


@router.get("/{campaign_id}/stats", response_model=StatsOut)
async def stats(campaign_id: CampaignId, request: Request, who: Reader) -> StatsOut:
    """Live figures: the floor now (engine), today's ledger by hour, and the sampled history for charts."""
    visible(who, campaign_id)
    floor = floor_of(request)
    run = floor.campaign_run(campaign_id)
    if run is None:
        raise NotFound(f"campaign {campaign_id} is not running on this daemon", "campaign_id")
    now = floor.now()

    def read() -> tuple[Campaign, Any]:
        with floor.factory() as session:
            campaign = _get(session, campaign_id)
            session.expunge(campaign)
            return campaign, hourly(session, campaign_id, run.zone, now)

    campaign, (hours, reasons) = await floor.off_loop(read)
    engine, today = run.engine, run.standing()
    calls, agents = floor_counts(engine)
    snapshot = engine.snapshot(run.now_s())
    available = engine.pool.available
    attempts = sum(h.attempts for h in hours)
    return StatsOut(
        campaign_id=campaign_id, name=run.name, state=campaign.state, at=now, zone=run.zone,
        dial_level=snapshot.in_flight / available if available else float(snapshot.in_flight),
        calls_in_flight=calls, agents=agents, attempts_today=attempts, live_today=today.live,
        contact_rate=sum(h.contacts for h in hours) / attempts if attempts else 0.0,
        abandoned_today=today.abandoned, abandon_rate=today.rate, abandon_cap=run.cap,
        abandon_budget_calls=today.budget,
        occupancy=occupancy(engine), hourly=hours, history=floor.history.of(campaign_id), refusals_today=reasons,
        recordings_failed_today=sum(h.recordings_failed for h in hours),
        speed=floor.world_speeds(), **_where(floor, campaign_id))

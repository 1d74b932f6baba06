"""Agents: log in to a campaign, ready, pause, log out; the current contact's lead card; the disposition; the
WebSocket that pushes the screen pop and every state change. Supervisors see the floor's agents.

Names follow Amazon Connect (agent status, contact) and Genesys Cloud
(wrap-up code → ``outcome``). Engine inputs are made on the event loop with
the campaign clock's now, so they are ordered with the telephony events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from dialer.api.auth import Principal, authenticate, floor_of, require, visible
from dialer.api.cards import lead_card, to_disposition
from dialer.api.errors import ApiError, Conflict, NotFound
from dialer.api.floor import Floor, RunView
from dialer.api.schemas import (
    ERRORS,
    AgentEvent,
    AgentLoginIn,
    AgentStatusOut,
    CallbackRow,
    CampaignId,
    DispositionIn,
    DispositionOut,
    FloorAgent,
    LeadCard,
    LeadId,
    PauseIn,
)
from dialer.core.agents import AgentState
from dialer.core.calls import IllegalTransition
from dialer.drivers.asterisk import AgentUnreachable
from dialer.service.floor import current_call
from dialer.service.users import Role
from lists.audit import record_view
from lists.lifecycle import LeadStatus
from lists.models import Campaign, Lead, ViewPurpose, as_utc
from lists.numbers import mask_number

__all__ = ["router", "status_of", "events", "campaign_cached", "CAMPAIGN_CACHE_S", "agent_callbacks",
           "agent_contact", "agent_disposition", "agent_hang_up", "agent_login", "agent_logout", "agent_pause",
           "agent_ready", "agent_status", "campaign_callbacks", "floor_agents", "lead"]

CAMPAIGN_CACHE_S = 5.0

router = APIRouter(prefix="/api/v1", tags=["agents"], responses=ERRORS)
Agent = Annotated[Principal, Depends(require(Role.AGENT))]
Watcher = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ADMIN, Role.ANALYST))]
CardReader = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN))]


def _seat(floor: Floor, who: Principal) -> RunView:
    campaign_id = floor.desk.seats.get(who.name)
    run = floor.campaign_run(campaign_id) if campaign_id is not None else None
    if run is None:
        raise Conflict("log in to a campaign first", "campaign_id")
    return run


def status_of(floor: Floor, name: str) -> AgentStatusOut:
    campaign_id = floor.desk.seats.get(name)
    run = floor.campaign_run(campaign_id) if campaign_id is not None else None
    agent = run.engine.pool.agents.get(name) if run else None
    call = current_call(run.engine, name) if run else None
    return AgentStatusOut(agent=name, state=agent.state.value if agent else "off", campaign_id=campaign_id,
                          pause_reason=agent.pause_reason if agent else None, call_id=call.id if call else None,
                          lead_id=call.lead if call else None, now=floor.now())


def _engine_input(action):  # type: ignore[no-untyped-def]
    try:
        action()
    except IllegalTransition as exc:
        raise Conflict(str(exc), "state") from None


@router.post("/agents/me/login", response_model=AgentStatusOut)
async def agent_login(body: AgentLoginIn, request: Request, who: Agent) -> AgentStatusOut:
    """Join a granted campaign whose agents work through the API, ready for calls."""
    floor = floor_of(request)
    visible(who, body.campaign_id)
    run = floor.campaign_run(body.campaign_id)
    if run is None:
        raise NotFound(f"campaign {body.campaign_id} is not running on this daemon", "campaign_id")
    if not floor.api_agents:
        raise Conflict("this daemon's agents are simulated ([sim] agents = \"simulated\")", "campaign_id")
    seated = floor.desk.seats.get(who.name)
    if seated is not None and seated != body.campaign_id:
        raise Conflict(f"already logged in to campaign {seated}; log out first", "campaign_id")
    try:
        await floor.phone_in(who.name)
    except AgentUnreachable as exc:
        raise Conflict(f"your phone did not answer the log-in call: {exc}", "agent") from None
    if floor.desk.seats.get(who.name, body.campaign_id) != body.campaign_id:  # another log-in won meanwhile
        raise Conflict(f"already logged in to campaign {floor.desk.seats[who.name]}; log out first", "campaign_id")
    floor.desk.seats[who.name] = body.campaign_id
    _engine_input(lambda: run.engine.log_in(who.name, run.now_s()))
    return status_of(floor, who.name)


@router.post("/agents/me/ready", response_model=AgentStatusOut)
async def agent_ready(request: Request, who: Agent) -> AgentStatusOut:
    floor = floor_of(request)
    run = _seat(floor, who)
    _engine_input(lambda: run.engine.ready(who.name, run.now_s()))
    return status_of(floor, who.name)


@router.post("/agents/me/pause", response_model=AgentStatusOut)
async def agent_pause(body: PauseIn, request: Request, who: Agent) -> AgentStatusOut:
    """Pause with a reason code; on a call, the pause starts when the wrap-up is done."""
    floor = floor_of(request)
    run = _seat(floor, who)
    _engine_input(lambda: run.engine.pause(who.name, run.now_s(), body.reason))
    return status_of(floor, who.name)


@router.post("/agents/me/logout", response_model=AgentStatusOut)
async def agent_logout(request: Request, who: Agent) -> AgentStatusOut:
    floor = floor_of(request)
    run = _seat(floor, who)
    _engine_input(lambda: run.engine.log_out(who.name, run.now_s()))
    asyncio.get_running_loop().create_task(floor.phone_out(who.name, run))
    return status_of(floor, who.name)


@router.get("/agents/me", response_model=AgentStatusOut)
async def agent_status(request: Request, who: Agent) -> AgentStatusOut:
    return status_of(floor_of(request), who.name)


async def _card(floor: Floor, who: Principal, lead_id: int, call_id: int | None) -> LeadCard:
    def read() -> LeadCard:
        with floor.factory() as session:
            return lead_card(session, who.user_id, lead_id, call_id, who.unmasked, who.name, floor.now_utc())

    return await floor.off_loop(read)  # type: ignore[no-any-return]


@router.get("/agents/me/contact", response_model=LeadCard)
async def agent_contact(request: Request, who: Agent) -> LeadCard:
    """The lead card of the agent's current call (404 with none); each view is audited."""
    floor = floor_of(request)
    run = _seat(floor, who)
    call = current_call(run.engine, who.name)
    if call is None:
        raise NotFound("no current call", "contact")
    return await _card(floor, who, call.lead, call.id)


@router.post("/agents/me/contact/hangup", response_model=AgentStatusOut)
async def agent_hang_up(request: Request, who: Agent) -> AgentStatusOut:
    """End the current conversation; the agent goes to wrap-up (409 with no connected call)."""
    floor = floor_of(request)
    run = _seat(floor, who)
    _engine_input(lambda: run.engine.agent_hang_up(who.name, run.now_s()))
    return status_of(floor, who.name)


@router.post("/agents/me/contact/disposition", response_model=DispositionOut)
async def agent_disposition(body: DispositionIn, request: Request, who: Agent) -> DispositionOut:
    """Close the wrap-up with the outcome; the attempt goes to the ledger and the agent is free."""
    floor = floor_of(request)
    run = _seat(floor, who)
    campaign = await campaign_cached(request, run.campaign_id)
    disposition = to_disposition(campaign, body, who.name, floor.now())  # the body first: 422 names the field
    call = current_call(run.engine, who.name)
    if call is None:
        raise NotFound("no current call", "contact")
    agent = run.engine.pool.agents.get(who.name)
    if agent is None or agent.state is not AgentState.WRAP_UP or current_call(run.engine, who.name) is not call:
        raise Conflict("the call is still connected: the disposition is taken in wrap-up", "state")
    _engine_input(lambda: run.engine.wrap_done(who.name, run.now_s(), disposition))
    return DispositionOut(call_id=call.id, lead_id=call.lead, outcome=body.outcome, state=agent.state.value)


async def campaign_cached(request: Request, campaign_id: int) -> Campaign:
    """The campaign's row (catalogue, kind), kept ``CAMPAIGN_CACHE_S``: a disposition then needs no store read.
    An edit through the API forgets it at once; one from the CLI is seen within that time."""
    cache: dict[int, tuple[float, Campaign]] = request.app.state.campaigns
    hit = cache.get(campaign_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    floor = floor_of(request)
    campaign = await floor.off_loop(_campaign_row, floor, campaign_id)
    cache[campaign_id] = (time.monotonic() + CAMPAIGN_CACHE_S, campaign)
    return campaign  # type: ignore[no-any-return]


def _campaign_row(floor: Floor, campaign_id: int) -> Campaign:
    with floor.factory() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}", "campaign_id")
        session.expunge(campaign)
        return campaign


def _callbacks(floor: Floor, who: Principal, campaign_ids: list[int] | None, owner: str | None) -> list[CallbackRow]:
    """Callbacks, earliest first: names shown to their owner and to whoever sees numbers, each such row audited."""
    named = owner is not None or who.unmasked
    with floor.factory() as session:
        query = select(Lead).where(Lead.status == LeadStatus.CALLBACK).order_by(Lead.next_at)
        if campaign_ids is not None:
            query = query.where(Lead.campaign_id.in_(campaign_ids))
        if owner is not None:
            query = query.where(Lead.callback_owner == owner)
        leads = list(session.scalars(query.limit(1000)))
        if named:
            for lead in leads:
                record_view(session, who.user_id, lead.id, lead.campaign_id, floor.now_utc(), ViewPurpose.CALLBACKS)
            session.commit()
        return [CallbackRow(lead_id=lead.id, owner=lead.callback_owner or "anyone", due_at=as_utc(lead.next_at),  # type: ignore[arg-type]
                            name=lead.name if named else None,
                            number=lead.phone_e164 if who.unmasked else mask_number(lead.phone_e164))
                for lead in leads]


@router.get("/agents/me/callbacks", response_model=list[CallbackRow])
async def agent_callbacks(request: Request, who: Agent) -> list[CallbackRow]:
    """The agent's own booked callbacks in their own campaigns, earliest first (an owner is a name, and a name
    says nothing of the company: another company's agent of the same name books their own)."""
    floor = floor_of(request)
    return await floor.off_loop(_callbacks, floor, who, sorted(who.campaigns),  # type: ignore[no-any-return]
                                who.name)


@router.get("/outbound/campaigns/{campaign_id}/callbacks", response_model=list[CallbackRow])
async def campaign_callbacks(campaign_id: CampaignId, request: Request,
                             who: Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ADMIN))],
                             agent: Annotated[str | None, Query(max_length=64)] = None) -> list[CallbackRow]:
    """Callbacks booked in the campaign, by owner (``anyone``: the first free agent), earliest first."""
    visible(who, campaign_id)
    floor = floor_of(request)
    return await floor.off_loop(_callbacks, floor, who, [campaign_id], agent)  # type: ignore[no-any-return]


@router.get("/agents", response_model=list[FloorAgent])
async def floor_agents(request: Request, who: Watcher,
                       campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> list[FloorAgent]:
    """Every agent on the visible campaigns' floors with their state (simulated agents too)."""
    floor = floor_of(request)
    if campaign_id is not None:
        visible(who, campaign_id)
    out = []
    for cid in sorted(floor.desk_campaigns()):
        run = floor.campaign_run(cid)
        if run is None or not who.sees(cid) or (campaign_id is not None and cid != campaign_id):
            continue
        out += [FloorAgent(agent=a.id, campaign_id=cid, state=a.state.value, pause_reason=a.pause_reason)
                for a in run.engine.pool]
    return out


@router.get("/leads/{lead_id}", response_model=LeadCard)
async def lead(lead_id: LeadId, request: Request, who: CardReader) -> LeadCard:
    """A lead card: an agent only for their own current call or own callback; supervisors, managers and admins
    for granted campaigns (admins: their companies'); analysts never (they read aggregates). Each view is
    audited."""
    floor = floor_of(request)
    if who.role is Role.AGENT:
        run = floor.campaign_run(floor.desk.seats.get(who.name, 0))
        call = current_call(run.engine, who.name) if run else None
        if (call is None or call.lead != lead_id) and not await floor.off_loop(_own_callback, floor, lead_id, who):
            raise NotFound(f"no lead {lead_id} of yours", "lead_id")
        return await _card(floor, who, lead_id, call.id if call and call.lead == lead_id else None)
    campaign_id = await floor.off_loop(_lead_campaign, floor, lead_id)
    if campaign_id is None or not who.sees(campaign_id):
        raise NotFound(f"no lead {lead_id}", "lead_id")
    return await _card(floor, who, lead_id, None)


def _own_callback(floor: Floor, lead_id: int, who: Principal) -> bool:
    """A callback booked for the agent, in a campaign of theirs (an owner's name says nothing of the company)."""
    with floor.factory() as session:
        lead = session.get(Lead, lead_id)
        return (lead is not None and lead.status == LeadStatus.CALLBACK and lead.callback_owner == who.name
                and who.sees(lead.campaign_id))


def _lead_campaign(floor: Floor, lead_id: int) -> int | None:
    with floor.factory() as session:
        return session.scalar(select(Lead.campaign_id).where(Lead.id == lead_id))


async def _send(socket: WebSocket, event: AgentEvent) -> None:
    await socket.send_text(event.model_dump_json())


@router.websocket("/agents/me/events")
async def events(socket: WebSocket) -> None:
    """The agent's state now, then every change; a connected (or previewed) call comes as a ``screen_pop``
    with the lead card. Authenticated by the session cookie or ``Authorization: Bearer``."""
    floor: Floor = socket.app.state.floor
    try:
        who = await authenticate(socket)
    except ApiError as exc:  # 4401: not logged in; 4403: a page of another origin
        await socket.close(code=4000 + exc.status)
        return
    if who.role is not Role.AGENT:
        await socket.close(code=4403)
        return
    await socket.accept()
    queue = floor.desk.listen(who.name)
    shown: int | None = None
    try:
        status = status_of(floor, who.name)
        event = AgentEvent(type="state", agent=who.name, campaign_id=status.campaign_id, state=status.state,
                           pause_reason=status.pause_reason, call_id=status.call_id, lead_id=status.lead_id,
                           at=status.now)
        while True:
            if event.call_id is not None and event.lead_id is not None and event.call_id != shown:
                shown = event.call_id
                card = await _card(floor, who, event.lead_id, event.call_id)
                await _send(socket, event.model_copy(update={"type": "screen_pop", "card": card}))
            else:
                await _send(socket, event)
            event = await queue.get()
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        floor.desk.leave(who.name, queue)
        with contextlib.suppress(Exception):
            await socket.close()




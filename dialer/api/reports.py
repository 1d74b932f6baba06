"""Reports from the attempt ledger: refusals, dispositions, penetration (``lists.reports``), and agent
performance per agent and shift.

Agent occupancy here is talk plus wrap-up over the span from the agent's
first connected call to the end of their last wrap-up in the shift: the
store does not keep log-in times yet, so idle time before the first call and
after the last is not counted (the live figure on ``/stats`` is exact).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from dialer.api.auth import Principal, floor_of, require, visible
from dialer.api.cards import SALE_CODES
from dialer.api.errors import NotFound
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, AgentPerformanceRow, CampaignId, ReportOut, ReportRow
from dialer.service.users import Role
from lists.idle import home_zone
from lists.models import Attempt, Campaign
from lists.reports import REPORTS

__all__ = ["router", "agent_performance", "agents_report", "report"]

router = APIRouter(prefix="/api/v1/outbound/campaigns", tags=["reports"], responses=ERRORS)
Reader = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ANALYST, Role.ADMIN))]


def _campaign(session: Any, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", "campaign_id")
    return campaign  # type: ignore[no-any-return]


@router.get("/{campaign_id}/reports/agents", response_model=list[AgentPerformanceRow])
async def agents_report(campaign_id: CampaignId, request: Request, who: Reader) -> list[AgentPerformanceRow]:
    """Per agent and shift (local date): calls, talk and wrap seconds, occupancy, sales, refusals by reason."""
    visible(who, campaign_id)
    floor = floor_of(request)
    return await floor.off_loop(agent_performance, floor, campaign_id)  # type: ignore[no-any-return]


def agent_performance(floor: Floor, campaign_id: int) -> list[AgentPerformanceRow]:
    with floor.factory() as session:
        campaign = _campaign(session, campaign_id)
        run = floor.campaign_run(campaign_id)
        zone = ZoneInfo(run.zone if run else home_zone(campaign))
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        query = select(Attempt.agent, Attempt.connected_at, Attempt.hangup_at, Attempt.disposition,
                       Attempt.refusal_reason, Attempt.data).where(
            Attempt.campaign_id == campaign_id, Attempt.agent.is_not(None), Attempt.connected_at.is_not(None))
        for agent, connected, hangup, disposition, reason, data in session.execute(query):
            start = connected.replace(tzinfo=ZoneInfo("UTC"))
            talk = max(0.0, ((hangup or connected) - connected).total_seconds())
            wrap = float((data or {}).get("wrap_s", 0.0))
            key = (agent, start.astimezone(zone).date().isoformat())
            begin = start.timestamp()
            row = rows.setdefault(key, {"calls": 0, "talk": 0.0, "wrap": 0.0, "sales": 0, "refusals": {},
                                        "first": begin, "last": begin})
            row["calls"] += 1
            row["talk"] += talk
            row["wrap"] += wrap
            row["sales"] += disposition in SALE_CODES
            if reason:
                row["refusals"][reason] = row["refusals"].get(reason, 0) + 1
            row["first"] = min(row["first"], begin)
            row["last"] = max(row["last"], begin + talk + wrap)
    out = []
    for (agent, shift), r in sorted(rows.items()):
        span = r["last"] - r["first"]
        busy = r["talk"] + r["wrap"]
        out.append(AgentPerformanceRow(agent=agent, shift=shift, calls=r["calls"], talk_s=round(r["talk"], 1),
                                       wrap_s=round(r["wrap"], 1), occupancy=min(1.0, busy / span) if span else 1.0,
                                       sales=r["sales"], refusals=r["refusals"]))
    return out


@router.get("/{campaign_id}/reports/{kind}", response_model=ReportOut)
async def report(campaign_id: CampaignId, kind: Literal["refusals", "dispositions", "penetration"], request: Request,
                 who: Reader) -> ReportOut:
    """The ledger reports of ``dialer report``: refusals by reason, attempts by disposition, list penetration."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> ReportOut:
        with floor.factory() as session:
            r = REPORTS[kind](session, _campaign(session, campaign_id))
            return ReportOut(title=r.title, total=r.total, rows=[ReportRow(code=c, label=label, count=n, share=s)
                                                                 for c, label, n, s in r.rows])

    return await floor.off_loop(read)  # type: ignore[no-any-return]

"""Reports from the attempt ledger and the agents' log (``lists.reports``): refusals, dispositions, penetration,
and agent performance, each over an optional period (``from`` and ``to``, as ``dialer report`` takes them).

Dates are read in the campaign's time zone: the running campaign's, else its rules profile's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from dialer.api.auth import Principal, floor_of, require, visible
from dialer.api.errors import NotFound
from dialer.api.floor import Floor
from dialer.api.schemas import ERRORS, AgentPerformanceRow, CampaignId, ReportOut, ReportRow
from dialer.service.users import Role
from lists.campaigns import home_zone
from lists.models import Campaign
from lists.reports import REPORTS, Period, agents_report, period_of

__all__ = ["router", "agent_performance", "agents_report_out", "report", "From", "To", "campaign_or_404",
           "period_for"]

router = APIRouter(prefix="/api/v1/outbound/campaigns", tags=["reports"], responses=ERRORS)
Reader = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.ANALYST, Role.ADMIN))]
# what ``lists.reports.period_of`` reads: a date, or a date and time to the minute, second or microsecond with an
# optional offset; anything else is refused with a 422 before the report is read
MOMENT = (r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
          r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")
From = Annotated[str | None, Query(alias="from", pattern=MOMENT, description="YYYY-MM-DD, or an ISO date and time",
                                   examples=["2026-11-02", "2026-11-02T09:00", "2026-11-02T09:00:00+01:00"])]
To = Annotated[str | None, Query(alias="to", pattern=MOMENT,
                                 description="YYYY-MM-DD (the whole day), or an ISO date and time")]


def campaign_or_404(session: Any, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", "campaign_id")
    return campaign  # type: ignore[no-any-return]


def period_for(floor: Floor, campaign: Campaign, start: str | None, end: str | None) -> Period:
    run = floor.campaign_run(campaign.id)
    return period_of(start, end, run.zone if run else home_zone(campaign))


@router.get("/{campaign_id}/reports/agents", response_model=list[AgentPerformanceRow])
async def agents_report_out(campaign_id: CampaignId, request: Request, who: Reader, start: From = None,
                            end: To = None) -> list[AgentPerformanceRow]:
    """Per agent: calls, calls per logged-in hour, time in each state (waiting for a call, talk, wrap-up, pauses by
    reason), occupancy (talk and wrap-up over logged-in time less pauses), contacts, sales, refusals, conversion,
    quality (the mean score of their scored calls, and how many)."""
    visible(who, campaign_id)
    floor = floor_of(request)
    return await floor.off_loop(agent_performance, floor, campaign_id, start, end)  # type: ignore[no-any-return]


def agent_performance(floor: Floor, campaign_id: int, start: str | None = None,
                      end: str | None = None) -> list[AgentPerformanceRow]:
    with floor.factory() as session:
        campaign = campaign_or_404(session, campaign_id)
        report = agents_report(session, campaign, period_for(floor, campaign, start, end), floor.now())
    return [AgentPerformanceRow(
        agent=row.agent, calls=row.calls, calls_per_hour=row.calls_per_hour, logged_in_s=row.logged_in_s,
        waiting_s=row.waiting_s,
        talk_s=row.talk_s, wrap_s=row.wrap_s, paused_s=row.paused_s, occupancy=row.occupancy,
        contacts=row.contacts, sales=row.sales, refusals=row.refusals, conversion=row.conversion,
        quality=row.quality, quality_calls=row.quality_calls)
        for row in report.rows]


@router.get("/{campaign_id}/reports/{kind}", response_model=ReportOut)
async def report(campaign_id: CampaignId, kind: Literal["refusals", "dispositions", "penetration"], request: Request,
                 who: Reader, start: From = None, end: To = None) -> ReportOut:
    """The ledger reports of ``dialer report``: refusals by reason, attempts by disposition, list penetration."""
    visible(who, campaign_id)
    floor = floor_of(request)

    def read() -> ReportOut:
        with floor.factory() as session:
            campaign = campaign_or_404(session, campaign_id)
            r = REPORTS[kind](session, campaign, period_for(floor, campaign, start, end))
            return ReportOut(title=r.title, total=r.total, rows=[ReportRow(code=c, label=label, count=n, share=s)
                                                                 for c, label, n, s in r.rows])

    return await floor.off_loop(read)  # type: ignore[no-any-return]

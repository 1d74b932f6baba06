"""Why a campaign is not dialling, and what else is wrong with it: one named reason each, decided in one place.

Why one place: the wallboard, ``/stats``, the daemon's log and ``dialer
campaign show`` all answer "why is nothing dialled?", and a campaign idle
in silence (agents ready, no lead due, ``"warnings": []``) is what happens
when each of them answers on its own. ``reasons`` takes what is known of a
campaign (``Facts``) and names every reason, in the same order and words for
all of them; a fact the asker cannot know is None and names nothing (the CLI
has only the store: no agents, no telephony, no ledger in memory).

A reason either keeps the campaign from dialling (``Reason.stops``: its
state, its hours, no agent, no lead, the lease, the driver) or is a warning
while it dials (over its cap, its budget spent, stale DNC copies, calls in
flight with nobody to take them). The budget is spent when today's abandons
have reached the cap's share of today's live answers (``Standing.budget``
0), not when less than one call is left: early in a day, with a few answers
and the AMD false-positive estimate, that is always so, and says nothing. Times are aware; their words are in the
campaign's zone, named.

The store's side (``queue_outlook``, ``lease_holder``, ``store_reasons``)
reads the lead queues and the lease table; the daemon reads the same queues
on its claim thread (``dialer.service.store_ports.ClaimBuffer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from lists.campaigns import home_zone
from lists.lifecycle import QUEUES, CampaignState, LeadStatus
from lists.models import Campaign, CampaignLease, Lead, as_utc, to_db
from lists.rules import CallingProfile, in_window, next_open
from lists.selection import profile_for
from pacing.ledger import Standing
from pacing.registry import POLICIES

__all__ = ["Why", "Reason", "WORDS", "STOPS", "STATE_REASONS", "FloorNow", "Outlook", "Facts", "reasons",
           "dialing", "window", "queue_outlook", "lease_holder", "store_reasons"]


class Why(StrEnum):
    """A reason a campaign is not dialling (``STOPS``), or a warning about it while it dials."""

    NOT_HERE = "not_here"
    LEASE_ELSEWHERE = "lease_elsewhere"
    NOT_STARTED = "not_started"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    COMPLETED = "completed"
    SHUTTING_DOWN = "shutting_down"
    HANDING_OVER = "handing_over"
    WINDOW_CLOSED = "window_closed"
    DRIVER_DOWN = "driver_down"
    DRIVER_PARTLY_DOWN = "driver_partly_down"
    NO_AGENT_READY = "no_agent_ready"
    LIST_EXHAUSTED = "list_exhausted"
    NO_LEAD_DUE = "no_lead_due"
    OVER_CAP = "over_cap"
    BUDGET_SPENT = "budget_spent"
    UNATTENDED_CALLS = "unattended_calls"
    DNC_STALE = "dnc_stale"
    NO_COUNTRIES = "no_countries"

    __hash__ = str.__hash__


WORDS: dict[Why, str] = {
    Why.NOT_HERE: "not running on this daemon",
    Why.LEASE_ELSEWHERE: "lease held by another daemon: {detail}",
    Why.NOT_STARTED: "not started: a manager starts it",
    Why.PAUSED: "paused by a manager",
    Why.STOPPING: "stopping: waiting for calls in progress to end",
    Why.STOPPED: "stopped by a manager",
    Why.COMPLETED: "completed",
    Why.SHUTTING_DOWN: "the daemon is shutting down: calls in progress end, nothing new is dialled",
    Why.HANDING_OVER: "being handed over to another daemon: calls in progress end first",
    Why.WINDOW_CLOSED: "calling window closed until {until}",
    Why.DRIVER_DOWN: "driver down: Asterisk not connected ({detail})",
    Why.DRIVER_PARTLY_DOWN: "driver partly down: Asterisk {detail} not connected; calls go through the others",
    Why.NO_AGENT_READY: "no agent ready: {detail}",
    Why.LIST_EXHAUSTED: "list exhausted: every lead is done, on a do-not-call list, or set aside because the "
                        "window never opens in all its time zones",
    Why.NO_LEAD_DUE: "no lead due before {until}",
    Why.OVER_CAP: "over its abandonment cap: {detail}",
    Why.BUDGET_SPENT: "abandonment cap budget spent today: {detail}",
    Why.UNATTENDED_CALLS: "{detail} in flight with no agent ready or working: an answer will be abandoned",
    Why.DNC_STALE: "DNC registry copy stale: {detail}",
    Why.NO_COUNTRIES: "no countries to call: each person is dialled under their own country's rules, so set "
                      "those it may call (dialer campaign edit NAME --countries FR,NL)",
}
"""Each reason in words: ``{until}`` is a moment in the campaign's zone, ``{detail}`` the reason's own."""

STOPS = frozenset(WORDS) - {Why.OVER_CAP, Why.BUDGET_SPENT, Why.UNATTENDED_CALLS, Why.DNC_STALE,
                            Why.DRIVER_PARTLY_DOWN}
"""The reasons that keep a campaign from dialling; the others are warnings while it dials."""

STATE_REASONS: dict[CampaignState, Why | None] = {
    CampaignState.INITIALIZED: Why.NOT_STARTED,
    CampaignState.RUNNING: None,
    CampaignState.PAUSED: Why.PAUSED,
    CampaignState.STOPPING: Why.STOPPING,
    CampaignState.STOPPED: Why.STOPPED,
    CampaignState.COMPLETED: Why.COMPLETED,
}
"""What each campaign state says (None: it dials, as far as its state goes)."""


@dataclass(frozen=True)
class Reason:
    """One reason, with the moment it lifts (``until``, aware) or its own ``detail``, and the zone its words
    give times in."""

    why: Why
    until: datetime | None = None
    detail: str = ""
    zone: str = "UTC"

    @property
    def stops(self) -> bool:
        return self.why in STOPS

    @property
    def text(self) -> str:
        until = (f"{self.until.astimezone(ZoneInfo(self.zone)):%Y-%m-%d %H:%M} {self.zone}"
                 if self.until is not None else "a time not known within two weeks")
        return WORDS[self.why].format(until=until, detail=self.detail)


@dataclass(frozen=True)
class FloorNow:
    """A campaign's floor as its engine holds it: agents logged in, ready to be dialled for (not about to
    leave), working (on a call, in wrap-up, holding a preview), and calls launched that no agent has yet."""

    logged_in: int
    ready: int
    working: int
    in_flight: int

    @property
    def quiet(self) -> bool:
        """Nothing going on: no call in flight, no agent working."""
        return not (self.in_flight or self.working)


@dataclass(frozen=True)
class Outlook:
    """The campaign's lead queues: the earliest ``next_at`` among its open leads (aware UTC; None when no lead
    is open) and whether any lead is claimed (in a buffer or being dialled)."""

    next_due: datetime | None
    claimed: bool

    @property
    def exhausted(self) -> bool:
        return self.next_due is None and not self.claimed


@dataclass(frozen=True)
class Facts:
    """What is known of one campaign at ``now`` (aware); None (or empty) where the asker cannot know it.

    ``here``: this daemon runs it (the CLI: True, it asks of the store; False: nothing else is known);
    ``holder``: the daemon holding its lease (another than the asker); ``window_closed``: its hours are
    closed (``window_opens``: when they open, None if not within two weeks); ``servers_down``: the
    Asterisk servers not connected, of ``servers`` (the sim driver has none)."""

    now: datetime
    zone: str
    state: CampaignState
    dial_mode: str
    here: bool = True
    holder: str | None = None
    shutting_down: bool = False
    handing_over: bool = False
    window_closed: bool = False
    window_opens: datetime | None = None
    servers: int = 0
    servers_down: tuple[str, ...] = ()
    floor: FloorNow | None = None
    outlook: Outlook | None = None
    standing: Standing | None = None
    stale_dnc: tuple[str, ...] = ()
    countries: tuple[str, ...] | None = None  # those it may call (None: not known to the asker)


def reasons(facts: Facts) -> list[Reason]:
    """Every reason ``facts`` show, those that stop dialling first (the first is why it is idle)."""
    found = [*_stopping(facts), *_warnings(facts)]
    return [Reason(why, until, detail, facts.zone) for why, until, detail in found]


def dialing(said: list[Reason]) -> bool:
    """Does the campaign dial, or may it dial at once: nothing it was told keeps it from dialling."""
    return not any(reason.stops for reason in said)


_Found = tuple[Why, datetime | None, str]


def _stopping(facts: Facts) -> list[_Found]:
    """The first reason that stops it outright (the lease, its state, the daemon, its hours), else every one of
    those found on the open floor (telephony, agents, leads)."""
    found: list[_Found] = [] if facts.holder is None else [(Why.LEASE_ELSEWHERE, None, facts.holder)]
    if not facts.here:
        return found or [(Why.NOT_HERE, None, "")]
    state = STATE_REASONS[facts.state]
    if state is not None:
        return [*found, (state, None, "")]
    if facts.countries == ():
        return [*found, (Why.NO_COUNTRIES, None, "")]
    for flag, why in ((facts.shutting_down, Why.SHUTTING_DOWN), (facts.handing_over, Why.HANDING_OVER)):
        if flag:
            return [*found, (why, None, "")]
    if facts.window_closed:
        return [*found, (Why.WINDOW_CLOSED, facts.window_opens, "")]
    if facts.servers_down and len(facts.servers_down) == facts.servers:
        found.append((Why.DRIVER_DOWN, None, ", ".join(facts.servers_down)))
    return found + _agents(facts.floor) + _leads(facts)


def _agents(floor: FloorNow | None) -> list[_Found]:
    """No agent to dial for, and none at work: nobody logged in, or all paused (or about to leave)."""
    if floor is None or floor.ready or floor.working:
        return []
    detail = "none logged in" if not floor.logged_in else f"{floor.logged_in} logged in, all paused or leaving"
    return [(Why.NO_AGENT_READY, None, detail)]


def _leads(facts: Facts) -> list[_Found]:
    """No lead to dial now, while nothing else goes on (a busy floor has its calls)."""
    outlook = facts.outlook
    if outlook is None or (facts.floor is not None and not facts.floor.quiet):
        return []
    if outlook.exhausted:
        return [(Why.LIST_EXHAUSTED, None, "")]
    if outlook.next_due is not None and outlook.next_due > facts.now:
        return [(Why.NO_LEAD_DUE, outlook.next_due, "")]
    return []


def _warnings(facts: Facts) -> list[_Found]:
    found: list[_Found] = [(Why.DNC_STALE, None, entry) for entry in facts.stale_dnc]
    if facts.servers_down and len(facts.servers_down) < facts.servers:
        found.append((Why.DRIVER_PARTLY_DOWN, None, ", ".join(facts.servers_down)))
    floor, today = facts.floor, facts.standing
    if floor is not None and floor.in_flight and not (floor.ready or floor.working):
        found.append((Why.UNATTENDED_CALLS, None, f"{floor.in_flight} call{'s' * (floor.in_flight != 1)}"))
    if today is None or not today.live:
        return found
    if today.rate > today.cap:
        found.append((Why.OVER_CAP, None, f"{today.rate:.1%} of today's live answers abandoned "
                                          f"({today.abandoned:.0f} of {today.live:.0f}), cap {today.cap:.1%}"))
    if today.abandoned and not today.budget and facts.state is CampaignState.RUNNING:
        found.append((Why.BUDGET_SPENT, None, POLICIES[facts.dial_mode].spent))
    return found


# ---- what the store knows ------------------------------------------------------------------------------------

def window(profile: CallingProfile, zone: str, now: datetime) -> tuple[bool, datetime | None]:
    """(closed, when it opens) for the profile's window in ``zone`` at ``now``; (False, None) when open."""
    if in_window(profile, (zone,), now):
        return False, None
    return True, next_open(profile, (zone,), now)


def queue_outlook(session: Session, campaign_id: int) -> Outlook:
    """The earliest due time among the campaign's open leads, and whether any is claimed: one small query per
    queue on the ``(campaign_id, status, next_at)`` index."""
    def earliest(status: LeadStatus):  # type: ignore[no-untyped-def]
        return (select(func.min(Lead.next_at)).where(Lead.campaign_id == campaign_id, Lead.status == status)
                .scalar_subquery())

    claimed = exists().where(Lead.campaign_id == campaign_id, Lead.status == LeadStatus.CLAIMED)
    row = session.execute(select(*(earliest(status) for status in QUEUES), claimed)).one()
    dues = [due for due in row[:-1] if due is not None]
    return Outlook(as_utc(min(dues)) if dues else None, bool(row[-1]))


def lease_holder(session: Session, campaign_id: int, now: datetime, me: str | None = None) -> str | None:
    """The daemon whose lease on the campaign is live at ``now`` (by the asker's clock: a few seconds of skew
    only move when a lapsed lease stops being named), unless it is ``me``; None when none holds it."""
    owner = session.scalar(select(CampaignLease.owner).where(
        CampaignLease.campaign_id == campaign_id, CampaignLease.owner.is_not(None),
        CampaignLease.expires_at > to_db(now)))
    return owner if owner != me else None


def store_reasons(session: Session, campaign: Campaign, now: datetime) -> list[Reason]:
    """The reasons the store alone can give (``dialer campaign show``): the campaign's state, the lease another
    daemon holds, its hours in its profile's zone, an exhausted list, no lead due before a time."""
    zone = home_zone(campaign)
    closed, opens = window(profile_for(campaign), zone, now)
    return reasons(Facts(now, zone, campaign.state, campaign.dial_mode, holder=lease_holder(session, campaign.id, now),
                         window_closed=closed, window_opens=opens, outlook=queue_outlook(session, campaign.id),
                         countries=tuple(campaign.countries)))

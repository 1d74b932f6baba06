"""What the API needs of the running daemon (``Floor``), and the desk of API agents (``AgentDesk``).

Why a port: the routers must stay thin and testable, and must not reach into
the daemon's internals. The daemon implements ``Floor``; the API reads its
engines on the event loop (no locks: one loop owns every engine) and runs
store work on a thread (``off_loop``), so the loop never waits on the store.

``AgentDesk`` is the engine's ``AgentConsole`` for agents who work through
the API (``[sim] agents = "api"``): each state change the engine reports is
kept as the agent's latest event and pushed to the agent's open WebSockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from dialer.api.schemas import AgentEvent
from dialer.core.agents import Agent, AgentState
from dialer.core.calls import Call
from dialer.core.engine import Engine
from dialer.service.floor import History
from dialer.service.http import Response
from dialer.service.schedule import Speeds
from lists.idle import Reason
from lists.lifecycle import CampaignState
from pacing.ledger import Standing

__all__ = ["Floor", "RunView", "AgentDesk", "DeskConsole"]

_QUEUE_MAX = 256  # events a slow WebSocket may fall behind by before it is dropped


class RunView(Protocol):
    """One running campaign, as the API sees it (``dialer.service.daemon.CampaignRun``)."""

    name: str
    campaign_id: int
    cap: float
    zone: str
    state: CampaignState
    engine: Engine
    recorder: Any

    def now_s(self) -> float: ...

    def standing(self) -> Standing:
        """Today's live answers and abandons against the cap, from the campaign's ledger."""
        ...


class Floor(Protocol):
    """The daemon, as the API sees it."""

    factory: sessionmaker[Session]
    desk: AgentDesk
    api_agents: bool
    cors_origins: tuple[str, ...]
    history: History
    rejects_dir: Path

    def campaign_run(self, campaign_id: int) -> RunView | None: ...

    def desk_campaigns(self) -> list[int]:
        """Ids of the campaigns running on this daemon."""
        ...

    def now(self) -> datetime:
        """The world's time: campaign hours, callbacks, today's figures (the simulated clock on the sim driver)."""
        ...

    def now_utc(self) -> datetime:
        """The real time: token and session expiry, the audit log."""
        ...

    async def off_loop(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    async def control(self, campaign_id: int, state: CampaignState) -> None: ...

    async def phone_in(self, agent: str) -> None:
        """Call and hold the agent's phone before they take calls (Asterisk); raises AgentUnreachable."""
        ...

    async def phone_out(self, agent: str, run: RunView) -> None:
        """Hang up the agent's held line once the engine has them off (after a call and its wrap-up)."""
        ...

    async def campaign_added(self, campaign_id: int) -> None: ...

    def reasons(self, campaign_id: int) -> list[Reason]:
        """Why the campaign is not dialling, and its warnings (``lists.idle``)."""
        ...

    def world_speeds(self) -> Speeds | None:
        """A simulated world's speeds (asked, current, achieved); None on real telephony."""
        ...

    async def livez(self) -> Response: ...

    async def readyz(self) -> Response: ...

    async def metrics_page(self) -> Response: ...


class DeskConsole:
    """One campaign's ``AgentConsole``: the engine's state changes, to the desk."""

    def __init__(self, desk: AgentDesk, campaign_id: int, moment: Callable[[float], datetime]):
        self.desk, self.campaign_id, self.moment = desk, campaign_id, moment

    def agent_changed(self, agent: Agent, call: Call | None, now_s: float) -> None:
        on_call = call is not None and agent.state in (AgentState.RESERVED, AgentState.TALKING, AgentState.WRAP_UP)
        self.desk.publish(AgentEvent(
            type="state", agent=agent.id, campaign_id=self.campaign_id, state=agent.state.value,
            pause_reason=agent.pause_reason, call_id=call.id if on_call and call else None,
            lead_id=call.lead if on_call and call else None, at=self.moment(now_s)))


class AgentDesk:
    """API agents: the campaign each is seated in, their latest event, and their WebSockets' queues."""

    def __init__(self) -> None:
        self.seats: dict[str, int] = {}
        self.last: dict[str, AgentEvent] = {}
        self.listeners: dict[str, set[asyncio.Queue[AgentEvent]]] = {}

    def console(self, campaign_id: int, moment: Callable[[float], datetime]) -> DeskConsole:
        return DeskConsole(self, campaign_id, moment)

    def publish(self, event: AgentEvent) -> None:
        self.last[event.agent] = event
        if event.state == AgentState.OFF.value:
            self.seats.pop(event.agent, None)
        for queue in list(self.listeners.get(event.agent, ())):
            if queue.qsize() >= _QUEUE_MAX:
                self.listeners[event.agent].discard(queue)
                continue
            queue.put_nowait(event)

    def listen(self, agent: str) -> asyncio.Queue[AgentEvent]:
        queue: asyncio.Queue[AgentEvent] = asyncio.Queue()
        self.listeners.setdefault(agent, set()).add(queue)
        return queue

    def leave(self, agent: str, queue: asyncio.Queue[AgentEvent]) -> None:
        self.listeners.get(agent, set()).discard(queue)

"""The agents' log kept by the daemon: every log-in, pause, return and log-out, appended to the store.

Why on the console port: the engine already tells its ``AgentConsole``
every change of an agent's state, at the moment it takes effect (a pause
asked for on a call starts when the wrap-up ends). ``PresenceLog`` sits
between the engine and the agents' real screen (the API desk, or the sim
driver's agents), so the core stays free of I/O and both kinds of agents are
logged alike. Of the engine's states only presence is kept: talk and
wrap-up are in the attempt ledger already.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dialer.core.agents import Agent, AgentState
from dialer.core.calls import Call
from dialer.core.ports import AgentConsole
from dialer.service.cluster import Fence
from dialer.service.store_ports import Writer
from lists.lifecycle import Presence
from lists.presence import PresenceChange, Where

__all__ = ["PresenceLog", "WHERE", "CHANGES"]

WHERE: dict[AgentState, Where] = {
    AgentState.OFF: Where.OFF, AgentState.PAUSED: Where.PAUSED, AgentState.READY: Where.IN,
    AgentState.RESERVED: Where.IN, AgentState.TALKING: Where.IN, AgentState.WRAP_UP: Where.IN,
}
"""Each engine state as presence: every state but off and paused is logged in and taking calls."""

CHANGES: dict[tuple[Where, Where], tuple[Presence, ...]] = {
    (Where.OFF, Where.IN): (Presence.LOG_IN,),
    (Where.OFF, Where.PAUSED): (Presence.LOG_IN, Presence.PAUSE),
    (Where.IN, Where.PAUSED): (Presence.PAUSE,),
    (Where.PAUSED, Where.IN): (Presence.READY,),
    (Where.IN, Where.OFF): (Presence.LOG_OUT,),
    (Where.PAUSED, Where.OFF): (Presence.LOG_OUT,),
}
"""What the log says for each move between presences; staying put says nothing."""


class PresenceLog:
    """An ``AgentConsole`` that appends each change of presence to the agents' log, then shows the change on
    the agent's ``screen``. ``moment`` turns engine seconds into the aware moment stored."""

    def __init__(self, screen: AgentConsole, writer: Writer, campaign_id: int, moment: Callable[[float], datetime],
                 fence: Fence | None = None):
        self.screen, self.writer, self.campaign_id, self.moment, self.fence = screen, writer, campaign_id, moment, fence
        self.where: dict[str, Where] = {}

    def agent_changed(self, agent: Agent, call: Call | None, now_s: float) -> None:
        self._log(agent.id, WHERE[agent.state], agent.pause_reason, now_s)
        self.screen.agent_changed(agent, call, now_s)

    def sign_out_all(self, now_s: float) -> int:
        """Log out every agent still logged in (the daemon stops dialing the campaign); how many there were."""
        present = [agent for agent, where in self.where.items() if where is not Where.OFF]
        for agent in present:
            self._log(agent, Where.OFF, None, now_s)
        return len(present)

    def _log(self, agent: str, now: Where, reason: str | None, now_s: float) -> None:
        for event in CHANGES.get((self.where.get(agent, Where.OFF), now), ()):
            self.writer.presence(PresenceChange(self.campaign_id, agent, self.moment(now_s), event,
                                                reason if event is Presence.PAUSE else None), self.fence)
        self.where[agent] = now

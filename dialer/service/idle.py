"""The daemon's side of the idle reasons (``lists.idle``): what it knows of a running campaign, and one log line
each time a campaign's reasons change.

Why here: the facts (the engine's floor, the claim buffer's outlook, the
ledger's standing, the campaign's hours, the telephony) live in the
daemon's run; the reasons themselves, and their words, are decided once in
``lists.idle`` for the daemon and the CLI alike. The log says a change, not
every look: the daemon looks twice a second.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from dialer.drivers.asterisk import ServerStatus
from dialer.service.assembly import CampaignRun
from dialer.service.floor import floor_now
from lists.idle import Facts, Reason, Why, dialing
from lists.rules import next_open

__all__ = ["run_facts", "ReasonLog", "WARNS"]

log = logging.getLogger("dialer.service.daemon")

WARNS = frozenset({Why.OVER_CAP, Why.BUDGET_SPENT, Why.UNATTENDED_CALLS, Why.DRIVER_DOWN, Why.DRIVER_PARTLY_DOWN,
                   Why.DNC_STALE})
"""Reasons logged as warnings: the law's cap, calls no one will take, telephony down, a stale DNC copy."""


def run_facts(run: CampaignRun, now: datetime, shutting_down: bool, servers: Sequence[ServerStatus],
              stale_dnc: tuple[str, ...]) -> Facts:
    """What the daemon knows of one of its campaigns at ``now`` (the world's time): a closed engine whose
    state, daemon and hand-over let it dial is closed by its hours; ``servers``: the Asterisk servers (none on
    the sim driver, whose telephony is in the process)."""
    closed = not run.engine.dialing
    return Facts(now, run.zone, run.state, run.dial_mode, shutting_down=shutting_down, handing_over=run.leaving,
                 window_closed=closed, window_opens=next_open(run.profile, (run.zone,), now) if closed else None,
                 servers=len(servers), servers_down=tuple(s.name for s in servers if not s.connected),
                 floor=floor_now(run.engine), outlook=run.leads.outlook,
                 standing=run.standing(), stale_dnc=stale_dnc, countries=run.countries)


class ReasonLog:
    """One structured line per change of a campaign's reasons (their kinds: a due time moving is no change).
    A campaign that dials from its first look says nothing; the words carry times, counts and daemon names,
    never a person."""

    def __init__(self) -> None:
        self.said: dict[int, tuple[Why, ...]] = {}

    def tell(self, campaign: str, campaign_id: int, reasons: list[Reason]) -> None:
        kinds = tuple(reason.why for reason in reasons)
        before = self.said.get(campaign_id)
        if kinds == before or (before is None and not kinds):
            self.said[campaign_id] = kinds
            return
        self.said[campaign_id] = kinds
        words = [reason.text for reason in reasons]
        on = dialing(reasons)
        level = logging.WARNING if WARNS.intersection(kinds) else logging.INFO
        log.log(level, "campaign %s %s", campaign, ("dialling" if on else "not dialling") + (
            ": " + "; ".join(words) if words else ": nothing in the way"), extra={
            "event": "campaign_reasons", "campaign": campaign, "dialing": on,
            "reasons": [kind.value for kind in kinds], "words": words})

    def forget(self, campaign_id: int) -> None:
        """A campaign this daemon no longer runs: its next run starts afresh."""
        self.said.pop(campaign_id, None)

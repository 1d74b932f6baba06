"""A lead's status and a campaign's state: each word declared once, with the table of its legal moves.

Why one module: the store's queries, the daemon, the API, the reports and
the simulator's list all name these states. Spelt as string literals in
each, a misspelt status would be stored without a word and its lead never
claimed again, and a path could move a lead where no other path expects it;
here every status is a member, every move a row of a table, and
``move_lead`` refuses any other, naming both statuses. Pure Python, no
SQLAlchemy: the layers above ``lists`` (and the simulator) import it
without the store.

A lead's life (``LEAD_MOVES``)::

    NEW ──────┐                    ┌─> RETRY ──────┐
    RETRY ────┼─claim─> CLAIMED ───┼─> CALLBACK ───┴─claim─> CLAIMED ...
    CALLBACK ─┘           │        ├─> DONE
                          │        └─> DNC ─(number taken off the own list)─> NEW | RETRY
                          └─release (never dialled)─> the queue it came from
    NEW | RETRY | CALLBACK ─(no window ever opens in all its zones)─> NO_WINDOW ─(zone given)─> NEW | RETRY
    RETRY | DONE ─(a callback booked on a call a takeover had written as interrupted)─> CALLBACK

A claim closes an open lead it may never dial (DONE or DNC), and sets aside
one whose calling window never opens in all its candidate zones (NO_WINDOW,
as the import does); a number joining the company's DNC list closes every
lead of it, whatever its status. A call in progress when another daemon
took its campaign over moved its lead on as "interrupted" (to RETRY, or DONE
on its last attempt); its real result, handed over by the paused daemon,
moves the lead on from there (``lists.handover``), to a callback too.

A campaign's states and the API's actions between them (``CAMPAIGN_ACTIONS``)::

    initialized ─start─> running ─pause─> paused ─resume─> running
    running | paused ─stop─> stopping ──(calls and wrap-ups done: the daemon)──> stopped ─start─> running

``completed`` is declared for clients that know it; the daemon does not set it yet.

An agent's presence as the store keeps it (``Presence``): log in, pause with a reason, ready again, log out.
"""

from __future__ import annotations

from enum import StrEnum

from dialer.errors import IllegalTransition

__all__ = ["LeadStatus", "QUEUES", "CLOSED", "LEAD_MOVES", "move_lead", "moving_to", "requeued", "reopened",
           "CampaignState", "CAMPAIGN_ACTIONS", "Presence"]


class LeadStatus(StrEnum):
    """Where a lead is in its campaign: the store's ``lead.status`` values.

    A ``StrEnum``, so a member is the very string the column holds and compares equal to it."""

    NEW = "new"  # never dialled, waiting in the fresh queue
    CLAIMED = "claimed"  # taken by a claim: buffered for a dial, or being dialled
    RETRY = "retry"  # dialled, due again at its ``next_at``
    CALLBACK = "callback"  # a person booked a call back at ``next_at``
    DONE = "done"  # finished: reached, invalid, or out of attempts
    DNC = "dnc"  # its number is on a do-not-call list
    NO_WINDOW = "no_window"  # set aside: the calling window never opens in all its candidate zones at once
    ERASED = "erased"  # the person's name, number and fields were erased (on request, or past retention)

    __hash__ = str.__hash__  # equal members and strings must hash alike


_L = LeadStatus
QUEUES: tuple[LeadStatus, ...] = (_L.CALLBACK, _L.RETRY, _L.NEW)
"""The open statuses: the queues a claim takes leads from, in the order it serves them
(``lists.rules.take_in_priority``). A number on a DNC list overrides them in reports: the claim would close it."""
CLOSED = frozenset({_L.DONE, _L.DNC, _L.NO_WINDOW, _L.ERASED})
"""Statuses no claim takes: the lead is never dialled again (unless its number leaves the DNC list, or a lead
set aside for its zones gets one: ``reopened``)."""

LEAD_MOVES: dict[LeadStatus, frozenset[LeadStatus]] = {  # a lead being dialled (CLAIMED) is erased after its call
    _L.NEW: frozenset({_L.CLAIMED, _L.DONE, _L.DNC, _L.NO_WINDOW, _L.ERASED}),
    _L.RETRY: frozenset({_L.CLAIMED, _L.CALLBACK, _L.DONE, _L.DNC, _L.NO_WINDOW, _L.ERASED}),
    _L.CALLBACK: frozenset({_L.CLAIMED, _L.DONE, _L.DNC, _L.NO_WINDOW, _L.ERASED}),
    _L.CLAIMED: frozenset({_L.NEW, _L.RETRY, _L.CALLBACK, _L.DONE, _L.DNC}),
    _L.DONE: frozenset({_L.CALLBACK, _L.DNC, _L.ERASED}),
    _L.DNC: frozenset({_L.NEW, _L.RETRY, _L.ERASED}),
    _L.NO_WINDOW: frozenset({_L.NEW, _L.RETRY, _L.DNC, _L.ERASED}),
    _L.ERASED: frozenset(),
}


def move_lead(current: str, to: LeadStatus, lead: object = None) -> LeadStatus:
    """``to``, when ``LEAD_MOVES`` lets a lead in ``current`` move there; else ``IllegalTransition`` naming both
    (and ``lead``, when given). ``current`` may be the stored string: it is read as its member."""
    if to not in LEAD_MOVES[LeadStatus(current)]:
        who = "lead" if lead is None else f"lead {lead}"
        raise IllegalTransition(f"{who}: {LeadStatus(current).value} -> {to.value} is not allowed")
    return to


def moving_to(to: LeadStatus) -> frozenset[LeadStatus]:
    """Every status a lead may move to ``to`` from: the condition of a bulk UPDATE that moves leads there."""
    return frozenset(status for status, moves in LEAD_MOVES.items() if to in moves)


def requeued(attempts: int, last_disposition: str | None) -> LeadStatus:
    """The queue a claimed lead that was never dialled goes back to, by the table (``CLAIMED`` to a queue).

    Why it can tell: a claim changes neither the attempt count nor the last
    disposition, and only a written attempt does. So a lead whose last
    attempt booked a callback was a callback, one never dialled was fresh,
    and any other was waiting for a retry.
    """
    if last_disposition == "callback":
        back = _L.CALLBACK
    else:
        back = _L.NEW if attempts == 0 else _L.RETRY
    return move_lead(_L.CLAIMED, back)


def reopened(attempts: int) -> LeadStatus:
    """The queue a lead set aside for its zones goes back to once it may be dialled (its zone given, its
    campaign's window changed): fresh when never dialled, else a retry (a callback's appointment has passed)."""
    return move_lead(_L.NO_WINDOW, _L.NEW if attempts == 0 else _L.RETRY)


class CampaignState(StrEnum):
    """Where a campaign is: the store's ``campaign.state`` values; the daemon dials only a ``running`` one."""

    INITIALIZED = "initialized"  # created through the API, not started yet
    RUNNING = "running"  # dials within its hours (what the CLI creates)
    PAUSED = "paused"
    STOPPING = "stopping"  # launches nothing; waits for its calls and wrap-ups to end
    STOPPED = "stopped"
    COMPLETED = "completed"  # declared for clients; the daemon does not set it yet

    __hash__ = str.__hash__


_C = CampaignState
CAMPAIGN_ACTIONS: dict[str, tuple[frozenset[CampaignState], CampaignState]] = {
    "start": (frozenset({_C.INITIALIZED, _C.STOPPED}), _C.RUNNING),
    "pause": (frozenset({_C.RUNNING}), _C.PAUSED),
    "resume": (frozenset({_C.PAUSED}), _C.RUNNING),
    "stop": (frozenset({_C.RUNNING, _C.PAUSED}), _C.STOPPING),
}
"""A manager's action: the states it may be taken in, and the state it leads to. The daemon alone moves a
``stopping`` campaign to ``stopped``, once nothing is open."""


class Presence(StrEnum):
    """A change of an agent's presence: the store's ``agent_event.event`` values, appended, never updated.

    Why a word of its own, not the engine's ``AgentState``: the engine's
    states (ready, reserved, talking, wrap-up ...) change on every call, and
    the attempt ledger already times talk and wrap-up; what the agents report
    needs besides is when each agent was logged in and when paused, and why.
    Why here: the store (``lists``) must read and write it, and cannot import
    the engine. An agent logs in ready; a pause asked for on a call starts
    when the wrap-up ends, and is stored then."""

    LOG_IN = "log_in"
    PAUSE = "pause"  # with its reason
    READY = "ready"  # back from a pause
    LOG_OUT = "log_out"

    __hash__ = str.__hash__

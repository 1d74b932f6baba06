"""The agents' log: what the engine's agent changes write (``dialer.service.presence``), and the writer putting it
in the store, append-only, where the agents report reads it back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dialer.core.agents import AgentState
from dialer.core.engine import CampaignSettings, Engine
from dialer.service.presence import CHANGES, WHERE, PresenceLog
from dialer.service.store_ports import Writer
from lists.campaigns import create_campaign
from lists.lifecycle import Presence
from lists.models import PresenceEvent
from lists.presence import WHERE_AFTER, PresenceChange, Where, agent_times
from tests.test_engine import REFUSED, Scripted, Telephony, World

ORIGIN = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Kept:
    """A writer that keeps what it is given."""

    def __init__(self) -> None:
        self.changes: list[PresenceChange] = []

    def presence(self, change: PresenceChange, fence: object = None) -> None:
        self.changes.append(change)


def _floor() -> tuple[Engine, PresenceLog, Kept, World]:
    world, kept = World(), Kept()
    log = PresenceLog(world, kept, 7, lambda t: ORIGIN + timedelta(seconds=t))  # type: ignore[arg-type]
    engine = Engine(CampaignSettings("test"), Scripted(), world, Telephony(), world, log, world)
    engine.start_dialing(0.0, 3600.0)
    return engine, log, kept, world


def _said(kept: Kept) -> list[tuple[str, float, Presence, str | None]]:
    return [(c.agent, (c.at - ORIGIN).total_seconds(), c.event, c.pause_reason) for c in kept.changes]


def test_the_log_holds_log_in_pause_when_it_starts_ready_and_log_out():
    engine, _, kept, world = _floor()
    engine.log_in("a1", 0.0)
    engine.controller.launches.append(1)  # type: ignore[attr-defined]
    engine._request_pace(1.0)
    engine.advance(1.0)
    (call,) = engine.calls.values()
    engine.answered(call.id, 5.0)
    engine.pause("a1", 30.0, "lunch")  # on a call: the pause starts after the wrap-up
    engine.hung_up(call.id, 65.0)
    engine.wrap_done("a1", 80.0, REFUSED)
    engine.log_in("a1", 90.0)  # already in: the log says nothing
    engine.ready("a1", 100.0)
    engine.log_out("a1", 200.0)
    assert _said(kept) == [("a1", 0.0, Presence.LOG_IN, None), ("a1", 80.0, Presence.PAUSE, "lunch"),
                           ("a1", 100.0, Presence.READY, None), ("a1", 200.0, Presence.LOG_OUT, None)]
    assert [state for agent, state, _ in world.screens if agent == "a1"][-1] is AgentState.OFF  # the screen too


def test_a_stop_logs_out_whoever_is_still_in():
    engine, log, kept, _ = _floor()
    engine.log_in("a1", 0.0)
    engine.log_in("a2", 0.0)
    engine.pause("a2", 10.0, "break")
    engine.log_out("a1", 20.0)
    assert log.sign_out_all(50.0) == 1
    assert _said(kept)[-1] == ("a2", 50.0, Presence.LOG_OUT, None)


def test_the_tables_cover_every_state_and_every_move():
    assert set(WHERE) == set(AgentState)
    assert set(WHERE_AFTER) == set(Presence)
    assert set(CHANGES) == {(a, b) for a in Where for b in Where if a is not b}
    assert all(WHERE_AFTER[events[-1]] is to for (_, to), events in CHANGES.items())


def test_the_writer_appends_the_log_to_the_store_and_the_report_reads_it(store):
    with store() as s:
        campaign_id = create_campaign(s, "Loans", "loan-offer", countries=["US"]).id
        s.commit()
    loop = asyncio.new_event_loop()
    writer = Writer(store, "test", loop)
    writer.start()
    for minutes, event, reason in ((0, Presence.LOG_IN, None), (60, Presence.PAUSE, "break"),
                                   (75, Presence.READY, None), (120, Presence.LOG_OUT, None)):
        writer.presence(PresenceChange(campaign_id, "a1", ORIGIN + timedelta(minutes=minutes), event, reason))
    assert writer.stop(10.0)
    loop.close()
    with store() as s:
        rows = s.execute(select(PresenceEvent.event, PresenceEvent.pause_reason).order_by(PresenceEvent.id)).all()
        times = agent_times(s, campaign_id, None, None, ORIGIN + timedelta(days=1))
    assert [tuple(row) for row in rows] == [("log_in", None), ("pause", "break"), ("ready", None), ("log_out", None)]
    assert times["a1"].logged_in_s == 7200.0 and times["a1"].paused_s == {"break": 900.0}

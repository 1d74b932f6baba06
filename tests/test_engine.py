"""The engine core, event by event: state tables, transitions, and what each event does in each state.

Why fakes and no clock: ``dialer.core.engine.Engine`` does no I/O and reads no
clock, so each test hands it timestamped events and reads the commands it
sent (originate, bridge, play and hang up, hang up) and the records it kept.
``tests/test_two_clocks.py`` runs the same engine on real clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.core.agents import AGENT_TRANSITIONS, Agent, AgentPool, AgentState
from dialer.core.calls import TRANSITIONS, AmdResult, Call, CallState, Disposition, IllegalTransition
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.outcomes import LineEnd
from dialer.core.ports import ClaimedLead
from dialer.core.snapshot import FLIGHT, Flight, build_snapshot
from dialer.records import Outcome
from pacing.controllers import AttemptOutcome, Decision, Snapshot

REFUSED = Disposition("refused", refusal_reason="no_need")


@dataclass
class Telephony:
    """Keeps every command the engine sends, in order."""

    commands: list[tuple[str, int, Any]] = field(default_factory=list)

    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None:
        self.commands.append(("originate", call.id, amd))

    def bridge(self, call: Call, agent: str) -> None:
        self.commands.append(("bridge", call.id, agent))

    def play_and_hang_up(self, call: Call, message: str) -> None:
        self.commands.append(("play", call.id, message))

    def hang_up(self, call: Call) -> None:
        self.commands.append(("hang_up", call.id, None))

    def sent(self, verb: str) -> list[int]:
        return [call for name, call, _ in self.commands if name == verb]


@dataclass
class Scripted:
    """A controller that launches what it is told, and remembers what it saw and learnt."""

    launches: list[int] = field(default_factory=list)
    reserves_agent: bool = False
    name: str = "scripted"
    seen: list[Snapshot] = field(default_factory=list)
    observed: list[AttemptOutcome] = field(default_factory=list)
    placed_counts: list[int] = field(default_factory=list)
    handles: list[float] = field(default_factory=list)
    machines: list[float] = field(default_factory=list)

    def decide(self, snapshot: Snapshot) -> Decision:
        self.seen.append(snapshot)
        return Decision(self.launches.pop(0) if self.launches else 0, "scripted")

    def placed(self, now_s: float, count: int) -> None:
        self.placed_counts.append(count)

    def observe(self, outcome: AttemptOutcome) -> None:
        self.observed.append(outcome)

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        self.handles.append(handle_s)

    def observe_machine(self, at_s: float) -> None:
        self.machines.append(at_s)


@dataclass
class World:
    """Leads, records, agents' screens and wake-ups, all kept for the test to read."""

    leads_left: int = 100
    claimed: int = 0
    recorded: list[Call] = field(default_factory=list)
    attempts: list[Call] = field(default_factory=list)
    busy_periods: list[tuple[str, float, float]] = field(default_factory=list)
    decisions: list[tuple[float, int]] = field(default_factory=list)
    screens: list[tuple[str, AgentState, int | None]] = field(default_factory=list)
    wakes: list[float] = field(default_factory=list)

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        n = min(n, self.leads_left)
        self.leads_left -= n
        self.claimed += n
        return [ClaimedLead(self.claimed - n + k, f"+1555000{k:04d}", "all") for k in range(n)]

    def record(self, call: Call) -> None:
        self.recorded.append(call)

    def attempt(self, call: Call) -> None:
        self.attempts.append(call)

    def busy(self, agent: str, start_s: float, end_s: float) -> None:
        self.busy_periods.append((agent, start_s, end_s))

    def decision(self, now_s: float, decision: Decision, placed: int) -> None:
        self.decisions.append((now_s, placed))

    def agent_changed(self, agent: Agent, call: Call | None, now_s: float) -> None:
        self.screens.append((agent.id, agent.state, call.id if call else None))

    def __call__(self, at_s: float) -> None:
        self.wakes.append(at_s)


@dataclass
class Rig:
    engine: Engine
    controller: Scripted
    telephony: Telephony
    world: World

    def agent(self, agent_id: str) -> Agent:
        return self.engine.pool.get(agent_id)

    def launch(self, n: int, now_s: float) -> list[Call]:
        """Have the controller launch ``n`` calls at ``now_s``; the new calls, oldest first."""
        before = set(self.engine.calls)
        self.controller.launches.append(n)
        self.engine._request_pace(now_s)
        self.engine.advance(now_s)
        return [self.engine.calls[k] for k in sorted(set(self.engine.calls) - before)]

    def talk(self, call: Call, now_s: float) -> None:
        """Answer (AMD off) at ``now_s``."""
        self.engine.answered(call.id, now_s)


def rig(agents: tuple[str, ...] = ("a1",), amd: bool = False, connect_limit_s: float | None = 2.0,
        preview_s: float = 0.0, reserves_agent: bool = False) -> Rig:
    """An engine dialing from 0 s with ``agents`` logged in at 0 s, one after another (a1 idle longest)."""
    controller, telephony, world = Scripted(reserves_agent=reserves_agent), Telephony(), World()
    settings = CampaignSettings("test", connect_limit_s=connect_limit_s, amd=amd, preview_s=preview_s)
    engine = Engine(settings, controller, world, telephony, world, world, world)
    for agent in agents:
        engine.log_in(agent, 0.0)
    engine.start_dialing(0.0, 3600.0)
    engine.advance(0.0)
    return Rig(engine, controller, telephony, world)


# -- the tables ------------------------------------------------------------------------------------------------
def test_call_transitions_name_every_state_and_only_states():
    assert set(TRANSITIONS) == set(CallState)
    assert all(targets <= set(CallState) for targets in TRANSITIONS.values())
    assert TRANSITIONS[CallState.ENDED] == frozenset()


def test_agent_transitions_name_every_state_and_only_states():
    assert set(AGENT_TRANSITIONS) == set(AgentState)
    assert all(targets <= set(AgentState) for targets in AGENT_TRANSITIONS.values())


def test_flight_table_places_every_call_state():
    """A state missing here is a call the controller cannot see, and dials again for the same agent."""
    assert set(FLIGHT) == set(CallState)


def _edges(table: dict[Any, frozenset[Any]]) -> set[tuple[str, str]]:
    return {(start.value, to.value) for start, targets in table.items() for to in targets}


def test_call_moves_are_the_ones_the_calls_module_draws():
    """Pinned by hand: a move added to the table by mistake (say claimed -> talking) fails here."""
    assert _edges(TRANSITIONS) == {
        ("claimed", "preview"), ("claimed", "ringing"), ("claimed", "ended"), ("preview", "ringing"),
        ("preview", "ended"), ("ringing", "analysing"), ("ringing", "queued"), ("ringing", "talking"),
        ("ringing", "ended"), ("analysing", "queued"), ("analysing", "talking"), ("analysing", "ended"),
        ("queued", "talking"), ("queued", "safe_harbour"), ("queued", "ended"), ("talking", "ended"),
        ("safe_harbour", "ended")}


def test_agent_moves_are_pinned():
    """A talking agent goes only to wrap-up: a pause or log-out mid-call waits (``Agent.pending``)."""
    assert _edges(AGENT_TRANSITIONS) == {
        ("off", "ready"), ("off", "paused"), ("ready", "reserved"), ("ready", "talking"), ("ready", "paused"),
        ("ready", "off"), ("reserved", "talking"), ("reserved", "ready"), ("reserved", "paused"),
        ("reserved", "off"), ("talking", "wrap_up"), ("wrap_up", "ready"), ("wrap_up", "paused"),
        ("wrap_up", "off"), ("paused", "ready"), ("paused", "off")}


def _reachable(table: dict[Any, frozenset[Any]], start: Any) -> set[Any]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_every_state_is_reachable_and_every_call_can_end():
    """No dead entry in the tables: each call state lies on a path from CLAIMED to ENDED, and every agent state
    can be reached from OFF and lead back to it."""
    assert _reachable(TRANSITIONS, CallState.CLAIMED) == set(CallState)
    assert all(CallState.ENDED in _reachable(TRANSITIONS, state) for state in CallState)
    assert _reachable(AGENT_TRANSITIONS, AgentState.OFF) == set(AgentState)
    assert all(AgentState.OFF in _reachable(AGENT_TRANSITIONS, state) for state in AgentState)


@pytest.mark.parametrize("start", list(CallState))
def test_a_call_moves_exactly_where_its_table_allows(start):
    for to in CallState:
        call = Call(1, 1, "+15550000000", "all", 0, state=start)
        if to in TRANSITIONS[start]:
            call.move(to, 5.0)
            assert (call.state, call.since_s) == (to, 5.0)
        else:
            with pytest.raises(IllegalTransition, match=f"{start.value} -> {to.value}"):
                call.move(to, 5.0)
            assert call.state is start


@pytest.mark.parametrize("start", list(AgentState))
def test_an_agent_moves_exactly_where_its_table_allows(start):
    for to in AgentState:
        agent = Agent("a1", state=start)
        if to in AGENT_TRANSITIONS[start]:
            agent.move(to)
            assert agent.state is to
        else:
            with pytest.raises(IllegalTransition, match=f"{start.value} -> {to.value}"):
                agent.move(to)
            assert agent.state is start


@pytest.mark.parametrize("state", list(CallState))
def test_the_snapshot_counts_each_state_where_flight_says(state):
    """One call in each state lands in the snapshot field its FLIGHT entry names, and nowhere else."""
    call = Call(1, 1, "+15550000000", "all", 0, state=state, since_s=4.0)
    snapshot = build_snapshot(10.0, [call], AgentPool(), 100.0)
    flight = FLIGHT[state]
    assert snapshot.ringing_elapsed_s == ((6.0,) if flight is Flight.RINGING else ())
    assert snapshot.analysing_elapsed_s == ((6.0,) if flight is Flight.ANALYSING else ())
    assert snapshot.waiting == (flight is Flight.WAITING)
    assert snapshot.in_flight == (flight is not Flight.NONE)


# -- answers, AMD, connecting ----------------------------------------------------------------------------------
def test_an_answer_with_amd_off_goes_to_the_idle_agent_at_once():
    r = rig()
    (call,) = r.launch(1, 0.0)
    assert r.telephony.sent("originate") == [call.id] and call.state is CallState.RINGING
    r.talk(call, 8.0)
    assert r.telephony.sent("bridge") == [call.id]
    assert (call.state, call.connected_s, call.agent, r.agent("a1").state) == (
        CallState.TALKING, 8.0, "a1", AgentState.TALKING)
    assert [o.result for o in r.controller.observed] == ["live"]


def test_an_answer_with_amd_on_is_analysed_first_and_seen_by_the_controller():
    r = rig(amd=True)
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    assert call.state is CallState.ANALYSING and r.telephony.sent("bridge") == []
    assert r.engine.snapshot(9.0).analysing_elapsed_s == (1.0,)
    r.engine.amd_result(call.id, 10.5, AmdResult(machine=False))
    assert call.state is CallState.TALKING and r.telephony.sent("bridge") == [call.id]
    assert (call.answered_s, call.amd_end_s, call.amd_machine) == (8.0, 10.5, False)


def test_amd_machine_is_hung_up_and_the_agent_stays_free():
    r = rig(amd=True)
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    r.engine.amd_result(call.id, 10.5, AmdResult(machine=True))
    assert r.telephony.sent("hang_up") == [call.id] and r.telephony.sent("bridge") == []
    assert (call.state, call.outcome) == (CallState.ENDED, Outcome.MACHINE)
    assert r.world.attempts == [call] and r.world.recorded == [call]
    assert r.agent("a1").state is AgentState.READY
    (seen,) = r.controller.observed
    assert (seen.result, seen.amd_detected) == ("machine", True)


def test_a_person_hanging_up_during_amd_is_an_abandon_not_a_human_no_agent_reached():
    r = rig(amd=True)
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    r.engine.hung_up(call.id, 9.0)
    assert (call.state, call.outcome, call.message_played) == (CallState.ENDED, Outcome.ABANDONED, False)
    assert call.as_record(datetime(2026, 1, 5, tzinfo=UTC)).outcome == "abandoned"


def test_a_call_lost_in_amd_at_a_crash_is_abandoned_and_the_controller_counts_it():
    r = rig(amd=True)
    (call,) = r.launch(1, 0.0)
    r.engine.answered(call.id, 8.0)
    r.engine.hung_up(call.id, 9.0, LineEnd.CRASH)
    assert call.outcome is Outcome.ABANDONED
    (seen,) = r.controller.observed
    assert (seen.result, seen.abandoned) == ("live", True)


@pytest.mark.parametrize("end, outcome", [
    (LineEnd.BUSY, Outcome.BUSY), (LineEnd.NO_ANSWER, Outcome.NO_ANSWER), (LineEnd.INVALID, Outcome.INVALID),
    (LineEnd.CONGESTION, Outcome.FAILED), (LineEnd.SHUTDOWN, Outcome.INTERRUPTED),
    (LineEnd.CRASH, Outcome.INTERRUPTED)])
def test_a_call_that_never_answers_ends_with_its_cause(end, outcome):
    """Each is recorded once; the controller learns all but the network's and the dialer's own failures (not the
    lead's answer rate)."""
    r = rig()
    (call,) = r.launch(1, 0.0)
    r.engine.hung_up(call.id, 25.0, end)
    assert (call.state, call.outcome, call.hangup_s) == (CallState.ENDED, outcome, 25.0)
    assert r.world.attempts == r.world.recorded == [call] and not r.engine.busy
    assert len(r.controller.observed) == (outcome not in (Outcome.FAILED, Outcome.INTERRUPTED))


# -- queueing and the connect limit ----------------------------------------------------------------------------
def _queued(limit_s: float | None = 2.0) -> tuple[Rig, Call, Call]:
    """a1 talking on one call, a second call answered at 10 s and waiting."""
    r = rig(connect_limit_s=limit_s)
    first, second = r.launch(2, 0.0)
    r.talk(first, 5.0)
    r.talk(second, 10.0)
    return r, first, second


def test_an_answer_with_no_free_agent_waits_and_is_seen_waiting():
    r, _, second = _queued()
    assert second.state is CallState.QUEUED and second.queued_s == 10.0
    assert list(r.engine.pool.waiting) == [second.id] and r.engine.snapshot(11.0).waiting == 1
    assert 12.0 in r.world.wakes  # the connect deadline asked the runner for a wake-up


def test_the_connect_limit_plays_the_message_and_counts_an_abandon():
    r, _, second = _queued()
    r.engine.advance(11.999)
    assert second.state is CallState.QUEUED and r.telephony.sent("play") == []
    r.engine.advance(12.0)
    assert r.telephony.commands[-1] == ("play", second.id, "safe-harbour")
    assert (second.state, second.outcome, second.message_played) == (CallState.SAFE_HARBOUR, Outcome.ABANDONED, True)
    assert r.controller.observed[-1].abandoned and r.controller.observed[-1].dropped and not r.engine.pool.waiting
    r.engine.hung_up(second.id, 15.0)  # the message has played
    assert (second.state, second.hangup_s, r.world.attempts) == (CallState.ENDED, 12.0, [second])


def test_an_agent_freed_before_the_limit_takes_the_waiting_call_and_the_timer_is_void():
    r, first, second = _queued()
    r.engine.hung_up(first.id, 11.0)
    r.engine.wrap_done("a1", 11.5, REFUSED)
    assert second.state is CallState.TALKING and second.connected_s == 11.5
    r.engine.advance(12.0)
    assert r.telephony.sent("play") == [] and second.state is CallState.TALKING


def test_a_waiting_person_who_hangs_up_is_abandoned_without_a_message():
    r, _, second = _queued(limit_s=None)
    r.engine.hung_up(second.id, 40.0)
    assert (second.outcome, second.message_played, list(r.engine.pool.waiting)) == (Outcome.ABANDONED, False, [])
    assert r.telephony.sent("play") == []
    seen = r.controller.observed[-1]
    assert seen.abandoned and not seen.dropped  # the caller left: a person, whatever the dialer knew


def test_a_machine_an_agent_finds_is_reported_to_the_controller_after_the_live_answer():
    r, call = _on_call()
    assert r.controller.observed[-1].result == "live"  # at the connect the dialer knows no better
    r.engine.hung_up(call.id, 20.0)
    r.engine.wrap_done("a1", 22.0, Disposition("machine"))
    assert call.outcome is Outcome.MACHINE and r.controller.machines == [5.0]  # at its answer: the day it counted
    r2, call2 = _on_call()
    r2.engine.hung_up(call2.id, 20.0)
    r2.engine.wrap_done("a1", 22.0, REFUSED)
    assert r2.controller.machines == []


def test_with_no_connect_limit_a_person_waits_for_an_agent():
    r, _, second = _queued(limit_s=None)
    r.engine.advance(500.0)
    assert second.state is CallState.QUEUED and r.telephony.sent("play") == []


def test_waiting_calls_are_served_first_come_first_served():
    """Calls answered in another order than launched are served in the order they answered."""
    r = rig(connect_limit_s=None)
    first, *waiting = r.launch(4, 0.0)
    r.talk(first, 1.0)
    for at_s, call in zip((2.0, 3.0, 4.0), reversed(waiting), strict=True):
        r.talk(call, at_s)
    served = []
    for now_s in (20.0, 40.0, 60.0):
        served.append(r.engine.wrapping["a1"].answered_s)
        r.engine.hung_up(r.engine.wrapping["a1"].id, now_s)
        r.engine.wrap_done("a1", now_s + 1.0, REFUSED)
    assert served + [r.engine.wrapping["a1"].answered_s] == [1.0, 2.0, 3.0, 4.0]


def test_the_longest_idle_agent_takes_the_next_answer():
    r = rig(agents=("a1", "a2", "a3"))
    calls = r.launch(3, 0.0)
    r.talk(calls[0], 5.0)
    r.engine.hung_up(calls[0].id, 10.0)
    r.engine.wrap_done("a1", 12.0, REFUSED)  # a1 idle again since 12 s: now the least idle
    r.talk(calls[1], 13.0)
    r.talk(calls[2], 14.0)
    assert [calls[1].agent, calls[2].agent] == ["a2", "a3"]
    (call,) = r.launch(1, 15.0)
    r.talk(call, 16.0)
    assert call.agent == "a1"


# -- preview -----------------------------------------------------------------------------------------------------
def test_preview_reserves_the_agent_and_dials_after_the_preview_time():
    r = rig(agents=("a1", "a2"), preview_s=5.0, reserves_agent=True)
    first, _ = r.launch(2, 1.0)
    assert first.state is CallState.PREVIEW and r.agent(first.agent or "").state is AgentState.RESERVED
    assert r.telephony.sent("originate") == [] and r.engine.snapshot(2.0).in_flight == 0
    r.engine.advance(5.999)
    assert r.telephony.sent("originate") == []
    r.engine.advance(6.0)
    assert len(r.telephony.sent("originate")) == 2 and first.dialled_s == 6.0


def test_a_preview_call_reaches_only_its_reserved_agent():
    r = rig(agents=("a1", "a2"), preview_s=5.0, reserves_agent=True)
    _, second = r.launch(2, 0.0)
    r.engine.advance(5.0)
    r.talk(second, 12.0)
    assert second.agent == "a2" and r.agent("a2").state is AgentState.TALKING
    assert r.agent("a1").state is AgentState.RESERVED


def test_a_preview_call_that_fails_gives_its_agent_back():
    r = rig(preview_s=5.0, reserves_agent=True)
    (call,) = r.launch(1, 0.0)
    r.engine.advance(5.0)
    r.engine.hung_up(call.id, 30.0, LineEnd.NO_ANSWER)
    assert r.agent("a1").state is AgentState.READY and r.engine.pool.available == 1


# -- agents: wrap-up, pause, log-out ---------------------------------------------------------------------------
def _on_call(agents: tuple[str, ...] = ("a1",)) -> tuple[Rig, Call]:
    r = rig(agents=agents)
    (call,) = r.launch(1, 0.0)
    r.talk(call, 5.0)
    return r, call


def test_the_line_closing_starts_wrap_up_and_wrap_done_completes_the_attempt():
    r, call = _on_call()
    r.engine.hung_up(call.id, 65.0)
    assert (r.agent("a1").state, call.ended_s, r.world.attempts) == (AgentState.WRAP_UP, 65.0, [])
    r.engine.wrap_done("a1", 80.0, REFUSED)
    assert r.world.attempts == [call] and call.disposition == REFUSED and call.wrapped_s == 80.0
    assert r.world.busy_periods == [("a1", 5.0, 80.0)] and r.controller.handles == [75.0]
    assert r.agent("a1").state is AgentState.READY


def test_an_agent_who_hangs_up_goes_to_wrap_up_and_the_line_closing_later_is_ignored():
    r, call = _on_call()
    r.engine.agent_hang_up("a1", 40.0)
    assert r.telephony.sent("hang_up") == [call.id]
    assert (r.agent("a1").state, call.hangup_s, call.ended_s) == (AgentState.WRAP_UP, 40.0, 40.0)
    r.engine.hung_up(call.id, 41.0)  # the driver reports the line closed: already handled
    assert call.hangup_s == 40.0 and r.agent("a1").state is AgentState.WRAP_UP
    r.engine.wrap_done("a1", 50.0, REFUSED)
    assert r.world.attempts == [call] and r.agent("a1").state is AgentState.READY


def test_an_agent_with_no_connected_call_cannot_hang_up():
    r, call = _on_call()
    r.engine.hung_up(call.id, 30.0)
    with pytest.raises(IllegalTransition):
        r.engine.agent_hang_up("a1", 31.0)
    with pytest.raises(IllegalTransition):
        r.engine.agent_hang_up("nobody", 31.0)


def test_wrap_done_without_a_call_in_wrap_up_raises():
    r, _ = _on_call()
    with pytest.raises(IllegalTransition):
        r.engine.wrap_done("a1", 10.0, REFUSED)


@pytest.mark.parametrize("leave, to", [("pause", AgentState.PAUSED), ("log_out", AgentState.OFF)])
def test_pause_or_log_out_mid_call_waits_for_the_wrap_up(leave, to):
    r, call = _on_call()
    getattr(r.engine, leave)("a1", 30.0, *(("lunch",) if leave == "pause" else ()))
    assert r.agent("a1").state is AgentState.TALKING
    r.engine.hung_up(call.id, 65.0)
    assert r.agent("a1").state is AgentState.WRAP_UP
    r.engine.wrap_done("a1", 80.0, REFUSED)
    assert r.agent("a1").state is to and r.engine.pool.available == 0


def test_a_pause_taken_back_mid_call_leaves_the_agent_ready():
    r, call = _on_call()
    r.engine.pause("a1", 30.0, "lunch")
    r.engine.ready("a1", 40.0)
    r.engine.hung_up(call.id, 65.0)
    r.engine.wrap_done("a1", 80.0, REFUSED)
    assert r.agent("a1").state is AgentState.READY


def test_a_paused_agent_takes_no_call_and_a_returning_one_does():
    r = rig(agents=("a1", "a2"))
    r.engine.pause("a1", 1.0, "coaching")
    assert (r.agent("a1").state, r.agent("a1").pause_reason) == (AgentState.PAUSED, "coaching")
    (call,) = r.launch(1, 2.0)
    r.talk(call, 5.0)
    assert call.agent == "a2"
    r.engine.ready("a1", 6.0)
    (other,) = r.launch(1, 7.0)
    r.talk(other, 8.0)
    assert other.agent == "a1"


def test_an_agent_winding_down_is_not_dialled_for_but_still_takes_calls():
    r = rig(agents=("a1",))
    r.engine.wind_down("a1")
    assert r.engine.snapshot(1.0).agents_idle == 0
    (call,) = r.launch(1, 1.0)  # a launch decided before the wind-down
    r.talk(call, 5.0)
    assert call.agent == "a1"


# -- pacing ------------------------------------------------------------------------------------------------------
def test_pacing_runs_on_each_tick_and_reports_calls_really_placed():
    r = rig()
    r.world.leads_left = 2
    r.controller.launches += [0, 5]
    r.engine.advance(1.0)
    r.engine.advance(2.0)
    assert r.controller.placed_counts[-2:] == [0, 2] and r.world.decisions[-1] == (2.0, 2)
    assert len(r.engine.calls) == 2


def test_an_agent_freed_asks_for_a_decision_at_once():
    r, call = _on_call()
    decisions = len(r.controller.seen)
    r.engine.hung_up(call.id, 65.5)
    r.engine.wrap_done("a1", 70.5, REFUSED)
    assert r.world.wakes[-1] == 70.5
    r.engine.advance(70.5)
    assert len(r.controller.seen) == decisions + 1 and r.controller.seen[-1].agents_idle == 1


def test_stop_dialing_launches_nothing_more():
    r = rig()
    r.engine.stop_dialing(1.0)
    r.controller.launches += [3, 3]
    r.engine.advance(1.0)
    r.engine.advance(2.0)
    assert r.telephony.sent("originate") == [] and r.controller.launches == [3, 3]


def test_the_snapshot_sees_ringing_and_busy_agents_with_their_ages():
    r = rig(agents=("a1", "a2"))
    first, second = r.launch(2, 0.0)
    r.talk(first, 5.0)
    snapshot = r.engine.snapshot(9.0)
    assert (snapshot.agents_logged_in, snapshot.agents_idle, snapshot.agents_on_call) == (2, 1, 1)
    assert snapshot.ringing_elapsed_s == (9.0,) and snapshot.busy_elapsed_s == (4.0,)
    assert snapshot.seconds_left == 3591.0

"""The Asterisk ARI driver against a real Asterisk 22 (the rig of ``tests/asterisk_rig.py``), SIP on loopback.

Why: the fake ARI of ``tests/test_asterisk_driver.py`` answers as the API
documents say; only a real Asterisk shows what it really sends (which
cause a busy line gives, whether a created channel's answer arrives as a
state change, whether AMD's re-entry carries its verdict). The engine is
the real ``Engine`` on the asyncio clock; customers are the rig's SIPp
(the dialled number's last digits say what each does), agents its baresip
phones with auto-answer.

If the rig cannot be built or started the tests fail: a skip would hide a
broken product. About 60 s with a warm rig (the unanswered calls ring 15 s;
the safe-harbour message is about 4 s).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from dialer.core.calls import Call, CallState
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.ports import ClaimedLead
from dialer.drivers.asterisk import AriServer, AsteriskDriver, Backoff, CampaignTelephony
from dialer.records import Outcome
from dialer.service.clock import AsyncioClock
from tests import asterisk_rig as rig
from tests.test_engine import Scripted, World

CALLER_ID = "+441632960000"
# one rig (SIP ports, one SIPp) for every Asterisk test; SIPp and baresip are real processes, calls real time
pytestmark = [pytest.mark.xdist_group("asterisk"), pytest.mark.asterisk, pytest.mark.daemon, pytest.mark.slow]


@dataclass
class Rig:
    url: str
    customers: rig.Customers
    agents: list[rig.Agent]
    safe_harbour: str
    message_s: float  # the safe-harbour message's length, seconds


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    yield from rig_session(tmp_path_factory)


def rig_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The rig's Asterisk (left running: other tests share it), its SIPp customers and two agents' phones."""
    url = rig.start_asterisk()
    customers = rig.start_customers(tmp_path_factory.mktemp("customers"))
    agents: list[rig.Agent] = []
    try:
        agents = rig.start_agents(2, tmp_path_factory.mktemp("agents"))
        sound, message_s = safe_harbour_sound()
        yield Rig(url, customers, agents, sound, message_s)
    finally:
        rig.stop_agents(agents)
        customers.stop()


def safe_harbour_sound() -> tuple[str, float]:
    """A spoken safe-harbour message in the chroot's ``/var/lib/asterisk/sounds/dialer`` (made here when a
    freshly built tree lacks it), played by absolute path; its media URI and its length in seconds."""
    ulaw = rig._speak("This is Acme Loans. Please call us back on 0800 000 000.")
    folder = rig.asterisk_root() / "var/lib/asterisk/sounds/dialer"
    folder.mkdir(parents=True, exist_ok=True)  # a freshly built tree has none
    (folder / "driver-safe-harbour.ulaw").write_bytes(ulaw)
    return "sound:/var/lib/asterisk/sounds/dialer/driver-safe-harbour", len(ulaw) / rig.SAMPLE_RATE


@dataclass
class Leads(World):
    """The world of the engine tests, handing out the given numbers in order."""

    numbers: list[str] = field(default_factory=list)

    def claim(self, n: int, now_s: float) -> list[ClaimedLead]:
        taken, self.numbers = self.numbers[:n], self.numbers[n:]
        first = self.claimed
        self.claimed += len(taken)
        return [ClaimedLead(first + k, number, "all") for k, number in enumerate(taken)]


@dataclass
class Floor:
    driver: AsteriskDriver
    telephony: CampaignTelephony
    engine: Engine
    leads: Leads
    clock: AsyncioClock
    url: str

    def launch(self, numbers: list[str]) -> list[Call]:
        before = set(self.engine.calls)
        self.leads.numbers += numbers
        self.engine.controller.launches.append(len(numbers))  # type: ignore[attr-defined]
        self.engine.start_dialing(self.clock.now(), 1e9)
        self.engine.advance(self.clock.now())
        return [self.engine.calls[k] for k in sorted(set(self.engine.calls) - before)]

    async def ari(self, path: str) -> Any:
        async with httpx.AsyncClient(auth=(rig.ARI_USER, rig.ARI_PASSWORD), trust_env=False) as client:
            response = await client.get(f"{self.url}/ari{path}")
            response.raise_for_status()
            return response.json()


def run(real: Rig, test: Callable[[Floor], Coroutine[Any, Any, None]], amd: bool = False) -> None:
    """Run ``test`` with a driver on the rig's Asterisk and an engine woken by the asyncio clock."""

    async def main() -> None:
        server = AriServer(real.url, rig.ARI_USER, rig.ARI_PASSWORD, trunk_limit=20,
                           dial_string="PJSIP/{number}@" + rig.TRUNK)
        # An app of its own per test: a new connection for an app whose last one is still closing makes
        # Asterisk "replace" it, and the rig's Asterisk 22.10 once wedged its app registry doing that.
        app = f"dialer-driver-test-{uuid.uuid4().hex[:8]}"
        driver = AsteriskDriver([server], app=app, backoff=Backoff(0.2, 2.0, 2.0))
        await driver.start()
        await until(lambda: driver.connected, 10)
        clock = AsyncioClock(asyncio.get_running_loop())
        name = f"driver-real-{uuid.uuid4().hex[:8]}"  # recordings of earlier runs keep their names
        telephony = driver.campaign(name, clock, CALLER_ID, 20, real.safe_harbour)
        leads = Leads()
        settings = CampaignSettings(name, caller_id=CALLER_ID, amd=amd, ring_timeout_s=15.0,
                                    connect_limit_s=2.0)
        holder: list[Engine] = []

        def wake(at_s: float) -> None:
            clock.call_at(at_s, lambda: holder[0].advance(max(clock.now(), at_s)))

        engine = Engine(settings, Scripted(), leads, telephony, leads, leads, wake)
        holder.append(engine)
        telephony.attach(engine)
        try:
            await test(Floor(driver, telephony, engine, leads, clock, real.url))
        finally:  # a failed test leaves no call up on the shared Asterisk
            for line in list(telephony.lines.values()):
                await driver.hang_up_channel(line.server, line.channel_id)
            await driver.stop()

    asyncio.run(main())


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never held in {timeout_s} s")
        await asyncio.sleep(0.05)


def test_unanswered_calls_end_with_the_outcome_their_hangup_cause_gives(real: Rig):
    plan = {"busy": Outcome.BUSY, "rejected": Outcome.NO_ANSWER, "unallocated": Outcome.INVALID,
            "congestion": Outcome.FAILED, "unavailable": Outcome.NO_ANSWER, "no_answer": Outcome.NO_ANSWER}
    numbers = {name: rig.customer_number(name, ring_s=1, prefix="0711") for name in plan}

    async def test(f: Floor) -> None:
        calls = f.launch(list(numbers.values()))
        await until(lambda: all(c.state is CallState.ENDED for c in calls), 30)
        got = {name: call.outcome for name, call in zip(plan, calls, strict=True)}
        assert got == plan, real.customers.outcomes()
        ring_s = next(c for c in calls if c.number == numbers["no_answer"]).hangup_s
        assert ring_s is not None and ring_s >= 14.0  # rang for the whole 15 s timeout
        assert f.telephony.in_flight == 0

    run(real, test)


def test_a_person_reaches_the_held_agent_in_a_recorded_bridge_and_the_agent_returns_to_hold(real: Rig):
    number = rig.customer_number("human", ring_s=1, talk=0, prefix="0712")  # talks until the dialer hangs up

    async def test(f: Floor) -> None:
        await f.driver.log_in_agent("agent1")
        f.engine.log_in("agent1", f.clock.now())
        leg, holding = f.driver.agents["agent1"].channel_id, f"/bridges/{f.driver.servers[0].holding_id}"
        assert (await f.ari(holding))["channels"] == [leg]
        (call,) = f.launch([number])
        await until(lambda: call.state is CallState.TALKING, 15)
        assert call.amd_machine is False and call.agent == "agent1"
        line = f.telephony.lines[call.id]
        await until_async(lambda: f.ari(f"/bridges/{line.bridge_id}"),
                          lambda b: sorted(b["channels"]) == sorted([leg, line.channel_id]), 5)
        await asyncio.sleep(3.0)  # three seconds of conversation on the recording
        f.engine.agent_hang_up("agent1", f.clock.now())
        await asyncio.to_thread(real.customers.wait_for, number, "bye_from_dialer", 5)
        await until_async(lambda: f.ari(holding), lambda b: b["channels"] == [leg], 5)
        assert f.engine.pool.get("agent1").state.value == "wrap_up" and f.telephony.in_flight == 0
        name = call.recording
        assert name is not None and name.startswith(f"{f.telephony.name}/") and call.recording_error is None
        wav = rig.recordings_dir() / f"{name}.wav"
        await until(lambda: wav.exists() and wav.stat().st_size > 2 * 8000 * 2, 5)  # over 2 s of 8 kHz 16-bit
        await f.driver.log_out_agent("agent1")
        await until_async(lambda: f.ari("/channels"), lambda chans: leg not in [c["id"] for c in chans], 5)

    run(real, test, amd=True)


def test_a_customer_hanging_up_mid_conversation_sends_the_agent_to_wrap_up_and_back_to_hold(real: Rig):
    number = rig.customer_number("human", ring_s=1, talk=1, prefix="0715")  # hangs up 5 s after answering

    async def test(f: Floor) -> None:
        await f.driver.log_in_agent("agent2")
        f.engine.log_in("agent2", f.clock.now())
        leg, holding = f.driver.agents["agent2"].channel_id, f"/bridges/{f.driver.servers[0].holding_id}"
        (call,) = f.launch([number])
        await until(lambda: call.state is CallState.TALKING, 15)
        talk = f.telephony.lines[call.id].bridge_id
        await until(lambda: call.state is CallState.ENDED, 15)
        await asyncio.to_thread(real.customers.wait_for, number, "bye_from_customer", 5)
        assert f.engine.pool.get("agent2").state.value == "wrap_up" and f.telephony.in_flight == 0
        await until_async(lambda: f.ari(holding), lambda b: b["channels"] == [leg], 5)
        await until_async(lambda: f.ari("/bridges"), lambda bs: talk not in [b["id"] for b in bs], 5)
        await f.driver.log_out_agent("agent2")

    run(real, test, amd=True)


def test_a_machine_is_hung_up_on_after_amd(real: Rig):
    number = rig.customer_number("machine", ring_s=1, prefix="0713")

    async def test(f: Floor) -> None:
        (call,) = f.launch([number])
        await until(lambda: call.state is CallState.ENDED, 20)
        assert (call.outcome, call.amd_machine) == (Outcome.MACHINE, True)
        await asyncio.to_thread(real.customers.wait_for, number, "bye_from_dialer", 5)
        assert f.leads.recorded == [call]

    run(real, test, amd=True)


def test_the_connect_limit_plays_the_safe_harbour_message_before_hanging_up(real: Rig):
    number = rig.customer_number("human", ring_s=1, prefix="0714")  # waits for the dialer's hang-up

    async def test(f: Floor) -> None:
        (call,) = f.launch([number])  # no agent logged in: the answer waits, then the limit passes
        await until(lambda: call.state is CallState.SAFE_HARBOUR, 10)
        assert call.answered_s is not None and call.hangup_s is not None
        # the legal 2 s connect limit, by the engine's own call times (the module is marked slow for it)
        assert 1.9 <= call.hangup_s - call.answered_s <= 3.0
        await until(lambda: call.state is CallState.ENDED, 20)
        bye = await asyncio.to_thread(real.customers.wait_for, number, "bye_from_dialer", 5)
        answered = await asyncio.to_thread(real.customers.wait_for, number, "answered", 1)
        assert bye.at - answered.at >= 2.0 + real.message_s - 0.3  # the limit, then the whole message
        assert call.outcome is Outcome.ABANDONED and call.message_played

    run(real, test)


async def until_async(read: Callable[[], Coroutine[Any, Any, Any]], holds: Callable[[Any], bool],
                      timeout_s: float) -> None:
    """Wait until what ``read`` returns ``holds``."""
    deadline = time.monotonic() + timeout_s
    while not holds(value := await read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never held in {timeout_s} s; last: {value}")
        await asyncio.sleep(0.1)

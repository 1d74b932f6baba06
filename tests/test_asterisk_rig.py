"""The Asterisk test rig against a real Asterisk 22 (issue 17), with plain ARI: httpx for REST, one
``websockets`` connection for the events. No project driver is involved: these tests pin down what
the rig does and what Asterisk reports, so the driver's tests can rely on it.

The rig is built by ``.ci/asterisk.sh`` (a cached Debian unstable chroot). If it cannot be built or
started, the module's fixture raises: the tests FAIL, they never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import struct
import time
import uuid
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests import asterisk_rig as rig

# one rig for every Asterisk test; its Asterisk, SIPp and baresip are real processes, its calls real time
pytestmark = [pytest.mark.xdist_group("asterisk"), pytest.mark.asterisk, pytest.mark.daemon, pytest.mark.slow]

Event = dict[str, Any]

APP = f"rig-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
"""Prefix of this module's own Stasis apps: the AMD context enters the app that DIALER_APP names,
so a driver test or an engineer using the same Asterisk with the app "dialer" does not take our
events. Each ARI session gets a new app name (APP-1, APP-2, ...): connecting a websocket for an app
name whose previous socket Asterisk has not yet dropped makes it log "Replacing Stasis app", and
around such replacements the rig's Asterisk 22.10 has wedged its app registry."""
_sessions = itertools.count(1)

CALLER_ID = "441234567890"
RING_TIMEOUT_S = 6
"""Originate timeout for these tests (seconds). The dialer's is at least 15 s; shorter here to keep
the module quick."""

CUSTOMER_EVENT = {
    "human": "answered",
    "machine": "answered",
    "unsure": "answered",
    "busy": "busy",
    "no_answer": "cancelled",
    "rejected": "rejected",
    "unallocated": "unallocated",
    "congestion": "congestion",
    "unavailable": "unavailable",
}
"""What the customer side logs for each behaviour of the number plan."""


@dataclass
class Rig:
    url: str
    customers: rig.Customers
    agents: list[rig.Agent]


@pytest.fixture(scope="module")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The rig for this module: Asterisk (started, or reused if already up), the SIPp customers and
    two baresip agents. Held exclusively (a file lock) so no other worker's rig collides with it."""
    with rig.exclusive():
        url = rig.start_asterisk()
        customers = rig.start_customers(tmp_path_factory.mktemp("customers"))
        try:
            agents = rig.start_agents(2, tmp_path_factory.mktemp("agents"))
        except BaseException:
            customers.stop()
            raise
        try:
            yield Rig(url, customers, agents)
        finally:
            rig.stop_agents(agents)
            customers.stop()


@dataclass
class Ari:
    """A plain ARI session: REST calls through ``http`` and every event Asterisk sends the session's
    own Stasis app ``app`` (subscribed to every channel and bridge: also channels that never enter Stasis) in
    ``events``."""

    http: httpx.AsyncClient
    app: str
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, match: Callable[[Event], bool], timeout_s: float = 15.0) -> Event:
        """The first event (already seen or arriving within ``timeout_s`` seconds) that matches."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            for e in self.events[seen:]:
                if match(e):
                    return e
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching ARI event in {timeout_s} s; last: {self.events[-5:]}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=left)

    def of_channel(self, channel_id: str, kind: str | None = None) -> list[Event]:
        return [
            e for e in self.events
            if e.get("channel", {}).get("id") == channel_id and (kind is None or e["type"] == kind)
        ]


@contextlib.asynccontextmanager
async def ari_session(url: str) -> AsyncIterator[Ari]:
    app = f"{APP}-{next(_sessions)}"
    ws_url = url.replace("http://", "ws://") + (
        f"/ari/events?app={app}&api_key={rig.ARI_USER}:{rig.ARI_PASSWORD}"
    )
    async with (
        websockets.connect(ws_url) as ws,
        httpx.AsyncClient(base_url=url + "/ari", auth=(rig.ARI_USER, rig.ARI_PASSWORD), timeout=10) as http,
    ):
        ari = Ari(http, app)
        # every channel and bridge, but not device states (subscribeAll's): closing a session while a device
        # state is dispatched to it locks Asterisk 22.10's ARI (asterisk/asterisk#2170), seen here in CI
        subscribed = await http.post(f"/applications/{app}/subscription", params={"eventSource": "channel:,bridge:"})
        subscribed.raise_for_status()

        async def read() -> None:
            async for raw in ws:
                ari.events.append(json.loads(raw))
                ari.changed.set()

        reader = asyncio.create_task(read())
        try:
            yield ari
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader


def is_event(kind: str, channel_id: str) -> Callable[[Event], bool]:
    return lambda e: e["type"] == kind and e.get("channel", {}).get("id") == channel_id


def entered(channel_id: str, bridge_id: str) -> Callable[[Event], bool]:
    return lambda e: is_event("ChannelEnteredBridge", channel_id)(e) and e["bridge"]["id"] == bridge_id


# --- Customer outcomes: originate into the AMD context --------------------------------------------


@dataclass
class Outcome:
    number: str
    channel_id: str
    cause: int
    amd: list[str] | None


@pytest.fixture(scope="module")
def outcomes(asterisk: Rig) -> dict[str, Outcome]:
    """One call per behaviour of the number plan, all at once, each originated with ``POST /channels``
    into the AMD context. An answered call is hung up by the test as soon as AMD's StasisStart
    arrives. Returns, per behaviour, the ChannelDestroyed cause and the StasisStart args."""

    async def run() -> dict[str, Outcome]:
        async with ari_session(asterisk.url) as ari:
            calls: dict[str, tuple[str, str]] = {}
            for i, behaviour in enumerate(rig.NUMBER_PLAN):
                number = rig.customer_number(behaviour, ring_s=1, talk=0, prefix=f"07009{i:02d}")
                channel_id = f"rig-{behaviour}-{uuid.uuid4().hex[:8]}"
                r = await ari.http.post("/channels", params={
                    "endpoint": f"PJSIP/{number}@{rig.TRUNK}",
                    "context": rig.AMD_CONTEXT, "extension": "s", "priority": 1,
                    "timeout": RING_TIMEOUT_S, "channelId": channel_id,
                    "callerId": f'"Rig" <{CALLER_ID}>',
                }, json={"variables": {"DIALER_APP": ari.app}})
                assert r.status_code == 200, r.text
                calls[behaviour] = (number, channel_id)

            async def follow(number: str, channel_id: str) -> Outcome:
                def amd_or_gone(e: Event) -> bool:
                    return is_event("StasisStart", channel_id)(e) or is_event("ChannelDestroyed", channel_id)(e)

                first = await ari.wait(amd_or_gone, timeout_s=RING_TIMEOUT_S + 15)
                amd = None
                if first["type"] == "StasisStart":
                    amd = first["args"]
                    await ari.http.delete(f"/channels/{channel_id}")
                gone = await ari.wait(is_event("ChannelDestroyed", channel_id), timeout_s=10)
                return Outcome(number, channel_id, gone["cause"], amd)

            # A live answer where the customer hangs up (5 s after answering) while the dialer
            # leaves the channel in Stasis, in no bridge.
            number = rig.customer_number("human", ring_s=0, talk=1, prefix="0700999")
            hangs_up = f"rig-hangs-up-{uuid.uuid4().hex[:8]}"
            r = await ari.http.post("/channels", params={
                "endpoint": f"PJSIP/{number}@{rig.TRUNK}", "context": rig.AMD_CONTEXT, "extension": "s",
                "priority": 1, "timeout": RING_TIMEOUT_S, "channelId": hangs_up,
            }, json={"variables": {"DIALER_APP": ari.app}})
            assert r.status_code == 200, r.text

            async def left_alone() -> Outcome:
                amd = (await ari.wait(is_event("StasisStart", hangs_up)))["args"]
                gone = await ari.wait(is_event("ChannelDestroyed", hangs_up), timeout_s=15)
                return Outcome(number, hangs_up, gone["cause"], amd)

            results = await asyncio.gather(*(follow(n, c) for n, c in calls.values()), left_alone())
            return dict(zip([*calls, "customer_hangs_up"], results, strict=True))

    return asyncio.run(run())


@pytest.mark.parametrize("behaviour", list(rig.NUMBER_PLAN))
def test_hangup_cause_follows_the_customer(asterisk: Rig, outcomes: dict[str, Outcome], behaviour: str) -> None:
    """ChannelDestroyed's cause is the outcome the driver must read: 16 normal (answered, hung up
    by the dialer), 17 busy, 19 no answer (originate timed out: 19, not 0, on this Asterisk), 21
    rejected, 1 unallocated, 34 congestion, 19 for a 480."""
    expected = rig.NUMBER_PLAN[behaviour]
    outcome = outcomes[behaviour]
    assert outcome.cause == expected.causes[0], (behaviour, outcome)
    assert rig.behaviour_of(outcome.number) == expected


@pytest.mark.parametrize("behaviour", list(rig.NUMBER_PLAN))
def test_customer_log_matches_what_asterisk_reported(
    asterisk: Rig, outcomes: dict[str, Outcome], behaviour: str
) -> None:
    """The customer side's own log says what it did to each number, so a test can compare a
    dialer's ledger with it; and it saw the caller ID set on originate."""
    number = outcomes[behaviour].number
    done = asterisk.customers.wait_for(number, CUSTOMER_EVENT[behaviour], timeout_s=10)
    assert done.detail == str(rig.NUMBER_PLAN[behaviour].sip_status)
    invite = next(e for e in asterisk.customers.events() if e.number == number and e.event == "invite")
    assert invite.detail.split()[-1] == CALLER_ID
    if behaviour in ("human", "machine", "unsure"):
        asterisk.customers.wait_for(number, "bye_from_dialer", timeout_s=10)


def test_customer_hangs_up_outside_a_bridge(asterisk: Rig, outcomes: dict[str, Outcome]) -> None:
    """A surprise of Asterisk 22: when the customer sends BYE while its channel sits in Stasis in
    no bridge, ChannelDestroyed's cause is 0 (Unknown), after a ChannelHangupRequest without a cause
    and one with 16 (the dialplan's Hangup() once Stasis returns). In a bridge the same BYE gives 16
    (the agent test). A driver must treat 0 after an answer as a normal end, not a failure."""
    outcome = outcomes["customer_hangs_up"]
    assert outcome.amd is not None and outcome.amd[1] == "HUMAN"
    assert outcome.cause in (0, 16), outcome
    assert asterisk.customers.outcomes()[outcome.number] == ["answered", "bye_from_customer"]


def test_amd_says_human_for_a_live_answer(outcomes: dict[str, Outcome]) -> None:
    """A short "Hello?" then silence: AMD says HUMAN; the Stasis args are amd, AMDSTATUS, AMDCAUSE."""
    amd = outcomes["human"].amd
    assert amd is not None and amd[:2] == ["amd", "HUMAN"], amd
    assert amd[2].startswith("HUMAN-")


def test_amd_says_machine_for_a_long_greeting(outcomes: dict[str, Outcome]) -> None:
    """A greeting of about 12 s without pause: AMD says MACHINE (LONGGREETING or MAXWORDS)."""
    amd = outcomes["machine"].amd
    assert amd is not None and amd[:2] == ["amd", "MACHINE"], amd
    assert amd[2].split("-")[0] in ("LONGGREETING", "MAXWORDS"), amd


def test_amd_says_not_sure_when_its_analysis_time_runs_out(outcomes: dict[str, Outcome]) -> None:
    """Sounds neither a greeting nor a machine's within 5 s: AMD says NOTSURE (TOOLONG), a verdict the
    dialer keeps apart from HUMAN."""
    amd = outcomes["unsure"].amd
    assert amd is not None and amd[:2] == ["amd", "NOTSURE"], amd
    assert amd[2].startswith("TOOLONG"), amd


def test_unanswered_numbers_never_enter_stasis(outcomes: dict[str, Outcome]) -> None:
    """Only answered calls reach the AMD context and Stasis: the others end in the ring phase."""
    for behaviour in rig.NUMBER_PLAN:
        outcome = outcomes[behaviour]
        assert (outcome.amd is not None) == (rig.NUMBER_PLAN[behaviour].amd is not None), (behaviour, outcome)


def test_dialer_cancels_while_ringing(asterisk: Rig) -> None:
    """A call the dialer hangs up while it rings (DELETE /channels/{id} before the answer): Asterisk
    sends CANCEL, the customer logs ``cancelled``, and the channel ends with the hangup reason the
    dialer gave (``normal``: 16), not a customer outcome."""
    number = rig.customer_number("human", ring_s=6, talk=0, prefix="0700990")

    async def run() -> int:
        async with ari_session(asterisk.url) as ari:
            channel_id = f"rig-cancel-{uuid.uuid4().hex[:8]}"
            r = await ari.http.post("/channels", params={
                "endpoint": f"PJSIP/{number}@{rig.TRUNK}", "context": rig.AMD_CONTEXT, "extension": "s",
                "priority": 1, "timeout": 20, "channelId": channel_id}, json={"variables": {"DIALER_APP": ari.app}})
            assert r.status_code == 200, r.text
            await ari.wait(lambda e: is_event("ChannelStateChange", channel_id)(e)
                           and e["channel"]["state"] == "Ringing")
            await asyncio.sleep(1.0)
            r = await ari.http.delete(f"/channels/{channel_id}", params={"reason": "normal"})
            assert r.status_code == 204, r.text
            return int((await ari.wait(is_event("ChannelDestroyed", channel_id)))["cause"])

    assert asyncio.run(run()) == 16
    done = asterisk.customers.wait_for(number, "cancelled", timeout_s=5)
    assert done.detail == "487"
    assert asterisk.customers.outcomes()[number] == ["cancelled"]


# --- The create-then-dial flow ---------------------------------------------------------------------


def test_create_then_dial_then_continue_into_amd(asterisk: Rig) -> None:
    """The flow where no early event may be missed: ``POST /channels/create`` (the channel is in
    Stasis from the start, StasisStart args = appArgs), ``POST /channels/{id}/dial``, the Dial event
    with dialstatus ANSWER, then ``POST /channels/{id}/continue`` into the AMD context, which
    leaves Stasis (StasisEnd) and comes back with StasisStart args amd/HUMAN/... . A busy number
    ends with cause 17, a dial timeout with cause 19. Caller ID goes in as CALLERID() variables."""

    async def run() -> None:
        async with ari_session(asterisk.url) as ari:
            ids = {}
            for behaviour in ("human", "busy", "no_answer"):
                number = rig.customer_number(behaviour, ring_s=1, talk=0, prefix="0700970")
                channel_id = f"rig-create-{behaviour}-{uuid.uuid4().hex[:8]}"
                r = await ari.http.post("/channels/create", params={
                    "endpoint": f"PJSIP/{number}@{rig.TRUNK}", "app": ari.app,
                    "appArgs": "dialed", "channelId": channel_id,
                }, json={"variables": {"CALLERID(num)": CALLER_ID, "CALLERID(name)": "Rig"}})
                assert r.status_code == 200, r.text
                await ari.wait(is_event("StasisStart", channel_id), timeout_s=5)
                r = await ari.http.post(f"/channels/{channel_id}/dial", params={"timeout": 4})
                assert r.status_code == 204, r.text
                ids[behaviour] = channel_id

            human = ids["human"]
            await ari.wait(lambda e: e["type"] == "Dial" and e.get("peer", {}).get("id") == human
                           and e.get("dialstatus") == "ANSWER", timeout_s=10)
            r = await ari.http.post(f"/channels/{human}/variable", params={"variable": "DIALER_APP", "value": ari.app})
            assert r.status_code == 204, r.text
            r = await ari.http.post(f"/channels/{human}/continue", params={
                "context": rig.AMD_CONTEXT, "extension": "s", "priority": 1})
            assert r.status_code == 204, r.text
            amd = await ari.wait(lambda e: is_event("StasisStart", human)(e) and e["args"][0] == "amd",
                                 timeout_s=10)
            assert amd["args"][1] == "HUMAN", amd
            await ari.http.delete(f"/channels/{human}")
            causes = {
                b: (await ari.wait(is_event("ChannelDestroyed", c), timeout_s=15))["cause"]
                for b, c in ids.items()
            }
            assert causes == {"human": 16, "busy": 17, "no_answer": 19}, causes

    asyncio.run(run())


# --- Agents: holding bridge, mixing bridge, recording ---------------------------------------------


def wav_rms(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS of the 16-bit samples, 0-32767) of a PCM WAV file."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    rms = (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5
    return seconds, rms


def test_agent_holds_then_talks_to_a_customer_and_the_bridge_is_recorded(asterisk: Rig) -> None:
    """An agent's baresip answers at once and waits in a holding bridge (the nailed-up leg); a
    human customer's leg and the agent's go into a mixing bridge; ``POST /bridges/{id}/record``
    writes a WAV under /var/spool/asterisk/recording in the chroot, found on the host by
    :func:`rig.list_recordings`, with sound in it (the customer's speech and the agent's tone)."""
    agent = asterisk.agents[0]

    async def run() -> Path:
        async with ari_session(asterisk.url) as ari:
            holding = (await ari.http.post("/bridges", params={"type": "holding", "name": "rig-agents"})).json()["id"]
            agent_leg = f"rig-agent-{uuid.uuid4().hex[:8]}"
            r = await ari.http.post("/channels", params={
                "endpoint": agent.endpoint, "app": ari.app, "appArgs": "agent,1",
                "channelId": agent_leg, "timeout": 10})
            assert r.status_code == 200, r.text
            start = await ari.wait(is_event("StasisStart", agent_leg))
            assert start["args"] == ["agent", "1"] and start["channel"]["state"] == "Up"
            r = await ari.http.post(f"/bridges/{holding}/addChannel", params={"channel": agent_leg})
            assert r.status_code == 204, r.text
            await ari.wait(entered(agent_leg, holding))

            number = rig.customer_number("human", ring_s=0, talk=2, prefix="0700980")
            customer_leg = f"rig-customer-{uuid.uuid4().hex[:8]}"
            r = await ari.http.post("/channels", params={
                "endpoint": f"PJSIP/{number}@{rig.TRUNK}", "context": rig.AMD_CONTEXT,
                "extension": "s", "priority": 1, "timeout": 10, "channelId": customer_leg},
                json={"variables": {"DIALER_APP": ari.app}})
            assert r.status_code == 200, r.text
            amd = await ari.wait(is_event("StasisStart", customer_leg))
            assert amd["args"][:2] == ["amd", "HUMAN"], amd

            mixing = f"rig-mix-{customer_leg}"
            r = await ari.http.post("/bridges", params={"type": "mixing", "bridgeId": mixing})
            assert r.status_code == 200, r.text
            r = await ari.http.post(f"/bridges/{mixing}/addChannel", params={"channel": f"{agent_leg},{customer_leg}"})
            assert r.status_code == 204, r.text
            for leg in (agent_leg, customer_leg):
                await ari.wait(entered(leg, mixing))
            assert (await ari.http.get(f"/bridges/{holding}")).json()["channels"] == []

            name = f"rig-attempt-{customer_leg}"
            r = await ari.http.post(f"/bridges/{mixing}/record", params={
                "name": name, "format": "wav", "ifExists": "overwrite", "maxDurationSeconds": 30})
            assert r.status_code == 201, r.text
            await ari.wait(lambda e: e["type"] == "RecordingStarted" and e["recording"]["name"] == name)
            # The customer hangs up by itself 10 s after answering (talk digit 2).
            gone = await ari.wait(is_event("ChannelDestroyed", customer_leg), timeout_s=15)
            assert gone["cause"] == 16, gone  # in a bridge, a customer's BYE is 16 (see the outcomes test)
            r = await ari.http.post(f"/recordings/live/{name}/stop")
            assert r.status_code == 204, r.text
            await ari.wait(lambda e: e["type"] == "RecordingFinished" and e["recording"]["name"] == name)
            stored = (await ari.http.get(f"/recordings/stored/{name}")).json()
            assert stored["format"] == "wav", stored
            agent_events = [e["type"] for e in ari.of_channel(agent_leg)]
            assert "ChannelDestroyed" not in agent_events, "the agent's leg outlives the customer's"

            await ari.http.delete(f"/channels/{agent_leg}")
            assert (await ari.wait(is_event("ChannelDestroyed", agent_leg)))["cause"] == 16
            for bridge in (mixing, holding):
                await ari.http.delete(f"/bridges/{bridge}")
            return rig.recordings_dir() / f"{name}.wav"

    path = asyncio.run(run())
    assert path in rig.list_recordings(".wav")
    seconds, rms = wav_rms(path)
    path.unlink()  # the chroot's spool would otherwise grow by one file per run
    assert 6.0 <= seconds <= 10.0, seconds
    assert rms > 100, rms


def test_installed_sound_plays_to_a_customer(asterisk: Rig) -> None:
    """:func:`rig.install_sound` makes a campaign's safe-harbour message (espeak-ng) that Asterisk
    plays with ``POST /channels/{id}/play?media=sound:dialer/<name>`` to the end (PlaybackFinished,
    state done, after as long as the message lasts)."""
    media = rig.install_sound("rig-test-safe-harbour", "This call was from the rig. To call back, dial 0 1 2 3.")
    assert media == "sound:dialer/rig-test-safe-harbour"
    ulaw = rig.asterisk_root() / "usr" / "share" / "asterisk" / "sounds" / "dialer" / "rig-test-safe-harbour.ulaw"
    message_s = ulaw.stat().st_size / rig.SAMPLE_RATE

    async def run() -> tuple[str, float]:
        async with ari_session(asterisk.url) as ari:
            number = rig.customer_number("human", ring_s=0, talk=0, prefix="0700995")
            channel_id = f"rig-play-{uuid.uuid4().hex[:8]}"
            r = await ari.http.post("/channels", params={
                "endpoint": f"PJSIP/{number}@{rig.TRUNK}", "context": rig.AMD_CONTEXT, "extension": "s",
                "priority": 1, "timeout": 10, "channelId": channel_id}, json={"variables": {"DIALER_APP": ari.app}})
            assert r.status_code == 200, r.text
            await ari.wait(is_event("StasisStart", channel_id))
            r = await ari.http.post(f"/channels/{channel_id}/play", params={"media": media})
            assert r.status_code == 201, r.text
            playback_id = r.json()["id"]
            began = await ari.wait(lambda e: e["type"] == "PlaybackStarted" and e["playback"]["id"] == playback_id)
            done = await ari.wait(lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == playback_id)
            await ari.http.delete(f"/channels/{channel_id}")
            await ari.wait(is_event("ChannelDestroyed", channel_id))
            return done["playback"]["state"], _seconds_between(began, done)

    state, seconds = asyncio.run(run())
    assert state == "done"
    # played to its end: as long as the message, by Asterisk's own event times (not the test's clock)
    assert message_s - 0.5 <= seconds <= message_s + 6.0, (seconds, message_s)


def _seconds_between(earlier: Event, later: Event) -> float:
    """Seconds between two ARI events by their ``timestamp`` (Asterisk's clock, e.g. 2024-05-01T10:00:00.123+0000)."""
    return (datetime.fromisoformat(later["timestamp"]) - datetime.fromisoformat(earlier["timestamp"])).total_seconds()

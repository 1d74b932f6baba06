"""The Asterisk ARI driver against an in-process fake ARI: a real HTTP and WebSocket server on loopback.

Why a fake here: these tests check the driver's requests and its handling
of each event, fast and one at a time. The fake answers the way Asterisk's
``rest-api/api-docs`` say it does (create returns the channel, DELETE on a
channel is followed by its ``ChannelDestroyed`` with cause 16, a bridge id
taken is a 409), records every request, and lets a test push events or drop
the event stream. The engine is the real ``Engine`` with the scripted
controller and world of ``tests/test_engine.py``. The real-Asterisk test is
``tests/test_asterisk_driver_real.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from dialer.core.calls import Call, CallState
from dialer.core.engine import CampaignSettings, Engine
from dialer.core.outcomes import LineEnd
from dialer.drivers import asterisk
from dialer.drivers.asterisk import (
    AMD_DEFAULTS,
    AMD_VERDICTS,
    HANGUP_CAUSES,
    RECORDING_ID,
    AgentUnreachable,
    AmdSettings,
    AriServer,
    AsteriskDriver,
    Backoff,
    CampaignTelephony,
    line_end_for_cause,
    new_recording_name,
)
from dialer.records import Outcome
from dialer.service.clock import AsyncioClock
from dialer.service.logs import JsonFormatter
from tests.test_engine import Scripted, World

REPO = Path(__file__).resolve().parent.parent
USER, PASSWORD = "dialer", "s3cret"
CALLER_ID = "+441632960000"


@dataclass
class Seen:
    """One request the fake received: query parameters and JSON body as sent."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    url: str


@dataclass
class FakeAri:
    """A loopback ARI server. ``refuse``: event-stream connections to refuse next (HTTP 403); ``fail``: path
    suffix -> HTTP status to answer instead (once each)."""

    requests: list[Seen] = field(default_factory=list)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    bridges: dict[str, dict[str, Any]] = field(default_factory=dict)
    sockets: list[WebSocket] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    refuse: int = 0
    fail: dict[str, int] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    enter_stasis: bool = True
    closes: list[int] = field(default_factory=list)  # close codes of event streams the driver ended
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    # -- life --------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        routes = [Route("/ari/channels", self.list_channels, methods=["GET"]),
                  Route("/ari/channels/create", self.create, methods=["POST"]),
                  Route("/ari/channels/{id}", self.delete_channel, methods=["DELETE"]),
                  Route("/ari/channels/{id}/{verb}", self.channel_verb, methods=["POST"]),
                  Route("/ari/channels/{id}/play/{playback}", self.play, methods=["POST"]),
                  Route("/ari/bridges", self.list_bridges, methods=["GET"]),
                  Route("/ari/bridges/{id}", self.bridge, methods=["POST", "DELETE"]),
                  Route("/ari/bridges/{id}/{verb}", self.bridge_verb, methods=["POST"]),
                  WebSocketRoute("/ari/events", self.events)]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off", ws="wsproto",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        await until(lambda: self._server is not None and self._server.started)

    async def stop(self) -> None:
        await self.drop()
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server(self, trunk_limit: int = 10, name: str = "") -> AriServer:
        return AriServer(self.url, USER, PASSWORD, trunk_limit, dial_string="PJSIP/{number}@customers", name=name)

    # -- what the test does ------------------------------------------------------------------------------------
    async def push(self, type_: str, **fields: Any) -> None:
        """Send an event to every open event stream (the driver handles it before the next push is read)."""
        for ws in list(self.sockets):
            await ws.send_text(json.dumps({"type": type_, "application": "dialer", **fields}))

    async def state(self, channel_id: str, state: str) -> None:
        self.channels[channel_id]["state"] = state
        await self.push("ChannelStateChange", channel=self.channels[channel_id])

    async def destroyed(self, channel_id: str, cause: int) -> None:
        channel = self.channels.pop(channel_id)
        await self.push("ChannelDestroyed", cause=cause, cause_txt="", channel=channel)

    async def drop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        self.sockets.clear()

    def seen(self, method: str, suffix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def created(self) -> list[str]:
        """Customer channels created, in order (agents' lines and refused creates excluded)."""
        return list(self.made)

    # -- the ARI side ------------------------------------------------------------------------------------------
    async def _record(self, request: Request) -> Response | None:
        body = json.loads(await request.body() or b"null")
        self.requests.append(Seen(request.method, request.url.path, dict(request.query_params), body,
                                  str(request.url)))
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response(status_code=401)
        for suffix, status in list(self.fail.items()):
            if request.url.path.endswith(suffix):
                del self.fail[suffix]
                return Response(status_code=status)
        return None

    async def list_channels(self, request: Request) -> Response:
        return await self._record(request) or JSONResponse(list(self.channels.values()))

    async def list_bridges(self, request: Request) -> Response:
        return await self._record(request) or JSONResponse(list(self.bridges.values()))

    async def create(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        body = self.requests[-1].body
        channel = {"id": body["channelId"], "name": body["endpoint"], "state": "Down"}
        self.channels[channel["id"]] = channel
        if body["appArgs"] == "call":
            self.made.append(channel["id"])
        if self.enter_stasis:  # as Asterisk: the new channel enters the app on its own thread, just after
            stasis = self.push("StasisStart", args=[body["appArgs"]], channel=channel)
            asyncio.get_running_loop().call_soon(asyncio.ensure_future, stasis)
        return JSONResponse(channel)

    async def delete_channel(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        channel_id = request.path_params["id"]
        if channel_id not in self.channels:
            return Response(status_code=404)
        asyncio.get_running_loop().call_soon(asyncio.ensure_future, self.destroyed(channel_id, 16))
        return Response(status_code=204)

    async def channel_verb(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        return Response(status_code=204 if request.path_params["id"] in self.channels else 404)

    async def play(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        return JSONResponse({"id": request.path_params["playback"], "state": "queued"}, status_code=201)

    async def bridge(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        bridge_id = request.path_params["id"]
        if request.method == "DELETE":
            return Response(status_code=204 if self.bridges.pop(bridge_id, None) is not None else 404)
        if bridge_id in self.bridges:
            return Response(status_code=409)
        self.bridges[bridge_id] = {"id": bridge_id, "bridge_type": request.query_params.get("type"), "channels": []}
        return JSONResponse(self.bridges[bridge_id])

    async def bridge_verb(self, request: Request) -> Response:
        if (refused := await self._record(request)) is not None:
            return refused
        bridge_id, verb = request.path_params["id"], request.path_params["verb"]
        if bridge_id not in self.bridges:
            return Response(status_code=404)
        if verb == "addChannel":
            moved = request.query_params["channel"].split(",")
            for bridge in self.bridges.values():  # a channel is in one bridge: adding departs the other
                bridge["channels"] = [c for c in bridge["channels"] if c not in moved]
            self.bridges[bridge_id]["channels"] += moved
            return Response(status_code=204)
        return JSONResponse({"name": request.query_params.get("name"), "state": "queued"}, status_code=201)

    async def events(self, ws: WebSocket) -> None:
        self.attempts.append(time.monotonic())
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.refuse > 0 or ws.query_params.get("app") != "dialer" or ws.headers.get("authorization") != expected:
            self.refuse = max(0, self.refuse - 1)
            await ws.close(code=1008)
            return
        await ws.accept()
        self.sockets.append(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect as exc:
            self.closes.append(exc.code)
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)


async def until(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Wait for ``condition`` (polling every 5 ms); fail the test if it never holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.005)


@dataclass
class Floor:
    """One campaign: the real engine on the driver, its world and controller, and the fake servers."""

    driver: AsteriskDriver
    telephony: CampaignTelephony
    engine: Engine
    controller: Scripted
    world: World
    clock: AsyncioClock
    fakes: list[FakeAri]

    @property
    def fake(self) -> FakeAri:
        return self.fakes[0]

    def launch(self, n: int) -> list[Call]:
        """Have the controller launch ``n`` calls now; the engine's new calls, oldest first."""
        before = set(self.engine.calls)
        self.controller.launches.append(n)
        now = self.clock.now()
        self.engine.start_dialing(now, 1e9)
        self.engine.advance(now)
        return [self.engine.calls[k] for k in sorted(set(self.engine.calls) - before)]

    async def dialled(self, count: int) -> list[str]:
        """The customer channels, once ``count`` have been created and dialled."""
        await until(lambda: len(self.all_seen("POST", "/dial")) >= count + self.agent_dials())
        return [c for fake in self.fakes for c in fake.created()]

    def all_seen(self, method: str, suffix: str) -> list[Seen]:
        return [r for fake in self.fakes for r in fake.seen(method, suffix)]

    def agent_dials(self) -> int:
        creates = self.all_seen("POST", "/channels/create")
        agents = {r.body["channelId"] for r in creates if r.body["appArgs"] == "agent"}
        return sum(1 for r in self.all_seen("POST", "/dial") if r.path.split("/")[-2] in agents)

    async def log_in(self, agent: str) -> str:
        """Log the agent in: their phone answers; the engine hears of it once the line is held."""
        task = asyncio.create_task(self.driver.log_in_agent(agent))
        fake = self.fake
        await until(lambda: any(r.body["appArgs"] == "agent" and r.body["endpoint"] == f"PJSIP/{agent}"
                                for r in fake.seen("POST", "/channels/create")))
        leg = [r.body["channelId"] for r in fake.seen("POST", "/channels/create")
               if r.body["endpoint"] == f"PJSIP/{agent}"][-1]
        await until(lambda: bool(fake.seen("POST", f"/channels/{leg}/dial")))
        await fake.state(leg, "Up")
        await task
        self.engine.log_in(agent, self.clock.now())
        return leg

    async def close(self) -> None:
        await self.driver.stop()
        for fake in self.fakes:
            await fake.stop()


FAST = Backoff(0.05, 2.0, 1.0)


async def floor(trunk_limits: tuple[int, ...] = (10,), campaign_limit: int = 10, amd: bool = False,
                backoff: Backoff = FAST, lost: list[str] | None = None) -> Floor:
    fakes = [FakeAri() for _ in trunk_limits]
    for fake in fakes:
        await fake.start()
    servers = [f.server(limit, name=f"ast{k}") for k, (f, limit) in enumerate(zip(fakes, trunk_limits, strict=True))]
    driver = AsteriskDriver(servers, backoff=backoff, on_agent_lost=None if lost is None else lost.append)
    await driver.start()
    await until(lambda: driver.connected)
    clock = AsyncioClock(asyncio.get_running_loop())
    telephony = driver.campaign("loans", clock, CALLER_ID, campaign_limit, "loans-safe-harbour")
    controller, world = Scripted(), World()
    settings = CampaignSettings("loans", caller_id=CALLER_ID, amd=amd, ring_timeout_s=10.0, connect_limit_s=2.0)
    engine = Engine(settings, controller, world, telephony, world, world, world)
    telephony.attach(engine)
    return Floor(driver, telephony, engine, controller, world, clock, fakes)


def run(test: Callable[[Floor], Coroutine[Any, Any, None]], **options: Any) -> None:
    """Run ``test`` on a fresh floor in its own event loop, closing everything after."""

    async def main() -> None:
        f = await floor(**options)
        try:
            await test(f)
        finally:
            await f.close()

    asyncio.run(main())


# -- tables ----------------------------------------------------------------------------------------------------

def test_hangup_cause_table_gives_the_issues_line_ends():
    issue = {16: LineEnd.SHUTDOWN, 17: LineEnd.BUSY, 18: LineEnd.NO_ANSWER, 19: LineEnd.NO_ANSWER,
             21: LineEnd.NO_ANSWER, 1: LineEnd.INVALID, 34: LineEnd.CONGESTION}
    for cause, end in issue.items():
        assert HANGUP_CAUSES[cause] is end, cause
    for cause, end in HANGUP_CAUSES.items():
        assert line_end_for_cause(cause, after_timeout=False) is end
    assert line_end_for_cause(0, after_timeout=True) is LineEnd.NO_ANSWER  # Asterisk's timeout quirk
    assert line_end_for_cause(16, after_timeout=True) is LineEnd.NO_ANSWER  # our own hang-up at the timeout
    assert line_end_for_cause(0, after_timeout=False) is LineEnd.CONGESTION
    assert line_end_for_cause(127, after_timeout=True) is LineEnd.CONGESTION  # unknown: a network fault


def test_amd_verdicts_and_recording_names_that_no_two_attempts_share():
    assert {status: verdict.ledger for status, verdict in AMD_VERDICTS.items()} == {
        "MACHINE": "machine", "HUMAN": "human", "NOTSURE": "not_sure"}
    assert not AMD_VERDICTS["NOTSURE"].machine  # a call AMD is unsure of goes to a person
    names = {new_recording_name("Loans / spring") for _ in range(100)}
    assert len(names) == 100 and all(n.startswith("Loans_spring/") for n in names)


def test_amd_settings_go_to_amd_in_its_order_and_the_defaults_are_the_rigs_amd_conf():
    """``AMD()`` takes its settings positionally; a field out of order would silently change another."""
    conf = dict(line.split(" = ") for line in (REPO / ".ci" / "asterisk" / "amd.conf").read_text().splitlines()
                if " = " in line and not line.startswith(";"))
    order = ["initial_silence", "greeting", "after_greeting_silence", "total_analysis_time", "min_word_length",
             "between_words_silence", "maximum_number_of_words", "silence_threshold", "maximum_word_length"]
    assert AmdSettings().args == ",".join(conf[key] for key in order)
    assert AmdSettings(maximum_number_of_words=6).args.split(",")[6] == "6"
    assert set(AMD_DEFAULTS) == {"nl", "fr", "pl", "hu", "ru", "en"}


# -- originate -------------------------------------------------------------------------------------------------

def test_originate_creates_then_dials_with_the_number_and_caller_id_in_the_body():
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        (create,) = f.fake.seen("POST", "/channels/create")
        assert create.query == {} and "555" not in create.url  # nothing personal in the URL
        assert create.body == {"endpoint": f"PJSIP/{call.number}@customers", "app": "dialer", "appArgs": "call",
                               "channelId": channel,
                               "variables": {"CONNECTEDLINE(num,i)": CALLER_ID, "CALLERID(num)": CALLER_ID,
                                             "DIALER_APP": "dialer", "DIALER_AMD_ARGS": AmdSettings().args}}
        (dial,) = f.fake.seen("POST", f"/channels/{channel}/dial")
        assert dial.query == {"timeout": "18"}  # the engine asked 10 s: raised to the 15 s floor; Asterisk 3 s later
        assert f.fake.requests.index(create) < f.fake.requests.index(dial)
        assert call.state is CallState.RINGING and f.telephony.in_flight == 1

    run(test)


@pytest.mark.parametrize(("cause", "outcome"), [(17, Outcome.BUSY), (1, Outcome.INVALID), (34, Outcome.FAILED),
                                                (21, Outcome.NO_ANSWER), (19, Outcome.NO_ANSWER)])
def test_an_unanswered_call_ends_with_its_hangup_cause(cause, outcome):
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.destroyed(channel, cause)
        await until(lambda: call.state is CallState.ENDED)
        assert call.outcome is outcome and f.world.recorded == [call]
        assert f.telephony.in_flight == 0

    run(test)


def test_cause_zero_is_no_answer_only_after_the_ring_timeout():
    async def test(f: Floor) -> None:
        early, late = f.launch(2)
        first, second = await f.dialled(2)
        f.telephony.lines[late.id].dialled_at -= 15.0  # as if it had rung for the whole timeout
        await f.fake.push("ChannelHangupRequest", cause=0, soft=False, channel=f.fake.channels[second])
        await f.fake.destroyed(second, 0)
        await f.fake.destroyed(first, 0)
        await until(lambda: early.state is CallState.ENDED and late.state is CallState.ENDED)
        assert (late.outcome, early.outcome) == (Outcome.NO_ANSWER, Outcome.FAILED)

    run(test)


def test_the_hangup_requests_cause_counts_when_the_destroy_has_none():
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.push("ChannelHangupRequest", cause=17, soft=False, channel=f.fake.channels[channel])
        await f.fake.destroyed(channel, 0)
        await until(lambda: call.state is CallState.ENDED)
        assert call.outcome is Outcome.BUSY

    run(test)


def test_the_dial_waits_for_the_created_channel_to_enter_stasis(monkeypatch):
    """Asterisk refuses a dial before the channel's StasisStart (409, not in Stasis): a channel that never enters
    is given up when the driver's wait ends, never dialled; one that enters is dialled."""
    async def test(f: Floor) -> None:
        f.fake.enter_stasis = False
        monkeypatch.setattr(asterisk, "_STASIS_WAIT_S", 0.2)
        (lost,) = f.launch(1)
        await until(lambda: lost.state is CallState.ENDED)
        assert lost.outcome is Outcome.FAILED and not f.fake.seen("POST", "/dial")
        monkeypatch.undo()
        (call,) = f.launch(1)
        await until(lambda: len(f.fake.made) == 2)
        channel = f.fake.made[-1]
        await f.fake.push("StasisStart", args=["call"], channel=f.fake.channels[channel])
        await until(lambda: bool(f.fake.seen("POST", f"/channels/{channel}/dial")))
        assert call.state is CallState.RINGING

    run(test)


def test_a_refused_originate_fails_back_as_a_network_fault():
    async def test(f: Floor) -> None:
        f.fake.fail["/dial"] = 500
        (call,) = f.launch(1)
        await until(lambda: call.state is CallState.ENDED)
        assert call.outcome is Outcome.FAILED
        await until(lambda: len(f.fake.seen("DELETE", "")) == 1)  # the created channel is not left behind
        assert f.telephony.in_flight == 0

    run(test)


# -- answers, AMD, agents --------------------------------------------------------------------------------------

def test_an_answer_connects_the_agent_in_a_recorded_mixing_bridge_and_the_agent_returns_to_hold():
    async def test(f: Floor) -> None:
        leg = await f.log_in("agent1")
        assert f.fake.bridges["dialer-holding"]["bridge_type"] == "holding"
        assert f.fake.bridges["dialer-holding"]["channels"] == [leg]
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: bool(f.fake.seen("POST", "/record")))
        assert call.state is CallState.TALKING and call.agent == "agent1"
        talk = f"{channel}-talk"
        assert f.fake.bridges[talk]["bridge_type"] == "mixing"
        assert sorted(f.fake.bridges[talk]["channels"]) == sorted([channel, leg])
        assert f.fake.bridges["dialer-holding"]["channels"] == []
        (join,) = f.fake.seen("POST", f"/bridges/{talk}/addChannel")
        assert join.query["inhibitConnectedLineUpdates"] == "true"  # the customer is not shown "agent1"
        (record,) = f.fake.seen("POST", f"/bridges/{talk}/record")
        assert record.query == {"name": call.recording, "format": "wav", "ifExists": "fail"}
        assert call.recording is not None and RECORDING_ID.fullmatch(call.recording.removeprefix("loans/"))
        await f.fake.destroyed(channel, 16)  # the customer hangs up
        await until(lambda: talk not in f.fake.bridges)
        assert f.engine.pool.get("agent1").state.value == "wrap_up"
        assert f.fake.bridges["dialer-holding"]["channels"] == [leg]
        assert call.as_record(datetime(2026, 1, 5, tzinfo=UTC)).recording == call.recording  # into the ledger

    run(test)


def test_the_agent_hanging_up_ends_the_customer_leg_without_a_second_report():
    async def test(f: Floor) -> None:
        leg = await f.log_in("agent1")
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: bool(f.fake.seen("POST", "/record")))
        f.engine.agent_hang_up("agent1", f.clock.now())
        await until(lambda: f.fake.bridges["dialer-holding"]["channels"] == [leg])
        assert [r.path for r in f.fake.seen("DELETE", "/channels/" + channel)]
        assert call.state is CallState.ENDED and f.telephony.in_flight == 0

    run(test)


@pytest.mark.parametrize(("status", "machine"), [("MACHINE", True), ("HUMAN", False), ("NOTSURE", False)])
def test_amd_runs_in_the_dialplan_and_its_reentry_gives_the_verdict(status, machine):
    async def test(f: Floor) -> None:
        await f.log_in("agent1")
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: bool(f.fake.seen("POST", f"/channels/{channel}/continue")))
        (cont,) = f.fake.seen("POST", f"/channels/{channel}/continue")
        assert cont.query == {"context": "dialer-amd", "extension": "s", "priority": "1"}
        assert call.state is CallState.ANALYSING
        await f.fake.push("StasisEnd", channel=f.fake.channels[channel])
        await f.fake.push("StasisStart", args=["amd", status, "LONGGREETING"], channel=f.fake.channels[channel])
        await until(lambda: call.amd_machine is not None)
        assert call.amd_machine is machine
        if machine:  # the engine hangs up on a machine; the channel's end is not reported twice
            await until(lambda: f.telephony.in_flight == 0)
            assert call.outcome is Outcome.MACHINE and f.world.recorded == [call]
        else:
            await until(lambda: bool(f.fake.seen("POST", "/record")))
            assert call.state is CallState.TALKING

    run(test, amd=True)


def test_an_agents_phone_that_does_not_answer_refuses_the_log_in():
    async def test(f: Floor) -> None:
        task = asyncio.create_task(f.driver.log_in_agent("agent9", ring_timeout_s=5))
        await until(lambda: bool(f.fake.seen("POST", "/dial")))
        (leg,) = f.fake.channels
        await f.fake.destroyed(leg, 19)
        with pytest.raises(AgentUnreachable):
            await task
        assert "agent9" not in f.driver.agents

    run(test)


def test_an_agents_line_dropping_mid_call_ends_the_call_and_tells_the_daemon():
    lost: list[str] = []

    async def test(f: Floor) -> None:
        leg = await f.log_in("agent1")
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: bool(f.fake.seen("POST", "/record")))
        await f.fake.destroyed(leg, 16)
        await until(lambda: bool(f.fake.seen("DELETE", f"/channels/{channel}")))
        assert f.engine.pool.get("agent1").state.value == "wrap_up"
        await until(lambda: lost == ["agent1"])  # the stream stayed up: the phone hung up, not the server
        await until(lambda: call.state is CallState.ENDED and f.telephony.in_flight == 0)

    run(test, lost=lost)


def test_log_out_hangs_up_the_agents_line():
    async def test(f: Floor) -> None:
        leg = await f.log_in("agent1")
        await f.driver.log_out_agent("agent1")
        assert f.fake.seen("DELETE", f"/channels/{leg}") and "agent1" not in f.driver.agents

    run(test)


# -- connect limit ---------------------------------------------------------------------------------------------

def test_the_connect_limit_plays_the_safe_harbour_message_then_hangs_up():
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)  # no agent logged in: the answer waits
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: call.state is CallState.QUEUED)
        f.engine.advance(f.clock.now() + 2.0)
        await until(lambda: bool(f.fake.seen("POST", "/play/" + channel + "-sh")))
        (play,) = f.fake.seen("POST", f"/channels/{channel}/play/{channel}-sh")
        assert play.query == {"media": "sound:loans-safe-harbour"}
        assert not f.fake.seen("DELETE", "/channels/" + channel)  # not before the message has played
        await f.fake.push("PlaybackFinished", playback={"id": f"{channel}-sh", "target_uri": f"channel:{channel}",
                                                        "state": "done"})
        await until(lambda: call.state is CallState.ENDED)
        assert call.outcome is Outcome.ABANDONED and call.message_played and f.world.recorded == [call]

    run(test)


# -- trunks and servers ----------------------------------------------------------------------------------------

def test_calls_spread_by_load_over_two_servers_within_every_trunk_limit():
    async def test(f: Floor) -> None:
        one, two = f.fakes
        assert f.telephony.capacity() == 5  # the campaign's limit binds (2 + 4 trunks free)
        calls = f.launch(6)
        assert len(calls) == 6 and calls[5].state is CallState.RINGING  # the refusal comes from the loop
        await until(lambda: calls[5].state is CallState.ENDED)
        assert calls[5].outcome is Outcome.FAILED
        await f.dialled(5)
        assert (len(one.created()), len(two.created())) == (2, 3)
        assert f.telephony.capacity() == 0
        assert [(s.in_flight, s.trunk_limit) for s in f.driver.status()] == [(2, 2), (3, 4)]
        await one.destroyed(one.created()[0], 17)
        await until(lambda: f.telephony.capacity() == 1)

    run(test, trunk_limits=(2, 4), campaign_limit=5)


def test_a_full_server_sends_calls_to_the_other_and_a_dead_one_takes_none():
    async def test(f: Floor) -> None:
        one, two = f.fakes
        f.launch(2)
        await f.dialled(2)
        assert (len(one.created()), len(two.created())) == (1, 1)
        await two.stop()
        await until(lambda: not f.driver.connected)
        assert f.telephony.capacity() == 4  # server one: 5 trunks, 1 busy
        f.launch(2)
        await until(lambda: len(one.created()) == 3)
        assert len(two.created()) == 1
        f.fakes.remove(two)

    run(test, trunk_limits=(5, 5), campaign_limit=10)


# -- reconnect -------------------------------------------------------------------------------------------------

class _Waits:
    """The driver module's ``asyncio``, recording the seconds of every ``asyncio.sleep`` the driver awaits (its
    only sleep is the reconnect back-off): the schedule is read from the driver, not from the test's clock."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.seconds.append(delay)
        return await asyncio.sleep(delay, result)


def test_a_dropped_event_stream_reconnects_with_back_off_then_reconciles_with_get_channels(monkeypatch):
    waits = _Waits()
    monkeypatch.setattr(asterisk, "asyncio", waits)

    async def test(f: Floor) -> None:
        fake = f.fake
        answered, ringing, picked_up, still = f.launch(4)
        chans = await f.dialled(4)
        await fake.state(chans[0], "Up")
        await until(lambda: answered.state is CallState.QUEUED)
        fake.refuse = 3
        before = len(fake.attempts)
        await fake.drop()
        await until(lambda: not f.driver.connected)
        del fake.channels[chans[0]], fake.channels[chans[1]]  # ended while the stream was down: no events
        fake.channels[chans[2]]["state"] = "Up"                # answered meanwhile
        await until(lambda: f.driver.connected, timeout_s=5)
        assert len(fake.attempts) - before == 4  # three refused, then the one that stays open
        assert waits.seconds == pytest.approx([0.05, 0.1, 0.2, 0.4])  # before each attempt, doubling
        assert fake.seen("GET", "/channels")
        await until(lambda: ringing.state is CallState.ENDED and answered.state is CallState.ENDED)
        assert ringing.outcome is Outcome.INTERRUPTED  # unanswered and gone in a crash: not charged, soon again
        assert answered.outcome is Outcome.ABANDONED  # answered, waiting, gone: the engine's hung_up
        assert picked_up.state is CallState.QUEUED and still.state is CallState.RINGING
        assert f.telephony.in_flight == 2

    run(test, backoff=Backoff(0.05, 2.0, 1.0))


def test_a_reconnect_shuts_down_empty_conversation_bridges_left_behind():
    async def test(f: Floor) -> None:
        fake = f.fake
        for bridge_id, channels in (("dialer-old-talk", []), ("dialer-busy-talk", ["x"]), ("other-app-talk", [])):
            fake.bridges[bridge_id] = {"id": bridge_id, "bridge_type": "mixing", "channels": channels}
        await fake.drop()
        await until(lambda: not f.driver.connected)
        await until(lambda: f.driver.connected)
        assert sorted(fake.bridges) == ["dialer-busy-talk", "dialer-holding", "other-app-talk"]

    run(test)


def test_only_an_earlier_instance_of_the_same_daemon_is_swept_never_a_neighbours():
    """A restarted daemon hangs up what its crashed predecessor left, and nothing of another daemon on the
    same server (the daemon's app name carries its own name, then the instance)."""
    servers = [AriServer("http://127.0.0.1:1", "u", "p", 5)]
    now = AsteriskDriver(servers, "dialer-d1", instance="0f0f0f")
    before = AsteriskDriver(servers, "dialer-d1", instance="abc123")
    neighbour = AsteriskDriver(servers, "dialer-d1-b", instance="111111")
    assert now._earlier(f"{before.app}-agent-1") and now._earlier(f"{before.app}-holding")
    assert not now._earlier(f"{now.app}-call-1"), "its own"
    assert not now._earlier(f"{neighbour.app}-agent-1") and not now._earlier("dialer-d2-abc123-x")
    assert not AsteriskDriver(servers, "dialer-d1")._earlier(f"{before.app}-agent-1"), "no instance: no sweep"


# -- personal data ---------------------------------------------------------------------------------------------

def test_no_phone_number_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG)

    async def test(f: Floor) -> None:
        await f.log_in("agent1")
        f.fake.fail["/channels/create"] = 500
        f.fake.fail["/record"] = 409
        refused, call = f.launch(2)
        await until(lambda: refused.state is CallState.ENDED)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: bool(f.fake.seen("POST", "/record")))
        await f.fake.destroyed(channel, 16)
        await until(lambda: call.state is CallState.ENDED)
        assert (call.recording, call.recording_error) == (None, "409 Conflict")  # on the attempt, for the wallboard

    run(test)
    ours = [r for r in caplog.records if r.name.startswith("dialer")]
    lines = [r.getMessage() for r in caplog.records] + [str(vars(r)) for r in ours]  # raw: before any masking
    assert any("originate failed" in line for line in lines) and any("recording" in line for line in lines)
    assert not [line for line in lines if "5550000" in line]  # the leads' numbers are +1555000xxxx
    assert all("5550000" not in JsonFormatter().format(r) for r in ours)


def test_campaigns_sharing_a_server_share_its_trunk_limit():
    async def test(f: Floor) -> None:
        world = World()
        other = f.driver.campaign("surveys", f.clock, "+441632960001", 10, "surveys-safe-harbour")
        engine = Engine(CampaignSettings("surveys", ring_timeout_s=20.0), Scripted(launches=[2]), world, other,
                        world, world, world)
        other.attach(engine)
        f.launch(2)
        await f.dialled(2)
        assert other.capacity() == 1  # 3 trunks, 2 taken by the loans campaign
        engine.start_dialing(f.clock.now(), 1e9)
        engine.advance(f.clock.now())
        refused = [c for c in engine.calls.values()]
        await until(lambda: len(world.recorded) == 1)
        assert world.recorded[0].outcome is Outcome.FAILED and len(f.fake.created()) == 3
        (surveys,) = [r for r in f.fake.seen("POST", "/channels/create") if r.body["channelId"] == f.fake.made[2]]
        assert surveys.body["variables"]["CONNECTEDLINE(num,i)"] == "+441632960001"  # each campaign its caller ID
        assert len(refused) == 2

    run(test, trunk_limits=(3,), campaign_limit=10)


def test_a_customer_and_an_agent_on_different_servers_are_not_bridged():
    async def test(f: Floor) -> None:
        one, two = f.fakes
        await f.log_in("agent1")  # held on server one (the first with fewest agents)
        f.launch(2)
        await f.dialled(2)
        (channel,) = two.created()
        await two.state(channel, "Up")  # the customer on server two answers: the agent is on server one
        await until(lambda: bool(two.seen("DELETE", f"/channels/{channel}")))
        assert not two.seen("POST", "/addChannel") and not one.seen("POST", f"/bridges/{channel}-talk")

    run(test, trunk_limits=(5, 5))


def test_an_agent_line_lost_while_the_stream_was_down_is_called_back_on_reconnect_and_lost_if_it_cannot_be():
    lost: list[str] = []

    async def test(f: Floor) -> None:
        lines: list[tuple[str, bool]] = []
        f.driver.on_agent_line = lambda agent, held: lines.append((agent, held))
        leg = await f.log_in("agent1")
        await f.fake.drop()
        await until(lambda: not f.driver.connected)
        del f.fake.channels[leg]
        f.fake.fail["/channels/create"] = 503  # the server refuses the call back: the phone is unreachable
        await until(lambda: f.driver.connected)
        await until(lambda: lost == ["agent1"])
        assert lines == [("agent1", False)] and f.fake.seen("POST", "/channels/create")
        assert "agent1" not in f.driver.agents

    run(test, lost=lost)


def test_an_amd_verdict_that_came_while_the_stream_was_down_is_read_from_the_channel_at_reconnect():
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        await f.fake.state(channel, "Up")
        await until(lambda: call.state is CallState.ANALYSING)
        await f.fake.drop()
        await until(lambda: not f.driver.connected)
        f.fake.channels[channel]["dialplan"] = {"context": "dialer-amd", "exten": "s", "priority": 4,
                                                "app_name": "Stasis", "app_data": "dialer,amd,HUMAN,HUMAN-800-800"}
        await until(lambda: f.driver.connected)
        await until(lambda: call.state is not CallState.ANALYSING)
        assert call.amd_result is not None and call.amd_result.silence_s == 0.8 and not call.amd_machine

    run(test, amd=True)


def test_readiness_follows_every_servers_event_stream():
    async def test(f: Floor) -> None:
        assert f.driver.connected and [s.connected for s in f.driver.status()] == [True, True]
        f.fakes[1].refuse = 100
        await f.fakes[1].drop()
        await until(lambda: not f.driver.connected)
        assert [s.connected for s in f.driver.status()] == [True, False]
        f.fakes[1].refuse = 0
        await until(lambda: f.driver.connected)

    run(test, trunk_limits=(1, 1))


def test_a_malformed_event_is_logged_and_the_stream_goes_on(caplog):
    async def test(f: Floor) -> None:
        (call,) = f.launch(1)
        (channel,) = await f.dialled(1)
        for ws in f.fake.sockets:
            await ws.send_text("{not json")
        await f.fake.push("ChannelDestroyed", cause="seventeen", channel=f.fake.channels[channel])
        await f.fake.destroyed(channel, 17)
        await until(lambda: call.state is CallState.ENDED)
        assert call.outcome is Outcome.BUSY and f.driver.servers[0].connects == 1

    run(test)
    assert len([r for r in caplog.records if r.getMessage() == "ARI event not handled"]) == 2


def test_stop_closes_the_event_stream_cleanly_and_hangs_up_agents():
    async def test(f: Floor) -> None:
        leg = await f.log_in("agent1")
        await f.driver.stop()
        await until(lambda: f.fake.closes == [1000])  # a clean close: Asterisk unregisters the app at once
        assert f.fake.seen("DELETE", f"/channels/{leg}") and not f.driver.connected

    run(test)

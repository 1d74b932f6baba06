"""Real telephony: Asterisk through ARI (its REST interface and its WebSocket event stream).

Why plain httpx and ``websockets``: the Python ARI clients are abandoned
(ari-py, aioari) or in beta (asyncari), and the surface needed is small.

How a call goes (every endpoint and parameter name checked against
Asterisk's ``rest-api/api-docs``, 2026-08 tree):

- **Originate**: ``POST /channels/create`` with the channel id chosen here,
  then ``POST /channels/{id}/dial`` with the ring timeout (at least 15 s).
  Create-then-dial subscribes the app to the channel before it rings, so
  no early event (an instant busy, an answer) is missed. Everything that
  carries the number (the endpoint) or the caller ID goes in the JSON body,
  never in the URL, so no access log holds a phone number. The caller ID
  is set as the channel's ``CONNECTEDLINE(num,i)`` and ``CALLERID(num)``
  (PJSIP puts the connected line in ``From``/``P-Asserted-Identity``;
  ``/create`` has no callerId; without ``i`` Asterisk re-INVITEs the
  customer half a second after the answer to "update" it, which the rig's
  SIPp customer took for an unexpected INVITE and dropped the call). The
  dial waits for the created channel's ``StasisStart`` (see
  ``_STASIS_WAIT_S``).
- **Answer** is the channel's ``ChannelStateChange`` to ``Up`` (a created
  channel enters Stasis at creation, so ``StasisStart`` does not mean
  answered). With AMD on, the channel continues into the dialplan context
  ``dialer-amd`` (extension ``s``, priority 1), which must read::

      [dialer-amd]
      exten => s,1,AMD(${DIALER_AMD_ARGS})
       same => n,Stasis(${DIALER_APP},amd,${AMDSTATUS},${AMDCAUSE})

  (the driver sets ``DIALER_APP`` to its Stasis application's name on every
  call, so one Asterisk can serve several apps, and ``DIALER_AMD_ARGS`` to
  the campaign's AMD settings, ``AmdSettings``) and its re-entry's
  arguments give ``amd_result`` (``amd_verdict``: the verdict, and for a person
  the silence after the greeting, so the greeting's end is known).
- **Agents**: each agent's phone (``PJSIP/<agent>`` by default) is called at
  log-in and held in the server's holding bridge while logged in (a
  nailed-up line), so no customer waits for an agent's phone to ring.
  ``bridge`` moves the customer and the agent into a new mixing bridge
  (``addChannel`` departs the channel's current bridge), records it, and
  after the call the agent goes back to the holding bridge.
- **Connect limit**: ``play_and_hang_up`` plays the campaign's safe-harbour
  sound and hangs up on ``PlaybackFinished``; ``hung_up`` follows the
  channel's end.
- **Outcomes**: the driver says how the line ended (``dialer.core.outcomes.LineEnd``: for an
  unanswered call from the hangup cause, ``HANGUP_CAUSES``, never from a dial status); the engine's one
  table turns that and the call's stage into the outcome.
- **Ring timeout**: the driver's own timer hangs up a call still ringing at the ring timeout (Asterisk's
  dial timeout is set ``_DIAL_GRACE_S`` later, as a backstop). An answer that arrives before that hang-up
  is an answer, and a channel destroyed in the ``Up`` state was answered: either goes to an agent or counts
  as abandoned, never as a no-answer.
- **Trunk limits** per campaign and per server; calls go to the server with
  the fewest calls in flight relative to its limit. A call no trunk can
  take fails back to the engine as never placed (``failed``: retried, not charged), and
  ``CampaignTelephony.capacity()`` says how many more fit.
- **Reconnect**: a dropped event stream is reopened with exponential
  back-off; on every (re)connect ``GET /channels`` reconciles the calls in
  flight: a call whose channel is gone ended in a crash (``LineEnd.CRASH``:
  interrupted if unanswered, abandoned if answered and no agent had it), one
  found answered is handled as answered.
- **Recording**: every connected call is recorded on its mixing bridge,
  named ``new_recording_name(campaign)``: ``<campaign>/<random id>``, an id
  no other attempt of any store has (Asterisk creates the campaign's folder,
  which keeps per-campaign retention a folder operation). The name goes on
  the call (``Call.recording``) and so into its ledger row; a recording that
  does not start leaves the call going and says why on the call
  (``Call.recording_error``, the ARI status).

Events reach the engine one at a time from the event stream's task, never
inside one of the engine's own commands: a refusal inside ``originate`` is
scheduled on the loop.

Limitation: a customer on one server cannot be bridged with an agent held on
another; ``bridge`` then hangs the customer up and logs an error. With
several servers, give each campaign the servers its agents are on
(``AsteriskDriver.campaign(servers=...)``).

Errors::

    DialerError
    ├── AriError             an ARI request failed (status and path, never the body)
    └── AgentUnreachable     the agent's phone did not answer the log-in call
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, Protocol

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from dialer.core.calls import AmdResult, Call
from dialer.core.engine import Engine
from dialer.core.outcomes import LineEnd
from dialer.errors import DialerError

__all__ = ["AriServer", "Backoff", "AsteriskDriver", "CampaignTelephony", "ServerStatus", "AriEvent", "AriError",
           "AgentUnreachable", "HANGUP_CAUSES", "AMD_VERDICTS", "amd_verdict", "line_end_for_cause", "AmdSettings",
           "AMD_SETTINGS", "AMD_DEFAULTS",
           "new_recording_name", "recording_folder", "RECORDING_ID", "RECORDING_FORMAT",
           "AMD_CONTEXT", "AMD_EXTENSION", "MIN_RING_TIMEOUT_S", "Clock", "Phase"]

log = logging.getLogger(__name__)

AMD_CONTEXT = "dialer-amd"
AMD_EXTENSION = "s"
MIN_RING_TIMEOUT_S = 15.0  # a phone needs about 15 s to be answered at all; shorter turns people into no-answers
RECORDING_FORMAT = "wav"
_TIMEOUT_MARGIN_S = 1.0  # a cause-0 end this close to the ring timeout (seconds) counts as the timeout
_DIAL_GRACE_S = 3  # Asterisk's own dial timeout, seconds after ours: ours decides, Asterisk's is a backstop
# A created channel enters Stasis on a thread of its own, after /create has answered: a dial sent before its
# StasisStart is refused (409, "Channel not in Stasis application"; seen on Asterisk 22.10). Wait this long.
_STASIS_WAIT_S = 5.0
_SERVER_WAIT_S = 20.0  # a log-in waits this long for a connected server (a restart takes a few seconds)
_SOFTHANGUP_SHUTDOWN = 4  # Asterisk's soft hang-up flag for its own shutdown (seen as the request's "cause")
_OUTAGE_GRACE_S = 1.0  # a held line destroyed this long before the event stream closed went with its server
# Joining a bridge presents the other members' identity to each phone (a re-INVITE): the customer's phone
# would show "agent1", and every held agent each newcomer. Asterisk 22 can leave the identities alone.
_QUIET = {"inhibitConnectedLineUpdates": "true"}

# Q.850 hangup cause -> how an unanswered line ended. Cause 21 (call rejected: the person declined the call on
# their phone) is a no-answer: nobody spoke to us, so it is no contact and no refusal (a refusal is a
# disposition after a conversation), and the no-answer retry rules fit a declined call. Cause 16 (normal
# clearing) never comes from a customer's phone before an answer (a decline is 21, a busy 17, a timeout 19):
# Asterisk cleared the line itself, in a shutdown or at an operator's request.
HANGUP_CAUSES: Mapping[int, LineEnd] = {
    1: LineEnd.INVALID,       # unallocated number
    3: LineEnd.INVALID,       # no route to destination
    16: LineEnd.SHUTDOWN,     # normal clearing before an answer: Asterisk's doing (see above)
    17: LineEnd.BUSY,         # user busy
    18: LineEnd.NO_ANSWER,    # no user responding
    19: LineEnd.NO_ANSWER,    # no answer (also Asterisk's own dial timeout)
    21: LineEnd.NO_ANSWER,    # call rejected (see above)
    22: LineEnd.INVALID,      # number changed
    28: LineEnd.INVALID,      # invalid number format
    34: LineEnd.CONGESTION,   # no circuit available: retried, not charged
    38: LineEnd.CONGESTION,   # network out of order
    41: LineEnd.CONGESTION,   # temporary failure
    42: LineEnd.CONGESTION,   # switching equipment congestion
}

# AMDSTATUS -> (machine?, sure?). NOTSURE goes to a person (calling a person a machine hangs up on them: a UK
# abandon), and the ledger keeps it as "not_sure".
AMD_VERDICTS: Mapping[str, AmdResult] = {"MACHINE": AmdResult(True), "HUMAN": AmdResult(False),
                                          "NOTSURE": AmdResult(False, sure=False)}


@dataclass(frozen=True)
class AmdSettings:
    """``AMD()``'s settings, Asterisk's ``amd.conf`` names (milliseconds, the silence threshold an energy level).
    The defaults are Asterisk's own, which call a person's greeting of more than two words (a name answer:
    "Good afternoon, Sam Carter speaking", "Met Jan de Vries") a machine."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_time_ms: int = 5000
    min_word_length_ms: int = 100
    between_words_silence_ms: int = 50
    maximum_number_of_words: int = 2
    silence_threshold: int = 256
    maximum_word_length_ms: int = 5000

    @property
    def args(self) -> str:
        """``AMD()``'s arguments, in its order (the dialplan's ``AMD(${DIALER_AMD_ARGS})``)."""
        return ",".join(str(getattr(self, f.name)) for f in fields(self))


AMD_SETTINGS: Mapping[str, AmdSettings] = {
    "asterisk": AmdSettings(),
    "names": AmdSettings(greeting_ms=3000, maximum_number_of_words=6),
    "names-slow": AmdSettings(greeting_ms=3500, maximum_number_of_words=7, after_greeting_silence_ms=1200),
    "names-short": AmdSettings(greeting_ms=2500, maximum_number_of_words=5),
}
"""Named AMD settings ``benchmarks/amd.py`` measures: Asterisk's defaults, ones that let a person answer with
their name (a greeting up to 3 s and 5 words), and ones for slower speech with longer pauses (a machine's
greeting pausing between sentences must not pass for a person's silence)."""

AMD_DEFAULTS: Mapping[str, AmdSettings] = {
    "nl": AMD_SETTINGS["names"], "fr": AMD_SETTINGS["names"], "hu": AMD_SETTINGS["names"],
    "en": AMD_SETTINGS["names"], "pl": AMD_SETTINGS["names-slow"], "ru": AMD_SETTINGS["names-short"]}
"""The shipped AMD settings per language of the greetings (a campaign's ``amd_language``), chosen on the
synthetic corpus of ``benchmarks/amd_corpus.py`` for a person false-positive rate under 2%
(``benchmarks/README.md``)."""


def amd_verdict(status: str, cause: str) -> AmdResult:
    """AMD's verdict from its ``AMDSTATUS`` and ``AMDCAUSE``: a person's cause is ``HUMAN-<silence ms>-<after
    greeting silence ms>``, the silence after the greeting when AMD decided, so the greeting ended that long
    before the verdict. An unknown status is "not sure"."""
    verdict = AMD_VERDICTS.get(status.upper(), AMD_VERDICTS["NOTSURE"])
    silence = re.fullmatch(r"HUMAN-(\d+)-\d+", cause)
    return replace(verdict, silence_s=int(silence.group(1)) / 1000.0) if silence else verdict


def _amd_args(channel: Mapping[str, Any]) -> tuple[str, str] | None:
    """AMD's status and cause from a channel of ``GET /channels`` waiting in our Stasis application after AMD
    (its dialplan application data is ``<app>,amd,<AMDSTATUS>,<AMDCAUSE>``); None for any other channel."""
    dialplan = channel.get("dialplan") or {}
    args = str(dialplan.get("app_data", "")).split(",")
    if dialplan.get("app_name") != "Stasis" or len(args) < 3 or args[1] != "amd":
        return None
    return args[2], args[3] if len(args) > 3 else ""


def line_end_for_cause(cause: int, after_timeout: bool) -> LineEnd:
    """How a line that ended unanswered with Q.850 ``cause`` ended. At the ring timeout a cause 0 (Asterisk
    sometimes clears a timed-out dial without one) or 16 is the timeout; any cause not in ``HANGUP_CAUSES`` is
    a network fault (congestion: retried and not charged)."""
    if after_timeout and cause in (0, 16):
        return LineEnd.NO_ANSWER
    return HANGUP_CAUSES.get(cause, LineEnd.CONGESTION)


RECORDING_ID = re.compile(r"[0-9a-f]{32}")
"""What the file name (no extension) of a recording made by ``new_recording_name`` looks like."""


def recording_folder(campaign: str) -> str:
    """The campaign's folder of recordings: its name made safe for a path (retention is a folder operation)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", campaign)


def new_recording_name(campaign: str) -> str:
    """A new bridge recording's name (no extension): ``<campaign folder>/<random id>``. The id is a random UUID,
    so no other attempt of any campaign or store ever has it: a recording is never refused as existing, never
    overwritten, and the attempt's row names its own file only."""
    return f"{recording_folder(campaign)}/{uuid.uuid4().hex}"


class AriError(DialerError):
    """An ARI request failed: ``status`` (0: no response) and the path, never the body (it may hold a number)."""

    def __init__(self, server: str, method: str, path: str, status: int, reason: str = "") -> None:
        super().__init__(f"ARI {server}: {method} {path}: {status or 'no response'} {reason}".rstrip())
        self.status = status
        self.short = f"{status or 'no response'} {reason}".strip()[:80]  # for the ledger: the status alone


class AgentUnreachable(DialerError):
    """The agent's phone did not answer the log-in call, or hung up before it was held; no server to call on."""

    def __init__(self, agent: str, reason: str) -> None:
        super().__init__(f"agent {agent}: phone line not held: {reason}")
        self.agent = agent


class Clock(Protocol):
    """A campaign's clock: ``now()`` in engine seconds (``dialer.service.clock.AsyncioClock``)."""

    def now(self) -> float: ...


@dataclass(frozen=True)
class AriServer:
    """One Asterisk server. ``url``: its HTTP server (``http://host:8088``; ARI is under ``/ari``);
    ``trunk_limit``: calls to customers it may carry at once; ``dial_string``: how it reaches a number
    (``{number}`` is the E.164 number); ``agent_dial_string``: how it reaches an agent's phone (``{agent}``
    is the agent's id); ``name``: a label for logs and status (default: the URL)."""

    url: str
    user: str
    password: str
    trunk_limit: int
    dial_string: str = "PJSIP/{number}@trunk"
    agent_dial_string: str = "PJSIP/{agent}"
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.url


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``first_s``, times ``factor`` after each failed attempt, at most ``max_s`` seconds."""

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def after(self, delay_s: float) -> float:
        return min(self.max_s, delay_s * self.factor)


@dataclass(frozen=True)
class ServerStatus:
    """A server as ``/readyz`` and the metrics see it: event stream up, customer calls in flight, its limit."""

    name: str
    connected: bool
    in_flight: int
    trunk_limit: int


@dataclass(frozen=True)
class AriEvent:
    """The fields of an ARI event the driver reads; ``parse`` is the one place raw JSON is read."""

    type: str
    channel_id: str = ""
    channel_state: str = ""
    args: tuple[str, ...] = ()
    cause: int = 0
    playback_id: str = ""
    playback_state: str = ""
    soft: bool = False  # a ChannelHangupRequest that is a soft hang-up (``cause`` then holds its reason flags)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AriEvent:
        channel = raw.get("channel") or {}
        playback = raw.get("playback") or {}
        return cls(type=str(raw.get("type", "")), channel_id=str(channel.get("id", "")),
                   channel_state=str(channel.get("state", "")), args=tuple(str(a) for a in raw.get("args", ())),
                   cause=int(raw.get("cause") or 0), playback_id=str(playback.get("id", "")),
                   playback_state=str(playback.get("state", "")), soft=bool(raw.get("soft")))

    @property
    def shutting_down(self) -> bool:
        """Asterisk is stopping and hangs the channel up (a soft hang-up for shutdown, ``AST_SOFTHANGUP_SHUTDOWN``)."""
        return self.type == "ChannelHangupRequest" and self.soft and self.cause == _SOFTHANGUP_SHUTDOWN


class Phase(Enum):
    """Where a customer's channel is, as the driver sees it."""

    DIALING = "dialing"      # created and ringing
    ANALYSING = "analysing"  # answered, in the AMD dialplan
    WAITING = "waiting"      # answered (a person, as far as we know), in Stasis, not yet with an agent
    BRIDGED = "bridged"      # in a mixing bridge with an agent
    MESSAGE = "message"      # the safe-harbour message is playing
    CLOSED = "closed"        # the engine has ended the call: nothing more is reported


@dataclass(eq=False, slots=True)
class _Line:
    """One customer call on one server."""

    campaign: CampaignTelephony
    call: Call
    server: _Server
    channel_id: str
    amd: bool
    ring_timeout_s: float
    phase: Phase = Phase.DIALING
    created: bool = False
    dialled_at: float = 0.0  # loop time of the dial request, seconds
    cause: int = 0           # the hangup request's cause, kept in case the destroy event has none
    timed_out: bool = False  # the driver hung it up at the ring timeout
    shut_down: bool = False  # Asterisk hung it up because it is stopping
    bridge_id: str | None = None
    agent: _AgentLeg | None = None
    recording: str | None = None
    in_stasis: asyncio.Event = field(default_factory=asyncio.Event)  # set by its first StasisStart


@dataclass(eq=False, slots=True)
class _AgentLeg:
    """An agent's nailed-up phone line: ``up`` once held in the holding bridge."""

    agent: str
    server: _Server
    channel_id: str
    ready: asyncio.Future[None]
    up: bool = False
    leaving: bool = False
    shut_down: bool = False  # Asterisk hung it up because it is stopping
    line: _Line | None = None
    in_stasis: asyncio.Event = field(default_factory=asyncio.Event)


class _Server:
    """One server's REST client, event stream and calls."""

    def __init__(self, config: AriServer, app: str):
        self.config, self.app = config, app
        self.http = httpx.AsyncClient(base_url=config.url.rstrip("/") + "/ari", auth=(config.user, config.password),
                                      timeout=10.0, trust_env=False)
        self.connected = False
        self.lines: dict[str, _Line] = {}       # channel id: customer calls, until their channel is gone
        self.legs: dict[str, _AgentLeg] = {}    # channel id: agents' lines
        self.recall: set[str] = set()           # agents whose lines went with the server: called back at reconnect
        self.holding_id = f"{app}-holding"
        self.task: asyncio.Task[None] | None = None
        self.connects = 0  # event-stream connections opened, for tests and status
        self.ws: ClientConnection | None = None

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def load(self) -> float:
        """Calls in flight relative to the trunk limit (0 = idle, 1 = full)."""
        return len(self.lines) / self.config.trunk_limit

    @property
    def free(self) -> int:
        return max(0, self.config.trunk_limit - len(self.lines)) if self.connected else 0

    def events_url(self) -> str:
        base = self.config.url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{base}/ari/events?app={self.app}"

    def auth_header(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.config.user}:{self.config.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def request(self, method: str, path: str, params: Mapping[str, str | int] | None = None,
                      body: Mapping[str, Any] | None = None, ok_missing: bool = False) -> Any:
        """One ARI request; its JSON answer (None when empty). ``ok_missing``: a 404 is fine (already gone)."""
        try:
            response = await self.http.request(method, path, params=params, json=body)
        except httpx.HTTPError as exc:
            raise AriError(self.label, method, path, 0, type(exc).__name__) from None
        if ok_missing and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise AriError(self.label, method, path, response.status_code, response.reason_phrase)
        return response.json() if response.content else None


class AsteriskDriver:
    """Every Asterisk server the daemon uses, shared by its campaigns. ``app``: the Stasis application's name;
    ``on_agent_lost(agent)``: called when a logged-in agent's phone line drops (the daemon logs them out).
    ``on_agent_line(agent, held)``: called with False when an agent's line went with its server (a shutdown, a
    crash: the daemon pauses them, no call is put through to a line that is not there) and with True once the
    driver has called their phone back at the server's reconnect and holds it again (the daemon makes them
    ready). A phone that does not answer the call back is ``on_agent_lost``.

    ``instance``: when given, the application registers as ``<app>-<instance>`` (a new name for each start of
    the daemon), and on connecting it hangs up the channels and removes the bridges that an earlier instance
    of ``app`` left (a crash leaves its calls and its agents' held lines in Asterisk). Why a new name: after
    a client dies mid-stream, Asterisk 22.10 can leave the application's session locked (asterisk/asterisk
    asterisk/asterisk#2170: ``GET /applications`` and every handshake for that name hang), and only a new name gets
    through. Give each daemon sharing a server its own ``app`` (the daemon passes ``<[asterisk] app>-<daemon
    name>``), so that no daemon takes another's calls for an earlier instance of its own."""

    def __init__(self, servers: Sequence[AriServer], app: str = "dialer", backoff: Backoff = Backoff(),
                 on_agent_lost: Callable[[str], None] | None = None, instance: str = "",
                 on_agent_line: Callable[[str, bool], None] | None = None):
        if not servers:
            raise ValueError("at least one Asterisk server")
        if any(s.trunk_limit < 1 for s in servers):
            raise ValueError("every server's trunk_limit must be at least 1")
        self.family, self.instance, self.app = app, instance, f"{app}-{instance}" if instance else app
        self._instance_id = re.compile(rf"{re.escape(app)}-([0-9a-f]{{{len(instance)}}})-.+")
        self.backoff, self.on_agent_lost, self.on_agent_line = backoff, on_agent_lost, on_agent_line
        self.servers = [_Server(s, self.app) for s in servers]
        self.campaigns: dict[str, CampaignTelephony] = {}
        self.agents: dict[str, _AgentLeg] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # -- life ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open every server's event stream (reconnecting on its own); returns at once."""
        self._stopping = False
        for server in self.servers:
            server.task = asyncio.create_task(self._run(server), name=f"ari-events-{server.label}")

    async def stop(self, hang_up_agents: bool = True) -> None:
        """Close the event streams and clients. Calls in flight are left to Asterisk (drain first); agents'
        lines are hung up unless told not to (a restart cannot adopt them)."""
        if hang_up_agents:
            for agent in list(self.agents):
                await self.log_out_agent(agent)
        self._stopping = True
        for server in self.servers:  # a clean close (1000) first: Asterisk unregisters the app before any
            if server.ws is not None:  # new connection registers it again (see ``_run``)
                await server.ws.close()
            if server.task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(server.task), 2.0)
                except (TimeoutError, Exception):
                    server.task.cancel()
        for task in [s.task for s in self.servers if s.task is not None] + list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # stopping: each task has logged its own failure
                pass
        for server in self.servers:
            server.connected = False
            await server.http.aclose()

    @property
    def connected(self) -> bool:
        """Every server's event stream is up (``/readyz``): a server down means calls it would carry are lost."""
        return all(s.connected for s in self.servers)

    def status(self) -> list[ServerStatus]:
        return [ServerStatus(s.label, s.connected, len(s.lines), s.config.trunk_limit) for s in self.servers]

    def campaign(self, name: str, clock: Clock, caller_id: str, trunk_limit: int, safe_harbour_sound: str,
                 engine: Engine | None = None, servers: Sequence[str] | None = None,
                 amd: AmdSettings = AmdSettings()) -> CampaignTelephony:
        """One campaign's ``TelephonyDriver``. ``trunk_limit``: its calls in flight at most; ``safe_harbour_sound``:
        a media URI or a sound's name (``sound:`` is added); ``servers``: the server names it may use (all by
        default); ``engine`` may be attached later (the engine needs the driver first); ``amd``: the campaign's
        AMD settings (``AMD_DEFAULTS`` by its greetings' language)."""
        if name in self.campaigns:
            raise ValueError(f"campaign {name!r} already has a driver")
        chosen = [s for s in self.servers if servers is None or s.label in servers]
        if not chosen:
            raise ValueError(f"campaign {name!r}: no server named {list(servers or ())}")
        media = safe_harbour_sound if ":" in safe_harbour_sound or not safe_harbour_sound else \
            f"sound:{safe_harbour_sound}"
        self.campaigns[name] = CampaignTelephony(self, name, clock, caller_id, trunk_limit, media, chosen, engine, amd)
        return self.campaigns[name]

    # -- agents ----------------------------------------------------------------------------------------------
    async def log_in_agent(self, agent: str, server: str | None = None, ring_timeout_s: float = 30.0) -> None:
        """Call the agent's phone and hold the line in the holding bridge; returns once held (then tell the
        engine ``log_in``), raises ``AgentUnreachable`` if the phone does not answer within ``ring_timeout_s``."""
        leg = self.agents.get(agent)
        if leg is not None:  # held already, or being called: wait for that call
            await asyncio.shield(leg.ready)
            return
        chosen = await self._agent_server(agent, server)
        leg = _AgentLeg(agent, chosen, f"{self.app}-agent-{uuid.uuid4().hex}",
                        asyncio.get_running_loop().create_future())
        self.agents[agent] = chosen.legs[leg.channel_id] = leg
        try:
            endpoint = chosen.config.agent_dial_string.format(agent=agent)
            await chosen.request("POST", "/channels/create", body={
                "endpoint": endpoint, "app": self.app, "appArgs": "agent", "channelId": leg.channel_id})
            await asyncio.wait_for(leg.in_stasis.wait(), _STASIS_WAIT_S)
            await chosen.request("POST", f"/channels/{leg.channel_id}/dial",
                                 params={"timeout": math.ceil(ring_timeout_s)})
            await asyncio.wait_for(asyncio.shield(leg.ready), ring_timeout_s + 5.0)
        except (AriError, TimeoutError) as exc:
            self._forget_leg(leg)
            try:
                await chosen.request("DELETE", f"/channels/{leg.channel_id}", ok_missing=True)
            except AriError:
                pass  # the server is down: the line is gone with it
            raise AgentUnreachable(agent, str(exc) or "no answer in time") from None

    async def log_out_agent(self, agent: str) -> None:
        """Hang up the agent's line (after the engine's ``log_out`` has taken effect)."""
        leg = self.agents.get(agent)
        if leg is None:
            return
        leg.leaving = True
        self._forget_leg(leg)
        try:
            await leg.server.request("DELETE", f"/channels/{leg.channel_id}", ok_missing=True)
        except AriError as exc:
            log.warning("agent line hang-up failed: %s", exc, extra={"agent": agent})

    async def _agent_server(self, agent: str, name: str | None) -> _Server:
        """The server to hold the agent's line on: the connected one with the fewest; while none is connected (a
        restart, a reconnect), wait up to ``_SERVER_WAIT_S`` for one rather than refuse the log-in."""
        deadline = asyncio.get_running_loop().time() + _SERVER_WAIT_S
        while True:
            candidates = [s for s in self.servers if (name is None or s.label == name) and s.connected]
            if candidates:
                return min(candidates, key=lambda s: len(s.legs))
            if asyncio.get_running_loop().time() >= deadline:
                raise AgentUnreachable(agent, f"no connected server {name or ''}".rstrip())
            await asyncio.sleep(0.1)

    def _forget_leg(self, leg: _AgentLeg) -> None:
        leg.server.legs.pop(leg.channel_id, None)
        if self.agents.get(leg.agent) is leg:
            del self.agents[leg.agent]
        if not leg.ready.done():
            leg.ready.set_exception(AgentUnreachable(leg.agent, "hung up"))
            leg.ready.exception()  # retrieved: nobody may be awaiting it any more

    # -- tasks -----------------------------------------------------------------------------------------------
    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run ARI work in the background (commands never block); failures are logged, never raised."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ARI %s failed: %s", what, task.exception())

    # -- the event stream ------------------------------------------------------------------------------------
    async def _run(self, server: _Server) -> None:
        """Keep the server's event stream open: on a drop, wait (exponential back-off) and reconnect."""
        delay = self.backoff.first_s
        while not self._stopping:
            try:
                async with connect(server.events_url(), additional_headers=server.auth_header(), proxy=None,
                                   open_timeout=10.0) as ws:
                    server.ws = ws
                    server.connects += 1
                    await self._on_connect(server)
                    delay = self.backoff.first_s
                    async for message in ws:
                        self._handle(server, message)
                    if not self._stopping:
                        log.warning("ARI event stream closed by the server", extra={"server": server.label})
            except (OSError, WebSocketException, AriError, TimeoutError) as exc:
                log.warning("ARI event stream down: %s", exc, extra={"server": server.label})
            finally:
                server.connected, server.ws = False, None
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = self.backoff.after(delay)

    async def _on_connect(self, server: _Server) -> None:
        """Make sure the holding bridge exists, then reconcile: Asterisk's channels are the truth."""
        try:
            await server.request("POST", f"/bridges/{server.holding_id}", params={"type": "holding"})
        except AriError as exc:
            if exc.status != 409:  # 409: it exists already (kept from our last connection)
                raise
        known = [x for x in server.lines.values() if x.created]  # before the list: later ones may be missing
        channels = await server.request("GET", "/channels") or []
        present = {str(c.get("id")): str(c.get("state", "")) for c in channels}
        verdicts = {str(c.get("id")): _amd_args(c) for c in channels}
        for line in known:
            if line.channel_id not in server.lines:
                continue
            if line.channel_id not in present:
                log.warning("call lost while the event stream was down", extra=line.campaign.fields(line))
                self._line_gone(line, lost=LineEnd.CRASH)
            elif line.phase is Phase.DIALING and present[line.channel_id] == "Up":
                self._answered(line)
            elif line.phase is Phase.ANALYSING and (args := verdicts[line.channel_id]) is not None:
                self._amd_result(line, *args)  # its verdict came while the stream was down
        for leg in list(server.legs.values()):
            if leg.up and leg.channel_id not in present:
                self._leg_gone(leg, outage=True)
        await self._hang_up_earlier_calls(server, present)
        await self._sweep_bridges(server)
        server.connected = True
        for agent in sorted(server.recall):
            self.spawn(self._call_back(agent, server), "agent's phone called back")
        server.recall.clear()

    def _earlier(self, object_id: str) -> bool:
        """An id (channel or bridge) that an earlier instance of this application made: ``<app>-<instance>-…``
        with an instance of the same shape (hex) and not this one's."""
        match = self._instance_id.fullmatch(object_id)
        return self.app != self.family and match is not None and match.group(1) != self.instance

    async def _hang_up_earlier_calls(self, server: _Server, present: Mapping[str, str]) -> None:
        """Hang up what an earlier instance (a crashed daemon) left: its customers' calls, which the store has
        already settled as interrupted, and its agents' held lines (its bridges go in ``_sweep_bridges``)."""
        stale = [channel_id for channel_id in present if self._earlier(channel_id)]
        for channel_id in stale:
            await server.request("DELETE", f"/channels/{channel_id}", ok_missing=True)
        if stale:
            log.warning("hung up calls an earlier instance left", extra={"server": server.label, "calls": len(stale)})

    async def _sweep_bridges(self, server: _Server) -> None:
        """Remove an earlier instance's bridges, and shut down empty conversation bridges of this app that no
        call of ours uses: a stop or crash between a call's end and its bridge's removal leaves them behind
        (Asterisk keeps a bridge until told)."""
        ours = {x.bridge_id for x in server.lines.values()}
        for bridge in await server.request("GET", "/bridges") or []:
            bridge_id = str(bridge.get("id", ""))
            left_empty = (bridge_id.startswith(f"{self.app}-") and bridge_id.endswith("-talk")
                          and bridge_id not in ours and not bridge.get("channels"))
            if left_empty or self._earlier(bridge_id):
                await server.request("DELETE", f"/bridges/{bridge_id}", ok_missing=True)

    def _handle(self, server: _Server, message: str | bytes) -> None:
        """One event from the stream; a malformed one (or a bug handling it) is logged and the stream goes on."""
        try:
            self._on_event(server, AriEvent.parse(json.loads(message)))
        except Exception:
            log.exception("ARI event not handled", extra={"server": server.label})

    def _on_event(self, server: _Server, event: AriEvent) -> None:
        line, leg = server.lines.get(event.channel_id), server.legs.get(event.channel_id)
        if event.type == "PlaybackFinished":
            line = server.lines.get(event.playback_id.removesuffix("-sh"))
            if line is not None and line.phase is Phase.MESSAGE:
                if event.playback_state == "failed":  # a missing sound file: the message was not heard
                    log.error("safe-harbour message failed to play", extra=line.campaign.fields(line))
                self.spawn(self.hang_up_channel(line.server, line.channel_id), "hang-up after the message")
        elif line is not None:
            self._on_line_event(line, event)
        elif leg is not None:
            self._on_leg_event(leg, event)

    def _on_line_event(self, line: _Line, event: AriEvent) -> None:
        if event.type == "ChannelStateChange" and event.channel_state == "Up" and line.phase is Phase.DIALING:
            self._answered(line)
        elif event.type == "StasisStart" and event.args[:1] == ("amd",):
            if line.phase is Phase.ANALYSING:
                self._amd_result(line, *(tuple(event.args[1:3]) + ("", ""))[:2])
        elif event.type == "StasisStart":
            line.in_stasis.set()
        elif event.shutting_down:
            line.shut_down = True
        elif event.type == "ChannelHangupRequest" and event.cause and not event.soft:
            line.cause = event.cause
        elif event.type == "ChannelDestroyed":
            line.cause = event.cause or line.cause
            self._line_gone(line, answered=event.channel_state == "Up")

    def _on_leg_event(self, leg: _AgentLeg, event: AriEvent) -> None:
        if event.shutting_down:
            leg.shut_down = True
        elif event.type == "StasisStart":
            leg.in_stasis.set()
        elif event.type == "ChannelStateChange" and event.channel_state == "Up" and not leg.up:
            self.spawn(self._hold(leg), "agent line to the holding bridge")
        elif event.type == "ChannelDestroyed":
            self._leg_gone(leg, outage=True if leg.shut_down else None)

    # -- customer calls --------------------------------------------------------------------------------------
    def _answered(self, line: _Line) -> None:
        if line.amd:
            line.phase = Phase.ANALYSING
            self.spawn(self._continue_to_amd(line), "continue to AMD")
        else:
            line.phase = Phase.WAITING
        line.campaign.report(line, lambda e, now: e.answered(line.call.id, now))

    def _amd_result(self, line: _Line, status: str, cause: str) -> None:
        verdict = amd_verdict(status, cause)
        line.phase = Phase.WAITING
        line.campaign.report(line, lambda e, now: e.amd_result(line.call.id, now, verdict))

    def _line_gone(self, line: _Line, lost: LineEnd | None = None, answered: bool = False) -> None:
        """The customer's channel is gone: free the trunk, put the agent back on hold, tell the engine how the
        line ended: ``lost`` when our side lost it (a crash found at reconnect, an originate refused), else by
        the hangup cause. ``answered``: the channel was Up when destroyed, so a call still dialing in our eyes
        was answered (an answer crossing the ring timeout's hang-up) and is reported as such first."""
        line.server.lines.pop(line.channel_id, None)
        line.campaign.lines.pop(line.call.id, None)
        if line.bridge_id is not None:
            self.spawn(self._unbridge(line), "agent back to the holding bridge")
        phase, line.phase = line.phase, Phase.CLOSED
        if phase is Phase.CLOSED:
            return
        if phase is Phase.DIALING and answered and lost is None:
            log.warning("answered as the line closed", extra=line.campaign.fields(line))
            line.campaign.report(line, lambda e, now: e.answered(line.call.id, now))
            phase = Phase.WAITING
        if line.shut_down and lost is None:
            lost = LineEnd.SHUTDOWN
        end = lost or (self._unanswered(line) if phase is Phase.DIALING else LineEnd.HUNG_UP)
        line.campaign.report(line, lambda e, now: e.hung_up(line.call.id, now, end))

    def _unanswered(self, line: _Line) -> LineEnd:
        elapsed_s = asyncio.get_running_loop().time() - line.dialled_at
        timeout = line.timed_out or elapsed_s >= line.ring_timeout_s - _TIMEOUT_MARGIN_S
        end = line_end_for_cause(line.cause, timeout)
        log.info("call ended unanswered", extra={**line.campaign.fields(line), "cause": line.cause,
                                                 "line_end": end.value})
        return end

    def _ring_timeout(self, line: _Line) -> None:
        """The ring timeout passed: hang up a call still ringing (an answer already reported stands)."""
        if line.phase is Phase.DIALING and line.channel_id in line.server.lines:
            line.timed_out = True
            self.spawn(line.server.request("DELETE", f"/channels/{line.channel_id}",
                                           params={"reason": "no_answer"}, ok_missing=True), "ring timeout")

    async def dial(self, line: _Line, caller_id: str) -> None:
        """Create the channel (subscribed from birth), then dial it; a refusal is a network fault (FAILED)."""
        server, number = line.server, line.call.number
        variables = {"CONNECTEDLINE(num,i)": caller_id, "CALLERID(num)": caller_id, "DIALER_APP": self.app,
                     "DIALER_AMD_ARGS": line.campaign.amd.args}
        body = {"endpoint": server.config.dial_string.format(number=number), "app": self.app, "appArgs": "call",
                "channelId": line.channel_id, "variables": variables}
        try:
            await server.request("POST", "/channels/create", body=body)
            line.created = True
            await asyncio.wait_for(line.in_stasis.wait(), _STASIS_WAIT_S)
            loop = asyncio.get_running_loop()
            line.dialled_at = loop.time()
            loop.call_later(line.ring_timeout_s, self._ring_timeout, line)
            await server.request("POST", f"/channels/{line.channel_id}/dial",
                                 params={"timeout": math.ceil(line.ring_timeout_s) + _DIAL_GRACE_S})
        except (AriError, TimeoutError) as exc:
            log.warning("originate failed: %s", exc or "no StasisStart", extra=line.campaign.fields(line))
            if line.channel_id in server.lines:
                line.cause = 0
                line.created = False
                self._line_gone(line, lost=LineEnd.NOT_PLACED)
                await server.request("DELETE", f"/channels/{line.channel_id}", ok_missing=True)

    async def _continue_to_amd(self, line: _Line) -> None:
        try:
            await line.server.request("POST", f"/channels/{line.channel_id}/continue",
                                      params={"context": AMD_CONTEXT, "extension": AMD_EXTENSION, "priority": 1})
        except AriError as exc:
            log.warning("AMD not started, hanging up: %s", exc, extra=line.campaign.fields(line))
            await self.hang_up_channel(line.server, line.channel_id)

    def connect(self, line: _Line, agent: str) -> None:
        """Bridge the customer with the agent's held line (the engine's ``bridge``)."""
        leg = self.agents.get(agent)
        if leg is None or not leg.up or leg.server is not line.server:
            where = "not held" if leg is None or not leg.up else f"on {leg.server.label}"
            log.error("agent's line %s: hanging the customer up", where,
                      extra={**line.campaign.fields(line), "agent": agent})
            self.spawn(self.hang_up_channel(line.server, line.channel_id), "hang-up of an unbridgeable call")
            return
        line.phase, line.agent, leg.line = Phase.BRIDGED, leg, line
        line.bridge_id = f"{line.channel_id}-talk"
        line.recording = line.call.recording = new_recording_name(line.campaign.name)
        self.spawn(self._bridge(line, leg), "bridge")

    async def _bridge(self, line: _Line, leg: _AgentLeg) -> None:
        server, bridge = line.server, line.bridge_id
        assert bridge is not None and line.recording is not None
        try:
            await server.request("POST", f"/bridges/{bridge}", params={"type": "mixing", "name": bridge})
            await server.request("POST", f"/bridges/{bridge}/addChannel",
                                 params={"channel": f"{line.channel_id},{leg.channel_id}", **_QUIET})
        except AriError as exc:
            log.error("bridge failed, hanging the customer up: %s", exc, extra=line.campaign.fields(line))
            await self.hang_up_channel(server, line.channel_id)
            return
        try:
            await server.request("POST", f"/bridges/{bridge}/record", params={
                "name": line.recording, "format": RECORDING_FORMAT, "ifExists": "fail"})
        except AriError as exc:  # the call goes on: a lost recording is not worth a lost customer
            line.call.recording, line.call.recording_error = None, exc.short
            log.error("recording not started: %s", exc, extra=line.campaign.fields(line))

    async def _unbridge(self, line: _Line) -> None:
        leg, bridge = line.agent, line.bridge_id
        assert bridge is not None
        if leg is not None and leg.line is line:
            leg.line = None
            if leg.up and leg.channel_id in leg.server.legs:
                await leg.server.request("POST", f"/bridges/{leg.server.holding_id}/addChannel",
                                         params={"channel": leg.channel_id, **_QUIET}, ok_missing=True)
        await line.server.request("DELETE", f"/bridges/{bridge}", ok_missing=True)

    async def play(self, line: _Line, media: str) -> None:
        """Play the safe-harbour message; its ``PlaybackFinished`` hangs up. Unplayable: hang up at once."""
        try:
            await line.server.request("POST", f"/channels/{line.channel_id}/play/{line.channel_id}-sh",
                                      params={"media": media})
        except AriError as exc:
            log.error("safe-harbour message not played: %s", exc, extra=line.campaign.fields(line))
            await self.hang_up_channel(line.server, line.channel_id)

    async def hang_up_channel(self, server: _Server, channel_id: str) -> None:
        """Hang a channel up; one already gone is fine."""
        await server.request("DELETE", f"/channels/{channel_id}", ok_missing=True)

    # -- agents' lines ---------------------------------------------------------------------------------------
    async def _hold(self, leg: _AgentLeg) -> None:
        await leg.server.request("POST", f"/bridges/{leg.server.holding_id}/addChannel",
                                 params={"channel": leg.channel_id, **_QUIET})
        leg.up = True
        if not leg.ready.done():
            leg.ready.set_result(None)

    def _leg_gone(self, leg: _AgentLeg, outage: bool | None) -> None:
        """An agent's line dropped: a call they were on ends as the agent's hang-up. ``outage``: True when the
        line went with its server (found gone at reconnect), None when not yet known (a destroyed channel: a
        shutdown destroys every channel just before the event stream closes, so the answer comes
        ``_OUTAGE_GRACE_S`` later)."""
        was_up = leg.up
        leg.up = False
        self._forget_leg(leg)
        line, leg.line = leg.line, None
        if line is not None and line.phase is Phase.BRIDGED:
            line.campaign.report(line, lambda e, now: e.agent_hang_up(leg.agent, now))
        if not was_up or leg.leaving:
            return
        if outage is None:
            asyncio.get_running_loop().call_later(_OUTAGE_GRACE_S, self._line_lost, leg)
        else:
            self._line_lost(leg, outage)

    def _line_lost(self, leg: _AgentLeg, outage: bool | None = None) -> None:
        """The agent's line is gone: with its server (the phone is called back at reconnect, and the daemon
        pauses the agent meanwhile), or by itself (the daemon logs them out)."""
        if self.agents.get(leg.agent) not in (None, leg):
            return  # logged in again meanwhile
        if outage or (outage is None and not leg.server.connected):
            log.warning("agent's line went with its server: calling it back at reconnect",
                        extra={"agent": leg.agent, "server": leg.server.label})
            leg.server.recall.add(leg.agent)
            if self.on_agent_line is not None:
                self.on_agent_line(leg.agent, False)
            return
        log.warning("agent's line dropped", extra={"agent": leg.agent})
        if self.on_agent_lost is not None:
            self.on_agent_lost(leg.agent)

    async def _call_back(self, agent: str, server: _Server) -> None:
        """Call an agent's phone again after its server came back; a phone that does not answer is lost."""
        try:
            await self.log_in_agent(agent, server.label)
        except AgentUnreachable as exc:
            log.warning("agent's phone not back after the reconnect: %s", exc, extra={"agent": agent})
            if self.on_agent_lost is not None:
                self.on_agent_lost(agent)
            return
        if self.on_agent_line is not None:
            self.on_agent_line(agent, True)

    def place(self, campaign: CampaignTelephony) -> _Server | None:
        """The server for a new call: the least loaded (calls in flight over trunk limit) with a free trunk, if
        the campaign's own limit allows."""
        if len(campaign.lines) >= campaign.trunk_limit:
            return None
        open_ = [s for s in campaign.servers if s.free > 0]
        return min(open_, key=lambda s: s.load) if open_ else None


class CampaignTelephony:
    """One campaign's ``TelephonyDriver`` on the shared ``AsteriskDriver``: its engine, clock, caller ID, trunk
    limit and safe-harbour sound. Calls are keyed by the engine's call id within the campaign."""

    def __init__(self, driver: AsteriskDriver, name: str, clock: Clock, caller_id: str, trunk_limit: int,
                 safe_harbour_media: str, servers: Sequence[_Server], engine: Engine | None = None,
                 amd: AmdSettings = AmdSettings()):
        if trunk_limit < 1:
            raise ValueError(f"campaign {name!r}: trunk_limit must be at least 1")
        self.driver, self.name, self.clock, self.caller_id = driver, name, clock, caller_id
        self.trunk_limit, self.safe_harbour_media, self.servers = trunk_limit, safe_harbour_media, list(servers)
        self.engine, self.amd = engine, amd
        self.lines: dict[int, _Line] = {}

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def in_flight(self) -> int:
        """Customer calls of this campaign holding a trunk."""
        return len(self.lines)

    def capacity(self) -> int:
        """How many more calls could be placed now: within the campaign's limit and its servers' free trunks
        (servers whose event stream is down have none)."""
        return max(0, min(self.trunk_limit - len(self.lines), sum(s.free for s in self.servers)))

    # -- the TelephonyDriver port ----------------------------------------------------------------------------
    def originate(self, call: Call, caller_id: str, ring_timeout_s: float, amd: bool) -> None:
        server = self.driver.place(self)
        if server is None:
            log.warning("no free trunk: the call fails back (not charged)", extra={"campaign": self.name,
                                                                                  "call": call.id})
            asyncio.get_running_loop().call_soon(self._report_now, call.id, LineEnd.NOT_PLACED)
            return
        line = _Line(self, call, server, f"{self.driver.app}-{uuid.uuid4().hex}", amd,
                     max(ring_timeout_s, MIN_RING_TIMEOUT_S))
        self.lines[call.id] = server.lines[line.channel_id] = line
        self.driver.spawn(self.driver.dial(line, caller_id or self.caller_id), "originate")

    def bridge(self, call: Call, agent: str) -> None:
        line = self.lines.get(call.id)
        if line is None:
            log.warning("bridge: the call's channel is already gone", extra={"campaign": self.name, "call": call.id})
            return
        self.driver.connect(line, agent)

    def play_and_hang_up(self, call: Call, message: str) -> None:
        """Play the campaign's safe-harbour sound (``message`` names a sound if the campaign has none)."""
        line = self.lines.get(call.id)
        if line is None:
            return
        line.phase = Phase.MESSAGE
        media = self.safe_harbour_media or f"sound:{message}"
        self.driver.spawn(self.driver.play(line, media), "safe-harbour message")

    def hang_up(self, call: Call) -> None:
        """The engine has ended the call (a machine, the agent's hang-up): hang up, report nothing more."""
        line = self.lines.get(call.id)
        if line is None:
            return
        line.phase = Phase.CLOSED
        self.driver.spawn(self.driver.hang_up_channel(line.server, line.channel_id), "hang-up")

    # -- reporting -------------------------------------------------------------------------------------------
    def report(self, line: _Line, event: Callable[[Engine, float], None]) -> None:
        """Hand an event to the engine at the campaign clock's time; an engine error is logged, not raised."""
        if self.engine is None:
            log.error("no engine attached", extra={"campaign": self.name})
            return
        try:
            event(self.engine, self.clock.now())
        except Exception:
            log.exception("engine refused a telephony event", extra=self.fields(line))

    def _report_now(self, call_id: int, end: LineEnd) -> None:
        assert self.engine is not None
        try:
            self.engine.hung_up(call_id, self.clock.now(), end)
        except Exception:
            log.exception("engine refused a telephony event", extra={"campaign": self.name, "call": call_id})

    def fields(self, line: _Line) -> dict[str, Any]:
        """Log fields of a call: never its number."""
        return {"campaign": self.name, "call": line.call.id, "server": line.server.label, "channel": line.channel_id}

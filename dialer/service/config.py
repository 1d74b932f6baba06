"""The daemon's configuration: a TOML file, validated whole before anything starts.

Why validate first: systemd restarts a daemon that dies, so a typo must stop
it at once with the file, line and key (exit code 2), not an hour later
when the first campaign opens. Every table rejects keys it does not know.

Example (``deploy/dialer.toml`` ships a commented one)::

    [store]
    url = "sqlite:////var/lib/dialer/dialer.db"
    key_file = "/etc/dialer/store.key"  # seal numbers and names (dialer privacy key makes one); default: none
    [http]
    host = "127.0.0.1"
    port = 8080
    cors_origins = []            # origins allowed to call the API from a browser (default: none, CORS off)
    trusted_proxies = []         # addresses or networks whose X-Forwarded-For/-Proto are believed (default: none)
    [daemon]
    name = "dialer-1"            # claims are marked with it (default: the host name)
    drain_timeout_s = 60         # SIGTERM: wait this long for calls in progress, seconds
    campaigns = ["Loans"]        # default: every campaign in the store
    [driver]
    kind = "sim"
    [sim]
    scenario = "examples/scenarios/loan-offer.toml"
    speed = 20                   # simulated seconds per wall-clock second
    start = 2026-11-24T10:00:00  # simulated start, in the scenario's time zone ("now": the real time)
    agents = "simulated"         # "api": real agents take the calls through the API and the agent console
    [timezones]
    Loans = "Europe/Paris"       # a campaign's hours are kept in this zone
    [asterisk]                   # with [driver] kind = "asterisk" (instead of [sim]); agents work through the API
    app = "dialer"               # the ARI application; one per daemon sharing an Asterisk
    recordings_dir = "/var/spool/asterisk/recording"   # Asterisk's recordings on this host: API access, retention
    [asterisk.servers.ast1]
    url = "http://127.0.0.1:8088"
    user = "dialer"
    password = "secret"
    trunk_limit = 60             # calls to customers this server carries at once
    dial_string = "PJSIP/{number}@trunk"
    agent_dial_string = "PJSIP/{agent}"   # an agent's phone, by the agent's user name
    [asterisk.campaigns.Loans]
    safe_harbour = "dialer/loans-safe-harbour"   # the sound a person hears when no agent is free in time
    trunk_limit = 30
    ring_timeout_s = 25
    connect_limit_s = 2
    amd = true
    amd_false_positive = 0.02    # people AMD calls machines (the UK cap counts them): measure it on your calls
    amd_language = "fr"          # nl, fr, pl, hu, ru or en: AMD's settings tested on greetings in that language
    recording_retention_days = 90   # older recordings are deleted nightly
    [cluster]                    # several daemons on one PostgreSQL (dialer.service.cluster); absent: one daemon
    lease_s = 15                 # a campaign lease lasts this long from a renewal, seconds (database clock)
    renew_s = 3                  # renewal interval, seconds
    skew_s = 2                   # stop launching this long before the lease could expire, seconds
    pacing_save_s = 30           # the pacing memory is saved for a takeover this often, seconds
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from dialer.drivers.asterisk import AMD_DEFAULTS, MIN_RING_TIMEOUT_S, AriServer
from dialer.errors import DialerError
from dialer.service.cluster import LeaseTimes
from lists.numbers import valid_zone
from lists.sealing import SealError, read_key
from lists.store import database_url
from pacing.days import DAY_S

__all__ = ["ConfigError", "DriverKind", "SimConfig", "AsteriskConfig", "AsteriskCampaign", "Config",
           "load_config", "parse_config"]

LOG_LEVELS = ("debug", "info", "warning", "error")
SIM_AGENTS = ("simulated", "api")


class ConfigError(DialerError):
    """A configuration the daemon cannot run: names the file, the line and the key."""


class DriverKind(Enum):
    SIM = "sim"  # modelled customers and agents (dialer.drivers.sim.telephony)
    ASTERISK = "asterisk"  # real calls through Asterisk's ARI (dialer.drivers.asterisk); agents use the API


@dataclass(frozen=True)
class AsteriskCampaign:
    """One campaign's telephony on Asterisk. ``safe_harbour``: the recorded message played to a person no agent
    took within ``connect_limit_s`` (a sound name or a media URI: who called and a number to call back);
    ``trunk_limit``: its calls in flight at most; ``ring_timeout_s``: the no-answer give-up, seconds (at least
    15: a person needs that long to reach the phone); ``amd``: answering-machine detection on."""

    safe_harbour: str
    trunk_limit: int = 30
    ring_timeout_s: float = 25.0
    connect_limit_s: float = 2.0
    amd: bool = True
    tick_s: float = 1.0
    amd_false_positive: float = 0.02  # people AMD calls machines, fraction: measure it on your own calls
    recording_retention_days: int = 90  # the nightly job deletes the campaign's recordings older than this
    amd_language: str = "en"  # the greetings' language: AMD's tested settings for it (drivers.asterisk.AMD_DEFAULTS)


@dataclass(frozen=True)
class AsteriskConfig:
    """The Asterisk driver: its servers (``dialer.drivers.asterisk.AriServer``), its ARI application name
    (one per daemon sharing a server), and each campaign's telephony settings by campaign name."""

    servers: tuple[AriServer, ...]
    campaigns: Mapping[str, AsteriskCampaign]
    app: str = "dialer"
    recordings_dir: Path | None = None  # where Asterisk's recordings are on this host (None: not kept here)


@dataclass(frozen=True)
class SimConfig:
    """The sim driver: ``scenario`` models customers and agents; ``speed`` simulated seconds pass per wall
    second; ``start`` is the simulated moment the daemon starts at (aware; None: the scenario's day start;
    ``"now"`` in the file: the real time at start-up, so leads stamped due at their real import are due)."""

    scenario: Path
    speed: float = 1.0
    start: datetime | None = None
    agents: str = "simulated"  # "simulated": the scenario's shifts (SimWorkforce); "api": people, via the API
    scenarios: Mapping[str, Path] = field(default_factory=dict)  # campaign name: its own customers and agents


@dataclass(frozen=True)
class Config:
    """Everything ``dialer serve`` needs. ``drain_timeout_s``: wall seconds SIGTERM waits for calls in progress."""

    store_url: str
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    name: str = field(default_factory=socket.gethostname)
    drain_timeout_s: float = 60.0
    campaigns: tuple[str, ...] | None = None
    log_level: str = "info"
    driver: DriverKind = DriverKind.SIM
    sim: SimConfig | None = None
    timezones: Mapping[str, str] = field(default_factory=dict)
    source: str = "<config>"
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # reverse proxies whose X-Forwarded-For and -Proto headers are believed
    cluster: LeaseTimes | None = None  # several daemons share the store's campaigns by lease; None: one daemon
    asterisk: AsteriskConfig | None = None
    create_store: bool = False  # ``dialer serve --create``: else a mistyped SQLite path is refused, not made empty
    store_key: bytes | None = field(default=None, repr=False)  # [store] key_file: None reads DIALER_STORE_KEY


# ---- reading ------------------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")


def _line_of(text: str, table: str | None, key: str | None) -> int | None:
    """The line of ``key`` in ``[table]`` (or of the table's header), 1-based; None when not found."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace('"', "").strip()
            if key is None and current == table:
                return number
            continue
        if current == table and key is not None and re.match(rf'^\s*"?{re.escape(key)}"?\s*=', line):
            return number
    return None


@dataclass
class _Reader:
    """One table of the file, with the text for line numbers."""

    data: Mapping[str, Any]
    table: str | None
    source: str
    text: str
    used: set[str] = field(default_factory=set)

    def fail(self, key: str | None, message: str) -> ConfigError:
        line = _line_of(self.text, self.table, key) or _line_of(self.text, self.table, None)  # else the table's
        where = f"{self.source}:{line}" if line else self.source
        name = f"[{self.table}] {key}" if key and self.table else (key or f"[{self.table}]")
        return ConfigError(f"{where}: {name}: {message}")

    def get(self, key: str, check: Callable[[Any], Any], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        try:
            return check(self.data[key])
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None

    def table_of(self, key: str) -> _Reader:
        self.used.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Reader(value, f"{self.table}.{key}" if self.table else key, self.source, self.text)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], f"unknown key (known: {', '.join(sorted(self.used))})")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _number(low: float, high: float = math.inf) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return float(value)
    return check


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError("must be a whole number from 0 to 65535 (0: any free port)")
    return value


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a non-empty list of campaign names")
    return tuple(value)


def _origins(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and re.match(r"^https?://[^/\s]+$", v)
                                              for v in value):
        raise ValueError("must be a list of origins such as \"https://crm.example.com\" (scheme and host only)")
    return tuple(value)


def _proxies(value: Any) -> tuple[str, ...]:
    """Addresses or networks (``10.0.0.0/8``): a header from anyone else is the client's word, not a fact."""
    try:
        if not isinstance(value, list):
            raise TypeError
        return tuple(str(ipaddress.ip_network(v, strict=False)) for v in value)
    except (TypeError, ValueError):
        raise ValueError("must be a list of addresses or networks such as \"127.0.0.1\" or \"10.0.0.0/8\"") from None


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)
    return check


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not valid_zone(value):
        raise ValueError("must be an IANA time zone such as Europe/Paris")
    return value


def _moment(value: Any) -> datetime:
    if value == "now":
        return datetime.now(UTC)
    if not isinstance(value, datetime):
        raise ValueError('must be a TOML date-time such as 2026-11-24T10:00:00, or "now"')
    return value


def _sim(r: _Reader, folder: Path) -> SimConfig:
    scenario = folder / r.get("scenario", _text, "")
    if not r.data.get("scenario"):
        raise r.fail("scenario", "is required by the sim driver (a scenario TOML file)")
    if not scenario.is_file():
        raise r.fail("scenario", f"no file {scenario}")
    config = SimConfig(scenario, r.get("speed", _number(1e-3, 1e5), 1.0), r.get("start", _moment),
                       r.get("agents", _choice(SIM_AGENTS), "simulated"), _campaign_scenarios(r, folder))
    r.done()
    return config


def _campaign_scenarios(r: _Reader, folder: Path) -> dict[str, Path]:
    """``[sim.scenarios]``: a campaign's own scenario (its customers' outcomes, its agents), by campaign name."""
    table = r.table_of("scenarios")
    paths = {name: folder / table.get(name, _text) for name in table.data}
    for name, path in paths.items():
        if not path.is_file():
            raise table.fail(name, f"no file {path}")
    table.done()
    return paths


def _asterisk(r: _Reader) -> AsteriskConfig:
    """``[asterisk]``: ``app``, ``[asterisk.servers.NAME]`` (url, user, password, trunk_limit, dial_string,
    agent_dial_string) and ``[asterisk.campaigns.NAME]`` (each campaign's telephony)."""
    app = r.get("app", _text, "dialer")
    recordings = r.get("recordings_dir", _text)
    servers_table, campaigns_table = r.table_of("servers"), r.table_of("campaigns")
    servers = tuple(_ari_server(servers_table.table_of(name), name) for name in servers_table.data)
    if not servers:
        raise r.fail("servers", "needs at least one [asterisk.servers.NAME] table")
    campaigns = {name: _asterisk_campaign(campaigns_table.table_of(name)) for name in campaigns_table.data}
    for reader in (servers_table, campaigns_table, r):
        reader.done()
    return AsteriskConfig(servers, campaigns, app, Path(recordings) if recordings else None)


def _ari_server(r: _Reader, name: str) -> AriServer:
    if not r.data.get("url"):
        raise r.fail("url", "is required (Asterisk's HTTP server, such as http://127.0.0.1:8088)")
    defaults = AriServer("", "", "", 0)
    server = AriServer(r.get("url", _text), r.get("user", _text, "dialer"), r.get("password", _text, ""),
                       int(r.get("trunk_limit", _number(1, 10_000), 30)),
                       r.get("dial_string", _dial_string("{number}"), defaults.dial_string),
                       r.get("agent_dial_string", _dial_string("{agent}"), defaults.agent_dial_string), name)
    r.done()
    return server


def _dial_string(field_: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or field_ not in value:
            raise ValueError(f"must be a dial string with {field_}, such as \"PJSIP/{field_}@trunk\"")
        return value
    return check


def _asterisk_campaign(r: _Reader) -> AsteriskCampaign:
    if not r.data.get("safe_harbour"):
        raise r.fail("safe_harbour", "is required: the recorded message a person hears when no agent is free")
    defaults = AsteriskCampaign("")
    amd = r.get("amd", _flag, defaults.amd)
    campaign = AsteriskCampaign(
        r.get("safe_harbour", _text), int(r.get("trunk_limit", _number(1, 10_000), defaults.trunk_limit)),
        r.get("ring_timeout_s", _number(MIN_RING_TIMEOUT_S, 120.0), defaults.ring_timeout_s),
        r.get("connect_limit_s", _number(0.5, 10.0), defaults.connect_limit_s), amd,
        r.get("tick_s", _number(0.05, 10.0), defaults.tick_s),
        r.get("amd_false_positive", _number(0.0, 0.5), defaults.amd_false_positive),
        int(r.get("recording_retention_days", _number(1, 3650), defaults.recording_retention_days)),
        r.get("amd_language", _one_of(AMD_DEFAULTS), defaults.amd_language))
    r.done()
    return campaign


def _one_of(choices: Mapping[str, Any]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(sorted(choices))}")
        return str(value)
    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _store_key(store: _Reader, folder: Path) -> bytes | None:
    """``[store] key_file``: the file holding the store key (``lists.sealing``), read now so a wrong one stops
    the start with its line; without it, the environment's key (or none: a clear store)."""
    name = store.get("key_file", _text)
    if name is None:
        return None
    try:
        return read_key(str(folder / name))
    except SealError as exc:
        raise store.fail("key_file", str(exc)) from None


def _cluster(r: _Reader, url: str) -> LeaseTimes | None:
    """``[cluster]``: lease timings; only on PostgreSQL (leases lock rows ``FOR SHARE``; SQLite is one machine)."""
    if "cluster" not in r.data:
        return None
    table = r.table_of("cluster")
    if not url.startswith("postgresql"):
        raise table.fail(None, "needs a PostgreSQL store ([store] url = \"postgresql://…\")")
    defaults = LeaseTimes()
    times = {key: table.get(key, _number(0.01, 3600.0), getattr(defaults, key))
             for key in ("lease_s", "renew_s", "skew_s", "pacing_save_s")}
    table.done()
    try:
        return LeaseTimes(**times)
    except ValueError as exc:
        raise table.fail("renew_s", str(exc)) from None


def parse_config(data: Mapping[str, Any], source: str = "<config>", text: str = "",
                 folder: Path = Path(".")) -> Config:
    """A validated ``Config``; ``folder`` anchors relative paths (the config file's folder)."""
    top = _Reader(data, None, source, text)
    store, http, daemon = top.table_of("store"), top.table_of("http"), top.table_of("daemon")
    driver, sim_table, zones = top.table_of("driver"), top.table_of("sim"), top.table_of("timezones")
    asterisk_table = top.table_of("asterisk")
    url = database_url(store.get("url", _text))
    store_key = _store_key(store, folder)
    host, port = http.get("host", _text, "127.0.0.1"), http.get("port", _port, 8080)
    origins = http.get("cors_origins", _origins, ())
    proxies = http.get("trusted_proxies", _proxies, ())
    kind = DriverKind(driver.get("kind", _choice(tuple(k.value for k in DriverKind)), "sim"))
    timezones = {name: zones.get(name, _zone) for name in zones.data}
    cluster = _cluster(top, url)
    settings = dict(
        store_url=url, store_key=store_key, http_host=host, http_port=port, cors_origins=origins,
        trusted_proxies=proxies,
        name=daemon.get("name", _text, socket.gethostname()),
        drain_timeout_s=daemon.get("drain_timeout_s", _number(0.0, DAY_S), 60.0),
        campaigns=daemon.get("campaigns", _names), log_level=daemon.get("log_level", _choice(LOG_LEVELS), "info"))
    for reader in (store, http, daemon, driver, zones, top):
        reader.done()
    sim = _sim(sim_table, folder) if kind is DriverKind.SIM else None
    asterisk = _asterisk(asterisk_table) if kind is DriverKind.ASTERISK else None
    return Config(driver=kind, sim=sim, timezones=timezones, source=source, cluster=cluster, asterisk=asterisk,
                  **settings)


def load_config(path: Path) -> Config:
    """Read and validate ``path``; ConfigError (exit code 2) names the line and key of the first fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(data, str(path), text, path.parent)

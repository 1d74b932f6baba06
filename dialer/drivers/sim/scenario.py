"""Scenarios: a contact-centre day as data (TOML), validated into frozen dataclasses before any run.

Why validate first: a typo in a 200-line scenario must stop the run with
the key and its line in the file, not surface as a strange result an hour
into a sweep. Every table rejects keys it does not know.

Times of day are written "HH:MM" in the scenario's time zone and held as
seconds after local midnight. Probabilities are fractions. A rate given by
hour is a table ``{9 = 0.20, 17 = 0.35}``: each value holds from that hour
until the next one given (the first also holds before it).
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.drivers.sim.distributions import Distribution, parse_distribution
from dialer.errors import DialerError
from lists.campaigns import check_setting as check_campaign_setting  # the rule `campaign create` applies
from lists.campaigns import success_outcome
from lists.jurisdictions import PROFILES
from lists.rules import RetryRules
from pacing.errors import InvalidInput
from pacing.ledger import AMD_ACTIONS, amd_verdict
from pacing.registry import POLICIES

__all__ = ["ScenarioError", "Shift", "Segment", "Amd", "Talk", "Outcomes", "Pacing", "Rules", "Scenario",
           "load_scenario", "parse_scenario", "apply_overrides", "for_campaign"]


class ScenarioError(DialerError):
    """A scenario file that cannot be run: names the file, the line and the key."""


@dataclass(frozen=True)
class Shift:
    """``count`` agents working from start to end (seconds after local midnight), away during breaks."""

    count: int
    start_s: float
    end_s: float
    breaks: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Segment:
    """A part of the list with its own answer behaviour. Rates are 24 fractions, one per local hour."""

    name: str
    share: float
    live: tuple[float, ...]
    machine: tuple[float, ...]
    busy: tuple[float, ...]
    invalid: tuple[float, ...]
    ring_live: Distribution
    ring_machine: Distribution
    no_answer_timeout_s: float


@dataclass(frozen=True)
class Amd:
    """Answering-machine detection: delay in seconds; false_positive is the share of people classed as
    machines (hung up on: abandoned under UK rules), false_negative the share of machines passed to agents."""

    enabled: bool = False
    delay_s: float = 2.5
    false_positive: float = 0.0
    false_negative: float = 0.0
    if_no_budget: str = "refuse"


@dataclass(frozen=True)
class Talk:
    """Agent time per connected call, seconds: talk by result, then wrap-up; machine_s for a machine let through."""

    success: Distribution
    refusal: Distribution
    wrap: Distribution
    machine_s: float = 8.0


@dataclass(frozen=True)
class Outcomes:
    """What a connected person decides: conversion is a fraction; refusal reasons are (code, share) summing to 1
    (none: refusals carry no reason)."""

    success_code: str
    conversion: float
    refusal_reasons: tuple[tuple[str, float], ...]

    def within(self, outcomes: Collection[str], reasons: Collection[str], success: str) -> Outcomes:
        """These outcomes in a campaign's words: ``outcomes`` and ``reasons`` are its catalogue's codes,
        ``success`` the outcome its kind is run for (``lists.campaigns.success_outcome``).

        The success code is kept when the catalogue holds it, else it is
        ``success``. Each refusal reason the catalogue holds keeps its share;
        the share of those it lacks is split equally among its reasons the
        scenario does not name (in proportion to the shares when the scenario
        names them all). Why equal: the scenario says nothing about how often
        people refuse for a reason it does not know, and an equal split claims
        nothing more; a ranking by position would invent one. Unchanged when
        the catalogue holds every code, so such a run is the scenario's own.
        """
        known = tuple((code, share) for code, share in self.refusal_reasons if code in reasons)
        others = [code for code in reasons if code not in dict(known)]
        kept = sum(share for _, share in known)
        if len(known) == len(self.refusal_reasons):
            mix = self.refusal_reasons
        elif others:
            mix = known + tuple((code, (1.0 - kept) / len(others)) for code in others)
        else:
            mix = tuple((code, share / kept if kept else 1.0 / len(known)) for code, share in known)
        code = self.success_code if self.success_code in outcomes else success
        return replace(self, success_code=code, refusal_reasons=mix)


@dataclass(frozen=True)
class Pacing:
    """The policy and its parameters; the cap as a fraction of live answers; connect limit, preview time and the
    dialer's decision tick in seconds (connect limit None: no limit, customers wait until their patience ends)."""

    policy: str
    params: dict[str, float | int] = field(default_factory=dict)
    abandon_cap: float = 0.03
    connect_limit_s: float | None = 2.0
    preview_s: float = 10.0
    tick_s: float = 1.0


@dataclass(frozen=True)
class Rules:
    """The ``lists`` jurisdiction profile, attempt cap, retry delays, and the time zones leads are spread over;
    ``fresh_share`` as a campaign's: the share of each claim after callbacks kept for fresh leads (0: retries
    first)."""

    profile: str
    max_attempts: int
    retry: RetryRules
    zones: tuple[str, ...]
    fresh_share: float = 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    date: date
    timezone: str
    start_s: float
    end_s: float
    days: int
    shifts: tuple[Shift, ...]
    list_size: int
    segments: tuple[Segment, ...]
    amd: Amd
    talk: Talk
    outcomes: Outcomes
    patience: Distribution | None
    pacing: Pacing
    rules: Rules
    notes: tuple[str, ...] = ()

    @property
    def agents(self) -> int:
        return sum(shift.count for shift in self.shifts)


# ---- reading with line numbers ----------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")


def _line_of(text: str, path: tuple[str, ...]) -> int | None:
    """The line (1-based) where the key at ``path`` is written; array tables are counted by index."""
    table: tuple[str, ...] = ()
    seen: dict[tuple[str, ...], int] = {}
    best: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = tuple(header.group(1).replace('"', "").replace(" ", "").split("."))
            seen[names] = seen.get(names, -1) + 1
            table = names + ((str(seen[names]),) if line.lstrip().startswith("[[") else ())
            if path[: len(table)] == table and len(path) == len(table):
                return number
            continue
        rest = path[len(table):] if path[: len(table)] == table else None
        if rest and re.match(rf"^\s*\"?{re.escape(rest[0])}\"?\s*[=.]", line):
            best = best or number
            if len(rest) == 1:
                return number
    return best


class _Reader:
    """Takes keys out of one TOML table, remembering where it is for error messages."""

    def __init__(self, data: Mapping[str, Any], path: tuple[str, ...], context: _Context):
        self.data, self.path, self.ctx = dict(data), path, context
        self.used: set[str] = set()

    def fail(self, key: str | None, message: str) -> ScenarioError:
        return self.ctx.error(self.path + ((key,) if key else ()), message)

    def get(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        return self.data[key]

    def number(self, key: str, default: Any = ..., low: float = 0.0, high: float = math.inf) -> float:
        value = self.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or not (low <= value <= high):
            raise self.fail(key, f"must be a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, key: str, default: Any = ..., low: int = 0) -> int:
        value = self.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise self.fail(key, f"must be a whole number >= {low}")
        return value

    def text(self, key: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or (choices and value not in choices):
            raise self.fail(key, f"must be one of {', '.join(choices)}" if choices else "must be text")
        return value

    def clock(self, key: str, default: Any = ...) -> float:
        value = self.get(key, default)
        try:
            moment = time.fromisoformat(value) if isinstance(value, str) else value
            return moment.hour * 3600.0 + moment.minute * 60.0 + moment.second
        except (ValueError, AttributeError):
            raise self.fail(key, 'must be a time of day "HH:MM"') from None

    def table(self, key: str, default: Any = ...) -> _Reader:
        value = self.get(key, default)
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        return _Reader(value, self.path + (key,), self.ctx)

    def tables(self, key: str) -> list[_Reader]:
        value = self.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(key, "must be a non-empty array of tables")
        return [_Reader(v, self.path + (key, str(i)), self.ctx) for i, v in enumerate(value)]

    def distribution(self, key: str, default: Any = ...) -> Distribution:
        spec = self.get(key, default)
        if isinstance(spec, Distribution):
            return spec
        if not isinstance(spec, Mapping):
            raise self.fail(key, 'must be a distribution table such as {dist = "exponential", mean = 180}')
        try:
            return parse_distribution(spec)
        except ValueError as exc:
            name, _, message = str(exc).partition(": ")
            raise self.ctx.error(self.path + (key, name), message) from None

    def hourly(self, key: str, default: Any = ...) -> tuple[float, ...]:
        value = self.get(key, default)
        if isinstance(value, Mapping):
            hours = {}
            for hour, rate in value.items():
                if not (str(hour).isdigit() and int(hour) < 24):
                    raise self.ctx.error(self.path + (key, str(hour)), "hours run from 0 to 23")
                hours[int(hour)] = rate
        else:
            hours = {0: value}
        for hour, rate in hours.items():
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
                where = self.path + (key,) + ((str(hour),) if isinstance(value, Mapping) else ())
                raise self.ctx.error(where, "must be a probability from 0 to 1")
        ordered = sorted(hours)
        return tuple(float(hours[max([h for h in ordered if h <= hour] or ordered[:1])]) for hour in range(24))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


@dataclass
class _Context:
    source: str
    text: str

    def error(self, path: tuple[str, ...], message: str) -> ScenarioError:
        line = _line_of(self.text, path) if self.text else None
        dotted = ".".join(path)
        return ScenarioError(f"{self.source}{f':{line}' if line else ''}: {dotted}: {message}")


# ---- the scenario's parts ---------------------------------------------------------------------------------

def _shifts(r: _Reader, day_start: float, day_end: float) -> tuple[Shift, ...]:
    agents = r.table("agents")
    shifts: tuple[Shift, ...]
    if "shifts" not in agents.data:
        shifts = (Shift(agents.integer("count", low=1), day_start, day_end),)
    else:
        shifts = tuple(_shift(s, day_start, day_end) for s in agents.tables("shifts"))
    agents.done()
    return shifts


def _shift(s: _Reader, day_start: float, day_end: float) -> Shift:
    start = s.clock("start") if "start" in s.data else day_start
    end = s.clock("end") if "end" in s.data else day_end
    if end <= start:
        raise s.fail("end", "must be after start")
    breaks = []
    for i, pair in enumerate(s.get("breaks", [])):
        brk = _Reader({"start": pair[0], "end": pair[1]} if isinstance(pair, list) and len(pair) == 2 else {},
                      s.path + ("breaks", str(i)), s.ctx)
        b_start, b_end = brk.clock("start"), brk.clock("end")
        if not start <= b_start < b_end <= end:
            raise s.fail("breaks", "each break must be [start, end] inside the shift")
        breaks.append((b_start, b_end))
    shift = Shift(s.integer("count", low=1), start, end, tuple(sorted(breaks)))
    s.done()
    return shift


def _segment(s: _Reader) -> Segment:
    seg = Segment(
        name=s.text("name", "all"), share=s.number("share", 1.0, 0.0, 1.0),
        live=s.hourly("live"), machine=s.hourly("machine", 0.0), busy=s.hourly("busy", 0.0),
        invalid=s.hourly("invalid", 0.0),
        ring_live=s.distribution("ring_live", {"dist": "lognormal", "mean": 12.0, "sd": 6.0}),
        ring_machine=s.distribution("ring_machine", {"dist": "lognormal", "mean": 15.0, "sd": 5.0}),
        no_answer_timeout_s=s.number("no_answer_timeout_s", 25.0, 15.0, 120.0),
    )
    for hour in range(24):
        total = seg.live[hour] + seg.machine[hour] + seg.busy[hour] + seg.invalid[hour]
        if total > 1.0 + 1e-9:
            raise s.fail("live", f"live + machine + busy + invalid is {total:.3f} at {hour:02d}:00, over 1")
    s.done()
    return seg


def _outcomes(r: _Reader) -> Outcomes:
    o = r.table("outcomes")
    reasons = o.table("refusal_reasons", {"no_need": 1.0})
    mix = []
    for code in reasons.data:
        mix.append((code, reasons.number(code, low=0.0, high=1.0)))
    if abs(sum(p for _, p in mix) - 1.0) > 1e-6:
        raise o.fail("refusal_reasons", f"shares must sum to 1 (they sum to {sum(p for _, p in mix):.4f})")
    out = Outcomes(o.text("success_code", "accepted"), o.number("conversion", high=1.0), tuple(mix))
    o.done()
    return out


_PACING_KEYS = ("policy", "abandon_cap", "connect_limit_s", "preview_s", "tick_s")


def _policy_params(p: _Reader, policy: str) -> dict[str, float | int]:
    """The chosen policy's parameters, each policy's table checked against the registry (``pacing.POLICIES``).

    A scenario may hold several policies' parameters, ``[pacing.power] ratio = 1.6`` and ``[pacing.predictive]
    safety = 0.8``, so that ``--set policy=…`` picks one. The older flat form (``ratio = 1.6`` in ``[pacing]``) is
    read as a parameter of every policy that takes it."""
    chosen: dict[str, float | int] = {}
    flat = {k: v for k, v in p.data.items() if k not in _PACING_KEYS and k not in POLICIES}
    for name, spec in POLICIES.items():
        table = p.table(name, {})
        names = {param.name for param in spec.params}
        for key in table.data:
            if key in flat:
                raise table.fail(key, f"is given twice: keep it in [pacing.{name}] and drop it from [pacing]")
        values = {**{k: v for k, v in flat.items() if k in names}, **table.data}
        try:
            checked = spec.check(values)
        except InvalidInput as exc:
            where = table if exc.argument in table.data else p
            raise where.fail(exc.argument, str(exc).partition(": ")[2]) from None
        table.used.update(table.data)
        table.done()
        if name == policy:
            chosen = checked
    for key in flat:
        if not any(key in {param.name for param in spec.params} for spec in POLICIES.values()):
            raise p.fail(key, f"unknown key (a policy's parameter goes in its table, such as [pacing.{policy}])")
        p.used.add(key)
    return chosen


def _pacing(r: _Reader) -> Pacing:
    p = r.table("pacing")
    policy = p.text("policy", choices=tuple(POLICIES))
    params = _policy_params(p, policy)
    cap = p.number("abandon_cap", 0.03, 0.0, 1.0)
    try:
        check_campaign_setting("abandon_cap", cap)
    except InvalidInput as exc:
        raise p.fail("abandon_cap", str(exc).partition(": ")[2]) from None
    limit = p.get("connect_limit_s", 2.0)
    pacing = Pacing(policy, params, cap,
                    None if limit == "none" else p.number("connect_limit_s", 2.0, 0.0, 3600.0),
                    p.number("preview_s", 10.0, 0.0, 600.0), p.number("tick_s", 1.0, 0.05, 60.0))
    p.done()
    return pacing


def _rules(r: _Reader) -> Rules:
    rules = r.table("rules", {})
    retry = rules.table("retry", {})
    defaults = RetryRules()
    retry_rules = RetryRules(**{k: retry.number(k, getattr(defaults, k)) for k in defaults.__dict__})
    retry.done()
    zones = rules.get("zones", ["UTC"])
    for zone in zones:
        try:
            ZoneInfo(zone)
        except Exception:  # noqa: BLE001 - any failure means the name is unusable
            raise rules.fail("zones", f"unknown time zone {zone!r}") from None
    out = Rules(rules.text("profile", "us", tuple(PROFILES)), rules.integer("max_attempts", 6, 1), retry_rules,
                tuple(zones), rules.number("fresh_share", 0.0, 0.0, 1.0))
    rules.done()
    return out


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>", text: str = "") -> Scenario:
    """A validated scenario from parsed TOML; ScenarioError names the key and, given ``text``, its line."""
    r = _Reader(data, (), _Context(source, text))
    day = r.table("day")
    start, end = day.clock("start"), day.clock("end")
    if end <= start:
        raise day.fail("end", "must be after start")
    zone = day.text("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except Exception:  # noqa: BLE001
        raise day.fail("timezone", f"unknown time zone {zone!r}") from None
    when = day.get("date", date(2026, 11, 24))
    try:
        when = date.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:
        when = None
    if not isinstance(when, date):
        raise day.fail("date", "must be a date such as 2026-11-24")
    days = day.integer("days", 1, 1)
    day.done()
    lst = r.table("list")
    segments = tuple(_segment(s) for s in lst.tables("segments"))
    if abs(sum(s.share for s in segments) - 1.0) > 1e-6:
        raise lst.fail("segments", "segment shares must sum to 1")
    size = lst.integer("size", low=1)
    lst.done()
    amd = r.table("amd", {})
    amd_cfg = Amd(bool(amd.get("enabled", False)), amd.number("delay_s", 2.5, 0.0, 10.0),
                  amd.number("false_positive", 0.0, 0.0, 1.0), amd.number("false_negative", 0.0, 0.0, 1.0),
                  amd.text("if_no_budget", "refuse", AMD_ACTIONS))
    amd.done()
    talk = r.table("talk")
    talk_cfg = Talk(talk.distribution("success"), talk.distribution("refusal"),
                    talk.distribution("wrap", {"dist": "fixed", "value": 0.0}), talk.number("machine_s", 8.0))
    talk.done()
    customers = r.table("customers", {})
    patience = customers.distribution("patience") if "patience" in customers.data else None
    customers.done()
    scenario = Scenario(
        name=r.text("name", source), seed=r.integer("seed", 1), date=when, timezone=zone, start_s=start, end_s=end,
        days=days, shifts=_shifts(r, start, end), list_size=size, segments=segments, amd=amd_cfg, talk=talk_cfg,
        outcomes=_outcomes(r), patience=patience, pacing=_pacing(r), rules=_rules(r))
    r.done()
    return _amd_budget(scenario, amd)


def _amd_budget(scenario: Scenario, amd: _Reader) -> Scenario:
    """Refuse a day whose AMD false positives alone use the cap where the rules count them (UK), or run it with
    AMD off (``[amd] if_no_budget = "amd-off"``), saying which in ``notes`` (``pacing.ledger.amd_verdict``)."""
    if not scenario.amd.enabled:
        return scenario
    safety = float(scenario.pacing.params.get("safety", 0.8)) if scenario.pacing.policy == "predictive" else 0.8
    verdict = amd_verdict(scenario.pacing.abandon_cap, scenario.amd.false_positive,
                          scenario.rules.profile == "uk", scenario.amd.if_no_budget, safety)  # Ofcom counts them
    if verdict.action == "refuse":
        raise amd.fail("false_positive", verdict.message + ' (or set [amd] if_no_budget = "amd-off")')
    if verdict.action == "run-without-amd":
        return replace(scenario, amd=replace(scenario.amd, enabled=False), notes=(*scenario.notes, verdict.message))
    return scenario


def for_campaign(scenario: Scenario, catalogue: Mapping[str, Mapping[str, str]], kind: str) -> Scenario:
    """``scenario`` with its people deciding in the words of a campaign of ``kind`` with ``catalogue``
    (``lists.campaigns``): a payment reminder dialled on a loan-offer day records promises to pay and
    hardship, not loans accepted and "too expensive" (``Outcomes.within``)."""
    outcomes = scenario.outcomes.within(catalogue.get("outcomes", {}), catalogue.get("refusal_reasons", {}),
                                        success_outcome(kind))
    return scenario if outcomes == scenario.outcomes else replace(scenario, outcomes=outcomes)


def load_scenario(path: Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, override (``{"agents.count": 10}``) and validate the scenario at ``path``."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return parse_scenario(apply_overrides(data, overrides or {}), str(path), text)


_SHORTCUTS = {"agents": "agents.count", "policy": "pacing.policy", "ratio": "pacing.power.ratio",
              "size": "list.size"}


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with dotted keys set (``pacing.ratio``; ``agents`` means ``agents.count``)."""
    out = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        flat_ratio = dotted == "ratio" and "ratio" in out.get("pacing", {})  # an older file's flat power ratio
        keys = ("pacing.ratio" if flat_ratio else _SHORTCUTS.get(dotted, dotted)).split(".")
        node: Any = out
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if keys[0] == "agents" and keys[-1] == "count":
            node.pop("shifts", None)
        node[keys[-1]] = value
    return out

"""Fit a scenario from a store's attempt ledger, and write a simulated run into a store.

Why censoring matters: a no-answer after 25 s of ringing does not say the
person would never have answered; it says their answer time, if any, is
over 25 s. Ring times are therefore fitted by maximum likelihood with the
no-answers as right-censored observations of a mixture: a lead answers live
with probability p_live (by hour), by machine with p_machine, or never; the
time to answer is lognormal. Busy and invalid are counted directly.

The ledger cannot see AMD false positives (a person the detector hung up
on looks like a machine), so a fitted live rate under AMD is low by the
false-positive share, and the fitted scenario sets the false-positive rate
to 0 with a note in the TOML and a logged warning: enter the rate from your
own AMD tests. The day (date, start, end, days) is read from the dial times.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import tomli_w
from scipy import optimize, special, stats
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dialer.drivers.sim.customers import Draws
from dialer.drivers.sim.scenario import Scenario
from dialer.records import Outcome
from lists.campaigns import create_campaign
from lists.lifecycle import LeadStatus
from lists.models import Attempt, Campaign, Lead, to_db
from lists.selection import record_attempts
from pacing.days import local_midnight
from simulation.results import RunResult

__all__ = ["SegmentFit", "fit_segment", "calibrate", "calibration_notes", "scenario_toml", "store_run"]

_LIVE = ("human", "abandoned")
_QUARTER_S = 900  # the fitted day's start and end are rounded out to quarter hours, seconds
_LAST_S = 23 * 3600 + 59 * 60  # a day ends by 23:59 (a scenario's end is a time of day)
_FP_COMMENT = "# NOT FITTED: the ledger cannot see AMD false positives. Enter the rate from your AMD tests."
log = logging.getLogger(__name__)


@dataclass
class _Observations:
    """One segment's attempts, split the way the likelihood needs them."""

    hours: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # live, machine, no_answer, busy, invalid
    times: list[float] = field(default_factory=list)  # ring seconds (answer time, or the censoring time)


@dataclass(frozen=True)
class SegmentFit:
    """Per-hour rates (hour → fraction) and lognormal ring times (mean, sd in seconds)."""

    attempts: int
    live: dict[int, float]
    machine: dict[int, float]
    busy: dict[int, float]
    invalid: dict[int, float]
    ring_live: tuple[float, float]
    ring_machine: tuple[float, float]
    timeout_s: float


def _lognormal_moments(mu: float, sigma: float) -> tuple[float, float]:
    mean = math.exp(mu + sigma**2 / 2)
    return mean, mean * math.sqrt(math.expm1(sigma**2))


def fit_segment(obs: _Observations) -> SegmentFit:
    """Maximum likelihood over hourly (live, machine, never) shares and two lognormal ring-time laws."""
    hours = np.array(obs.hours)
    kinds = np.array(obs.kinds)
    t = np.maximum(np.array(obs.times), 1e-3)
    present = sorted(set(obs.hours))
    index = np.searchsorted(present, hours)
    counts = {k: np.bincount(index[kinds == k], minlength=len(present)) for k in ("busy", "invalid")}
    total = np.bincount(index, minlength=len(present))
    rest = 1.0 - (counts["busy"] + counts["invalid"]) / total  # share neither busy nor invalid, per hour
    live, machine, na = kinds == "live", kinds == "machine", kinds == "no_answer"
    logt = np.log(t)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
        logits = np.stack([x[: len(present)], x[len(present): 2 * len(present)], np.zeros(len(present))])
        shares = special.softmax(logits, axis=0) * rest
        return shares[0], shares[1], x[-4], math.exp(x[-3]), x[-2], math.exp(x[-1])

    def nll(x: np.ndarray) -> float:
        p_l, p_m, mu_l, s_l, mu_m, s_m = unpack(x)
        ll = np.sum(np.log(p_l[index[live]]) + stats.norm.logpdf(logt[live], mu_l, s_l) - logt[live])
        ll += np.sum(np.log(p_m[index[machine]]) + stats.norm.logpdf(logt[machine], mu_m, s_m) - logt[machine])
        f_l, f_m = stats.norm.cdf(logt[na], mu_l, s_l), stats.norm.cdf(logt[na], mu_m, s_m)
        h = index[na]
        ll += np.sum(np.log(np.maximum(rest[h] - p_l[h] * f_l - p_m[h] * f_m, 1e-300)))
        return -float(ll)

    start = np.concatenate([np.zeros(2 * len(present)), _start(logt[live]), _start(logt[machine])])
    best = optimize.minimize(nll, start, method="L-BFGS-B").x
    p_l, p_m, mu_l, s_l, mu_m, s_m = unpack(best)
    per_hour = dict(zip(present, range(len(present)), strict=True))
    return SegmentFit(
        attempts=len(kinds),
        live={h: float(p_l[i]) for h, i in per_hour.items()}, machine={h: float(p_m[i]) for h, i in per_hour.items()},
        busy={h: float(counts["busy"][i] / total[i]) for h, i in per_hour.items()},
        invalid={h: float(counts["invalid"][i] / total[i]) for h, i in per_hour.items()},
        ring_live=_lognormal_moments(mu_l, s_l), ring_machine=_lognormal_moments(mu_m, s_m),
        timeout_s=float(np.median(t[na])) if na.any() else 25.0)


def _start(logs: np.ndarray) -> np.ndarray:
    if len(logs) < 2:
        return np.array([math.log(12.0), math.log(0.5)])
    return np.array([float(np.mean(logs)), math.log(max(float(np.std(logs)), 0.05))])


# ---- from the ledger ------------------------------------------------------------------------------------------

def _ring_kind(attempt: Attempt) -> str:
    if attempt.outcome in _LIVE:
        return "live"
    return attempt.outcome if attempt.outcome in ("machine", "busy", "invalid") else "no_answer"


def _observations(session: Session, campaign: Campaign, zone: ZoneInfo) -> dict[str, _Observations]:
    out: dict[str, _Observations] = defaultdict(_Observations)
    rows = session.execute(select(Attempt, Lead.fields).join(Lead, Lead.id == Attempt.lead_id)
                           .where(Attempt.campaign_id == campaign.id))
    for attempt, fields in rows:
        obs = out[(fields or {}).get("segment", "all")]
        dialled = attempt.dialled_at.replace(tzinfo=UTC)
        end = attempt.answered_at or attempt.hangup_at or attempt.dialled_at
        obs.hours.append(dialled.astimezone(zone).hour)
        obs.kinds.append(_ring_kind(attempt))
        obs.times.append((end - attempt.dialled_at).total_seconds())
    return out


def _lognormal_fit(values: list[float], fallback: float) -> dict[str, Any]:
    if len(values) < 2:
        return {"dist": "exponential", "mean": fallback}
    logs = np.log(np.maximum(values, 1e-3))
    mean, sd = _lognormal_moments(float(np.mean(logs)), float(np.std(logs, ddof=1)))
    return {"dist": "lognormal", "mean": round(mean, 3), "sd": round(sd, 3)}


def _talk(session: Session, campaign: Campaign, success_code: str) -> tuple[dict[str, Any], Counter[str], int]:
    talk: dict[str, list[float]] = defaultdict(list)
    wraps: list[float] = []
    reasons: Counter[str] = Counter()
    for a in session.scalars(select(Attempt).where(Attempt.campaign_id == campaign.id,
                                                   Attempt.connected_at.is_not(None), Attempt.outcome == Outcome.HUMAN,
                                                   Attempt.hangup_at.is_not(None))):
        assert a.hangup_at is not None and a.connected_at is not None  # selected so
        talk["success" if a.disposition == success_code else "refusal"].append(
            (a.hangup_at - a.connected_at).total_seconds())
        wraps += [float(a.data["wrap_s"])] if "wrap_s" in (a.data or {}) else []
        if a.refusal_reason is not None:
            reasons[a.refusal_reason] += 1
    wrap = ({"dist": "gamma", "mean": round(float(np.mean(wraps)), 3), "sd": round(max(float(np.std(wraps)), 1e-3), 3)}
            if len(wraps) > 1 else {"dist": "fixed", "value": 0.0})
    return ({"success": _lognormal_fit(talk["success"], 300.0), "refusal": _lognormal_fit(talk["refusal"], 90.0),
             "wrap": wrap}, reasons, len(talk["success"]))


def _amd(session: Session, campaign: Campaign) -> dict[str, Any]:
    """AMD on if the ledger has AMD results: its mean delay, and machines it let through to agents."""
    rows = session.execute(select(Attempt.answered_at, Attempt.amd_end_at, Attempt.amd_result, Attempt.outcome,
                                  Attempt.connected_at).where(Attempt.campaign_id == campaign.id,
                                                              Attempt.amd_result.is_not(None))).all()
    if not rows:
        return {"enabled": False}
    delays = [(end - answered).total_seconds() for answered, end, *_ in rows if answered and end]
    machines = [r for r in rows if r.outcome == Outcome.MACHINE]
    through = sum(1 for r in machines if r.amd_result != "machine" and r.connected_at is not None)
    return {"enabled": True, "delay_s": round(float(np.mean(delays)), 3) if delays else 2.5,
            "false_negative": round(through / len(machines), 5) if machines else 0.0,
            "false_positive": 0.0}


def _segment_table(name: str, share: float, fit: SegmentFit) -> dict[str, Any]:
    def rates(values: dict[int, float]) -> dict[str, float]:
        return {str(h): round(v, 5) for h, v in sorted(values.items())}

    return {"name": name, "share": round(share, 6), "live": rates(fit.live), "machine": rates(fit.machine),
            "busy": rates(fit.busy), "invalid": rates(fit.invalid),
            "ring_live": {"dist": "lognormal", "mean": round(fit.ring_live[0], 3), "sd": round(fit.ring_live[1], 3)},
            "ring_machine": {"dist": "lognormal", "mean": round(fit.ring_machine[0], 3),
                             "sd": round(fit.ring_machine[1], 3)},
            "no_answer_timeout_s": round(min(max(fit.timeout_s, 15.0), 120.0), 1)}


def calibrate(session: Session, campaign: Campaign, timezone: str | None = None,
              success_code: str = "accepted") -> dict[str, Any]:
    """A scenario (as TOML-ready data) fitted to the campaign's ledger: rates by hour, ring, talk, outcome mix."""
    zone = ZoneInfo(timezone or _main_zone(session, campaign))
    observations = _observations(session, campaign, zone)
    if not observations:
        raise ValueError(f"campaign {campaign.name!r} has no attempts to calibrate from")
    leads = Counter(s for s in (f.get("segment", "all") for f in session.scalars(
        select(Lead.fields).where(Lead.campaign_id == campaign.id))))
    talk, reasons, successes = _talk(session, campaign, success_code)
    connected = successes + sum(reasons.values())
    segments = [_segment_table(name, leads[name] / sum(leads.values()), fit_segment(obs))
                for name, obs in sorted(observations.items())]
    total_share = sum(s["share"] for s in segments)
    for segment in segments:
        segment["share"] = segment["share"] / total_share
    fitted = {
        "name": f"calibrated from {campaign.name}", "seed": 1,
        "day": _day(session, campaign, zone),
        "agents": {"count": 10}, "list": {"size": sum(leads.values()), "segments": segments}, "talk": talk,
        "amd": _amd(session, campaign),
        "outcomes": {"success_code": success_code, "conversion": round(successes / connected, 5) if connected else 0.0,
                     "refusal_reasons": _shares(reasons)},
        "pacing": _pacing(campaign),
        "rules": {"profile": campaign.rules_profile, "max_attempts": campaign.max_attempts, "zones": [zone.key]},
    }
    for note in calibration_notes(fitted):
        log.warning("warning: %s", note)
    return fitted


def _pacing(campaign: Campaign) -> dict[str, Any]:
    """The campaign's dial mode, cap and stored pacing parameters as a scenario's ``[pacing]`` table.

    Why the campaign's own: the fitted scenario is where an analyst tries
    what the campaign would do, so it must pace as the daemon does
    (``lists.campaigns.controller_for_campaign``); the parameters go in the
    policy's table (``[pacing.predictive] safety = 0.7``)."""
    table: dict[str, Any] = {"policy": campaign.dial_mode, "abandon_cap": campaign.abandon_cap}
    if campaign.pacing_params:
        table[campaign.dial_mode] = dict(campaign.pacing_params)
    return table


def calibration_notes(fitted: dict[str, Any]) -> list[str]:
    """What the ledger could not tell and the analyst must set, one sentence each."""
    notes = []
    if fitted["amd"].get("enabled"):
        notes.append("amd.false_positive is set to 0.0 because the ledger cannot know it (a person AMD hung up "
                     "on looks like a machine): enter the rate from your own AMD tests; the fitted live rates are "
                     "low by that share")
    return notes


def scenario_toml(fitted: dict[str, Any], campaign: str) -> str:
    """The fitted scenario as TOML text, with each note as a comment (and above the key it concerns)."""
    head = [f"# Fitted from the attempt ledger of campaign {campaign!r}. Set agents before use."]
    head += [f"# NOTE: {note}" for note in calibration_notes(fitted)]
    lines = tomli_w.dumps(fitted).splitlines()
    section = ""
    for i, line in enumerate(lines):
        section = line if line.startswith("[") else section
        if section == "[amd]" and line.startswith("false_positive") and fitted["amd"].get("enabled"):
            lines[i] = f"{_FP_COMMENT}\n{line}"
            break
    return "\n".join(head + lines) + "\n"


def _day(session: Session, campaign: Campaign, zone: ZoneInfo) -> dict[str, Any]:
    """The dialling day as the ledger shows it: first date, local start and end (to the quarter hour), days."""
    local = [d.replace(tzinfo=UTC).astimezone(zone) for d in session.scalars(
        select(Attempt.dialled_at).where(Attempt.campaign_id == campaign.id))]
    seconds = [t.hour * 3600 + t.minute * 60 + t.second for t in local]
    start = math.floor(min(seconds) / _QUARTER_S) * _QUARTER_S
    end = min(max(math.ceil(max(seconds) / _QUARTER_S) * _QUARTER_S, start + _QUARTER_S), _LAST_S)
    first, last = min(t.date() for t in local), max(t.date() for t in local)
    return {"date": first.isoformat(), "timezone": zone.key, "start": _clock(start), "end": _clock(end),
            "days": (last - first).days + 1}


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    if not total:
        return {"no_need": 1.0}
    shares = {k: round(v / total, 6) for k, v in sorted(counts.items())}
    last = next(reversed(shares))
    shares[last] = round(1.0 - sum(v for k, v in shares.items() if k != last), 6)
    return shares


def _main_zone(session: Session, campaign: Campaign) -> str:
    zones = Counter(z.split(",")[0] for z in session.scalars(select(Lead.zones).where(Lead.campaign_id == campaign.id))
                    if z)
    return zones.most_common(1)[0][0] if zones else "UTC"


# ---- into the ledger -------------------------------------------------------------------------------------------

def store_run(session: Session, scenario: Scenario, result: RunResult, name: str, kind: str = "loan-offer",
              replication: int = 0) -> Campaign:
    """Write a recorded run (``simulate(..., record=True)``) into the store as campaign ``name``.

    Why through ``record_attempts``: the store must read like a real day, so
    every attempt goes through the one path that writes the ledger and moves
    its lead on (attempt count, status, refusal reason, next due time).
    Every lead of the list is written, dialled or not, with the segment the
    run gave it (``replication`` must be the run's), so the store's
    penetration is the run's.
    """
    campaign = _campaign_for(session, scenario, name, kind)
    origin = local_midnight(scenario.date, scenario.timezone).astimezone(UTC)
    segments = Draws.make(scenario, replication).segment
    zones = scenario.rules.zones
    session.execute(insert(Lead), [
        {"campaign_id": campaign.id, "phone_e164": _phone(index), "zones": zones[index % len(zones)],
         "fields": {"segment": scenario.segments[int(segment)].name}, "status": LeadStatus.NEW, "attempts": 0,
         "priority": 0, "next_at": to_db(origin)} for index, segment in enumerate(segments)])
    leads = {lead.phone_e164: lead for lead in session.scalars(select(Lead).where(Lead.campaign_id == campaign.id))}
    calls = sorted((a.call for a in result.attempts), key=lambda call: (call.dialled_s, call.lead, call.attempt))
    record_attempts(session, campaign, ((leads[_phone(call.lead)], call.as_record(origin)) for call in calls))
    return campaign


def _phone(index: int) -> str:
    return f"+1555{index:07d}"


def _campaign_for(session: Session, scenario: Scenario, name: str, kind: str) -> Campaign:
    """A campaign of ``kind`` with the scenario's rules and retry delays, and the kind's own catalogue.

    Why not add the run's codes to the catalogue: a code the kind does not
    know would then read as its own label in every report. A run meant for
    the store is made in the campaign's words first (``for_campaign``); a
    code from elsewhere shows as not in the catalogue."""
    campaign = create_campaign(session, name, kind, rules_profile=scenario.rules.profile,
                               max_attempts=scenario.rules.max_attempts, fresh_share=scenario.rules.fresh_share)
    campaign.retry_rules = asdict(scenario.rules.retry)
    session.flush()
    return campaign


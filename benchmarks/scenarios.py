"""Scenario builders shared by the simulation and pacing benchmarks (plain dicts, validated by parse_scenario)."""

from __future__ import annotations

from typing import Any


def day_of(agents: int, live: float = 0.25, talk_mean_s: float = 90.0, talk_sd_s: float = 60.0,
           policy: str = "progressive", ratio: float = 1.5, hours: float = 8.0, seed: int = 1,
           talk_dist: str = "lognormal") -> dict[str, Any]:
    """An 8-hour US day: enough leads that the list never runs dry, gamma wrap-up, AMD off."""
    end_h = 9 + hours
    return {
        "name": f"{agents} agents, {live:.0%} live, {talk_mean_s:.0f}s talk, {policy}",
        "seed": seed,
        "day": {"date": "2026-11-24", "timezone": "America/New_York", "start": "09:00",
                "end": f"{int(end_h):02d}:{int(round(end_h % 1 * 60)):02d}"},
        "agents": {"count": agents},
        "list": {"size": max(2000, int(agents * hours * 3600 / (live * talk_mean_s + 20) * 1.2)),
                 "segments": [{"live": live, "machine": 0.15, "busy": 0.05, "invalid": 0.03,
                               "ring_live": {"dist": "lognormal", "mean": 10.0, "sd": 5.0},
                               "ring_machine": {"dist": "lognormal", "mean": 14.0, "sd": 4.0},
                               "no_answer_timeout_s": 25}]},
        "talk": {"success": {"dist": talk_dist, "mean": talk_mean_s * 1.5, "sd": talk_sd_s * 1.5},
                 "refusal": {"dist": talk_dist, "mean": talk_mean_s, "sd": talk_sd_s},
                 "wrap": {"dist": "gamma", "mean": 15.0, "sd": 8.0}},
        "outcomes": {"conversion": 0.1, "refusal_reasons": {"too_expensive": 0.5, "no_need": 0.5}},
        "customers": {"patience": {"dist": "exponential", "mean": 5.0}},
        "pacing": {"policy": policy, **({"ratio": ratio} if policy == "power" else {})},
        "rules": {"profile": "us", "max_attempts": 6, "zones": ["America/New_York"]},
    }


def non_stationary(data: dict[str, Any]) -> dict[str, Any]:
    """The same day, but the answer rate halves at noon and agents take a staggered 30-minute lunch."""
    segment = data["list"]["segments"][0]
    segment["live"] = {"0": segment["live"], "12": segment["live"] / 2}
    count = data["agents"]["count"]
    first = count // 2
    shifts = [{"count": first, "breaks": [["12:00", "12:30"]]},
              {"count": count - first, "breaks": [["12:30", "13:00"]]}]
    data["agents"] = {"shifts": [s for s in shifts if s["count"] > 0]}
    data["name"] += ", answer rate halves at noon, lunch breaks"
    return data


def uk_amd(data: dict[str, Any], false_positive: float = 0.02, delay_s: float = 2.5,
           patience_s: float = 4.0) -> dict[str, Any]:
    """The same day under the UK rule (AMD false positives count as abandoned), with AMD on and customers who
    hang up within a few seconds (exponential patience, mean ``patience_s``)."""
    data["day"]["timezone"] = "Europe/London"
    data["rules"] = {"profile": "uk", "max_attempts": 6, "zones": ["Europe/London"]}
    data["amd"] = {"enabled": True, "delay_s": delay_s, "false_positive": false_positive, "false_negative": 0.1}
    data["customers"] = {"patience": {"dist": "exponential", "mean": patience_s}}
    data["name"] += f", UK, AMD {false_positive:.0%} false positives"
    return data


def sudden_rise(data: dict[str, Any], at_hour: int, before: float, after: float,
                shared_break: bool = False) -> dict[str, Any]:
    """The answer rate jumps from ``before`` to ``after`` at ``at_hour``:00; with ``shared_break`` every agent
    takes the half hour before it off together, so they all come back as the rise begins."""
    data["list"]["segments"][0]["live"] = {"0": before, str(at_hour): after}
    size_factor = max(after, before) / max(min(after, before), 1e-3)
    data["list"]["size"] = int(data["list"]["size"] * min(size_factor, 4.0))
    if shared_break:
        count = data["agents"].pop("count")
        data["agents"]["shifts"] = [{"count": count, "breaks": [[f"{at_hour - 1:02d}:30", f"{at_hour:02d}:00"]]}]
    data["name"] += f", live {before:.0%} to {after:.0%} at {at_hour}:00" + (", shared break" if shared_break else "")
    return data

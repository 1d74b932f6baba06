"""A VICIdial-style adaptive pacer, written from shared/anchors/vicidial-adaptive.md, for comparison only.

It uses no answer rate, talk time or queueing model. It scales a dial level
by how many agents sit idle, and brakes on the day's drop rate once more than
50 calls have been placed. Methods: "hard" (ADAPT_HARD_LIMIT), "tapered"
(ADAPT_TAPERED) and "average" (ADAPT_AVERAGE). Times are seconds since local
midnight, as in every ``Snapshot``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pacing.controllers import AttemptOutcome, Decision, Snapshot
from pacing.days import DAY_S
from pacing.errors import InvalidInput
from pacing.memory import day, moment, number, whole

__all__ = ["Vicidial", "METHODS"]

METHODS = ("hard", "tapered", "average")
_TODAY = ("calls", "drops", "humans", "drop_pct")  # today's counts, as ``_roll_day`` starts them with the day


def _sample(values: Any) -> tuple[int, int, int]:
    """One saved sample (idle agents, callers waiting, agents logged in); ValueError unless three whole numbers."""
    idle, waiting, agents = (whole(n) for n in values)
    return idle, waiting, agents


def _day_counts(saved: dict[str, Any], shift_days: int) -> dict[str, float]:
    """Saved counts of a day (none before the first decision), that day ``shift_days`` on (``pacing.memory``)."""
    if not saved:
        return {}
    return {"day": day(saved["day"], shift_days), **{key: number(saved[key]) for key in _TODAY}}


def _schedule(saved: dict[str, Any], today: dict[str, float], shift_days: int) -> dict[str, float]:
    """Saved due times, ``shift_days`` on (``pacing.memory``); ValueError for one past the end of the day after
    the one ``today`` counts (any, if it counts none). Why that bound: a decision counts its own day and sets
    every due time at most 60 s (the longest period) after itself, and a later one would hold dialing off until
    then."""
    schedule = {key: moment(value, shift_days) for key, value in saved.items()}
    end_s = (today["day"] + 2) * DAY_S if today else -math.inf
    if any(due > end_s for due in schedule.values()):
        raise ValueError("a due time past the day after the one counted")
    return schedule


@dataclass
class Vicidial:
    """Dial level × active agents − calls in flight, every 2.5 s; the level adapts every 15 s."""

    method: str = "hard"
    cap: float = 0.03
    max_level: float = 3.0
    intensity: float = 0.0
    diff_target: float = 0.0
    latest_hhmm: int = 2100
    calls_per_second: float = 5.0
    trunk_limit: int | None = None
    level: float = 1.0
    name = "vicidial"
    reserves_agent = False
    _samples: deque[tuple[int, int, int]] = field(default_factory=lambda: deque(maxlen=15))
    _placed: deque[float] = field(default_factory=deque)
    _drops: deque[float] = field(default_factory=deque)
    _clock: dict[str, float] = field(default_factory=dict)
    _today: dict[str, float] = field(default_factory=dict)
    _pending: tuple[float, int] | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput("method", f"must be one of {', '.join(METHODS)}")
        if not -40 <= self.intensity <= 40:
            raise InvalidInput("intensity", "must be from -40 to 40")
        self.name = f"vicidial-{self.method}"

    def memory(self) -> dict[str, Any]:
        """What the level has learned and what it adapts from (``pacing.memory``): the level, today's counts, the
        last 15 samples, the last minute's placements and drops (the emergency brake) and the schedule they are
        taken on, so a new owner carries on where the last one was. A decision not yet placed starts fresh."""
        return {"level": self.level, "today": dict(self._today), "samples": list(self._samples),
                "placed": list(self._placed), "drops": list(self._drops), "schedule": dict(self._clock)}

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory()``, its day, times and schedule ``shift_days`` on (``pacing.memory``); the method, cap
        and limits stay this controller's own (the level held within 1 and today's ``max_level``). KeyError or
        ValueError if a count, a sample or a due time is missing or not one a memory may hold."""
        self.level = min(max(number(memory["level"]), 1.0), self.max_level)
        self._today = _day_counts(dict(memory["today"]), shift_days)
        self._samples = deque(map(_sample, memory["samples"]), maxlen=self._samples.maxlen)
        self._placed = deque(moment(t, shift_days) for t in memory["placed"])
        self._drops = deque(moment(t, shift_days) for t in memory["drops"])
        self._clock = _schedule(dict(memory["schedule"]), self._today, shift_days)

    def _due(self, key: str, now: float, every: float) -> bool:
        """True once per ``every`` seconds on a fixed schedule, whatever the caller's tick."""
        due = self._clock.get(key, -math.inf)
        if now < due:
            return False
        self._clock[key] = due + every if due + every > now else now + every
        return True

    def decide(self, snapshot: Snapshot) -> Decision:
        now = snapshot.now_s
        if self._pending is not None:  # ``placed`` was not called: the decision counts in full
            self.placed(*self._pending)
        self._roll_day(now)
        self._clock.setdefault("adapt", now + 15.0)  # the first update waits for 15 samples
        if self._due("sample", now, 1.0):
            self._samples.append((snapshot.agents_idle, snapshot.waiting, snapshot.agents_logged_in))
        if self._due("drop_pct", now, 60.0):
            self._today["drop_pct"] = self._today["drops"] / self._today["humans"] if self._today["humans"] else 0.0
        if self._due("adapt", now, 15.0) and self._samples:
            self._adapt(now)
        if not self._due("place", now, 2.5):
            return Decision(0, "between placements", {"dial_level": self.level})
        goal = round(self.level * snapshot.agents_logged_in)
        active = snapshot.in_flight + snapshot.agents_on_call  # VICIdial counts calls with agents as live calls
        launch = max(0, goal - active)
        launch = min(launch, int(self.calls_per_second * 2.5))
        if self.trunk_limit is not None:
            launch = min(launch, max(0, self.trunk_limit - snapshot.in_flight))
        self._pending = (now, launch)
        return Decision(launch, "dial level × active agents − live calls",
                        {"dial_level": self.level, "goal": goal, "live_calls": active,
                         "drop_pct_today": self._today["drop_pct"]})

    def _roll_day(self, now: float) -> None:
        day = int(now // DAY_S)
        if self._today.get("day") != day:
            self._today = {"day": day, "calls": 0, "drops": 0, "humans": 0, "drop_pct": 0.0}

    def _adapt(self, now: float) -> None:
        ready = sum(s[0] for s in self._samples) / len(self._samples)
        waiting = sum(s[1] for s in self._samples) / len(self._samples)
        agents = sum(s[2] for s in self._samples) / len(self._samples)
        numerator = ready - waiting + self.diff_target
        error = numerator / agents if numerator and agents else 0.0
        k = self.intensity / 100.0
        error = error * (1 + k) if error >= 0 else error * abs(k - 1)
        self.level = min(max(self.level * (1 + error), 1.0), self.max_level)
        self._emergency_brake(now)
        if self._today["calls"] > 50 and self._today["drop_pct"] > self.cap:
            self._drop_brake(now)
        self.level = max(self.level, 1.0)

    def _emergency_brake(self, now: float) -> None:
        while self._placed and self._placed[0] < now - 60.0:
            self._placed.popleft()
        while self._drops and self._drops[0] < now - 60.0:
            self._drops.popleft()
        if len(self._placed) > 20 and len(self._drops) > 0.5 * len(self._placed):
            self.level /= 2.0

    def _drop_brake(self, now: float) -> None:
        if self.method == "hard":
            self.level = 1.0
        elif self.method == "average":
            self.level /= 2.0
        else:
            local = now % DAY_S
            hhmm = int(local // 3600) * 100 + int(local % 3600 // 60)
            self.level = 1.0 if hhmm >= self.latest_hhmm else self.level * min(1.0, (self.latest_hhmm - hhmm) / 1000)

    def placed(self, now_s: float, count: int) -> None:
        """Calls actually originated: VICIdial's counts (today's calls, the emergency brake's minute) are of calls
        placed, so a decision the list could not serve adds nothing."""
        pending, self._pending = self._pending, None
        count = max(0, min(count, pending[1])) if pending is not None else max(count, 0)
        at = pending[0] if pending is not None else now_s
        self._roll_day(at)
        self._placed.extend([at] * count)
        self._today["calls"] += count

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        """The adaptive method uses no handle times."""

    def observe_machine(self, at_s: float) -> None:
        """Not used: this baseline's drop rate counts every answer passed on as live (VICIdial itself leaves out
        the answers its agents' statuses call machines; the baselines were measured without that)."""

    def observe(self, outcome: AttemptOutcome) -> None:
        t = outcome.dialled_at_s + outcome.ring_s
        self._roll_day(t)
        if outcome.result == "live":
            self._today["humans"] += 1
            if outcome.abandoned:
                self._today["drops"] += 1
                self._drops.append(t)

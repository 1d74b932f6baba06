"""The model-based predictive controller: launch as many calls as the abandonment budget allows.

Each decision looks ``horizon`` seconds ahead (the 90th percentile of the
ring time to a live answer):
- agents free by then: the idle ones, plus each busy agent with the
  probability, from the empirical handle-time law, that a call already
  ``elapsed`` seconds long ends within the horizon;
- live answers by then: calls already waiting, plus each ringing call with
  its probability of a live answer within the horizon given how long it has
  rung (censored survival estimates), plus that of each new call.
The shortfall D = lives − free agents is treated as normal; its expected
positive part is the expected number of abandoned calls. The controller
launches the most calls n whose expected abandonment, as a share of the
expected live answers, stays within the ledger's ``allowed_rate``. It never
launches fewer than progressive dialing would (that is risk-free), and never
more than the manager's line limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from pacing.controllers import AttemptOutcome, Decision, Snapshot
from pacing.estimators import HandleTimes, RingOutcomes
from pacing.ledger import AbandonmentLedger

__all__ = ["Predictive", "expected_shortfall"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def expected_shortfall(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E[max(0, D)] for D normal with ``mean`` and ``var`` (elementwise)."""
    sd = np.sqrt(np.maximum(var, 1e-12))
    z = mean / sd
    return sd * np.exp(-0.5 * z * z) / _SQRT_2PI + mean * ndtr(z)


@dataclass
class Predictive:
    """Model-based pacing under an abandonment budget. Limits: lines per logged-in agent and trunk lines."""

    ledger: AbandonmentLedger = field(default_factory=AbandonmentLedger)
    rings: RingOutcomes = field(default_factory=RingOutcomes)
    handles: HandleTimes = field(default_factory=HandleTimes)
    max_lines_per_agent: float = 4.0
    trunk_limit: int | None = None
    connect_limit_s: float = 2.0
    rate_window_s: float = 30.0
    name = "predictive"
    reserves_agent = False

    def __post_init__(self) -> None:
        self._launch_rate = 0.0
        self._last_t: float | None = None

    def decide(self, snapshot: Snapshot) -> Decision:
        progressive = max(0, snapshot.agents_idle - snapshot.in_flight)
        ceiling = self._line_ceiling(snapshot)
        allowed = self.ledger.allowed_rate(snapshot.now_s, snapshot.seconds_left)
        inputs = {"idle": snapshot.agents_idle, "in_flight": snapshot.in_flight, "allowed_rate": allowed,
                  "uk_rate": self.ledger.uk_rate(snapshot.now_s), "us_rate": self.ledger.us_rate(snapshot.now_s)}
        if allowed <= 0.0 or ceiling <= progressive:
            launch = min(progressive, max(ceiling, 0))
            self._count_launches(snapshot.now_s, launch)
            return Decision(launch, "no risk budget: progressive" if allowed <= 0 else "at the line limit", inputs)
        launch, risk = self._best(snapshot, allowed, progressive, ceiling, inputs)
        inputs["marginal_abandon_risk"] = risk
        self._count_launches(snapshot.now_s, launch)
        return Decision(launch, "most calls within the allowed abandonment rate", inputs)

    def _count_launches(self, now: float, launch: int) -> None:
        """Launches per second, averaged over ``rate_window_s``: the calls the next decisions will add."""
        elapsed = max(0.0, now - self._last_t) if self._last_t is not None else 0.0
        self._launch_rate = self._launch_rate * math.exp(-elapsed / self.rate_window_s) + launch / self.rate_window_s
        self._last_t = now

    def _line_ceiling(self, snapshot: Snapshot) -> int:
        """How many more calls the manager's limits allow now."""
        lines = int(self.max_lines_per_agent * snapshot.agents_logged_in)
        if self.trunk_limit is not None:
            lines = min(lines, self.trunk_limit)
        return lines - snapshot.in_flight

    def _best(self, snapshot: Snapshot, allowed: float, low: int, high: int,
              inputs: dict[str, float]) -> tuple[int, float]:
        self.rings.ringing(np.asarray(snapshot.ringing_elapsed_s))
        horizon = int(min(max(self.rings.ring_quantile(0.9), 4.0), 30.0))
        steps = np.arange(1, horizon + 1, dtype=float)
        lives_t, lives_var = self._lives_by(snapshot, steps)
        free_t, free_var = self._free_by(snapshot, steps)
        fresh = self.rings.p_live_within(np.zeros_like(steps), 0.0, steps)
        coming = self._launch_rate * np.cumsum(np.concatenate(([0.0], fresh[:-1])))
        n = np.arange(low, high + 1)[:, None]
        mean = lives_t + coming + n * fresh - free_t
        var = lives_var + coming + n * fresh * (1 - fresh) + free_var
        shortfall = expected_shortfall(mean, var).max(axis=1)
        marginal = np.diff(shortfall, prepend=shortfall[0]) / max(float(fresh[-1]), 1e-9)
        too_risky = np.nonzero((marginal > allowed) | (shortfall > self.ledger.slack(snapshot.now_s)))[0]
        best = int(too_risky[0]) - 1 if too_risky.size else len(marginal) - 1
        best = max(best, 0)
        inputs.update(horizon_s=float(horizon), agents_free_by_horizon=float(free_t[-1]), p_live_fresh=fresh[-1],
                      expected_abandons=float(shortfall[best]))
        return int(n[best, 0]), float(marginal[best])

    def _lives_by(self, snapshot: Snapshot, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected live answers (and their variance) by each step: those waiting plus the ringing calls'."""
        elapsed = np.asarray(snapshot.ringing_elapsed_s, dtype=float)
        if elapsed.size == 0:
            return np.full(steps.size, float(snapshot.waiting)), np.zeros(steps.size)
        p = self.rings.p_live_within(elapsed[:, None], 0.0, steps[None, :])
        return snapshot.waiting + p.sum(axis=0), (p * (1 - p)).sum(axis=0)

    def _free_by(self, snapshot: Snapshot, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Agents free by each step plus the connect limit: the idle ones and busy ones finishing."""
        elapsed = np.asarray(snapshot.busy_elapsed_s, dtype=float)
        if elapsed.size == 0:
            return np.full(steps.size, float(snapshot.agents_idle)), np.zeros(steps.size)
        q = self.handles.p_free_within(elapsed[:, None], steps[None, :] + self.connect_limit_s)
        return snapshot.agents_idle + q.sum(axis=0), (q * (1 - q)).sum(axis=0)

    def observe(self, outcome: AttemptOutcome) -> None:
        t = outcome.dialled_at_s + outcome.ring_s
        cause = {"live": "live", "machine": "machine", "no_answer": None}.get(outcome.result, "other")
        self.rings.observe(t, outcome.ring_s, cause)
        if outcome.result == "live":
            self.ledger.live(t, outcome.abandoned)
        elif outcome.result == "machine" and outcome.amd_detected:
            self.ledger.amd_machine(t)

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        self.handles.observe(at_s, handle_s)

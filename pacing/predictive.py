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
from pacing.estimators import Decaying, HandleTimes, RingOutcomes
from pacing.ledger import AbandonmentLedger

__all__ = ["Predictive", "Calibration", "expected_shortfall"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def expected_shortfall(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E[max(0, D)] for D normal with ``mean`` and ``var`` (elementwise)."""
    sd = np.sqrt(np.maximum(var, 1e-12))
    z = mean / sd
    return sd * np.exp(-0.5 * z * z) / _SQRT_2PI + mean * ndtr(z)


def _by_step(table: np.ndarray, elapsed_s: tuple[float, ...], bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Sum over items (ringing calls, busy agents) of their row of ``table``, chosen by elapsed time: the
    expected count by each step, and its variance (independent Bernoulli items)."""
    if not elapsed_s:
        return np.zeros(table.shape[1]), np.zeros(table.shape[1])
    rows = np.minimum((np.asarray(elapsed_s) / bin_s).astype(int), table.shape[0] - 1)
    counts = np.bincount(rows, minlength=table.shape[0])
    return counts @ table, counts @ (table * (1 - table))


@dataclass
class Calibration:
    """Realized over predicted abandoned calls, both forgetting with ``half_life_s``.

    Why: the normal approximation misjudges small numbers (a 5-agent team),
    and customers who hang up before the connect limit add abandons the
    model does not see. Scaling the model by what actually happened keeps its
    risk honest in every regime, with no special case for small teams.
    """

    half_life_s: float = 900.0
    prior: float = 1.0

    def __post_init__(self) -> None:
        self._sums = np.zeros(2)  # predicted, realized
        self._clock = Decaying(self.half_life_s)

    def predicted(self, t: float, expected: float) -> None:
        self._clock.decay_to(t, self._sums)
        self._sums[0] += expected

    def realized(self, t: float) -> None:
        self._clock.decay_to(t, self._sums)
        self._sums[1] += 1.0

    def factor(self, t: float) -> float:
        self._clock.decay_to(t, self._sums)
        return float(min(max((self._sums[1] + self.prior) / (self._sums[0] + self.prior), 0.25), 20.0))


@dataclass
class Predictive:
    """Model-based pacing under an abandonment budget. Limits: lines per logged-in agent and trunk lines.

    ``z`` is the margin, in standard deviations of a Poisson count, kept
    between the expected abandons of the calls in flight and the hard slack.
    """

    ledger: AbandonmentLedger = field(default_factory=AbandonmentLedger)
    rings: RingOutcomes = field(default_factory=RingOutcomes)
    handles: HandleTimes = field(default_factory=HandleTimes)
    calibration: Calibration = field(default_factory=Calibration)
    max_lines_per_agent: float = 4.0
    trunk_limit: int | None = None
    connect_limit_s: float = 2.0
    rate_window_s: float = 30.0
    z: float = 1.5
    name = "predictive"
    reserves_agent = False

    def __post_init__(self) -> None:
        self._launch_rate = 0.0
        self._last_t: float | None = None

    def decide(self, snapshot: Snapshot) -> Decision:
        progressive = max(0, snapshot.agents_idle - snapshot.in_flight)
        ceiling = self._line_ceiling(snapshot)
        allowed = self.ledger.allowed_rate(snapshot.now_s, snapshot.seconds_left, self._floor_rate(snapshot))
        inputs = {"idle": snapshot.agents_idle, "in_flight": snapshot.in_flight, "allowed_rate": allowed,
                  "uk_rate": self.ledger.uk_rate(snapshot.now_s), "us_rate": self.ledger.us_rate(snapshot.now_s),
                  "ofcom_rate": self.ledger.ofcom_rate(snapshot.now_s)}
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

    def _floor_rate(self, snapshot: Snapshot) -> float:
        """Live answers per second the floor will surely see: half its agents busy on calls of mean length."""
        return 0.5 * snapshot.agents_logged_in / self.handles.mean_s

    def _line_ceiling(self, snapshot: Snapshot) -> int:
        """How many more calls the manager's limits allow now."""
        lines = int(self.max_lines_per_agent * snapshot.agents_logged_in)
        if self.trunk_limit is not None:
            lines = min(lines, self.trunk_limit)
        return lines - snapshot.in_flight

    def _best(self, snapshot: Snapshot, allowed: float, low: int, high: int,
              inputs: dict[str, float]) -> tuple[int, float]:
        self.rings.ringing(snapshot.now_s, np.asarray(snapshot.ringing_elapsed_s))
        self.handles.busy(snapshot.now_s, np.asarray(snapshot.busy_elapsed_s))
        horizon = int(min(max(self.rings.ring_quantile(0.9), 4.0), 30.0))
        table = self.rings.live_table(horizon)
        fresh = table[0]
        n = np.arange(low, high + 1)
        bias = self.calibration.factor(snapshot.now_s)
        shortfall = bias * self._expected_abandons(snapshot, table, n)
        marginal = np.diff(shortfall, prepend=shortfall[0]) / max(float(fresh[-1]), 1e-9)
        slack = self.ledger.slack(snapshot.now_s, snapshot.seconds_left, self._floor_rate(snapshot))
        too_risky = np.nonzero((marginal > allowed) | (shortfall + self.z * np.sqrt(shortfall) > slack))[0]
        best = max(int(too_risky[0]) - 1 if too_risky.size else len(marginal) - 1, 0)
        self.calibration.predicted(snapshot.now_s, float(shortfall[best] - shortfall[0]) / bias)
        inputs.update(horizon_s=float(horizon), p_live_fresh=float(fresh[-1]), expected_abandons=float(shortfall[best]),
                      model_bias=bias)
        return int(n[best]), float(marginal[best])

    def _expected_abandons(self, snapshot: Snapshot, live_table: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Expected abandoned calls over the horizon if ``n`` calls go out now, for each candidate n.

        The deficit by step t is the live answers by t less the agents free by
        t plus the connect limit; calls the next decisions will launch (at the
        recent launch rate) compete for the same agents. ``live_table`` is
        ``RingOutcomes.live_table``: row e holds a call ringing for e seconds.
        """
        fresh = live_table[0]
        lives_t, lives_var = _by_step(live_table, snapshot.ringing_elapsed_s, 1.0)
        free_t, free_var = _by_step(self.handles.free_table(fresh.size, self.connect_limit_s),
                                    snapshot.busy_elapsed_s, self.handles.step_s)
        coming = self._launch_rate * np.cumsum(np.concatenate(([0.0], fresh[:-1])))
        mean = snapshot.waiting + lives_t + coming + n[:, None] * fresh - snapshot.agents_idle - free_t
        var = lives_var + coming + n[:, None] * (fresh * (1 - fresh)) + free_var
        return expected_shortfall(mean, var).max(axis=1)

    def observe(self, outcome: AttemptOutcome) -> None:
        t = outcome.dialled_at_s + outcome.ring_s
        cause = {"live": "live", "machine": "machine", "no_answer": None}.get(outcome.result, "other")
        self.rings.observe(t, outcome.ring_s, cause)
        if outcome.result == "live":
            self.ledger.live(t, outcome.abandoned)
            if outcome.abandoned:
                self.calibration.realized(t)
        elif outcome.result == "machine" and outcome.amd_detected:
            self.ledger.amd_machine(t)

    def observe_handle(self, at_s: float, handle_s: float) -> None:
        self.handles.observe(at_s, handle_s)

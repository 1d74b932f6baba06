"""The abandonment ledger: what the law counts, per campaign, and the risk the pacer may still take.

Three measures, each a fraction of live answers:
- US (FTC TSR, FCC): abandoned calls over live answers in the last 30 days, rolling;
- UK (Ofcom): per calendar day, with the estimated AMD false positives (people
  the detector hung up on) added to the abandoned calls;
- the Ofcom adjusted formula as dialers implement it:
  D′ = D − D·Ag/(Ag+L), rate = D′/(D′+L), Ag = calls agents marked as machines.

Times are seconds since a local midnight (the caller's clock); a day is 86,400 s.

The budget: ``allowed_rate`` is the abandonment rate the pacer may aim for over
the next window so that, if the window goes as expected, the binding measure
ends the day at ``aim``. When the budget is spent it is 0, and the pacer
falls back to zero-risk (progressive) dialing until live answers restore it.
Under the UK measure every live answer still to come brings its share of AMD
false positives, fp/(1 − fp) per person passed to an agent; the budget sets
them aside before any risk is taken: without this a morning can spend the
whole budget on true abandons, and the false positives of the afternoon then
break the cap. With fp at or above the aim there is nothing left:
``amd_verdict`` says so before a campaign starts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from scipy.special import betaincinv

from pacing.controllers import AttemptOutcome
from pacing.days import DAY_S
from pacing.errors import PacingError
from pacing.memory import day, moment, number

__all__ = ["AbandonmentLedger", "Budgeted", "DayAnswers", "Standing", "ofcom_adjusted_rate", "AmdVerdict",
           "amd_verdict", "NoAbandonBudget", "require_amd_budget", "AMD_ACTIONS", "people_share"]



def ofcom_adjusted_rate(drops: float, live: float, agent_machines: float) -> float:
    """D′/(D′+L) with D′ = D − D·Ag/(Ag+L): drops adjusted for the machines agents found among connected calls."""
    adjusted = drops - (drops * agent_machines / (agent_machines + live) if agent_machines + live else 0.0)
    return adjusted / (adjusted + live) if adjusted + live else 0.0


@runtime_checkable
class Budgeted(Protocol):
    """A controller that paces by its own ``AbandonmentLedger`` (a restart restores the store's counts into it)."""

    ledger: AbandonmentLedger


@dataclass(frozen=True)
class Standing:
    """A day's live answers and abandons as the law counts them (people; the UK's AMD false-positive estimate
    included), against the cap: the figures the wallboard, the API and the compliance log show."""

    live: float
    abandoned: float
    cap: float

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def budget(self) -> float:
        """Abandons the day's cap can still absorb, calls (0 when spent)."""
        return max(0.0, self.cap * self.live - self.abandoned)


@dataclass
class DayAnswers:
    """One day's answers as the dialer saw them. ``live``: answers passed on as live, abandoned ones included;
    ``abandoned``: those no agent took in time, of which ``dropped`` the dialer hung up on at the connect
    limit (person or machine, it cannot tell) and the rest hung up while waiting (people);
    ``agent_machines``: answers an agent took and found to be machines."""

    live: float = 0.0
    abandoned: float = 0.0
    amd_machines: float = 0.0
    agent_machines: float = 0.0
    dropped: float = 0.0

    def people(self) -> tuple[float, float]:
        """(abandoned people, live people): the machines agents found leave the live answers, and the dropped
        calls count as people at ``people_share`` of the answers agents took.

        Why that share: it is what the agents heard, the Ofcom adjustment
        (D′ = D·L/(L + Ag)) applied to the calls whose far end the dialer
        never heard, taken at its upper bound so a short record counts the
        drops nearly in full. It errs on the cap's side: a person who waits
        may hang up before the limit (counted in full, as a person), a
        machine never does. Counting every drop a person under-spends the
        budget (``benchmarks/README.md`` has the figures)."""
        connected = self.live - self.abandoned
        machines = min(self.agent_machines, max(connected, 0.0))
        share = people_share(connected - machines, machines)
        missed = self.dropped * (1.0 - share)
        return self.abandoned - missed, self.live - machines - missed


@lru_cache(maxsize=65536)
def people_share(people: float, machines: float, confidence: float = 0.9) -> float:
    """Upper bound (``confidence`` quantile of Beta(people + 1, machines + 1)) of the share of people among
    answers agents took; 1 with none taken. Why a bound: three answers taken, two of them machines, would
    count the day's drops at a third."""
    if people + machines <= 0:
        return 1.0
    return float(betaincinv(people + 1.0, machines + 1.0, confidence))


@dataclass
class AbandonmentLedger:
    """Counts by day; ``fp_rate`` is the tested AMD false-positive share of people (0 without AMD).

    ``aim`` is the rate aimed at, never below ``safety`` × cap;
    ``margin_sd`` sizes its distance from the cap; ``assured`` is the share
    of the day's expected remaining live answers the hard limit may count on;
    ``catch_up`` bounds the allowed rate, as a multiple of the aim, when a
    quiet morning left budget unspent: risk bunched late in the day buys
    little occupancy for each abandoned call. ``fp_margin_sd`` (0: off) widens
    the aim's margin by that many standard deviations of the day's random
    count of false positives: the guarantee is on the regulator's measure
    (false positives at their estimate); this is the chance constraint for a
    promise on the simulated truth, which no dialer can see."""

    cap: float = 0.03
    fp_rate: float = 0.0
    safety: float = 0.8
    margin_sd: float = 3.0
    assured: float = 0.5
    catch_up: float = 2.0
    fp_margin_sd: float = 0.0
    days: dict[int, DayAnswers] = field(default_factory=dict)
    _recent_live: deque[float] = field(default_factory=deque)

    def memory(self) -> dict[str, Any]:
        """What was counted (``pacing.memory``): each day's answers and the recent live answers' times. The cap,
        the AMD false-positive rate and the margins are settings: a new owner takes today's."""
        return {"days": [{"day": day, **asdict(counts)} for day, counts in self.days.items()],
                "recent_live": list(self._recent_live)}

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory()``, its days and times ``shift_days`` on (``pacing.memory``: today's counts stay
        today's); KeyError or ValueError if a day lacks a count, a count is not one a memory may hold, or a day's
        counts contradict one another (``DayAnswers``: its dropped answers are some of its abandoned ones, and those
        some of its live ones; more dropped than abandoned would count people abandoned below none)."""
        names = [f.name for f in fields(DayAnswers)]
        days = {day(row["day"], shift_days): DayAnswers(*(number(row[name]) for name in names))
                for row in memory["days"]}
        if any(not counts.dropped <= counts.abandoned <= counts.live for counts in days.values()):
            raise ValueError("a day with more dropped answers than abandoned, or more abandoned than live")
        self.days = days
        self._recent_live = deque(moment(t, shift_days) for t in memory["recent_live"])

    def restore(self, days: Mapping[int, DayAnswers]) -> None:
        """Take each given day's counts from the attempt ledger in the store (``lists.models.answers_by_day``),
        in place of what this controller counted or recalled for it.

        Why: a daemon that restarts or takes a campaign over must go on from
        the abandons already spent today (the UK cap is per day) and in the
        last 30 days (the US rule), and the store, written ahead of every
        dial, is their authority; a pacing memory is up to a save interval
        old, and a single daemon keeps none."""
        self.days.update(days)

    def add(self, days: Mapping[int, DayAnswers]) -> None:
        """Add answers counted from the store to each given day, on top of what it holds.

        Why: a paused owner's calls, counted at the takeover as interrupted
        (no answer), may come back as live answers and abandons when their
        real results are applied (``lists.handover``); the day's cap must
        count them, once."""
        for key, more in days.items():
            day = self.days.setdefault(key, DayAnswers())
            for f in fields(DayAnswers):
                setattr(day, f.name, getattr(day, f.name) + getattr(more, f.name))

    def _day(self, t: float) -> DayAnswers:
        return self.days.setdefault(int(t // DAY_S), DayAnswers())

    def live(self, t: float, abandoned: bool = False, dropped: bool = False) -> None:
        """An answer passed on as live at ``t``; ``abandoned``: no agent took it in time; ``dropped``: the dialer
        hung up on it at the connect limit (see ``DayAnswers``)."""
        day = self._day(t)
        day.live += 1
        day.abandoned += abandoned
        day.dropped += abandoned and dropped
        self._recent_live.append(t)

    def amd_machine(self, t: float) -> None:
        self._day(t).amd_machines += 1

    def observe(self, outcome: AttemptOutcome) -> None:
        """An attempt's answer, on the civil day of the answer: a live one (abandoned, dropped at the limit),
        or a machine AMD hung up on. What a controller is told is what is counted, so every reader of a
        campaign's figures (pacing, the wallboard, the compliance log) counts alike."""
        t = outcome.dialled_at_s + outcome.ring_s
        if outcome.result == "live":
            self.live(t, outcome.abandoned, outcome.dropped)
        elif outcome.result == "machine" and outcome.amd_detected:
            self.amd_machine(t)

    def standing(self, t: float) -> Standing:
        """Where ``t``'s day stands against the cap under the UK measure (people, false positives included)."""
        abandoned, live = self.uk_counts(t)
        return Standing(live, abandoned, self.cap)

    def agent_machine(self, t: float) -> None:
        self._day(t).agent_machines += 1

    # -- the measures ----------------------------------------------------------------------------------------
    @property
    def fp_per_live(self) -> float:
        """Estimated AMD false positives per live answer the dialer sees: fp / (1 − fp). Of N people, fp·N are
        hung up on and (1 − fp)·N reach the dialer as live answers."""
        return self.fp_rate / (1.0 - self.fp_rate) if self.fp_rate < 1.0 else math.inf

    def uk_counts(self, t: float) -> tuple[float, float]:
        """(abandoned including the false-positive estimate, live answers including them) for t's day."""
        abandoned, live = self._day(t).people()
        fp = self.fp_per_live * live if self.fp_rate < 1.0 else 0.0
        return abandoned + fp, live + fp

    def uk_rate(self, t: float) -> float:
        abandoned, live = self.uk_counts(t)
        return abandoned / live if live else 0.0

    def us_counts(self, t: float) -> tuple[float, float]:
        today = int(t // DAY_S)
        days = [d.people() for k, d in self.days.items() if today - 30 < k <= today]
        return sum(a for a, _ in days), sum(n for _, n in days)

    def us_rate(self, t: float) -> float:
        abandoned, live = self.us_counts(t)
        return abandoned / live if live else 0.0

    def ofcom_rate(self, t: float) -> float:
        day = self._day(t)
        return ofcom_adjusted_rate(day.abandoned, day.live - day.abandoned - day.agent_machines, day.agent_machines)

    # -- the budget ------------------------------------------------------------------------------------------
    def people_share(self, t: float) -> float:
        """Today's share of people among the answers passed on as live (machines agents found, drops at their
        bound taken out); 1 before any answer."""
        day = self._day(t)
        return day.people()[1] / day.live if day.live else 1.0

    def live_per_s(self, t: float, window_s: float = 900.0) -> float:
        """Live answers (people) per second over the last ``window_s`` (what the next window may bring): the
        answers passed on as live, at today's share of people among them."""
        return self.people_share(t) * self._answers_per_s(t, window_s)

    def _answers_per_s(self, t: float, window_s: float = 900.0) -> float:
        while self._recent_live and self._recent_live[0] < t - window_s:
            self._recent_live.popleft()
        return len(self._recent_live) / window_s

    def expected_live(self, t: float, seconds_left: float, floor_per_s: float = 0.0) -> float:
        """Live answers (people) the rest of the day should bring at the recent pace, or at least
        ``floor_per_s`` answers a second, both at today's share of people."""
        return self.people_share(t) * max(self._answers_per_s(t), floor_per_s) * max(seconds_left, 0.0)

    def _binding(self, t: float) -> tuple[tuple[float, float, float], ...]:
        """(abandoned, live, false positives per live answer to come) of each measure the budget must respect:
        the UK day, which counts AMD false positives, and the US 30 days, which does not."""
        uk_fp = self.fp_per_live if self.fp_rate < 1.0 else 0.0
        return (*self.uk_counts(t), uk_fp), (*self.us_counts(t), 0.0)

    @staticmethod
    def _room(rate: float, abandoned: float, live: float, fp: float, coming: float) -> float:
        """Abandons the measure may still take at ``rate`` once ``coming`` live answers have brought their
        ``fp`` share of false positives: rate·(live + coming·(1 + fp)) − abandoned − fp·coming."""
        return rate * (live + coming * (1.0 + fp)) - abandoned - fp * coming

    def slack(self, t: float, seconds_left: float = 0.0, floor_per_s: float = 0.0) -> float:
        """Abandoned calls that could happen now, all at once, with every measure still at or under the cap at
        the end of the day, counting only ``assured`` of the live answers the rest of the day should bring.

        With ``seconds_left`` 0 it is the hard limit: the cap holds even if no
        other person answers today. ``floor_per_s`` is the caller's lower
        estimate of live answers per second, for the start of a day with no
        recent history."""
        coming = self.assured * self.expected_live(t, seconds_left, floor_per_s)
        return max(0.0, min(self._room(self.cap, *measure, coming) / (1.0 - self.cap) for measure in self._binding(t)))

    def reserve(self, t: float, seconds_left: float = 0.0, floor_per_s: float = 0.0) -> float:
        """Abandoned calls that could happen now, all at once, with every measure still at or under the day's
        aim (not the cap) at the end of the day, counting ``assured`` of the live answers still to come.

        Why the aim: a burst from a sudden rise in the answer rate is what
        this must absorb, and after it the day still has its own noise, and,
        with AMD on and impatient customers, abandons that even progressive
        dialing causes (people who hang up while AMD listens). Measured
        2026-12-03 (20 agents, UK, AMD 2%, 5%→50% at 16:00 after a shared
        break): held to the cap's slack, a burst of about 25 abandons took a
        day to 3.0% at 16:01 and it ended at 3.06%."""
        expected = self.expected_live(t, seconds_left, floor_per_s)
        target = self.aim(self.uk_counts(t)[1] + expected, self.expected_live(t, 3600.0, floor_per_s))
        coming = self.assured * expected
        return max(0.0, min(self._room(target, *measure, coming) / (1.0 - target) for measure in self._binding(t)))

    def allowed_rate(self, t: float, seconds_left: float, floor_per_s: float = 0.0) -> float:
        """The abandonment rate the pacer may take from now to the end of the day (0: dial without risk).

        It spreads what is left of the day's budget over the live answers the
        rest of the day should bring at the recent pace (at least
        ``floor_per_s``): early on a small overshoot barely moves it; near the
        end of the day it lands the day at its ``aim``.
        """
        expected = self.expected_live(t, seconds_left, floor_per_s)
        if expected <= 0:
            return 0.0
        uk_live = self.uk_counts(t)[1]
        target = self.aim(uk_live + expected, self.expected_live(t, 3600.0, floor_per_s))
        slack = min(self._room(target, *measure, expected) for measure in self._binding(t))
        return max(0.0, min(slack / expected, self.catch_up * target))

    def aim(self, day_live: float, hour_live: float) -> float:
        """The day's target rate: the cap less ``margin_sd`` standard deviations of the last hour's abandons.

        Why the last hour: the budget steers each day's rate onto the aim,
        and only the abandons of the day's last stretch, too late to offset,
        make it miss. At the cap they number cap × ``hour_live`` (Poisson),
        so the margin is ``margin_sd`` × √(cap × hour_live) calls of the
        ``day_live`` the day should bring. Big floors may aim close to the
        cap; small ones, where one call moves the rate by a tenth of a
        percent, keep at least the ``safety`` share of it in reserve.
        """
        if day_live <= 0:
            return self.safety * self.cap
        margin = self.margin_sd * math.sqrt(self.cap * max(hour_live, 0.0)) / day_live
        if self.fp_margin_sd > 0 and 0 < self.fp_rate < 1:
            people = day_live / (1.0 + self.fp_per_live)  # counted live answers include the false positives
            fp_sd = math.sqrt(people / (1.0 - self.fp_rate) * self.fp_rate * (1.0 - self.fp_rate))
            margin = math.hypot(margin, self.fp_margin_sd * fp_sd / day_live)
        return max(self.safety * self.cap, self.cap - margin)


AMD_ACTIONS = ("refuse", "amd-off")


@dataclass(frozen=True)
class AmdVerdict:
    """Whether a campaign may run with its answering-machine detection: ``action`` is ``"run"``,
    ``"run-without-amd"`` or ``"refuse"``; ``message`` says why in words, for the manager."""

    action: str
    message: str

    @property
    def amd_on(self) -> bool:
        return self.action == "run"


class NoAbandonBudget(PacingError):
    """The AMD false-positive estimate alone uses the abandonment budget: the campaign must not start as set."""

    def __init__(self, verdict: AmdVerdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


def amd_verdict(cap: float, fp_rate: float, counts_false_positives: bool, if_no_budget: str = "refuse",
                safety: float = 0.8) -> AmdVerdict:
    """Can a campaign run with AMD whose tested false-positive rate is ``fp_rate`` under ``cap``?

    Why: where the rule counts false positives (the UK), the people AMD hangs
    up on are a share fp of all live answers whatever the pacing, so the day
    ends at fp even under progressive dialing; at or above ``safety`` × cap
    (2.4% under a 3% cap) the ledger's aim (never below that share) has no
    room left for a single dialed-ahead call, and the random count of false
    positives puts small teams over the cap on the simulated truth (with 1 or
    2 agents it moves by more than a point a day). ``if_no_budget`` picks the
    answer: ``"refuse"``, or ``"amd-off"`` (run, dialing with AMD off).
    """
    if if_no_budget not in AMD_ACTIONS:
        raise ValueError(f"if_no_budget: must be one of {', '.join(AMD_ACTIONS)}")
    if not counts_false_positives or fp_rate <= 0.0:
        return AmdVerdict("run", "AMD false positives do not count against this campaign's cap")
    limit = safety * cap
    if fp_rate < limit:
        return AmdVerdict("run", f"AMD false positives ({fp_rate:.1%} of live answers) leave "
                                 f"{cap - fp_rate:.1%} of the {cap:.0%} cap for dialing ahead")
    why = (f"AMD false positives alone ({fp_rate:.1%} of live answers) use the abandonment budget: the UK cap of "
           f"{cap:.0%} counts them, and at {limit:.1%} or more nothing is left to dial ahead with")
    if if_no_budget == "amd-off":
        return AmdVerdict("run-without-amd", f"{why}; running with AMD off")
    return AmdVerdict("refuse", f"{why}; refused: turn AMD off or use a detector with fewer false positives "
                                f"(below {limit:.1%})")


def require_amd_budget(cap: float, fp_rate: float, counts_false_positives: bool, if_no_budget: str = "refuse",
                       safety: float = 0.8) -> AmdVerdict:
    """``amd_verdict``, raising ``NoAbandonBudget`` (with the words) when the campaign is refused."""
    verdict = amd_verdict(cap, fp_rate, counts_false_positives, if_no_budget, safety)
    if verdict.action == "refuse":
        raise NoAbandonBudget(verdict)
    return verdict

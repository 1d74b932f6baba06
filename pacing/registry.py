"""The pacing policies by name: each one's typed parameters and how to make its controller.

Why a module of its own: the registry names every controller, so it imports
them all; the controllers' shared types (``pacing.controllers``) must not
import it back. The CLI's choices, the scenario's ``[pacing]`` table, a
campaign's stored parameters and the API's checks all read this one table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pacing.controllers import Controller, Power, Preview, Progressive
from pacing.errors import InvalidInput
from pacing.ledger import AbandonmentLedger
from pacing.predictive import Predictive
from pacing.vicidial import Vicidial

__all__ = ["PolicyName", "Param", "Policy", "POLICIES", "make_controller"]


class PolicyName(StrEnum):
    """A pacing policy's name, as campaigns store it and the CLI and the API take it."""

    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    VICIDIAL_HARD = "vicidial-hard"
    VICIDIAL_TAPERED = "vicidial-tapered"
    VICIDIAL_AVERAGE = "vicidial-average"


def _predictive(cap: float = 0.03, fp_rate: float = 0.0, safety: float = 0.8, fp_margin_sd: float = 0.0,
                **limits: float) -> Controller:
    ledger = AbandonmentLedger(cap=cap, fp_rate=fp_rate, safety=safety, fp_margin_sd=fp_margin_sd)
    return Predictive(ledger=ledger, **limits)  # type: ignore[arg-type]


def _vicidial(method: str) -> Callable[..., Controller]:
    def make(cap: float = 0.03, fp_rate: float = 0.0, **params: float) -> Controller:
        return Vicidial(method=method, cap=cap, **params)  # type: ignore[arg-type]

    return make


def _static(kind: Callable[..., Controller]) -> Callable[..., Controller]:
    def make(cap: float = 0.03, fp_rate: float = 0.0, **params: float) -> Controller:
        return kind(**params)

    return make


@dataclass(frozen=True)
class Param:
    """One parameter of a policy: its type (``float`` or ``int``), its bounds and default, and what it means."""

    name: str
    kind: type
    low: float
    high: float
    default: float | int | None
    doc: str

    def check(self, value: Any) -> float | int:
        """The value as its type, or InvalidInput naming the parameter: whole numbers for ``int``, in bounds."""
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not isinstance(value, int | float) or (self.kind is int and not whole):
            raise InvalidInput(self.name, f"must be {'a whole number' if self.kind is int else 'a number'}")
        if not self.low <= value <= self.high:
            raise InvalidInput(self.name, f"must be from {self.low:g} to {self.high:g}")
        return self.kind(value)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Policy:
    """A pacing policy: its name, its own typed parameters, the factory taking (cap, fp_rate, **params), what it
    is, and what it does once the day's abandonment budget is spent (``spent``: the wallboard's words, true of
    its ``decide``)."""

    name: PolicyName
    params: tuple[Param, ...]
    make: Callable[..., Controller]
    doc: str
    spent: str

    def check(self, values: Mapping[str, Any]) -> dict[str, float | int]:
        """``values`` typed and bounded; an unknown name fails with the policy's own list of parameters."""
        known = {p.name: p for p in self.params}
        for key in values:
            if key not in known:
                takes = f"takes {', '.join(known)}" if known else "takes no parameters"
                raise InvalidInput(key, f"is not a parameter of {self.name}, which {takes}")
        return {key: known[key].check(value) for key, value in values.items()}


_TRUNK = Param("trunk_limit", int, 1, 100_000, None, "most calls in flight at once (trunk lines)")
_RATIO = Param("ratio", float, 1.0, 20.0, 1.5, "lines per idle agent")
_VICIDIAL = (Param("max_level", float, 1.0, 10.0, 3.0, "highest dial level, lines per agent"),
             Param("intensity", float, -40.0, 40.0, 0.0, "how hard the level reacts to idle agents"),
             Param("calls_per_second", float, 0.1, 1000.0, 5.0, "most calls placed per second"), _TRUNK)
_PREDICTIVE = (Param("safety", float, 0.1, 1.0, 0.8, "the lowest aim, as a share of the cap"),
               Param("max_lines_per_agent", float, 1.0, 20.0, 4.0, "most calls in flight per logged-in agent"),
               _TRUNK, Param("fp_margin_sd", float, 0.0, 5.0, 0.0,
                             "margin, in standard deviations of the day's random AMD false-positive count"),
               Param("stress", float, 1.0, 20.0, 10.0,
                     "answer-rate multiple the calls in flight must survive, while the hour's evidence is thin, "
                     "within what the day can absorb at its aim (1: off)"))

P = PolicyName
POLICIES: dict[str, Policy] = {p.name.value: p for p in (
    Policy(P.PREVIEW, (), _static(Preview), "one reserved call per idle agent; no abandonment possible",
           "preview dialing goes on: a call with its agent reserved is never abandoned"),
    Policy(P.PROGRESSIVE, (), _static(Progressive), "one line per idle agent; no abandonment possible",
           "progressive dialing goes on at one line per idle agent, which risks no abandon of its own"),
    Policy(P.POWER, (_RATIO,), _static(Power), "a fixed ratio of lines per idle agent; no guarantee",
           "power dialing does not slow down: it goes on at its fixed lines per idle agent, so the answers no "
           "agent is free for go on being abandoned (pause it, or switch it to progressive or predictive)"),
    Policy(P.PREDICTIVE, _PREDICTIVE, _predictive, "model-based, within the abandonment budget",
           "predictive dialing takes new risk only as far as the live answers expected for the rest of the day "
           "leave room under the cap, and dials progressively (one line per idle agent, no risk) when they leave "
           "none"),
    *(Policy(name, _VICIDIAL, _vicidial(name.removeprefix("vicidial-")),
             f"VICIdial-style adaptive ({name.removeprefix('vicidial-')}), for comparison",
             "the VICIdial-style pacer goes on: it brakes its dial level only when its own drop rate passes "
             "the cap, after more than 50 calls placed today, and may still abandon then")
      for name in (P.VICIDIAL_HARD, P.VICIDIAL_TAPERED, P.VICIDIAL_AVERAGE)),
)}
del P  # the table's shorthand, not an export


def make_controller(policy: str, cap: float = 0.03, fp_rate: float = 0.0, **params: float) -> Controller:
    """A fresh controller for ``policy``: ``cap`` (fraction of live answers) and ``fp_rate`` (the tested AMD
    false-positive share) bind the budgeted ones; ``params`` are the policy's own (``ratio`` for power), typed
    and bounded by its entry in ``POLICIES``."""
    if policy not in POLICIES:
        raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}")
    spec = POLICIES[policy]
    return spec.make(cap=cap, fp_rate=fp_rate, **spec.check(params))

"""A controller's pacing memory: what it has learned, as versioned JSON, for a daemon that takes its campaign over.

Why not the controller itself (it was pickled): unpickling runs whatever
code the bytes name, so anyone who could write the lease row could run code
on every daemon; an old release's object lands in new code and fails late,
mid-campaign; and it brings back its old settings (the abandonment cap, the
AMD false-positive estimate, the limits) after a manager changed them.

So the memory holds only what was learned (counts, weights, their clocks),
as plain JSON, and is recalled into a controller freshly made from the
campaign's current settings. It is refused, leaving that controller fresh,
when it is not this format's JSON, is of another ``FORMAT`` or another
policy, or does not fit (an array of another shape: the settings that size
it changed).

Times in it are civil seconds on the saving owner's clock, as in a
``Snapshot``: counted from local midnight of the day that owner started,
which the memory records as ``epoch_day`` (``date.toordinal`` of that local
date). A new owner that started on another day counts from another
midnight, so every time is moved by the whole days between the two
(86,400 civil seconds each, whatever daylight saving does), and every day
index with it; unmoved, today's abandonment counts would land on another
day and the day's cap would start again from nothing. A memory without
``epoch_day`` is refused. The move is exact in civil seconds; as a float a
moved time is rounded to the precision of its new size (3·10⁻¹¹ s past
131,072 s), which the decay factors show at about 10⁻¹⁶.

What a memory may hold is checked as it is read (``number``, ``whole``,
``weights``, ``moment``, ``day``), so that a crafted or damaged lease row is
refused whole rather than taken and left to fail, or to mislead, later:

- counts, rates and weights: JSON numbers (not strings, not bools) from 0 to
  10¹², far above any a floor reaches (a thousand agents place some 10⁸
  calls a year) and far below where sums of them overflow; a negative
  count would hand back abandons the day spent.
- times and day indices, once moved: within 3,660 days (ten years and a
  little) of the new owner's midnight, either side; the shift too, so a
  memory saved more than that before is refused. No daemon runs for ten
  years, so a later time is not of its clock. The cost: a ledger keeps every
  day it counted, so a campaign handed on without a fresh start for ten
  years starts fresh once.

Each is compared before any arithmetic: Python compares an integer of any
size with a float exactly, where turning it into a float (a sum, ``float``,
``np.array``) overflows past 2¹⁰²⁴.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pacing.days import DAY_S

__all__ = ["FORMAT", "Remembers", "document", "encode", "dump", "recall", "number", "whole", "weights", "moment",
           "optional_moment", "day"]

FORMAT = 2  # raise it when a memory's meaning changes: an older one is then refused, and its campaign starts fresh
_MOST = 1e12  # the largest count, rate or weight a memory may hold (module doc)
_SPAN_DAYS = 3660  # days from the new owner's midnight a moved time or day, and the shift, may lie (module doc)
_SPAN_S = _SPAN_DAYS * DAY_S


@runtime_checkable
class Remembers(Protocol):
    """A controller (or a part of one) that can give what it learned as plain JSON values and take it back."""

    def memory(self) -> dict[str, Any]:
        """What was learned: dicts, lists, numbers, strings and None only; no setting. Every container new (none
        the object keeps), so it can be serialised on another thread while the object goes on."""

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory`` (from ``memory()`` of an object of the same settings) in place of what was learned, each
        of its times ``moment``-ed and day indices ``day``-ed by ``shift_days`` onto this clock; an exception
        (ValueError most often) when it does not fit (it may then have taken part of it)."""


def document(controller: object, epoch_day: int) -> dict[str, Any] | None:
    """The controller's memory with its format, policy and ``epoch_day`` (the local date, ``date.toordinal``, of
    the midnight its clock counts from); None for one that learns nothing (preview, progressive, power). Taken
    on the loop that owns the controller; ``encode`` may then run on another thread."""
    if not isinstance(controller, Remembers):
        return None
    return {"format": FORMAT, "policy": getattr(controller, "name", None), "epoch_day": epoch_day,
            "memory": controller.memory()}


def encode(saved: dict[str, Any]) -> bytes:
    """A ``document`` as UTF-8 JSON; ValueError for a number JSON has no form for (NaN, an infinity), TypeError
    for a value of no JSON type."""
    return json.dumps(saved, allow_nan=False, separators=(",", ":")).encode()


def dump(controller: object, epoch_day: int) -> bytes | None:
    """``document`` and ``encode`` in one: the controller's memory as JSON, or None for one that learns nothing."""
    saved = document(controller, epoch_day)
    return None if saved is None else encode(saved)


def recall(controller: object, blob: bytes | None, epoch_day: int) -> bool:
    """Apply a memory from ``dump`` to a fresh ``controller`` whose clock counts from local midnight of
    ``epoch_day``; True when applied. False, the controller untouched, for no memory, bytes that are not this
    format's JSON, or a memory without its epoch day, of another policy or shape, or holding a value no memory
    may (module doc): whatever it makes the trial recall raise, never raised.

    Why a trial on a copy first: a memory that fails half-way (its last part
    of the wrong shape) must not leave the controller with some of it. The
    real recall then runs the same code on the same values, so it takes
    what the trial took. Why the copy is made outside the refusal: a
    controller that cannot be copied is this code's fault, not the
    memory's, and would refuse every memory, good ones too; it raises, for
    the caller to report as the fault it is."""
    saved = _readable(blob, getattr(controller, "name", None))
    if saved is None or not isinstance(controller, Remembers):
        return False
    trial = copy.deepcopy(controller)
    try:
        shift_days = _bounded(whole(saved.get("epoch_day")) - epoch_day, int, -_SPAN_DAYS, _SPAN_DAYS, "a shift")
        trial.recall(saved["memory"], shift_days)
    except Exception:  # whatever a memory makes recall raise (ValueError, KeyError, TypeError, ...) refuses it
        return False
    controller.recall(saved["memory"], shift_days)
    return True


def _readable(blob: bytes | None, policy: str | None) -> dict[str, Any] | None:
    """The document in ``blob`` if it is this format's, of ``policy``, with a memory; else None."""
    if blob is None:
        return None
    try:
        saved = json.loads(blob.decode())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser's depth
        return None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("policy") != policy:
        return None
    return saved if isinstance(saved.get("memory"), dict) else None


def _bounded(value: Any, kind: type[int] | tuple[type[int], type[float]], low: float, high: float, what: str) -> Any:
    """``value`` if it is a JSON number of ``kind`` (never a bool) from ``low`` to ``high``; else ValueError.
    Compared without arithmetic, so an integer of any size is refused, not overflowed (module doc)."""
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise ValueError(f"not {what}")
    return value


def number(value: Any) -> float:
    """A count, rate or weight: a JSON number from 0 to 10¹², as a float; ValueError for anything else (a bool,
    a string, None, a negative or non-finite number)."""
    return float(_bounded(value, (int, float), 0.0, _MOST, "a count or rate"))


def whole(value: Any) -> int:
    """A whole count: a JSON integer from 0 to 10¹²; ValueError for anything else."""
    return int(_bounded(value, int, 0.0, _MOST, "a whole count"))


def weights(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Nested lists of counts or weights (``number``) as a float array of ``shape``; ValueError otherwise (an
    array of another length: the settings that size it changed). Why typed before converted: ``np.array`` would
    take a numeric string or a bool as a number, and overflow on a huge integer."""
    typed = np.array(value, dtype=object)
    if typed.shape != shape or not set(map(type, typed.flat)) <= {int, float}:
        raise ValueError(f"weights of shape {typed.shape}, or not all numbers, expected {shape}")
    try:
        array = typed.astype(float)
    except OverflowError as exc:
        raise ValueError("weights past 10¹²") from exc
    if not ((array >= 0.0) & (array <= _MOST)).all():
        raise ValueError("weights not from 0 to 10¹²")
    return array


def moment(value: Any, shift_days: int) -> float:
    """A saved time (civil seconds on the saving clock) on this clock, ``shift_days`` whole days on; ValueError
    unless a JSON number that lands within 3,660 days of this clock's midnight (module doc)."""
    moved = shift_days * DAY_S
    return float(_bounded(value, (int, float), -_SPAN_S - moved, _SPAN_S - moved, "a time")) + moved


def optional_moment(value: Any, shift_days: int) -> float | None:
    """``moment``, or None (a clock that has not started)."""
    return None if value is None else moment(value, shift_days)


def day(value: Any, shift_days: int) -> int:
    """A saved day index (``int(t // DAY_S)`` on the saving clock) on this clock, ``shift_days`` on; ValueError
    unless a JSON integer that lands within 3,660 days of this clock's first (module doc)."""
    return int(_bounded(value, int, -_SPAN_DAYS - shift_days, _SPAN_DAYS - shift_days, "a day")) + shift_days

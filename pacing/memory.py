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
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["FORMAT", "Remembers", "dump", "recall", "number", "whole", "weights", "moment", "optional_moment",
           "day"]

FORMAT = 1  # raise it when a memory's meaning changes: an older one is then refused, and its campaign starts fresh
_DAY_S = 86400.0  # civil seconds in a civil day, as ``pacing.ledger.DAY_S`` (that module imports this one)


@runtime_checkable
class Remembers(Protocol):
    """A controller (or a part of one) that can give what it learned as plain JSON values and take it back."""

    def memory(self) -> dict[str, Any]:
        """What was learned: dicts, lists, numbers, strings and None only; no setting."""

    def recall(self, memory: dict[str, Any], shift_days: int) -> None:
        """Take ``memory`` (from ``memory()`` of an object of the same settings) in place of what was learned, each
        of its times ``moment``-ed and day indices ``day``-ed by ``shift_days`` onto this clock; ValueError,
        TypeError or KeyError when it does not fit (it may then have taken part of it)."""


def dump(controller: object, epoch_day: int) -> bytes | None:
    """The controller's memory as UTF-8 JSON; None for one that learns nothing (preview, progressive, power).
    ``epoch_day``: the local date (``date.toordinal``) of the midnight its clock counts from."""
    if not isinstance(controller, Remembers):
        return None
    document = {"format": FORMAT, "policy": getattr(controller, "name", None), "epoch_day": epoch_day,
                "memory": controller.memory()}
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


def recall(controller: object, blob: bytes | None, epoch_day: int) -> bool:
    """Apply a memory from ``dump`` to a fresh ``controller`` whose clock counts from local midnight of
    ``epoch_day``; True when applied. False, the controller untouched, for no memory, bytes that are not this
    format's JSON, a memory without its epoch day, or one of another policy or shape.

    Why a copy first: a memory that fails half-way (its last part of the wrong shape) must not leave the
    controller with some of it."""
    document = _readable(blob, getattr(controller, "name", None))
    if document is None or not isinstance(controller, Remembers):
        return False
    try:
        shift_days = whole(document.get("epoch_day")) - epoch_day
        copy.deepcopy(controller).recall(document["memory"], shift_days)
    except (ValueError, TypeError, KeyError):
        return False
    controller.recall(document["memory"], shift_days)
    return True


def _readable(blob: bytes | None, policy: str | None) -> dict[str, Any] | None:
    """The document in ``blob`` if it is this format's, of ``policy``, with a memory; else None."""
    if blob is None:
        return None
    try:
        document = json.loads(blob.decode())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser's depth
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("policy") != policy:
        return None
    return document if isinstance(document.get("memory"), dict) else None


def number(value: Any) -> float:
    """A finite JSON number as a float; ValueError for anything else (a bool, a string, None)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def whole(value: Any) -> int:
    """A JSON whole number as an int; ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number: {value!r}")
    return value


def weights(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Nested lists of finite, non-negative numbers as a float array of ``shape``; ValueError otherwise (an array
    of another length: the settings that size it changed)."""
    array = np.array(value, dtype=float)
    if array.shape != shape or not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"weights of shape {array.shape}, expected {shape}")
    return array


def moment(value: Any, shift_days: int) -> float:
    """A saved time (civil seconds on the saving clock) on this clock, ``shift_days`` whole days on."""
    return number(value) + shift_days * _DAY_S


def optional_moment(value: Any, shift_days: int) -> float | None:
    """``moment``, or None (a clock that has not started)."""
    return None if value is None else moment(value, shift_days)


def day(value: Any, shift_days: int) -> int:
    """A saved day index (``int(t // DAY_S)`` on the saving clock) on this clock, ``shift_days`` on."""
    return whole(value) + shift_days

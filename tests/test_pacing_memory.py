"""The pacing memory a daemon saves for a takeover (``pacing.memory``): recalled into a controller made afresh, it
continues exactly where the last owner was; the settings are the new controller's; anything else (another format
or shape, a value no memory may hold) is refused, without raising, and the controller stays fresh. What a daemon
saves: a learning policy's memory with its clock's day; a policy that learns nothing clears an older one; a
memory that cannot be dumped, or a save the store refuses, leaves the last one saved, and a hand-over frees the
lease all the same."""

import ast
import asyncio
import copy
import functools
import json
import logging
import math
import pickle
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import text

from benchmarks.scenarios import day_of, uk_amd
from dialer.drivers.sim.scenario import parse_scenario
from dialer.service.cluster import LeaseTimes, ensure_leases, leases, load_pacing, save_pacing, take
from dialer.service.ownership import Ownership, epoch_day, recall_pacing
from lists.campaigns import create_campaign
from lists.store import open_store
from pacing import memory
from pacing.controllers import AttemptOutcome, Snapshot
from pacing.registry import make_controller
from simulation.model import simulate
from tests.cluster_helpers import base_url, fresh_database

ROOT = Path(__file__).resolve().parents[1]
DAY_S = 86400.0
EPOCH = date(2026, 12, 1).toordinal()  # the local date the learning owner's clock counts from
SEGMENTS = ("recent", "lapsed")


def _scenario(policy: str):
    """An hour of 10 agents under the UK rule with AMD on, over two segments: every part of the memory learns."""
    data = uk_amd(day_of(10, hours=1.0, policy=policy))
    segment = data["list"]["segments"][0]
    data["list"]["segments"] = [dict(segment, name="recent", share=0.6), dict(segment, name="lapsed", share=0.4,
                                                                               live=0.1)]
    return parse_scenario(data)


class Learned(NamedTuple):
    """A controller after the simulated hour (tests that decide with it take a copy), its memory, and when the
    snapshots that follow start: the first stretch, then 09:30 on the next two days (an hour the simulated one
    taught: the first morning starts from the by-hour memory, the second also from how the first went).

    Why the predictive's first stretch starts at 10:05, not when the hour ends (10:00, its last calls by 10:02):
    the estimators recompute their curves at most every 5 s, using until then those of the calls ringing at an
    earlier moment, which are not memory (a new owner has its own), and the rise watch starts again every hour,
    as a recalled one starts fresh. VICIdial's starts at once, while the last minute's calls count."""

    policy: str
    cap: float
    controller: object
    blob: bytes
    first_s: float

    def fresh(self, cap: float | None = None, fp_rate: float | None = None):
        amd = _scenario(self.policy).amd.false_positive
        return make_controller(self.policy, self.cap if cap is None else cap, amd if fp_rate is None else fp_rate)

    @property
    def starts(self) -> tuple[float, ...]:
        return self.first_s, DAY_S + 9.5 * 3600, 2 * DAY_S + 9.5 * 3600


# VICIdial under a 20% cap: its drop brake, which pins the level at 1 after a day over the cap, stays off.
PREDICTIVE, VICIDIAL = ("predictive", 0.03, 36300.0), ("vicidial-average", 0.2, 36000.0)


@pytest.fixture(scope="module", params=[PREDICTIVE, VICIDIAL], ids=["predictive", "vicidial"])
def learned(request) -> Learned:
    return _learn(*request.param)


@functools.cache
def _learn(policy: str, cap: float, first_s: float) -> Learned:
    """Learned once a policy, whichever tests ask (a test that names its policy sets the fixture up again)."""
    controller = make_controller(policy, cap, _scenario(policy).amd.false_positive)
    simulate(_scenario(policy), controller=controller)
    blob = memory.dump(controller, EPOCH)
    assert blob is not None
    return Learned(policy, cap, controller, blob, first_s)


def _floor(t: float, clock_s: float = 0.0) -> Snapshot:
    """The floor at the moment ``t`` (which draws it), as a controller whose clock reads ``clock_s`` more sees it."""
    rng = np.random.default_rng(int(t))
    ringing = int(rng.integers(0, 12))
    idle = int(rng.integers(0, 4))
    return Snapshot(t + clock_s, agents_logged_in=10, agents_idle=idle,
                    busy_elapsed_s=tuple(rng.uniform(0, 300, 10 - idle)),
                    waiting=int(rng.integers(0, 3)),
                    ringing_elapsed_s=tuple(rng.uniform(0, 25, ringing)),
                    ringing_segments=tuple(rng.choice(SEGMENTS, ringing)), seconds_left=3 * 3600,
                    agents_on_call=10 - idle)


def _decisions(controller, start_s: float, seconds: int = 90, clock_s: float = 0.0) -> list:
    """A minute and a half of decisions, each placed in full, with an outcome and a handle time every 3 s.
    ``clock_s``: what the controller's clock reads beyond the moments (a new owner started on another day)."""
    decisions = []
    for s in range(seconds):
        t = start_s + s + clock_s
        decisions.append(controller.decide(_floor(start_s + s, clock_s)))
        controller.placed(t, decisions[-1].launch)
        if s % 3 == 0:
            controller.observe(AttemptOutcome(t - 8.0, 8.0, "live", abandoned=s % 30 == 0, segment=SEGMENTS[s % 2]))
            controller.observe_handle(t, 60.0 + s)
    return decisions


def _days(controller, learned: Learned, first: int = 0) -> list:
    return [_decisions(controller, start) for start in learned.starts[first:]]


@pytest.mark.parametrize("first", [0, 1], ids=["at-once", "next-morning"])
def test_a_recalled_controller_decides_exactly_as_the_original(learned, first):
    """Taken over at once, or the next morning (the by-hour memory then forgets the night first)."""
    original, recalled = copy.deepcopy(learned.controller), learned.fresh()
    assert memory.recall(recalled, learned.blob, EPOCH)
    expected = _days(original, learned, first)
    assert _days(recalled, learned, first) == expected
    assert _days(learned.fresh(), learned, first) != expected  # the memory matters to these decisions


def _alike(decisions: list, expected: list) -> bool:
    """The same launches and reasons, with inputs the same but for rounding. Why rounding: a time moved by whole
    days is rounded to the precision of its new size (2⁻³⁵ s, 3·10⁻¹¹ s, past 131,072 s), and the estimates'
    decay factors show it at about 10⁻¹⁶."""
    return [(d.launch, d.reason, d.inputs) for d in decisions] == [
        (d.launch, d.reason, pytest.approx(d.inputs, rel=1e-9)) for d in expected]


def _today(controller, t: float) -> tuple:
    """What the controller counts of ``t``'s day: the ledger's UK and US rates, or VICIdial's counts of calls,
    drops and answers and its drop rate."""
    if hasattr(controller, "ledger"):
        return controller.ledger.uk_rate(t), controller.ledger.us_rate(t)
    today = controller._today
    return today["day"] == int(t // DAY_S), today["calls"], today["drops"], today["humans"], today["drop_pct"]


@pytest.mark.parametrize("later", [2, -2], ids=["started-two-days-later", "started-two-days-earlier"])
def test_a_memory_recalled_by_a_daemon_started_on_another_day_is_moved_onto_its_clock(learned, later):
    """The new owner started ``later`` days after the one that saved (before it, if negative), so the same moment
    reads ``later`` days less on its clock: moved by that, the memory decides, and counts the day, as (``_alike``)
    the original. Unmoved, the day's counts would be another day's: with the new owner started earlier, "today"
    would start empty, and the day's cap with it. The moment: one both owners had started by (the third day's
    morning for one started later; at once, the day the original learned, for one started earlier)."""
    moment_s, clock_s = learned.starts[2] if later > 0 else learned.first_s, -later * DAY_S
    original, moved, unmoved = copy.deepcopy(learned.controller), learned.fresh(), learned.fresh()
    assert memory.recall(moved, learned.blob, EPOCH + later) and memory.recall(unmoved, learned.blob, EPOCH)
    expected = _decisions(original, moment_s)
    assert _alike(_decisions(moved, moment_s, clock_s=clock_s), expected)
    assert _today(moved, moment_s + clock_s + 90) == pytest.approx(_today(original, moment_s + 90), rel=1e-9)
    assert not _alike(_decisions(unmoved, moment_s, clock_s=clock_s), expected)
    assert _today(unmoved, moment_s + clock_s + 90) != pytest.approx(_today(original, moment_s + 90), rel=1e-9)


def test_the_memory_is_plain_json_of_its_format_and_policy(learned):
    document = json.loads(learned.blob.decode())
    assert document["format"] == memory.FORMAT and document["policy"] == learned.policy
    assert document["epoch_day"] == EPOCH


def test_the_settings_are_the_new_controllers(learned):
    stricter = learned.fresh(cap=0.01, fp_rate=0.05)
    assert memory.recall(stricter, learned.blob, EPOCH)
    if learned.policy == "predictive":
        assert (stricter.ledger.cap, stricter.ledger.fp_rate) == (0.01, 0.05)
        assert stricter.ledger.days == learned.controller.ledger.days  # what was counted came with the memory
    else:
        assert stricter.cap == 0.01 and stricter._today == learned.controller._today


def _another_format(document: dict) -> None:
    document["format"] = memory.FORMAT + 1


def _no_epoch_day(document: dict) -> None:
    """A memory whose times cannot be moved onto the new owner's clock."""
    del document["epoch_day"]


def _last_part_misshapen(document: dict) -> None:
    """The last part read (the predictive's last launch, VICIdial's schedule) is the one that does not fit: the
    parts before it must not stay recalled."""
    part = document["memory"]
    if "last_t" in part:
        part["last_t"] = "soon"
    else:
        part["schedule"] = {"place": "soon"}


def _a_part_of_another_shape(document: dict) -> None:
    """Ring bins of another size (their setting changed), or a VICIdial sample of two numbers where it takes three."""
    part = document["memory"]
    if "rings" in part:
        for segment in part["rings"]["segments"]:
            segment["estimate"]["censored"] = segment["estimate"]["censored"][:60]
    else:
        part["samples"] = [[1, 2]]


def _altered(blob: bytes, change) -> bytes:
    document = json.loads(blob.decode())
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("change", [_another_format, _no_epoch_day, _last_part_misshapen, _a_part_of_another_shape])
def test_a_memory_that_does_not_fit_is_refused_and_the_controller_stays_fresh(learned, change):
    refused = learned.fresh()
    assert not memory.recall(refused, _altered(learned.blob, change), EPOCH)
    assert _days(refused, learned) == _days(learned.fresh(), learned)


def _setting(changes: dict[tuple, object]):
    """A change that sets each path (keys and indices into the document) to its value."""
    def change(document: dict) -> None:
        for path, value in changes.items():
            *parents, last = path
            part = document
            for key in parents:
                part = part[key]
            part[last] = value
    return change


_HUGE = 10**400  # past 2**1024: float() of it, np.array of it and sums with a float raise OverflowError
_SEGMENT = ("memory", "rings", "segments", 0)
_DAY = ("memory", "ledger", "days", 0)
_NOT_ANY_MEMORY = [  # what no memory may hold, each where it was accepted (and did harm later) or crashed a recall
    pytest.param(PREDICTIVE, {("epoch_day",): _HUGE}, id="epoch-day-huge"),
    pytest.param(PREDICTIVE, {("epoch_day",): 10**304}, id="epoch-day-every-time-moved-to-inf"),
    pytest.param(PREDICTIVE, {("epoch_day",): EPOCH - 3661}, id="saved-more-than-ten-years-before"),
    pytest.param(PREDICTIVE, {("memory", "launch_rate"): int("9" * 320)}, id="rate-huge"),
    pytest.param(PREDICTIVE, {("memory", "launch_rate"): -1e6}, id="rate-negative"),
    pytest.param(PREDICTIVE, {("memory", "last_t"): _HUGE}, id="time-huge"),
    pytest.param(PREDICTIVE, {("memory", "last_t"): 4e8}, id="time-over-ten-years-on"),
    pytest.param(PREDICTIVE, {("memory", "ledger", "recent_live", 0): 1e308}, id="time-finite-but-absurd"),
    pytest.param(PREDICTIVE, {(*_DAY, "day"): _HUGE}, id="day-huge"),
    pytest.param(PREDICTIVE, {(*_DAY, "abandoned"): -200}, id="count-negative"),
    pytest.param(PREDICTIVE, {(*_DAY, "dropped"): 1e6}, id="more-dropped-than-abandoned"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "estimate", "memory_day"): -_HUGE}, id="memory-day-huge"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "estimate", "observed"): -3.0, (*_SEGMENT, "estimate", "clock"): None},
                 id="evidence-negative"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "estimate", "events", 0, 1): "0.5"}, id="weight-a-string"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "estimate", "events", 0, 1): True}, id="weight-a-bool"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "estimate", "hours", 9, 0, 1): _HUGE}, id="weight-huge"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "calls"): -1.0}, id="segment-calls-negative"),
    pytest.param(PREDICTIVE, {(*_SEGMENT, "name"): "recent"}, id="segment-twice"),
    pytest.param(PREDICTIVE, {("memory", "handles", "counts", 0): _HUGE}, id="handle-weight-huge"),
    pytest.param(VICIDIAL, {("epoch_day",): 10**304}, id="vicidial-epoch-day-every-time-moved-to-inf"),
    pytest.param(VICIDIAL, {("memory", "level"): int("9" * 320)}, id="vicidial-level-huge"),
    pytest.param(VICIDIAL, {("memory", "samples", 0): [_HUGE, 0, 10]}, id="vicidial-sample-huge"),
    pytest.param(VICIDIAL, {("memory", "samples", 0): [-1, 0, 10]}, id="vicidial-sample-negative"),
    pytest.param(VICIDIAL, {("memory", "today", "calls"): -5}, id="vicidial-count-negative"),
    pytest.param(VICIDIAL, {("memory", "today", "day"): _HUGE}, id="vicidial-day-huge"),
    pytest.param(VICIDIAL, {("memory", "placed", 0): _HUGE}, id="vicidial-time-huge"),
    pytest.param(VICIDIAL, {("memory", "schedule", "place"): 1e308}, id="vicidial-due-never"),
    pytest.param(VICIDIAL, {("memory", "schedule", "place"): 5 * DAY_S}, id="vicidial-due-days-after-today"),
]


@pytest.mark.parametrize("learned, changes", _NOT_ANY_MEMORY, indirect=["learned"])
def test_a_memory_holding_what_no_memory_may_is_refused_and_the_controller_stays_fresh(learned, changes):
    refused = learned.fresh()
    assert not memory.recall(refused, _altered(learned.blob, _setting(changes)), EPOCH)
    assert _days(refused, learned) == _days(learned.fresh(), learned)


def _segments_reversed(controller):
    """The same controller as had its second segment been seen first: the segments' order then is not their
    names' (sorted keys would swap them)."""
    reversed_ = copy.deepcopy(controller)
    reversed_.rings.segments = dict(reversed(reversed_.rings.segments.items()))
    reversed_.rings._calls = reversed_.rings._calls[::-1].copy()
    return reversed_


@pytest.mark.parametrize("learned", [PREDICTIVE], indirect=True, ids=["predictive"])
def test_a_memory_whose_keys_were_sorted_is_recalled_exactly(learned):
    """The segments' order is the order their shares are mixed in: it must not be the JSON object's key order."""
    original = _segments_reversed(learned.controller)
    assert list(original.rings.segments) != sorted(original.rings.segments)  # sorting would reorder them
    blob = json.dumps(json.loads(memory.dump(original, EPOCH)), sort_keys=True).encode()
    recalled = learned.fresh()
    assert memory.recall(recalled, blob, EPOCH)
    assert _days(recalled, learned) == _days(original, learned)


def test_recall_pacing_refuses_an_overflowing_memory_without_raising(caplog):
    document = json.loads(memory.dump(make_controller("predictive"), EPOCH))
    document["memory"]["launch_rate"] = int("9" * 320)
    with caplog.at_level(logging.INFO, logger="dialer.service.cluster"):
        assert not recall_pacing(make_controller("predictive"), json.dumps(document).encode(), "Loans", EPOCH)
    assert [(r.levelno, r.event, r.campaign) for r in caplog.records] == [(logging.INFO, "pacing_not_recalled",
                                                                          "Loans")]


class _Uncopyable:
    """A predictive controller that cannot be copied for the trial recall: this code's fault, not any memory's."""

    name = "predictive"

    def memory(self) -> dict:
        return {}

    def recall(self, memory: dict, shift_days: int) -> None:
        """Takes any memory."""

    def __deepcopy__(self, memo: dict) -> "_Uncopyable":
        raise RuntimeError("cannot be copied")


def test_a_recall_that_fails_on_the_controller_raises_and_recall_pacing_logs_it_as_an_error(caplog):
    """Not passed off as a refused memory (it would refuse every one), yet it must not stop a takeover."""
    blob = memory.dump(_Uncopyable(), EPOCH)
    with pytest.raises(RuntimeError):
        memory.recall(_Uncopyable(), blob, EPOCH)
    with caplog.at_level(logging.INFO, logger="dialer.service.cluster"):
        assert not recall_pacing(_Uncopyable(), blob, "Loans", EPOCH)
    assert [(r.levelno, r.event, r.campaign) for r in caplog.records] == [(logging.ERROR, "pacing_not_recalled",
                                                                          "Loans")]


@pytest.mark.parametrize("blob", [None, b"", b"\x80\x04garbage\xff", b"[1, 2, 3]", b'{"format": 1}', b"[" * 100_000],
                         ids=["none", "empty", "garbage", "a-list", "no-policy", "nested-past-the-parser"])
def test_no_memory_or_bytes_that_are_not_one_are_refused(learned, blob):
    refused = learned.fresh()
    assert not memory.recall(refused, blob, EPOCH)
    assert _decisions(refused, learned.first_s) == _decisions(learned.fresh(), learned.first_s)


def test_an_old_releases_pickled_controller_is_refused_and_logged_without_running_it(learned, caplog):
    refused = learned.fresh()
    with caplog.at_level(logging.INFO, logger="dialer.service.cluster"):
        assert not recall_pacing(refused, pickle.dumps(learned.controller), "Loans", EPOCH)
    assert [(r.levelno, r.event, r.campaign) for r in caplog.records] == [(logging.INFO, "pacing_not_recalled",
                                                                          "Loans")]
    assert _decisions(refused, learned.first_s) == _decisions(learned.fresh(), learned.first_s)


def test_another_policys_memory_is_refused(learned):
    others = [policy for policy in ("predictive", "vicidial-hard", "vicidial-average") if policy != learned.policy]
    assert not any(memory.recall(make_controller(policy), learned.blob, EPOCH) for policy in others)


@pytest.mark.parametrize("policy", ["preview", "progressive", "power"])
def test_a_policy_that_learns_nothing_has_no_memory(policy):
    assert memory.dump(make_controller(policy), EPOCH) is None
    assert not memory.recall(make_controller(policy), memory.dump(make_controller("predictive"), EPOCH), EPOCH)


def test_a_runs_epoch_day_is_the_local_date_of_its_origin():
    """Auckland's midnight of 1 December is 30 November in UTC: the day is the campaign's local date."""
    origin = datetime(2026, 12, 1, tzinfo=ZoneInfo("Pacific/Auckland")).astimezone(UTC)
    assert origin.date() == date(2026, 11, 30) and epoch_day(origin, "Pacific/Auckland") == EPOCH


_OLDER = memory.dump(make_controller("predictive"), EPOCH - 1)  # the campaign's memory under its policy before


@pytest.fixture
def lease():
    """Daemon "d1" holds a campaign's lease, on a database of its own (the lease SQL is PostgreSQL's), and has
    saved a predictive memory in it (the campaign's policy before)."""
    with fresh_database(base_url()) as url:
        factory = open_store(url)
        with factory() as session:
            campaign_id = create_campaign(session, "Loans", kind="loan-offer", rules_profile="fr").id
            session.commit()
            ensure_leases(session, [campaign_id])
            fence = take(session, campaign_id, "d1", 30.0)
            session.commit()
            assert fence is not None and save_pacing(session, fence, _OLDER)
        yield factory, fence
        factory.kw["bind"].dispose()


def _unsavable() -> object:
    """A predictive controller whose memory is not plain JSON (a number gone NaN)."""
    controller = make_controller("predictive")
    controller._launch_rate = math.nan
    return controller


async def _drained(run) -> None:
    """Its calls have ended."""


def _saved(factory, fence, controller, when: str) -> tuple[bytes | None, str | None]:
    """The lease row's memory, and its owner, after "d1" saved ``controller``'s (its run's clock from local midnight
    of ``EPOCH`` in London): on the save timer, handing the campaign over (a rebalance), or handing every
    campaign over at shutdown."""
    origin = datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    run = SimpleNamespace(name="Loans", fence=fence, origin=origin, zone="Europe/London",
                          engine=SimpleNamespace(controller=controller))
    runs = [run]
    daemon = SimpleNamespace(factory=factory, runs=runs, drain_run=_drained,
                             drop=runs.remove)
    ownership = Ownership(daemon, "d1", LeaseTimes(pacing_save_s=0.0), [fence.campaign_id])
    saving = {"timer": ownership._save_due, "hand-over": lambda: ownership.hand_over(run, "balance"),
              "shutdown": ownership.release_all}
    asyncio.run(saving[when]())
    ownership.thread.shutdown(wait=True)
    assert runs == ([] if when == "hand-over" else [run])  # only a hand-over drops the run itself
    with factory() as session:
        return load_pacing(session, fence.campaign_id), leases(session, [fence.campaign_id])[0].owner


@pytest.mark.pg  # the lease row lives in PostgreSQL (the lease fixture)
@pytest.mark.parametrize("when", ["timer", "shutdown"])
def test_a_learning_policys_memory_is_saved_with_its_clocks_day(lease, when):
    blob, owner = _saved(*lease, make_controller("predictive"), when)
    assert blob is not None and json.loads(blob)["epoch_day"] == EPOCH
    assert owner == ("d1" if when == "timer" else None)


@pytest.mark.pg  # the lease row lives in PostgreSQL (the lease fixture)
@pytest.mark.parametrize("policy", ["preview", "progressive", "power"])
@pytest.mark.parametrize("when", ["timer", "shutdown"])
def test_a_policy_that_learns_nothing_clears_an_older_memory(lease, when, policy):
    """Else the older policy's memory would come back if the campaign switched back to it."""
    assert _saved(*lease, make_controller(policy), when) == (None, "d1" if when == "timer" else None)


@pytest.mark.pg  # the lease row lives in PostgreSQL (the lease fixture)
@pytest.mark.parametrize("when", ["timer", "shutdown"])
def test_a_memory_that_cannot_be_dumped_leaves_the_last_one_saved_and_the_lease_is_freed(lease, when, caplog):
    with caplog.at_level(logging.WARNING, logger="dialer.service.cluster"):
        assert _saved(*lease, _unsavable(), when) == (_OLDER, "d1" if when == "timer" else None)
    assert [(r.event, r.campaign) for r in caplog.records] == [("pacing_not_saved", "Loans")]


def _refused(session, fence, blob) -> None:
    """A save the store refuses: the statement fails, and spoils the transaction it ran in."""
    session.execute(text("SELECT 1 / 0"))


@pytest.mark.pg  # the lease row lives in PostgreSQL (the lease fixture)
@pytest.mark.parametrize("when", ["hand-over", "shutdown"])
def test_a_save_the_store_refuses_is_logged_and_the_lease_is_freed_all_the_same(lease, when, monkeypatch, caplog):
    monkeypatch.setattr("dialer.service.ownership.save_pacing", _refused)
    with caplog.at_level(logging.WARNING, logger="dialer.service.cluster"):
        assert _saved(*lease, make_controller("predictive"), when) == (_OLDER, None)
    assert [(r.event, r.campaign) for r in caplog.records] == [("pacing_not_saved", "Loans")]


@pytest.mark.parametrize("path", ["dialer/service/ownership.py", "pacing/memory.py", "pacing/estimators.py",
                                  "pacing/ledger.py", "pacing/predictive.py", "pacing/vicidial.py"])
def test_the_memory_is_never_unpickled_or_evaluated(path):
    """Bytes from the lease row build nothing but JSON values: no module that reads them can unpickle or eval."""
    tree = ast.parse((ROOT / path).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not imported & {"pickle", "marshal", "shelve", "dill", "cloudpickle"}
    assert not called & {"eval", "exec", "__import__"}

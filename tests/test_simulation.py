"""The simulator: conservation, reproducibility, common random numbers, policies, scenario errors, examples."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.scenarios import day_of
from dialer.drivers.sim.customers import Draws
from dialer.drivers.sim.distributions import parse_distribution
from dialer.drivers.sim.scenario import ScenarioError, load_scenario, parse_scenario
from dialer.records import Outcome
from pacing.controllers import Power, Progressive
from simulation.model import Model, simulate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted([*(ROOT / "examples" / "scenarios").glob("*.toml"),
                   *(ROOT / "simulation" / "data").glob("*.toml")])  # the demo's scenarios are package data


def small(**changes) -> dict:
    data = day_of(6, hours=2.0, **changes)
    data["list"]["size"] = 3000
    return data


def test_every_attempt_ends_in_one_outcome_and_every_live_answer_is_connected_or_abandoned():
    data = small(policy="power", ratio=2.5)
    data["amd"] = {"enabled": True, "delay_s": 2.0, "false_positive": 0.05, "false_negative": 0.2}
    result = simulate(parse_scenario(data), record=True)
    rows = result.attempts
    assert result.dials == len(rows) == sum(result.outcomes.values())
    assert result.abandoned > 0 and result.amd_false_positives > 0  # the case is not trivial
    persons = [r for r in rows if r.person]
    assert len(persons) == result.live == result.connected + result.abandoned + result.amd_false_positives
    assert all((r.call.connected_s is not None) != (r.call.outcome is Outcome.ABANDONED or r.false_positive)
               for r in persons)
    keys = [(r.call.lead, r.call.attempt) for r in rows]
    assert len(keys) == len(set(keys))  # no attempt counted twice
    assert all(r.call.attempt < 6 for r in rows)
    assert result.successes + sum(result.refusals.values()) == result.connected


def test_same_seed_same_run_and_another_replication_differs():
    scenario = parse_scenario(small(policy="power", ratio=1.8))
    first, again, other = simulate(scenario), simulate(scenario), simulate(scenario, replication=1)
    assert first.summary() == again.summary()
    assert first.summary() != other.summary()


def test_policies_compared_on_one_seed_meet_the_same_customers():
    scenario = parse_scenario(small())
    a, b = Draws.make(scenario, 0), Draws.make(scenario, 0)
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    slow = Model(scenario, Progressive(), record=True).run().attempts
    fast = Model(scenario, Power(2.0), record=True).run().attempts
    first = {r.call.lead: (r.call.outcome, r.call.dialled_s // 3600) for r in slow if r.call.attempt == 0}
    same = [r for r in fast if r.call.attempt == 0 and r.call.lead in first and r.call.outcome != Outcome.ABANDONED
            and first[r.call.lead][0] != Outcome.ABANDONED and first[r.call.lead][1] == r.call.dialled_s // 3600]
    assert len(same) > 500  # both policies dialled many of the same leads in the same hour
    agree = sum(first[r.call.lead][0] == r.call.outcome for r in same)
    assert agree / len(same) > 0.95  # only hourly rates or abandonment can make them differ


def test_progressive_and_preview_never_abandon_a_call():
    for policy in ("progressive", "preview"):
        result = simulate(parse_scenario(small(policy=policy)))
        assert result.live > 100 and result.abandoned == 0


def test_power_dialing_raises_occupancy_and_abandonment():
    progressive = simulate(parse_scenario(small()))
    power = simulate(parse_scenario(small(policy="power", ratio=2.5)))
    assert power.occupancy > progressive.occupancy and power.abandoned > progressive.abandoned


H = 3600.0
SHIFTS = {  # agent names (a1… in shift order) → logged-in periods, seconds after local midnight
    **{f"a{i}": [(9 * H, 10 * H)] for i in range(1, 5)},
    **{f"a{i}": [(9.5 * H, 10 * H), (10.25 * H, 11 * H)] for i in (5, 6)},
}


def test_breaks_and_shift_ends_are_respected():
    """Every call reaches an agent inside one of their logged-in periods; calls only run past a period's end."""
    data = small()
    data["agents"] = {"shifts": [{"count": 4, "start": "09:00", "end": "10:00"},
                                 {"count": 2, "start": "09:30", "end": "11:00", "breaks": [["10:00", "10:15"]]}]}
    result = simulate(parse_scenario(data), record=True)
    assert result.logged_in_s == pytest.approx(4 * 3600 + 2 * (90 - 15) * 60)
    calls = [r.call for r in result.attempts if r.call.connected_s is not None]
    outside = [(c.agent, c.connected_s / H) for c in calls
               if not any(start <= c.connected_s < end for start, end in SHIFTS[c.agent])]
    assert not outside  # no call reaches an agent before their shift, during a break or after it ends
    for agent, periods in SHIFTS.items():  # the case is not trivial: every agent works in every period
        for start, end in periods:
            assert any(c.agent == agent and start <= c.connected_s < end for c in calls), (agent, start / H)
    for agent in SHIFTS:  # one call at a time, and the last ends within one talk and wrap of the shift's end
        busy = sorted((c.connected_s, c.wrapped_s or c.hangup_s) for c in calls if c.agent == agent)
        assert all(a_end <= b_start + 1e-9 for (_, a_end), (b_start, _) in zip(busy, busy[1:], strict=False))
        assert max(end for _, end in busy) < max(end for _, end in SHIFTS[agent]) + 1800


@pytest.mark.parametrize("dist, mean, sd", [
    ({"dist": "exponential", "mean": 30.0}, 30.0, 30.0),
    ({"dist": "lognormal", "mean": 90.0, "sd": 60.0}, 90.0, 60.0),
    ({"dist": "gamma", "mean": 20.0, "sd": 10.0}, 20.0, 10.0),
    ({"dist": "uniform", "low": 2.0, "high": 8.0}, 5.0, 6.0 / 12 ** 0.5),
])
def test_distributions_sample_their_analytic_moments(dist, mean, sd):
    d = parse_distribution(dist)
    x = d.sample(np.random.default_rng(1), 400_000)
    assert (d.mean, d.sd) == pytest.approx((mean, sd))
    assert x.mean() == pytest.approx(mean, rel=0.01) and x.std() == pytest.approx(sd, rel=0.02)


# the demo's scenarios staff a whole floor: their three hours take many seconds
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem.startswith("demo") else p
                                  for p in EXAMPLES], ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_run(path):
    start_h = int(load_scenario(path).start_s // 3600)
    scenario = load_scenario(path, {"list.size": 1500, "day.end": f"{start_h + 3:02d}:00"})
    result = simulate(scenario)
    assert result.dials > 0 and result.connected > 0


BASE = """name = "bad"
[day]
start = "09:00"
end = "10:00"

[agents]
count = 2

[list]
size = 100

[[list.segments]]
live = 0.2
machine = 0.1
ring_live = { dist = "fixed", value = 5.0 }

[talk]
success = { dist = "exponential", mean = 100.0 }
refusal = { dist = "exponential", mean = 60.0 }

[outcomes]
conversion = 0.1

[pacing]
policy = "progressive"
"""

BAD = {  # what to change, the message expected, and the text of the line it must point at
    "unknown-key": (("policy = \"progressive\"", "policy = \"progressive\"\nspeed = 3"), "pacing.speed: unknown key",
                    "speed = 3"),
    "negative": (("live = 0.2", "live = -0.1"), "list.segments.0.live: must be a probability", "live = -0.1"),
    "over-one": (("machine = 0.1", "machine = 0.9"), "over 1", "live = 0.2"),
    "unknown-dist": (("value = 5.0 }", "mean = 5.0, dist2 = 1 }"), "ring_live.dist2: not a parameter", "ring_live"),
    "weibull": (('dist = "fixed", value = 5.0', 'dist = "weibull", mean = 5.0'), "unknown distribution 'weibull'",
                "ring_live"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_scenarios_name_the_key_and_its_line(tmp_path, case):
    (old, new), message, line_text = case
    text = BASE.replace(old, new)
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if row.startswith(line_text))
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert message in str(error.value)
    assert f"bad.toml:{line}:" in str(error.value)


def test_the_base_of_the_bad_cases_is_itself_valid(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_scenario(path).agents == 2

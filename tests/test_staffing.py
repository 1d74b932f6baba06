"""Staffing solver: published examples, brute-force agreement, targets and forecast parsing."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.erlang import erlang_a, erlang_c
from pacing.errors import InvalidInput
from pacing.staffing import StaffingTargets, parse_forecast, required_agents, staff_forecast


def _brute_force(a: float, aht: float, t: StaffingTargets) -> int:
    n = 1
    while True:
        if t.patience_s is None:
            ok = n > a and erlang_c(n, a, aht, t.target_s).service_level >= (t.service_level or 0)
            ok = ok and (t.max_asa_s is None or erlang_c(n, a, aht).asa_seconds <= t.max_asa_s)
        else:
            m = erlang_a(n, a, aht, t.patience_s, t.target_s)
            ok = (t.max_abandon is None or m.p_abandon <= t.max_abandon) and (
                t.service_level is None or m.p_answered_within_t >= t.service_level)
        ok = ok and (t.max_occupancy is None or a / n <= t.max_occupancy)
        if ok:
            return n
        n += 1


def test_pyworkforce_documentation_example():
    """100 calls per 30 minutes, AHT 3 min, 80% in 20 s: pyworkforce's docs give 14 agents."""
    assert required_agents(100 * 180 / 1800, 180, StaffingTargets(service_level=0.8, target_s=20)).tolist() == [14]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.05, max_value=300.0), min_size=1, max_size=8),
       st.sampled_from([StaffingTargets(), StaffingTargets(service_level=0.9, target_s=15, max_asa_s=10),
                        StaffingTargets(service_level=None, max_abandon=0.03, patience_s=30),
                        StaffingTargets(service_level=0.7, max_occupancy=0.85, patience_s=60)]))
def test_vectorised_search_matches_brute_force(loads, targets):
    got = required_agents(np.array(loads), 180.0, targets)
    assert got.tolist() == [_brute_force(a, 180.0, targets) for a in loads]


def test_shrinkage_and_zero_load():
    forecast = parse_forecast(io.StringIO("interval_start,calls,aht_s\n08:00,0,180\n08:30,100,180\n"))
    table = staff_forecast(forecast, StaffingTargets(shrinkage=0.3))
    assert table.agents.tolist() == [0, 14]
    assert table.scheduled.tolist() == [0, 20]  # ceil(14 / 0.7)
    assert table.totals()["agent_hours"] == pytest.approx(10.0)  # 20 agents × 0.5 h


def test_interval_length_comes_from_the_starts():
    text = "interval_start,calls,aht_s\n2026-01-05T08:00,100,180\n2026-01-05T08:15,100,180\n"
    forecast = parse_forecast(io.StringIO(text))
    assert forecast.interval_s.tolist() == [900.0, 900.0]
    assert forecast.erlangs.tolist() == [20.0, 20.0]


@pytest.mark.parametrize("text, fragment", [
    ("interval_start,calls,aht_s\n08:00,10,180\n08:30,ten,180\n", "line 3"),
    ("interval_start,calls,aht_s\n08:00,10,180\n08:30,-4,180\n", "line 3"),
    ("interval_start,calls,aht_s\n08:00,10,0\n08:30,4,180\n", "line 2"),
    ("interval_start,calls\n08:00,10\n", "aht_s"),
    ("interval_start,calls,aht_s\n8 o'clock,10,180\n", "line 2"),
    ("interval_start,calls,aht_s\n09:00,10,180\n08:30,4,180\n", "line 3"),
])
def test_malformed_forecast_names_the_line(text, fragment):
    with pytest.raises(InvalidInput) as info:
        parse_forecast(io.StringIO(text))
    assert fragment in str(info.value)


def test_targets_are_validated():
    with pytest.raises(InvalidInput, match="shrinkage"):
        StaffingTargets(shrinkage=1.0)
    with pytest.raises(InvalidInput, match="max_abandon"):
        StaffingTargets(max_abandon=0.03)


def test_an_all_zero_forecast_reports_the_same_service_level_in_rows_and_total():
    forecast = parse_forecast(io.StringIO("interval_start,calls,aht_s\n08:00,0,180\n08:30,0,180\n"))
    table = staff_forecast(forecast, StaffingTargets())
    assert [row["service_level"] for row in table.rows()] == [1.0, 1.0]
    assert table.totals()["service_level"] == 1.0


def test_clock_starts_print_back_as_clock_times_and_dates_as_dates():
    clock = parse_forecast(io.StringIO("interval_start,calls,aht_s\n08:00,10,180\n08:30,4,180\n"))
    assert [row["interval_start"] for row in staff_forecast(clock, StaffingTargets()).rows()] == ["08:00", "08:30"]
    dated = parse_forecast(io.StringIO("interval_start,calls,aht_s\n2026-01-05T08:00,10,180\n2026-01-05T08:30,4,180\n"))
    assert staff_forecast(dated, StaffingTargets()).rows()[0]["interval_start"] == "2026-01-05T08:00"


def test_a_zero_average_speed_of_answer_is_refused():
    """ASA is never 0 under load: the search used to stop at 421 agents, where the float underflowed."""
    with pytest.raises(InvalidInput, match="max_asa_s"):
        StaffingTargets(max_asa_s=0)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_forecast_delimiter_is_sniffed(delimiter):
    text = "interval_start,calls,aht_s\n08:00,10,180\n08:30,100,180\n".replace(",", delimiter)
    forecast = parse_forecast(io.StringIO(text))
    assert forecast.calls.tolist() == [10.0, 100.0] and forecast.aht_s.tolist() == [180.0, 180.0]

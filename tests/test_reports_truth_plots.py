"""Plots people read: legends off the data, gaps shown as gaps, every setting drawn, bars labelled, empty says so."""

import io
import math

import matplotlib.pyplot as plt
import pytest

from benchmarks.scenarios import day_of
from dialer.drivers.sim.scenario import parse_scenario
from pacing.staffing import StaffingTargets, parse_forecast, staff_forecast
from simulation import plots
from simulation.experiments import SweepPoint
from simulation.model import simulate

FORECAST = "interval_start,calls,aht_s\n08:00,20,180\n08:30,400,180\n09:00,60,180\n"


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _legend_clear_of_axes(fig) -> bool:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    assert legends
    return not any(_overlaps(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
                   for legend in legends for ax in fig.axes)


@pytest.mark.parametrize("shrinkage", [0.0, 0.3])
def test_staffing_legend_is_off_the_bars_and_shrinkage_shows_only_when_set(shrinkage):
    table = staff_forecast(parse_forecast(io.StringIO(FORECAST)), StaffingTargets(shrinkage=shrinkage))
    fig = plots._staffing_figure(table)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("shrinkage" in label for label in labels) == (shrinkage > 0)
    assert _legend_clear_of_axes(fig)
    plt.close(fig)


def _row(hour: float, logged: float, busy: float) -> dict[str, float]:
    return {"start_s": hour * 3600, "logged_in_s": logged, "busy_s": busy, "abandon_rate": 0.0}


def test_occupancy_line_breaks_where_nobody_is_logged_in():
    rows = [_row(11.75, 900, 450), _row(12.0, 0, 0), _row(12.5, 900, 900)]  # 12:15 is absent: nobody, no dials
    hours, values = plots.occupancy_line(rows)
    assert hours == [11.75, 12.0, 12.25, 12.5]
    assert values[0] == 50.0 and values[3] == 100.0
    assert math.isnan(values[1]) and math.isnan(values[2])


def _lunch_run():
    data = day_of(4, hours=3.0)
    data["list"]["size"] = 2000
    data["agents"] = {"shifts": [{"count": 4, "start": "09:00", "end": "12:00", "breaks": [["10:00", "10:30"]]}]}
    return simulate(parse_scenario(data))


def test_a_simulated_lunch_break_is_a_gap_in_the_occupancy_line():
    rows = _lunch_run().series.rows()
    hours, values = plots.occupancy_line(rows)
    gap = [v for h, v in zip(hours, values, strict=True) if 10.0 <= h < 10.5]
    assert gap and all(math.isnan(v) for v in gap)
    assert not any(math.isnan(v) for h, v in zip(hours, values, strict=True) if 9.0 <= h < 10.0)


def test_series_legend_sits_outside_the_axes():
    fig = plots._series_figure([("day", _lunch_run().series.rows())])
    assert _legend_clear_of_axes(fig)
    plt.close(fig)


def test_a_sweep_report_draws_every_setting(tmp_path, monkeypatch):
    from simulation import report

    drawn = {}
    monkeypatch.setattr(report, "plot_series_panels", lambda panels, path, **_: drawn.setdefault("series", panels))
    monkeypatch.setattr(report, "plot_panels", lambda title, panels, path, **_: drawn.setdefault("bars", panels))
    points = []
    for agents in (2, 3, 4):
        data = day_of(agents, hours=1.0)
        data["list"]["size"] = 400
        points.append(SweepPoint({"agents": agents}, [simulate(parse_scenario(data))]))
    report.write_html(points, tmp_path, "sweep", 0.03)
    assert [title.split(",")[0] for title, _ in drawn["series"]] == ["agents=2", "agents=3", "agents=4"]
    assert [title for title, _, _ in drawn["bars"]] == ["agents=2", "agents=3", "agents=4"]
    assert all(rows for _, rows in drawn["series"])


def test_bars_carry_their_values_and_an_empty_chart_says_no_data():
    fig = plots._panels_figure("Refusals", [("", ["Too expensive", "No need"], [12, 3])])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "12" in texts and "3" in texts
    plt.close(fig)
    empty = plots._panels_figure("Refusals", [("", [], [])])
    assert [t.get_text() for t in empty.axes[0].texts] == [plots.NO_DATA]
    plt.close(empty)

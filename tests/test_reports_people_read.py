"""Reports people read: labels, not codes; percentages, not fractions or scientific notation; axes with values;
and the abandonment cap drawn against the figure the law compares it with (a day's, or 30 days'), not against a
quarter hour."""

from __future__ import annotations

import math
import re
from collections import Counter

import matplotlib.pyplot as plt

from lists.campaigns import label_of
from lists.reports import Report
from simulation import plots, report
from simulation.experiments import SweepPoint
from simulation.results import RunResult

SCIENTIFIC = re.compile(r"\d[eE][-+]?\d")


def _result(abandoned: int, penetration: float) -> RunResult:
    return RunResult(outcomes=Counter({"human": 400, "no_answer": 1600}), live=400, connected=400 - abandoned,
                     abandoned=abandoned, successes=30, refusals=Counter({"not_decision_maker": 3, "made_up": 1}),
                     busy_s=20_000.0, logged_in_s=36_000.0, penetration=penetration)


def test_the_simulation_page_shows_percentages_and_names_not_codes():
    point = SweepPoint({"policy": "power"}, [_result(12, 0.00004), _result(10, 0.00005)])
    page = report._page("Day", [point], 0.03)
    assert not SCIENTIFIC.search(page), "scientific notation on the page"
    assert "abandon_rate_us" not in page and "per_agent_hour" not in page, "a code name as a heading"
    assert "55.56%" in page  # occupancy, 20,000 of 36,000 s
    assert "2.75%" in page  # abandoned US, the mean of 12 and 10 of 400 live answers
    assert "0.00%" in page  # a penetration of 0.00004, not 4e-05
    assert "cap (3%) is a share of a day" in page


def test_refusal_reasons_are_labelled_from_the_catalogue_or_in_words():
    point = SweepPoint({}, [_result(1, 0.1)])
    _, labels, values = report._refusal_panel(point, point.summary)
    assert labels == ["Not the decision maker", "Made up"] and values == [3.0, 1.0]
    assert label_of("wrap_up", {}) == "Wrap up" and label_of("x", {"x": "Ex"}) == "Ex"


def test_a_text_report_gives_labels_and_percentages_for_codes_the_catalogue_lacks():
    text = Report("Refusals", [("too_expensive", label_of("too_expensive", {}), 1, 0.25)], 4).text()
    assert "Too expensive" in text and "25.0%" in text and "too_expensive" not in text


def _row(hour: float, live: float, abandoned: float, **more: float) -> dict[str, float]:
    return {"start_s": hour * 3600, "live": live, "abandoned": abandoned, "busy_s": 450.0, "logged_in_s": 900.0,
            "abandon_rate": abandoned / live if live else 0.0, **more}


def test_the_running_rates_are_the_day_and_the_30_days_so_far():
    rows = [_row(9, 10, 1, amd_false_positives=1), _row(9.25, 10, 0), _row(33, 0, 0), _row(33.25, 5, 1)]
    hours, day, month = plots.running_abandonment(rows)
    assert hours == [9.25, 9.5, 33.25, 33.5]
    assert day[:2] == [20.0, 10.0] and math.isnan(day[2]) and day[3] == 20.0  # a new day starts from nothing
    assert month == [10.0, 5.0, 5.0, 8.0]  # 30 days roll on; AMD false positives are the UK's, not the US's


def test_the_series_chart_compares_the_cap_with_the_period_and_labels_its_axes():
    rows = [_row(9, 20, 2), _row(9.25, 40, 0), _row(9.5, 40, 0)]  # one quarter hour at 10%, the day at 2%
    fig = plots._series_figure([("day", rows)], cap=0.03)
    fig.canvas.draw()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("cap 3% of the day's (UK) or 30 days' (US)") for t in legend), legend
    assert any("not what the cap measures" in t for t in legend) and any("the day so far" in t for t in legend)
    occupancy, abandoned = fig.axes
    assert all(t.get_text().endswith("%") for t in occupancy.get_yticklabels() if t.get_text())
    assert all(t.get_text().endswith("%") for t in abandoned.get_yticklabels() if t.get_text())
    assert {t.get_text() for t in occupancy.get_xticklabels()} & {"09:00", "09:15", "09:30"}
    plt.close(fig)


def test_an_agents_plot_shows_percent_on_its_bars():
    fig = plots._panels_figure("Agents", [("", ["a1", "a2"], [61.5, 40.0])], "occupancy", unit="%")
    assert {t.get_text() for t in fig.axes[0].texts} == {"61.5%", "40%"}
    assert [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]  # values on the axis
    plt.close(fig)

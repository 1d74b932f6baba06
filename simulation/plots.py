"""PNG charts for analysts and managers. matplotlib runs headless (Agg), so this works in CI and on servers.

Why legends sit outside the axes: inside, they hide the busiest part of the
day, which is the part people came to read. Each public function saves a
figure built by a private ``_*_figure`` function, so tests can inspect the
figure itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from lists.reports import AgentsReport, Report  # noqa: E402
from pacing.staffing import StaffingTable  # noqa: E402

__all__ = ["plot_staffing", "plot_report", "plot_bars", "plot_panels", "plot_frontier", "plot_series",
           "plot_series_panels", "occupancy_line", "running_abandonment", "Panel", "SeriesPanel"]

Panel = tuple[str, Sequence[str], Sequence[float]]  # a bar panel: subtitle, labels, values
SeriesPanel = tuple[str, Sequence[dict[str, float]]]  # a day panel: subtitle, per-interval rows (results.Series)
NO_DATA = "no data"
_BIN_H = 0.25  # the simulation series' interval, hours (results.BIN_S)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _staffing_figure(table: StaffingTable) -> Figure:
    """Scheduled agents only when shrinkage makes them differ from agents on the phones."""
    f = table.forecast
    labels = [s.strftime("%a %H:%M") if len(f.starts) > 96 else s.strftime("%H:%M") for s in f.starts]
    x = range(len(labels))
    fig, ax = plt.subplots(figsize=(max(8.0, len(labels) * 0.25), 4.5))
    if table.targets.shrinkage > 0:
        ax.bar(x, table.scheduled, color="#9ecae1",
               label=f"scheduled agents (with {table.targets.shrinkage:.0%} shrinkage)")
    ax.bar(x, table.agents, color="#3182bd", label="agents on the phones")
    ax.plot(x, f.erlangs, color="#e6550d", marker=".", label="offered load (Erlangs)")
    step = max(1, len(labels) // 24)
    ax.set_xticks(list(x)[::step], labels[::step], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("agents / Erlangs")
    ax.set_title("Required agents per interval")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)
    return fig


def plot_staffing(table: StaffingTable, path: Path) -> Path:
    """Bars of required (and, with shrinkage, scheduled) agents and a line of offered load per interval."""
    return _save(_staffing_figure(table), path)


def _bars(ax: Axes, labels: Sequence[str], values: Sequence[float], xlabel: str, unit: str = "") -> None:
    """Horizontal bars, largest first, each labelled with its value (and ``unit``); an empty panel says so."""
    ax.set_xlabel(xlabel)
    if not labels:
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes, fontsize=12, color="#666666")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    y = list(range(len(labels)))
    bars = ax.barh(y, values, color="#3182bd")
    ax.bar_label(bars, labels=[_number(v) + unit for v in values], padding=3, fontsize=8)
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(max(values, default=0.0), 1e-9) * 1.15)  # room for the value labels


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


def _panels_figure(title: str, panels: Sequence[Panel], xlabel: str = "count", unit: str = "") -> Figure:
    heights = [max(1.0, 0.4 * len(labels) + 0.6) for _, labels, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.0, sum(heights) + 0.8), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (subtitle, labels, values) in zip(axes[:, 0], panels, strict=True):
        _bars(ax, labels, values, xlabel, unit)
        if subtitle:
            ax.set_title(subtitle, fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_panels(title: str, panels: Sequence[Panel], path: Path, xlabel: str = "count", unit: str = "") -> Path:
    """Bar charts stacked one per panel (e.g. a list's progress, then its leads by status); ``unit`` follows
    each bar's value ("%")."""
    return _save(_panels_figure(title, panels, xlabel, unit), path)


def plot_report(report: Report | AgentsReport, path: Path) -> Path:
    """A manager's report as a PNG: one bar panel per group, bars labelled with their values, "no data" when
    empty."""
    return plot_panels(report.title, report.panels(), path, report.axis, report.unit)


def plot_bars(title: str, labels: list[str], values: list[float], path: Path, xlabel: str = "count") -> Path:
    """A horizontal bar chart, largest at the top: refusal reasons, dispositions; "no data" when empty."""
    return plot_panels(title, [("", labels, values)], path, xlabel)


def plot_frontier(labels: list[str], occupancy: list[tuple[float, float, float]],
                  abandonment: list[tuple[float, float, float]], cap: float, path: Path) -> Path:
    """Occupancy against abandonment per setting, with 95% intervals (mean, low, high) and the cap as a line."""
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for label, occ, ab in zip(labels, occupancy, abandonment, strict=True):
        ax.errorbar(ab[0] * 100, occ[0] * 100, xerr=[[(ab[0] - ab[1]) * 100], [(ab[2] - ab[0]) * 100]],
                    yerr=[[(occ[0] - occ[1]) * 100], [(occ[2] - occ[0]) * 100]], fmt="o", capsize=3, label=label)
    ax.axvline(cap * 100, color="#d62728", linestyle="--", label=f"cap {cap:.0%}")
    ax.set_xlabel("abandoned calls, % of live answers (UK definition)")
    ax.set_ylabel("agent occupancy")
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.set_title("Occupancy against abandonment")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, path)


def occupancy_line(rows: Sequence[dict[str, float]]) -> tuple[list[float], list[float]]:
    """(hours, occupancy %) on a regular 15-minute grid, NaN where nobody is logged in.

    Why NaN: an interval with no agent has no occupancy at all; drawing 0 or
    joining the points either side would show a lunch break as agents at work
    (or idle). matplotlib breaks a line at NaN.
    """
    if not rows:
        return [], []
    known = {round(row["start_s"] / 3600.0 / _BIN_H): row for row in rows}
    hours, values = [], []
    for k in range(min(known), max(known) + 1):
        row = known.get(k)
        hours.append(k * _BIN_H)
        logged = row["logged_in_s"] if row else 0.0
        values.append(row["busy_s"] / logged * 100 if row and logged > 0 else math.nan)
    return hours, values


_DAY_H, _MONTH_H = 24.0, 30 * 24.0  # the UK cap's period (a day) and the US one's (30 days, rolling), hours


def running_abandonment(rows: Sequence[dict[str, float]]) -> tuple[list[float], list[float], list[float]]:
    """(hours, % the day so far, % the last 30 days so far) at the end of each 15-minute row: the figures the cap
    is compared with, not the rows' own rates.

    The day's counts AMD false positives with the abandoned calls (the UK
    rule, when the rows carry them); the 30 days' does not (the US rule).
    NaN before the period's first live answer."""
    ends = np.array([row["start_s"] / 3600.0 + _BIN_H for row in rows])
    live = _running([row["live"] for row in rows])
    dropped = _running([row["abandoned"] for row in rows])
    fp = _running([row.get("amd_false_positives", 0.0) for row in rows])
    day_first = np.searchsorted(ends, (ends - _BIN_H) // _DAY_H * _DAY_H, side="right")
    month_first = np.searchsorted(ends, ends - _MONTH_H, side="right")
    last = np.arange(1, len(rows) + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        day = (dropped[last] - dropped[day_first] + fp[last] - fp[day_first]) / (live[last] - live[day_first])
        month = (dropped[last] - dropped[month_first]) / (live[last] - live[month_first])
    return ends.tolist(), (day * 100).tolist(), (month * 100).tolist()


def _running(values: Sequence[float]) -> np.ndarray:
    """Sums of the first k values, for k = 0..n."""
    return np.concatenate([[0.0], np.cumsum(values)])


def _clock(hours: float, _: object = None) -> str:
    """Hours since the first midnight as the clock reads them (a later day's 33.5 is 09:30)."""
    minutes = round(hours * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _series_axes(ax: Axes, rows: Sequence[dict[str, float]], subtitle: str, cap: float | None) -> list[Any]:
    hours, occupancy = occupancy_line(rows)
    handles: list[Any] = [*ax.plot(hours, occupancy, color="#3182bd", label="occupancy")]
    ax.set_ylabel("occupancy")
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))
    ax.set_title(subtitle, fontsize=10)
    other = ax.twinx()
    handles += [other.bar([row["start_s"] / 3600.0 + _BIN_H / 2 for row in rows],
                          [row["abandon_rate"] * 100 for row in rows], width=0.2, color="#e6550d", alpha=0.35,
                          label="abandoned in each 15 minutes (not what the cap measures)")]
    ends, day, month = running_abandonment(rows)
    handles += other.plot(ends, day, color="#a50f15", label="abandoned, the day so far (UK cap: per day)")
    handles += other.plot(ends, month, color="#a50f15", linestyle=":",
                          label="abandoned, the last 30 days so far (US cap: per 30 days)")
    if cap is not None:
        handles.append(other.axhline(cap * 100, color="#d62728", linestyle="--",
                                     label=f"cap {cap:.0%} of the day's (UK) or 30 days' (US) live answers"))
    other.set_ylabel("abandoned, % of live answers")
    other.yaxis.set_major_formatter(PercentFormatter(100))
    other.set_ylim(bottom=0)
    return handles


def _series_figure(panels: Sequence[SeriesPanel], cap: float | None = None) -> Figure:
    fig, axes = plt.subplots(len(panels), 1, figsize=(9.0, 3.0 * len(panels) + 0.5), squeeze=False, sharex=True)
    handles: list[Any] = []
    for ax, (subtitle, rows) in zip(axes[:, 0], panels, strict=True):
        handles = _series_axes(ax, rows, subtitle, cap)
    axes[-1, 0].set_xlabel("time of day (scenario clock)")
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.98), fontsize=8)
    fig.tight_layout()
    return fig


def plot_series_panels(panels: Sequence[SeriesPanel], path: Path, cap: float | None = None) -> Path:
    """Per-15-minute occupancy and abandonment, one panel per setting of a sweep, with the day's and the 30
    days' running abandonment against the ``cap`` (the figures the law compares; a busy quarter hour above the
    cap breaks no rule by itself)."""
    return _save(_series_figure(panels, cap), path)


def plot_series(rows: list[dict[str, float]], title: str, path: Path) -> Path:
    """Per-15-minute occupancy and abandonment rate through the day."""
    return plot_series_panels([(title, rows)], path)

"""PNG charts for analysts. matplotlib runs headless (Agg), so this works in CI and on servers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pacing.staffing import StaffingTable  # noqa: E402

__all__ = ["plot_staffing", "plot_bars", "plot_frontier", "plot_series"]


def plot_staffing(table: StaffingTable, path: Path) -> Path:
    """Bars of required (scheduled) agents and a line of offered load (Erlangs) per interval."""
    f = table.forecast
    labels = [s.strftime("%a %H:%M") if len(f.starts) > 96 else s.strftime("%H:%M") for s in f.starts]
    x = range(len(labels))
    fig, ax = plt.subplots(figsize=(max(8.0, len(labels) * 0.25), 4.5))
    ax.bar(x, table.scheduled, color="#9ecae1", label="scheduled agents (with shrinkage)")
    ax.bar(x, table.agents, color="#3182bd", label="agents on the phones")
    ax.plot(x, f.erlangs, color="#e6550d", marker=".", label="offered load (Erlangs)")
    step = max(1, len(labels) // 24)
    ax.set_xticks(list(x)[::step], labels[::step], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("agents / Erlangs")
    ax.set_title("Required agents per interval")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bars(title: str, labels: list[str], values: list[float], path: Path, xlabel: str = "count") -> Path:
    """A horizontal bar chart, largest at the top: refusal reasons, dispositions, list penetration."""
    fig, ax = plt.subplots(figsize=(8.0, max(2.5, 0.4 * len(labels) + 1.2)))
    y = range(len(labels))
    ax.barh(list(y), values, color="#3182bd")
    ax.set_yticks(list(y), labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_frontier(labels: list[str], occupancy: list[tuple[float, float, float]],
                  abandonment: list[tuple[float, float, float]], cap: float, path: Path) -> Path:
    """Occupancy against abandonment per setting, with 95% intervals (mean, low, high) and the cap as a line."""
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for label, occ, ab in zip(labels, occupancy, abandonment, strict=True):
        ax.errorbar(ab[0] * 100, occ[0] * 100, xerr=[[(ab[0] - ab[1]) * 100], [(ab[2] - ab[0]) * 100]],
                    yerr=[[(occ[0] - occ[1]) * 100], [(occ[2] - occ[0]) * 100]], fmt="o", capsize=3, label=label)
    ax.axvline(cap * 100, color="#d62728", linestyle="--", label=f"cap {cap:.0%}")
    ax.set_xlabel("abandoned calls, % of live answers (UK definition)")
    ax.set_ylabel("agent occupancy, %")
    ax.set_title("Occupancy against abandonment")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_series(rows: list[dict[str, float]], title: str, path: Path) -> Path:
    """Per-15-minute occupancy and abandonment rate through the day."""
    hours = [row["start_s"] / 3600.0 for row in rows]
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    ax.plot(hours, [row["occupancy"] * 100 for row in rows], color="#3182bd", label="occupancy %")
    ax.set_xlabel("hour (scenario clock; day n adds 24)")
    ax.set_ylabel("occupancy %")
    ax.set_ylim(0, 100)
    other = ax.twinx()
    other.bar(hours, [row["abandon_rate"] * 100 for row in rows], width=0.2, color="#e6550d", alpha=0.5,
              label="abandoned % of live")
    other.set_ylabel("abandoned % of live answers")
    other.set_ylim(bottom=0)
    ax.set_title(title)
    fig.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

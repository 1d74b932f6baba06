"""PNG charts for analysts. matplotlib runs headless (Agg), so this works in CI and on servers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pacing.staffing import StaffingTable  # noqa: E402

__all__ = ["plot_staffing", "plot_bars"]


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

"""The analyst's report for a run or a sweep: a table, JSON and CSV, and an HTML page with PNG plots."""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lists.campaigns import known_reasons, label_of
from simulation.experiments import SweepPoint
from simulation.plots import Panel, plot_frontier, plot_panels, plot_series_panels
from simulation.results import mean_series

__all__ = ["HEADLINE", "rows_of", "text_table", "to_json", "write_json", "write_series", "write_csv", "write_html"]

HEADLINE = ("occupancy", "abandon_rate_us", "abandon_rate_uk", "worst_day_abandon_rate_uk", "contacts_per_agent_hour",
            "sales_per_agent_hour", "penetration", "dials")
_SHORT = {"occupancy": "occupancy", "abandon_rate_us": "abandoned US", "abandon_rate_uk": "abandoned UK",
          "worst_day_abandon_rate_uk": "worst day UK", "contacts_per_agent_hour": "contacts/agent-h",
          "sales_per_agent_hour": "sales/agent-h", "penetration": "penetration", "dials": "dials"}


def _label(point: SweepPoint) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.settings.items()) or "scenario"


def rows_of(points: Sequence[SweepPoint]) -> list[dict[str, Any]]:
    """One flat row per setting: the settings, then mean and 95% bounds of every figure."""
    rows = []
    for point in points:
        row: dict[str, Any] = dict(point.settings)
        for key, est in point.summary.items():
            row[key], row[f"{key}_ci95_low"], row[f"{key}_ci95_high"] = est.mean, est.low, est.high
        row["replications"] = len(point.results)
        rows.append(row)
    return rows


def _shown(key: str, value: float) -> str:
    """A headline figure as people read it: dials whole, rates per agent-hour to two decimals, the rest (shares
    of 1) as percentages; never in scientific notation."""
    if key == "dials":
        return f"{value:,.0f}"
    if "per_agent_hour" in key:
        return f"{value:,.2f}"
    return f"{value:.2%}"


def text_table(points: Sequence[SweepPoint]) -> str:
    """Means with half their 95% interval; one replication has no interval, and says so rather than print ±0."""
    def cell(est: Any, key: str) -> str:
        spread = est.n > 1 and key != "dials"
        return _shown(key, est.mean) + (f" ±{_shown(key, (est.high - est.low) / 2)}" if spread else "")

    single = all(len(point.results) < 2 for point in points)
    lines = ["setting".ljust(30) + "".join(_SHORT[k].rjust(17) for k in HEADLINE),
             "(n = 1, no interval)" if single else "(mean ± half the 95% interval)"]
    for point in points:
        summary = point.summary
        lines.append(_label(point)[:30].ljust(30) + "".join(cell(summary[k], k).rjust(17) for k in HEADLINE))
    return "\n".join(lines)


def to_json(points: Sequence[SweepPoint]) -> str:
    """Settings, replication count and every figure's mean and 95% bounds, per setting."""
    return json.dumps([{"settings": p.settings, "replications": len(p.results),
                        "figures": {k: v.as_dict() for k, v in p.summary.items()}} for p in points],
                      indent=2, default=str)


def write_json(points: Sequence[SweepPoint], path: Path) -> None:
    path.write_text(to_json(points), encoding="utf-8")


def write_csv(points: Sequence[SweepPoint], path: Path) -> None:
    rows = rows_of(points)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_series(points: Sequence[SweepPoint], path: Path) -> None:
    """The per-15-minute series of every setting, averaged over its replications."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = None
        for point in points:
            for row in mean_series(point.results):
                full = {"setting": _label(point), **row}
                writer = writer or csv.DictWriter(out, fieldnames=list(full))
                if out.tell() == 0:
                    writer.writeheader()
                writer.writerow(full)


def write_html(points: Sequence[SweepPoint], directory: Path, title: str, cap: float) -> Path:
    """index.html with the table and three plots: the frontier, then every setting's day and refusal reasons."""
    directory.mkdir(parents=True, exist_ok=True)
    summaries = [p.summary for p in points]
    plot_frontier([_label(p) for p in points],
                  [(s["occupancy"].mean, s["occupancy"].low, s["occupancy"].high) for s in summaries],
                  [(s["abandon_rate_uk"].mean, s["abandon_rate_uk"].low, s["abandon_rate_uk"].high)
                   for s in summaries], cap, directory / "frontier.png")
    plot_series_panels([(f"{_label(p)}, mean of {len(p.results)} runs", mean_series(p.results)) for p in points],
                       directory / "series.png", cap=cap)
    write_series(points, directory / "series.csv")
    plot_panels("Refusals by reason", [_refusal_panel(p, s) for p, s in zip(points, summaries, strict=True)],
                directory / "refusals.png", xlabel="refusals per run (mean)")
    write_csv(points, directory / "results.csv")
    write_json(points, directory / "results.json")
    page = directory / "index.html"
    page.write_text(_page(title, points, cap), encoding="utf-8")
    return page


def _refusal_panel(point: SweepPoint, summary: dict[str, Any]) -> Panel:
    """One setting's refusals by reason, most frequent first (mean count per replication)."""
    reasons = sorted(((k.removeprefix("refusal_"), v.mean) for k, v in summary.items() if k.startswith("refusal_")),
                     key=lambda kv: -kv[1])
    labels = known_reasons()
    return _label(point), [label_of(k, labels) for k, _ in reasons], [v for _, v in reasons]


def _page(title: str, points: Sequence[SweepPoint], cap: float) -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ("setting", *(_SHORT[k] for k in HEADLINE)))
    body = "".join("<tr><td>" + html.escape(_label(p)) + "</td>" + "".join(
        f"<td>{_shown(k, p.summary[k].mean)}<br><small>{_shown(k, p.summary[k].low)} to "
        f"{_shown(k, p.summary[k].high)}</small></td>" for k in HEADLINE) + "</tr>" for p in points)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 8px;border-bottom:1px solid #ddd;
font-size:13px}}</style></head><body><h1>{html.escape(title)}</h1>
<p>Means over replications, with their 95% confidence interval beneath. Abandoned: a share of live answers; US =
live answers not connected within the connect limit, UK adds AMD false positives. Occupancy: talk and wrap-up over
logged-in time, breaks excluded. Contacts and sales per agent-hour: per hour logged in.</p>
<table><tr>{head}</tr>{body}</table>
<h2>Occupancy against abandonment</h2><img src="frontier.png" alt="frontier">
<h2>The day, per 15 minutes (one panel per setting)</h2>
<p>The cap ({cap:.0%}) is a share of a day's live answers (UK) or of 30 days' (US): the lines are what it is
compared with. A bar is one quarter hour's share, which may pass the cap without breaking it.</p>
<img src="series.png" alt="series">
<h2>Refusal reasons (one panel per setting)</h2><img src="refusals.png" alt="refusals">
<p>Data: <a href="results.csv">results.csv</a>, <a href="results.json">results.json</a>,
<a href="series.csv">series.csv</a> (per 15 minutes).</p></body></html>
"""

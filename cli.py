"""The ``dialer`` command: a thin click shell over the library.

Every deliberate error (``DialerError``) and every usage error becomes one
line on stderr naming the argument, with exit code 2 — never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dialer.errors import DialerError
from pacing.erlang import erlang_a, erlang_b, erlang_c, mmn_deterministic
from pacing.errors import InvalidInput
from pacing.staffing import StaffingTable, StaffingTargets, parse_forecast, staff_forecast

__all__ = ["main"]

_OPTION_NAMES = {"agents": "--agents", "erlangs": "--erlangs", "aht_s": "--aht", "patience_s": "--patience"}


class _OneLineErrors(click.Group):
    """Print errors as a single line and exit 2, whoever invokes the group."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        extra.pop("standalone_mode", None)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            _fail(exc.format_message())
        except InvalidInput as exc:
            _fail(f"{_OPTION_NAMES.get(exc.argument, exc.argument)}: {str(exc).split(': ', 1)[1]}")
        except DialerError as exc:
            _fail(str(exc))
        except click.Abort:
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(cls=_OneLineErrors)
def main() -> None:
    """Outbound predictive dialer: pacing maths, staffing, lists and simulation."""


def _print_table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        click.echo(f"{key:<{width}}  {shown}")


@main.command("erlang")
@click.argument("model", type=click.Choice(["c", "a", "d"]))
@click.option("--agents", type=int, required=True, help="Agents on the phones.")
@click.option("--erlangs", type=float, help="Offered load in Erlangs.")
@click.option("--calls-per-hour", type=float, help="Offered calls per hour (instead of --erlangs).")
@click.option("--aht", type=float, required=True, help="Average handle time, seconds.")
@click.option("--patience", type=float, help="a: mean patience; d: the fixed limit (seconds).")
@click.option("--target", type=float, default=20.0, show_default=True, help="Service-level threshold, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with the reference key names.")
def erlang_cmd(model: str, agents: int, erlangs: float | None, calls_per_hour: float | None,
               aht: float, patience: float | None, target: float, as_json: bool) -> None:
    """Queue metrics: c = Erlang C, a = Erlang-A (exponential patience), d = M/M/n+D (fixed patience)."""
    load = _offered_load(erlangs, calls_per_hour, aht)
    if model == "c":
        result = {**erlang_c(agents, load, aht, target).as_dict()}
    elif patience is None:
        raise click.UsageError(f"--patience is required for model {model}")
    elif model == "a":
        result = {"erlang_b": erlang_b(agents, load), **erlang_a(agents, load, aht, patience, target).as_dict()}
    else:
        result = {"erlang_b": erlang_b(agents, load), **mmn_deterministic(agents, load, aht, patience).as_dict()}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _print_table([("agents", agents), ("erlangs", load), *result.items()])


def _offered_load(erlangs: float | None, calls_per_hour: float | None, aht_s: float) -> float:
    if (erlangs is None) == (calls_per_hour is None):
        raise click.UsageError("give exactly one of --erlangs and --calls-per-hour")
    if calls_per_hour is not None:
        if not calls_per_hour >= 0:
            raise InvalidInput("--calls-per-hour", "must be a number >= 0")
        return calls_per_hour * aht_s / 3600.0
    return float(erlangs)  # type: ignore[arg-type]


@main.command("staffing")
@click.argument("forecast", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--service-level", type=float, default=0.8, show_default=True, help="Fraction answered within --target.")
@click.option("--no-service-level", is_flag=True, help="Drop the service-level target.")
@click.option("--target", type=float, default=20.0, show_default=True, help="Service-level threshold, seconds.")
@click.option("--max-asa", type=float, help="Maximum average speed of answer, seconds.")
@click.option("--max-abandon", type=float, help="Maximum abandonment fraction (needs --patience).")
@click.option("--patience", type=float, help="Mean caller patience, seconds (switches to Erlang-A).")
@click.option("--max-occupancy", type=float, help="Maximum agent occupancy, fraction.")
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="Fraction of paid time off the phones.")
@click.option("--interval-minutes", type=float, help="Interval length, if not implied by the starts.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as CSV.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write a PNG chart.")
def staffing_cmd(forecast: Path, service_level: float, no_service_level: bool, target: float,
                 max_asa: float | None, max_abandon: float | None, patience: float | None,
                 max_occupancy: float | None, shrinkage: float, interval_minutes: float | None,
                 csv_out: Path | None, json_out: Path | None, plot: Path | None) -> None:
    """Required agents per interval of FORECAST (CSV: interval_start, calls, aht_s)."""
    targets = StaffingTargets(
        service_level=None if no_service_level else service_level, target_s=target, max_asa_s=max_asa,
        max_abandon=max_abandon, patience_s=patience, max_occupancy=max_occupancy, shrinkage=shrinkage,
    )
    with forecast.open(encoding="utf-8-sig", newline="") as handle:
        table = staff_forecast(parse_forecast(handle, interval_minutes), targets)
    _echo_staffing(table)
    if csv_out:
        _write_csv(table, csv_out)
    if json_out:
        json_out.write_text(json.dumps({"rows": table.rows(), "totals": table.totals()}, indent=2))
    if plot:
        from simulation.plots import plot_staffing

        plot_staffing(table, plot)


_COLUMNS = [("interval_start", 16, "{}"), ("calls", 8, "{:.0f}"), ("aht_s", 6, "{:.0f}"), ("erlangs", 8, "{:.1f}"),
            ("agents", 6, "{}"), ("scheduled", 9, "{}"), ("service_level", 13, "{:.3f}"),
            ("asa_seconds", 11, "{:.1f}"), ("occupancy", 9, "{:.3f}"), ("p_abandon", 9, "{:.4f}")]


def _echo_staffing(table: StaffingTable) -> None:
    click.echo("  ".join(f"{name:>{w}}" for name, w, _ in _COLUMNS))
    for row in table.rows():
        click.echo("  ".join(f"{fmt.format(row[name]):>{w}}" for name, w, fmt in _COLUMNS))
    t = table.totals()
    click.echo(
        f"total: {t['calls']:.0f} calls, {t['agent_hours']:.1f} scheduled agent-hours, "
        f"peak {t['peak_scheduled']} agents, service level {t['service_level']:.3f}, "
        f"abandonment {t['p_abandon']:.4f}"
    )


def _write_csv(table: StaffingTable, path: Path) -> None:
    import csv

    rows = table.rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()

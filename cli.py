"""The ``dialer`` command: a thin click shell over the library.

Every deliberate error (``DialerError``) and every usage error becomes one
line on stderr naming the argument, with exit code 2 — never a traceback.
Inputs are checked before the work starts: output folders, file encodings,
the store's URL (and, for commands that read campaigns, that it has some),
so a bad input changes nothing and costs no simulated day.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dialer.errors import DialerError, StoreError
from lists.purposes import Purpose
from pacing.erlang import erlang_a, erlang_b, erlang_c, mmn_deterministic
from pacing.errors import InvalidInput
from pacing.registry import POLICIES
from pacing.staffing import StaffingTable, StaffingTargets, parse_forecast, staff_forecast

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dialer.drivers.sim.scenario import Scenario

__all__ = ["main"]

_OPTION_NAMES = {"agents": "--agents", "erlangs": "--erlangs", "aht_s": "--aht", "patience_s": "--patience",
                 "target_s": "--target", "service_level": "--service-level", "max_asa_s": "--max-asa",
                 "max_abandon": "--max-abandon", "max_occupancy": "--max-occupancy", "shrinkage": "--shrinkage",
                 "interval_minutes": "--interval-minutes",
                 "kind": "--kind", "dial_mode": "--dial-mode",
                 "amd_false_positive": "--amd-false-positive", "abandon_cap": "--abandon-cap", "name": "NAME",
                 "rules_profile": "--rules-profile", "max_attempts": "--max-attempts", "fresh_share": "--fresh-share",
                 "caller_id": "--caller-id", "add_reason": "--add-reason", "remove_reason": "--remove-reason",
                 "reason": "--reason", "campaign": "--campaign", "file": "FILE", "number": "NUMBER",
                 "default_region": "--default-region", "delimiter": "--delimiter", "encoding": "--encoding",
                 "workers": "--workers", "registry": "--registry", "timezone": "--timezone",
                 "scenario": "SCENARIO", "store_name": "--store-name", "pacing_params": "--pacing",
                 "company": "--company", "criterion": "--criterion", "criteria": "--criterion",
                 "critical": "--critical"}


class _OneLineErrors(click.Group):
    """Print errors as a single line and exit 2, whoever invokes the group."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            _fail(exc.format_message())
        except InvalidInput as exc:
            _fail(f"{_option_name(exc.argument)}: {_message(exc)}")
        except DialerError as exc:
            _fail(str(exc), exc.exit_code)
        except click.Abort:
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _option_name(argument: str) -> str:
    """The option the user typed for a library argument; ``pacing_params.safety`` is ``--pacing safety``."""
    head, dot, key = argument.partition(".")
    if dot and head in _OPTION_NAMES:
        return f"{_OPTION_NAMES[head]} {key}"
    return _OPTION_NAMES.get(argument, argument)


def _message(exc: InvalidInput) -> str:
    """The message without its ``argument: `` prefix."""
    return str(exc).split(": ", 1)[1]


@contextmanager
def _arguments(**names: str) -> Iterator[None]:
    """This command's own names for the library's arguments where they differ from ``_OPTION_NAMES``.

    Why: ``get_campaign`` says ``campaign`` whether the user typed
    ``--campaign X``, ``--from X`` or the NAME argument.
    """
    try:
        yield
    except InvalidInput as exc:
        if exc.argument not in names:
            raise
        raise InvalidInput(names[exc.argument], _message(exc)) from None


def _output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Refuse, before any work, an output file that cannot be written (a missing folder, a folder's name)."""
    if value is not None:
        _check_output(value, param.opts[0])
    return value


def _check_output(path: Path, option: str) -> None:
    if path.is_dir():
        raise InvalidInput(option, f"{path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput(option, f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInput(option, f"cannot write {path} (permission denied)")


def _output_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A report folder may be created, but not inside a file or a folder we cannot write."""
    if value is None:
        return value
    if value.exists() and not value.is_dir():
        raise InvalidInput(param.opts[0], f"{value} is a file; give a folder")
    existing = next(p for p in (value, *value.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise InvalidInput(param.opts[0], f"cannot create or write {value} (in {existing})")
    return value


def _abandon_cap(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """The campaigns' rule (the legal 3%), so a plan cannot be made for a cap no campaign may use."""
    from lists.campaigns import check_setting

    with _arguments(abandon_cap=param.opts[0]):
        check_setting("abandon_cap", value)
    return value


def _text_file(argument: str) -> Callable[[click.Context, click.Parameter, Path], Path]:
    """A callback refusing a file that is not UTF-8 text, naming ``argument`` and the line."""
    def check(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
        from lists.importer import check_text

        check_text(value, "utf-8-sig", argument)
        return value
    return check


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="dialer", message="dialer %(version)s")
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
@click.argument("forecast", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                callback=_text_file("FORECAST"))
@click.option("--service-level", type=float, default=0.8, show_default=True, help="Fraction answered within --target.")
@click.option("--no-service-level", is_flag=True, help="Drop the service-level target.")
@click.option("--target", type=float, default=20.0, show_default=True, help="Service-level threshold, seconds.")
@click.option("--max-asa", type=float, help="Maximum average speed of answer, seconds.")
@click.option("--max-abandon", type=float, help="Maximum abandonment fraction (needs --patience).")
@click.option("--patience", type=float, help="Mean caller patience, seconds (switches to Erlang-A).")
@click.option("--max-occupancy", type=float, help="Maximum agent occupancy, fraction.")
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="Fraction of paid time off the phones.")
@click.option("--interval-minutes", type=float, help="Interval length, if not implied by the starts.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the table as CSV.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the table as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write a PNG chart.")
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


# ---- lists: campaigns, leads, DNC and reports ---------------------------------------------------------------

_database_url = click.option("--database-url", envvar="DIALER_DATABASE_URL",
                             help="Store URL (default: sqlite:///dialer.db here; env DIALER_DATABASE_URL).")


@contextmanager
def _session(url: str | None, *, campaigns: bool = False) -> Iterator[Session]:
    """A session on the store; ``campaigns=True`` for commands that read campaigns, which an empty store lacks.

    Why: SQLite creates any file it is given, so a mistyped path used to be
    a new, empty store on which every command carried on with nothing.
    """
    from lists.store import database_url, open_store, store_errors

    url = database_url(url)
    factory = open_store(url, create=not campaigns)
    try:
        with store_errors(url), factory() as session:
            if campaigns:
                _require_campaigns(session, url)
            yield session
    finally:
        factory.kw["bind"].dispose()


def _require_campaigns(session: Session, url: str) -> None:
    from sqlalchemy import func, select

    from lists.models import Campaign
    from lists.store import shown_url

    if not session.scalar(select(func.count()).select_from(Campaign)):
        raise StoreError(shown_url(url), "has no campaigns; is the --database-url right? "
                                         "(dialer campaign create makes the first one)")


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(session: Session, action: str, campaign_id: int | None = None, **detail: Any) -> None:
    """An audit row for what this command does, by the system user who runs it (``dialer audit`` lists them)."""
    from lists.audit import cli_actor, record
    from lists.models import AuditAction

    record(session, cli_actor(), AuditAction(action), _now(), campaign_id, **detail)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise InvalidInput(option, f"expects KEY=VALUE, got {value!r}")
        pairs[key.strip()] = rest.strip()
    return pairs


@main.group("campaign")
def campaign_group() -> None:
    """Create, inspect, edit and re-target campaigns."""


_KINDS = click.Choice(["loan-offer", "tariff-switch", "survey", "payment-reminder", "debt-collection"])


_PROFILES = ["de", "fr", "hu", "nl", "pl", "ru", "uk", "us"]  # lists/jurisdictions/*.toml (a test keeps them equal)


def _country_list(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    return None if value is None else [code.strip().upper() for code in value.split(",") if code.strip()]


def _campaign_settings(f: Any) -> Any:
    for option in reversed([
        click.option("--dial-mode", type=click.Choice(list(POLICIES)), help="Pacing policy (pacing.controllers)."),
        click.option("--amd-false-positive", type=float,
                     help="Tested AMD false-positive share; a UK campaign it leaves no abandonment budget is "
                          "refused (checked, not stored: the detector is the telephony driver's)."),
        click.option("--abandon-cap", type=float, help="Fraction of live answers, at most 0.03."),
        click.option("--rules-profile", type=click.Choice(_PROFILES),
                     help="The campaign's own jurisdiction: its abandonment regime and its reports' days (default: "
                          "the first country's)."),
        click.option("--countries", callback=_country_list, metavar="CC,CC",
                     help="ISO codes of the countries it may call, such as FR,BE,NL: each person is dialled under "
                          "their own country's rules (default: the rules profile's country; neither given: it "
                          "refuses to start until it has some)."),
        click.option("--max-attempts", type=int),
        click.option("--caller-id", help="Number presented to the called person."),
        click.option("--fresh-share", type=float, help="Share of each claim kept for fresh leads, 0 to 1."),
        click.option("--pacing", multiple=True, metavar="KEY=VALUE",
                     help="A parameter of the dial mode's policy, such as safety=0.7 (predictive) or ratio=1.8 "
                          "(power); KEY=default drops it (repeatable)."),
    ]):
        f = option(f)
    return f


def _given(**settings: Any) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v is not None}


def _pacing(stored: dict[str, Any], given: tuple[str, ...]) -> dict[str, Any]:
    """``stored`` with each ``--pacing KEY=VALUE`` set (``KEY=default``: removed); values read as numbers.

    Why numbers here and no check: the policy's own check (``lists.campaigns.check_pacing``) types and
    bounds them once the dial mode is known; a word stays a word so that check can name it."""
    params = dict(stored)
    for key, text in _pairs(given, "--pacing").items():
        if text == "default":
            params.pop(key, None)
        else:
            params[key] = _number(text)
    return params


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _shown_pacing(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in params.items()) or "(the policy's defaults)"


@campaign_group.command("create")
@click.argument("name")
@click.option("--kind", type=_KINDS, required=True)
@click.option("--company", default="default", show_default=True,
              help="The company that owns it (one made by dialer company add) and whose DNC lists it honours.")
@_campaign_settings
@_database_url
def campaign_create(name: str, kind: str, pacing: tuple[str, ...], database_url: str | None, **settings: Any) -> None:
    """Add campaign NAME with the kind's default disposition catalogue."""
    from lists.campaigns import create_campaign

    with _session(database_url) as s:
        campaign = create_campaign(s, name, kind, pacing_params=_pacing({}, pacing), **_given(**settings))
        _audit(s, "settings", campaign.id, created=campaign.name)
        s.commit()
        click.echo(f"created campaign {campaign.name} ({campaign.kind}, {campaign.dial_mode}, "
                   f"profile {campaign.rules_profile}, countries {', '.join(campaign.countries) or 'none yet'})")


@campaign_group.command("list")
@_database_url
def campaign_list(database_url: str | None) -> None:
    """One line per campaign."""
    from lists.campaigns import list_campaigns

    with _session(database_url, campaigns=True) as s:
        for c in list_campaigns(s):
            click.echo(f"{c.name:<30} {c.kind:<17} {c.dial_mode:<12} cap {c.abandon_cap:.1%}  "
                       f"profile {c.rules_profile}  company {c.company}")


@campaign_group.command("show")
@click.argument("name")
@_database_url
def campaign_show(name: str, database_url: str | None) -> None:
    """Settings, catalogue, lead counts, why the store says it may not dial, and warnings about stale DNC
    registries."""
    from lists.campaigns import get_campaign
    from lists.dnc import stale_registries
    from lists.reports import penetration_report

    with _session(database_url, campaigns=True) as s, _arguments(campaign="NAME"):
        c = get_campaign(s, name)
        _print_table([(f, getattr(c, f)) for f in ("name", "company", "kind", "dial_mode", "abandon_cap",
                                                   "rules_profile", "max_attempts", "caller_id", "fresh_share")]
                     + [("countries", ", ".join(c.countries) or "none: it will not start (set --countries)")]
                     + [("pacing_params", _shown_pacing(c.pacing_params))])
        for section, codes in c.catalogue.items():
            click.echo(f"{section}: " + ", ".join(f"{code} ({label})" for code, label in codes.items()))
        click.echo(penetration_report(s, c).text())
        _say_cool_off(s, c)
        _say_reasons(s, c)
        for registry, refreshed in stale_registries(s, c.company, _now()):
            click.echo(f"warning: DNC registry {registry} was last refreshed {refreshed:%Y-%m-%d}; "
                       "refresh it (US: at most 31 days old)", err=True)


@campaign_group.command("edit")
@click.argument("name")
@_campaign_settings
@click.option("--add-reason", multiple=True, help="Add a refusal reason: code=label (repeatable).")
@click.option("--remove-reason", multiple=True, help="Remove a refusal reason by code (repeatable).")
@_database_url
def campaign_edit(name: str, add_reason: tuple[str, ...], remove_reason: tuple[str, ...], pacing: tuple[str, ...],
                  database_url: str | None, **settings: Any) -> None:
    """Change settings or the refusal-reason catalogue of campaign NAME; --pacing sets one parameter, keeping the
    others."""
    from lists.audit import cli_actor, record_settings, settings_of
    from lists.campaigns import edit_campaign, get_campaign

    with _session(database_url, campaigns=True) as s, _arguments(campaign="NAME"):
        before = settings_of(get_campaign(s, name))
        if pacing:
            settings["pacing_params"] = _pacing(get_campaign(s, name).pacing_params, pacing)
        campaign = edit_campaign(s, name, add_refusal_reasons=_pairs(add_reason, "--add-reason"),
                                 remove_refusal_reasons=list(remove_reason), **_given(**settings))
        record_settings(s, cli_actor(), _now(), campaign, before)
        s.commit()
        click.echo(f"updated campaign {name}")


@campaign_group.command("retarget")
@click.option("--from", "source", required=True, help="Campaign whose refusers to call again.")
@click.option("--reason", "reasons", multiple=True, required=True, help="Refusal reason code (repeatable).")
@click.option("--name", required=True, help="Name of the new campaign.")
@click.option("--kind", type=_KINDS, help="Kind of the new campaign (default: the old one's).")
@_database_url
def campaign_retarget(source: str, reasons: tuple[str, ...], name: str, kind: str | None,
                      database_url: str | None) -> None:
    """Build a new campaign from the leads that refused for the given reasons."""
    from lists.campaigns import retarget

    with _session(database_url, campaigns=True) as s, _arguments(campaign="--from", name="--name"):
        campaign, count = retarget(s, source, list(reasons), name, _now(), kind=kind)
        _audit(s, "settings", campaign.id, created=campaign.name, retargeted_from=source, leads=count)
        s.commit()
        click.echo(f"created campaign {campaign.name} with {count} leads from {source} ({', '.join(reasons)})")
        _say_cool_off(s, campaign)


def _say_reasons(session: Any, campaign: Any) -> None:
    """What in the store keeps the campaign from dialling (``lists.idle.store_reasons``); the daemon's agents,
    telephony and cap are its own to say, on the wallboard and in ``/stats``."""
    from lists.idle import store_reasons

    said = store_reasons(session, campaign, _now())
    if not said:
        click.echo("nothing in the store keeps it from dialling (agents, telephony and the cap: the wallboard)")
        return
    click.echo("what the store says keeps it from dialling (agents, telephony and the cap: the wallboard):")
    for reason in said:
        click.echo(f"  {reason.text}")


def _say_cool_off(session: Any, campaign: Any) -> None:
    """When the leads a refusal cool-off blocks may be dialled: due in the store is not dialable in law."""
    from lists.campaigns import cooling_off

    held = cooling_off(session, campaign, _now())
    if held is not None:
        days = f"{held.first:%Y-%m-%d}" + (f" to {held.last:%Y-%m-%d}" if held.last.date() != held.first.date()
                                           else "")
        click.echo(f"{held.leads} leads are in the {campaign.rules_profile} cool-off after a refusal: "
                   f"dialable from {days}")


@main.group("lists")
def lists_group() -> None:
    """Import and export leads."""


@lists_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", required=True)
@click.option("--default-region", help="ISO country for numbers written without +CC (e.g. US, NL).")
@click.option("--map", "mapping", multiple=True, help="Rename a column: header=field (repeatable).")
@click.option("--delimiter", help="Field separator, one character or \\t (default: detected; Excel in Europe "
                                  "writes ';').")
@click.option("--encoding", default="utf-8-sig", show_default=True, help="e.g. cp1251, latin-1.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes normalising numbers (default: by file size).")
@_database_url
def lists_import(file: Path, campaign: str, default_region: str | None, mapping: tuple[str, ...],
                 delimiter: str | None, encoding: str, workers: int | None, database_url: str | None) -> None:
    """Import leads from CSV FILE; rejected rows go to FILE.rejects.csv with line numbers and reasons."""
    from lists.campaigns import get_campaign
    from lists.importer import check_text, count_rows, import_csv

    check_text(file, encoding, hint="; if it is in another encoding, give it with --encoding (e.g. cp1251)")
    columns = _pairs(mapping, "--map")
    with _session(database_url, campaigns=True) as s:
        target = get_campaign(s, campaign)
        with _progress(count_rows(file), "importing") as bar:
            summary = import_csv(s, target, file, default_region=default_region, mapping=columns,
                                 delimiter=delimiter, encoding=encoding, workers=workers, progress=bar)
    click.echo(summary.line())
    if warning := summary.warning():
        click.echo(f"warning: {warning}", err=True)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal; nothing when stderr is not one (CI, pipes, logs)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@lists_group.command("export")
@click.option("--campaign", required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="CSV file (default: CAMPAIGN.csv).")
@click.option("--mask", is_flag=True, help="Hide the middle digits of numbers and leave names out.")
@_database_url
def lists_export(campaign: str, out: Path | None, mask: bool, database_url: str | None) -> None:
    """Write the campaign's leads with status, attempts, last disposition and refusal reason."""
    from lists.campaigns import get_campaign
    from lists.reports import export_leads

    if out is None:
        out = Path(f"{campaign}.csv")
        _check_output(out, "--out")
    with _session(database_url, campaigns=True) as s:
        exported = get_campaign(s, campaign)
        count = export_leads(s, exported, out, mask=mask)
        _audit(s, "export", exported.id, leads=count, masked=mask, file=out.name)
        s.commit()
    click.echo(f"wrote {count} leads to {out}")


@main.group("dnc")
def dnc_group() -> None:
    """Do-not-call lists: registry imports and the company's own list."""


@dnc_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--registry", required=True, help="Registry name, e.g. us-national, bloctel or tps.")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for numbers written without +CC (default: the registry's "
                                       "country: us-national US, bloctel FR, tps GB, dncl CA ...).")
@_database_url
def dnc_import(file: Path, registry: str, company: str, default_region: str | None,
               database_url: str | None) -> None:
    """Replace the company's copy of a registry with FILE (one number per line; a header line is skipped) and
    date it today."""
    from lists.companies import get_company
    from lists.dnc import import_registry

    with _session(database_url) as s:
        get_company(s, company)  # a mistyped company would hold a copy that no campaign honours
        click.echo(import_registry(s, company, registry, file, _now(), default_region).line())


@dnc_group.command("add")
@click.argument("number")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def dnc_add(number: str, company: str, default_region: str | None, database_url: str | None) -> None:
    """Suppress NUMBER in every campaign of the company, at once."""
    from lists.companies import get_company
    from lists.dnc import add_to_dnc
    from lists.numbers import mask_number

    e164 = _e164(number, default_region)
    with _session(database_url) as s:
        get_company(s, company)  # a mistyped company would hold a list that no campaign honours
        added = add_to_dnc(s, company, e164, _now())
        _audit(s, "dnc_add", company=company, number=mask_number(e164), added=added)
        s.commit()
    verb = "added" if added else "already listed:"
    click.echo(f"{verb} {mask_number(e164)} {'to' if added else 'on'} {company}'s DNC list")


def _e164(number: str, default_region: str | None) -> str:
    """NUMBER in E.164, or one line naming NUMBER or --default-region, whichever is wrong."""
    from lists.numbers import normalise_number, region_code

    try:
        region = region_code(default_region) if default_region else None
    except ValueError as exc:
        raise InvalidInput("--default-region", str(exc)) from None
    try:
        return normalise_number(number, region)[0]
    except ValueError as exc:
        raise InvalidInput("NUMBER", f"{number!r}: {exc}") from None


@dnc_group.command("remove")
@click.argument("number")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def dnc_remove(number: str, company: str, default_region: str | None, database_url: str | None) -> None:
    """Take NUMBER off the company's own list and reopen the leads it closed (not those on a registry or
    whose person asked not to be called)."""
    from lists.dnc import remove_from_dnc
    from lists.numbers import mask_number

    e164 = _e164(number, default_region)
    with _session(database_url) as s:
        reopened = remove_from_dnc(s, company, e164, _now())
        _audit(s, "dnc_remove", company=company, number=mask_number(e164), reopened=reopened)
        s.commit()
    click.echo(f"removed {mask_number(e164)} from {company}'s DNC list; {reopened} lead(s) reopened")


@dnc_group.command("list")
@click.option("--company", default="default", show_default=True)
@click.option("--registry", help="List a registry copy instead of the company's own list.")
@click.option("--unmasked", is_flag=True, help="Show whole numbers (default: the middle digits hidden).")
@_database_url
def dnc_list(company: str, registry: str | None, unmasked: bool, database_url: str | None) -> None:
    """Numbers on the company's own list (or a registry copy) with the date each was added."""
    from lists.dnc import OWN, dnc_entries
    from lists.numbers import mask_number

    with _session(database_url) as s:
        entries = dnc_entries(s, company, registry or OWN)
        if unmasked:
            _audit(s, "export", company=company, dnc_list=registry or OWN, numbers=len(entries))
            s.commit()
    for phone, added in entries:
        shown = "(erased person)" if not phone else phone if unmasked else mask_number(phone)
        click.echo(f"{shown:<20} added {added:%Y-%m-%d %H:%M} UTC")
    click.echo(f"{len(entries)} numbers on {company}'s {registry or 'own'} list", err=True)


@dnc_group.command("status")
@click.option("--company", default="default", show_default=True)
@_database_url
def dnc_status(company: str, database_url: str | None) -> None:
    """The company's own list and its registry copies with their refresh dates; exit 1 when a copy is stale."""
    from lists.dnc import own_list, registries, stale_registries

    with _session(database_url) as s:
        own = own_list(s, company)
        last = f", last added {own.last_added:%Y-%m-%d %H:%M} UTC" if own.last_added else ""
        click.echo(f"{'own list':<20} {own.numbers} numbers{last}")
        for r in registries(s, company):
            click.echo(f"{r.name:<20} refreshed {r.refreshed_at:%Y-%m-%d %H:%M} UTC  {r.entries} numbers")
        stale = stale_registries(s, company, _now())
    for name, refreshed in stale:
        click.echo(f"warning: DNC registry {name} is stale (refreshed {refreshed:%Y-%m-%d})", err=True)
    sys.exit(1 if stale else 0)


@main.group("consent")
def consent_group() -> None:
    """Consent to be called, per person and company: record it, withdraw it, show it."""


@consent_group.command("add")
@click.argument("number")
@click.option("--purpose", required=True, type=click.Choice([p.value for p in Purpose]),
              help="What the person agreed to be called for.")
@click.option("--channel", required=True, metavar="CHANNEL",
              help="How they gave it: phone, sms, email, web, paper or recorded_call.")
@click.option("--given-at", required=True, metavar="DATE",
              help="When: a day (YYYY-MM-DD, its start in UTC) or a moment (YYYY-MM-DDTHH:MM[+HH:MM]; no offset: UTC).")
@click.option("--proof", help="Where the proof is: a form's id, a recording's name.")
@click.option("--how", default="", help="The source in words (a web form, a branch's paper form).")
@click.option("--expires", metavar="DATE", help="When the consent ends (a day or a moment, as --given-at).")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def consent_add(number: str, purpose: str, channel: str, given_at: str, proof: str | None, how: str,
                expires: str | None, company: str, default_region: str | None, database_url: str | None) -> None:
    """Record NUMBER's consent to the company's calls for a purpose, in every campaign of the company."""
    from lists.companies import get_company
    from lists.consent import GivenConsent, give_consent, person_consent
    from lists.models import ConsentChannel
    from lists.numbers import mask_number

    e164 = _e164(number, default_region)
    consent = GivenConsent(Purpose(purpose), _channel(ConsentChannel, channel), _moment("--given-at", given_at),
                           how, proof, _moment("--expires", expires) if expires else None)
    problem = consent.problem(_now())
    if problem is not None:
        raise InvalidInput(_CONSENT_OPTIONS[problem[0]], problem[1])
    with _session(database_url) as s:
        get_company(s, company)  # a mistyped company would hold a consent that no campaign reads
        recorded = give_consent(s, company, e164, consent, _now(), _cli_actor())
        _audit(s, "consent", company=company, number=mask_number(e164), given=purpose, channel=consent.channel.value,
               recorded=recorded)
        s.commit()
        state = person_consent(s, company, e164, _now()).states[consent.purpose]
    done = "recorded" if recorded else "already recorded:"
    click.echo(f"{done} {mask_number(e164)}'s consent to {company}'s {purpose} calls, given "
               f"{consent.given_at:%Y-%m-%d %H:%M} UTC by {consent.channel.value}")
    if not state.valid:
        click.echo(f"warning: not in force now: {state.why_not()}", err=True)


_CONSENT_OPTIONS = {"given_at": "--given-at", "expires_at": "--expires", "how": "--how", "proof": "--proof"}


def _channel(enum: Any, text: str) -> Any:
    try:
        return enum(text.lower())
    except ValueError:
        raise InvalidInput("--channel", f"{text!r} is not one of {', '.join(m.value for m in enum)}") from None


def _moment(option: str, text: str) -> datetime:
    from lists.consent import moment

    try:
        return moment(text)
    except ValueError as exc:
        raise InvalidInput(option, str(exc)) from None


def _cli_actor() -> str:
    from lists.audit import cli_actor

    return cli_actor()


@consent_group.command("withdraw")
@click.argument("number")
@click.option("--purpose", type=click.Choice([p.value for p in Purpose]),
              help="Only this purpose (default: every one).")
@click.option("--how", default="", help="How the person said so (a letter, an e-mail).")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def consent_withdraw(number: str, purpose: str | None, how: str, company: str, default_region: str | None,
                     database_url: str | None) -> None:
    """Withdraw NUMBER's consent to the company's calls, now, in every campaign of the company at once."""
    from lists.companies import get_company
    from lists.consent import withdraw_consent
    from lists.numbers import mask_number

    e164 = _e164(number, default_region)
    with _session(database_url) as s:
        get_company(s, company)
        withdraw_consent(s, company, e164, _now(), _cli_actor(), Purpose(purpose) if purpose else None, how)
        _audit(s, "consent", company=company, number=mask_number(e164), withdrawn=purpose or "every purpose")
        s.commit()
    click.echo(f"withdrew {mask_number(e164)}'s consent to {company}'s calls, for {purpose or 'every purpose'}")


@consent_group.command("show")
@click.argument("number")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def consent_show(number: str, company: str, default_region: str | None, database_url: str | None) -> None:
    """NUMBER's consent with the company now, per purpose, with every consent and withdrawal on file (the
    number masked; the read is audited)."""
    from lists.companies import get_company
    from lists.consent import person_consent
    from lists.numbers import mask_number

    e164 = _e164(number, default_region)
    with _session(database_url) as s:
        get_company(s, company)
        held = person_consent(s, company, e164, _now())
        _audit(s, "consent_read", company=company, number=mask_number(e164))
        s.commit()
        lines = held.lines(f"{mask_number(e164)} with {company}")
    click.echo("\n".join(lines))


@main.command("report")
@click.argument("kind", type=click.Choice(["refusals", "dispositions", "penetration", "agents"]))
@click.option("--campaign", required=True)
@click.option("--from", "start", metavar="DATE",
              help="From this day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM[+offset]), in the campaign's time zone "
                   "(its rules profile's: us America/New_York, fr Europe/Paris, uk Europe/London).")
@click.option("--to", "end", metavar="DATE",
              help="To this day, the whole day included (YYYY-MM-DD), or to this moment; the same time zone.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the table as CSV.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the table as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write a PNG bar chart.")
@_database_url
def report_cmd(kind: str, campaign: str, start: str | None, end: str | None, csv_out: Path | None,
               json_out: Path | None, plot: Path | None, database_url: str | None) -> None:
    """Refusals by reason, attempts by disposition, list penetration, or per agent (calls, calls per logged-in
    hour, talk, wrap-up, pauses by reason, occupancy, contacts, sales, refusals, conversion), for one campaign.
    An attempt counts in the period it was dialled in; logged-in and paused time is cut at its edges."""
    from lists.campaigns import get_campaign, home_zone
    from lists.reports import REPORTS, agents_report, period_of
    from simulation.plots import plot_report

    with _session(database_url, campaigns=True) as s:
        chosen = get_campaign(s, campaign)
        with _arguments(**{"from": "--from", "to": "--to"}):
            period = period_of(start, end, home_zone(chosen))
        report = (agents_report(s, chosen, period, _now()) if kind == "agents"
                  else REPORTS[kind](s, chosen, period))
    click.echo(report.text())
    if csv_out:
        report.write_csv(csv_out)
    if json_out:
        report.write_json(json_out)
    if plot:
        plot_report(report, plot)


# ---- call quality ---------------------------------------------------------------------------------------------

@main.group("quality")
def quality_group() -> None:
    """Call quality: a campaign's scorecard, and what its scores add up to (supervisors score in the console)."""


@quality_group.group("scorecard")
def scorecard_group() -> None:
    """Set or show a campaign's scorecard."""


@scorecard_group.command("set")
@click.option("--campaign", required=True)
@click.option("--criterion", "criteria", multiple=True, required=True, metavar="CODE=WEIGHT:LABEL",
              help="A criterion, in the order scorers see them (repeatable): apr=2:States the APR.")
@click.option("--critical", multiple=True, metavar="CODE",
              help="A criterion that is pass or fail and, failed, zeroes the call's score (repeatable).")
@_database_url
def scorecard_set(campaign: str, criteria: tuple[str, ...], critical: tuple[str, ...],
                  database_url: str | None) -> None:
    """A new version of the campaign's scorecard (earlier scores keep theirs); audited."""
    from lists.audit import cli_actor
    from lists.campaigns import get_campaign
    from lists.quality import criterion_of, set_scorecard

    parsed = [criterion_of(text) for text in criteria]
    unknown = set(critical) - {c.code for c in parsed}
    if unknown:
        raise InvalidInput("critical", f"{sorted(unknown)[0]!r} is no --criterion's code")
    parsed = [replace(c, critical=c.code in critical) for c in parsed]
    with _session(database_url, campaigns=True) as s:
        card = set_scorecard(s, get_campaign(s, campaign), parsed, cli_actor(), _now())
        s.commit()
        click.echo(f"{campaign}: scorecard version {card.version}, {len(parsed)} criteria")


@scorecard_group.command("show")
@click.option("--campaign", required=True)
@_database_url
def scorecard_show(campaign: str, database_url: str | None) -> None:
    """The campaign's current scorecard; exits 1 when it has none."""
    from lists.campaigns import get_campaign
    from lists.quality import criteria_of, current_scorecard

    with _session(database_url, campaigns=True) as s:
        card = current_scorecard(s, get_campaign(s, campaign).id)
        if card is None:
            _fail(f"{campaign} has no scorecard (dialer quality scorecard set)", 1)
            return
        click.echo(f"{campaign}: scorecard version {card.version}, set {card.created_at:%Y-%m-%d %H:%M} UTC "
                   f"by {card.created_by}")
        _print_table([(f"{c.code} ({c.label})", f"weight {c.weight:g}{', critical' if c.critical else ''}")
                      for c in criteria_of(s, card.id)])


@quality_group.command("report")
@click.option("--campaign", required=True)
@click.option("--from", "start", metavar="DATE", help="From this day or moment, in the campaign's time zone.")
@click.option("--to", "end", metavar="DATE", help="To this day (included) or moment.")
@_database_url
def quality_report_cmd(campaign: str, start: str | None, end: str | None, database_url: str | None) -> None:
    """Each agent's quality score over the calls dialled in the period, and the calls several scorers scored
    (calibrations) with each criterion's spread between them."""
    from lists.campaigns import get_campaign, home_zone
    from lists.quality import quality_report
    from lists.reports import period_of

    with _session(database_url, campaigns=True) as s:
        chosen = get_campaign(s, campaign)
        with _arguments(**{"from": "--from", "to": "--to"}):
            period = period_of(start, end, home_zone(chosen))
        click.echo(quality_report(s, chosen, period).text())


# ---- simulation ----------------------------------------------------------------------------------------------

class _ScenarioFirst(click.Group):
    """``dialer simulate FILE …`` runs FILE; ``dialer simulate plan|calibrate …`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@main.group("simulate", cls=_ScenarioFirst)
def simulate_group() -> None:
    """Simulate a scenario (dialer simulate SCENARIO.toml), plan staff, or calibrate from call history."""


def _grid(sets: tuple[str, ...]) -> dict[str, list[Any]]:
    from simulation.experiments import parse_sets

    try:
        return parse_sets(sets)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


_sets = click.option("--set", "sets", multiple=True,
                     help="Override a scenario key: key=value, or key=v1,v2 to sweep (repeatable).")
_workers = click.option("--workers", type=click.IntRange(min=1), help="Processes (default: every core).")


@simulate_group.command("run")
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                callback=_text_file("SCENARIO"))
@click.option("--replications", type=click.IntRange(1, 10_000), default=5, show_default=True)
@_sets
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write results as CSV.")
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), callback=_output_folder,
              help="Write an HTML report here.")
@click.option("--trace", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write replication 0's pacing decisions, with their inputs, as JSON lines.")
@click.option("--debug", is_flag=True, help="Log every pacing decision, with its inputs, on stderr (one process).")
@click.option("--store", "store_url", help="Also write replication 0's attempts into this store, as a campaign "
              "(then `simulate calibrate` fits it).")
@click.option("--store-name", help="The campaign's name in --store (default: the scenario's name).")
@click.option("--kind", type=_KINDS, default="loan-offer", show_default=True,
              help="The campaign kind for --store (its refusal catalogue).")
@_workers
def simulate_run(scenario: Path, replications: int, sets: tuple[str, ...], as_json: bool, csv_out: Path | None,
                 report: Path | None, trace: Path | None, debug: bool, store_url: str | None, store_name: str | None,
                 kind: str, workers: int | None) -> None:
    """Run SCENARIO (TOML) with replications; a --set with several values sweeps them."""
    from dialer.drivers.sim.scenario import load_scenario
    from simulation.experiments import default_workers, sweep
    from simulation.report import text_table, to_json, write_csv, write_html

    grid = _grid(sets)
    base = load_scenario(scenario, {k: v[0] for k, v in grid.items()})
    if store_url is not None and any(len(values) > 1 for values in grid.values()):
        raise InvalidInput("--store", "writes one setting's day: give each --set one value")
    total = replications * math.prod(len(values) for values in grid.values())
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
        workers = 1  # worker processes would not inherit the log's set-up
    with _progress(total, "simulating") as bar:
        points = sweep(scenario, grid, replications, workers or default_workers(), bar)
    if as_json:
        click.echo(to_json(points))
    else:
        click.echo(text_table(points))
    if csv_out:
        write_csv(points, csv_out)
    if report:
        click.echo(f"report: {write_html(points, report, base.name, base.pacing.abandon_cap)}")
    if trace:
        from simulation.model import write_trace

        click.echo(f"trace: {write_trace(base, trace)} decisions in {trace}")
    if store_url is not None:
        _store_simulated_day(base, store_url, store_name or base.name, kind)


def _store_simulated_day(scenario: Scenario, url: str, name: str, kind: str) -> None:
    """Replication 0 again, recorded in the words of a ``kind`` campaign's catalogue, written through the one
    attempt-writing path as campaign ``name``."""
    from dialer.drivers.sim.scenario import for_campaign
    from lists.campaigns import default_catalogue
    from simulation.calibrate import store_run
    from simulation.model import simulate

    result = simulate(for_campaign(scenario, default_catalogue(kind), kind), 0, record=True)
    with _session(url) as s:
        campaign = store_run(s, scenario, result, name, kind, replication=0)
        click.echo(f"store: {len(result.attempts)} attempts written as campaign {campaign.name!r}")


@simulate_group.command("plan")
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                callback=_text_file("SCENARIO"))
@click.option("--cap", type=float, default=0.03, show_default=True, callback=_abandon_cap,
              help="Abandonment cap (UK definition), at most the legal 0.03.")
@click.option("--goal", type=click.FloatRange(0.0, 1.0, min_open=True), default=1.0, show_default=True,
              help="Share of the list to reach, above 0 and at most 1.")
@click.option("--metric", type=click.Choice(["penetration", "finished"]), default="penetration", show_default=True,
              help="penetration: dialled once; finished: at a final outcome.")
@click.option("--replications", type=click.IntRange(2, 1000), default=3, show_default=True)
@_sets
@_workers
def simulate_plan(scenario: Path, cap: float, goal: float, metric: str, replications: int, sets: tuple[str, ...],
                  workers: int | None) -> None:
    """Fewest agents that get through the list by the scenario's last day without breaking the cap."""
    from simulation.experiments import default_workers, plan_agents

    overrides = {k: v[0] for k, v in _grid(sets).items()}
    plan = plan_agents(scenario, cap, goal, metric, replications, overrides, workers or default_workers())
    for agents, figures in sorted(plan.tried.items()):
        click.echo(f"{agents:>5} agents: {metric} {figures[metric].mean:.1%}, "
                   f"abandonment (UK) {figures['abandon_rate_uk'].mean:.2%} "
                   f"(95% up to {figures['abandon_rate_uk'].high:.2%}), occupancy {figures['occupancy'].mean:.1%}")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if plan.agents is None:
        click.echo(f"no team up to the search limit reaches {goal:.0%} {metric} within a {cap:.1%} cap")
        sys.exit(1)
    click.echo(f"plan: {plan.agents} agents reach {goal:.0%} {metric} with abandonment under {cap:.1%}")


@simulate_group.command("calibrate")
@click.option("--campaign", required=True, help="Campaign whose attempt ledger to fit.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, callback=_output_file,
              help="Scenario TOML to write.")
@click.option("--timezone", help="Clock for the hourly rates (default: the leads' most common zone).")
@click.option("--success-code", default="accepted", show_default=True, help="Disposition that counts as success.")
@_database_url
def simulate_calibrate(campaign: str, out: Path, timezone: str | None, success_code: str,
                       database_url: str | None) -> None:
    """Fit answer rates by hour and segment, ring/talk/wrap times and the outcome mix; write a scenario."""
    from dialer.drivers.sim.scenario import parse_scenario
    from lists.campaigns import get_campaign
    from lists.numbers import valid_zone
    from simulation.calibrate import calibrate, calibration_notes, scenario_toml

    if timezone is not None and not valid_zone(timezone):
        raise InvalidInput("--timezone", f"unknown time zone {timezone!r} (IANA names such as Europe/Paris)")
    with _session(database_url, campaigns=True) as s:
        try:
            fitted = calibrate(s, get_campaign(s, campaign), timezone, success_code)
        except InvalidInput:
            raise
        except ValueError as exc:
            raise InvalidInput("--campaign", str(exc)) from None
    parse_scenario(fitted, str(out))
    out.write_text(scenario_toml(fitted, campaign), encoding="utf-8")
    for note in calibration_notes(fitted):
        click.echo(f"warning: {note}", err=True)
    segments = fitted["list"]["segments"]
    click.echo(f"wrote {out}: {len(segments)} segment(s), conversion {fitted['outcomes']['conversion']:.1%}")


# ---- companies and users: the tenants, and the accounts of the API and the consoles ---------------------------

@main.group("company")
def company_group() -> None:
    """Companies: each owns its campaigns and DNC lists, and its members see nothing of another's."""


@company_group.command("add")
@click.argument("name")
@_database_url
def company_add(name: str, database_url: str | None) -> None:
    """Add company NAME (letters, digits, _ . -); make users members with users add/join --company."""
    from lists.companies import add_company

    with _session(database_url) as s:
        add_company(s, name, _now())
        _audit(s, "users", company_added=name)
        s.commit()
    click.echo(f"added company {name}")


@company_group.command("list")
@_database_url
def company_list(database_url: str | None) -> None:
    """One line per company: its campaigns and members."""
    from lists.companies import list_companies

    with _session(database_url) as s:
        for c in list_companies(s):
            click.echo(f"{c.name}\t{c.campaigns} campaign(s)\t{c.members} member(s)")


# ---- personal data: the store key, erasure on request, retention ---------------------------------------------

@main.group("privacy")
def privacy_group() -> None:
    """Personal data at rest and on request: encrypt the store, erase a person, keep lead data no longer than
    the company's retention. The store key: DIALER_STORE_KEY (base64) or DIALER_STORE_KEY_FILE."""


@privacy_group.command("key")
def privacy_key() -> None:
    """Print a new random store key (base64, 32 bytes): keep it safe; a sealed store cannot be read without it."""
    from lists.sealing import new_key

    click.echo(new_key())


@privacy_group.command("encrypt")
@_database_url
def privacy_encrypt(database_url: str | None) -> None:
    """Seal a clear store's numbers and names with the store key from the environment, in one transaction."""
    from lists.privacy import encrypt_store
    from lists.sealing import KEY_ENV, KEY_FILE_ENV, SealError, read_key
    from lists.store import database_url as resolved
    from lists.store import open_engine, store_errors

    key = read_key()
    if key is None:
        raise SealError(f"no store key: set {KEY_ENV} or {KEY_FILE_ENV} (dialer privacy key makes one)")
    url = resolved(database_url)
    engine = open_engine(url, create=False)
    try:
        with store_errors(url):
            sealed = encrypt_store(engine, key)
    finally:
        engine.dispose()
    click.echo(f"sealed {sealed.leads} leads and {sealed.dnc_entries} DNC entries (AES-256-GCM, blind index re-keyed)")


@privacy_group.command("erase")
@click.option("--number", required=True, help="The person's phone number.")
@click.option("--company", default="default", show_default=True)
@click.option("--default-region", help="ISO country for a number written without +CC.")
@_database_url
def privacy_erase(number: str, company: str, default_region: str | None, database_url: str | None) -> None:
    """Erase a person from the company's campaigns: their name, number and lead fields go; their DNC entry
    (as a blind index) and attempt records stay for the rules profile's record period."""
    from lists.audit import cli_actor
    from lists.companies import get_company
    from lists.numbers import mask_number
    from lists.privacy import erase_person

    e164 = _e164(number, default_region)
    with _session(database_url) as s:
        get_company(s, company)
        erasure = erase_person(s, company, e164, _now(), cli_actor())
        s.commit()
    click.echo(erasure.line(mask_number(e164)))


@privacy_group.command("retention")
@click.argument("company")
@click.option("--days", type=int, help="Keep lead data this many days after a lead's last call.")
@click.option("--forever", is_flag=True, help="Keep lead data until erased on request (the default).")
@_database_url
def privacy_retention(company: str, days: int | None, forever: bool, database_url: str | None) -> None:
    """Set how long COMPANY keeps lead data (never under its rules profiles' record period); privacy purge
    (daily from deploy/dialer-purge.timer) removes what is older."""
    from lists.audit import cli_actor
    from lists.privacy import set_retention

    if (days is None) == (not forever):
        raise InvalidInput("--days", "give --days N or --forever")
    with _session(database_url) as s:
        set_retention(s, company, days, _now(), cli_actor())
        s.commit()
    click.echo(f"{company} keeps lead data " + (f"{days} days after the last call" if days else "until erased"))


@privacy_group.command("purge")
@_database_url
def privacy_purge(database_url: str | None) -> None:
    """Remove the lead data each company keeps no longer (DNC entries and attempt records stay)."""
    from lists.audit import cli_actor
    from lists.privacy import purge_expired

    with _session(database_url) as s:
        purged = purge_expired(s, _now(), cli_actor())
        s.commit()
    for company, leads in purged.items():
        click.echo(f"{company}: {leads} leads' data purged (past the retention period)")
    if not purged:
        click.echo("no company has a retention period (dialer privacy retention COMPANY --days N sets one)")


@main.group("users")
def users_group() -> None:
    """Accounts of the HTTP API and the web consoles: roles, tokens, console passwords."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["agent", "supervisor", "manager", "analyst", "admin"]))
@click.option("--company", "companies", multiple=True, default=["default"], show_default=True,
              help="A company this user belongs to (repeat for more); they reach nothing of any other.")
@click.option("--campaign", "campaigns", multiple=True,
              help="A campaign of those companies this user may see (repeat for more).")
@click.option("--password-stdin", is_flag=True, help="Read a console password from standard input.")
@_database_url
def users_add(name: str, role: str, companies: tuple[str, ...], campaigns: tuple[str, ...], password_stdin: bool,
              database_url: str | None) -> None:
    """Add user NAME with ROLE in --company (and a console password from stdin)."""
    from dialer.service.users import Role, add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _session(database_url) as s:
        add_user(s, name, Role(role), _now(), password, campaigns, companies)
        _audit(s, "users", added=name, role=role, companies=list(companies), campaigns=list(campaigns))
        s.commit()
    click.echo(f"added {role} {name} to {', '.join(companies)}"
               + (f" (campaigns: {', '.join(campaigns)})" if campaigns else ""))


@users_group.command("join")
@click.argument("name")
@click.option("--company", "companies", multiple=True, required=True, help="A company to join (repeatable).")
@_database_url
def users_join(name: str, companies: tuple[str, ...], database_url: str | None) -> None:
    """Make user NAME a member of more companies (then grant their campaigns with users grant)."""
    from dialer.service.users import join

    with _session(database_url) as s:
        join(s, name, companies)
        _audit(s, "users", joined=name, companies=list(companies))
        s.commit()
    click.echo(f"{name} joined {', '.join(companies)}")


@users_group.command("grant")
@click.argument("name")
@click.option("--campaign", "campaigns", multiple=True, required=True, help="A campaign to grant (repeatable).")
@_database_url
def users_grant(name: str, campaigns: tuple[str, ...], database_url: str | None) -> None:
    """Let user NAME see more campaigns, each of a company they belong to."""
    from dialer.service.users import grant

    with _session(database_url) as s:
        grant(s, name, campaigns)
        _audit(s, "users", granted=name, campaigns=list(campaigns))
        s.commit()
    click.echo(f"granted {', '.join(campaigns)} to {name}")


@users_group.command("trainee")
@click.argument("name")
@click.option("--mentor", help="The agent, supervisor or manager the trainee works under.")
@click.option("--off", is_flag=True, help="End the traineeship (and the mentor's assignment).")
@_database_url
def users_trainee(name: str, mentor: str | None, off: bool, database_url: str | None) -> None:
    """Mark agent NAME a trainee under --mentor, or end it with --off (users list shows both)."""
    from dialer.service.users import set_trainee

    if off == (mentor is not None):
        raise click.UsageError("give --mentor M, or --off")
    with _session(database_url) as s:
        set_trainee(s, name, mentor)
        _audit(s, "users", trainee=name, mentor=mentor)
        s.commit()
    click.echo(f"{name} is a trainee under {mentor}" if mentor else f"{name} is no longer a trainee")


@users_group.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for (shown by users list).")
@_database_url
def users_token(name: str, label: str | None, database_url: str | None) -> None:
    """Issue a new API token for NAME and print it (only its hash is kept: copy it now)."""
    from dialer.service.users import issue_token

    with _session(database_url) as s:
        token = issue_token(s, name, _now(), label)
        _audit(s, "users", token_for=name, label=label)
        s.commit()
    click.echo(token)


@users_group.command("totp")
@click.argument("name")
@click.option("--off", is_flag=True, help="Remove the second factor (log-in with the password alone).")
@_database_url
def users_totp(name: str, off: bool, database_url: str | None) -> None:
    """Give manager or admin NAME a second factor: prints the otpauth:// URI for an authenticator app, once
    (a new one replaces the old); the console log-in then asks for the app's 6-digit code."""
    from dialer.service.users import disable_totp, enable_totp

    with _session(database_url) as s:
        uri = None if off else enable_totp(s, name)
        if off:
            disable_totp(s, name)
        _audit(s, "users", totp_for=name, enabled=not off)
        s.commit()
    click.echo(uri or f"{name} logs in with the password alone")


@users_group.command("revoke")
@click.argument("name", required=False)
@click.option("--token", help="Revoke this one token instead of all of NAME's.")
@_database_url
def users_revoke(name: str | None, token: str | None, database_url: str | None) -> None:
    """Revoke every token and console session of NAME (or one --token)."""
    from dialer.service.users import revoke_tokens

    with _session(database_url) as s:
        count = revoke_tokens(s, _now(), name, token)
        _audit(s, "users", revoked_for=name or "one token", tokens=count)
        s.commit()
    click.echo(f"revoked {count} token(s)")


@users_group.command("list")
@_database_url
def users_list(database_url: str | None) -> None:
    """Accounts with role, companies, campaigns and live tokens (never a token or password)."""
    from dialer.service.users import list_users

    with _session(database_url) as s:
        for u in list_users(s, _now()):
            flags = ("password " if u.has_password else "") + ("disabled " if u.disabled else "")
            flags += f"trainee of {u.mentor or '-'}" if u.trainee else ""
            click.echo(f"{u.name}\t{u.role.value}\t{','.join(u.companies) or '-'}\t{','.join(u.campaigns) or '-'}"
                       f"\t{u.active_tokens} token(s)\t{flags.strip()}")


@main.command("audit")
@click.option("--from", "start", metavar="DATE",
              help="From this day (YYYY-MM-DD) or moment, UTC (default: 7 days ago).")
@click.option("--to", "end", metavar="DATE", help="To this day, the whole day included, or to this moment, UTC.")
@click.option("--user", "actor", help="Only this user (or cli:<system user> for the command line).")
@click.option("--campaign", help="Only this campaign.")
@_database_url
def audit_cmd(start: str | None, end: str | None, actor: str | None, campaign: str | None,
              database_url: str | None) -> None:
    """Who saw whose name or number (lead ids, never the data) and who exported, changed settings, DNC lists
    or accounts, oldest first."""
    from lists.audit import audit_trail
    from lists.campaigns import get_campaign
    from lists.reports import period_of

    with _arguments(**{"from": "--from", "to": "--to"}):
        period = period_of(start or (_now() - timedelta(days=7)).date().isoformat(), end, "UTC")
    with _session(database_url) as s:
        campaign_id = get_campaign(s, campaign).id if campaign else None
        rows = audit_trail(s, period, actor, campaign_id)
    for row in rows:
        click.echo(f"{row.at:%Y-%m-%dT%H:%M:%SZ}  {row.actor:<16} {row.action:<10} {row.campaign or '-':<16} "
                   f"{row.what}")
    click.echo(f"{len(rows)} entries, {period.label}", err=True)


@main.command("serve")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The daemon's TOML configuration (see deploy/dialer.toml).")
@click.option("--create", is_flag=True, help="Make the SQLite store if its file does not exist (else refused: a "
              "mistyped path would start an empty floor).")
def serve_cmd(config_path: Path, create: bool) -> int:
    """Run the dialing daemon in the foreground (for systemd) until SIGTERM."""
    from dialer.api.front import serve

    return serve(config_path, create)


@main.command("drain")
@click.argument("daemon")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Seconds to wait for its campaigns to move (0: ask and return).")
@click.option("--undo", is_flag=True, help="Let the daemon take campaigns again.")
@_database_url
def drain_cmd(daemon: str, wait_s: float, undo: bool, database_url: str | None) -> int:
    """Move a cluster daemon's campaigns to the others, letting its calls in progress end first."""
    from dialer.service.cluster import drain
    from lists.store import database_url as url_of
    from lists.store import open_store, store_errors

    url = url_of(database_url)
    factory = open_store(url, create=False)
    try:
        with store_errors(url):
            done = drain(factory, daemon, wait_s, undo)
    finally:
        factory.kw["bind"].dispose()
    if undo:
        click.echo(f"{daemon} may take campaigns again")
    else:
        click.echo(f"{daemon} holds no campaign" if done else f"{daemon} is draining (calls in progress are ending)")
    return 0 if done or not wait_s else 1


@main.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Folder for the store, the list's rejects, the log and the report.")
@click.option("--fresh", is_flag=True, help="Wipe an earlier demo's store in that folder first.")
@click.option("--speed", type=click.FloatRange(min=1.0, max=1000.0), default=240.0, show_default=True,
              help="Simulated seconds per wall second.")
@click.option("--hours", type=click.FloatRange(min=0.01, max=4.0), default=None, help="Stop after this many "
              "simulated hours (default: the whole 4-hour shift).")
@click.option("--minutes", type=click.FloatRange(min=1.0, max=240.0), default=None,
              help="Stop after this many simulated minutes.")
def demo_cmd(directory: Path, fresh: bool, speed: float, hours: float | None, minutes: float | None) -> None:
    """Two campaigns from the sample list, dialled by the real daemon against simulated customers, with a report."""
    from simulation.demo import DemoOptions, run_demo

    shift_s = minutes * 60 if minutes is not None else (hours * 3600 if hours is not None else None)
    result = run_demo(DemoOptions(directory, fresh, speed, shift_s))
    if result.exit_code:  # the daemon did not stop cleanly: say so in the exit status, as `dialer serve` would
        raise SystemExit(result.exit_code)


if __name__ == "__main__":
    main()
